"""Paging a REST vendor's list: page number, offset, cursor token, next link, or one request.

A pager gives the first request's parameters and, from each answer, the next request or None
when the list is done: at an empty page always, at `total` records read, at a false
`has_more`, when no token or link follows. The adapter adds the loop guards (a page limit,
the same page twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import jmespath

from parkhub.errors import PermanentSourceError

from .client import Answer
from .spec import CursorPaging, LinkPaging, NoPaging, OffsetPaging, PagePaging, Paging


@dataclass
class Page:
    """One request of a list: where, and with what parameters."""

    url: str
    params: dict[str, Any]
    number: int = 1
    token: Any = field(default=None, compare=False)


class Pager:
    """Walks one list; a new pager for every pull."""

    def __init__(self, spec: Paging, source: str) -> None:
        self.spec = spec
        self.source = source
        self.seen = 0
        total = getattr(spec, "total", None)
        more = getattr(spec, "has_more", None)
        self._total = jmespath.compile(total) if total else None
        self._more = jmespath.compile(more) if more else None

    def first(self, url: str, params: dict[str, Any]) -> Page:
        return Page(url, {**params, **self._start()})

    def after(self, page: Page, answer: Answer, rows: list[Any]) -> Page | None:
        """The next request after `page`, which gave `rows`; None when the list is done."""
        self.seen += len(rows)
        if not rows or isinstance(self.spec, NoPaging) or self._done(answer.doc):
            return None
        nxt = self._next(page, answer, rows)
        if nxt is not None:
            nxt.number = page.number + 1
        return nxt

    def _start(self) -> dict[str, Any]:
        spec = self.spec
        if isinstance(spec, PagePaging):
            return {spec.page: spec.first, **({spec.size: spec.limit} if spec.size else {})}
        if isinstance(spec, OffsetPaging):
            return {spec.offset: 0, **({spec.size: spec.limit} if spec.size else {})}
        if isinstance(spec, CursorPaging) and spec.size and spec.limit:
            return {spec.size: spec.limit}
        return {}

    def _done(self, doc: Any) -> bool:
        if self._more is not None and not self._more.search(doc):
            return True
        if self._total is None:
            return False
        total = self._total.search(doc)
        try:
            return self.seen >= int(total)
        except (TypeError, ValueError):
            raise PermanentSourceError(
                f"[{self.source}] 分页: {getattr(self.spec, 'total', '')} 不是数字 (paging: the "
                f"total is {total!r}, not a number: is `total` right?)"
            ) from None

    def _next(self, page: Page, answer: Answer, rows: list[Any]) -> Page | None:
        spec = self.spec
        if isinstance(spec, PagePaging):
            return Page(page.url, {**page.params, spec.page: page.params[spec.page] + 1})
        if isinstance(spec, OffsetPaging):
            return Page(
                page.url, {**page.params, spec.offset: page.params[spec.offset] + len(rows)}
            )
        if isinstance(spec, CursorPaging):
            token = jmespath.search(spec.token, answer.doc)
            if token in (None, ""):
                return None
            if token == page.token:
                raise PermanentSourceError(
                    f"[{self.source}] 分页: 游标未变化 (paging: the API gave the cursor {token!r} "
                    f"twice: is `token` right?)"
                )
            return Page(page.url, {**page.params, spec.param: token}, token=token)
        assert isinstance(spec, LinkPaging)
        return self._link(spec, page, answer)

    def _link(self, spec: LinkPaging, page: Page, answer: Answer) -> Page | None:
        if spec.next:
            link = jmespath.search(spec.next, answer.doc)
        else:
            link = answer.response.links.get("next", {}).get("url")
        if not link or not isinstance(link, str):
            return None
        url = urljoin(str(answer.response.url), link)
        here, there = urlsplit(page.url), urlsplit(url)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            raise PermanentSourceError(
                f"[{self.source}] 分页: 下一页链接指向其他主机，未跟随 (paging: the next link "
                f"leaves {here.netloc} for {there.netloc}; not followed with our credentials)"
            )
        bare = urlunsplit((there.scheme, there.netloc, there.path, "", ""))
        return Page(bare, dict(parse_qsl(there.query, keep_blank_values=True)))
