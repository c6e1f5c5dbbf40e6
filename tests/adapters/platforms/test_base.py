"""The JSON-API base (what every JSON platform inherits) at its edges, against httpx's mock
transport: answers that are no JSON, successes without a receipt, unknown codes, lost
connections, econ's one token refresh; and the mock twin of a platform."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from parkhub.adapters.platforms.base import MockPlatform, Receipt
from parkhub.adapters.platforms.econ import EconConfig, EconPlatform
from parkhub.adapters.platforms.provincial import ProvincialConfig, ProvincialPlatform
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols import econ as econ_proto

Handler = Callable[[httpx.Request], httpx.Response]
PAYLOAD = {"parkCode": "wz-lc-0001"}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKHUB_TEST_BASE_SECRET", "base-secret-3e1f")


@pytest.fixture
def provincial() -> Iterator[Callable[[Handler], ProvincialPlatform]]:
    made: list[ProvincialPlatform] = []

    def make(handler: Handler) -> ProvincialPlatform:
        config = ProvincialConfig(
            base_url="http://127.0.0.1:9",
            app_key="k",
            app_secret="env:PARKHUB_TEST_BASE_SECRET",  # type: ignore[arg-type]
        )
        made.append(
            ProvincialPlatform(config, http=httpx.Client(transport=httpx.MockTransport(handler)))
        )
        return made[-1]

    yield make
    for p in made:
        p.close()


def answering(status: int, body: Any) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return handle


def send(platform: ProvincialPlatform) -> Receipt:
    return platform.send("park_monthly", PAYLOAD, "ph2-base-1")


def test_a_success_gives_the_receipt_and_the_duplicate_flag(provincial: Any) -> None:
    answer = {"code": "0", "data": {"receiptNo": "ZJ1", "duplicate": True}}
    receipt = send(provincial(answering(200, answer)))
    assert (receipt.receipt_id, receipt.duplicate, receipt.detail) == ("ZJ1", True, answer)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (200, b"<html>gateway</html>", TransientDeliveryError, "应答不是JSON对象"),
        (200, [1, 2], TransientDeliveryError, "not a JSON object"),
        (200, {"code": "0", "data": {}}, PermanentDeliveryError, "缺少回执号"),
        (200, {"code": "0", "data": None}, PermanentDeliveryError, "data.receiptNo"),
        (
            200,
            {"code": "0", "data": {"receiptNo": {"no": "ZJ1"}}},
            PermanentDeliveryError,
            "回执号无效",
        ),
        (200, {"code": "0", "data": {"receiptNo": "Z" * 129}}, PermanentDeliveryError, "invalid"),
        (200, {"code": "0", "data": {"receiptNo": True}}, PermanentDeliveryError, "回执号无效"),
        (200, {"code": "7777", "message": "新错误"}, PermanentDeliveryError, "未知错误"),
        (200, {"code": "1003", "message": "重复"}, TransientDeliveryError, "重复的 nonce"),
        (408, {}, TransientDeliveryError, "HTTP 408"),
        (425, {}, TransientDeliveryError, "HTTP 425"),
        (404, {}, PermanentDeliveryError, "HTTP 404"),
    ],
)
def test_answers_are_classified(
    provincial: Any, status: int, body: Any, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        send(provincial(answering(status, body)))


def test_a_business_error_names_platform_code_meaning_and_message(provincial: Any) -> None:
    answer = {"code": "2002", "message": "园区编码 wz-x 不存在", "data": None}
    with pytest.raises(PermanentDeliveryError) as err:
        send(provincial(answering(200, answer)))
    assert str(err.value) == (
        "provincial: 业务错误 2002 园区编码不存在 (unknown park code): 园区编码 wz-x 不存在"
    )
    assert err.value.code == "2002"


def test_a_lost_connection_is_transient(provincial: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientDeliveryError, match="provincial: 连接失败"):
        send(provincial(refuse))


def test_each_request_is_signed_anew(provincial: Any) -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "0", "data": {"receiptNo": "ZJ1"}})

    platform = provincial(ok)
    send(platform)
    send(platform)
    assert seen[0].headers["nonce"] != seen[1].headers["nonce"]
    assert seen[0].headers["X-Request-Id"] == seen[1].headers["X-Request-Id"] == "ph2-base-1"
    assert seen[0].headers["Content-Type"] == "application/json; charset=utf-8"


# -- econ: the token is renewed once ----------------------------------------------------------


def econ(report_answers: list[dict[str, Any]]) -> tuple[EconPlatform, list[str]]:
    """An econ platform whose report requests get `report_answers` (httpx.Response keywords)
    in turn; and the tokens those requests carried."""
    tokens: list[str] = []
    issued = iter(range(1, 100))

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == econ_proto.TOKEN_PATH:
            data = {"accessToken": f"t{next(issued)}", "expiresIn": 7200}
            return httpx.Response(200, json={"code": "0", "data": data})
        tokens.append(request.headers["Authorization"])
        return httpx.Response(**report_answers.pop(0))

    config = EconConfig(
        base_url="http://127.0.0.1:9",
        client_id="c",
        client_secret="env:PARKHUB_TEST_BASE_SECRET",  # type: ignore[arg-type]
    )
    return EconPlatform(config, http=httpx.Client(transport=httpx.MockTransport(handle))), tokens


OK = {"status_code": 200, "json": {"code": "0", "data": {"receiptId": "JX1"}}}
HTTP_401 = {"status_code": 401, "json": {"code": "40101"}}
CODE_40101 = {"status_code": 200, "json": {"code": "40101", "message": "令牌无效"}}


@pytest.mark.parametrize("refused", [HTTP_401, CODE_40101])
def test_econ_renews_a_refused_token_once_and_resends(refused: dict[str, Any]) -> None:
    platform, tokens = econ([refused, OK])
    assert platform.send("park_monthly", PAYLOAD, "ph2-e").receipt_id == "JX1"
    assert tokens == ["Bearer t1", "Bearer t2"] and platform.tokens_fetched == 2


@pytest.mark.parametrize(
    ("refused", "error"),
    [(HTTP_401, PermanentDeliveryError), (CODE_40101, TransientDeliveryError)],
)
def test_econ_refused_again_after_the_renewal(
    refused: dict[str, Any], error: type[Exception]
) -> None:
    platform, tokens = econ([refused, refused, OK])
    with pytest.raises(error, match="econ"):
        platform.send("park_monthly", PAYLOAD, "ph2-e")
    assert len(tokens) == 2  # one resend, not a loop


# -- the mock twin ----------------------------------------------------------------------------


def test_the_mock_platform_calls_the_handler() -> None:
    calls: list[tuple[str, Any, str]] = []

    def handler(report: str, payload: Any, key: str) -> Receipt:
        calls.append((report, payload, key))
        if payload.get("bad"):
            raise PermanentDeliveryError("mock: 业务错误 2002", code="2002")
        return Receipt(f"R-{key}")

    platform = MockPlatform(handler)
    assert platform.send("park_monthly", PAYLOAD, "ph2-1").receipt_id == "R-ph2-1"
    with pytest.raises(PermanentDeliveryError, match="2002"):
        platform.send("park_monthly", {"bad": True}, "ph2-2")
    assert calls == [("park_monthly", PAYLOAD, "ph2-1"), ("park_monthly", {"bad": True}, "ph2-2")]
