"""The REST vendor spec: a vendor's paged JSON API described in YAML, with no Python.

One file says how to authenticate, page, find the records in an answer, tell a business error
inside HTTP 200, resume after the last pull, and map each record into a canonical kind. Learnt
from Airbyte's low-code manifests and dlt's `rest_api` source, with what parks need besides:
signed requests as Chinese vendor APIs sign them, business codes, units, local time and credit
codes. Everything is checked when the spec loads; an error names the place in the file.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jmespath
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from parkhub.canonical import RECORD_TYPES, units


def _jmespath(text: str) -> str:
    try:
        jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"不是有效的 JMESPath (not a valid JMESPath {text!r}: {exc})") from None
    return text


def _map_keys(value: Any) -> Any:
    """YAML reads `1:` and `true:` as numbers and booleans; a map is looked up by text."""
    if not isinstance(value, dict):
        return value
    return {(str(k).lower() if isinstance(k, bool) else str(k)): v for k, v in value.items()}


Path_ = Annotated[str, AfterValidator(_jmespath)]
"""A JMESPath over a record or an answer, e.g. `data.list`, `meter.code`, `"电表号"`."""
Code = int | str
Scalar = str | int | float | bool


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- auth -------------------------------------------------------------------------------------


class TokenAuth(_Spec):
    """A static token, the source's `token`: in a header (`Authorization: Bearer <token>` by
    default) or, with `query`, as a query parameter."""

    type: Literal["token"]
    header: str = "Authorization"
    prefix: str = Field("Bearer ", description="put before the token in the header")
    query: str | None = Field(None, description="send the token as this query parameter instead")


SIGN_FIELDS = frozenset({"params", "secret", "key", "timestamp", "nonce", "method", "path"})


class SignedAuth(_Spec):
    """Every request signed, as Chinese vendor APIs commonly sign: the app key, a timestamp and
    a nonce join the request's parameters; `canonical` (with `{params}`: every parameter but
    the signature, sorted by name, as `k=v` joined by `&`) is digested with the source's
    `app_secret`, and the signature goes in `sign_param`."""

    type: Literal["signed"]
    digest: Literal["md5", "sha256", "hmac-sha256"] = Field(
        "hmac-sha256",
        description="md5 and sha256 hash `canonical` (which must hold {secret}); hmac-sha256 "
        "keys it with the secret",
    )
    canonical: str = Field(
        "{params}",
        description="the string signed: {params} {secret} {key} {timestamp} {nonce} {method} "
        "{path}, e.g. '{secret}{params}{secret}'",
    )
    key_param: str = "appKey"
    timestamp_param: str = "timestamp"
    timestamp_unit: Literal["ms", "s"] = "ms"
    nonce_param: str | None = Field("nonce", description="null: no nonce")
    sign_param: str = "sign"
    pair: str = Field("=", description="between a parameter's name and value in {params}")
    join: str = Field("&", description="between parameters in {params}")
    uppercase: bool = Field(True, description="the hex digest in upper case")
    skip_empty: bool = Field(True, description="leave parameters with empty values unsigned")
    place: Literal["query", "header"] = Field(
        "query", description="where key, timestamp, nonce and signature travel"
    )

    @field_validator("canonical")
    @classmethod
    def _names(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"canonical: {exc}") from None
        unknown = sorted(n for n in names if n not in SIGN_FIELDS)
        if unknown:
            known = ", ".join("{" + n + "}" for n in sorted(SIGN_FIELDS))
            raise ValueError(f"canonical: unknown {unknown}; use {known}")
        return value

    @model_validator(mode="after")
    def _secret_in_plain_digests(self) -> SignedAuth:
        if self.digest != "hmac-sha256" and "{secret}" not in self.canonical:
            raise ValueError(
                f"a {self.digest} signature must hash the secret: put {{secret}} in canonical"
            )
        return self


class OAuth2Auth(_Spec):
    """OAuth2 client credentials: the source's `app_key` (client id) and `app_secret` (client
    secret) buy a token at `token_url`, kept until it expires (less `early_expiry_s`) and bought
    again when the vendor refuses it."""

    type: Literal["oauth2"]
    token_url: str = Field(description="absolute, or a path under the base URL")
    scope: str | None = None
    client_auth: Literal["body", "basic"] = Field(
        "body", description="client id and secret in the form body, or as HTTP Basic"
    )
    header: str = "Authorization"
    prefix: str = "Bearer "
    early_expiry_s: float = Field(60.0, ge=0, description="buy a new token this long before")


Auth = Annotated[TokenAuth | SignedAuth | OAuth2Auth, Field(discriminator="type")]

# -- paging -----------------------------------------------------------------------------------

_TOTAL = "JMESPath to the number of records in all pages: stop once that many were read"
_MORE = "JMESPath to a flag that is false on the last page"


class PagePaging(_Spec):
    """Page number and size: `?page=1&size=100`, then 2, 3, ...; stops at `total`, at a false
    `has_more` or at an empty page."""

    type: Literal["page"]
    page: str = Field("page", description="the page number parameter")
    size: str | None = Field("size", description="the page size parameter (null: none)")
    limit: int = Field(100, ge=1, description="records per page asked for")
    first: int = Field(1, ge=0, description="the number of the first page")
    total: Path_ | None = Field(None, description=_TOTAL)
    has_more: Path_ | None = Field(None, description=_MORE)


class OffsetPaging(_Spec):
    """Offset and limit: `?offset=0&limit=100`, then 100, 200, ... (by the records read)."""

    type: Literal["offset"]
    offset: str = "offset"
    size: str | None = Field("limit", description="the page size parameter (null: none)")
    limit: int = Field(100, ge=1)
    total: Path_ | None = Field(None, description=_TOTAL)
    has_more: Path_ | None = Field(None, description=_MORE)


class CursorPaging(_Spec):
    """A cursor token the answer gives for the next page: stops when it is missing or empty."""

    type: Literal["cursor"]
    token: Path_ = Field(description="JMESPath to the next page's token in the answer")
    param: str = Field("cursor", description="the parameter the token goes back in")
    size: str | None = Field(None, description="the page size parameter, if any")
    limit: int | None = Field(None, ge=1)
    has_more: Path_ | None = Field(None, description=_MORE)


class LinkPaging(_Spec):
    """A link to the next page, in the answer (`next`) or in the `Link` header (rel=next)."""

    type: Literal["link"]
    next: Path_ | None = Field(None, description="JMESPath to the next URL; null: Link header")


class NoPaging(_Spec):
    """One request gives everything."""

    type: Literal["none"]


Paging = Annotated[
    PagePaging | OffsetPaging | CursorPaging | LinkPaging | NoPaging, Field(discriminator="type")
]

# -- errors, retry, state ---------------------------------------------------------------------


class ErrorSpec(_Spec):
    """Business codes inside HTTP 200. A code in `success` (or no code at all) is success; in
    `transient`, retried; in `auth`, the credentials were refused (an OAuth2 token is bought
    again once); any other code is a permanent error."""

    code: Path_ | None = Field("code", description="JMESPath to the business code")
    message: Path_ | None = Field("msg", description="JMESPath to its message")
    success: list[Code] = Field(default_factory=lambda: list[Code]([0]))
    transient: list[Code] = Field(default_factory=list, description="busy, rate limited, ...")
    auth: list[Code] = Field(default_factory=list, description="token expired, bad signature")


class RetrySpec(_Spec):
    """Transient failures (timeouts, 5xx, 429, transient codes) are retried with exponential
    backoff (Retry-After honoured); then the pull stops, to resume at the next sync."""

    attempts: int = Field(3, ge=1, le=10, description="tries per request")
    wait_s: float = Field(0.5, ge=0, description="the first wait; it doubles")
    max_wait_s: float = Field(30.0, ge=0)


class Incremental(_Spec):
    """Resume after the last pull: the largest `field` seen is the source's cursor, saved with
    the records of its page, and sent as `param` on the next pull's first request."""

    field: Path_ = Field(description="the record's cursor field, e.g. updatedAt or id")
    param: str = Field(description="the request parameter that takes the cursor")
    start: Scalar | None = Field(None, description="the value of the first pull")
    in_order: bool = Field(
        False,
        description="records come in cursor order: the cursor is saved with every page (a "
        "stopped pull resumes mid-stream); otherwise with the stream's last page",
    )


