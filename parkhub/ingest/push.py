"""Messages that come to parkhub: pushes to a web receiver and frames from a TCP listener.

A push is verified by its adapter, then kept with its records and outbox rows in one
transaction that commits before the receiver answers: an error anywhere means no 200, and the
vendor sends it again. Of a refused push a bounded record is kept (`refused.py`), as rejected
with its reason, and never parsed. A listener's frame is committed to the inbox first (the
device is answered only after that), then parsed in a second transaction;
`IngestService.recover_inbox` parses any frame a crash left unparsed.
"""

from __future__ import annotations

import logging
from typing import Any

from parkhub.adapters.registry import vendor_class, vendor_names
from parkhub.adapters.vendors.base import PushRequest, PushVerdict, RawMessage, VendorAdapter
from parkhub.config import HubConfig
from parkhub.store import RawStatus

from .refused import Refusal, RefusedPushes
from .results import IngestResult
from .service import IngestService

log = logging.getLogger("parkhub.ingest")


def push_vendors(config: HubConfig) -> dict[str, type[VendorAdapter[Any]]]:
    """The adapter classes that take pushes, by adapter name: every vendor parkhub knows
    (built-in, entry points) and those the config names by module path."""
    names = {*vendor_names(), *(sc.vendor for sc in config.sources)}
    classes = (vendor_class(name) for name in sorted(names))
    return {cls.name: cls for cls in classes if "push" in cls.capabilities}


def receive_push(
    ingest: IngestService, refused: RefusedPushes, source: str, request: PushRequest
) -> tuple[PushVerdict, IngestResult | None]:
    """Verify a push; store it (or a record of its refusal) before the caller answers."""
    adapter = ingest.adapter(source)
    try:
        verdict = adapter.verify_push(request)
    except Exception as exc:  # a verifier bug must not lose the message
        log.exception("verify_push failed for %s", source)
        verdict = PushVerdict(False, 400, f"无法校验 (cannot verify: {type(exc).__name__})")
    meta = {"client_ip": request.client_ip, "path": request.path}
    content_type = request.headers.get("content-type", "application/json")
    if not verdict.accept:
        refused.keep(ingest.store, Refusal(source, request, verdict.reason))
        return verdict, None
    if not verdict.store:  # a handshake (URL verification): no data
        return verdict, None
    raw = RawMessage(source, verdict.stream, request.body, content_type, meta=meta,
                     decoded=verdict.decoded)  # fmt: skip
    return verdict, ingest.ingest(adapter, raw)


def receive_raw(
    ingest: IngestService,
    refused: RefusedPushes,
    source: str,
    body: bytes,
    *,
    stream: str,
    content_type: str = "application/octet-stream",
    rejected_reason: str | None = None,
    meta: dict[str, Any] | None = None,
    every_copy: bool = False,
    intact: bool = False,
) -> IngestResult:
    """A listener's message (an HJ 212 frame): committed to the inbox first (the caller answers
    the device only after this returns), then parsed. `every_copy`: see ListenerMessage.
    An unreadable one is kept whole; one damaged on the way (not `intact`) only so many per
    source and peer address (as refused pushes are), while an `intact` one (a device's own
    message parkhub cannot read yet, e.g. SM4 without a key) is always kept, for a reparse."""
    adapter = ingest.adapter(source)
    if rejected_reason is not None and not intact:
        peer = str((meta or {}).get("peer") or "")
        request = PushRequest("TCP", stream, {}, {"content-type": content_type}, body,
                              client_ip=peer.rsplit(":", 1)[0] or None)  # fmt: skip
        refusal = Refusal(source, request, rejected_reason, stream=stream, meta=meta)
        refused.keep(ingest.store, refusal)
        return IngestResult(0, status=RawStatus.REJECTED)
    status = RawStatus.RECEIVED if rejected_reason is None else RawStatus.REJECTED
    with ingest.store.begin() as conn:
        raw_id, new = ingest.store.inbox.add(
            conn,
            source=source,
            stream=stream,
            body=body,
            content_type=content_type,
            status=status,
            reason=rejected_reason,
            meta=meta,
            every_copy=every_copy,
        )
    if not new or rejected_reason is not None:
        return IngestResult(raw_id, duplicate=not new, status=status)
    raw = RawMessage(source, stream, body, content_type, raw_id=raw_id, meta=meta or {})
    return ingest.store_parsed(raw, raw_id, adapter.parse_message(raw))
