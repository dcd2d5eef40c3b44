"""Rewrite the JSON schema blocks of a protocol page from its models.

    python -m tests.support.schema_docs docs/stream.md common.models.stream
    python -m tests.support.schema_docs docs/playback.md common.models.playback

The protocol tests compare each page's blocks with the models' schema; this brings a page up to date.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import orjson


def schema_block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- schema:{name} -->\n```json\n)(.*?)(\n```\n<!-- /schema:{name} -->)", re.S)


def render(schema: dict) -> str:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def rewrite(doc: Path, module_name: str) -> None:
    module = importlib.import_module(module_name)
    text = doc.read_text()
    for name, schema in (("messages", module.message_schema), ("controls", module.control_schema)):
        text, found = schema_block(name).subn(lambda m, s=schema: m.group(1) + render(s()) + m.group(3), text)
        if found != 1:
            raise SystemExit(f"{doc}: expected one {name} schema block, found {found}")
    doc.write_text(text)


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]), sys.argv[2])
