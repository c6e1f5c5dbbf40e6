"""What the simulated vendors' push senders share: they send to loopback addresses only, over
one HTTP client (theirs or the caller's)."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

import httpx


def loopback(url: str) -> str:
    """`url`, if it names a loopback host: the sandbox never sends anywhere else."""
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host == "localhost"):
        raise ValueError(f"the sandbox only sends to loopback addresses, not {host!r}")
    return url


class LoopbackSender:
    """Sends to `url` (on 127.0.0.1); closes its client when it made it."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = loopback(url)
        self._client = client or httpx.Client(timeout=5.0)
        self._own = client is None

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
