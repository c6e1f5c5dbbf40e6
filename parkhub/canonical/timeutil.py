"""The one place for time: UTC inside, Asia/Shanghai at the edges."""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = _dt.UTC


def utcnow() -> _dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return _dt.datetime.now(UTC)  # noqa: TID251 - the one allowed use


def as_utc(value: _dt.datetime, *, naive_zone: _dt.tzinfo = SHANGHAI) -> _dt.datetime:
    """Make a datetime aware UTC; a naive value is taken as Beijing time (vendors send those)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=naive_zone)
    return value.astimezone(UTC)


def from_epoch_ms(ms: int | float | str) -> _dt.datetime:
    """Epoch milliseconds (as vendors send them, sometimes as strings) to an aware UTC datetime."""
    return _dt.datetime.fromtimestamp(int(ms) / 1000, UTC)


def to_epoch_ms(value: _dt.datetime) -> int:
    return int(as_utc(value).timestamp() * 1000)


_EIGHT_HOURS = _dt.timedelta(hours=8)
_NO_DST_SINCE = 1992  # China kept daylight saving time from 1986 to 1991, none since
_NO_DST_TEXT = str(_NO_DST_SINCE)


def parse_local(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> _dt.datetime:
    """Parse a Beijing-time string in `fmt` into an aware UTC datetime."""
    if fmt == "%Y-%m-%d %H:%M:%S" and len(text) == 19 and text[10] == " ":
        # the common vendor format, parsed in C; from 1992 on (the year compared as text)
        # Beijing time is a fixed UTC+8: no zoneinfo lookup on the hot path
        if text >= _NO_DST_TEXT:
            return _dt.datetime.fromisoformat(text + "+08:00").astimezone(UTC)
        parsed = _dt.datetime.fromisoformat(text)
    else:
        parsed = _dt.datetime.strptime(text, fmt)
        if parsed.year >= _NO_DST_SINCE:
            return (parsed - _EIGHT_HOURS).replace(tzinfo=UTC)
    return parsed.replace(tzinfo=SHANGHAI).astimezone(UTC)


def format_local(value: _dt.datetime, fmt: str) -> str:
    """Format an aware datetime as Beijing time."""
    return as_utc(value).astimezone(SHANGHAI).strftime(fmt)


def month_bounds(period: str) -> tuple[_dt.datetime, _dt.datetime]:
    """A `YYYY-MM` period as [start, end) in UTC, the month being a Beijing calendar month."""
    year, month = (int(p) for p in period.split("-"))
    start = _dt.datetime(year, month, 1, tzinfo=SHANGHAI)
    end = _dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_period(now: _dt.datetime | None = None) -> str:
    """The last complete Beijing calendar month as `YYYY-MM`."""
    local = as_utc(now or utcnow()).astimezone(SHANGHAI)
    first = local.replace(day=1)
    prev = first - _dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def periods_to(end: str, count: int) -> list[str]:
    """The `count` periods (`YYYY-MM`) that end with `end`, oldest first.

    >>> periods_to("2026-02", 3)
    ['2025-12', '2026-01', '2026-02']
    """
    year, month = (int(p) for p in end.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def shift_period(period: str, months: int) -> str:
    """`period` moved by `months` (negative: back)."""
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
