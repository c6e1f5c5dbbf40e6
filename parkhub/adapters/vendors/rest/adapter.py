"""`vendor: rest`: a vendor's paged JSON API pulled as its YAML spec says, with no Python.

sources:
  - name: smartpark-lc
    vendor: rest
    park: wz-lc-0001
    schedule: {every_seconds: 300}
    config:
      spec: vendors/smartpark.vendor.yaml   # or the spec itself, inline
      base_url: https://api.smartpark.example.com
      app_key: YOUR_APP_KEY
      app_secret: env:SMARTPARK_APP_SECRET
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any, ClassVar
from urllib.parse import urljoin

import httpx
import jmespath
from pydantic import BaseModel, Field, field_validator, model_validator

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import Parsed, RawBatch, RawMessage, SourceContext, VendorAdapter
from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError, InputWarning, PermanentSourceError, SourceError
from parkhub.secrets import Secret

from .auth import ClientCredentials, NoAuth, RequestAuth, Signer, StaticToken
from .client import Answer, RestClient
from .mapping import FieldError, StreamMapper
from .paging import Page, Pager
from .spec import OAuth2Auth, RestSpec, SignedAuth, StreamSpec, TokenAuth, load_spec


class RestConfig(AdapterConfig):
    """A source's `config:` for `vendor: rest`: the spec, where the API is, the credentials."""

    spec: RestSpec | str = Field(
        description="the vendor's spec: a path to its YAML file (relative to the working "
        "directory), or the spec itself"
    )
    base_url: str | None = Field(None, description="the API root; default: the spec's base_url")
    token: Secret | None = Field(None, description="auth type token: env:NAME or file:NAME")
    app_key: str | None = Field(None, description="auth signed: the app key; oauth2: client id")
    app_secret: Secret | None = Field(
        None, description="auth signed: the signing secret; oauth2: the client secret"
    )
    timeout_seconds: float = Field(15.0, gt=0, le=300)

    @field_validator("spec", mode="after")
    @classmethod
    def _load(cls, value: RestSpec | str) -> RestSpec:
        return value if isinstance(value, RestSpec) else load_spec(value)

    @model_validator(mode="after")
    def _complete(self) -> RestConfig:
        spec = self.rest_spec
        if not (self.base_url or spec.base_url):
            raise ValueError(f"spec {spec.name} has no base_url: give the source's base_url")
        auth = spec.auth
        need: tuple[str, ...] = ()
        if isinstance(auth, TokenAuth):
            need = ("token",)
        elif isinstance(auth, (SignedAuth, OAuth2Auth)):
            need = ("app_key", "app_secret")
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            what = auth.type if auth else ""
            raise ValueError(f"spec {spec.name} authenticates by {what}: give {', '.join(missing)}")
        return self

    @property
    def rest_spec(self) -> RestSpec:
        assert isinstance(self.spec, RestSpec)  # loaded by the validator
        return self.spec

    @property
    def root(self) -> str:
        return (self.base_url or self.rest_spec.base_url or "").rstrip("/")