# -- fields -----------------------------------------------------------------------------------

TIME_FORMATS = ("iso", "epoch_ms", "epoch_s")
UNIT_SUFFIXES = {"_yuan": "yuan", "_kwh": "kWh", "_m2": "m2", "_tce": "tce"}
"""A canonical field named so holds its value in that unit."""
KINDS = ("measurement", "event", "enterprise", "enterprise_monthly", "device")
Kind = Literal["measurement", "event", "enterprise", "enterprise_monthly", "device"]
NOT_MAPPED = frozenset({"park_id", "credit_code_valid"})


class FieldSpec(_Spec):
    """One canonical field: where its value is (`path`) or a constant, then, in this order:
    `default` for a missing value, `map` (vendor value -> canonical), `time`, `scale`, `unit`."""

    path: Path_ | None = Field(None, description="JMESPath over the record")
    const: Scalar | None = Field(None, description="a fixed value instead of a path")
    default: Scalar | None = Field(None, description="when the record has no value")
    map: Annotated[dict[str, Scalar | None] | None, BeforeValidator(_map_keys)] = Field(
        None, description="vendor value -> canonical value; a value not listed is an error"
    )
    time: str | None = Field(
        None, description="iso, epoch_ms, epoch_s or a strptime format such as %Y-%m-%d %H:%M:%S"
    )
    tz: str | None = Field(None, description="the zone of times without one (default: the spec's)")
    scale: float | None = Field(None, description="multiply by this")
    unit: str | None = Field(None, description="the vendor's unit (pint), e.g. 万元, MWh, 亩")
    unit_at: Path_ | None = Field(None, description="JMESPath to the record's unit instead")
    to: str | None = Field(None, description="the unit stored (default: the canonical one)")

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if (self.path is None) == (self.const is None):
            raise ValueError("give exactly one of path or const")
        if self.unit is not None and self.unit_at is not None:
            raise ValueError("give unit or unit_at, not both")
        if self.time is not None and self.time not in TIME_FORMATS and "%" not in self.time:
            raise ValueError(f"time: {', '.join(TIME_FORMATS)} or a strptime format with %")
        if self.tz is not None:
            _zone(self.tz)
        for unit in filter(None, (self.unit, self.to)):
            units.base_unit(unit)  # ValueError for a unit pint does not know
        return self


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Shanghai)") from None


