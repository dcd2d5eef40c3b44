"""The line an operator reads when a role's setting is bad: the variables (and the option) that set it, the reason,
and the value given (never a secret, and a URL without its password). Used by the command line, which stops the
role with exit code 2 before anything starts."""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings, SettingsError

from common.settings import HewstonSettings


def _all_settings_classes() -> list[type[HewstonSettings]]:
    found, pending = [], [HewstonSettings]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _settings_class(name: str) -> type[HewstonSettings] | None:
    return next((cls for cls in _all_settings_classes() if cls.__name__ == name), None)


def setting_variables(cls: type[BaseSettings], field: str) -> list[str]:
    """The environment variables that set ``field`` of ``cls``, the one that wins first."""
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias]
    return [f"{cls.model_config.get('env_prefix', '')}{field}".upper()]


def _field_of(cls: type[BaseSettings], name: str) -> str | None:
    if name in cls.model_fields:
        return name
    return next((field for field in cls.model_fields
                 if name.upper() in (variable.upper() for variable in setting_variables(cls, field))), None)


_SECRET_FIELDS = ("token", "password", "secret")
_URL_PASSWORD = re.compile(r"(://[^:@/]*:)[^@/]*@")


def _shown(field: str, value: Any) -> str:
    """The bad value as the error line shows it: never a secret, and a URL without its password."""
    if any(word in field for word in _SECRET_FIELDS):
        return ""
    shown = _URL_PASSWORD.sub(r"\1***@", repr(value))
    return f" (got {shown})"


def describe_setting_errors(exc: ValidationError, *, options: dict[tuple[str, str], str] | None = None) -> list[str]:
    """One line per bad setting of a role's settings: the variables (and option) that set it, the reason, the
    value given. ``options`` maps (settings class name, field) to the command-line option that sets it too."""
    cls = _settings_class(exc.title)
    lines = []
    for error in exc.errors():
        reason = error["msg"].removeprefix("Value error, ")
        name = str(error["loc"][0]) if error["loc"] else ""
        field = _field_of(cls, name) if cls is not None and name else None
        if field is None:
            lines.append(f"{exc.title}{' ' + name if name else ''}: {reason}")
            continue
        setting = " or ".join(setting_variables(cls, field))
        option = (options or {}).get((exc.title, field))
        lines.append(f"{setting}{f' (or {option})' if option else ''}: {reason}{_shown(field, error.get('input'))}")
    return lines


def describe_unparsed_setting(exc: SettingsError) -> str:
    """The line for a value pydantic-settings could not even parse (a list or mapping setting that is not JSON),
    naming the variables of the field it names that are set."""
    match = re.search(r'field "([^"]+)"', str(exc))
    field = match.group(1) if match else "?"
    variables = {variable for cls in _all_settings_classes() if field in cls.model_fields
                 for variable in setting_variables(cls, field)}
    named = sorted(variable for variable in variables if variable in os.environ) or sorted(variables) or [field]
    return f"{' or '.join(named)}: not valid JSON (lists are written as JSON, e.g. [\"https://example.com\"])"
