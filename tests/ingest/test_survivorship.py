"""Which source wins: operator entry over a vendor for what the operator sets, the vendor filling
what the operator left empty, nothing erased by a source that does not carry a field, and no
flip-flop of corrections between two disagreeing sources; with the Qisheng simulator and
operator entry as the two real sources."""

from __future__ import annotations

import io

import openpyxl

from parkhub.hub import Hub
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from parkhub.store import Store
from parkhub.store import schema as t
from tests.helpers import PERIOD
from tests.ingest.support import CODE, ENTRY, PARK, config, enterprise, make_park, monthly

VENDOR = "qisheng-lc"


def test_entry_wins_for_what_it_sets_and_the_vendor_fills_the_rest(store: Store) -> None:
    park = make_park(store, config())
    park.feed([enterprise(name="温州瓯江电气有限公司", contact="张工")], source=VENDOR)
    park.feed([enterprise(name="温州瓯江电气股份有限公司")], source=ENTRY)
    park.feed(
        [enterprise(name="温州瓯江电气有限公司", contact="李工", industry_code="3823")],
        source=VENDOR,
    )
    doc = park.doc("enterprise", CODE)
    assert doc is not None
    assert doc["name"] == "温州瓯江电气股份有限公司"  # the operator's
    assert doc["contact"] == "李工" and doc["industry_code"] == "3823"  # the vendor's own fields


def test_a_field_a_source_does_not_carry_never_erases_another_sources(store: Store) -> None:
    park = make_park(store, config())
    park.feed([enterprise(floor_area_m2=1200.0, contact="张工")], source=ENTRY)
    result = park.feed([enterprise(contact=None, floor_area_m2=None)], source=VENDOR)
    assert result.changed == 0 and result.deliveries == 0
    doc = park.doc("enterprise", CODE)
    assert doc is not None and doc["floor_area_m2"] == 1200.0 and doc["contact"] == "张工"
    figures = park.feed([monthly(CODE, "2026-10", revenue_yuan=1e6, tax_yuan=5e4)], source=ENTRY)
    assert figures.new == 1
    park.feed([monthly(CODE, "2026-10", electricity_kwh=2e4)], source=VENDOR)
    doc = park.doc("enterprise_monthly", f"{CODE}|2026-10")
    assert doc == {**doc, "revenue_yuan": 1e6, "tax_yuan": 5e4, "electricity_kwh": 2e4}


def test_a_model_default_the_operator_never_set_is_free_for_the_vendor(store: Store) -> None:
    park = make_park(store, config())
    park.feed([enterprise()], source=ENTRY)  # 是否规上 left empty: False by default
    park.feed([enterprise(above_scale=True)], source=VENDOR)
    assert park.doc("enterprise", CODE)["above_scale"] is True  # type: ignore[index]


def test_two_disagreeing_sources_give_one_stable_revision_and_a_visible_conflict(
    store: Store,
) -> None:
    park = make_park(store, config())
    park.feed([enterprise(name="温州瓯江电气有限公司")], source=VENDOR)
    park.feed([enterprise(name="温州瓯江电气股份有限公司")], source=ENTRY)
    counts = []
    for i in range(3):  # the vendor keeps sending its name, the operator keeps theirs
        counts.append(park.feed([enterprise(name="温州瓯江电气有限公司", contact=f"张工{i % 1}")],
                                source=VENDOR).findings)  # fmt: skip
        counts.append(
            park.feed([enterprise(name="温州瓯江电气股份有限公司")], source=ENTRY).findings
        )
    rows = park.store.records.revisions("enterprise", [CODE])
    assert rows[CODE][0] == 3  # vendor, operator's name, vendor's contact: then nothing
    assert len(park.deliveries("enterprise", CODE)) == 3
    assert [f.rule for found in counts for f in found] == ["source_conflict"]  # told once
    [conflict] = park.store.provenance.conflicts(park_ids=[PARK])
    assert conflict["conflicts"] == {"name": {VENDOR: "温州瓯江电气有限公司"}}
    assert conflict["fields"]["name"] == ENTRY and conflict["fields"]["contact"] == VENDOR


