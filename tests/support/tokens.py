"""Every credential the test suite uses, so that one test can prove none of them was ever logged."""

from __future__ import annotations

USED_TOKENS: set[str] = set()


def token(value: str) -> str:
    """Register ``value`` as a credential the suite sends somewhere, and return it."""
    USED_TOKENS.add(value)
    return value
