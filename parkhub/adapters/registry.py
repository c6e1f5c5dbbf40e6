"""Which adapters exist: the built-ins, plus those that installed packages declare as entry points
(groups `parkhub.vendors` and `parkhub.platforms`)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from parkhub.adapters.platforms.base import Platform
from parkhub.adapters.vendors.base import VendorAdapter
from parkhub.errors import ConfigError

_BUILTIN_VENDORS = {
    "qisheng": "parkhub.adapters.vendors.qisheng:QishengAdapter",
    "onenet": "parkhub.adapters.vendors.onenet:OneNetAdapter",
    "ctwing": "parkhub.adapters.vendors.ctwing:CtwingAdapter",
    "hj212": "parkhub.adapters.vendors.hj212:Hj212Adapter",
    "manual": "parkhub.adapters.vendors.manual:ManualAdapter",
}
_BUILTIN_PLATFORMS = {
    "provincial": "parkhub.adapters.platforms.provincial:ProvincialPlatform",
    "ecology": "parkhub.adapters.platforms.ecology:EcologyPlatform",
    "econ": "parkhub.adapters.platforms.econ:EconPlatform",
    "safety": "parkhub.adapters.platforms.safety:SafetyPlatform",
    "fire": "parkhub.adapters.platforms.fire:FirePlatform",
    "stats": "parkhub.adapters.platforms.stats:StatsPlatform",
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    mod = __import__(module, fromlist=[attr])
    return getattr(mod, attr)


def _registry(group: str, builtin: Mapping[str, str]) -> dict[str, str]:
    found = dict(builtin)
    for ep in entry_points(group=group):
        found[ep.name] = ep.value
    return found


def vendor_names() -> list[str]:
    return sorted(_registry("parkhub.vendors", _BUILTIN_VENDORS))


def platform_names() -> list[str]:
    return sorted(_registry("parkhub.platforms", _BUILTIN_PLATFORMS))


def vendor_class(name: str) -> type[VendorAdapter[Any]]:
    """Find a vendor adapter by registry name, entry point (parkhub.vendors) or module:Class."""
    refs = _registry("parkhub.vendors", _BUILTIN_VENDORS)
    ref = refs.get(name, name if ":" in name else None)
    if ref is None:
        raise ConfigError(f"未知的厂商适配器 (unknown vendor {name!r}; known: {', '.join(refs)})")
    cls = _load(ref)
    if not (isinstance(cls, type) and issubclass(cls, VendorAdapter)):
        raise ConfigError(f"{ref} is not a VendorAdapter")
    return cls


def platform_class(name: str) -> type[Platform[Any]]:
    """Find a platform by registry name, entry point (parkhub.platforms) or module:Class."""
    refs = _registry("parkhub.platforms", _BUILTIN_PLATFORMS)
    ref = refs.get(name, name if ":" in name else None)
    if ref is None:
        raise ConfigError(f"未知的平台 (unknown platform {name!r}; known: {', '.join(refs)})")
    cls = _load(ref)
    if not (isinstance(cls, type) and issubclass(cls, Platform)):
        raise ConfigError(f"{ref} is not a Platform")
    return cls
