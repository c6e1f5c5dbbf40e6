"""The web app (`parkhub serve`): the push receiver (`push`), a JSON API and /metrics.

Handlers are plain functions, so FastAPI runs them in its thread pool and a slow database never
blocks the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric

from parkhub.hub import Hub
from parkhub.web.bodies import BodyDeadline
from parkhub.web.console import console_secret as _console_secret
from parkhub.web.console import mount_console
from parkhub.web.push import PushReceiver


class RefusedPushCounts:
    """Refused pushes kept (a bounded record each) and dropped (past the rate limit), by
    source: counted by the hub, read at each scrape."""

    def __init__(self, hub: Hub) -> None:
        self.refused = hub.refused

    def collect(self) -> Iterator[Metric]:
        for name, counts, doc in (
            ("parkhub_refused_pushes_kept", self.refused.kept, "Refused pushes kept as records"),
            (
                "parkhub_refused_pushes_dropped",
                self.refused.dropped,
                "Refused pushes not kept (rate limit per source and client address)",
            ),
        ):
            family = CounterMetricFamily(name, doc, labels=["source"])
            for source, n in sorted(counts.items()):
                family.add_metric([source], n)
            yield family


class Metrics:
    def __init__(self, hub: Hub) -> None:
        self.registry = CollectorRegistry()
        self.pushes = Counter(
            "parkhub_pushes_total",
            "Pushes received, by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.records = Counter(
            "parkhub_records_total",
            "Records new or changed by pushes",
            ["source"],
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "parkhub_deliveries",
            "Deliveries by platform and status",
            ["platform", "status"],
            registry=self.registry,
        )
        self.registry.register(RefusedPushCounts(hub))
        self.hub = hub

    def render(self) -> bytes:
        for platform, counts in self.hub.store.outbox.status_counts().items():
            for status, n in counts.items():
                self.deliveries.labels(platform, status).set(n)
        return generate_latest(self.registry)


def create_app(
    hub: Hub, *, console_secret: str | None = None, secure_cookies: bool = False
) -> FastAPI:
    app = FastAPI(
        title="parkhub",
        description="小微企业园数据中枢 API: push receivers, delivery status, replay.",
        version="0.1.0",
        max_body_size=hub.config.limits.upload_bytes,
    )
    app.add_middleware(BodyDeadline, seconds=hub.config.limits.body_seconds)
    metrics = Metrics(hub)
    app.state.hub = hub

    app.include_router(PushReceiver(hub, metrics.pushes, metrics.records).router())

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"])
    def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    mount_console(
        app,
        hub,
        secret_key=console_secret or _console_secret(os.environ),
        secure_cookies=secure_cookies,
    )
    return app
