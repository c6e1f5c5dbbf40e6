"""China Mobile OneNET: HTTP pushes (old multi-protocol platform and OneNET Studio, plain or
AES-encrypted) and history pulls (old datapoints API, Studio QueryDevicePropertyHistory)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import Any, ClassVar, Literal

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import (
    ParseResult,
    PushRequest,
    PushVerdict,
    RawBatch,
    RawMessage,
    SourceContext,
    VendorAdapter,
)
from parkhub.canonical import EventKind
from parkhub.canonical.jsonutil import JSONDecodeError, dumps, dumps_str, loads
from parkhub.canonical.timeutil import (
    format_local,
    from_epoch_ms,
    parse_local,
    to_epoch_ms,
    utcnow,
)
from parkhub.errors import InputError, SourceError
from parkhub.protocols.onenet import api_token, check_push_signature, push_signature, raw_member
from parkhub.secrets import Secret

from .devicemap import DeviceMap, DeviceMapper, DeviceRef, MapSession

__all__ = [
    "OneNetAdapter",
    "OneNetConfig",
    "OneNetPullTarget",
    "api_token",
    "push_signature",
]

_LOCAL_QUERY = "%Y-%m-%dT%H:%M:%S"


class OneNetPullTarget(BaseModel):
    """One device whose history is pulled, and which of its keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = Field(min_length=1, description="old platform: device id; Studio: deviceName")
    keys: list[str] = Field(
        min_length=1, description="old platform: datastream ids; Studio: property identifiers"
    )
    product_id: str | None = Field(None, description="Studio: overrides the source's product_id")


