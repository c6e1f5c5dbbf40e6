"""The park of every rule test: a real store (SQLite and PostgreSQL) with ingest as the hub
wires it."""

from __future__ import annotations

import pytest

from parkhub.store import Store
from tests.ingest.support import Park, config, make_park


@pytest.fixture
def park(store: Store) -> Park:
    return make_park(store, config())
