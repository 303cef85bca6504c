"""The GitHub App client against GitHub's REST shapes, offline with `responses`."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import GithubException

from connect.settings import Settings
from integrations.github.checks import KrImpact, render_check_run
from integrations.github.client import (
    SECONDARY_LIMIT_WAIT,
    GitHubApp,
    GitHubAppConfig,
    WriteThrottle,
    load_private_key,
)
from integrations.github.errors import (
    AuthenticationFailed,
    ConfigurationError,
    GitHubError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
)
from integrations.github.events import pull_state
from tests.support.base import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "github"
API = "https://api.github.com"
APP_ID = "12345"
INSTALLATION = 42
REPO = "Codertocat/Hello-World"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
TOKEN_URL = f"{API}/app/installations/{INSTALLATION}/access_tokens"
CHECK_RUNS_URL = f"{API}/repos/{REPO}/check-runs"


class FakeClock:
    """Epoch seconds that move only when someone sleeps."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(pem: str, clock: FakeClock) -> GitHubApp:
    return GitHubApp(
        GitHubAppConfig(app_id=APP_ID, private_key=pem), clock=clock, sleep=clock.sleep
    )


def at(url: str) -> re.Pattern[str]:
    """Match `url` whether or not the default HTTPS port is spelled out (PyGithub spells it)."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    return re.compile(f"{re.escape(scheme)}://{re.escape(host)}(?::443)?/{re.escape(path)}")


def sent_to(call: responses.Call) -> str:
    return call.request.url.replace(":443/", "/", 1)


def expires(seconds_after_start: float) -> str:
    moment = datetime.fromtimestamp(START + seconds_after_start, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def token_response(
    rsps: responses.RequestsMock,
    *,
    token: str = "ghs_first",  # noqa: S107
    url: str = TOKEN_URL,
    expires_after: float = 3600,
) -> None:
    rsps.add(
        responses.POST,
        at(url),
        json={
            "token": token,
            "expires_at": expires(expires_after),
            "permissions": {"checks": "write", "pull_requests": "read", "metadata": "read"},
            "repository_selection": "selected",
        },
        status=201,
    )


def check_run_created(run_id: int = 4) -> dict:
    return {
        "id": run_id,
        "head_sha": SHA,
        "node_id": "MDg6Q2hlY2tSdW40",
        "external_id": "",
        "url": f"{API}/repos/{REPO}/check-runs/{run_id}",
        "html_url": f"https://github.com/{REPO}/runs/{run_id}",
        "status": "completed",
        "conclusion": "neutral",
        "started_at": "2026-03-02T09:00:00Z",
        "completed_at": "2026-03-02T09:00:00Z",
        "name": "OKR impact",
        "output": {
            "title": "Advances 1 key result",
            "summary": "...",
            "text": None,
            "annotations_count": 0,
            "annotations_url": "",
        },
        "check_suite": {"id": 5},
        "app": {"id": int(APP_ID), "slug": "okrlink"},
        "pull_requests": [],
    }


def body() -> dict:
    rendered = render_check_run(
        impacts=[
            KrImpact(
                "PLAT-1.2",
                "Cut change failure rate to 5%",
                "Ship safely",
                0.4,
                0.55,
                "on_track",
                "Platform lead",
                None,
            )
        ],
        okr_page_url="https://okrlink.example/teams/plat",
    )
    assert rendered is not None
    return rendered


def sent_json(call: responses.Call) -> dict:
    return json.loads(call.request.body)


# --- app authentication ----------------------------------------------------------------------


@responses.activate
def test_token_request_is_signed_with_an_rs256_app_jwt(
    app: GitHubApp, rsa_key: rsa.RSAPrivateKey
) -> None:
    token_response(responses.mock)
    assert app.installation_token(INSTALLATION) == "ghs_first"
    (call,) = responses.calls
    scheme, _, token = call.request.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"])
    assert str(claims["iss"]) == APP_ID
    assert claims["iat"] < claims["exp"] <= time.time() + 600


@responses.activate
def test_token_is_cached_across_two_publishes(app: GitHubApp) -> None:
    token_response(responses.mock)
    responses.add(responses.POST, at(CHECK_RUNS_URL), json=check_run_created(4), status=201)
    first = app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    second = app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    assert first == second == 4
    token_calls = [c for c in responses.calls if sent_to(c) == TOKEN_URL]
    publishes = [c for c in responses.calls if sent_to(c) == CHECK_RUNS_URL]
    assert len(token_calls) == 1
    assert len(publishes) == 2
    for call in publishes:
        assert call.request.headers["Authorization"] == "token ghs_first"
        assert sent_json(call) == {**body(), "head_sha": SHA}
    assert not [c for c in responses.calls if c.request.method == "GET"]


@responses.activate
def test_token_is_renewed_five_minutes_before_it_expires(app: GitHubApp, clock: FakeClock) -> None:
    token_response(responses.mock, token="ghs_first")
    token_response(responses.mock, token="ghs_second")
    assert app.installation_token(INSTALLATION) == "ghs_first"
    clock.now = START + 3600 - 301
    assert app.installation_token(INSTALLATION) == "ghs_first"
    clock.now = START + 3600 - 299
    assert app.installation_token(INSTALLATION) == "ghs_second"
    assert len(responses.calls) == 2


@responses.activate
def test_each_installation_has_its_own_token(app: GitHubApp) -> None:
    token_response(responses.mock, token="ghs_a")
    token_response(responses.mock, token="ghs_b", url=f"{API}/app/installations/7/access_tokens")
    assert app.installation_token(INSTALLATION) == "ghs_a"
    assert app.installation_token(7) == "ghs_b"


@responses.activate
def test_concurrent_callers_share_one_token_request(app: GitHubApp) -> None:
    def slow_token(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        time.sleep(0.05)
        return 201, {}, json.dumps({"token": "ghs_shared", "expires_at": expires(3600)})

    responses.add_callback(responses.POST, at(TOKEN_URL), callback=slow_token)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(app.installation_token(INSTALLATION)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ghs_shared"] * 6
    assert len(responses.calls) == 1


@responses.activate
def test_bad_credentials_become_authentication_failed(app: GitHubApp) -> None:
    responses.add(
        responses.POST,
        at(TOKEN_URL),
        json={
            "message": "A JSON web token could not be decoded",
            "documentation_url": "https://docs.github.com/rest",
        },
        status=401,
    )
    with pytest.raises(AuthenticationFailed) as raised:
        app.installation_token(INSTALLATION)
    assert raised.value.status == 401
    assert isinstance(raised.value.__cause__, GithubException)


@responses.activate
def test_unknown_installation_is_not_found(app: GitHubApp) -> None:
    responses.add(responses.POST, at(TOKEN_URL), json={"message": "Not Found"}, status=404)
    with pytest.raises(NotFound):
        app.installation_token(INSTALLATION)


# --- check runs --------------------------------------------------------------------------------


@responses.activate
def test_existing_check_run_is_updated_with_patch(app: GitHubApp) -> None:
    token_response(responses.mock)
    responses.add(responses.PATCH, at(f"{CHECK_RUNS_URL}/4"), json=check_run_created(4), status=200)
    run_id = app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body(), check_run_id=4
    )
    assert run_id == 4
    patch = responses.calls[-1]
    assert patch.request.method == "PATCH"
    assert sent_json(patch) == body()


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (404, {"message": "Not Found"}, NotFound),
        (403, {"message": "Resource not accessible by integration"}, PermissionDenied),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [{"resource": "CheckRun", "code": "invalid", "field": "head_sha"}],
            },
            Rejected,
        ),
        (502, {"message": "Server Error"}, Unavailable),
        (409, {"message": "Conflict"}, GitHubError),
    ],
)
@responses.activate
def test_github_errors_are_translated(
    app: GitHubApp, status: int, payload: dict, error: type
) -> None:
    token_response(responses.mock)
    responses.add(responses.POST, at(CHECK_RUNS_URL), json=payload, status=status)
    with pytest.raises(error) as raised:
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
    assert type(raised.value) is error
    assert raised.value.status == status
    assert raised.value.message == payload["message"]
    assert isinstance(raised.value.__cause__, GithubException)


@responses.activate
def test_network_failure_is_unavailable(app: GitHubApp) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST, at(CHECK_RUNS_URL), body=requests.ConnectionError("connection reset")
    )
    with pytest.raises(Unavailable) as raised:
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
    assert isinstance(raised.value.__cause__, requests.RequestException)


@responses.activate
def test_get_pull_returns_the_rest_shape(app: GitHubApp) -> None:
    webhook = json.loads((FIXTURES / "pull_request.opened.json").read_text(encoding="utf-8"))
    token_response(responses.mock)
    responses.add(responses.GET, at(f"{API}/repos/{REPO}/pulls/2"), json=webhook["pull_request"])
    pull = app.get_pull(INSTALLATION, REPO, 2)
    state = pull_state(pull, installation=INSTALLATION)
    assert (state.repo, state.number, state.branch) == (REPO, 2, "changes")


@pytest.mark.parametrize("repo", ["../../app", "Codertocat", "a/b/c", "a/b?x=1", ""])
def test_repository_names_are_validated(app: GitHubApp, repo: str) -> None:
    with pytest.raises(ValueError, match="repository"):
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=repo, head_sha=SHA, body=body()
        )


# --- rate limits ---------------------------------------------------------------------------


@responses.activate
def test_retry_after_is_honoured_then_the_write_goes_through(
    app: GitHubApp, clock: FakeClock
) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST,
        at(CHECK_RUNS_URL),
        json={
            "message": "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again."
        },
        status=429,
        headers={"Retry-After": "7"},
    )
    responses.add(responses.POST, at(CHECK_RUNS_URL), json=check_run_created(9), status=201)
    run_id = app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    assert run_id == 9
    assert clock.sleeps == [7.0]
    assert clock.now == START + 7


@responses.activate
def test_primary_limit_waits_until_the_reset(app: GitHubApp, clock: FakeClock) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST,
        at(CHECK_RUNS_URL),
        json={"message": "API rate limit exceeded for installation ID 42."},
        status=403,
        headers={
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(START) + 30),
            "x-ratelimit-limit": "5000",
        },
    )
    responses.add(responses.POST, at(CHECK_RUNS_URL), json=check_run_created(9), status=201)
    app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    assert clock.sleeps == [30.0]


@responses.activate
def test_secondary_limit_without_headers_waits_at_least_a_minute(
    app: GitHubApp, clock: FakeClock
) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST,
        at(CHECK_RUNS_URL),
        json={
            "message": "You have exceeded a secondary rate limit and have been temporarily blocked "
            "from content creation. Please retry your request again later."
        },
        status=403,
    )
    responses.add(responses.POST, at(CHECK_RUNS_URL), json=check_run_created(9), status=201)
    app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    assert clock.sleeps == [SECONDARY_LIMIT_WAIT]
    assert SECONDARY_LIMIT_WAIT >= 60


@responses.activate
def test_long_rate_limit_is_raised_for_the_caller_to_retry_later(
    app: GitHubApp, clock: FakeClock
) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST,
        at(CHECK_RUNS_URL),
        json={"message": "API rate limit exceeded for installation ID 42."},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(START) + 1800)},
    )
    with pytest.raises(RateLimited) as raised:
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
    assert raised.value.retry_after == 1800
    assert isinstance(raised.value.__cause__, GithubException)
    assert clock.sleeps == []
    # Until the reset, further writes for that installation are refused without calling GitHub.
    calls = len(responses.calls)
    clock.now = START + 600
    with pytest.raises(RateLimited) as again:
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
    assert again.value.retry_after == pytest.approx(1200)
    assert len(responses.calls) == calls


@responses.activate
def test_rate_limit_that_persists_after_one_wait_is_raised(
    app: GitHubApp, clock: FakeClock
) -> None:
    token_response(responses.mock)
    responses.add(
        responses.POST,
        at(CHECK_RUNS_URL),
        json={"message": "slow down"},
        status=429,
        headers={"Retry-After": "5"},
    )
    with pytest.raises(RateLimited) as raised:
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
    assert raised.value.retry_after == 5
    assert clock.sleeps == [5.0]


@responses.activate
def test_two_writes_in_the_same_second_are_spaced_by_a_second(
    app: GitHubApp, clock: FakeClock
) -> None:
    token_response(responses.mock)
    sent_at: list[float] = []

    def created(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        sent_at.append(clock())
        return 201, {}, json.dumps(check_run_created(len(sent_at)))

    responses.add_callback(responses.POST, at(CHECK_RUNS_URL), callback=created)
    responses.add_callback(responses.PATCH, at(f"{CHECK_RUNS_URL}/1"), callback=created)
    app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
    )
    app.create_or_update_check_run(
        installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body(), check_run_id=1
    )
    assert len(sent_at) == 2
    assert sent_at[1] - sent_at[0] >= 1.0


def test_throttle_paces_each_installation_separately(clock: FakeClock) -> None:
    throttle = WriteThrottle(clock=clock, sleep=clock.sleep)
    throttle.wait(1)
    throttle.wait(2)
    assert clock.sleeps == []
    throttle.wait(1)
    assert clock.sleeps == [1.0]
    clock.now += 5
    throttle.wait(1)
    assert clock.sleeps == [1.0]


def test_throttle_reserves_distinct_slots_across_threads() -> None:
    clock = FakeClock()
    reserved: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            reserved.append(seconds)

    throttle = WriteThrottle(clock=clock, sleep=sleep)
    threads = [threading.Thread(target=throttle.wait, args=(1,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reserved) == [1.0, 2.0, 3.0, 4.0]


# --- configuration -------------------------------------------------------------------------


@responses.activate
def test_github_enterprise_api_url_from_settings_is_used(pem: str, clock: FakeClock) -> None:
    settings = Settings.from_env(
        {
            "OKRLINK_GITHUB_APP_ID": APP_ID,
            "OKRLINK_GITHUB_PRIVATE_KEY": pem.replace("\n", "\\n"),
            "OKRLINK_GITHUB_API_URL": "https://ghe.example/api/v3",
        }
    )
    config = GitHubAppConfig.from_settings(settings)
    assert config is not None
    assert config.api_url == "https://ghe.example/api/v3"
    app = GitHubApp(config, clock=clock, sleep=clock.sleep)
    token_response(
        responses.mock,
        url=f"https://ghe.example/api/v3/app/installations/{INSTALLATION}/access_tokens",
    )
    responses.add(
        responses.POST,
        at(f"https://ghe.example/api/v3/repos/{REPO}/check-runs"),
        json=check_run_created(11),
        status=201,
    )
    assert (
        app.create_or_update_check_run(
            installation_id=INSTALLATION, repo=REPO, head_sha=SHA, body=body()
        )
        == 11
    )
    assert [sent_to(c) for c in responses.calls] == [
        f"https://ghe.example/api/v3/app/installations/{INSTALLATION}/access_tokens",
        f"https://ghe.example/api/v3/repos/{REPO}/check-runs",
    ]


def test_app_is_not_configured_without_id_or_key(pem: str) -> None:
    assert GitHubAppConfig.from_settings(Settings.from_env({})) is None
    assert GitHubAppConfig.from_settings(Settings.from_env({"OKRLINK_GITHUB_APP_ID": "1"})) is None
    config = GitHubAppConfig.from_settings(
        Settings.from_env({"OKRLINK_GITHUB_APP_ID": "1", "OKRLINK_GITHUB_PRIVATE_KEY": pem})
    )
    assert config is not None
    assert config.api_url == "https://api.github.com"
    assert "PRIVATE" not in repr(config)


def test_private_key_from_text_escaped_text_or_file(pem: str, tmp_path: Path) -> None:
    key_file = tmp_path / "okrlink.private-key.pem"
    key_file.write_text(pem, encoding="utf-8")
    escaped = pem.strip().replace("\n", "\\n")
    assert load_private_key(pem) == load_private_key(str(key_file)) == load_private_key(escaped)
    assert load_private_key(pem).startswith("-----BEGIN RSA PRIVATE KEY-----\n")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "/nonexistent/okrlink.pem",
        "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_unusable_private_key_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError):
        load_private_key(value)