class OneNetConfig(AdapterConfig):
    """A OneNET account (old platform) or Studio project feeding one park."""

    token: Secret | None = Field(None, description="push token entered in the OneNET console")
    aes_key: Secret | None = Field(
        None,
        description="push AES key: old platform EncodingAESKey (43 chars) or Studio secure-mode "
        "key (16 chars)",
    )
    push_max_age_s: float | None = Field(
        10800,
        gt=0,
        description="Studio: refuse pushes whose `time` is older than this; the default covers "
        "OneNET's 2 h 45 min of retries. null turns the check off",
    )
    api_base: str = Field("https://api.heclouds.com", description="old platform API base URL")
    api_key: Secret | None = Field(None, description="old platform APIKey (api-key header)")
    studio_base: str = Field("https://openapi.heclouds.com", description="Studio API base URL")
    access_key: Secret | None = Field(None, description="Studio access key (base64)")
    token_res: str | None = Field(None, description="Studio token res, e.g. userid/511932")
    token_version: str = "2020-05-29"
    token_method: Literal["md5", "sha1", "sha256"] = "sha1"
    token_ttl_s: int = Field(3600, ge=60, le=86400 * 30)
    project_id: str | None = Field(None, description="Studio project id")
    product_id: str | None = Field(None, description="Studio product id")
    datapoints: list[OneNetPullTarget] = Field(
        default_factory=list, description="old platform devices to pull (stream datapoints)"
    )
    property_history: list[OneNetPullTarget] = Field(
        default_factory=list, description="Studio devices to pull (stream property_history)"
    )
    page_size: int = Field(100, ge=1, le=6000, description="Studio caps it at 100")
    pull_since: AwareDatetime | None = Field(None, description="first pull starts here")
    initial_lookback_h: float = Field(24, gt=0, description="else the first pull looks back")
    device_map: DeviceMap = Field(default_factory=DeviceMap)

    @field_validator("api_base", "studio_base")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("应为 http(s):// 地址 (must be an http(s):// URL)")
        return value.rstrip("/")

    @field_validator("aes_key")
    @classmethod
    def _aes(cls, value: Any) -> Any:
        key = value.get_secret_value() if value is not None else None
        if key is None or len(key) == 16:
            return value
        if len(key) == 43:
            try:
                if len(base64.b64decode(key + "=", validate=True)) == 32:
                    return value
            except binascii.Error:
                pass
        raise ValueError(
            "aes_key 应为 43 位 EncodingAESKey 或 16 位 Studio 密钥 "
            "(aes_key must be a 43-char EncodingAESKey or a 16-char Studio key)"
        )

    @model_validator(mode="after")
    def _pull_needs(self) -> OneNetConfig:
        if self.datapoints and self.api_key is None:
            raise ValueError("拉取 datapoints 需配置 api_key (datapoints needs api_key)")
        if self.property_history:
            missing = [
                name
                for name in ("access_key", "token_res", "project_id")
                if getattr(self, name) is None
            ]
            if self.product_id is None and any(t.product_id is None for t in self.property_history):
                missing.append("product_id")
            if missing:
                raise ValueError(
                    f"拉取 property_history 缺少配置 (property_history needs {', '.join(missing)})"
                )
        return self


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise ValueError("ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _pkcs7_unpad(data: bytes) -> bytes:
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


class OneNetAdapter(VendorAdapter[OneNetConfig]):
    """OneNET pushes (old `msg`/`enc_msg` bodies, Studio rule-engine bodies) and pulls.

    Push URL: `https://<host>/push/onenet/<source>` (GET for URL verification, POST for data).
    """

    name: ClassVar[str] = "onenet"
    config_model: ClassVar[type[BaseModel]] = OneNetConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"push", "pull"})
    streams: ClassVar[tuple[str, ...]] = ("datapoints", "property_history")

    def __init__(
        self,
        source: SourceContext,
        config: OneNetConfig,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(source, config, http=http)
        self._clock = clock
        self._mapper = DeviceMapper(source.name, "onenet", config.device_map, self.build)
        self._token = config.token.get_secret_value() if config.token else None
        key = config.aes_key.get_secret_value() if config.aes_key else None
        self._old_key = base64.b64decode(key + "=") if key and len(key) == 43 else None
        self._studio_key = key.encode() if key and len(key) == 16 else None
        # verify_push decodes (and decrypts) the body; parse of the same body reuses it.
        self._last: tuple[bytes, str, Any] | None = None
        self._auth: tuple[int, str] | None = None

    # -- push -------------------------------------------------------------------------------

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check a OneNET push: URL verification (GET) or a signed, fresh data push (POST)."""
        try:
            method = request.method.upper()
            if method == "GET":
                return self._verify_url(request.query)
            if method != "POST":
                raise _Reject(405, f"不支持的方法 (method {method} not allowed)")
            kind, payload = self._verify_body(request.body)
        except _Reject as exc:
            return PushVerdict(
                accept=False,
                status_code=exc.status,
                reason=f"[{self.source.name}] {exc.reason}",
                response_body=dumps({"code": exc.status, "msg": exc.reason}),
            )
        self._last = (request.body, kind, payload)
        return PushVerdict(accept=True)

    def _need_token(self) -> str:
        if self._token is None:
            raise _Reject(
                403, "本数据源未配置推送 token (no push token is configured for this source)"
            )
        return self._token

    def _verify_url(self, query: Mapping[str, str]) -> PushVerdict:
        msg, nonce, sig = query.get("msg"), query.get("nonce"), query.get("signature")
        if msg is None or nonce is None or sig is None:
            raise _Reject(
                400,
                "URL 验证缺少 msg/nonce/signature 参数 "
                "(URL verification needs msg, nonce and signature query parameters)",
            )
        if not check_push_signature(self._need_token(), nonce, msg, sig):
            raise _Reject(
                403,
                "URL 验证签名不符，请核对 OneNET 控制台的 token "
                "(URL verification signature mismatch: check the token in the OneNET console)",
            )
        return PushVerdict(accept=True, response_body=msg.encode(), store=False, stream="verify")

    def _verify_body(self, body: bytes) -> tuple[str, Any]:
        doc = self._load_doc(body)
        kind = self._kind(doc)
        token = self._need_token()
        sig_field = "signature" if kind == "studio" else "msg_signature"
        sig, nonce = doc.get(sig_field), doc.get("nonce")
        if not isinstance(sig, str) or not sig or not isinstance(nonce, str):
            raise _Reject(
                401, f"推送未签名: 缺少 {sig_field} 或 nonce (unsigned push: no {sig_field}/nonce)"
            )
        signed: str | bytes | None
        if kind == "old_enc":
            signed = doc["enc_msg"]
        elif kind == "old":
            # OneNET signs the msg text as it sent it, not a re-serialisation of it.
            signed = _raw_msg(body, doc["msg"])
        else:
            signed = doc["msg"]
        if signed is None or not check_push_signature(token, nonce, signed, sig):
            raise _Reject(
                403,
                f"推送签名不符，可能是伪造的消息或 token 配置错误 "
                f"(push signature mismatch in {sig_field}: forged message or wrong token)",
            )
        if kind == "studio":
            self._check_time(doc.get("time"))
        return kind, self._open(kind, doc)

    def _check_time(self, sent: Any) -> None:
        max_age = self.config.push_max_age_s
        if max_age is None:
            return
        if not isinstance(sent, int) or isinstance(sent, bool):
            raise _Reject(400, "推送缺少 time 字段 (push has no integer `time` in ms)")
        age_s = (to_epoch_ms(self._clock()) - sent) / 1000
        if age_s > max_age:
            raise _Reject(
                403,
                f"推送已过期: time 早于 {max_age:.0f} 秒前，可能是重放 "
                f"(stale push: `time` is {age_s:.0f} s old, over push_max_age_s={max_age:.0f})",
            )
        if age_s < -300:
            raise _Reject(
                403,
                f"推送 time 晚于当前时间 {-age_s:.0f} 秒 (push `time` is {-age_s:.0f} s in the "
                "future: check clocks)",
            )

    @staticmethod
    def _load_doc(body: bytes) -> dict[str, Any]:
        try:
            doc = loads(body)
        except JSONDecodeError as exc:
            raise _Reject(400, f"推送正文不是合法 JSON (push body is not JSON: {exc})") from None
        if not isinstance(doc, dict):
            raise _Reject(400, "推送正文应为 JSON 对象 (push body must be a JSON object)")
        return doc

    @staticmethod
    def _kind(doc: Mapping[str, Any]) -> str:
        if isinstance(doc.get("enc_msg"), str):
            return "old_enc"
        msg = doc.get("msg")
        if isinstance(msg, dict | list):
            return "old"
        if isinstance(msg, str):
            return "studio"
        raise _Reject(
            400,
            "无法识别的推送: 缺少 msg 或 enc_msg (unrecognised push: no msg or enc_msg member)",
        )

    def _open(self, kind: str, doc: Mapping[str, Any]) -> Any:
        """The decoded message(s) of a push: decrypted and parsed as needed."""
        if kind == "old":
            return doc["msg"]
        if kind == "old_enc":
            if self._old_key is None:
                raise _Reject(
                    403,
                    "收到加密推送但未配置 43 位 aes_key "
                    "(encrypted push, but no 43-char EncodingAESKey is configured)",
                )
            plain = self._decrypt_old(doc["enc_msg"])
            return self._load_msg(plain, (dict, list))
        text: str = doc["msg"]
        if text.lstrip()[:1] in ("{", "["):
            return self._load_msg(text, (dict,))
        if self._studio_key is None:
            raise _Reject(
                403,
                "收到安全模式推送但未配置 16 位 aes_key "
                "(secure-mode push, but no 16-char Studio key is configured)",
            )
        return self._load_msg(self._decrypt_studio(text), (dict,))

    @staticmethod
    def _load_msg(text: str | bytes, types: tuple[type, ...]) -> Any:
        try:
            value = loads(text)
        except JSONDecodeError as exc:
            raise _Reject(400, f"msg 不是合法 JSON (msg is not JSON: {exc})") from None
        if not isinstance(value, types):
            raise _Reject(400, "msg 应为 JSON 对象 (msg must be a JSON object)")
        return value

    def _decrypt_old(self, enc: str) -> bytes:
        assert self._old_key is not None
        try:
            # 16 random bytes, a 4-byte big-endian length, the message (per the official SDK);
            # the length is authoritative, so the padding scheme does not matter.
            plain = _cbc_decrypt(self._old_key, self._old_key[:16], base64.b64decode(enc))
        except (binascii.Error, ValueError):
            raise _Reject(400, "enc_msg 无法解密 (enc_msg cannot be decrypted)") from None
        size = int.from_bytes(plain[16:20], "big")
        if len(plain) < 20 or size > len(plain) - 20:
            raise _Reject(
                400, "enc_msg 解密后长度不符，请核对 aes_key (enc_msg length mismatch: wrong key?)"
            )
        return plain[20 : 20 + size]

    def _decrypt_studio(self, text: str) -> bytes:
        assert self._studio_key is not None
        try:
            raw = base64.b64decode(text, validate=True)
            return _pkcs7_unpad(_cbc_decrypt(self._studio_key, self._studio_key, raw))
        except (binascii.Error, ValueError):
            raise _Reject(
                400, "安全模式 msg 无法解密，请核对 aes_key (secure-mode msg cannot be decrypted)"
            ) from None

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage, result: ParseResult) -> None:
        if raw.stream == "push":
            self._parse_push(raw, result)
        elif raw.stream == "datapoints":
            self._parse_datapoints(raw, result)
        elif raw.stream == "property_history":
            self._parse_history(raw, result)
        elif raw.stream != "verify":
            raise InputError(
                self.source.name, f"{raw.stream}#raw", None, "未知的数据流 (unknown stream)"
            )

    def _parse_push(self, raw: RawMessage, result: ParseResult) -> None:
        last = self._last
        if last is not None and (last[0] is raw.body or last[0] == raw.body):
            kind, payload = last[1], last[2]
        else:
            try:
                doc = self._load_doc(raw.body)
                kind = self._kind(doc)
                payload = self._open(kind, doc)
            except _Reject as exc:
                raise InputError(self.source.name, "push#raw", None, exc.reason) from None
        session = self._mapper.session(result)
        if kind == "studio":
            self._studio_message(session, payload)
        else:
            for item in payload if isinstance(payload, list) else (payload,):
                self._old_message(session, item)

    def _old_message(self, session: MapSession, msg: Any) -> None:
        if not isinstance(msg, dict):
            session.error("push#msg", "msg", "msg 元素应为对象 (msg item must be an object)")
            return
        mtype, at = msg.get("type"), msg.get("at")
        ref = f"push#{msg.get('dev_id')}@{at}"
        if mtype == 7:  # NB cached-command result: kept in the raw inbox, no record
            return
        if mtype not in (1, 2):
            session.warn(
                ref, "type", f"未处理的消息类型 {mtype} (message type {mtype!r} not handled)"
            )
            return
        if not isinstance(at, int | str) or not str(at).isdigit():
            session.error(ref, "at", f"缺少时间戳 (missing or bad `at`: {at!r})")
            return
        dev = session.device(ref, msg.get("dev_id"), msg.get("imei"))
        if dev is None:
            return
        extra = {"login_type": msg["login_type"]} if "login_type" in msg else None
        if mtype == 2:
            status = msg.get("status")
            if status not in (0, 1):
                session.error(
                    ref, "status", f"上下线状态应为 0/1 (status must be 0 or 1: {status!r})"
                )
                return
            self._status_event(session, dev, status == 1, int(at), ref, extra)
            return
        key = msg.get("ds_id")
        if not isinstance(key, str) or not key:
            session.error(ref, "ds_id", "缺少数据流 ds_id (missing ds_id)")
            return
        session.value(dev, key, msg.get("value"), int(at), ref)

    def _status_event(
        self,
        session: MapSession,
        dev: DeviceRef,
        online: bool,
        ts_ms: int,
        ref: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        session.event(
            dev,
            EventKind.DEVICE_ONLINE if online else EventKind.DEVICE_OFFLINE,
            "status",
            ts_ms,
            ref,
            severity="info" if online else "warning",
            status="closed" if online else "open",
            title="设备上线 (device online)" if online else "设备离线 (device offline)",
            extra=extra,
        )

    def _studio_message(self, session: MapSession, msg: dict[str, Any]) -> None:
        mtype = msg.get("messageType")
        data = msg.get("data")
        name = msg.get("deviceName")
        ref = f"push#{name}"
        if mtype == "reply":  # service-call result: kept in the raw inbox, no record
            return
        if mtype not in ("notify", "lifeCycle") or not isinstance(data, dict):
            session.warn(
                ref, "messageType", f"未处理的消息类型 (messageType {mtype!r} not handled)"
            )
            return
        dev = session.device(ref, name, msg.get("imei"))
        if dev is None:
            return
        if mtype == "lifeCycle":
            status = data.get("status")
            ts = data.get("time", msg.get("timestamp"))
            if status not in ("online", "offline") or not isinstance(ts, int):
                session.error(ref, "data.status", f"生命周期消息无效 (bad lifeCycle: {data!r})")
                return
            self._status_event(session, dev, status == "online", ts, f"{ref}@{ts}")
            return
        params = data.get("params")
        if not isinstance(params, dict):
            session.error(ref, "data.params", "缺少 params (notify without params)")
            return
        notify = msg.get("notifyType")
        extra = {"notify_type": notify} if notify == "event" else None
        for key, item in params.items():
            if not isinstance(item, dict) or not isinstance(item.get("time"), int | str):
                session.error(
                    ref, key, f"缺少 value/time (property needs value and time: {item!r})"
                )
                continue
            ts = int(item["time"])
            session.value(dev, key, item.get("value"), ts, f"{ref}@{ts}", extra)

    def _parse_datapoints(self, raw: RawMessage, result: ParseResult) -> None:
        page = loads(raw.body)
        session = self._mapper.session(result)
        ref = f"datapoints#{page['device']}"
        dev = session.device(ref, page["device"])
        if dev is None:
            return
        key = page["key"]
        for point in page["points"]:
            try:
                ts = to_epoch_ms(_parse_at(point["at"]))
            except (KeyError, TypeError, ValueError):
                session.error(ref, "at", f"时间无法识别 (bad datapoint time: {point!r})")
                continue
            session.value(dev, key, point.get("value"), ts, f"{ref}@{point['at']}")

    def _parse_history(self, raw: RawMessage, result: ParseResult) -> None:
        page = loads(raw.body)
        session = self._mapper.session(result)
        ref = f"property_history#{page['device']}"
        dev = session.device(ref, page["device"])
        if dev is None:
            return
        key = page["key"]
        for point in page["points"]:
            try:
                ts = int(point["time"])
            except (KeyError, TypeError, ValueError):
                session.error(ref, "time", f"时间无法识别 (bad history time: {point!r})")
                continue
            session.value(dev, key, point.get("value"), ts, f"{ref}@{ts}")

    # -- pull -------------------------------------------------------------------------------

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
        if stream == "datapoints":
            targets, fetch = self.config.datapoints, self._fetch_datapoints
        elif stream == "property_history":
            targets, fetch = self.config.property_history, self._fetch_history
        else:
            raise SourceError(f"[{self.source.name}] 未知的数据流 (unknown stream {stream!r})")
        state: dict[str, list[int]] = _load_cursor(self.source.name, stream, cursor)
        now = self._clock()
        since = self.config.pull_since or (now - dt.timedelta(hours=self.config.initial_lookback_h))
        for target in targets:
            for key in target.keys:
                series = f"{target.device}|{key}"
                last, n = state.get(series, (to_epoch_ms(since) - 1, 0))
                # the query restarts at `last`: skip what is older and the n already yielded
                floor, skip = last, n
                for points, times in fetch(target, key, last, now):
                    fresh: list[Any] = []
                    for point, ms in zip(points, times, strict=True):
                        if ms < floor:
                            continue
                        if ms == floor and skip > 0:
                            skip -= 1
                            continue
                        fresh.append(point)
                        last, n = (last, n + 1) if ms == last else (ms, 1)
                    if not fresh:
                        continue
                    state[series] = [last, n]
                    body = dumps(
                        {"api": stream, "device": target.device, "key": key, "points": fresh}
                    )
                    yield RawBatch(
                        RawMessage(self.source.name, stream, body, meta={"series": series}),
                        dumps_str(state),
                    )

    def _get(self, url: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        try:
            response = self.http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(
                f"[{self.source.name}] OneNET 接口无法访问 (cannot reach {url}: {exc})"
            ) from exc
        try:
            doc = loads(response.content)
        except JSONDecodeError:
            doc = None
        if response.status_code >= 400 or not isinstance(doc, dict):
            detail = _error_detail(doc) if isinstance(doc, dict) else response.text[:200]
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
    ) -> Iterator[tuple[list[Any], list[int]]]:
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
            times = [to_epoch_ms(_parse_at(p["at"])) for p in points]
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
    ) -> Iterator[tuple[list[Any], list[int]]]:
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


_MSG_FIRST = re.compile(rb'\s*\{\s*"msg"\s*:\s*')


def _raw_msg(body: bytes, msg: Any) -> bytes | None:
    """The text of `msg` as it appears in `body`, or None.

    The signature is checked on this text, and what gets ingested is the parsed `msg`; so the
    text must parse to exactly that value (a duplicated "msg" key, say, must not pass). The
    fast path covers OneNET's own layout, msg first; anything else takes the full scan.
    """
    head = _MSG_FIRST.match(body)
    if head is not None:
        for marker in (b',"msg_signature"', b',"nonce"'):
            end = body.find(marker, head.end())
            if end > 0:
                text = body[head.end() : end].rstrip()
                try:
                    if loads(text) == msg:
                        return text
                except JSONDecodeError:
                    pass
    found = raw_member(body, "msg")
    if found is None:
        return None
    try:
        return found if loads(found) == msg else None
    except JSONDecodeError:
        return None


def _parse_at(text: str) -> dt.datetime:
    """The old API's `at`: Beijing local time, with or without milliseconds."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return parse_local(text, fmt)


def _load_cursor(source: str, stream: str, cursor: str | None) -> dict[str, list[int]]:
    if not cursor:
        return {}
    try:
        state = loads(cursor)
    except JSONDecodeError:
        state = None
    if not isinstance(state, dict) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(i, int) for i in v)
        for v in state.values()
    ):
        raise SourceError(
            f"[{source}] {stream} 的游标无法识别，请清除后重拉 (the saved cursor of stream "
            f"{stream} is not valid: reset it to pull again from pull_since)"
        )
    return state


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
