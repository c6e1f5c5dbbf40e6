"""The platform contract: a destination (the provincial platform or a department's system).

A Platform declares the reports it takes (ReportSpec) and sends one mapped payload, returning a
Receipt or raising a DeliveryError classified transient or permanent. JsonApiPlatform is the base
of the platforms taking JSON over HTTP; MockPlatform is the twin whose `send` calls your function.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar, final

import httpx
from pydantic import BaseModel, Field

from parkhub.adapters.common import AdapterConfig, ConfigT, HttpOwner
from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

__all__ = [
    "JSON_CONTENT_TYPE",
    "AnswerSpec",
    "JsonApiConfig",
    "JsonApiPlatform",
    "MockPlatform",
    "Platform",
    "Receipt",
    "RecordFilter",
    "ReportSpec",
    "SendHandler",
    "post",
]


@dataclass(frozen=True, slots=True)
class Receipt:
    """The platform's acknowledgement: its id for what it accepted, and whether it was a repeat."""

    receipt_id: str
    duplicate: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=utcnow)
    http_status: int | None = None
    """The HTTP status of the accepting answer, where the platform answers over HTTP."""


RecordFilter = Mapping[str, Collection[str]]
"""{dotted field path: accepted values (compared as text)}."""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report a platform takes: which canonical records feed it and how they are mapped."""

    record_kind: str
    mapping: str
    """Mapping spec file name: built in (parkhub/mappings/specs/) or in a plugin's package
    (entry-point group `parkhub.mappings`)."""
    schema: str | None = None
    """Payload JSON Schema path: under parkhub/schemas/platforms/ or in a plugin's package
    (entry-point group `parkhub.schemas`)."""
    priority: int = 100
    """Lower goes first: fire alarms use 0."""
    description: str = ""
    title: str = ""
    """The report as operators call it (园区月报, 入园企业名录), shown by the console and CLI."""
    when: RecordFilter | tuple[RecordFilter, ...] | None = None
    """Only records matching this filter, e.g. `{"event_kind": ("hidden_danger", "incident")}`:
    {dotted field path: accepted values}, every path must match; a tuple of filters takes a
    record matching any of them. None (the default) takes every record of `record_kind`."""

    def accepts(self, record: Mapping[str, Any] | Record) -> bool:
        """Whether a record (its document or the record itself) goes to this report."""
        if self.when is None:
            return True
        clauses = (self.when,) if isinstance(self.when, Mapping) else self.when
        return any(
            all(_matches(_field_text(record, path), values) for path, values in clause.items())
            for clause in clauses
        )


def _matches(text: str | None, values: Collection[str]) -> bool:
    return text == values if isinstance(values, str) else text in values


def _field_text(record: Mapping[str, Any] | Record, path: str) -> str | None:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            return None
    return str(value)


class Platform(HttpOwner, abc.ABC, Generic[ConfigT]):
    """A destination: the provincial platform or a department's system."""

    _timeout: ClassVar[float] = 10.0

    name: ClassVar[str]
    """Registry name used in parkhub.yaml (`type: provincial`)."""
    title: ClassVar[str] = ""
    """The platform as operators call it (省小微园平台, 经信, 消防 ...): what the console and the
    CLI show beside the configured name."""
    config_model: ClassVar[type[BaseModel]]
    reports: ClassVar[Mapping[str, ReportSpec]]
    """The reports this platform takes, by name."""

    def __init__(self, config: ConfigT, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http

    @abc.abstractmethod
    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        """Deliver one payload. Raise TransientDeliveryError or PermanentDeliveryError."""

    def check(self) -> None:
        """Raise DeliveryError if the platform cannot be reached with this config
        (`parkhub check --live`); sends nothing. Default: nothing to check."""

    def set_labels(self, report: str, labels: Mapping[str, str]) -> None:
        """Take the labels of a report's mapping spec (target field -> `label`, in spec order).

        The runtime hands them over once per report when it compiles the spec, so the spec is
        read by the mapping loader only. A file output uses them as column headers; platforms
        that send JSON ignore them (the default).
        """


SendHandler = Callable[[str, Mapping[str, Any], str], Receipt]
"""`(report, payload, idempotency_key) -> Receipt`, or raise a DeliveryError."""


class MockPlatform(Platform[AdapterConfig]):
    """A platform whose `send` calls the function you give it: the twin of httpx.MockTransport,
    to test dispatch without a server.

        def handler(report, payload, idempotency_key):
            if payload["parkCode"] == "unknown":
                raise PermanentDeliveryError("mock: 业务错误 2002 园区编码不存在", code="2002")
            return Receipt(f"R-{idempotency_key}")

        runtime = PlatformRuntime("provincial", MockPlatform(handler), RetrySettings(),
                                  ProvincialPlatform.reports)
    """

    name: ClassVar[str] = "mock"
    config_model: ClassVar[type[AdapterConfig]] = AdapterConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {}

    def __init__(self, handler: SendHandler) -> None:
        super().__init__(AdapterConfig())
        self.handler = handler

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        return self.handler(report, payload, idempotency_key)


# -- JSON over HTTP -------------------------------------------------------------------------

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
UNKNOWN_CODE = ("未知错误 (unknown code)", False)
RECEIPT_MAX = 128
"""The longest receipt id kept (deliveries.receipt_id)."""


def post(
    client: httpx.Client, url: str, *, platform: str, timeout: float, **request: Any
) -> httpx.Response:
    """POST (`request`: httpx's content=, files=, data=, headers=); connection problems and
    timeouts become TransientDeliveryError naming `platform`."""
    try:
        return client.post(url, timeout=timeout, **request)
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"{platform}: 超时 (timeout: {type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"{platform}: 连接失败 (connection failed: {exc})") from None


def _at(answer: Mapping[str, Any], path: str) -> Any:
    value: Any = answer
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class AnswerSpec:
    """How a JSON platform answers: which business code is success and what the others mean,
    and where (dotted paths) the code, the message, the receipt id and the duplicate flag are.

    >>> spec = AnswerSpec({"0": ("成功", False), "5000": ("系统繁忙 (busy)", True)}, success="0",
    ...                   receipt_at="data.receiptNo")
    """

    codes: Mapping[Any, tuple[str, bool]]
    """Business code -> (meaning, transient): the protocol table. Codes compare as text; a code
    not in the table is a permanent error."""
    success: str | int
    receipt_at: str
    code_at: str = "code"
    message_at: str = "message"
    duplicate_at: str | None = "data.duplicate"
    success_at: str | None = None
    """Where success is told, when not by the business code (fire: `result` is "ok")."""

    @cached_property
    def _by_text(self) -> dict[str, tuple[str, bool]]:
        return {str(code): meaning for code, meaning in self.codes.items()}

    def read(self, response: httpx.Response, platform: str) -> dict[str, Any]:
        """The answer of a successful request, or raise the DeliveryError it means: HTTP 5xx,
        408, 425, 429 and a body that is no JSON object (a gateway's page) are transient, any
        other non-2xx permanent; a business code other than success is an error, transient or
        permanent as the table says."""
        status = response.status_code
        if not 200 <= status < 300:
            message = f"{platform}: HTTP {status}: {response.text[:300]}"
            if status >= 500 or status in (408, 425, 429):
                raise TransientDeliveryError(message, code=str(status), http_status=status)
            raise PermanentDeliveryError(message, code=str(status), http_status=status)
        try:
            answer = jsonutil.loads(response.content)
        except jsonutil.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict):
            raise TransientDeliveryError(
                f"{platform}: 应答不是JSON对象 (response is not a JSON object: "
                f"{response.text[:200]!r})",
                http_status=status,
            )
        if str(_at(answer, self.success_at or self.code_at)) != str(self.success):
            code = str(_at(answer, self.code_at))
            meaning, transient = self._by_text.get(code, UNKNOWN_CODE)
            told = _at(answer, self.message_at)
            message = f"{platform}: 业务错误 {code} {meaning}: {'' if told is None else told}"
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(message, code=code, http_status=status)
        return answer

    def receipt(
        self, answer: Mapping[str, Any], platform: str, detail: Mapping[str, Any] | None = None
    ) -> Receipt:
        """The receipt in a success answer; a success without a receipt id, or with one that
        is no receipt id (not text or a number, or past RECEIPT_MAX characters), is permanent."""
        receipt_id = _at(answer, self.receipt_at)
        if receipt_id is None or receipt_id == "":
            raise PermanentDeliveryError(
                f"{platform}: 成功应答缺少回执号 (success without {self.receipt_at})"
            )
        if (
            isinstance(receipt_id, bool)
            or not isinstance(receipt_id, str | int)
            or len(str(receipt_id)) > RECEIPT_MAX
        ):
            raise PermanentDeliveryError(
                f"{platform}: 成功应答的回执号无效 (success with an invalid {self.receipt_at}: "
                f"{str(receipt_id)[:80]!r})"
            )
        duplicate = bool(_at(answer, self.duplicate_at)) if self.duplicate_at else False
        kept = answer if detail is None else detail
        return Receipt(str(receipt_id), duplicate=duplicate, detail=kept)


