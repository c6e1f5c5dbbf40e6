"""OneNET pushes checked and opened: URL verification, signatures on the text as sent,
freshness, and the AES schemes of the old platform (`enc_msg`) and Studio (secure mode)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from parkhub.adapters.vendors.base import PushRequest, PushVerdict
from parkhub.canonical.jsonutil import JSONDecodeError, dumps, loads
from parkhub.canonical.timeutil import to_epoch_ms
from parkhub.protocols.onenet import check_push_signature, raw_member

from .config import OneNetConfig

Decoded = tuple[str, Any]
"""A push as opened: its kind ("old", "old_enc", "studio") and its message(s)."""


class Reject(Exception):
    """A push that is refused: the HTTP status to answer and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PushKeys:
    """What checking and opening a source's pushes takes, read once from its config."""

    token: str | None
    old_key: bytes | None
    studio_key: bytes | None
    max_age_s: float | None

    @classmethod
    def of(cls, config: OneNetConfig) -> PushKeys:
        key = config.aes_key.get_secret_value() if config.aes_key else None
        return cls(
            token=config.token.get_secret_value() if config.token else None,
            old_key=base64.b64decode(key + "=") if key and len(key) == 43 else None,
            studio_key=key.encode() if key and len(key) == 16 else None,
            max_age_s=config.push_max_age_s,
        )

    def verify(self, source: str, request: PushRequest, now: dt.datetime) -> PushVerdict:
        """URL verification (GET) or a signed, fresh data push (POST), opened."""
        try:
            method = request.method.upper()
            if method == "GET":
                return self._verify_url(request.query)
            if method != "POST":
                raise Reject(405, f"不支持的方法 (method {method} not allowed)")
            decoded = self._verify_body(request.body, now)
        except Reject as exc:
            return PushVerdict(
                accept=False,
                status_code=exc.status,
                reason=f"[{source}] {exc.reason}",
                response_body=dumps({"code": exc.status, "msg": exc.reason}),
            )
        return PushVerdict(accept=True, decoded=decoded)

    def decode(self, body: bytes) -> Decoded:
        """Open a push kept before (a reparse): verified when it came, so no signature check."""
        doc = _load_doc(body)
        kind = _kind(doc)
        return kind, self._open(kind, doc)

    def _need_token(self) -> str:
        if self.token is None:
            raise Reject(
                403, "本数据源未配置推送 token (no push token is configured for this source)"
            )
        return self.token

    def _verify_url(self, query: Mapping[str, str]) -> PushVerdict:
        msg, nonce, sig = query.get("msg"), query.get("nonce"), query.get("signature")
        if msg is None or nonce is None or sig is None:
            raise Reject(
                400,
                "URL 验证缺少 msg/nonce/signature 参数 "
                "(URL verification needs msg, nonce and signature query parameters)",
            )
        if not check_push_signature(self._need_token(), nonce, msg, sig):
            raise Reject(
                403,
                "URL 验证签名不符，请核对 OneNET 控制台的 token "
                "(URL verification signature mismatch: check the token in the OneNET console)",
            )
        return PushVerdict(accept=True, response_body=msg.encode(), store=False, stream="verify")

    def _verify_body(self, body: bytes, now: dt.datetime) -> Decoded:
        doc = _load_doc(body)
        kind = _kind(doc)
        token = self._need_token()
        sig_field = "signature" if kind == "studio" else "msg_signature"
        sig, nonce = doc.get(sig_field), doc.get("nonce")
        if not isinstance(sig, str) or not sig or not isinstance(nonce, str):
            raise Reject(
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
            raise Reject(
                403,
                f"推送签名不符，可能是伪造的消息或 token 配置错误 "
                f"(push signature mismatch in {sig_field}: forged message or wrong token)",
            )
        if kind == "studio":
            self._check_time(doc.get("time"), now)
        return kind, self._open(kind, doc)

    def _check_time(self, sent: Any, now: dt.datetime) -> None:
        max_age = self.max_age_s
        if max_age is None:
            return
        if not isinstance(sent, int) or isinstance(sent, bool):
            raise Reject(400, "推送缺少 time 字段 (push has no integer `time` in ms)")
        age_s = (to_epoch_ms(now) - sent) / 1000
        if age_s > max_age:
            raise Reject(
                403,
                f"推送已过期: time 早于 {max_age:.0f} 秒前，可能是重放 "
                f"(stale push: `time` is {age_s:.0f} s old, over push_max_age_s={max_age:.0f})",
            )
        if age_s < -300:
            raise Reject(
                403,
                f"推送 time 晚于当前时间 {-age_s:.0f} 秒 (push `time` is {-age_s:.0f} s in the "
                "future: check clocks)",
            )

    def _open(self, kind: str, doc: Mapping[str, Any]) -> Any:
        """The decoded message(s) of a push: decrypted and parsed as needed."""
        if kind == "old":
            return doc["msg"]
        if kind == "old_enc":
            if self.old_key is None:
                raise Reject(
                    403,
                    "收到加密推送但未配置 43 位 aes_key "
                    "(encrypted push, but no 43-char EncodingAESKey is configured)",
                )
            return _load_msg(_decrypt_old(self.old_key, doc["enc_msg"]), (dict, list))
        text: str = doc["msg"]
        if text.lstrip()[:1] in ("{", "["):
            return _load_msg(text, (dict,))
        if self.studio_key is None:
            raise Reject(
                403,
                "收到安全模式推送但未配置 16 位 aes_key "
                "(secure-mode push, but no 16-char Studio key is configured)",
            )
        return _load_msg(_decrypt_studio(self.studio_key, text), (dict,))


def _load_doc(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = _load_json(body, (dict,), ("推送正文", "push body"))
    return doc


def _kind(doc: Mapping[str, Any]) -> str:
    if isinstance(doc.get("enc_msg"), str):
        return "old_enc"
    msg = doc.get("msg")
    if isinstance(msg, dict | list):
        return "old"
    if isinstance(msg, str):
        return "studio"
    raise Reject(
        400,
        "无法识别的推送: 缺少 msg 或 enc_msg (unrecognised push: no msg or enc_msg member)",
    )


def _load_msg(text: str | bytes, types: tuple[type, ...]) -> Any:
    return _load_json(text, types, ("msg ", "msg"))


def _load_json(text: str | bytes, types: tuple[type, ...], what: tuple[str, str]) -> Any:
    """`text` as JSON of one of `types`; `what` names it in Chinese and English."""
    try:
        value = loads(text)
    except JSONDecodeError as exc:
        raise Reject(400, f"{what[0]}不是合法 JSON ({what[1]} is not JSON: {exc})") from None
    if not isinstance(value, types):
        raise Reject(400, f"{what[0]}应为 JSON 对象 ({what[1]} must be a JSON object)")
    return value


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise ValueError("ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _decrypt_old(key: bytes, enc: str) -> bytes:
    try:
        # 16 random bytes, a 4-byte big-endian length, the message (per the official SDK);
        # the length is authoritative, so the padding scheme does not matter.
        plain = _cbc_decrypt(key, key[:16], base64.b64decode(enc))
    except (binascii.Error, ValueError):
        raise Reject(400, "enc_msg 无法解密 (enc_msg cannot be decrypted)") from None
    size = int.from_bytes(plain[16:20], "big")
    if len(plain) < 20 or size > len(plain) - 20:
        raise Reject(
            400, "enc_msg 解密后长度不符，请核对 aes_key (enc_msg length mismatch: wrong key?)"
        )
    return plain[20 : 20 + size]


def _decrypt_studio(key: bytes, text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(_cbc_decrypt(key, key, raw)) + unpadder.finalize()
    except (binascii.Error, ValueError):
        raise Reject(
            400, "安全模式 msg 无法解密，请核对 aes_key (secure-mode msg cannot be decrypted)"
        ) from None


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
