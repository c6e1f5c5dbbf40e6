"""TCP listeners (HJ 212 data loggers) run beside the web app, in one asyncio loop thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from parkhub.adapters.vendors.hj212 import Hj212Adapter
from parkhub.hub import Hub
from parkhub.protocols.hj212 import Hj212Listener, ReceivedFrame

log = logging.getLogger("parkhub.tcp")


class TcpListeners:
    """Starts one HJ 212 listener per enabled `vendor: hj212` source."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="tcp")
        self.listeners: dict[str, Hj212Listener] = {}

    def _handler(self, source: str) -> Any:
        async def handle(received: ReceivedFrame) -> None:
            reason = str(received.error) if received.error is not None else None
            meta = {"peer": f"{received.peer[0]}:{received.peer[1]}", "kind": received.kind}
            # Storing runs in a worker thread; the 9014 answer waits for it (durable first).
            await asyncio.to_thread(
                self.hub.receive_raw,
                source,
                received.raw,
                stream=received.kind,
                content_type="text/plain; charset=utf-8",
                rejected_reason=reason,
                meta=meta,
            )

        return handle

    def start(self) -> dict[str, int]:
        """Start the listeners; returns source -> bound port."""
        self.thread.start()
        for sc in self.hub.config.sources:
            if not sc.enabled or sc.vendor != "hj212":
                continue
            adapter = self.hub.adapter(sc.name)
            assert isinstance(adapter, Hj212Adapter)
            cfg = adapter.config
            listener = Hj212Listener(
                self._handler(sc.name),
                host=cfg.host,
                port=cfg.port,
                tolerant=cfg.tolerant_for,
                max_frame_bytes=cfg.max_frame_bytes,
                idle_timeout=cfg.idle_timeout_seconds,
            )
            asyncio.run_coroutine_threadsafe(listener.start(), self.loop).result(10)
            self.listeners[sc.name] = listener
            log.info("HJ 212 listener for %s on %s:%s", sc.name, cfg.host, listener.port)
        return {name: listener.port for name, listener in self.listeners.items()}

    def stop(self) -> None:
        for listener in self.listeners.values():
            asyncio.run_coroutine_threadsafe(listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
