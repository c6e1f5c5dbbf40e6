"""Vendor adapters as a separate pip package would ship them (named in parkhub.yaml as
`vendor: tests.plugin_vendors:AcmePushAdapter`): they prove that the push receiver, the
listeners and the conformance kit take a plugin with no change to parkhub."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import (
    Listener,
    ListenerMessage,
    ListenHandler,
    Parsed,
    PushRequest,
    PushVerdict,
    RawMessage,
    VendorAdapter,
)
from parkhub.canonical import Measurement, jsonutil
from parkhub.canonical.timeutil import from_epoch_ms
from parkhub.errors import InputError
from parkhub.secrets import Secret


class AcmeConfig(AdapterConfig):
    key: Secret = Field(description="shared key the vendor sends in the X-Acme-Key header")


class AcmePushAdapter(VendorAdapter[AcmeConfig]):
    """Acme meters PUT JSON readings, authenticated by a shared key in a header."""

    name: ClassVar[str] = "acme"
    config_model: ClassVar[type[AcmeConfig]] = AcmeConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"push"})
    push_methods: ClassVar[frozenset[str]] = frozenset({"PUT"})

    def verify_push(self, request: PushRequest) -> PushVerdict:
        given = request.headers.get("x-acme-key", "").encode()
        if not hmac.compare_digest(given, self.config.key.get_secret_value().encode()):
            return PushVerdict(False, 403, f"[{self.source.name}] bad X-Acme-Key")
        try:
            doc = jsonutil.loads(request.body)
        except jsonutil.JSONDecodeError:
            return PushVerdict(False, 400, f"[{self.source.name}] not JSON")
        return PushVerdict(True, response_body=b"accepted", decoded=doc)

    def parse(self, raw: RawMessage) -> Iterator[Parsed]:
        doc = raw.decoded if raw.decoded is not None else jsonutil.loads(raw.body)
        if not isinstance(doc, dict) or not isinstance(doc.get("readings"), list):
            raise InputError(self.source.name, "push#raw", "readings", "no readings list")
        for i, row in enumerate(doc["readings"]):
            yield from self.build(
                Measurement,
                f"push#{i}",
                {
                    "device_id": f"acme:{row.get('meter')}",
                    "metric": "electricity",
                    "ts": from_epoch_ms(row.get("ms", 0)),
                    "value": row.get("kwh"),
                    "unit": "kWh",
                },
                field_names={"value": "kwh", "ts": "ms", "device_id": "meter"},
            )


class LineConfig(AdapterConfig):
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class LineListener:
    """A TCP server: each line a device sends is handed over, then answered `OK`."""

    def __init__(self, handler: ListenHandler, host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.closing(writer):
            while line := await reader.readline():
                await self.handler(ListenerMessage(line.strip(), "line", "text/plain"))
                writer.write(b"OK\n")
                await writer.drain()


class LineAdapter(VendorAdapter[LineConfig]):
    """Meters that connect over TCP and send `meter,epoch_ms,kwh` lines."""

    name: ClassVar[str] = "lines"
    config_model: ClassVar[type[LineConfig]] = LineConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"listen"})

    def listener(self, handler: ListenHandler) -> Listener:
        return LineListener(handler, self.config.host, self.config.port)

    def parse(self, raw: RawMessage) -> list[Parsed]:
        meter, ms, kwh = raw.body.decode().split(",")
        data: dict[str, Any] = {
            "device_id": f"lines:{meter}",
            "metric": "electricity",
            "ts": from_epoch_ms(int(ms)),
            "value": float(kwh),
            "unit": "kWh",
        }
        return self.build(Measurement, f"line#{meter}@{ms}", data)
