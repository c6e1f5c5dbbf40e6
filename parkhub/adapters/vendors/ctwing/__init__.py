"""China Telecom CTWing (AEP): subscription pushes and device-status history pulls."""

from parkhub.protocols.ctwing import signature

from .adapter import CtwingAdapter
from .appdata import AppDataCodec, AppDataSpec, json_appdata, register_appdata_codec, struct_appdata
from .config import CtwingConfig, CtwingPullTarget

__all__ = [
    "AppDataCodec",
    "AppDataSpec",
    "CtwingAdapter",
    "CtwingConfig",
    "CtwingPullTarget",
    "json_appdata",
    "register_appdata_codec",
    "signature",
    "struct_appdata",
]
