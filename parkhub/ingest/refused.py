"""What is kept of a push refused at the door (forged, unsigned, too large): a bounded record in
the raw inbox (the body's SHA-256 and size, the reason, the first bytes of the body) instead of
the body, and only so many records per source and client address; the rest are counted.

An accepted push is never touched by any of this: it is stored whole, as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from parkhub.adapters.vendors.base import PushRequest
from parkhub.limits import PushLimits, WindowLimit, address_group
from parkhub.store import RawStatus, Store

from .service import REFUSED_STREAM

log = logging.getLogger("parkhub.ingest")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A push refused at the door. Its request's body is all of it (`whole`), or for a body
    refused for its size what was read before the limit (nothing when its declared length was
    past it already); `size` is then its declared size, if it declared one."""

    source: str
    request: PushRequest
    reason: str
    whole: bool = True
    size: int | None = None
    stream: str = REFUSED_STREAM
    """A listener's unreadable frame keeps its own stream (and its whole body: a frame is
    bounded already, and `parkhub reparse` may read it again after a fix)."""
    meta: dict[str, Any] | None = None


class RefusedPushes:
    """Keeps bounded records of refused pushes, rate-limited per source and client address."""

    def __init__(self, limits: PushLimits) -> None:
        self.limits = limits
        window = limits.refused_window_seconds
        self._per_address = WindowLimit(limits.refused_per_address, window)
        self._per_source = WindowLimit(limits.refused_per_source, window)
        self._lock = threading.Lock()
        self.kept: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()

    def keep(self, store: Store, refusal: Refusal) -> bool:
        """Keep a bounded record of `refusal` if its source and address have budget left; True
        if kept. A dropped one is counted (`dropped`) and logged (a warning the first time)."""
        source, address = refusal.source, address_group(refusal.request.client_ip)
        if not self._admit(source, address):
            with self._lock:
                self.dropped[source] += 1
                first = self.dropped[source] == 1
            (log.warning if first else log.info)(
                "refused push to %s from %s not kept (rate limit; %d dropped so far): %s",
                source, refusal.request.client_ip, self.dropped[source], refusal.reason,
            )  # fmt: skip
            return False
        body, meta = self.record(refusal)
        with store.begin() as conn:
            store.inbox.add(
                conn,
                source=source,
                stream=refusal.stream,
                body=body,
                status=RawStatus.REJECTED,
                reason=refusal.reason,
                meta=meta,
                content_type=refusal.request.headers.get("content-type", "application/json")[:100],
                known_by=refusal.request.body
                if refusal.whole
                else refusal.request.body + f"\x00{refusal.size}".encode(),
            )
        with self._lock:
            self.kept[source] += 1
        return True

    def _admit(self, source: str, address: str) -> bool:
        # the source's budget is spent only when the address has some left
        if not self._per_address.allows((source, address)):
            return False
        return self._per_source.hit(source) and self._per_address.hit((source, address))

    def record(self, refusal: Refusal) -> tuple[bytes, dict[str, Any]]:
        """The bytes kept (a prefix of the body) and what the inbox's meta says of the rest."""
        request = refusal.request
        body = request.body
        if refusal.stream != REFUSED_STREAM:  # a listener's frame, kept whole
            return body, {**(refusal.meta or {})}
        prefix = body[: self.limits.refused_prefix_bytes]
        refused: dict[str, Any] = {
            "size": len(body) if refusal.whole else refusal.size,
            "kept_bytes": len(prefix),
        }
        if refusal.whole:
            refused["sha256"] = hashlib.sha256(body).hexdigest()
        else:
            refused["read_bytes"] = len(body)
        meta = {"client_ip": request.client_ip, "path": request.path[:300], "refused": refused}
        return prefix, meta
