"""The screen every parsed batch passes before it is stored: survivorship lays merged kinds
over what is stored, then the quality gate checks the result. What comes out: the records to
store and route, and a `Review` (findings, records held back, field sources) the writer stores
in the same transaction.

A batch of kinds nothing merges or checks (readings, when no rule watches their metric) is
looked at once, by the types of its records, and passes as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from parkhub.canonical import Record
from parkhub.store import Held, Review

from .quality import QualityGate
from .quality.gate import FIGURE_KINDS
from .survivorship import Memo, Survivorship


class Screen:
    def __init__(self, survivorship: Survivorship | None, quality: QualityGate | None) -> None:
        self.survivorship = survivorship
        self.quality = quality
        self.kinds = self._kinds()

    def _kinds(self) -> frozenset[str]:
        """The kinds anything here merges or checks, in any park."""
        kinds: set[str] = set()
        if self.survivorship is not None and self.survivorship.policy.enabled:
            policy = self.survivorship.policy
            kinds.update(policy.kinds)
            for park in policy.parks.values():
                kinds.update(park)
        if self.quality is not None and self.quality.config.enabled:
            cfg = self.quality.config
            every = [cfg.rules, *(cfg.for_park(p) for p in cfg.parks)]
            if any(r.meter.enabled for r in every):
                kinds.add("measurement")
            kinds.update(FIGURE_KINDS)
        return frozenset(kinds)

    def __call__(
        self, records: Sequence[Record], source: str, memo: Memo | None = None
    ) -> tuple[Sequence[Record], Review | None]:
        types = cast(set[type[Record]], set(map(type, records)))
        if not records or self.kinds.isdisjoint({t.kind for t in types}):
            return records, None
        merged = None
        if self.survivorship is not None:
            merged = self.survivorship.merge(records, source, memo)
            records = merged.records
        verdict = self.quality.check(records, source) if self.quality is not None else None
        if verdict is None and not (merged and (merged.provenance or merged.conflicts)):
            return records, None
        held: list[Held] = []
        passed: Sequence[Record] = records
        findings = []
        if verdict is not None:
            passed, findings = verdict.passed, list(verdict.findings)
            for rec, found in verdict.held:
                sent = merged.sent(rec) if merged is not None else rec
                held.append(Held(rec, sent, tuple(found)))
                if memo is not None:
                    memo.pop((rec.kind, rec.key), None)  # not stored: the next merge reads it
        keep = {(r.kind, r.key) for r in passed}
        provenance = []
        if merged is not None:
            provenance = [p for k, p in merged.provenance.items() if k in keep]
            findings += [f for f in merged.conflicts if (f.kind, f.key) in keep]
        review = Review(findings, held, provenance)
        return passed, (review or None)
