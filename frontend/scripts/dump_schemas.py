"""Print, as one JSON document, every contract the browser app is typed from.

- ``api``: the api's OpenAPI document (REST, including every backend route it passes through);
- ``stream`` and ``playback``: the messages of the shared stream and of the backend's own playback socket,
  as OpenAPI components, so that the same generator types them;
- ``close_codes``: each socket close code with whether a client should reconnect.

Run by ``npm run api:generate`` (scripts/generate-api.mjs) from the repository root with the project's Python.
"""

from __future__ import annotations

import sys

import orjson
from pydantic import TypeAdapter

from api.main import create_app
from api.settings import ApiSettings
from common.close_codes import MEANINGS
from common.models import playback, stream
from common.openapi import COMPONENT_REF, add_component


def components(adapters: dict[str, TypeAdapter]) -> dict:
    """The adapters' JSON schemas as an OpenAPI document with one component per model."""
    schemas: dict = {}
    for name, adapter in adapters.items():
        add_component(schemas, name, adapter.json_schema(ref_template=COMPONENT_REF))
    return {"openapi": "3.1.0", "info": {"title": "Hewston socket messages", "version": "1"}, "paths": {},
            "components": {"schemas": schemas}}


def main() -> int:
    # Fixed settings: the document must not depend on the environment of whoever generates it.
    app = create_app(ApiSettings(_env_file=None, redis_url=None, web_app_dir="/nonexistent"))
    document = {
        "api": app.openapi(),
        "stream": components({"StreamMessage": stream.STREAM_MESSAGE, "StreamControl": stream.STREAM_CONTROL}),
        "playback": components({"PlaybackMessage": playback.PLAYBACK_MESSAGE,
                                "PlaybackControl": playback.PLAYBACK_CONTROL}),
        "close_codes": [{"code": int(m.code), "name": m.code.name, "reconnect": m.reconnect,
                         "description": m.description} for m in MEANINGS.values()],
    }
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
