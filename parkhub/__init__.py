"""parkhub: one data hub for Zhejiang's small and micro industrial parks (小微企业园).

Vendor platforms, devices and operators in; one canonical model stored once; the provincial
platform and every department out, each on its schedule, with proof of what was sent.

    import parkhub

    hub = parkhub.Hub.open(parkhub.load_config("parkhub.yaml"))
    hub.sync()        # pull every scheduled source
    hub.dispatch()    # send what is due
    hub.close()

Integrators write a `VendorAdapter` or a `Platform` and prove it with `parkhub.testing`.
The names below are the public API; they are imported when first used, so `import parkhub`
stays light and importing one part of the package never loads the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    # the hub and its configuration
    "Hub": "parkhub.hub",
    "HubConfig": "parkhub.config",
    "load_config": "parkhub.config",
    # the canonical model
    "Record": "parkhub.canonical",
    "Park": "parkhub.canonical",
    "Enterprise": "parkhub.canonical",
    "EnterpriseMonthly": "parkhub.canonical",
    "ParkMonthly": "parkhub.canonical",
    "Measurement": "parkhub.canonical",
    "EnvironmentalData": "parkhub.canonical",
    "Event": "parkhub.canonical",
    "EventKind": "parkhub.canonical",
    "Device": "parkhub.canonical",
    # the adapter contracts
    "AdapterConfig": "parkhub.adapters.common",
    "VendorAdapter": "parkhub.adapters.vendors.base",
    "SourceContext": "parkhub.adapters.vendors.base",
    "RawMessage": "parkhub.adapters.vendors.base",
    "RawBatch": "parkhub.adapters.vendors.base",
    "ParseResult": "parkhub.adapters.vendors.base",
    "PushRequest": "parkhub.adapters.vendors.base",
    "PushVerdict": "parkhub.adapters.vendors.base",
    "Platform": "parkhub.adapters.platforms.base",
    "ReportSpec": "parkhub.adapters.platforms.base",
    "Receipt": "parkhub.adapters.platforms.base",
    "Secret": "parkhub.secrets",
    # the errors
    "ParkhubError": "parkhub.errors",
    "ConfigError": "parkhub.errors",
    "InputError": "parkhub.errors",
    "SourceError": "parkhub.errors",
    "MappingError": "parkhub.errors",
    "DeliveryError": "parkhub.errors",
    "TransientDeliveryError": "parkhub.errors",
    "PermanentDeliveryError": "parkhub.errors",
}

__all__ = [
    "AdapterConfig",
    "ConfigError",
    "DeliveryError",
    "Device",
    "Enterprise",
    "EnterpriseMonthly",
    "EnvironmentalData",
    "Event",
    "EventKind",
    "Hub",
    "HubConfig",
    "InputError",
    "MappingError",
    "Measurement",
    "Park",
    "ParkMonthly",
    "ParkhubError",
    "ParseResult",
    "PermanentDeliveryError",
    "Platform",
    "PushRequest",
    "PushVerdict",
    "RawBatch",
    "RawMessage",
    "Receipt",
    "Record",
    "ReportSpec",
    "Secret",
    "SourceContext",
    "SourceError",
    "TransientDeliveryError",
    "VendorAdapter",
    "__version__",
    "load_config",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'parkhub' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on first use
    from parkhub.adapters.common import AdapterConfig
    from parkhub.adapters.platforms.base import Platform, Receipt, ReportSpec
    from parkhub.adapters.vendors.base import (
        ParseResult,
        PushRequest,
        PushVerdict,
        RawBatch,
        RawMessage,
        SourceContext,
        VendorAdapter,
    )
    from parkhub.canonical import (
        Device,
        Enterprise,
        EnterpriseMonthly,
        EnvironmentalData,
        Event,
        EventKind,
        Measurement,
        Park,
        ParkMonthly,
        Record,
    )
    from parkhub.config import HubConfig, load_config
    from parkhub.errors import (
        ConfigError,
        DeliveryError,
        InputError,
        MappingError,
        ParkhubError,
        PermanentDeliveryError,
        SourceError,
        TransientDeliveryError,
    )
    from parkhub.hub import Hub
    from parkhub.secrets import Secret
