"""The dispatcher: claim due deliveries, map, validate, send, and record receipt or retry.

At-least-once per (record revision, platform, report): a row is claimed under a lease; a crash
anywhere before its receipt is written lets the lease expire and the row is sent again with the
same idempotency key, which the platform uses to drop the repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from parkhub.adapters.platforms.base import Receipt
from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import (
    DeliveryError,
    MappingError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from parkhub.store import Claimed, DeliveryStatus, Sent, Store, Try

from .limits import Limits, Paused
from .platforms import PlatformRuntime, RetrySettings

log = logging.getLogger("parkhub.dispatch")


@dataclass
class Outcome:
    claimed: Claimed
    status: DeliveryStatus  # sent, superseded, failed (retried or dead), pending (given back)
    payload: str | None = None
    receipt: Receipt | None = None
    error: DeliveryError | None = None
    tries: list[Try] = field(default_factory=list)
    """The short retries inside this attempt that failed, before the last one (history)."""
    due: dt.datetime | None = None  # given back unsent (its platform paused): due again then


@dataclass(frozen=True, slots=True)
class _Ready:
    """A delivery mapped and validated, ready to send (not before `turn`, if given)."""

    claimed: Claimed
    runtime: PlatformRuntime
    payload: dict[str, Any]
    payload_text: str
    turn: float | None = None


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    superseded: int = 0
    held: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchStats) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.superseded += other.superseded
        self.held += other.held
        self.errors.extend(other.errors)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, PlatformRuntime],
        *,
        owner: str | None = None,
        batch_size: int = 200,
        lease_seconds: float = 120.0,
        concurrency: int = 8,
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.platforms = platforms
        self.owner = owner or default_owner()
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        self.limits = limits or Limits(store, platforms)
        self._pool: ThreadPoolExecutor | None = None
        self._warm: set[str] = set()

    def lane(self) -> Dispatcher:
        """A dispatcher with threads of its own and the same platforms and limits: the fast
        lane's, so an alarm never queues behind a batch waiting for a platform's rate."""
        return Dispatcher(
            self.store,
            self.platforms,
            owner=self.owner,
            batch_size=self.batch_size,
            lease_seconds=self.lease_seconds,
            concurrency=self.concurrency,
            limits=self.limits,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run_once(
        self, *, platforms: Sequence[str] | None = None, max_priority: int | None = None
    ) -> DispatchStats:
        """Claim one batch of due deliveries and process it."""
        names = list(platforms) if platforms is not None else list(self.platforms)
        claimed, turns = self.limits.claim(
            self.owner,
            names,
            batch=self.batch_size,
            lease_seconds=self.lease_seconds,
            max_priority=max_priority,
        )
        stats = DispatchStats(claimed=len(claimed))
        if not claimed:
            return stats
        # Map and validate the whole batch here first, then send it in parallel: measured
        # faster than mapping while the workers send (bench/dispatch.py), as then every worker
        # with an answer in hand waits for this thread to give up the GIL.
        sent_before = self._previously_sent(claimed)
        prepared = [self._prepare(c, sent_before, turns.get(c.id)) for c in claimed]
        ready = [p for p in prepared if isinstance(p, _Ready)]
        if self.concurrency > 1 and len(ready) > 1:
            delivered = iter(list(self._executor(ready).map(self._deliver, ready)))
        else:
            delivered = (self._deliver(r) for r in ready)
        # in claim order, as before
        outcomes = [p if isinstance(p, Outcome) else next(delivered) for p in prepared]
        self._record(outcomes, stats)
        return stats

    def _executor(self, ready: Sequence[_Ready]) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dispatch")
        for r in ready:
            if r.runtime.name not in self._warm:
                # Make the platform's lazy HTTP client here, once: workers racing to make it
                # would each build one (an SSL context, ~80 ms apiece) and leak all but one.
                r.runtime.platform.http  # noqa: B018
                self._warm.add(r.runtime.name)
        return self._pool

    def run_until_idle(self, *, max_rounds: int = 1000, **kw: Any) -> DispatchStats:
        total = DispatchStats()
        for _ in range(max_rounds):
            stats = self.run_once(**kw)
            total.add(stats)
            if stats.claimed == 0:
                break
        return total

    # -- one delivery -------------------------------------------------------------------------

    def _previously_sent(self, claimed: Sequence[Claimed]) -> dict[tuple[int, str, str], int]:
        # A correction is a revision after one the platform already has: one query per batch.
        corrections = [c for c in claimed if c.correction]
        if not corrections:
            return {}
        return self.store.outbox.first_sent_revisions(
            {(c.record_id, c.platform, c.report) for c in corrections}
        )

    def _prepare(
        self, c: Claimed, sent_before: Mapping[tuple[int, str, str], int], turn: float | None
    ) -> Outcome | _Ready:
        """Map and validate one delivery: an Outcome when it ends here, else what to send."""
        if c.revision < c.current_revision:
            return Outcome(c, DeliveryStatus.SUPERSEDED)  # the newer revision has its own delivery
        runtime = self.platforms.get(c.platform)
        if runtime is None or c.report not in runtime.reports:
            err: DeliveryError = PermanentDeliveryError(
                f"平台或报表未配置 (platform {c.platform}.{c.report} is not configured any more)"
            )
            return Outcome(c, DeliveryStatus.FAILED, error=err)
        payload_text: str | None = None
        try:
            doc = dict(c.doc)
            first = sent_before.get((c.record_id, c.platform, c.report))
            doc["_meta"] = {
                "revision": c.revision,
                "correction": c.correction and first is not None and first < c.revision,
                "key": c.record_key,
                "idempotency_key": c.idempotency_key,
            }
            ref = f"{c.record_kind}:{c.record_key}@r{c.revision}"
            payload = runtime.mapping(c.report).apply(doc, record=ref)
            payload_text = jsonutil.dumps_str(payload)
            runtime.validate(c.report, payload, ref)
        except MappingError as exc:
            return Outcome(
                c, DeliveryStatus.FAILED, payload_text, error=PermanentDeliveryError(str(exc))
            )
        except DeliveryError as exc:
            return Outcome(c, DeliveryStatus.FAILED, payload_text, error=exc)
        except Exception as exc:  # a bug in one delivery must not stop the others
            log.exception("unexpected error preparing delivery %s", c.id)
            err = TransientDeliveryError(
                f"{c.platform}: 内部错误 (unexpected {type(exc).__name__}: {exc})"
            )
            return Outcome(c, DeliveryStatus.FAILED, payload_text, error=err)
        return _Ready(c, runtime, payload, payload_text, turn)

    def _deliver(self, r: _Ready) -> Outcome:
        c = r.claimed
        tries: list[Try] = []
        self.limits.wait_turn(r.turn)
        due = self.limits.hold(c)
        if due is not None:
            return Outcome(c, DeliveryStatus.PENDING, r.payload_text, due=due)
        try:
            receipt = self._send(r.runtime, c, r.payload, tries)
        except Paused:  # between quick retries: the attempt that failed is not counted
            due = self.limits.hold(c) or utcnow()
            return Outcome(c, DeliveryStatus.PENDING, r.payload_text, due=due, tries=tries)
        except DeliveryError as exc:
            self.limits.record(c, exc)
            return Outcome(c, DeliveryStatus.FAILED, r.payload_text, error=exc, tries=tries)
        except Exception as exc:  # a platform bug must not stop the other deliveries
            log.exception("unexpected error sending delivery %s", c.id)
            err = TransientDeliveryError(
                f"{c.platform}: 内部错误 (unexpected {type(exc).__name__}: {exc})"
            )
            self.limits.record(c, None)  # the platform answered; our side failed
            return Outcome(c, DeliveryStatus.FAILED, r.payload_text, error=err, tries=tries)
        self.limits.record(c, None)
        return Outcome(c, DeliveryStatus.SENT, r.payload_text, receipt=receipt, tries=tries)

    def _send(
        self, runtime: PlatformRuntime, c: Claimed, payload: dict[str, Any], tries: list[Try]
    ) -> Receipt:
        """Send with the short retries; `tries` gets each failed try but the last (the
        outcome's own)."""
        policy = runtime.retry
        # Most sends succeed at once: try first, and build the retry machinery only on failure.
        try:
            return runtime.platform.send(c.report, payload, c.idempotency_key)
        except TransientDeliveryError as exc:
            if policy.short_retries <= 0:
                raise
            tries.append(_failed_try(c, exc, DeliveryStatus.FAILED))
        # Attempt 1 failed. Same schedule as one Retrying over all attempts: wait
        # short_wait * 2**(n-1) after attempt n (at most 5 s), short_retries more attempts;
        # each pays for its token, and none goes to a paused platform.
        time.sleep(min(policy.short_wait_seconds, 5.0))
        retrying = Retrying(
            retry=retry_if_exception_type(TransientDeliveryError),
            stop=stop_after_attempt(policy.short_retries),
            wait=wait_exponential(multiplier=2 * policy.short_wait_seconds, max=5),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.limits.before_retry(c)
                try:
                    return runtime.platform.send(c.report, payload, c.idempotency_key)
                except TransientDeliveryError as exc:
                    if attempt.retry_state.attempt_number < policy.short_retries:
                        tries.append(_failed_try(c, exc, DeliveryStatus.FAILED))
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, outcomes: list[Outcome], stats: DispatchStats) -> None:
        now = utcnow()
        sent: list[Sent] = []
        tries: list[Try] = []
        with self.store.begin() as conn:
            for o in outcomes:
                c = o.claimed
                tries.extend(o.tries)
                if o.status is DeliveryStatus.SUPERSEDED:
                    self.store.outbox.mark_superseded(conn, c.id, self.owner)
                    stats.superseded += 1
                    tries.append(Try(c.id, c.attempts, now, DeliveryStatus.SUPERSEDED))
                elif o.due is not None:
                    self.store.outbox.release(conn, [c.id], self.owner, o.due)
                    stats.held += 1
                elif o.status is DeliveryStatus.SENT and o.receipt is not None:
                    receipt = {
                        "receipt_id": o.receipt.receipt_id,
                        "duplicate": o.receipt.duplicate,
                        "received_at": o.receipt.received_at.isoformat(),
                        "detail": dict(o.receipt.detail),
                    }
                    sent.append(Sent(c.id, o.payload or "", o.receipt.receipt_id, receipt))
                    stats.sent += 1
                    tries.append(
                        Try(
                            c.id,
                            c.attempts,
                            now,
                            DeliveryStatus.SENT,
                            http_status=o.receipt.http_status,
                            receipt_id=o.receipt.receipt_id,
                        )
                    )
                else:
                    err = o.error or TransientDeliveryError("unknown failure")
                    runtime = self.platforms.get(c.platform)
                    retry = runtime.retry if runtime else RetrySettings(max_attempts=1)
                    when = retry.next_attempt(c.attempts, now) if err.transient else None
                    status = self.store.outbox.mark_failed(
                        conn,
                        c.id,
                        self.owner,
                        error=str(err),
                        transient=err.transient,
                        next_attempt_at=when,
                        payload=o.payload,
                    )
                    if status is DeliveryStatus.DEAD:
                        stats.dead += 1
                    else:
                        stats.failed += 1
                    stats.errors.append(f"#{c.id} {c.platform}.{c.report}: {err}")
                    tries.append(_failed_try(c, err, status, at=now))
                    log.warning("delivery %s %s: %s", c.id, status, err)
            # the receipts of the whole batch: one prepared statement, one transaction
            self.store.outbox.mark_sent(conn, self.owner, sent)
            # ... and every try, with the outcomes it led to
            self.store.outbox.history.add(conn, self.owner, tries)


def _failed_try(
    c: Claimed, err: DeliveryError, outcome: DeliveryStatus, *, at: dt.datetime | None = None
) -> Try:
    return Try(
        c.id,
        c.attempts,
        at or utcnow(),
        outcome,
        http_status=err.http_status,
        error=str(err),
        error_kind="transient" if err.transient else "permanent",
    )
