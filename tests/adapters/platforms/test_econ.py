"""经信 platform: golden payloads, bearer tokens (expiry, 401 refresh), error classes, and the
whole hub delivering enterprise and park monthly figures to the simulator over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from parkhub.adapters.platforms.econ import EconConfig, EconPlatform
from parkhub.canonical import EnterpriseMonthly, ParkMonthly
from parkhub.config import parse_config
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.hub import Hub
from parkhub.mappings.engine import load_mapping
from parkhub.sandbox.econ_sim import EconSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.schemas.loader import payload_validator
from tests.helpers import FIXTURES

GOLDEN = FIXTURES / "golden"
SECRET_ENV = "PARKHUB_TEST_ECON_SECRET"
SECRET = "econ-sandbox-secret-7f3a"
PARK = "wz-lc-0001"


def golden(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads((GOLDEN / f"{case}.canonical.json").read_text(encoding="utf-8"))
    payload = json.loads((GOLDEN / f"{case}.payload.json").read_text(encoding="utf-8"))
    return doc, payload


@pytest.mark.parametrize(
    ("report", "case"),
    [
        ("enterprise_monthly", "econ_enterprise_monthly_2026-10"),
        ("enterprise_monthly", "econ_enterprise_monthly_loss_correction"),
        ("park_monthly", "econ_park_monthly_2026-10"),
    ],
)
def test_golden_payloads(report: str, case: str) -> None:
    doc, expected = golden(case)
    spec = EconPlatform.reports[report]
    payload = load_mapping(spec.mapping).apply(doc)
    assert payload == expected
    assert spec.schema is not None
    assert list(payload_validator(spec.schema).iter_errors(payload)) == []


@pytest.fixture
def sim() -> Iterator[tuple[EconSim, ServerHandle]]:
    s = EconSim(client_id="lc-park", client_secret=SECRET)
    with serve_in_thread(s.app) as handle:
        yield s, handle


def make_platform(url: str, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> EconPlatform:
    monkeypatch.setenv(SECRET_ENV, extra.pop("secret", SECRET))
    config = EconConfig.model_validate(
        {
            "base_url": url,
            "client_id": "lc-park",
            "client_secret": f"env:{SECRET_ENV}",
            "timeout_seconds": 2,
            **extra,
        }
    )
    return EconPlatform(config)


@pytest.fixture
def platform(
    sim: tuple[EconSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[EconPlatform]:
    p = make_platform(sim[1].url, monkeypatch)
    yield p
    p.close()


def test_send_returns_the_receipt_and_repeats_are_dropped(
    sim: tuple[EconSim, ServerHandle], platform: EconPlatform
) -> None:
    _, payload = golden("econ_enterprise_monthly_2026-10")
    first = platform.send("enterprise_monthly", payload, "ph1-key-1")
    assert first.receipt_id.startswith("JX") and not first.duplicate
    again = platform.send("enterprise_monthly", payload, "ph1-key-1")
    assert again.receipt_id == first.receipt_id and again.duplicate
    assert sim[0].payloads("enterprise_monthly") == [payload]
    assert sim[0].duplicates == 1
    assert sim[0].tokens_issued == 1  # the token is reused


def test_token_refreshed_after_401(
    sim: tuple[EconSim, ServerHandle], platform: EconPlatform
) -> None:
    _, payload = golden("econ_park_monthly_2026-10")
    platform.send("park_monthly", payload, "ph1-a")
    sim[0].expire_tokens()  # revoked early: the next request gets HTTP 401
    receipt = platform.send("park_monthly", {**payload, "revision": 2}, "ph1-b")
    assert receipt.receipt_id.startswith("JX")
    assert sim[0].tokens_issued == 2 and platform.tokens_fetched == 2
    assert len(sim[0].by_report("park_monthly")) == 2


def test_token_refreshed_on_business_code_40101(
    sim: tuple[EconSim, ServerHandle], platform: EconPlatform
) -> None:
    sim[0].expired_reply = "code"
    _, payload = golden("econ_park_monthly_2026-10")
    platform.send("park_monthly", payload, "ph1-a")
    sim[0].expire_tokens()
    platform.send("park_monthly", {**payload, "revision": 2}, "ph1-b")
    assert sim[0].tokens_issued == 2 and len(sim[0].accepted) == 2


def test_token_refreshed_before_it_expires(
    sim: tuple[EconSim, ServerHandle], platform: EconPlatform
) -> None:
    sim[0].token_ttl = 1  # the client refreshes at ttl - min(margin, ttl / 2) = 0.5 s
    _, payload = golden("econ_park_monthly_2026-10")
    platform.send("park_monthly", payload, "ph1-a")
    time.sleep(0.6)
    platform.send("park_monthly", {**payload, "revision": 2}, "ph1-b")
    assert sim[0].tokens_issued == 2
    assert sim[0].requests == 2  # no request was refused: refreshed ahead of expiry


def test_bad_credentials_are_permanent_and_the_secret_never_shows(
    sim: tuple[EconSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(sim[1].url, monkeypatch, secret="wrong-secret-value")
    _, payload = golden("econ_park_monthly_2026-10")
    try:
        with pytest.raises(PermanentDeliveryError) as err:
            platform.send("park_monthly", payload, "ph1-a")
    finally:
        platform.close()
    assert "40001" in str(err.value) and "wrong-secret-value" not in str(err.value)
    assert sim[0].requests == 0


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("503", TransientDeliveryError, "HTTP 503"),
        ("busy", TransientDeliveryError, "50001"),
        ("business", PermanentDeliveryError, "42202"),
    ],
)
def test_failures_are_classified(
    sim: tuple[EconSim, ServerHandle],
    platform: EconPlatform,
    mode: str,
    error: type[Exception],
    text: str,
) -> None:
    _, payload = golden("econ_enterprise_monthly_2026-10")
    sim[0].fail(mode)
    with pytest.raises(error, match=text):
        platform.send("enterprise_monthly", payload, "ph1-x")
    assert platform.send("enterprise_monthly", payload, "ph1-x").receipt_id.startswith("JX")


def test_timeout_is_transient(
    sim: tuple[EconSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(sim[1].url, monkeypatch, timeout_seconds=0.3)
    _, payload = golden("econ_enterprise_monthly_2026-10")
    platform.token()
    sim[0].fail("timeout", delay=1.0)
    try:
        with pytest.raises(TransientDeliveryError, match="超时"):
            platform.send("enterprise_monthly", payload, "ph1-x")
    finally:
        platform.close()


def test_schema_violation_is_refused_by_the_simulator(
    sim: tuple[EconSim, ServerHandle], platform: EconPlatform
) -> None:
    _, payload = golden("econ_enterprise_monthly_2026-10")
    with pytest.raises(PermanentDeliveryError, match="42201"):
        platform.send("enterprise_monthly", {**payload, "statPeriod": "2026-10"}, "ph1-x")


# -- end to end through the hub ---------------------------------------------------------------


@pytest.fixture
def hub(
    db_url: str,
    sim: tuple[EconSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = parse_config(
        {
            "parks": [{"id": PARK, "name": "鹿城智造小微企业园", "division_code": "330302"}],
            "platforms": [
                {
                    "name": "econ",
                    "type": "econ",
                    "config": {
                        "base_url": sim[1].url,
                        "client_id": "lc-park",
                        "client_secret": f"env:{SECRET_ENV}",
                        "timeout_seconds": 5,
                    },
                    "reports": ["enterprise_monthly", "park_monthly"],
                    "retry": {"short_retries": 0, "base_seconds": 0.1},
                }
            ],
        }
    )
    h = Hub.open(config, url=db_url)
    yield h
    h.close()


def _record(case: str, model: type[Any]) -> Any:
    doc, _ = golden(case)
    return model.model_validate({k: v for k, v in doc.items() if k != "_meta"})


def test_hub_delivers_enterprise_and_park_monthly(
    hub: Hub, sim: tuple[EconSim, ServerHandle]
) -> None:
    enterprise = _record("econ_enterprise_monthly_2026-10", EnterpriseMonthly)
    park = _record("econ_park_monthly_2026-10", ParkMonthly)
    assert hub.ingest_records([enterprise, park], source="test").deliveries == 2
    stats = hub.dispatch()
    assert stats.sent == 2 and stats.dead == 0
    assert sim[0].payloads("enterprise_monthly") == [golden("econ_enterprise_monthly_2026-10")[1]]
    assert sim[0].payloads("park_monthly") == [golden("econ_park_monthly_2026-10")[1]]
    assert hub.status()["platforms"]["econ"] == {
        "sent": 2, "pending": 0, "failed": 0, "dead": 0, "superseded": 0
    }  # fmt: skip
    receipts = {d["receipt_id"] for d in hub.store.outbox.deliveries(status=["sent"], limit=10)}
    assert receipts == {a.receipt for a in sim[0].accepted.values()}

    # the enterprise corrects its tax: revision 2 goes out as a correction
    corrected = enterprise.model_copy(update={"tax_yuan": 500000.0})
    hub.ingest_records([corrected], source="test")
    hub.dispatch()
    rows = sorted(sim[0].payloads("enterprise_monthly"), key=lambda p: p["revision"])
    assert [(p["revision"], p["isCorrection"], p["tax"]) for p in rows] == [
        (1, 0, 45.68),
        (2, 1, 50.0),
    ]
    assert hub.status()["platforms"]["econ"]["sent"] == 3