def test_the_vendor_agreeing_again_clears_the_conflict(store: Store) -> None:
    park = make_park(store, config())
    park.feed([enterprise(name="A 有限公司")], source=VENDOR)
    park.feed([enterprise(name="B 有限公司")], source=ENTRY)
    park.feed([enterprise(name="A 有限公司", contact="x")], source=VENDOR)
    assert park.store.provenance.conflicts() != []
    park.feed([enterprise(name="B 有限公司", contact="x")], source=VENDOR)
    assert park.store.provenance.conflicts() == []


def test_precedence_is_configurable_per_park(store: Store) -> None:
    cfg = config(
        survivorship={
            "parks": {PARK: {"enterprise": {"default": ["vendor", "entry"],
                                            "fields": {"contact": ["entry", "vendor"]}}}}
        }
    )  # fmt: skip
    park = make_park(store, cfg)
    park.feed([enterprise(name="A", contact="张工")], source=ENTRY)
    park.feed([enterprise(name="B", contact="李工")], source=VENDOR)
    doc = park.doc("enterprise", CODE)
    assert doc is not None and doc["name"] == "B" and doc["contact"] == "张工"


def _clear_cursors(hub: Hub) -> None:
    with hub.store.begin() as conn:
        conn.execute(t.cursors.delete())


def test_an_unchanged_roster_round_trip_changes_nothing(hub: Hub) -> None:
    """Issue 13 (2): the prefilled roster template, imported as it is, made 12 corrections
    (it has no column for the vendor's own id); now it changes nothing."""
    hub.sync()
    before = len(hub.store.outbox.deliveries(limit=10_000))
    park = hub.config.parks[0].id
    for kind in ("enterprise_roster", "enterprise_monthly"):
        template = hub.entry_template(park, PERIOD, kind=kind)
        result = hub.import_entry(template, park, filename=f"{kind}.xlsx")
        assert (result.new, result.changed, result.deliveries) == (0, 0, 0), kind
    assert len(hub.store.outbox.deliveries(limit=10_000)) == before
    [doc] = [d for d in hub.store.records.docs("enterprise") if d["source_id"] == "E0001"]
    assert doc["source_id"] == "E0001"  # the vendor's id stands


def test_operator_and_vendor_disagree_without_a_flip_flop(
    hub: Hub, qisheng: tuple[QishengSim, ServerHandle]
) -> None:
    sim, _ = qisheng
    hub.sync()
    park = hub.config.parks[0].id
    code = str(sim.enterprises[0]["creditCode"])
    wb = openpyxl.load_workbook(
        io.BytesIO(hub.entry_template(park, PERIOD, kind="enterprise_roster"))
    )
    ws = wb["企业名录"]
    [row] = [r for r in ws.iter_rows(min_row=3) if r[0].value == code]
    row[1].value = "温州市鹿城区鸿图鞋业股份有限公司"  # the operator renames it
    buffer = io.BytesIO()
    wb.save(buffer)
    result = hub.import_entry(buffer.getvalue(), park, filename="roster.xlsx")
    assert (result.changed, result.deliveries) == (1, 1)
    for round_ in range(3):  # the vendor's pages change (a contact), its name for it does not
        sim.enterprises[1]["contact"] = f"王工{round_}"
        _clear_cursors(hub)
        [synced] = hub.sync()
        assert synced.failure is None
    ent = hub.store.records.get("enterprise", code)
    assert ent is not None and ent["revision"] == 2
    assert '"name":"温州市鹿城区鸿图鞋业股份有限公司"' in ent["doc"]
    provincial = [d for d in hub.store.outbox.deliveries(limit=10_000) if d["record_key"] == code]
    assert len(provincial) == 2  # the first, and the operator's correction: nothing more
    [conflict] = [c for c in hub.store.provenance.conflicts() if c["key"] == code]
    assert conflict["conflicts"]["name"] == {"qisheng-lc": "温州市鹿城区鸿图鞋业有限公司"}
    assert hub.status()["quality"]["conflicts"] == 1
