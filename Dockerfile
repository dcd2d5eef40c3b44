# One image for every Python role; docker-compose.yml picks the role by command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HEWSTON_ENVIRONMENT=production
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY common ./common
COPY backend ./backend
COPY api ./api
COPY relay ./relay
COPY workers ./workers
COPY hewston ./hewston
RUN pip install --no-cache-dir --no-deps .
