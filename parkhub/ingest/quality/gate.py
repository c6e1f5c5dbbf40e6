"""The quality gate: every incoming record runs through its park's rules before it gets outbox
rows. Findings of severity info and warn pass with the record; a `hold` keeps the record back
for a reviewer (parkhub.store.reviews).

Only kinds some enabled rule checks cost anything: a page of readings whose metric no rule
watches is looked at once (its kinds) and passes. History is read in bulk, once per page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical import Record
from parkhub.config import HubConfig
from parkhub.policies import QualityRules
from parkhub.store import Finding, Store

from . import figures
from .history import FigureHistory, load_history
from .meters import MeterWatch

FIGURE_KINDS = frozenset({"enterprise_monthly", "enterprise_annual", "enterprise"})
UNCHECKED_PREFIXES = ("parkhub.", "review:")
"""Sources whose records are not checked: what parkhub builds, what a reviewer decided."""


@dataclass
class Verdict:
    """What the gate decided about a batch: records that pass (in order), records held with
    their findings, and the findings of records that pass."""

    passed: list[Record] = field(default_factory=list)
    held: list[tuple[Record, list[Finding]]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class QualityGate:
    def __init__(self, store: Store, config: HubConfig) -> None:
        self.store = store
        self.config = config.quality
        self.meters = MeterWatch(store)
        self._rules: dict[str, QualityRules] = {}

    def rules(self, park_id: str) -> QualityRules:
        rules = self._rules.get(park_id)
        if rules is None:
            rules = self._rules[park_id] = self.config.for_park(park_id)
        return rules

    def check(self, records: Sequence[Record], source: str) -> Verdict | None:
        """The verdict on a batch, or None when nothing in it is checked (all pass)."""
        if not self.config.enabled or not records or source.startswith(UNCHECKED_PREFIXES):
            return None
        groups = _groups(records)
        said: dict[int, list[Finding]] = {}
        for (park_id, kind), recs in groups.items():
            rules = self.rules(park_id)
            if kind == "measurement" and rules.meter.enabled:
                judged = self.meters.check(park_id, recs, rules.meter)  # type: ignore[arg-type]
                for reading, message in judged:
                    said.setdefault(id(reading), []).append(
                        _finding(reading, "meter", rules.meter.severity, "value", message)
                    )
            elif kind in FIGURE_KINDS:
                self._figures(park_id, kind, recs, rules, said)
        if not said:
            return None
        verdict = Verdict()
        for rec in records:
            found = said.get(id(rec))
            if found and any(f.severity == "hold" for f in found):
                verdict.held.append((rec, found))
                continue
            verdict.passed.append(rec)
            verdict.findings.extend(found or ())
        return verdict

    def _figures(
        self,
        park_id: str,
        kind: str,
        recs: list[Record],
        rules: QualityRules,
        said: dict[int, list[Finding]],
    ) -> None:
        history = load_history(self.store, park_id, recs, rules)
        for rec in recs:
            doc = rec.document()
            for rule, severity, found in _figure_rules(kind, doc, history, rules):
                for name, message in found:
                    said.setdefault(id(rec), []).append(
                        _finding(rec, rule, severity, name, message)
                    )


def _groups(records: Sequence[Record]) -> dict[tuple[str, str], list[Record]]:
    """The batch by (park, kind); a page of one kind from one park (nearly every page) is
    told at C speed."""
    first = records[0]
    park = first.park_id
    if len(set(map(type, records))) == 1 and all(r.park_id == park for r in records):
        return {(park, first.kind): list(records)}
    groups: dict[tuple[str, str], list[Record]] = {}
    for rec in records:
        groups.setdefault((rec.park_id, rec.kind), []).append(rec)
    return groups


def _figure_rules(
    kind: str, doc: dict[str, Any], history: FigureHistory, rules: QualityRules
) -> Iterator[tuple[str, str, Iterator[figures.Said]]]:
    """(rule, severity, what it says) for each enabled rule that applies to the kind. A field
    found out of range or in the wrong unit is not judged again by the softer rules."""
    flagged: set[str] = set()

    def tracked(found: Iterator[figures.Said]) -> Iterator[figures.Said]:
        for name, message in found:
            flagged.add(name)
            yield name, message

    def fresh(found: Iterator[figures.Said]) -> Iterator[figures.Said]:
        return ((n, m) for n, m in found if n not in flagged)

    checks: list[tuple[str, Any, Callable[[], Iterator[figures.Said]]]] = [
        ("range", rules.range, lambda: tracked(figures.out_of_range(kind, doc, rules))),
        ("scale", rules.scale, lambda: figures.scale(kind, doc, history, rules)),
    ]
    if kind != "enterprise":
        checks += [
            ("unit_mistake", rules.unit_mistake,
             lambda: tracked(figures.unit_mistake(kind, doc, history, rules))),
            ("tax_revenue", rules.tax_revenue, lambda: fresh(figures.tax_over_revenue(doc))),
        ]  # fmt: skip
    if kind == "enterprise_monthly":
        checks += [
            ("jump", rules.jump, lambda: fresh(figures.jump(doc, history, rules))),
            ("missing_month", rules.missing_month,
             lambda: figures.missing_month(doc, history, rules)),
            ("intensity", rules.intensity, lambda: fresh(figures.intensity(doc, history, rules))),
        ]  # fmt: skip
    for name, settings, run in checks:
        if settings.enabled:
            yield name, settings.severity, run()


def _finding(rec: Record, rule: str, severity: str, name: str, message: str) -> Finding:
    return Finding(rec.kind, rec.key, rec.park_id, rule, severity, message, name)


__all__ = ["FIGURE_KINDS", "QualityGate", "Verdict"]
