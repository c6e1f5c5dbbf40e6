"""The template's hidden `_parkhub` sheet, key-value rows naming the park, period, kind and
template version: what the template writes there and how the importer reads it back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from parkhub import __version__
from parkhub.canonical.timeutil import utcnow

from .columns import SHEET_NAMES

META_SHEET = "_parkhub"
TEMPLATE_VERSION = "1"


class ParkNames(Protocol):
    """What a template shows of its park (parkhub.config.ParkConfig has both)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


def metadata_rows(
    park: ParkNames, period: str, kind: str, header_row: int
) -> list[tuple[str, str]]:
    """The rows of the metadata sheet of a new template, under a (key, value) heading."""
    return [
        ("key", "value"),
        ("template", "parkhub entry template; do not edit"),
        ("template_version", TEMPLATE_VERSION),
        ("kind", kind),
        ("park_id", park.id),
        ("park_name", park.name),
        ("period", period),
        ("data_sheet", SHEET_NAMES[kind]),
        ("header_row", str(header_row)),
        ("generated_at", utcnow().isoformat(timespec="seconds")),
        ("generator", f"parkhub {__version__}"),
    ]


def metadata_from_rows(rows: Iterable[tuple[Any, ...]]) -> dict[str, str]:
    """Key -> value from the metadata sheet's rows (rows without both are skipped)."""
    out: dict[str, str] = {}
    for values in rows:
        if len(values) >= 2 and values[0] is not None and values[1] is not None:
            out[str(values[0]).strip()] = str(values[1]).strip()
    return out
