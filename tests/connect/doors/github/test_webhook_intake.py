"""`POST /webhooks/github`: signatures first, then routing, then one inbox row per delivery."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from connect.cli.github import map_installation
from connect.services import install, services_of
from sync.db.model import GitHubInstallation, InboxEvent, PullRequest
from tests.support.github_app import (
    FIXTURES,
    SECRET,
    check_run_answer,
    check_run_calls,
    check_runs_url,
    count,
    deliver,
    fixture,
    load_okrs,
    raw_fixture,
)

VECTORS = json.loads((FIXTURES / "signature_vectors.json").read_text())


def use_secret(app: Flask, secret: str) -> None:
    services = services_of(app)
    settings = replace(services.settings, github_webhook_secret=secret)
    install(app, replace(services, settings=settings))


def test_githubs_published_signature_vector_passes_the_real_endpoint(
    app: Flask, client: FlaskClient
) -> None:
    vector = VECTORS["official"][0]
    use_secret(app, vector["secret"])
    answer = deliver(
        client,
        "ping",
        vector["payload"].encode(),
        delivery="d-vector",
        signature=vector["x_hub_signature_256"],
    )
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "pong"}


@pytest.mark.parametrize("case", VECTORS["negative_cases"][:2], ids=["trailing-newline", "secret"])
def test_published_negative_vectors_are_refused(
    app: Flask, client: FlaskClient, case: dict
) -> None:
    use_secret(app, case["secret"])
    answer = deliver(
        client,
        "ping",
        case["payload"].encode(),
        delivery="d-negative",
        signature=case["x_hub_signature_256_that_must_fail"],
    )
    assert answer.status_code == 401


def test_a_signature_without_the_sha256_prefix_is_refused(client: FlaskClient) -> None:
    header = VECTORS["negative_cases"][2]["header_value"]
    answer = deliver(client, "ping", b"Hello, World!", delivery="d-prefix", signature=header)
    assert answer.status_code == 401


def test_a_real_payload_signed_as_github_signs_it_is_accepted(
    app: Flask, client: FlaskClient
) -> None:
    vector = VECTORS["derived_not_official"][0]
    assert vector["secret"] == SECRET
    name = vector["payload_file"].rsplit("/", 1)[-1]
    answer = deliver(
        client,
        "pull_request",
        raw_fixture(name),
        delivery="d-opened",
        signature=vector["x_hub_signature_256"],
    )
    assert answer.status_code == 202
    assert answer.get_json()["status"] == "accepted"
    assert count(app, InboxEvent) == 1
    assert count(app, PullRequest) == 1


def test_a_forged_signature_creates_nothing(app: Flask, client: FlaskClient) -> None:
    body = raw_fixture("pull_request.opened.json")
    forged = deliver(client, "pull_request", body, delivery="d-forged", secret="not-the-secret")
    missing = client.post(
        "/webhooks/github",
        data=body,
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-missing"},
    )
    tampered_body = body.replace(b"Update the README", b"Update the READMF")
    tampered = deliver(
        client, "pull_request", tampered_body, delivery="d-tampered", signature=f"sha256={'0' * 64}"
    )
    assert [forged.status_code, missing.status_code, tampered.status_code] == [401, 401, 401]
    assert forged.get_json()["error"]["code"] == "invalid_signature"
    assert count(app, InboxEvent) == 0
    assert count(app, PullRequest) == 0
    assert count(app, GitHubInstallation) == 0


def test_no_webhook_secret_refuses_every_delivery(app: Flask, client: FlaskClient) -> None:
    use_secret(app, "")
    answer = deliver(client, "ping", raw_fixture("ping.json"), delivery="d-1", secret="")
    assert answer.status_code == 401


def test_unknown_events_and_actions_are_acknowledged_and_ignored(
    app: Flask, client: FlaskClient
) -> None:
    labeled = fixture("pull_request.opened.json") | {"action": "labeled"}
    completed = fixture("check_run.completed.json")
    answers = [
        deliver(client, "issues", b'{"action": "opened"}', delivery="d-issues"),
        deliver(client, "pull_request", labeled, delivery="d-labeled"),
        deliver(client, "check_run", completed, delivery="d-completed"),
        # A button that is not ours ("lgtm|26764" in GitHub's example payload).
        deliver(client, "check_run", fixture("check_run.requested_action.json"), delivery="d-b"),
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    assert {a.get_json()["status"] for a in answers} == {"ignored"}
    assert count(app, InboxEvent) == 0


def test_ping_answers_200_and_records_nothing(app: Flask, client: FlaskClient) -> None:
    answer = deliver(client, "ping", raw_fixture("ping.with-app_id.json"), delivery="d-ping")
    assert answer.status_code == 200
    assert count(app, InboxEvent) == 0


def test_a_body_that_is_not_json_is_a_bad_request(app: Flask, client: FlaskClient) -> None:
    answer = deliver(client, "pull_request", b"not json", delivery="d-bad")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "malformed_body"  # as at every door
    assert count(app, InboxEvent) == 0
    listed = deliver(client, "pull_request", b"[1, 2]", delivery="d-list")
    assert (listed.status_code, listed.get_json()["error"]["code"]) == (400, "malformed_body")
    assert count(app, InboxEvent) == 0


def test_a_delivery_without_its_id_is_a_bad_request(app: Flask, client: FlaskClient) -> None:
    answer = deliver(client, "push", raw_fixture("push.with-installation.json"), delivery="")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_request"
    assert answer.get_json()["error"]["field"] == "X-GitHub-Delivery"
    assert count(app, InboxEvent) == 0


def test_push_is_accepted_and_recorded_without_effect(app: Flask, client: FlaskClient) -> None:
    answer = deliver(client, "push", raw_fixture("push.with-installation.json"), delivery="d-p")
    assert answer.status_code == 202
    with services_of(app).store.session() as session:
        row = session.query(InboxEvent).one()
        assert (row.event, row.state, row.site_id) == ("github:push", "done", None)
        assert row.payload == {
            "action": None,
            "installation_id": 1,
            "account": "Codertocat",
            "ref": "refs/tags/simple-tag",
        }


def test_inbox_rows_hold_a_trimmed_payload(app: Flask, client: FlaskClient) -> None:
    deliver(client, "pull_request", raw_fixture("pull_request.opened.json"), delivery="d-t")
    with services_of(app).store.session() as session:
        row = session.query(InboxEvent).one()
        assert row.event == "github:pull_request"
        assert set(row.payload) == {"action", "installation_id", "account", "pull"}
        assert row.payload["pull"]["head_sha"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
        assert len(json.dumps(row.payload)) < len(raw_fixture("pull_request.opened.json")) / 10


def test_installation_events_keep_the_installation(app: Flask, client: FlaskClient) -> None:
    created = raw_fixture("installation.created.json")
    assert deliver(client, "installation", created, delivery="i-1").status_code == 202
    suspend = fixture("installation.created.json") | {"action": "suspend"}
    deliver(client, "installation", suspend, delivery="i-2")
    with services_of(app).store.session() as session:
        row = session.get_one(GitHubInstallation, 957387)
        assert (row.account, row.suspended, row.deleted, row.site_id) == (
            "Codertocat",
            True,
            False,
            None,
        )
    deliver(
        client,
        "installation",
        fixture("installation.created.json") | {"action": "unsuspend"},
        delivery="i-3",
    )
    deliver(client, "installation", raw_fixture("installation.deleted.json"), delivery="i-4")
    with services_of(app).store.session() as session:
        assert session.get_one(GitHubInstallation, 957387).suspended is False
        gone = session.get_one(GitHubInstallation, 2)
        assert (gone.account, gone.deleted) == ("octocat", True)


def test_deliveries_of_a_mapped_installation_carry_its_site(
    app: Flask, client: FlaskClient, clock
) -> None:
    site_id = load_okrs(app, clock.now())
    map_installation(app, 957387, "local")
    deliver(client, "installation", raw_fixture("installation.created.json"), delivery="i-1")
    with services_of(app).store.session() as session:
        assert session.query(InboxEvent).one().site_id == site_id


def test_redelivering_the_same_delivery_creates_nothing_new(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, clock
) -> None:
    load_okrs(app, clock.now())
    map_installation(app, 1, "local")
    repo, sha = "Codertocat/Hello-World", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    github.add(
        responses.POST, check_runs_url(repo), json=check_run_answer(7, sha, repo), status=201
    )
    payload = fixture("pull_request.opened.json")
    first = deliver(
        client, "pull_request", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"
    )
    again = deliver(
        client, "pull_request", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json() == {"status": "duplicate"}
    assert count(app, InboxEvent) == 1
    assert count(app, PullRequest) == 1
    assert len(check_run_calls(github)) == 1


def test_a_delivery_that_failed_for_good_is_retried_when_redelivered(
    app: Flask, client: FlaskClient
) -> None:
    payload = raw_fixture("push.with-installation.json")
    deliver(client, "push", payload, delivery="d-retry")
    with services_of(app).store.session() as session:
        row = session.query(InboxEvent).one()
        row.state, row.attempts, row.error = "failed", 8, "RuntimeError: earlier failure"
    answer = deliver(client, "push", payload, delivery="d-retry")
    assert answer.status_code == 202
    with services_of(app).store.session() as session:
        row = session.query(InboxEvent).one()
        assert (row.state, row.error) == ("done", None)