class JsonApiConfig(AdapterConfig):
    """Base of a JSON platform's config: where the platform is and how long to wait for it."""

    base_url: str = Field(description="the platform's root URL (sandbox: http://127.0.0.1:PORT)")
    timeout_seconds: float = Field(10.0, gt=0)


JsonConfigT = TypeVar("JsonConfigT", bound=JsonApiConfig)


class JsonApiPlatform(Platform[JsonConfigT]):
    """Base of a platform taking JSON over HTTP(S). Declare the paths, how the platform answers,
    and the headers of a request; the base does the rest.

        class DeptPlatform(JsonApiPlatform[DeptConfig]):      # DeptConfig(JsonApiConfig)
            name = "dept"
            config_model = DeptConfig
            reports = {"monthly": ReportSpec("enterprise_monthly", "dept.monthly.yaml")}
            paths = {"monthly": "/api/v1/monthly"}
            answers = AnswerSpec(DEPT_CODES, success="0", receipt_at="data.receiptNo")

            def headers(self, path, body, idempotency_key):
                return {"X-Token": self.config.token.get_secret_value(),
                        "X-Idempotency-Key": idempotency_key}

    `send` posts the payload to `base_url + paths[report]`; timeouts and connection errors are
    transient, and the answer is read by `answers` (AnswerSpec.read: HTTP status, JSON, business
    code, then the receipt id and duplicate flag).
    """

    paths: ClassVar[Mapping[str, str]]
    """Report name -> URL path under `base_url`."""
    answers: ClassVar[AnswerSpec]
    """How the platform answers: its protocol table."""

    @abc.abstractmethod
    def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
        """The headers of one request: its authentication (a signature, a token) and the
        idempotency key. Called for every request, so a signature gets a fresh nonce."""

    def renew_credentials(self, error: DeliveryError, response: httpx.Response) -> bool:
        """Whether `error` means the credentials went stale and were renewed: the request is
        then sent once more, with new headers. Default: never."""
        return False

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def check(self) -> None:
        """The platform answers at `base_url` (any HTTP status: a GET sends no report)."""
        try:
            self.http.get(self.config.base_url, timeout=self.config.timeout_seconds)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(
                f"{self.name}: 无法连接 (cannot reach {self.config.base_url}: {exc})"
            ) from None

    @final
    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        status, answer = self._exchange(
            self.paths[report], jsonutil.dumps(payload), idempotency_key
        )
        return replace(self.answers.receipt(answer, self.name), http_status=status)

    @final
    def exchange(self, path: str, body: bytes, idempotency_key: str) -> dict[str, Any]:
        """POST `body` to `path`: the answer, or the DeliveryError it means."""
        return self._exchange(path, body, idempotency_key)[1]

    @final
    def _exchange(self, path: str, body: bytes, idempotency_key: str) -> tuple[int, dict[str, Any]]:
        for attempt in (1, 2):
            signed = self.headers(path, body, idempotency_key)
            headers = {"Content-Type": JSON_CONTENT_TYPE, **signed}
            response = post(
                self.http,
                self.url(path),
                platform=self.name,
                timeout=self.config.timeout_seconds,
                content=body,
                headers=headers,
            )
            try:
                return response.status_code, self.answers.read(response, self.name)
            except DeliveryError as exc:
                if attempt == 2 or not self.renew_credentials(exc, response):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
