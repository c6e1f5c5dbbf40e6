"""How a REST vendor request is authenticated: a static token, a signature over the request's
parameters, or an OAuth2 client-credentials token kept until it expires.

OAuth2 is written here rather than taken from httpx-auth: its client-credentials flow sets HTTP
Basic on the client it is given (it cannot share the adapter's client), sends the secret only
as Basic, and keeps tokens in a process-wide cache that cannot drop the one token a vendor
revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from parkhub.canonical import jsonutil
from parkhub.errors import PermanentSourceError, TransientSourceError

from .spec import OAuth2Auth, SignedAuth, TokenAuth


@dataclass
class Outgoing:
    """A request being made: `params` are the request's own (the query of a GET, the JSON body
    of a POST); auth adds to `query` and `headers`."""

    method: str
    url: str
    path: str
    params: dict[str, Any]
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class RequestAuth(Protocol):
    renewable: bool
    """Whether refused credentials can be renewed (a token bought again)."""

    def apply(self, request: Outgoing) -> None: ...

    def renew(self) -> None: ...


class NoAuth:
    renewable = False

    def apply(self, request: Outgoing) -> None:
        return None

    def renew(self) -> None:
        return None


class StaticToken:
    renewable = False

    def __init__(self, spec: TokenAuth, token: SecretStr) -> None:
        self.spec = spec
        self.token = token

    def apply(self, request: Outgoing) -> None:
        value = self.token.get_secret_value()
        if self.spec.query:
            request.query[self.spec.query] = value
        else:
            request.headers[self.spec.header] = self.spec.prefix + value

    def renew(self) -> None:
        return None


def text(value: Any) -> str:
    """A parameter's value as signed and sent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return jsonutil.dumps_str(value)
    return str(value)


def digest(kind: str, secret: str, message: str) -> str:
    """The hex digest of `message`: md5 or sha256 of it, or HMAC-SHA256 keyed by `secret`."""
    data = message.encode("utf-8")
    if kind == "md5":
        return hashlib.md5(data).hexdigest()
    if kind == "sha256":
        return hashlib.sha256(data).hexdigest()
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


class Signer:
    """Signs every request: app key, timestamp and nonce, then the digest of `canonical`."""

    renewable = False

    def __init__(
        self,
        spec: SignedAuth,
        key: str,
        secret: SecretStr,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self.spec = spec
        self.key = key
        self.secret = secret
        self.clock = clock
        self.nonce = nonce

    def canonical(self, request: Outgoing, auth: dict[str, str]) -> str:
        spec = self.spec
        signed = {**request.params, **auth}
        pairs = sorted((k, text(v)) for k, v in signed.items())
        if spec.skip_empty:
            pairs = [(k, v) for k, v in pairs if v != ""]
        return spec.canonical.format(
            params=spec.join.join(f"{k}{spec.pair}{v}" for k, v in pairs),
            secret=self.secret.get_secret_value(),
            key=self.key,
            timestamp=auth[spec.timestamp_param],
            nonce=auth.get(spec.nonce_param or "", ""),
            method=request.method,
            path=request.path,
        )

    def apply(self, request: Outgoing) -> None:
        spec = self.spec
        now = self.clock()
        auth = {
            spec.key_param: self.key,
            spec.timestamp_param: str(int(now * 1000) if spec.timestamp_unit == "ms" else int(now)),
        }
        if spec.nonce_param:
            auth[spec.nonce_param] = self.nonce()
        sign = digest(spec.digest, self.secret.get_secret_value(), self.canonical(request, auth))
        auth[spec.sign_param] = sign.upper() if spec.uppercase else sign
        (request.query if spec.place == "query" else request.headers).update(auth)

    def renew(self) -> None:
        return None


class ClientCredentials:
    """OAuth2 client credentials; one token per adapter, bought when missing or expiring."""

    renewable = True

    def __init__(
        self,
        spec: OAuth2Auth,
        client_id: str,
        secret: SecretStr,
        *,
        token_url: str,
        http: Callable[[], httpx.Client],
        timeout: float,
        source: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.client_id = client_id
        self.secret = secret
        self.token_url = token_url
        self.http = http
        self.timeout = timeout
        self.source = source
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # the token, and when to stop using it
        self.bought = 0
        """How many tokens were bought (tests and logs)."""

    def apply(self, request: Outgoing) -> None:
        request.headers[self.spec.header] = self.spec.prefix + self.token()

    def renew(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._token[1]:
                self._token = self._buy()
            return self._token[0]

    def _buy(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self.spec.scope:
            form["scope"] = self.spec.scope
        headers: dict[str, str] = {}
        if self.spec.client_auth == "basic":
            pair = f"{self.client_id}:{self.secret.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": self.client_id, "client_secret": self.secret.get_secret_value()}
        where = f"[{self.source}] OAuth2 token"
        try:
            resp = self.http().post(
                self.token_url, data=form, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise TransientSourceError(f"{where}: 无法连接 (cannot reach: {exc})") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientSourceError(f"{where}: HTTP {resp.status_code}")
        try:
            answer = jsonutil.loads(resp.content)
        except jsonutil.JSONDecodeError:
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if resp.status_code != 200 or not isinstance(token, str) or not token:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise PermanentSourceError(
                f"{where}: 凭证被拒绝 (client credentials refused: HTTP {resp.status_code}"
                f"{f' {error}' if error else ''})"
            )
        self.bought += 1
        expires = answer.get("expires_in")
        life = float(expires) if isinstance(expires, (int, float, str)) and _number(expires) else 0
        until = self.clock() + life - self.spec.early_expiry_s if life else float("inf")
        return token, until


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
