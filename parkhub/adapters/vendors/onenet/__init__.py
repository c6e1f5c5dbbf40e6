"""China Mobile OneNET: HTTP pushes (old multi-protocol platform and OneNET Studio, plain or
AES-encrypted) and history pulls (old datapoints API, Studio QueryDevicePropertyHistory)."""

from parkhub.protocols.onenet import api_token, push_signature

from .adapter import OneNetAdapter
from .config import OneNetConfig, OneNetPullTarget

__all__ = [
    "OneNetAdapter",
    "OneNetConfig",
    "OneNetPullTarget",
    "api_token",
    "push_signature",
]
