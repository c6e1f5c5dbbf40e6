"""A store with the ingest service as the hub wires it (survivorship, the quality gate) and a
route for every kind, so a test sees what got outbox rows and what was held back."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parkhub.adapters.vendors.base import ParseResult, RawMessage
from parkhub.canonical import Enterprise, EnterpriseMonthly, Record
from parkhub.canonical.timeutil import periods_to
from parkhub.config import HubConfig, parse_config
from parkhub.ingest import IngestResult, IngestService
from parkhub.ingest.quality import QualityGate
from parkhub.ingest.review import Reviewing
from parkhub.ingest.survivorship import Survivorship
from parkhub.sandbox.data import credit_code
from parkhub.store import Route, RouteTable, Store

PARK = "p1"
ENTRY = "entry:p1"
CODE = credit_code("330302", 1)
OTHER = credit_code("330302", 2)
KINDS = ("enterprise", "enterprise_monthly", "enterprise_annual", "measurement")
_bodies = itertools.count()


def config(**sections: Any) -> HubConfig:
    park = {"id": PARK, "name": "测试园区", "division_code": "330302", "land_area_m2": 66_666.67}
    return parse_config({"parks": [park], **sections}, check_adapters=False)


@dataclass
class Park:
    """One park's ingest on a real store: feed it records, look at what became of them."""

    store: Store
    ingest: IngestService
    review: Reviewing

    def feed(self, records: Sequence[Record], source: str = ENTRY) -> IngestResult:
        body = f"test message {next(_bodies)}".encode()
        raw = RawMessage(source, "test", body)
        return self.ingest.ingest(None, raw, parsed=ParseResult(list(records)))  # type: ignore[arg-type]

    def deliveries(self, kind: str, key: str) -> list[dict[str, Any]]:
        return [
            d
            for d in self.store.outbox.deliveries(limit=10_000)
            if d["record_kind"] == kind and d["record_key"] == key
        ]

    def doc(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.store.records.docs_of(kind, [key]).get(key)

    def history(self, code: str, end: str, months: int, **values: float) -> None:
        """`months` months of figures to `end` (inclusive), stored as the vendor sent them."""
        self.feed(
            [monthly(code, p, **values) for p in periods_to(end, months)], source="qisheng-lc"
        )


def monthly(code: str, period: str, **values: Any) -> EnterpriseMonthly:
    return EnterpriseMonthly(park_id=PARK, credit_code=code, period=period, **values)


def enterprise(code: str = CODE, **values: Any) -> Enterprise:
    return Enterprise(park_id=PARK, credit_code=code, **{"name": "温州测试电气有限公司", **values})


def make_park(store: Store, cfg: HubConfig) -> Park:
    routes = RouteTable.of((kind, PARK, Route("test", kind, "1")) for kind in KINDS)
    ingest = IngestService(
        store,
        routes,
        lambda source: None,  # type: ignore[arg-type,return-value]
        survivorship=Survivorship(store, cfg),
        quality=QualityGate(store, cfg),
    )
    return Park(store, ingest, Reviewing(ingest))
