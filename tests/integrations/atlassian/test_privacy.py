"""Atlassian's personal data reporting API, as okrlink calls it (`responses`, no network)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
import requests
import responses
import trustme

from integrations.atlassian.forge import ForgeCredentials
from integrations.atlassian.privacy import REPORT_PATH, AtlassianPersonalData
from integrations.atlassian.qsh import query_string_hash
from sync.accounts import AccountStatus, StoredAccount
from sync.errors import Permanent, RateLimited, SourceMissing, Transient
from sync.tenants import Tenant
from tests.support.chat import Answer, receiver, trust

API = "https://api.atlassian.com"
URL = API + REPORT_PATH
SECRET = "a-shared-secret-of-at-least-32-characters-0123456789"
TENANT = Tenant(
    installation_id=1,
    client_key="jira:acme",
    site_id=7,
    product="jira",
    base_url="https://acme.atlassian.net",
    door="connect",
    enabled=True,
)
CLOSED = "557058:0c0ffee0-0000-4000-8000-00000000c105"
UPDATED = "5b10ac8d82e05b22cc7d4ef5"
WHEN = datetime(2026, 11, 20, 10, 30, 5, 123456, tzinfo=timezone(timedelta(hours=1)))


def accounts(count: int = 2) -> list[StoredAccount]:
    ids = [CLOSED, UPDATED, *(f"557058:{n:08x}" for n in range(count))][:count]
    return [StoredAccount(account_id, WHEN) for account_id in ids]


def connect_reporter(sleeps: list[float] | None = None) -> AtlassianPersonalData:
    return AtlassianPersonalData(
        api_url=API,
        app_key="okrlink",
        tenants=lambda site_id: (TENANT, SECRET) if site_id == 7 else None,
        sleep=(sleeps if sleeps is not None else []).append,
    )


@responses.activate
def test_a_connect_site_reports_with_a_jwt_under_its_shared_secret() -> None:
    responses.post(
        URL,
        json={"accounts": [{"accountId": CLOSED, "status": "closed"}]},
        headers={"Cycle-Period": "604800"},
    )
    answer = connect_reporter().report_accounts(7, accounts())
    assert answer == [AccountStatus(CLOSED, "closed")]
    call = responses.calls[0].request
    assert json.loads(call.body or b"") == {
        "accounts": [
            {"accountId": CLOSED, "updatedAt": "2026-11-20T09:30:05.123Z"},
            {"accountId": UPDATED, "updatedAt": "2026-11-20T09:30:05.123Z"},
        ]
    }
    scheme, token = call.headers["Authorization"].split(" ")
    assert scheme == "JWT"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == "okrlink"
    assert claims["qsh"] == query_string_hash("POST", REPORT_PATH, "")
    assert claims["exp"] - claims["iat"] <= 180


@responses.activate
def test_a_forge_site_reports_with_its_app_system_token() -> None:
    responses.post(URL, status=204)
    reporter = AtlassianPersonalData(
        api_url=API,
        app_key="okrlink",
        tenants=lambda site_id: None,
        forge=lambda site_id: ForgeCredentials(f"{API}/ex/jira/cloud-1", "forge-token", 0.0),
    )
    assert reporter.report_accounts(7, accounts()) == []  # 204: nothing to do
    assert responses.calls[0].request.headers["Authorization"] == "Bearer forge-token"


@responses.activate
def test_updated_accounts_come_back_and_a_malformed_answer_is_transient() -> None:
    responses.post(URL, json={"accounts": [{"accountId": UPDATED, "status": "updated"}]})
    assert connect_reporter().report_accounts(7, accounts()) == [AccountStatus(UPDATED, "updated")]
    responses.post(URL, json={"accounts": [{"accountId": UPDATED, "status": "gone"}]})
    with pytest.raises(Transient, match="malformed"):
        connect_reporter().report_accounts(7, accounts())


@responses.activate
def test_a_429_is_retried_after_the_delay_atlassian_asks_for() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "7"})
    responses.post(URL, status=204)
    sleeps: list[float] = []
    assert connect_reporter(sleeps).report_accounts(7, accounts()) == []
    assert sleeps == [7.0]
    assert len(responses.calls) == 2


@responses.activate
def test_a_429_asking_for_longer_than_a_job_waits_is_rate_limited() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "3600"})
    sleeps: list[float] = []
    with pytest.raises(RateLimited) as limited:
        connect_reporter(sleeps).report_accounts(7, accounts())
    assert limited.value.retry_after == 3600 and sleeps == []


@responses.activate
def test_refused_calls_map_onto_the_error_tree() -> None:
    responses.post(URL, status=401)
    with pytest.raises(Permanent) as refused:
        connect_reporter().report_accounts(7, accounts())
    assert refused.value.status == 401
    responses.post(URL, body=requests.ConnectionError("down"))
    with pytest.raises(Transient):
        connect_reporter().report_accounts(7, accounts())


def test_more_than_90_accounts_or_no_installation_are_refused_before_calling() -> None:
    with pytest.raises(ValueError, match="at most 90"):
        connect_reporter().report_accounts(7, accounts(91))
    with pytest.raises(SourceMissing):
        connect_reporter().report_accounts(8, accounts())
    assert connect_reporter().report_accounts(7, []) == []


def test_over_real_https_a_429_then_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local HTTPS stand-in for api.atlassian.com (a CA the test trusts), no mocks."""
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    answer = json.dumps({"accounts": [{"accountId": CLOSED, "status": "closed"}]})
    with receiver(tls=ca, default=Answer(200, answer, {"Content-Type": "application/json"})) as api:
        api.answer_next(Answer(429, "", {"Retry-After": "2"}))
        sleeps: list[float] = []
        reporter = AtlassianPersonalData(
            api_url=api.base_url,
            app_key="okrlink",
            tenants=lambda site_id: (TENANT, SECRET),
            sleep=sleeps.append,
        )
        assert reporter.report_accounts(7, accounts(2)) == [AccountStatus(CLOSED, "closed")]
    assert sleeps == [2.0]
    assert [post.path for post in api.posts] == [REPORT_PATH, REPORT_PATH]
    token = api.posts[1].headers["Authorization"].removeprefix("JWT ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["qsh"] == query_string_hash("POST", REPORT_PATH, "")
    assert [item["accountId"] for item in api.posts[1].body["accounts"]] == [CLOSED, UPDATED]
