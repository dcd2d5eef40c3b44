"""One parser for every ``from``/``to`` in Hewston."""

import pytest

from common.times import MAX_TIME, parse_time

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z


@pytest.mark.parametrize(("value", "is_end", "expected"), [
    (T0, False, T0), (str(T0), False, T0), (f" {T0} ", True, T0), (float(T0), False, T0),
    ("2025-01-01", False, T0), ("2025-01-01", True, T0 + 86_399),
    ("2025-01-01T10:00:00Z", False, T0 + 36_000), ("2025-01-01T10:00:00", False, T0 + 36_000),
    ("2025-01-01T12:00:00+01:00", True, T0 + 39_600),
    # Fractional times round inwards, so a range never grows.
    (T0 + 0.5, False, T0 + 1), (T0 + 0.5, True, T0), ("2025-01-01T00:00:00.5Z", False, T0 + 1),
])
def test_accepted_forms(value, is_end, expected):
    assert parse_time(value, is_end=is_end) == expected


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "", "nan", "inf", True, None, [T0],
                                   str(MAX_TIME + 1), "9" * 70, -10**20])
def test_refused_values_say_why(value):
    with pytest.raises(ValueError) as excinfo:
        parse_time(value)
    assert str(excinfo.value)
