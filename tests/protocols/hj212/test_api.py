"""The public surface of parkhub.protocols.hj212 is exactly its `__all__`."""

from __future__ import annotations

from types import ModuleType

import parkhub.protocols.hj212 as hj212


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(hj212).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert set(hj212.__all__) == public
    assert len(hj212.__all__) == len(set(hj212.__all__))
    assert all(getattr(hj212, name) is not None for name in hj212.__all__)
