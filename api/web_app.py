"""The browser app at ``/``: Vite's built files, and ``index.html`` for every other page path.

The app routes in the browser (``/runs/<id>``, ``/runs/<id>/playback``), so a reload or a shared link asks the
server for a path that is no file: it gets ``index.html`` and the app takes over. The fallback is registered
after every api route and never answers for the api's own paths, so a mistyped ``/api/v1/...`` or
``/healthz`` (any path that starts like an operations route) stays a JSON 404 rather than an HTML page a
script would choke on.

Vite names the files under ``assets/`` by their content hash, so they may be cached for good; ``index.html``
names the current ones and must always be revalidated.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

from common.errors import ANY_PATH, NotFound

# Paths that belong to the api (or its docs) and never fall back to the app.
RESERVED_PREFIXES = ("api/", "docs", "redoc", "openapi.json", "health", "ready", "metrics")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class _HashedAssets(StaticFiles):
    async def get_response(self, path: str, scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def _is_reserved(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_PREFIXES)


def _file_in(root: Path, path: str) -> Path | None:
    """``root/path`` when it is a file inside ``root`` (never outside it, whatever ``..`` the path holds)."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        return candidate
    return None


def mount_web_app(app: FastAPI, web_app_dir: Path) -> bool:
    """Serve the built app from ``web_app_dir``; returns False (and serves nothing) when it is not built."""
    root = web_app_dir.resolve()
    index = root / "index.html"
    if not index.is_file():
        return False
    if (root / "assets").is_dir():
        app.mount("/assets", _HashedAssets(directory=root / "assets"), name="web-app-assets")

    async def web_app(path: str) -> Response:
        if _is_reserved(path):
            raise NotFound(f"no route /{path}")
        found = _file_in(root, path)
        if found is not None and found != index:
            return FileResponse(found)
        return FileResponse(index, headers={"Cache-Control": REVALIDATE})

    # Registered last (by the caller), so that every api route is matched first. Marked as a catch-all, so that
    # it never makes a method look allowed at a path that no real route serves (405 and Allow).
    app.add_api_route("/{path:path}", web_app, methods=["GET", "HEAD"], include_in_schema=False)
    setattr(app.routes[-1], ANY_PATH, True)
    return True
