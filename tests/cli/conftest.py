"""The CLI's commands set up logging for the process they run in (levels, a handler on the
root logger): each test here gets the logging it started with back, so a later test's log
capture sees what it expects."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from parkhub.cli.root import PRINTED


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    names = (*PRINTED, "apscheduler", "alembic")
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in names}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
