"""What the IoT platform adapters (OneNET, CTWing) share: the pull and device-map settings, the
clock, push refusals, calls to the vendor's API and pull cursors kept as JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import AwareDatetime, Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import PushVerdict, SourceContext, VendorAdapter
from parkhub.canonical.jsonutil import JSONDecodeError, dumps, loads
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError, SourceError

from .devicemap import DeviceMap, DeviceMapper

__all__ = ["IotAdapter", "IotConfig", "http_url", "refuse"]


def http_url(value: str) -> str:
    """An API base URL as configured: http(s) only, no trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("应为 http(s):// 地址 (must be an http(s):// URL)")
    return value.rstrip("/")


class IotConfig(AdapterConfig):
    """The settings every IoT platform source has: where its first pull starts, its devices."""

    pull_since: AwareDatetime | None = Field(None, description="first pull starts here")
    initial_lookback_h: float = Field(24, gt=0, description="else the first pull looks back")
    device_map: DeviceMap = Field(default_factory=DeviceMap)

    def missing(self, names: Sequence[str], targets: Iterable[Any]) -> list[str]:
        """Which of `names` a pull needs but are not set, and `product_id` when a target
        names none and the source neither."""
        out = [name for name in names if getattr(self, name) is None]
        if getattr(self, "product_id", None) is None and any(t.product_id is None for t in targets):
            out.append("product_id")
        return out


IotConfigT = TypeVar("IotConfigT", bound=IotConfig)


def refuse(status: int, reason: str) -> PushVerdict:
    """A refused push, answered with the reason as the vendor's console shows it."""
    return PushVerdict(
        accept=False,
        status_code=status,
        reason=reason,
        response_body=dumps({"code": status, "msg": reason}),
    )


class IotAdapter(VendorAdapter[IotConfigT]):
    """Base of the IoT platform adapters: a device map, a clock (tests set it), the API."""

    vendor_label: ClassVar[str]
    """The platform's name in operator messages (OneNET, CTWing)."""

    def __init__(
        self,
        source: SourceContext,
        config: IotConfigT,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(source, config, http=http)
        self._clock = clock
        self._mapper = DeviceMapper(source.name, self.name, config.device_map, self.build)

    def pull_start(self, now: dt.datetime) -> dt.datetime:
        """Where a pull without a cursor starts."""
        cfg = self.config
        return cfg.pull_since or (now - dt.timedelta(hours=cfg.initial_lookback_h))

    def unknown_stream(self, stream: str) -> InputError:
        return InputError(self.source.name, f"{stream}#raw", None, "未知的数据流 (unknown stream)")

    def call(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        """One request to the vendor's API; `what` names the API in the error."""
        try:
            return self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise SourceError(
                f"[{self.source.name}] {self.vendor_label} {what}无法访问 (cannot reach {url}: "
                f"{exc})"
            ) from exc

    def load_cursor(self, stream: str, cursor: str | None, valid: Callable[[Any], bool]) -> Any:
        """A saved cursor (JSON `{series: state}`), each state checked by `valid`."""
        if not cursor:
            return {}
        try:
            state = loads(cursor)
        except JSONDecodeError:
            state = None
        if not isinstance(state, dict) or not all(valid(v) for v in state.values()):
            raise SourceError(
                f"[{self.source.name}] {stream} 的游标无法识别，请清除后重拉 (the saved cursor of "
                f"stream {stream} is not valid: reset it to pull again from pull_since)"
            )
        return state


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON object a vendor API answered, or None."""
    try:
        doc = loads(response.content)
    except JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None
