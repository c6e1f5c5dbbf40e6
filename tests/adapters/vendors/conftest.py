"""Shared helpers for the IoT platform adapter tests: fixture files, loopback servers, a push
receiver that runs an adapter's verify_push + parse like the web route does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.adapters.vendors.base import (
    ParseResult,
    PushRequest,
    PushVerdict,
    RawMessage,
    VendorAdapter,
)
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from tests.helpers import FIXTURES


def _fixture_bytes(vendor: str, name: str) -> bytes:
    return (FIXTURES / vendor / name).read_bytes().rstrip(b"\n")


@pytest.fixture
def fixture_bytes() -> Callable[[str, str], bytes]:
    """Read `tests/fixtures/<vendor>/<name>`, the body exactly as a vendor sends it."""
    return _fixture_bytes


@dataclass
class Receiver:
    """What a loopback push receiver saw: each verdict and each parse result."""

    adapter: VendorAdapter[Any]
    verdicts: list[PushVerdict] = field(default_factory=list)
    results: list[ParseResult] = field(default_factory=list)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            push = PushRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                body=body,
                client_ip=request.client.host if request.client else None,
            )
            verdict = self.adapter.verify_push(push)
            self.verdicts.append(verdict)
            if verdict.accept and verdict.store:
                raw = RawMessage(
                    self.adapter.source.name, verdict.stream, body, decoded=verdict.decoded
                )
                self.results.append(self.adapter.parse_message(raw))
            return Response(verdict.response_body, status_code=verdict.status_code)

        return Starlette(
            routes=[Route("/push/{vendor}/{source}", receive, methods=["GET", "POST"])]
        )


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ServerHandle]]:
    """Serve ASGI apps on 127.0.0.1 for the test; all are stopped afterwards."""
    handles: list[ServerHandle] = []

    def start(app: Any) -> ServerHandle:
        handle = serve_in_thread(app)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def receiver(
    serve: Callable[[Any], ServerHandle],
) -> Callable[[VendorAdapter[Any]], tuple[Receiver, str]]:
    """Start a loopback push receiver for an adapter; returns it and its push URL."""

    def start(adapter: VendorAdapter[Any]) -> tuple[Receiver, str]:
        rec = Receiver(adapter)
        handle = serve(rec.app())
        return rec, f"{handle.url}/push/{adapter.name}/{adapter.source.name}"

    return start
