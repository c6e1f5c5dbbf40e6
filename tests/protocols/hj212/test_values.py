"""HJ 212 factor values as numbers (codec.parse_value, Cp.number)."""

from __future__ import annotations

import pytest

from parkhub.protocols.hj212.codec import Cp, FrameError, parse_value


def test_plain_values() -> None:
    assert parse_value("12.5") == 12.5 and parse_value("-0.001") == -0.001


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "NaN", "1e400", "Infinity"])
def test_values_no_measurement_can_be_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        parse_value(text)
    cp = Cp.parse(f"DataTime=20260301100000;w01018-Rtd={text},w01018-Flag=N")
    with pytest.raises(FrameError, match="not a finite number"):
        cp.number("w01018")
