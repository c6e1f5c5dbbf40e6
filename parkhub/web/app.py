"""The web app (`parkhub serve`): push receivers, a JSON API and /metrics.

Push receivers commit each message to the raw inbox before answering; parsing follows in the same
request. Handlers are plain functions, so FastAPI runs them in its thread pool and a slow
database never blocks the event loop.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, HTTPException, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool

from parkhub.adapters.vendors.base import PushRequest
from parkhub.canonical import jsonutil
from parkhub.errors import ConfigError
from parkhub.hub import Hub
from parkhub.web.console import console_secret as _console_secret
from parkhub.web.console import mount_console

PUSH_VENDORS = ("onenet", "ctwing")


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
    )
    metrics = Metrics(hub)
    app.state.hub = hub

    def push(vendor: str, source: str, request: Request, body: bytes) -> Response:
        try:
            sc = hub.config.source(source)
        except ConfigError:
            raise HTTPException(404, "未知的数据源 (unknown source)") from None
        if sc.vendor != vendor or not sc.enabled:
            raise HTTPException(404, "未知的数据源 (unknown source)")
        req = PushRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body,
            client_ip=request.client.host if request.client else None,
        )
        verdict, result = hub.receive_push(source, req)
        outcome = "accepted" if verdict.accept else "rejected"
        if result is not None and result.duplicate:
            outcome = "duplicate"
        metrics.pushes.labels(source, outcome).inc()
        if result is not None:
            metrics.records.labels(source).inc(result.new + result.changed)
        if not verdict.accept:
            body_out = jsonutil.dumps({"code": verdict.status_code, "msg": verdict.reason})
            return Response(
                body_out, status_code=verdict.status_code, media_type="application/json"
            )
        return Response(
            verdict.response_body,
            status_code=verdict.status_code,
            media_type="text/plain" if not verdict.store else "application/json",
        )

    # Read the body on the loop, then store and parse in a worker thread.
    @app.get("/push/onenet/{source}", tags=["push"])
    async def verify_onenet(source: str, request: Request) -> Response:
        """OneNET URL verification: echo `msg` after checking the signature."""
        return await run_in_threadpool(push, "onenet", source, request, b"")

    @app.post("/push/onenet/{source}", tags=["push"])
    async def push_onenet(source: str, request: Request) -> Response:
        """OneNET HTTP push (old platform and Studio bodies, plain or encrypted)."""
        body = await request.body()
        return await run_in_threadpool(push, "onenet", source, request, body)

    @app.post("/push/ctwing/{source}", tags=["push"])
    async def push_ctwing(source: str, request: Request) -> Response:
        """CTWing subscription push; protected by the source's token (?token=) and IP list."""
        body = await request.body()
        return await run_in_threadpool(push, "ctwing", source, request, body)

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
