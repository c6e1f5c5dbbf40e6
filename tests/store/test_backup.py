"""Backups: `parkhub backup` copies the SQLite database while parkhub works in it, and a restored
backup resumes without loss or duplicate sends.

What was queued when the backup was taken is sent again after the restore (the backup does not
know it was sent), with the same idempotency keys: the platform keeps one effect each and answers
with the receipt it gave the first time, so the restored outbox ends with the receipts the
platform holds. What was sent before the backup is not sent again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from tests.helpers import PERIOD, make_config


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _sent(hub: Hub) -> dict[str, str]:
    """The outbox's sent deliveries: idempotency key -> receipt."""
    rows = hub.store.outbox.deliveries(limit=10_000)
    return {r["idempotency_key"]: r["receipt_id"] for r in rows if r["status"] == "sent"}


def test_a_restored_backup_resumes_without_loss_or_duplicate_sends(
    tmp_path: Path,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
) -> None:
    sim = provincial[0]
    url = f"sqlite:///{tmp_path / 'parkhub.db'}"
    config = make_config(qisheng[1].url, provincial[1].url, url)
    cfg = tmp_path / "parkhub.yaml"
    cfg.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")

    hub = Hub.open(config, url=url)
    hub.sync()  # the roster: queued and sent before the backup
    before = hub.dispatch().sent
    assert before > 0
    hub.build_reports(PERIOD)  # the month's report: queued when the backup is taken
    queued = hub.store.outbox.status_counts()["provincial"]["pending"]
    _cli("backup", str(tmp_path / "b.db"), "--config", str(cfg))  # the hub still open
    assert hub.dispatch().sent == queued  # sent after the backup, then the disk is lost
    sent_first = _sent(hub)
    hub.close()
    assert len(sim.accepted) == before + queued

    _cli("restore", str(tmp_path / "b.db"), "--config", str(cfg), "--yes")
    hub = Hub.open(config, url=url)
    try:
        assert hub.store.outbox.status_counts()["provincial"]["pending"] == queued
        assert hub.dispatch().sent == queued  # resumed: nothing lost ...
        assert hub.store.outbox.status_counts()["provincial"] == {"sent": before + queued}
        # ... and nothing twice: one effect a key, the repeats answered with the first receipt
        assert len(sim.accepted) == before + queued and sim.duplicates == queued
        assert _sent(hub) == sent_first == {k: a.receipt for k, a in sim.accepted.items()}
    finally:
        hub.close()


def test_backup_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    """PostgreSQL is backed up with pg_dump; an existing file is not overwritten unasked."""
    pg = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "postgresql://u@127.0.0.1/x")
    cfg = tmp_path / "pg.yaml"
    cfg.write_text(yaml.safe_dump(pg.model_dump(mode="json")), encoding="utf-8")
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "b.db"), "--config", str(cfg)])
    assert result.exit_code != 0 and "pg_dump" in str(result.exception or result.output)

    url = f"sqlite:///{tmp_path / 'p.db'}"
    lite = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", url)
    Hub.open(lite, url=url).close()
    cfg.write_text(yaml.safe_dump(lite.model_dump(mode="json")), encoding="utf-8")
    (tmp_path / "taken.db").write_bytes(b"keep me")
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "taken.db"), "--config", str(cfg)])
    assert result.exit_code != 0
    assert (tmp_path / "taken.db").read_bytes() == b"keep me"


@pytest.fixture(autouse=True)
def _no_env_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARKHUB_DATABASE_URL", raising=False)
