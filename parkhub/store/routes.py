"""The route table: which platform reports take records of a kind from a park.

Built once from the config (parkhub.ingest.routes) and handed to the writers as a value, so the
store never calls back up to ask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Route:
    """A subscription: records of a kind (in a park) go to a platform's report."""

    platform: str
    report: str
    mapping_version: str
    priority: int = 100
    accepts: Callable[[Any], bool] | None = field(default=None, compare=False)
    """Per-record filter (ReportSpec.accepts) when the report takes only some of the kind."""


@dataclass(frozen=True, slots=True)
class RouteTable:
    """(kind, park id) -> the routes its records take; immutable."""

    routes: Mapping[tuple[str, str], tuple[Route, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str, Route]]) -> RouteTable:
        """A table from (kind, park id, route) triples, in the order given."""
        table: dict[tuple[str, str], list[Route]] = {}
        for kind, park_id, route in entries:
            table.setdefault((kind, park_id), []).append(route)
        return cls(MappingProxyType({k: tuple(v) for k, v in table.items()}))

    def __call__(self, kind: str, park_id: str) -> tuple[Route, ...]:
        return self.routes.get((kind, park_id), ())
