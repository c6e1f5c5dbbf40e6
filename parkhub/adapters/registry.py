"""Which adapters exist: the built-ins, plus those that installed packages declare as entry points
(groups `parkhub.vendors` and `parkhub.platforms`), and where each comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from pydantic import BaseModel

from parkhub.adapters.platforms.base import Platform
from parkhub.adapters.vendors.base import VendorAdapter
from parkhub.errors import ConfigError

BUILTIN = "built-in"
CAPABILITIES = ("pull", "push", "listen", "file")  # the order `parkhub adapters` shows them in


@dataclass(frozen=True)
class _Kind:
    """One kind of adapter: its entry-point group, its built-ins and the class each must be."""

    kind: str
    group: str
    builtin: Mapping[str, str]
    base: type
    unknown: str  # the operator's word for an unknown name


VENDORS = _Kind(
    "vendor",
    "parkhub.vendors",
    {
        "qisheng": "parkhub.adapters.vendors.qisheng:QishengAdapter",
        "onenet": "parkhub.adapters.vendors.onenet:OneNetAdapter",
        "ctwing": "parkhub.adapters.vendors.ctwing:CtwingAdapter",
        "hj212": "parkhub.adapters.vendors.hj212:Hj212Adapter",
        "manual": "parkhub.adapters.vendors.manual:ManualAdapter",
        "rest": "parkhub.adapters.vendors.rest:RestAdapter",
    },
    VendorAdapter,
    "未知的厂商适配器 (unknown vendor",
)
PLATFORMS = _Kind(
    "platform",
    "parkhub.platforms",
    {
        "provincial": "parkhub.adapters.platforms.provincial:ProvincialPlatform",
        "ecology": "parkhub.adapters.platforms.ecology:EcologyPlatform",
        "econ": "parkhub.adapters.platforms.econ:EconPlatform",
        "safety": "parkhub.adapters.platforms.safety:SafetyPlatform",
        "fire": "parkhub.adapters.platforms.fire:FirePlatform",
        "stats": "parkhub.adapters.platforms.stats:StatsPlatform",
    },
    Platform,
    "未知的平台 (unknown platform",
)


@dataclass(frozen=True)
class _Ref:
    """Where a name points (`module:Class`); the distribution declaring it (None: built-in)."""

    value: str
    distribution: str | None = None
    version: str | None = None

    @property
    def origin(self) -> str:
        return _origin(self.distribution, self.version)


@dataclass(frozen=True)
class AdapterInfo:
    """One installed adapter as `parkhub adapters` lists it."""

    kind: str
    """`vendor` or `platform`."""
    name: str
    """The name parkhub.yaml uses (`vendor: qisheng`, `type: provincial`)."""
    ref: str
    """Where its class is: `module:Class`."""
    distribution: str | None = None
    """The installed distribution that declares it; None for a built-in."""
    version: str | None = None
    capabilities: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    error: str | None = None
    """Why it failed to load (the adapter is unusable); None when it loads."""
    config_model: type[BaseModel] | None = field(default=None, compare=False, repr=False)
    """The model of its `config:` block (None when broken)."""
    documents: Mapping[str, type[BaseModel]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The models of other files it reads (the REST vendor's `spec`), by name."""

    @property
    def origin(self) -> str:
        """`built-in`, or the distribution and its version."""
        return _origin(self.distribution, self.version)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "origin": self.origin,
            "distribution": self.distribution,
            "version": self.version,
            "ref": self.ref,
            "capabilities": list(self.capabilities),
            "streams": list(self.streams),
            "reports": list(self.reports),
            "error": self.error,
        }


def _origin(distribution: str | None, version: str | None) -> str:
    return BUILTIN if distribution is None else " ".join(filter(None, (distribution, version)))


def _refs(kind: _Kind, *, plugins: bool = True) -> dict[str, _Ref]:
    found = {name: _Ref(value) for name, value in kind.builtin.items()}
    if plugins:
        for ep in entry_points(group=kind.group):
            dist = ep.dist
            found[ep.name] = _Ref(
                ep.value, dist.name if dist else "?", dist.version if dist else None
            )
    return found


def _load(kind: _Kind, name: str, ref: _Ref) -> type:
    """The class `ref` names; ConfigError naming the name and its origin when it cannot be had."""
    try:
        obj = EntryPoint(name, ref.value, kind.group).load()
    except Exception as exc:  # a plugin's import can fail in any way; say how
        raise ConfigError(
            f"{kind.kind} {name!r} ({ref.origin}) 无法加载 (cannot load {ref.value}: "
            f"{type(exc).__name__}: {exc})"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, kind.base)):
        raise ConfigError(f"{ref.value} is not a {kind.base.__name__}")
    return obj


def _class(kind: _Kind, name: str) -> type:
    refs = _refs(kind)
    ref = refs.get(name) or (_Ref(name) if ":" in name else None)
    if ref is None:
        raise ConfigError(f"{kind.unknown} {name!r}; known: {', '.join(refs)})")
    return _load(kind, name, ref)


def vendor_names(*, plugins: bool = True) -> list[str]:
    """Vendor adapter names; `plugins=False`: the built-ins only."""
    return sorted(_refs(VENDORS, plugins=plugins))


def platform_names(*, plugins: bool = True) -> list[str]:
    """Platform names; `plugins=False`: the built-ins only."""
    return sorted(_refs(PLATFORMS, plugins=plugins))


def vendor_class(name: str) -> type[VendorAdapter[Any]]:
    """Find a vendor adapter by registry name, entry point (parkhub.vendors) or module:Class."""
    return cast(type[VendorAdapter[Any]], _class(VENDORS, name))


def platform_class(name: str) -> type[Platform[Any]]:
    """Find a platform by registry name, entry point (parkhub.platforms) or module:Class."""
    return cast(type[Platform[Any]], _class(PLATFORMS, name))


def installed(*, plugins: bool = True) -> list[AdapterInfo]:
    """Every vendor adapter, then every platform, by name, each with its origin; one that fails
    to load is listed with the reason instead of its capabilities. `plugins=False`: built-ins."""
    out = []
    for kind in (VENDORS, PLATFORMS):
        for name, ref in sorted(_refs(kind, plugins=plugins).items()):
            out.append(_info(kind, name, ref))
    return out


def _info(kind: _Kind, name: str, ref: _Ref) -> AdapterInfo:
    info = AdapterInfo(kind.kind, name, ref.value, ref.distribution, ref.version)
    try:
        cls = _load(kind, name, ref)
    except ConfigError as exc:
        return replace(info, error=str(exc))
    if kind is VENDORS:
        vendor = cast(type[VendorAdapter[Any]], cls)
        caps = tuple(c for c in CAPABILITIES if c in vendor.capabilities)
        caps += tuple(sorted(set(vendor.capabilities) - set(CAPABILITIES)))
        return replace(
            info,
            capabilities=caps,
            streams=vendor.streams,
            config_model=vendor.config_model,
            documents=dict(vendor.documents),
        )
    platform = cast(type[Platform[Any]], cls)
    return replace(info, reports=tuple(platform.reports), config_model=platform.config_model)
