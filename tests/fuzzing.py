"""What the fuzz tests share: the hypothesis profile (bounded in `make test`, long under
`make chaos`) and strategies for JSON a vendor might send: random documents, and real captured
documents with a few parts broken (a value replaced, a key dropped, a type changed)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile(
    "fuzz",
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
    derandomize=True,  # `make test` runs the same examples every time (and keeps no database)
    database=None,
)
settings.register_profile(
    "fuzz-long",
    settings.get_profile("fuzz"),
    max_examples=1500,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),  # failures tried first
)
LONG = os.environ.get("PARKHUB_CHAOS") == "1"
FUZZ = settings.get_profile("fuzz-long" if LONG else "fuzz")
"""`@FUZZ` on a fuzz test: 40 examples in `make test`, 1,500 under `make chaos`."""
FUZZ_SLOW = settings(FUZZ, max_examples=300 if LONG else 12)
"""`@FUZZ_SLOW` where one example costs tens of milliseconds (a workbook written and read)."""

ODD_NUMBERS = ("1e400", "-1e400", "NaN", "Infinity", "1" * 40, "-0", "0x1F", "1,234.5")
ODD_TEXT = ("", " ", "约300", "null", "2026-13-45", "9" * 30, "\u0000", "𠀀" * 3, "\ud7ff")


@dataclass(frozen=True, slots=True)
class RawNumber:
    """A number written into the JSON text as is (1e400, NaN): what orjson cannot write."""

    text: str

    def __str__(self) -> str:
        return self.text


def plain(value: Any) -> Any:
    """`value` with raw numbers as their text: for YAML and other writers than `dumps`."""
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    | st.sampled_from(ODD_TEXT)
    | st.sampled_from(ODD_NUMBERS).map(RawNumber)
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=16,
)


def dumps(value: Any) -> bytes:
    """JSON text of `value`, raw numbers left bare and integers of any size written out."""
    if isinstance(value, RawNumber):
        return value.text.encode()
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return orjson.dumps(value)
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, list):
        return b"[" + b",".join(dumps(v) for v in value) + b"]"
    if isinstance(value, dict):
        items = (orjson.dumps(str(k)) + b":" + dumps(v) for k, v in value.items())
        return b"{" + b",".join(items) + b"}"
    raise TypeError(type(value))


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*at, i))
    return out


@st.composite
def broken(draw: st.DrawFn, doc: Any) -> Any:
    """`doc` with one to three of its parts replaced, dropped, doubled or retyped."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(json_values)
            continue
        holder: Any = doc
        for part in path[:-1]:
            holder = holder[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "drop", "retype", "wrap"]))
        if action == "drop":
            del holder[key]
        elif action == "retype":
            old = holder[key]
            holder[key] = str(old) if not isinstance(old, str) else draw(leaves)
        elif action == "wrap":
            holder[key] = [holder[key]]
        else:
            holder[key] = draw(json_values)
    return doc


def bodies(*samples: bytes) -> st.SearchStrategy[bytes]:
    """Bodies for a parser of these samples: each broken, random JSON, or random bytes."""
    docs = [orjson.loads(s) for s in samples]
    return (
        st.sampled_from(docs).flatmap(broken).map(dumps)
        | json_values.map(dumps)
        | st.binary(max_size=200)
    )
