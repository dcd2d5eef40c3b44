# One production image for every Python role; docker-compose.yml picks the role by command. Built in stages:
# the locked runtime dependencies are installed into a virtual environment in a build stage, the web app is
# built in a Node stage, and the final image gets only those (no compilers, no npm, no test tools). Base images
# are pinned to exact versions, so a rebuild gets the same ones; moving to newer ones is a change made here.

FROM python:3.11.11-slim-bookworm AS python-build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY common ./common
COPY backend ./backend
COPY api ./api
COPY relay ./relay
COPY workers ./workers
COPY hewston ./hewston
# The lock pins the whole tree, test tools included; as constraints it fixes the versions of what the package
# itself needs and installs nothing else.
RUN /venv/bin/pip install --constraint requirements.lock .

FROM node:22.12.0-bookworm-slim AS web-build
WORKDIR /frontend
COPY frontend/ ./
# The browser app, when the project has one (the api serves it at /).
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    HEWSTON_ENVIRONMENT=production HEWSTON_DATA_DIR=/data HEWSTON_API_WEB_APP_DIR=/app/web
RUN useradd --system --uid 10001 --home-dir /app hewston && mkdir -p /app /data && chown hewston /data
COPY --from=python-build /venv /venv
COPY --from=web-build /frontend/dist /app/web
WORKDIR /app
USER hewston
EXPOSE 8000 8001
CMD ["hewston", "--help"]
