"""`okrlink digest add | list | remove | preview | send`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from flask import Flask

from connect.cli import main
from connect.services import services_of
from sync.db.store import local_site
from tests.support.chat import SLACK_OK, Answer, Receiver, receiver, trust
from tests.support.digest import import_team


@pytest.fixture
def runner(app: Flask, runner: CliRunner) -> CliRunner:
    """The shared CLI runner, with the local team PLAT (3 x 5 KRs)."""
    with services_of(app).store.session() as session:
        import_team(session, local_site(session).id, now=datetime.now(UTC))
    return runner


@pytest.fixture
def slack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    with receiver(default=SLACK_OK, tls=ca) as found:
        yield found


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(main, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_add_list_remove(runner: CliRunner) -> None:
    out = run(
        runner,
        "digest",
        "add",
        "--team",
        "PLAT",
        "--slack-webhook",
        "https://hooks.slack.com/services/T1/B1/secretABCD",
        "--day",
        "fri",
        "--time",
        "16:30",
        "--tz",
        "Europe/Paris",
        "--lang",
        "fr",
        "--remind-days",
        "3",
    )
    assert "digest channel 1: PLAT -> slack https://hooks.slack.com/…ABCD" in out
    run(
        runner,
        "digest",
        "add",
        "--site",
        "local",
        "--team",
        "PLAT",
        "--teams-webhook",
        "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke",
    )
    listing = run(runner, "digest", "list")
    assert "secretABCD" not in listing and "workflows/abc" not in listing
    assert "fri 16:30 Europe/Paris (-3d)" in listing and "mon 09:00 UTC (-2d)" in listing
    assert "removed digest channel 1" in run(runner, "digest", "remove", "1")
    assert "hooks.slack.com" not in run(runner, "digest", "list", "--site", "local")
    assert "no digest channel 1" in run(runner, "digest", "remove", "1", code=1)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--slack-webhook", "http://hooks.slack.com/x"], "only https"),
        (
            ["--slack-webhook", "https://a.test/x", "--teams-webhook", "https://b.test/y"],
            "exactly one",
        ),
        ([], "exactly one"),
        (["--slack-webhook", "https://a.test/x", "--tz", "Nowhere/City"], "unknown time zone"),
    ],
)
def test_add_refuses_what_cannot_work(runner: CliRunner, args: list[str], message: str) -> None:
    out = run(
        runner,
        "digest",
        "add",
        "--team",
        "PLAT",
        *args,
        code=1 if "--tz" in args else 2,
    )
    assert message in out
    assert "a.test" not in run(runner, "digest", "list")


def test_preview_prints_exactly_the_payload_in_each_format(runner: CliRunner) -> None:
    slack = json.loads(run(runner, "digest", "preview", "--team", "PLAT", "--format", "slack"))
    assert slack["blocks"][0]["text"]["text"] == "PLAT · weekly OKR digest"
    teams = json.loads(
        run(runner, "digest", "preview", "--team", "PLAT", "--format", "teams", "--lang", "fr")
    )
    assert teams["attachments"][0]["content"]["body"][0]["text"].startswith("PLAT · point")
    text = run(runner, "digest", "preview", "--team", "PLAT")
    assert text.startswith("PLAT · weekly OKR digest\n") and "PLAT-3.5" in text
    assert "has no OKRs" in run(runner, "digest", "preview", "--team", "NOPE", code=1)


def test_send_posts_now_to_each_channel_and_parks_a_removed_one(
    runner: CliRunner, slack: Receiver
) -> None:
    run(runner, "digest", "add", "--team", "PLAT", "--slack-webhook", slack.url("/a"))
    run(runner, "digest", "add", "--team", "PLAT", "--slack-webhook", slack.url("/b"))
    assert run(runner, "digest", "send", "--team", "PLAT") == "channel 1: sent\nchannel 2: sent\n"
    assert [p.path for p in slack.posts] == ["/a", "/b"]
    slack.answer_next(Answer(410, "no_service"))
    out = run(runner, "digest", "send", "--team", "PLAT", code=1)
    assert "channel 1: failed" in out and "channel 2: sent" in out
    assert "parked (the webhook answered 410: it was removed)" in run(runner, "digest", "list")
    assert run(runner, "digest", "send", "--team", "PLAT") == "channel 2: sent\n"


@pytest.mark.parametrize(
    "url,category",
    [
        ("https://localhost/hook", "loopback"),
        ("https://127.0.0.2:8443/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:192.168.0.1]/hook", "private"),
    ],
)
def test_add_refuses_a_webhook_on_a_private_or_local_network_as_a_usage_error(
    runner: CliRunner, url: str, category: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_OUTBOUND_ALLOW_NETWORKS", "")
    out = run(runner, "digest", "add", "--team", "PLAT", "--slack-webhook", url, code=2)
    assert f"is a {category} address" in out and "--slack-webhook" in out
    assert "OKRLINK_OUTBOUND_ALLOW_NETWORKS" in out
    (header,) = run(runner, "digest", "list").splitlines()  # nothing was stored
    assert header.split() == ["ID", "TEAM", "KIND", "WHEN", "LANG", "WEBHOOK", "STATE"]


def test_an_allowed_network_lets_an_internal_webhook_in(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_OUTBOUND_ALLOW_NETWORKS", "10.0.0.0/8, 127.0.0.1/32")
    out = run(runner, "digest", "add", "--team", "PLAT", "--teams-webhook", "https://10.1.2.3/hook")
    assert "digest channel 1: PLAT -> teams https://10.1.2.3/…hook" in out


def test_a_malformed_allowed_network_is_a_usage_error_naming_the_setting(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_OUTBOUND_ALLOW_NETWORKS", "10.0.0.0/8,intranet")
    out = run(runner, "digest", "list", code=2)
    assert "OKRLINK_OUTBOUND_ALLOW_NETWORKS: intranet is not a network" in out
