"""The net under every parser: no canonical record holds infinity or NaN (JSON would carry them
as null, so a value would silently become "not entered")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parkhub.canonical import EnterpriseMonthly, Measurement
from parkhub.canonical.units import exact_limit
from parkhub.sandbox.data import credit_code


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_no_record_holds_infinity_or_nan(value: float) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        EnterpriseMonthly(
            park_id="p1", credit_code=credit_code("330302", 1), period="2026-10", tax_yuan=value
        )
    with pytest.raises(ValidationError, match="finite number"):
        Measurement.model_validate(
            {"park_id": "p1", "device_id": "d", "metric": "m", "ts": "2026-10-01T00:00:00Z",
             "value": value}
        )  # fmt: skip


def test_the_exactness_bound_of_each_precision() -> None:
    """15 significant digits survive a float: money to the fen below 10^13 yuan."""
    assert exact_limit(2) == 1e13 and exact_limit(3) == 1e12 and exact_limit(0) == 1e15
    below = 9_999_999_999_999.99
    assert float(repr(below)) == below and f"{below:.2f}" == "9999999999999.99"
