"""What every suite of the kit shares: sample files named after their case, adapters made as
the hub makes them, and placeholder values for secrets a test environment does not set."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from parkhub.adapters.vendors.base import SourceContext, VendorAdapter
from parkhub.canonical import jsonutil


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample file: the stream it is a message of, the case it exercises, its bytes."""

    stream: str
    case: str
    body: bytes
    path: Path

    @property
    def bad(self) -> bool:
        return self.case.startswith("bad_")

    def expected(self) -> Any:
        """The pinned canonical documents, or None."""
        path = self.path.with_name(f"{self.path.stem}.expected.json")
        return jsonutil.loads(path.read_bytes()) if path.exists() else None


def load_samples(
    folder: Path, *, stream: str | None = None, read: Callable[[Path], bytes] = Path.read_bytes
) -> list[Sample]:
    """Every sample file in `folder` (expected files and notes excluded); files named without
    a stream (`<case>.<ext>`) are samples of `stream`, if given."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.endswith(".expected.json") or path.suffix == ".md":
            continue
        first, _, case = path.stem.partition(".")
        if not case and stream is not None:
            first, case = stream, first
        out.append(Sample(first, case or path.stem, read(path), path))
    return out


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("env:"):
        yield value[4:]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _references(item)


@contextlib.contextmanager
def placeholder_secrets(*configs: Mapping[str, Any] | None) -> Iterator[None]:
    """While the block runs, every `env:NAME` in `configs` that the environment does not set
    holds a placeholder (`kit-placeholder-name`), so a suite runs without secrets set; a test
    that needs the real value (a captured, signed push) sets it itself."""
    names = {n for cfg in configs for n in _references(cfg) if n not in os.environ}
    for name in names:
        os.environ[name] = f"kit-placeholder-{name.lower()}"
    try:
        yield
    finally:
        for name in names:
            os.environ.pop(name, None)


class AdapterCase:
    """An adapter class, its config and its park: made as the hub makes them."""

    adapter: ClassVar[type[VendorAdapter[Any]]]
    """The adapter class under test."""
    config: ClassVar[Mapping[str, Any]]
    """Its `config:` block (`env:NAME` secrets the environment does not set get placeholders)."""
    park_id: ClassVar[str] = "conformance-park"
    """The park the source belongs to."""

    @property
    def source(self) -> SourceContext:
        return SourceContext(f"{self.adapter.name}-test", self.park_id)

    def config_model(self, config: Mapping[str, Any] | None = None) -> BaseModel:
        data = dict(self.config if config is None else config)
        with placeholder_secrets(data):
            return self.adapter.config_model.model_validate(data)

    def make(
        self, config: Mapping[str, Any] | None = None, *, http: httpx.Client | None = None
    ) -> VendorAdapter[Any]:
        """The adapter with `config` (default: the suite's), optionally on the client `http`."""
        return self.adapter(self.source, self.config_model(config), http=http)
