"""The push receiver: one for every configured source whose adapter takes pushes (capability
"push"), built-in or from a plugin.

URLs: `/push/<source>`, and `/push/<vendor>/<source>` (the URLs operators typed into the OneNET
and CTWing consoles), for the HTTP methods the adapter declares (`push_methods`). A source that
is not configured, disabled or does not take pushes is 404, as is a vendor in the URL that is
not the source's. Each push is verified by its adapter and committed to the raw inbox (with its
records) before it is answered. Handlers run in FastAPI's thread pool, so a slow database
never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from parkhub.canonical import jsonutil
from parkhub.errors import ConfigError
from parkhub.hub import Hub
from parkhub.ingest import PushRequest
from parkhub.ingest.push import push_vendors

_UNKNOWN = "未知的数据源 (unknown source)"


class PushReceiver:
    """Verifies and stores pushes for the hub's sources; counts them by source and outcome."""

    def __init__(self, hub: Hub, pushes: Counter, records: Counter) -> None:
        self.hub = hub
        self.pushes = pushes
        self.records = records

    def _admit(self, vendor: str | None, source: str, method: str) -> None:
        """404 unless `source` is an enabled source that pushes (of `vendor`, if named); 405
        unless its adapter takes `method`."""
        try:
            sc = self.hub.config.source(source)
            adapter = self.hub.adapter(source) if sc.enabled else None
        except ConfigError:
            adapter = None
        if adapter is None or "push" not in adapter.capabilities:
            raise HTTPException(404, _UNKNOWN)
        if vendor is not None and vendor != adapter.name:
            raise HTTPException(404, _UNKNOWN)
        if method not in adapter.push_methods:
            allowed = ", ".join(sorted(adapter.push_methods))
            raise HTTPException(405, "Method Not Allowed", headers={"Allow": allowed})

    def receive(self, vendor: str | None, source: str, request: Request, body: bytes) -> Response:
        """Check the source and the method, then verify, store and answer the push."""
        self._admit(vendor, source, request.method.upper())
        req = PushRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body,
            client_ip=request.client.host if request.client else None,
        )
        verdict, result = self.hub.receive_push(source, req)
        outcome = "accepted" if verdict.accept else "rejected"
        if result is not None and result.duplicate:
            outcome = "duplicate"
        self.pushes.labels(source, outcome).inc()
        if result is not None:
            self.records.labels(source).inc(result.new + result.changed)
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

    def router(self) -> APIRouter:
        """`/push/<source>` and one `/push/<vendor>/<source>` per vendor that pushes, each for
        the methods its adapter declares (FastAPI answers 405 for the others)."""
        router = APIRouter(tags=["push"])
        vendors = push_vendors(self.hub.config)
        every = {m for cls in vendors.values() for m in cls.push_methods} or {"POST"}
        self._add(router, "/push/{source}", None, every, "any vendor that pushes", "")
        for name, cls in sorted(vendors.items()):
            self._add(router, f"/push/{name}/{{source}}", name, cls.push_methods, name, cls.__doc__)
        return router

    def _add(
        self,
        router: APIRouter,
        path: str,
        vendor: str | None,
        methods: Iterable[str],
        who: str,
        doc: str | None,
    ) -> None:
        # one route a method: each gets its own operation in the OpenAPI document
        for method in sorted(methods):
            router.add_api_route(
                path,
                self._endpoint(vendor),
                methods=[method],
                name=f"push_{vendor or 'source'}_{method.lower()}",
                summary=f"Push ({who}, {method})",
                description=doc or "",
            )

    def _endpoint(self, vendor: str | None) -> Any:
        async def push(source: str, request: Request) -> Response:
            # Read the body on the loop, then store and parse in a worker thread.
            body = await request.body()
            return await run_in_threadpool(self.receive, vendor, source, request, body)

        return push
