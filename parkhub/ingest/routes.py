"""The route table of a config: for every park, which platform reports take which records."""

from __future__ import annotations

from collections.abc import Iterator

from parkhub.config import HubConfig, subscriptions
from parkhub.mappings import load_mapping
from parkhub.store import Route, RouteTable


def route_table(config: HubConfig) -> RouteTable:
    """Every enabled subscription, for each park it covers. A report whose spec filters
    records (`when`) keeps its filter on the route; a broken mapping spec fails here, at start,
    not at send time."""
    return RouteTable.of(_entries(config))


def _entries(config: HubConfig) -> Iterator[tuple[str, str, Route]]:
    parks = [p.id for p in config.parks]
    for s in subscriptions(config):
        spec = s.spec
        version = load_mapping(spec.mapping).version
        accepts = spec.accepts if spec.when is not None else None
        route = Route(s.platform.name, s.subscription.report, version, spec.priority, accepts)
        for park_id in s.subscription.parks or parks:
            yield spec.record_kind, park_id, route
