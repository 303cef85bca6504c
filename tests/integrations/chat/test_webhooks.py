"""Posting to Slack and Teams webhooks: real local HTTPS receivers, every failure mapped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from integrations.chat.sender import WebhookChat
from integrations.outbound import OutboundPolicy
from sync.errors import Permanent, RateLimited, Transient
from tests.support.base import LOCAL_RECEIVERS
from tests.support.chat import SLACK_OK, TEAMS_OK, Answer, Receiver, receiver, trust

LOCAL = OutboundPolicy.from_setting(LOCAL_RECEIVERS, dev=False)
"""The receivers listen on 127.0.0.1, which the tests' OKRLINK_OUTBOUND_ALLOW_NETWORKS allows."""

SLACK_BODY = {
    "text": "PLAT · weekly OKR digest",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*PLAT-1* 54%"}}],
}
TEAMS_BODY = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {"type": "AdaptiveCard", "version": "1.5", "body": []},
        }
    ],
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The receivers' CA is trusted through REQUESTS_CA_BUNDLE, as in production."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)


@pytest.fixture
def slack(ca: trustme.CA, trusted: None) -> Iterator[Receiver]:
    with receiver(default=SLACK_OK, tls=ca) as found:
        yield found


@pytest.fixture
def teams(ca: trustme.CA, trusted: None) -> Iterator[Receiver]:
    with receiver(default=TEAMS_OK, tls=ca) as found:
        yield found


def test_a_slack_post_arrives_as_json_over_https(slack: Receiver) -> None:
    WebhookChat(LOCAL).post(kind="slack", url=slack.url("/services/T0/B0/x"), payload=SLACK_BODY)
    assert [(p.path, p.body) for p in slack.posts] == [("/services/T0/B0/x", SLACK_BODY)]
    assert slack.posts[0].headers["Content-Type"].startswith("application/json")


def test_a_teams_post_arrives_with_its_card_and_202_is_success(teams: Receiver) -> None:
    WebhookChat(LOCAL).post(kind="teams", url=teams.url("/workflows/abc"), payload=TEAMS_BODY)
    assert [p.body for p in teams.posts] == [TEAMS_BODY]


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_429_is_rate_limited_with_its_retry_after(kind: str, slack: Receiver) -> None:
    slack.answer_next(Answer(429, "rate_limited", {"Retry-After": "30"}))
    with pytest.raises(RateLimited) as caught:
        WebhookChat(LOCAL).post(kind=kind, url=slack.url("/hook"), payload=SLACK_BODY)
    assert caught.value.retry_after == 30.0
    assert len(slack.posts) == 1  # not retried inside the client: the job decides when


@pytest.mark.parametrize("status", [404, 410])
@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_a_removed_webhook_is_permanent(kind: str, status: int, slack: Receiver) -> None:
    slack.answer_next(Answer(status, "no_service"))
    with pytest.raises(Permanent) as caught:
        WebhookChat(LOCAL).post(kind=kind, url=slack.url("/hook"), payload=SLACK_BODY)
    assert caught.value.status == status


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_a_server_error_is_transient(kind: str, slack: Receiver) -> None:
    slack.answer_next(Answer(503, "busy"))
    with pytest.raises(Transient) as caught:
        WebhookChat(LOCAL).post(kind=kind, url=slack.url("/hook"), payload=SLACK_BODY)
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.status == 503


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_an_untrusted_certificate_is_refused_as_transient(
    kind: str, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with receiver(tls=ca) as untrusted, pytest.raises(Transient):
        WebhookChat(LOCAL).post(kind=kind, url=untrusted.url("/hook"), payload=SLACK_BODY)
    assert untrusted.posts == []


def test_ssl_cert_file_is_honoured_too(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", trust(ca, tmp_path))
    with receiver(tls=ca) as found:
        for kind in ("slack", "teams"):
            WebhookChat(LOCAL).post(kind=kind, url=found.url("/hook"), payload=SLACK_BODY)
    assert len(found.posts) == 2


def test_no_answer_is_transient(ca: trustme.CA) -> None:
    with receiver(tls=ca) as gone:
        url = gone.url("/hook")
    for kind in ("slack", "teams"):
        with pytest.raises(Transient):
            WebhookChat(LOCAL).post(kind=kind, url=url, payload=SLACK_BODY)


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_the_webhook_url_is_never_logged_even_at_debug_level(
    kind: str, slack: Receiver, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_path = "/services/T0/B0/TopSecretPart"
    WebhookChat(LOCAL).post(kind=kind, url=slack.url(secret_path), payload=SLACK_BODY)
    slack.answer_next(Answer(500, "oops"))
    with pytest.raises(Transient) as caught:
        WebhookChat(LOCAL).post(kind=kind, url=slack.url(secret_path), payload=SLACK_BODY)
    with receiver(tls=ca) as gone:
        url = gone.url(secret_path)
    with pytest.raises(Transient) as unanswered:
        WebhookChat(LOCAL).post(kind=kind, url=url, payload=SLACK_BODY)
    assert "TopSecretPart" not in caplog.text
    assert "TopSecretPart" not in str(caught.value) + str(unanswered.value)
