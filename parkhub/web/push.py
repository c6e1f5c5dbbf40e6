"""The push receiver: one for every configured source whose adapter takes pushes (capability
"push"), built-in or from a plugin.

URLs: `/push/<source>`, and `/push/<vendor>/<source>` (the URLs operators typed into the OneNET
and CTWing consoles), for the HTTP methods the adapter declares (`push_methods`). A source that
is not configured, disabled or does not take pushes is 404, as is a vendor in the URL that is
not the source's. Each push is verified by its adapter and committed to the raw inbox (with its
records) before it is answered. Handlers run in FastAPI's thread pool, so a slow database
never blocks the event loop.

A body past its source's limit (`push_body_bytes`, else `limits.push.body_bytes`) is refused with
413 before the rest of it is read. Of a refused push only a bounded record is kept, and only so
many per source and client address (`parkhub.ingest.Refusal`); /metrics counts the rest.
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
from parkhub.ingest import PushRequest, Refusal
from parkhub.ingest.push import push_vendors

from .bodies import BodyRefused, read_body

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

    def body_limit(self, source: str) -> int:
        """The largest body the source's receiver reads."""
        own = self.hub.config.source(source).push_body_bytes
        return own if own is not None else self.hub.config.limits.push.body_bytes

    def receive(self, source: str, req: PushRequest) -> Response:
        """Verify, store and answer a push (its source and method admitted)."""
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

    def refuse(self, source: str, req: PushRequest, refused: BodyRefused) -> Response:
        """A body too large: keep a bounded record of it (rate-limited), answer 413."""
        self.hub.refuse_push(Refusal(source, req, refused.reason, whole=False, size=refused.size))
        self.pushes.labels(source, "too_large").inc()
        body = jsonutil.dumps({"code": 413, "msg": refused.reason})
        return Response(body, status_code=413, media_type="application/json")

    def largest_body(self) -> int:
        """The push routes' own cap (the app's is for uploads), a backstop past the largest
        any source takes: each source's own is applied by `read_body`, which must see the
        chunk that crosses it (to keep a record of the refusal) before this cap does."""
        own = [sc.push_body_bytes or 0 for sc in self.hub.config.sources]
        return max([self.hub.config.limits.push.body_bytes, *own]) + 1024 * 1024

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
                max_body_size=self.largest_body(),
                methods=[method],
                name=f"push_{vendor or 'source'}_{method.lower()}",
                summary=f"Push ({who}, {method})",
                description=doc or "",
            )

    def _endpoint(self, vendor: str | None) -> Any:
        async def push(source: str, request: Request) -> Response:
            # Admit and read the body on the loop, then store and parse in a worker thread.
            self._admit(vendor, source, request.method.upper())
            try:
                body, refused = await read_body(request, self.body_limit(source)), None
            except BodyRefused as exc:
                body, refused = exc.read, exc
            req = PushRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                body=body,
                client_ip=request.client.host if request.client else None,
            )
            if refused is not None:
                return await run_in_threadpool(self.refuse, source, req, refused)
            return await run_in_threadpool(self.receive, source, req)

        return push
