"""The fast lane: priority deliveries (fire alarms) go out as soon as they are stored, not at
the next dispatch tick. Every ingest that queued a delivery wakes it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .dispatcher import Dispatcher

log = logging.getLogger("parkhub.dispatch")


class FastLane:
    def __init__(self, dispatcher: Callable[[], Dispatcher], *, max_priority: int = 0) -> None:
        """`dispatcher` gives the hub's dispatcher when first needed; the lane sends through
        its own sibling (`Dispatcher.lane`): same platforms and limits, threads of its own."""
        self._make = dispatcher
        self._dispatcher: Dispatcher | None = None
        self.max_priority = max_priority
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Something was queued: look for priority deliveries now."""
        self._wake.set()

    def start(self, *, max_priority: int | None = None) -> threading.Thread:
        """Start the lane's thread; it takes deliveries of `max_priority` or more urgent."""
        if max_priority is not None:
            self.max_priority = max_priority
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="fast-lane")
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None

    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self._dispatcher = self._make().lane()
        return self._dispatcher

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.dispatcher().run_until_idle(max_priority=self.max_priority)
            except Exception:
                log.exception("fast lane dispatch failed")
