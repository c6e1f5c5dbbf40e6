"""One REST vendor request: authenticated, spaced to the rate limit, retried (tenacity) while
the failure is transient, and classified: a timeout, a 5xx, a 429 or a transient business code
is a TransientSourceError; refused credentials, another 4xx or a business error a
PermanentSourceError. Messages name the source, the path, the status and the vendor's code and
message; never a secret (no query string)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jmespath
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from parkhub.canonical import jsonutil
from parkhub.errors import PermanentSourceError, TransientSourceError

from .auth import Outgoing, RequestAuth
from .spec import RestSpec

TRANSIENT_STATUS = frozenset({408, 425, 429})
AUTH_STATUS = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: the response as received, and its JSON."""

    response: httpx.Response
    doc: Any


class _Retry(TransientSourceError):
    """A transient failure worth another try now (after the backoff)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Refused(PermanentSourceError):
    """The vendor refused the credentials (HTTP 401/403 or an auth code)."""


class Spacing:
    """At most `per_second` requests a second from one adapter (the vendor's rate limit)."""

    def __init__(
        self,
        per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next request may go (at once, if the last went long enough ago)."""
        if not self.interval:
            return
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


class RestClient:
    """Makes the requests of one REST source."""

    def __init__(
        self,
        spec: RestSpec,
        auth: RequestAuth,
        *,
        http: Callable[[], httpx.Client],
        source: str,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self.auth = auth
        self.http = http
        self.source = source
        self.timeout = timeout
        self.sleep = sleep
        self.spacing = Spacing(spec.rate_limit, sleep=sleep)
        errors = spec.errors
        self._code = jmespath.compile(errors.code) if errors.code else None
        self._message = jmespath.compile(errors.message) if errors.message else None
        self._success = {str(c) for c in errors.success}
        self._transient = {str(c) for c in errors.transient}
        self._auth = {str(c) for c in errors.auth}

    def call(self, method: str, url: str, path: str, params: dict[str, Any]) -> Answer:
        """One request, retried while transient; credentials refused are renewed once when
        they can be (an OAuth2 token)."""
        try:
            return self._retried(method, url, path, params)
        except _Refused:
            if not self.auth.renewable:
                raise
        self.auth.renew()
        return self._retried(method, url, path, params)

    def _retried(self, method: str, url: str, path: str, params: dict[str, Any]) -> Answer:
        retry = self.spec.retry
        retrying = Retrying(
            stop=stop_after_attempt(retry.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            reraise=True,
            sleep=self.sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, path, params)
        except _Retry as exc:  # out of tries: transient still, the next sync resumes
            raise TransientSourceError(str(exc)) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        retry = self.spec.retry
        backoff: float = min(retry.wait_s * 2.0 ** (state.attempt_number - 1), retry.max_wait_s)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return float(min(max(exc.retry_after, backoff), retry.max_wait_s))
        return backoff

    def _once(self, method: str, url: str, path: str, params: dict[str, Any]) -> Answer:
        request = Outgoing(method, url, path, dict(params))
        self.auth.apply(request)
        self.spacing.wait()
        where = f"[{self.source}] {method} {path}"
        query = request.query if method == "POST" else {**request.params, **request.query}
        body = request.params if method == "POST" else None
        try:
            resp = self.http().request(
                method, url, params=query, json=body, headers=request.headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise _Retry(f"{where}: 超时 (timed out after {self.timeout:g} s)") from None
        except httpx.HTTPError as exc:
            raise _Retry(f"{where}: 无法连接 (cannot reach the vendor: {exc})") from None
        return Answer(resp, self._classify(resp, where))

    def _classify(self, resp: httpx.Response, where: str) -> Any:
        status = resp.status_code
        try:
            doc = jsonutil.loads(resp.content)
        except jsonutil.JSONDecodeError:
            doc = None
        code, message = self._business(doc)
        said = f"HTTP {status}{f' code={code}' if code is not None else ''}"
        said += f" {message}" if message else ""
        if status >= 500 or status in TRANSIENT_STATUS:
            raise _Retry(f"{where}: 暂时失败 (transient: {said})", _retry_after(resp))
        if status in AUTH_STATUS or (code is not None and str(code) in self._auth):
            raise _Refused(f"{where}: 认证失败 (credentials refused: {said})")
        if not 200 <= status < 300:
            raise PermanentSourceError(f"{where}: 请求被拒绝 (request refused: {said})")
        if doc is None:
            text = resp.text[:80].replace("\n", " ")
            raise _Retry(f"{where}: 应答不是 JSON (the answer is no JSON: {text!r})")
        if code is None or str(code) in self._success:
            return doc
        if str(code) in self._transient:
            raise _Retry(f"{where}: 厂商繁忙 (transient business code: {said})")
        raise PermanentSourceError(f"{where}: 业务错误 (business error: {said})")

    def _business(self, doc: Any) -> tuple[Any, str | None]:
        if not isinstance(doc, dict):
            return None, None
        code = self._code.search(doc) if self._code is not None else None
        message = self._message.search(doc) if self._message is not None else None
        return code, (str(message)[:200] if message not in (None, "") else None)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
