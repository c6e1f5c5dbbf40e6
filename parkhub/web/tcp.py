"""Listeners (e.g. TCP for HJ 212 data loggers) run beside the web app, in one asyncio loop
thread: one for every enabled source whose adapter listens (capability "listen")."""

from __future__ import annotations

import asyncio
import logging
import threading

from parkhub.hub import Hub
from parkhub.ingest import Listener, ListenerMessage, ListenHandler

log = logging.getLogger("parkhub.tcp")


class TcpListeners:
    """Starts the listener of every enabled source whose adapter listens."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="tcp")
        self.listeners: dict[str, Listener] = {}

    def _handler(self, source: str) -> ListenHandler:
        async def handle(message: ListenerMessage) -> None:
            # Storing runs in a worker thread; the listener answers only after it (durable first).
            await asyncio.to_thread(
                self.hub.receive_raw,
                source,
                message.body,
                stream=message.stream,
                content_type=message.content_type,
                rejected_reason=message.rejected,
                meta=dict(message.meta),
                every_copy=message.every_copy,
                intact=message.intact,
            )

        return handle

    def start(self) -> dict[str, int]:
        """Start the listeners; returns source -> bound port."""
        self.thread.start()
        for sc in self.hub.config.sources:
            if not sc.enabled:
                continue
            adapter = self.hub.adapter(sc.name)
            if "listen" not in adapter.capabilities:
                continue
            listener = adapter.listener(self._handler(sc.name))
            asyncio.run_coroutine_threadsafe(listener.start(), self.loop).result(10)
            self.listeners[sc.name] = listener
            log.debug("%s listener for %s on port %s", adapter.name, sc.name, listener.port)
        return {name: listener.port for name, listener in self.listeners.items()}

    def stop(self) -> None:
        for listener in self.listeners.values():
            asyncio.run_coroutine_threadsafe(listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
