"""Loopback simulator of China Mobile OneNET: the two history APIs, and a push sender that signs
(or forges, replays, ages, garbles) pushes the way OneNET does. Modelled on formats.md section 2."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols.onenet import api_token, push_signature
from parkhub.sandbox.sender import LoopbackSender

BEIJING = dt.timezone(dt.timedelta(hours=8))
DEMO_TOKEN = "abcdefghijkmlnopqrstuvwxyz"  # cm-heclouds/data-push ReceiverDemo.java
DEMO_ACCESS_KEY = "720e323b10d54d3a8cdbe5dd4e641052"  # the formats.md 2.3 vector's key

# Real message texts (formats.md 2.1 and 2.2), used as push templates.
OLD_DATAPOINT = '{"type":1,"dev_id":2016617,"ds_id":"datastream_id","at":1466133706841,"value":42}'
OLD_OFFLINE = '{"type":2,"dev_id":2016617,"status":0,"login_type":1,"at":1466133706841}'
STUDIO_PROPERTY = (
    '{"projectId":"990909090","productId":"00001","deviceName":"iot-0001",'
    '"messageType":"notify","notifyType":"property","data":{"id":"12345","params":'
    '{"Power":{"value":"on","time":1524448722123},"WF":{"value":23.6,"time":1524448722123}}}}'
)
STUDIO_LIFECYCLE = (
    '{"projectId":"990909090","productId":"00001","deviceName":"iot-0001",'
    '"messageType":"lifeCycle","data":{"status":"online","time":1524448722123}}'
)


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


# -- encryption (independent of the adapter's decryption, so tests check one against the other) --


def encrypt_old(aes_key: str, plaintext: bytes, *, prefix: bytes = b"parkhub-sandbox!") -> str:
    """Old platform `enc_msg`: AES-256-CBC, key = b64decode(EncodingAESKey + "="), IV = key[:16],
    plaintext = 16-byte prefix + 4-byte big-endian length + message, PKCS7-padded."""
    key = base64.b64decode(aes_key + "=")
    padder = padding.PKCS7(128).padder()
    data = padder.update(prefix[:16] + len(plaintext).to_bytes(4, "big") + plaintext)
    data += padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def encrypt_studio(key: str, plaintext: bytes) -> str:
    """Studio secure mode: AES-CBC with the 16-char key, IV = key, PKCS7."""
    raw = key.encode()
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(raw), modes.CBC(raw)).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


# -- push bodies ----------------------------------------------------------------------------


def old_body(token: str, msg_text: str, nonce: str = "abcdefgh") -> bytes:
    """Old platform body: `msg` embedded as given, signed over that exact text."""
    sig = push_signature(token, nonce, msg_text)
    return b'{"msg":%s,"msg_signature":%s,"nonce":%s}' % (
        msg_text.encode(),
        orjson.dumps(sig),
        orjson.dumps(nonce),
    )


def old_encrypted_body(token: str, aes_key: str, msg_text: str, nonce: str = "abcdefgh") -> bytes:
    enc = encrypt_old(aes_key, msg_text.encode())
    return orjson.dumps(
        {"enc_msg": enc, "msg_signature": push_signature(token, nonce, enc), "nonce": nonce}
    )


def studio_body(
    token: str,
    msg_text: str,
    *,
    time_ms: int | None = None,
    msg_id: str = "3799902",
    nonce: str = "abcdefgh",
    aes_key: str | None = None,
) -> bytes:
    """Studio body: `msg` is a string (encrypted in secure mode), signed as sent."""
    msg = encrypt_studio(aes_key, msg_text.encode()) if aes_key else msg_text
    sent = int(time.time() * 1000) if time_ms is None else time_ms
    return orjson.dumps(
        {
            "msg": msg,
            "nonce": nonce,
            "signature": push_signature(token, nonce, msg),
            "time": sent,
            "id": msg_id,
        }
    )


class PushSender(LoopbackSender):
    """POSTs OneNET-style pushes to a receiver URL on 127.0.0.1."""

    def __init__(
        self,
        url: str,
        token: str = DEMO_TOKEN,
        *,
        aes_key: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(url, client)
        self.token = token
        self.aes_key = aes_key
        self._nonces = (f"n{i:07d}" for i in itertools.count())

    def verify(self, msg: str = "sandbox+check/=", nonce: str = "ab+c/d=e") -> httpx.Response:
        """The URL verification GET (values with + / = to exercise URL encoding)."""
        sig = push_signature(self.token, nonce, msg)
        return self._client.get(self.url, params={"msg": msg, "nonce": nonce, "signature": sig})

    def send(self, body: bytes) -> httpx.Response:
        return self._client.post(
            self.url, content=body, headers={"content-type": "application/json"}
        )

    def old(self, msg_text: str = OLD_DATAPOINT) -> httpx.Response:
        return self.send(old_body(self.token, msg_text, next(self._nonces)))

    def old_encrypted(self, msg_text: str = OLD_DATAPOINT) -> httpx.Response:
        assert self.aes_key is not None
        return self.send(old_encrypted_body(self.token, self.aes_key, msg_text, next(self._nonces)))

    def studio(self, msg_text: str = STUDIO_PROPERTY, *, secure: bool = False) -> httpx.Response:
        key = self.aes_key if secure else None
        return self.send(studio_body(self.token, msg_text, nonce=next(self._nonces), aes_key=key))

    def forged(self, msg_text: str = OLD_DATAPOINT) -> httpx.Response:
        """Signed with the wrong token."""
        return self.send(old_body(self.token + "x", msg_text, next(self._nonces)))

    def tampered(self, msg_text: str = OLD_DATAPOINT) -> httpx.Response:
        """Correctly signed, then the value changed in transit."""
        body = old_body(self.token, msg_text, next(self._nonces))
        return self.send(body.replace(b'"value":42', b'"value":99'))

    def unsigned(self, msg_text: str = OLD_DATAPOINT) -> httpx.Response:
        return self.send(b'{"msg":%s,"nonce":"abcdefgh"}' % msg_text.encode())

    def stale(self, msg_text: str = STUDIO_PROPERTY, age_s: float = 86400) -> httpx.Response:
        sent = int((time.time() - age_s) * 1000)
        return self.send(studio_body(self.token, msg_text, time_ms=sent, nonce=next(self._nonces)))

    def replay(self, body: bytes) -> tuple[httpx.Response, httpx.Response]:
        """The same body twice, as OneNET does when it retries."""
        return self.send(body), self.send(body)

    def garbage(self) -> httpx.Response:
        return self.send(b"\x00\xffnot json{")


# -- history APIs ---------------------------------------------------------------------------


class OneNetSim:
    """Serves the old datapoints API and Studio QueryDevicePropertyHistory over generated data.

    Each series has `points` values one `step_ms` apart ending before now; every tenth point
    has a twin at the same millisecond, so paging must cope with equal timestamps.
    """

    def __init__(
        self,
        *,
        api_key: str = "sandbox-api-key",
        access_key: str = DEMO_ACCESS_KEY,
        user_id: str = "511932",
        project_id: str = "990909090",
        product_id: str = "00001",
        devices: Mapping[str, Sequence[str]] | None = None,
        studio_devices: Mapping[str, Sequence[str]] | None = None,
        points: int = 120,
        step_ms: int = 60_000,
        start_ms: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.access_key = access_key
        self.user_id = user_id
        self.project_id = project_id
        self.product_id = product_id
        self.clock = clock
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.fail_next = 0
        if start_ms is None:
            start_ms = (int(clock() * 1000) // step_ms - points - 1) * step_ms
        self.start_ms = start_ms
        devs = devices if devices is not None else {"2016617": ["temperature", "power"]}
        sdevs = studio_devices if studio_devices is not None else {"iot-0001": ["WF", "Power"]}
        self.old: dict[tuple[str, str], list[tuple[int, Any]]] = {
            (d, k): self._series(d, k, points, step_ms) for d, ks in devs.items() for k in ks
        }
        self.studio: dict[tuple[str, str], list[tuple[int, Any]]] = {
            (d, k): self._series(d, k, points, step_ms) for d, ks in sdevs.items() for k in ks
        }
        self.app = Starlette(
            routes=[
                Route("/devices/{device_id}/datapoints", self.datapoints),
                Route("/application", self.application),
            ]
        )

    def _series(self, device: str, key: str, points: int, step: int) -> list[tuple[int, Any]]:
        seed = sum(map(ord, device + key))
        out: list[tuple[int, Any]] = []
        for i in range(points):
            ts = self.start_ms + i * step
            out.append((ts, round(20 + ((seed + i * 7) % 100) / 10, 1)))
            if i % 10 == 9:
                out.append((ts, round(-1 - i / 10, 1)))
        return out

    def _note(self, request: Request) -> Response | None:
        with self.lock:
            self.requests.append(str(request.url))
            if self.fail_next > 0:
                self.fail_next -= 1
                return _json({"errno": 1, "error": "internal error"}, 500)
        return None

    # old platform ---------------------------------------------------------------------------

    async def datapoints(self, request: Request) -> Response:
        if (failed := self._note(request)) is not None:
            return failed
        if request.headers.get("api-key") != self.api_key:
            return _json({"errno": 3, "error": "auth failed"})
        device = request.path_params["device_id"]
        q = request.query_params
        keys = [k for k in (q.get("datastream_id") or "").split(",") if k]
        if not keys or any((device, k) not in self.old for k in keys):
            return _json({"errno": 2, "error": "datastream not found"})
        try:
            start = _local_ms(q["start"]) if "start" in q else 0
            end = _local_ms(q["end"]) if "end" in q else 2**62
            limit = int(q.get("limit", "100"))
            offset = int(q["cursor"].rsplit("_", 1)[1]) if q.get("cursor") else 0
        except (KeyError, ValueError, IndexError):
            return _json({"errno": 6, "error": "invalid parameter"})
        if not 1 <= limit <= 6000:
            return _json({"errno": 6, "error": "invalid parameter: limit"})
        merged = sorted(
            ((ts, i, k, v) for k in keys for i, (ts, v) in enumerate(self.old[(device, k)])),
            key=lambda p: (p[0], p[2], p[1]),
            reverse=q.get("sort", "ASC").upper() == "DESC",
        )
        window = [p for p in merged if start <= p[0] <= end]
        page = window[offset : offset + limit]
        streams: dict[str, list[dict[str, Any]]] = {}
        for ts, _, key, value in page:
            streams.setdefault(key, []).append({"at": _local_text(ts), "value": value})
        data: dict[str, Any] = {
            "count": len(page),
            "datastreams": [{"id": k, "datapoints": v} for k, v in streams.items()],
        }
        if offset + limit < len(window):
            data["cursor"] = f"{device}_{offset + limit}"
        return _json({"errno": 0, "error": "succ", "data": data})

    # Studio ---------------------------------------------------------------------------------

    def _auth_error(self, header: str | None) -> str | None:
        if not header:
            return "missing authorization"
        parts = dict(p.split("=", 1) for p in header.split("&") if "=" in p)
        try:
            et = int(parts["et"])
            res = unquote(parts["res"])
            expected = api_token(self.access_key, res, et, parts["method"], parts["version"])
        except (KeyError, ValueError):
            return "malformed authorization"
        if expected != header:
            return "signature error"
        if res != f"userid/{self.user_id}":
            return "res not permitted"
        if et < self.clock():
            return "token expired"
        return None

    async def application(self, request: Request) -> Response:
        if (failed := self._note(request)) is not None:
            return failed
        request_id = f"sim-{len(self.requests)}"
        error = self._auth_error(request.headers.get("authorization"))
        if error is not None:
            body = {"success": False, "requestId": request_id, "code": 10403, "msg": error}
            return _json(body, 401)
        q = request.query_params
        if q.get("action") != "QueryDevicePropertyHistory":
            return _json({"success": False, "requestId": request_id, "msg": "unknown action"}, 400)
        series = self.studio.get((q.get("device_name", ""), q.get("identifier", "")))
        if (
            series is None
            or q.get("project_id") != self.project_id
            or q.get("product_id") != self.product_id
        ):
            body = {"success": False, "requestId": request_id, "code": 10404, "msg": "not found"}
            return _json(body, 404)
        try:
            start, end = int(q["start_time"]), int(q["end_time"])
            offset, limit = int(q.get("offset", "0")), int(q.get("limit", "10"))
        except (KeyError, ValueError):
            return _json({"success": False, "requestId": request_id, "msg": "bad params"}, 400)
        if not 1 <= limit <= 100:
            return _json({"success": False, "requestId": request_id, "msg": "limit > 100"}, 400)
        window = [p for p in series if start <= p[0] <= end]
        if q.get("sort") == "2":
            window.reverse()
        page = window[offset : offset + limit]
        items = [{"time": str(ts), "value": str(v)} for ts, v in page]
        meta = {"total": len(window), "offset": offset, "limit": limit}
        return _json(
            {"success": True, "requestId": request_id, "data": {"list": items, "meta": meta}}
        )

    # helpers for tests ----------------------------------------------------------------------

    def expected_old(self) -> set[tuple[str, str, int, float]]:
        return {(d, k, ts, v) for (d, k), s in self.old.items() for ts, v in s}

    def expected_studio(self) -> set[tuple[str, str, int, float]]:
        return {(d, k, ts, v) for (d, k), s in self.studio.items() for ts, v in s}


def _local_text(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def _local_ms(text: str) -> int:
    moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=BEIJING)
    return int(moment.timestamp() * 1000)