class RestAdapter(VendorAdapter[RestConfig]):
    """Pulls each stream of its spec, page by page, from the saved cursor."""

    name: ClassVar[str] = "rest"
    config_model: ClassVar[type[RestConfig]] = RestConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"pull"})
    documents: ClassVar[dict[str, type[BaseModel]]] = {"spec": RestSpec}

    def __init__(
        self, source: SourceContext, config: RestConfig, *, http: httpx.Client | None = None
    ) -> None:
        super().__init__(source, config, http=http)
        self.spec = config.rest_spec
        self.client = RestClient(
            self.spec,
            self._auth(),
            http=lambda: self.http,
            source=source.name,
            timeout=config.timeout_seconds,
        )
        self._mappers = {
            n: StreamMapper(self.spec, s, source.name) for n, s in self.spec.streams.items()
        }
        self._records = {
            n: jmespath.compile(s.records or self.spec.records)
            for n, s in self.spec.streams.items()
        }
        self._cursors = {
            n: jmespath.compile(s.incremental.field)
            for n, s in self.spec.streams.items()
            if s.incremental
        }

    def _auth(self) -> RequestAuth:
        auth, cfg = self.spec.auth, self.config
        if isinstance(auth, TokenAuth) and cfg.token is not None:
            return StaticToken(auth, cfg.token)
        if isinstance(auth, SignedAuth) and cfg.app_key and cfg.app_secret is not None:
            return Signer(auth, cfg.app_key, cfg.app_secret)
        if isinstance(auth, OAuth2Auth) and cfg.app_key and cfg.app_secret is not None:
            return ClientCredentials(
                auth,
                cfg.app_key,
                cfg.app_secret,
                token_url=urljoin(cfg.root + "/", auth.token_url),
                http=lambda: self.http,
                timeout=cfg.timeout_seconds,
                source=self.source.name,
            )
        return NoAuth()

    def pull_streams(self) -> tuple[str, ...]:
        return tuple(self.spec.streams)

    # -- check ------------------------------------------------------------------------------

    def check(self) -> None:
        """One live call: the first page of the `check` stream (default: the first stream),
        whose answer must hold the records list where the spec says."""
        name = self.spec.check or next(iter(self.spec.streams))
        stream = self.spec.streams[name]
        page = Pager(stream.paging or self.spec.paging, self.source.name).first(
            self._url(stream), self._params(stream, None)
        )
        answer = self.client.call(stream.method, page.url, stream.path, page.params)
        self._rows(name, answer.doc)

    # -- pull -------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        spec = self.spec.streams.get(stream)
        if spec is None:
            raise PermanentSourceError(
                f"[{self.source.name}] 未知的数据流 (unknown stream {stream!r})"
            )
        inc = spec.incremental
        since = cursor  # the first pull starts at the spec's start value
        if since is None and inc is not None and inc.start is not None:
            since = str(inc.start)
        pager = Pager(spec.paging or self.spec.paging, self.source.name)
        page: Page | None = pager.first(self._url(spec), self._params(spec, since))
        newest, saved, previous = since, cursor, b""
        while page is not None:
            if page.number > self.spec.max_pages:
                raise PermanentSourceError(
                    f"[{self.source.name}] {stream}: 超过 {self.spec.max_pages} 页 (more than "
                    f"max_pages pages: does the paging stop?)"
                )
            answer = self.client.call(spec.method, page.url, spec.path, page.params)
            body = answer.response.content
            if body == previous:
                raise PermanentSourceError(
                    f"[{self.source.name}] {stream}: 同一页返回两次 (the API gave the same page "
                    f"twice: is the paging parameter right?)"
                )
            previous = body
            rows = self._rows(stream, answer.doc)
            newest = self._newest(stream, rows, newest)
            number, stop = page.number, None
            try:
                page = pager.after(page, answer, rows)
            except SourceError as exc:  # this page is good: keep it, then stop
                page, stop = None, exc
            done = page is None and stop is None
            moved = newest if inc is not None and (inc.in_order or done) else saved
            if rows or moved != saved:  # an empty page that moves nothing is not kept
                yield RawBatch(self._raw(stream, body, answer, {"page": number}), moved)
                saved = moved
            if stop is not None:
                raise stop

    def _url(self, stream: StreamSpec) -> str:
        return self.config.root + "/" + stream.path.lstrip("/")

    def _params(self, stream: StreamSpec, since: str | None) -> dict[str, Any]:
        params: dict[str, Any] = dict(stream.params)
        if stream.incremental is not None and since is not None:
            params[stream.incremental.param] = since
        return params

    def _rows(self, stream: str, doc: Any) -> list[Any]:
        rows = self._records[stream].search(doc)
        if rows is None:
            return []
        if not isinstance(rows, list):
            where = self.spec.streams[stream].records or self.spec.records
            raise PermanentSourceError(
                f"[{self.source.name}] {stream}: {where} 不是列表 (the records at {where} are no "
                f"list: is `records` right?)"
            )
        return rows

    def _newest(self, stream: str, rows: list[Any], newest: str | None) -> str | None:
        expr = self._cursors.get(stream)
        if expr is None:
            return newest
        for row in rows:
            value = expr.search(row) if isinstance(row, dict) else None
            if value is not None and value != "" and (newest is None or _after(value, newest)):
                newest = str(value)
        return newest

    def _raw(self, stream: str, body: bytes, answer: Answer, meta: dict[str, Any]) -> RawMessage:
        kind = answer.response.headers.get("content-type", "application/json").split(";")[0]
        return RawMessage(self.source.name, stream, body, kind, utcnow(), meta=meta)

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage) -> Iterable[Parsed]:
        mapper = self._mappers.get(raw.stream)
        if mapper is None:
            raise InputError(self.source.name, raw.stream, None, "未知的数据流 (unknown stream)")
        try:
            doc = jsonutil.loads(raw.body)
        except jsonutil.JSONDecodeError:
            raise InputError(
                self.source.name, f"{raw.stream}#page", None, "应答不是 JSON (the page is no JSON)"
            ) from None
        where = self.spec.streams[raw.stream].records or self.spec.records
        rows = self._records[raw.stream].search(doc)
        if rows is None:
            rows = []
        if not isinstance(rows, list):
            raise InputError(self.source.name, f"{raw.stream}#page", where, "不是列表 (no list)")
        out: list[Parsed] = []
        for row, index in zip(rows, count()):
            out.extend(self._record(raw.stream, mapper, row, index))
        return out

    def _record(self, stream: str, mapper: StreamMapper, row: Any, index: int) -> list[Parsed]:
        name = self.source.name

        def ref() -> str:  # made only when there is something to report
            return mapper.reference(stream, row, index)

        try:
            data, warnings = mapper.data(row)
        except FieldError as exc:
            return [InputError(name, ref(), exc.field, exc.reason)]
        built = self.build(mapper.model, ref, data, field_names=mapper.field_names)
        if warnings and not isinstance(built[0], InputError):
            built.extend(InputWarning(name, ref(), None, w) for w in warnings)
        return built


def _after(value: Any, newest: str) -> bool:
    """Whether a cursor value is past `newest`: as numbers when both are, else as text (ISO and
    `YYYY-MM-DD HH:MM:SS` times order as text)."""
    try:
        return float(value) > float(newest)
    except (TypeError, ValueError):
        return str(value) > newest
