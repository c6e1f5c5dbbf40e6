"""One REST request: retried with backoff while transient (Retry-After honoured), spaced to the
rate limit, classified transient or permanent; an OAuth2 token kept until it expires."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from parkhub.adapters.vendors.rest.auth import ClientCredentials, NoAuth
from parkhub.adapters.vendors.rest.client import RestClient, Spacing
from parkhub.adapters.vendors.rest.spec import OAuth2Auth, parse_spec
from parkhub.errors import PermanentSourceError, TransientSourceError

Handler = Callable[[httpx.Request], httpx.Response]


def _client(answers: list[httpx.Response], **spec: Any) -> tuple[RestClient, list[float]]:
    """A client whose vendor answers `answers` in turn; the waits it made, recorded."""
    replies = iter(answers)
    data = {"name": "acme", "streams": {"s": {"path": "/s", "kind": "device",
            "fields": {"device_id": "id", "device_type": "t"}}}, **spec}  # fmt: skip
    http = httpx.Client(transport=httpx.MockTransport(lambda request: next(replies)))
    waits: list[float] = []
    client = RestClient(parse_spec(data), NoAuth(), http=lambda: http, source="acme-lc",
                        timeout=5, sleep=waits.append)  # fmt: skip
    return client, waits


def _call(client: RestClient) -> Any:
    return client.call("GET", "http://127.0.0.1:9/s", "/s", {"page": 1}).doc


def test_transient_failures_are_retried_with_backoff_then_succeed() -> None:
    client, waits = _client(
        [httpx.Response(503), httpx.Response(200, json={"code": 50001, "msg": "忙"}),
         httpx.Response(200, json={"code": 0, "data": [1]})],
        errors={"transient": [50001]}, retry={"attempts": 3, "wait_s": 0.5},
    )  # fmt: skip
    assert _call(client) == {"code": 0, "data": [1]}
    assert waits == [0.5, 1.0]  # doubling


def test_retry_after_is_honoured_up_to_the_longest_wait() -> None:
    client, waits = _client(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})],
        retry={"wait_s": 0.5, "max_wait_s": 5},
    )
    _call(client)
    assert waits == [5.0]


def test_out_of_tries_is_transient_naming_source_path_and_status() -> None:
    client, waits = _client([httpx.Response(502, json={"code": 1, "msg": "gateway"})] * 3)
    with pytest.raises(TransientSourceError) as caught:
        _call(client)
    assert str(caught.value) == "[acme-lc] GET /s: 暂时失败 (transient: HTTP 502 code=1 gateway)"
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(200, json={"code": 40001, "msg": "参数错误"}),
         "业务错误 (business error: HTTP 200 code=40001 参数错误)"),
        (httpx.Response(404, text="no such path"), "请求被拒绝 (request refused: HTTP 404)"),
        (httpx.Response(403, json={"code": 0}), "认证失败 (credentials refused: HTTP 403 code=0)"),
    ],
)  # fmt: skip
def test_permanent_failures_are_not_retried(answer: httpx.Response, said: str) -> None:
    client, waits = _client([answer])
    with pytest.raises(PermanentSourceError, match=said.replace("(", r"\(").replace(")", r"\)")):
        _call(client)
    assert waits == []


def test_an_answer_that_is_no_json_is_transient() -> None:
    client, _ = _client([httpx.Response(200, text="<html>维护中</html>")] * 3)
    with pytest.raises(TransientSourceError, match="the answer is no JSON"):
        _call(client)


def test_the_rate_limit_spaces_requests() -> None:
    now = itertools.count(100.0, 0.0)  # time stands still: every request wants to go at once
    waits: list[float] = []
    spacing = Spacing(5.0, clock=lambda: next(now), sleep=waits.append)
    for _ in range(3):
        spacing.wait()
    assert waits == pytest.approx([0.2, 0.4])  # 5 a second at most


def test_an_oauth2_token_is_kept_until_it_expires() -> None:
    clock = [1000.0]
    bought: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bought.append(request.content.decode())
        return httpx.Response(200, json={"access_token": f"t{len(bought)}", "expires_in": 120})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    auth = ClientCredentials(
        OAuth2Auth(type="oauth2", token_url="/oauth/token", early_expiry_s=60), "id",
        SecretStr("s3cret"), token_url="http://127.0.0.1:9/oauth/token", http=lambda: http,
        timeout=5, source="acme-lc", clock=lambda: clock[0],
    )  # fmt: skip
    assert auth.token() == "t1"
    clock[0] += 59
    assert auth.token() == "t1"  # kept
    clock[0] += 2  # 61 s: within early_expiry_s of the 120 s it lives
    assert auth.token() == "t2"
    assert bought[0] == "grant_type=client_credentials&client_id=id&client_secret=s3cret"
