"""How a REST vendor request is authenticated: the signature is the one the vendor computes
(each digest checked against hashlib by hand and against the simulator), an OAuth2 token is
bought once and kept until it expires or is refused, a static token goes where the spec says."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from pydantic import SecretStr

from parkhub.adapters.vendors.base import SourceContext
from parkhub.adapters.vendors.rest import RestAdapter, RestConfig
from parkhub.adapters.vendors.rest.auth import Outgoing, Signer
from parkhub.adapters.vendors.rest.spec import SignedAuth
from parkhub.errors import PermanentSourceError
from parkhub.sandbox.server import serve_in_thread
from parkhub.sandbox.smartpark_sim import DEMO_KEY, SmartParkSim
from parkhub.testing import pull_all

from .conftest import Make, spec_of

NOW = 1_790_000_000.123


def _signer(**spec: Any) -> Signer:
    auth = SignedAuth.model_validate({"type": "signed", **spec})
    return Signer(auth, "app-1", SecretStr("s3cret"), clock=lambda: NOW, nonce=lambda: "n0nce")


def _signed(signer: Signer, params: dict[str, Any], method: str = "GET") -> Outgoing:
    request = Outgoing(method, "http://127.0.0.1:9/open/list", "/open/list", params)
    signer.apply(request)
    return request


def test_hmac_sha256_over_the_sorted_parameters() -> None:
    request = _signed(_signer(), {"pageNo": 2, "empty": "", "flag": True})
    text = "appKey=app-1&flag=true&nonce=n0nce&pageNo=2&timestamp=1790000000123"
    expected = hmac.new(b"s3cret", text.encode(), hashlib.sha256).hexdigest().upper()
    assert request.query == {
        "appKey": "app-1",
        "timestamp": "1790000000123",
        "nonce": "n0nce",
        "sign": expected,
    }
    assert request.params == {"pageNo": 2, "empty": "", "flag": True}  # sent as given


def test_md5_with_the_secret_around_the_string_seconds_and_no_nonce() -> None:
    signer = _signer(
        digest="md5", canonical="{secret}{params}{secret}", timestamp_unit="s", nonce_param=None,
        pair="", join="", uppercase=False, key_param="app_key", sign_param="signature",
    )  # fmt: skip
    request = _signed(signer, {"b": "2", "a": "1"})
    text = "s3creta1app_keyapp-1b2timestamp1790000000s3cret"
    assert request.query["signature"] == hashlib.md5(text.encode()).hexdigest()
    assert "nonce" not in request.query


def test_sha256_with_method_path_and_the_key_in_headers() -> None:
    signer = _signer(
        digest="sha256", canonical="{method}\n{path}\n{params}&key={secret}", place="header"
    )
    request = _signed(signer, {"x": "1"}, method="POST")
    text = "POST\n/open/list\nappKey=app-1&nonce=n0nce&timestamp=1790000000123&x=1&key=s3cret"
    assert request.headers["sign"] == hashlib.sha256(text.encode()).hexdigest().upper()
    assert request.query == {} and request.headers["appKey"] == "app-1"


@pytest.mark.parametrize(
    ("digest", "canonical"),
    [("hmac-sha256", "{params}"), ("md5", "{secret}{params}{secret}"),
     ("sha256", "{params}&key={secret}")],
)  # fmt: skip
def test_each_digest_is_accepted_by_the_vendor(digest: str, canonical: str) -> None:
    sim = SmartParkSim(digest=digest)  # type: ignore[arg-type]
    with serve_in_thread(sim.app) as server:
        spec = spec_of(auth={"type": "signed", "digest": digest, "canonical": canonical})
        config = RestConfig.model_validate(
            {
                "spec": spec,
                "base_url": server.url,
                "app_key": DEMO_KEY,
                "app_secret": "env:SP_SECRET",
            }
        )
        adapter = RestAdapter(SourceContext("sp", "p1"), config)
        run = pull_all(adapter, {})
    assert run.failure is None and len(run.records) > 150


def test_a_wrong_secret_is_refused_as_permanent_without_retrying(
    sim: SmartParkSim, make: Make
) -> None:
    adapter = make(app_secret="env:SP_WRONG")
    with pytest.raises(PermanentSourceError, match=r"\[sp\] GET /openapi/v1/enterprises: 认证失败"):
        adapter.check()
    assert len(sim.requests) == 1  # a signature is not renewable: one request
    assert "not-the-secret" not in str(sim.requests)  # the secret never travels


def test_oauth2_buys_one_token_keeps_it_and_buys_again_when_refused(make: Make) -> None:
    sim = SmartParkSim(auth="oauth2")
    with serve_in_thread(sim.app) as server:
        spec = spec_of(auth={"type": "oauth2", "token_url": "/oauth/token"})
        adapter = make(spec=spec, base_url=server.url)
        first = pull_all(adapter, {})
        assert first.failure is None and sim.issued == 1  # one token for every request
        requests = len(sim.requests)
        sim.expire_tokens()  # the vendor revoked it: the next request is refused (HTTP 401)
        sim.add_readings(3)
        second = pull_all(adapter, first.cursors)
        assert second.failure is None and sim.issued == 2
        assert len(second.records) >= 3 and len(sim.requests) > requests


def test_oauth2_with_basic_client_auth(make: Make) -> None:
    sim = SmartParkSim(auth="oauth2")
    with serve_in_thread(sim.app) as server:
        spec = spec_of(auth={"type": "oauth2", "token_url": "/oauth/token", "client_auth": "basic"})
        run = pull_all(make(spec=spec, base_url=server.url), {})
    assert run.failure is None and sim.issued == 1


def test_oauth2_refused_client_credentials_are_permanent(make: Make) -> None:
    sim = SmartParkSim(auth="oauth2")
    with serve_in_thread(sim.app) as server:
        spec = spec_of(auth={"type": "oauth2", "token_url": "/oauth/token"})
        run = pull_all(make(spec=spec, base_url=server.url, app_secret="env:SP_WRONG"), {})
    assert isinstance(run.failure, PermanentSourceError)
    assert "client credentials refused: HTTP 401 invalid_client" in str(run.failure)
    assert not run.records and sim.issued == 0


@pytest.mark.parametrize("where", [{}, {"query": "access_token"}])
def test_a_static_token_in_a_header_or_the_query(make: Make, where: dict[str, str]) -> None:
    sim = SmartParkSim(auth="token")
    with serve_in_thread(sim.app) as server:
        spec = spec_of(auth={"type": "token", **where})
        adapter = make(spec=spec, base_url=server.url, token="env:SP_TOKEN")
        if where:  # the simulator wants the header: a token in the query is refused (HTTP 401)
            with pytest.raises(PermanentSourceError, match="credentials refused: HTTP 401"):
                adapter.check()
            assert sim.requests[-1][1]["access_token"] == "sp-demo-token"
        else:
            adapter.check()
            assert "access_token" not in sim.requests[-1][1]
