"""Shared helpers for the HJ 212 tests: the fixture frames in tests/fixtures/hj212."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "hj212"


def load_frame(name: str, *, crlf: bool = True) -> bytes:
    """A fixture frame as wire bytes (files hold one line without CR LF)."""
    data = (FIXTURES / f"{name}.txt").read_bytes().rstrip(b"\r\n")
    return data + b"\r\n" if crlf else data


@pytest.fixture
def frame_bytes() -> Callable[..., bytes]:
    return load_frame
