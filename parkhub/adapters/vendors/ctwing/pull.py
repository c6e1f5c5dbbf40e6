"""CTWing device-status history pulls, signed with the application's key and paged from the
newest record back, resumable from a per-device window cursor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from parkhub.adapters.vendors.base import RawBatch, RawMessage
from parkhub.adapters.vendors.iot import IotAdapter, json_object
from parkhub.canonical.jsonutil import dumps, dumps_str
from parkhub.canonical.timeutil import to_epoch_ms
from parkhub.errors import SourceError
from parkhub.protocols.ctwing import signature

from .config import CtwingConfig, CtwingPullTarget

HIS_PAGE_PATH = "/aep_device_status/getDeviceStatusHisInPage"
HIS_PAGE_VERSION = "20190928013337"


class CtwingPulls(IotAdapter[CtwingConfig]):
    """The pull half of the CTWing adapter."""

    vendor_label: ClassVar[str] = "CTWing"

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        """Pull device status history after `cursor`.

        CTWing pages from the newest record back (`page_timestamp`). The cursor is JSON
        `{"<deviceId>": {"w": ms}}` once a window is done (everything up to `w` is in), or
        `{"w": ms, "e": ms, "p": page_timestamp}` while window (w, e] is being paged: a resumed
        pull continues that window from vendor position `p`, then starts the next at e + 1 ms.
        """
        if stream != "device_status":
            raise SourceError(f"[{self.source.name}] 未知的数据流 (unknown stream {stream!r})")
        if not self.config.devices:
            return
        state = self.load_cursor(stream, cursor, _valid_window)
        offset = self._time_offset()
        server_now = to_epoch_ms(self._clock()) + offset
        since_ms = to_epoch_ms(self.pull_start(self._clock())) - 1
        for target in self.config.devices:
            window = state.get(target.device_id) or {"w": since_ms}
            for message, position in self._pages(target, window, server_now, offset):
                state[target.device_id] = position
                if message is not None:
                    yield RawBatch(message, dumps_str(state))

    def _pages(
        self, target: CtwingPullTarget, window: dict[str, Any], server_now: int, offset: int
    ) -> Iterator[tuple[RawMessage | None, dict[str, Any]]]:
        """One device's window (w, e], page by page: each page as a raw message (None when
        it has no items) and the device's cursor after it."""
        w = int(window["w"])
        end = int(window.get("e") or server_now)
        page_ts: str | None = window.get("p")
        if end <= w:
            return
        while True:
            body = self._query(target, w + 1, end, self.config.page_size)
            if page_ts:
                body["page_timestamp"] = page_ts
            doc = self._post(HIS_PAGE_PATH, HIS_PAGE_VERSION, body, offset, target.device_id)
            items = doc.get("deviceStatusList") or []
            nxt = doc.get("page_timestamp") or None
            done = not nxt or not items or nxt == page_ts
            position = {"w": end} if done else {"w": w, "e": end, "p": nxt}
            message = None
            if items:
                envelope = {
                    "api": "device_status",
                    "device": target.device_id,
                    "product_id": body["productId"],
                    "request": body,
                    "items": items,
                }
                meta = {"device": target.device_id}
                message = RawMessage(self.source.name, "device_status", dumps(envelope), meta=meta)
            yield message, position
            if done:
                return
            page_ts = str(nxt)

    def check(self) -> None:
        """Read the gateway clock and query one record of the first configured device."""
        offset = self._time_offset()
        if self.config.devices:
            target = self.config.devices[0]
            end = to_epoch_ms(self._clock()) + offset
            body = self._query(target, end - 3_600_000, end, 1)
            self._post(HIS_PAGE_PATH, HIS_PAGE_VERSION, body, offset, target.device_id)

    def _query(self, target: CtwingPullTarget, begin: int, end: int, size: int) -> dict[str, Any]:
        return {
            "productId": target.product_id or self.config.product_id or "",
            "deviceId": target.device_id,
            "begin_timestamp": str(begin),
            "end_timestamp": str(end),
            "page_size": size,
        }

    def _time_offset(self) -> int:
        """Server time minus ours in ms, from the gateway's `x-ag-timestamp` echo header."""
        url = f"{self.config.api_base}/echo"
        start = time.monotonic()
        response = self.call("GET", url, "网关")
        end = time.monotonic()
        header = response.headers.get("x-ag-timestamp")
        if header is None or not header.isdigit():
            raise SourceError(
                f"[{self.source.name}] CTWing /echo 未返回 x-ag-timestamp "
                f"(no x-ag-timestamp header from {url}, HTTP {response.status_code})"
            )
        local = to_epoch_ms(self._clock()) - int((end - start) * 500)  # the round trip's middle
        return int(header) - local

    def _post(
        self, path: str, version: str, body: dict[str, Any], offset: int, device: str
    ) -> dict[str, Any]:
        assert self.config.app_key is not None and self.config.app_secret is not None
        content = dumps(body)
        ts = to_epoch_ms(self._clock()) + offset
        headers = {
            "application": self.config.app_key,
            "timestamp": str(ts),
            "version": version,
            "signature": signature(
                self.config.app_key,
                self.config.app_secret.get_secret_value(),
                ts,
                {},
                content,
            ),
            "Content-Type": "application/json; charset=UTF-8",
        }
        url = f"{self.config.api_base}{path}"
        response = self.call("POST", url, "接口", content=content, headers=headers)
        doc = json_object(response)
        if response.status_code >= 400 or doc is None or doc.get("code") != 0:
            detail = (
                f"code {doc.get('code')!r} {doc.get('msg') or doc.get('desc')!r}"
                if doc is not None
                else response.text[:200]
            )
            hint = (
                "; 请检查 app_key/app_secret 与服务器时间 (check app_key/app_secret and clocks)"
                if response.status_code in (401, 403)
                else ""
            )
            raise SourceError(
                f"[{self.source.name}] CTWing 查询设备 {device} 历史失败 (history query for "
                f"device {device} failed: HTTP {response.status_code}, {detail}){hint}"
            )
        return doc


def _valid_window(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("w"), int)
