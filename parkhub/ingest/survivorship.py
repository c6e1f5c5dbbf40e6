"""Which source wins: records of a merged kind are laid over what is stored, field by field,
by the park's precedence (parkhub.policies.survivorship), before the quality rules and the
upsert.

- A field a source does not carry (absent, empty, or a model default it never set) never
  erases what another source set.
- A source takes a field when nobody holds it, when it holds it itself, or when it ranks
  above the source that does. Ownership moves only with a change of value: importing the
  values a template was prefilled with changes nothing.
- A lower (or equal-ranked other) source that disagrees changes nothing: its value is kept as
  a conflict on the record (`record_sources`) and reported once, never a new revision. So two
  disagreeing sources give one stable revision, not a flip-flop of corrections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical import Record
from parkhub.config import HubConfig
from parkhub.policies.survivorship import DEVICE_VENDORS, ENTRY_VENDOR, Precedence
from parkhub.store import Finding, Provenance, Store, Stored

from .sources import ENTRY_PREFIX

REVIEW_PREFIX = "review:"
SYSTEM_PREFIX = "parkhub."
FIXED = frozenset({"park_id", "credit_code_valid"})
"""Fields never merged: the incoming record's park (a move is decided elsewhere) and what its
validators derive."""
Memo = dict[tuple[str, str], Stored]
"""Records merged earlier in one pull, not committed yet: later pages merge against them."""


@dataclass
class Merged:
    """What survivorship made of a batch: the records to store, in order, each with the record
    its source sent; the field sources to store; the conflicts new in this batch."""

    records: list[Record] = field(default_factory=list)
    incoming: dict[int, Record] = field(default_factory=dict)
    provenance: dict[tuple[str, str], Provenance] = field(default_factory=dict)
    conflicts: list[Finding] = field(default_factory=list)

    def sent(self, rec: Record) -> Record:
        """The record as its source sent it (before the merge)."""
        return self.incoming.get(id(rec), rec)


class Survivorship:
    def __init__(self, store: Store, config: HubConfig) -> None:
        self.store = store
        self.policy = config.survivorship
        self.classes: dict[str, str] = {}
        for s in config.sources:
            if s.vendor == ENTRY_VENDOR:
                self.classes[s.name] = "entry"
            else:
                self.classes[s.name] = "device" if s.vendor in DEVICE_VENDORS else "vendor"
        self.classes.update(self.policy.classes)

    def source_class(self, source: str) -> str:
        if source in self.classes:
            return self.classes[source]
        for prefix, cls in (
            (ENTRY_PREFIX, "entry"),
            (REVIEW_PREFIX, "review"),
            (SYSTEM_PREFIX, "system"),
        ):
            if source.startswith(prefix):
                return cls
        return "vendor"

    def rank(self, order: Sequence[str], source: str) -> int:
        """Where `source` stands in `order` (by name, else by class); unnamed ones come last."""
        if source in order:
            return order.index(source)
        cls = self.source_class(source)
        return order.index(cls) if cls in order else len(order)

    def merge(self, records: Sequence[Record], source: str, memo: Memo | None = None) -> Merged:
        """Lay each record of a merged kind over what is stored (or merged before in `memo`)."""
        out = Merged()
        wanted: dict[str, set[str]] = {}
        # one lookup per park and kind, not per record (a page is mostly one of each)
        precedences = {
            (park, kind): self.policy.precedence(park, kind)
            for park, kind in {(rec.park_id, rec.kind) for rec in records}
        }
        for rec in records:
            if precedences[rec.park_id, rec.kind] is not None:
                wanted.setdefault(rec.kind, set()).add(rec.key)
        if not wanted:
            out.records = list(records)
            return out
        memo = {} if memo is None else memo
        stored = {
            (kind, key): s
            for kind, keys in wanted.items()
            for key, s in self.store.records.stored(
                kind, [k for k in keys if (kind, k) not in memo]
            ).items()
        }
        stored.update(memo)
        for rec in records:
            precedence = precedences[rec.park_id, rec.kind]
            if precedence is None:
                out.records.append(rec)
                continue
            ident = (rec.kind, rec.key)
            merged, after = self.merge_one(stored.get(ident), rec, source, precedence, out)
            stored[ident] = memo[ident] = after
            out.records.append(merged)
            if merged is not rec:
                out.incoming[id(merged)] = rec
        return out

    def merge_one(
        self,
        prev: Stored | None,
        rec: Record,
        source: str,
        precedence: Precedence,
        out: Merged,
        *,
        carried: Iterable[str] | None = None,
    ) -> tuple[Record, Stored]:
        """One record over its stored state: the record to store and the state after it.
        `carried`: the fields the source sets (default: those it gave, not None)."""
        doc = rec.document()
        given = set(carried) if carried is not None else set(rec.model_fields_set)
        given = {f for f in given if doc.get(f) is not None} - FIXED
        if prev is None:
            first = {f: source for f in given}
            if set(doc) - FIXED - given:  # model defaults nobody set: remember they are free
                self._keep(out, rec, first, None)
            return rec, Stored(doc, source, 0, None, first, None)
        merged = {**prev.doc, **{f: doc[f] for f in FIXED if f in doc}}
        fields: dict[str, str] = {}
        conflicts = {f: dict(v) for f, v in (prev.conflicts or {}).items()}
        for name in set(prev.doc) | given:
            if name in FIXED:
                continue
            holder = prev.source_of(name) if prev.doc.get(name) is not None else ""
            if name not in given:
                if holder:
                    fields[name] = holder
                continue
            self._field(name, doc[name], prev.doc.get(name), holder, source, precedence, out,
                        rec, merged, fields, conflicts)  # fmt: skip
        kept = {f: v for f, v in conflicts.items() if v} or None
        record = rec if merged == doc else type(rec).model_validate(merged)
        writer = source if merged != prev.doc else prev.source  # records.source after the upsert
        after = Stored(merged, writer, prev.revision, prev.raw_id, fields, kept)
        # no row needed while every field is the last writer's (a row says what differs)
        implied = kept is None and set(merged) - FIXED == set(fields)
        implied = implied and all(s == writer for s in fields.values())
        implied = implied and prev.fields is None and prev.conflicts is None
        if not implied and (fields, kept) != (prev.fields, prev.conflicts):
            self._keep(out, rec, fields, kept)
        return record, after

    def _field(
        self,
        name: str,
        value: Any,
        current: Any,
        holder: str,
        source: str,
        precedence: Precedence,
        out: Merged,
        rec: Record,
        merged: dict[str, Any],
        fields: dict[str, str],
        conflicts: dict[str, dict[str, Any]],
    ) -> None:
        order = precedence.order(name)
        mine = conflicts.setdefault(name, {})
        if not holder or holder == source or self.rank(order, source) < self.rank(order, holder):
            merged[name] = value
            fields[name] = holder if value == current and holder else source
            for other, said in list(mine.items()):  # what agrees now is no longer a conflict
                if said == value or other == source:
                    del mine[other]
            return
        fields[name] = holder
        if value == current:
            mine.pop(source, None)
            return
        if mine.get(source) != value:
            severity = self.policy.conflict_severity
            out.conflicts.append(_conflict(rec, name, source, value, holder, current, severity))
        mine[source] = value

    @staticmethod
    def _keep(
        out: Merged,
        rec: Record,
        fields: Mapping[str, str],
        conflicts: Mapping[str, Mapping[str, Any]] | None,
    ) -> None:
        out.provenance[(rec.kind, rec.key)] = Provenance(
            rec.kind, rec.key, rec.park_id, dict(fields), conflicts
        )


def _conflict(
    rec: Record, name: str, source: str, value: Any, holder: str, current: Any, severity: str
) -> Finding:
    return Finding(
        rec.kind,
        rec.key,
        rec.park_id,
        "source_conflict",
        severity,
        f"来源 {source} 的值 {value!r} 与保留的值 {current!r}（来源 {holder}）不同，"
        "按来源优先级保留原值 "
        f"({source} says {value!r}; {current!r} from {holder} is kept by precedence)",
        name,
    )