class StreamSpec(_Spec):
    """One list the API serves, and the canonical kind each of its records becomes."""

    path: str = Field(description="under the base URL, e.g. /openapi/v1/alarms")
    method: Literal["GET", "POST"] = Field("GET", description="POST sends parameters as JSON")
    params: dict[str, Scalar] = Field(default_factory=dict, description="sent with every request")
    kind: Kind
    records: Path_ | None = Field(None, description="JMESPath to the list (default: the spec's)")
    paging: Paging | None = Field(None, description="default: the spec's")
    incremental: Incremental | None = None
    ref: Path_ | None = Field(None, description="names a record in errors (default: its key)")
    fields: dict[str, FieldSpec | Path_] = Field(description="canonical field <- vendor data")

    @model_validator(mode="after")
    def _fields(self) -> StreamSpec:
        model = RECORD_TYPES[self.kind]
        known = [n for n in model.model_fields if n not in NOT_MAPPED]
        for name in self.fields:
            if name not in known:
                raise ValueError(
                    f"fields.{name}: {self.kind} has no such field ({', '.join(known)})"
                )
        required = [n for n in known if model.model_fields[n].is_required()]
        missing = [n for n in required if n not in self.fields]
        if missing:
            raise ValueError(f"fields: {self.kind} needs {', '.join(missing)}")
        for name, spec in self.fields.items():
            if isinstance(spec, FieldSpec):
                _check_units(self.kind, name, spec)
        return self

    def field(self, name: str) -> FieldSpec | None:
        spec = self.fields.get(name)
        return FieldSpec(path=spec) if isinstance(spec, str) else spec


