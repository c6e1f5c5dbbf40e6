"""The vendor suite's push checks fail an adapter that takes stale or replayed pushes wrong, and
suites run without the secrets their configs name."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from parkhub.adapters.vendors.base import Parsed, RawMessage
from parkhub.sandbox.onenet_sim import DEMO_TOKEN
from parkhub.testing import placeholder_secrets
from tests.adapters import test_conformance as conformance


def test_the_kit_catches_a_push_adapter_that_takes_stale_pushes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Trusting(conformance.TestOneNet):
        fresh_config: ClassVar[dict[str, Any]] = {
            **conformance.TestOneNet.config,
            "push_max_age_s": None,
        }

    monkeypatch.setenv("CONFORMANCE_ONENET_TOKEN", DEMO_TOKEN)
    with pytest.raises(AssertionError, match="a stale push is accepted"):
        Trusting().test_a_stale_push_is_refused()


def test_a_push_suite_says_how_to_prove_freshness() -> None:
    class Silent(conformance.TestAcmePlugin):
        pushes_carry_no_time = False

    with pytest.raises(AssertionError, match=r"write stale_push\(body\)"):
        Silent().test_a_stale_push_is_refused()


def test_the_kit_catches_a_push_that_makes_other_records_when_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = itertools.count()

    class Counting(conformance.TestAcmePlugin.adapter):  # type: ignore[name-defined,misc]
        def parse(self, raw: RawMessage) -> Iterator[Parsed]:
            for item in super().parse(raw):
                yield item.model_copy(update={"device_id": f"acme:{next(counter)}"})

    class Suite(conformance.TestAcmePlugin):
        adapter = Counting

    monkeypatch.setenv("CONFORMANCE_SECRET", "not-a-real-secret")
    with pytest.raises(AssertionError, match="a replayed push must make the same records"):
        Suite().test_a_replayed_push_is_harmless()


def test_secrets_a_test_environment_does_not_set_get_placeholders_for_the_block() -> None:
    name = "KIT_NEVER_SET_ANYWHERE"
    assert name not in os.environ
    with placeholder_secrets({"token": f"env:{name}", "nested": [{"x": "env:HOME"}]}):
        assert os.environ[name] == "kit-placeholder-kit_never_set_anywhere"
        assert os.environ["HOME"] != "kit-placeholder-home"  # what is set stays as it is
    assert name not in os.environ
