"""OneNET history pulls: the old platform's datapoints API and Studio's
QueryDevicePropertyHistory, resumable from a per-series cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import Any, ClassVar

from parkhub.adapters.vendors.base import RawBatch, RawMessage
from parkhub.adapters.vendors.iot import IotAdapter, json_object
from parkhub.canonical.jsonutil import dumps, dumps_str
from parkhub.canonical.timeutil import format_local, from_epoch_ms, parse_local, to_epoch_ms
from parkhub.errors import SourceError
from parkhub.protocols.onenet import api_token

from .config import OneNetConfig, OneNetPullTarget

_LOCAL_QUERY = "%Y-%m-%dT%H:%M:%S"

Points = Iterator[tuple[list[Any], list[int]]]
"""Pages of one series: the points as the API gave them and their times in ms."""
Fetch = Callable[[OneNetPullTarget, str, int, dt.datetime], Points]


class OneNetPulls(IotAdapter[OneNetConfig]):
    """The pull half of the OneNET adapter."""

    vendor_label: ClassVar[str] = "OneNET"
    _auth: tuple[int, str] | None = None
    """The Studio API token and when it expires (one per adapter, renewed before that)."""

    def check(self) -> None:
        """Fetch one page of the first configured series of each pull API."""
        now = self._clock()
        hour_ago = to_epoch_ms(now) - 3_600_000
        if self.config.datapoints:
            target = self.config.datapoints[0]
            next(self._fetch_datapoints(target, target.keys[0], hour_ago, now), None)
        if self.config.property_history:
            target = self.config.property_history[0]
            next(self._fetch_history(target, target.keys[0], hour_ago, now), None)

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        """Pull history after `cursor`.

        The cursor is JSON `{"<device>|<key>": [last_ms, n]}`: the newest timestamp already
        yielded per series and how many points at exactly that millisecond were yielded. A
        resumed pull re-queries from that time and skips those n points, so a crash between
        pages neither skips nor repeats a point (vendor paging cursors are not kept: they
        only live within one query).
        """
        fetch: Fetch
        if stream == "datapoints":
            targets, fetch = self.config.datapoints, self._fetch_datapoints
        elif stream == "property_history":
            targets, fetch = self.config.property_history, self._fetch_history
        else:
            raise SourceError(f"[{self.source.name}] 未知的数据流 (unknown stream {stream!r})")
        state: dict[str, list[int]] = self.load_cursor(stream, cursor, _valid_series)
        now = self._clock()
        since_ms = to_epoch_ms(self.pull_start(now)) - 1
        for target in targets:
            for key in target.keys:
                series = f"{target.device}|{key}"
                last, n = state.get(series, (since_ms, 0))
                for fresh, position in _fresh(fetch(target, key, last, now), last, n):
                    state[series] = position
                    body = dumps(
                        {"api": stream, "device": target.device, "key": key, "points": fresh}
                    )
                    yield RawBatch(
                        RawMessage(self.source.name, stream, body, meta={"series": series}),
                        dumps_str(state),
                    )

    def _get(self, url: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        response = self.call("GET", url, "接口", params=params, headers=headers)
        doc = json_object(response)
        if response.status_code >= 400 or doc is None:
            detail = _error_detail(doc) if doc is not None else response.text[:200]
            hint = (
                "; 请检查 api_key/access_key/token_res 与服务器时间 "
                "(check the credentials and the clock)"
                if response.status_code in (401, 403)
                else ""
            )
            raise SourceError(
                f"[{self.source.name}] OneNET 接口请求失败 (OneNET API answered HTTP "
                f"{response.status_code} for {url}: {detail}){hint}"
            )
        return doc

    def _fetch_datapoints(
        self, target: OneNetPullTarget, key: str, last_ms: int, now: dt.datetime
    ) -> Points:
        assert self.config.api_key is not None
        url = f"{self.config.api_base}/devices/{target.device}/datapoints"
        params: dict[str, Any] = {
            "datastream_id": key,
            # `start` has whole seconds: the points already seen in that second are skipped
            "start": format_local(from_epoch_ms(max(last_ms, 0)), _LOCAL_QUERY),
            "end": format_local(now + dt.timedelta(seconds=1), _LOCAL_QUERY),
            "limit": self.config.page_size,
            "sort": "ASC",
        }
        headers = {"api-key": self.config.api_key.get_secret_value()}
        while True:
            doc = self._get(url, params, headers)
            if doc.get("errno") != 0:
                raise SourceError(
                    f"[{self.source.name}] OneNET 数据点查询失败 (datapoints query for device "
                    f"{target.device} failed: errno {doc.get('errno')} {doc.get('error')!r}; "
                    "check api_key and the device id)"
                )
            data = doc.get("data") or {}
            points: list[Any] = []
            for stream in data.get("datastreams") or ():
                if stream.get("id") == key:
                    points.extend(stream.get("datapoints") or ())
            times = [to_epoch_ms(parse_at(p["at"])) for p in points]
            _check_sorted(self.source.name, target.device, key, times)
            yield points, times
            vendor_cursor = data.get("cursor")
            if not vendor_cursor or not points:
                return
            params["cursor"] = vendor_cursor

    def _studio_token(self) -> str:
        now_s = int(self._clock().timestamp())
        if self._auth is not None and self._auth[0] - now_s > 60:
            return self._auth[1]
        assert self.config.access_key is not None and self.config.token_res is not None
        et = now_s + self.config.token_ttl_s
        token = api_token(
            self.config.access_key.get_secret_value(),
            self.config.token_res,
            et,
            self.config.token_method,
            self.config.token_version,
        )
        self._auth = (et, token)
        return token

    def _fetch_history(
        self, target: OneNetPullTarget, key: str, last_ms: int, now: dt.datetime
    ) -> Points:
        limit = min(self.config.page_size, 100)
        params: dict[str, Any] = {
            "action": "QueryDevicePropertyHistory",
            "version": 1,
            "project_id": self.config.project_id,
            "product_id": target.product_id or self.config.product_id,
            "device_name": target.device,
            "identifier": key,
            "start_time": max(last_ms, 0),
            "end_time": to_epoch_ms(now),
            "offset": 0,
            "limit": limit,
            "sort": 1,
        }
        url = f"{self.config.studio_base}/application"
        while True:
            doc = self._get(url, params, {"authorization": self._studio_token()})
            if doc.get("success") is not True:
                raise SourceError(
                    f"[{self.source.name}] OneNET Studio 查询失败，请检查 access_key/token_res "
                    f"与服务器时间 (QueryDevicePropertyHistory for {target.device}/{key} "
                    f"failed: {_error_detail(doc)})"
                )
            points = list((doc.get("data") or {}).get("list") or ())
            times = [int(p["time"]) for p in points]
            _check_sorted(self.source.name, target.device, key, times)
            yield points, times
            if len(points) < limit:
                return
            params["offset"] += len(points)


def _fresh(pages: Points, last: int, n: int) -> Iterator[tuple[list[Any], list[int]]]:
    """The points of each page not yielded before, with the series' cursor after them.

    The query restarts at `last`: what is older is skipped, and the n points at `last` that
    were yielded before."""
    floor, skip = last, n
    for points, times in pages:
        fresh: list[Any] = []
        for point, ms in zip(points, times, strict=True):
            if ms < floor:
                continue
            if ms == floor and skip > 0:
                skip -= 1
                continue
            fresh.append(point)
            last, n = (last, n + 1) if ms == last else (ms, 1)
        if fresh:
            yield fresh, [last, n]


def _valid_series(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(i, int) for i in value)


def parse_at(text: str) -> dt.datetime:
    """The old API's `at`: Beijing local time, with or without milliseconds."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return parse_local(text, fmt)


def _check_sorted(source: str, device: str, key: str, times: list[int]) -> None:
    if any(a > b for a, b in pairwise(times)):
        raise SourceError(
            f"[{source}] OneNET 返回的数据未按时间升序排列 (history of {device}/{key} is not in "
            "ascending time order; the cursor would be unsafe)"
        )


def _error_detail(doc: Mapping[str, Any]) -> str:
    code = next((doc[k] for k in ("errno", "code", "errorCode", "error_code") if k in doc), None)
    msg = next((doc[k] for k in ("error", "msg", "errorMessage", "message") if k in doc), None)
    return f"code {code!r} {msg!r}"