def canonical_unit(kind: str, name: str) -> str | None:
    """The unit a canonical field holds its value in (None: the value's own, for
    Measurement.value; or no unit at all)."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return None


def _check_units(kind: str, name: str, spec: FieldSpec) -> None:
    if spec.unit is None and spec.unit_at is None and spec.to is None:
        return
    target = spec.to or canonical_unit(kind, name)
    if (kind, name) != ("measurement", "value") and canonical_unit(kind, name) is None:
        raise ValueError(f"fields.{name}: units apply to value and *_yuan/_kwh/_m2/_tce fields")
    if spec.to and canonical_unit(kind, name) not in (None, spec.to):
        raise ValueError(f"fields.{name}: holds {canonical_unit(kind, name)}, not {spec.to}")
    if spec.unit is not None and target is not None:
        try:
            units.factor(spec.unit, target)
        except ValueError:
            raise ValueError(f"fields.{name}: {spec.unit} cannot become {target}") from None


# -- the spec ---------------------------------------------------------------------------------


class RestSpec(_Spec):
    """A vendor's REST API: auth, errors, paging and its streams (`vendor: rest`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="the vendor, e.g. smartpark")
    description: str = ""
    base_url: str | None = Field(None, description="the source's `base_url` overrides it")
    timezone: str = Field("Asia/Shanghai", description="the zone of vendor times without one")
    auth: Auth | None = None
    errors: ErrorSpec = ErrorSpec()
    retry: RetrySpec = RetrySpec()
    rate_limit: float | None = Field(None, gt=0, description="requests per second at most")
    paging: Paging = Field(NoPaging(type="none"), description="default of every stream")
    records: Path_ = Field("@", description="JMESPath to the list in an answer (default)")
    max_pages: int = Field(100_000, ge=1, description="a pull stops with an error past this")
    check: str | None = Field(None, description="the stream `check` reads (default: the first)")
    streams: dict[str, StreamSpec] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("streams")
    @classmethod
    def _stream_names(cls, value: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        for name in value:
            if not name.replace("_", "a").isalnum() or not name.isascii():
                raise ValueError(f"stream {name!r}: letters, digits and _ only")
        return value

    @model_validator(mode="after")
    def _check_stream(self) -> RestSpec:
        if self.check is not None and self.check not in self.streams:
            raise ValueError(f"check: no stream {self.check!r}")
        return self


def describe(exc: ValidationError) -> str:
    """Every problem of a spec, one per line, each at its place (`streams.alarms.fields.ts`)."""
    found: list[tuple[str, str]] = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not str(p).endswith("]") and p != "FieldSpec"]
        found.append((".".join(parts), err["msg"].removeprefix("Value error, ")))
    # a field given as a mapping fails as a path too: keep the deepest reason only
    deepest = [
        (loc, msg) for loc, msg in found if not any(o.startswith(loc + ".") for o, _ in found)
    ]
    return "; ".join(dict.fromkeys(f"{loc or '(top)'}: {msg}" for loc, msg in deepest))


def load_spec(source: str | Path) -> RestSpec:
    """Read and check a spec file; ValueError naming the file and every problem in it."""
    path = Path(source).expanduser()
    if not path.is_file():
        raise ValueError(f"规格文件不存在 (spec file not found: {path.resolve()})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    return parse_spec(data, origin=str(path))


def parse_spec(data: Any, *, origin: str = "spec") -> RestSpec:
    try:
        return RestSpec.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{origin}: {describe(exc)}") from None
