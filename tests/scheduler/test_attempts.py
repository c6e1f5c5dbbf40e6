"""The attempt history: every try of a delivery (time, HTTP status, error, receipt) is kept,
written with the outcome, and survives a replay, which resets only the retry budget."""

from __future__ import annotations

import pytest

from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from tests.helpers import PERIOD, make_config, make_failed_due


def test_every_try_is_kept_across_a_replay(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    config = make_config(qisheng[1].url, provincial[1].url, db_url, max_attempts=2, short_retries=1)
    hub = Hub.open(config, url=db_url)
    try:
        hub.build_reports(PERIOD, allow_empty=True)
        provincial[0].outage(3600)
        hub.dispatch()
        make_failed_due(hub)
        hub.dispatch()
        [dead] = hub.store.outbox.deliveries(status=["dead"])
        tries = hub.store.outbox.attempts(dead["id"])
        # two attempts of two tries each (one short retry): every one with its 503
        assert [(a["attempt"], a["outcome"]) for a in tries] == [
            (1, "failed"), (1, "failed"), (2, "failed"), (2, "dead"),
        ]  # fmt: skip
        assert {a["http_status"] for a in tries} == {503}
        assert all("503" in a["error"] and a["error_kind"] == "transient" for a in tries)
        assert tries == sorted(tries, key=lambda a: a["at"])

        provincial[0].outage(0)
        assert hub.replay(actor="web:alice", ids=[dead["id"]]) == 1
        assert hub.dispatch().sent == 1
        after = hub.store.outbox.attempts(dead["id"])
        assert after[:4] == tries  # the earlier tries are still there
        replayed, sent = after[4:]
        assert (replayed["outcome"], replayed["actor"], replayed["attempt"]) == (
            "replayed", "web:alice", 2,
        )  # fmt: skip
        assert (sent["outcome"], sent["attempt"], sent["http_status"]) == ("sent", 1, 200)
        [row] = hub.store.outbox.deliveries(ids=[dead["id"]])
        assert sent["receipt_id"] == row["receipt_id"] and row["attempts"] == 1
    finally:
        hub.close()


def test_a_refusal_before_sending_is_a_try_without_http_status(hub: Hub) -> None:
    """A delivery that never reached the platform says so: no HTTP status, the reason kept."""
    hub.config.parks[0].__dict__["division_code"] = "110101"  # outside Zhejiang: refused
    hub.build_reports(PERIOD, allow_empty=True)
    assert hub.dispatch().dead == 1
    [dead] = hub.store.outbox.deliveries(status=["dead"])
    [attempt] = hub.store.outbox.attempts(dead["id"])
    assert (attempt["outcome"], attempt["http_status"], attempt["error_kind"]) == (
        "dead", None, "permanent",
    )  # fmt: skip
    assert "divisionCode" in attempt["error"]
