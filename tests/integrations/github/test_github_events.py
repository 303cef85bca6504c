"""Webhook payloads -> PR state, Jira/KR keys and check targets, over the stored payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.github.events import (
    HANDLED,
    JIRA_KEY,
    KR_LINE,
    CheckTarget,
    check_run_target,
    installation_id,
    is_handled,
    jira_keys_in,
    kr_keys_in,
    pull_request_state,
    requested_action_identifier,
)
from tests.support.base import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "github"
PAYLOAD_FILES = sorted(p for p in FIXTURES.glob("*.json") if p.name != "signature_vectors.json")


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def event_of(path: Path) -> tuple[str, str | None]:
    """The X-GitHub-Event name is the file name's first part; the action is in the payload."""
    return path.name.split(".")[0], json.loads(path.read_text(encoding="utf-8")).get("action")


# --- Jira keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("feature/PLAT-12-fix", ("PLAT-12",)),
        ("[PLAT-12] Fix the thing", ("PLAT-12",)),
        ("PLAT-12: fix", ("PLAT-12",)),
        ("Fixes PLAT-12.", ("PLAT-12",)),
        ("(PLAT-12)", ("PLAT-12",)),
        ("feature_PLAT-12", ("PLAT-12",)),
        ("A1_B2-7 and AB-1", ("A1_B2-7", "AB-1")),
        ("xPLAT-12", ()),
        ("9PLAT-12", ()),
        ("hotfix-PLAT-12", ()),
        ("plat-12", ()),
        ("Plat-12", ()),
        ("P-12", ()),
        ("PLAT-", ()),
        ("KR: PLAT-1.2", ()),
        ("PLAT-123.4 is a KR, PLAT-123 an issue", ("PLAT-123",)),
    ],
)
def test_jira_key_pattern_follows_the_development_panel(text: str, keys: tuple[str, ...]) -> None:
    assert jira_keys_in(text) == keys


def test_keys_are_ordered_by_first_appearance_and_deduplicated() -> None:
    assert jira_keys_in("OPS-3 then PLAT-12", "feature/PLAT-12-x", None, "", "OPS-3 APP-1") == (
        "OPS-3",
        "PLAT-12",
        "APP-1",
    )


def test_jira_key_pattern_is_case_sensitive() -> None:
    assert JIRA_KEY.flags & 2 == 0  # re.IGNORECASE not set
    assert JIRA_KEY.fullmatch("PLAT-12")
    assert not JIRA_KEY.fullmatch("plat-12")


# --- KR lines --------------------------------------------------------------------------------


def test_kr_line_links_krs_directly() -> None:
    body = "Speeds up deploys.\r\n\r\nKR: PLAT-1.2, OPS-3.1\r\n  KR:PLAT-2.1\nKR: PLAT-1.2\n"
    assert kr_keys_in(body) == ("PLAT-1.2", "OPS-3.1", "PLAT-2.1")


@pytest.mark.parametrize(
    "body",
    [
        "Mentions KR: in the middle of PLAT-1.2",
        "kr: PLAT-1.2",
        "KR: PLAT-12",
        "KR:\nPLAT-1.2",
        None,
    ],
)
def test_text_that_is_not_a_kr_line_links_nothing(body: str | None) -> None:
    assert kr_keys_in(body) == ()


def test_kr_line_pattern_captures_the_key_list() -> None:
    match = KR_LINE.search("intro\n KR: PLAT-1.2 ,OPS-3.1 trailing words")
    assert match is not None
    assert match.group(1) == "PLAT-1.2 ,OPS-3.1"


# --- pull_request payloads -------------------------------------------------------------------


def test_opened_pr_state_from_the_stored_payload() -> None:
    state = pull_request_state(load("pull_request.opened.json"))
    assert state.installation_id == 1
    assert state.repo == "Codertocat/Hello-World"
    assert state.number == 2
    assert state.title == "Update the README with new information."
    assert state.body == "This is a pretty simple change that we need to pull into master."
    assert state.branch == "changes"
    assert state.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert state.state == "open"
    assert state.merged is False
    assert state.opened_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
    assert state.merged_at is None
    assert state.updated_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
    assert state.author == "Codertocat"
    assert state.url == "https://github.com/Codertocat/Hello-World/pull/2"
    assert state.jira_keys == ()
    assert state.kr_keys == ()


def test_merged_pr_state() -> None:
    state = pull_request_state(load("pull_request.closed.merged.json"))
    assert (state.installation_id, state.repo, state.number) == (
        1301612,
        "robvanderleek/create-issue-branch",
        117,
    )
    assert state.state == "closed"
    assert state.merged is True
    assert state.merged_at == datetime(2020, 3, 23, 6, 46, 56, tzinfo=UTC)
    assert state.branch == "issue-111-robvanderleek-patch-1"


def test_closed_unmerged_pr_state() -> None:
    state = pull_request_state(load("pull_request.closed.unmerged.json"))
    assert state.state == "closed"
    assert state.merged is False
    assert state.merged_at is None
    assert state.updated_at == datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC)


def test_edited_pr_state() -> None:
    state = pull_request_state(load("pull_request.edited.json"))
    assert (state.installation_id, state.repo, state.number) == (
        77289,
        "sotayamashita/labeling-droid",
        16,
    )
    assert state.state == "open"
    assert state.author == "watsonbot"


def test_keys_come_from_title_branch_and_body() -> None:
    payload = copy.deepcopy(load("pull_request.synchronize.json"))
    pull = payload["pull_request"]
    pull["title"] = "[PLAT-12] Cache the board"
    pull["head"]["ref"] = "feature/OPS-7-cache"
    pull["body"] = "Also touches PLAT-12 and APP-3.\n\nKR: PLAT-1.2, PLAT-2.1\n"
    state = pull_request_state(payload)
    assert state.jira_keys == ("PLAT-12", "OPS-7", "APP-3")
    assert state.kr_keys == ("PLAT-1.2", "PLAT-2.1")


def test_null_body_is_an_empty_string() -> None:
    payload = copy.deepcopy(load("pull_request.opened.json"))
    payload["pull_request"]["body"] = None
    assert pull_request_state(payload).body == ""


@pytest.mark.parametrize(
    "path", [p for p in PAYLOAD_FILES if p.name.startswith("pull_request.")], ids=lambda p: p.name
)
def test_every_pull_request_payload_parses(path: Path) -> None:
    payload = json.loads(path.read_text(encoding="utf-8"))
    state = pull_request_state(payload)
    assert state.repo == payload["repository"]["full_name"]
    assert state.number == payload["number"]
    assert state.installation_id == payload["installation"]["id"]
    assert state.opened_at.tzinfo is not None
    assert state.updated_at >= state.opened_at


# --- check_suite / check_run payloads --------------------------------------------------------


def test_check_suite_requested_on_a_push_has_no_pull_requests() -> None:
    target = check_run_target(load("check_suite.requested.json"))
    assert target == CheckTarget(
        957387, "Codertocat/Hello-World", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", ()
    )


def test_check_suite_rerequested_names_its_pull_request() -> None:
    installation, repo, head_sha, numbers = check_run_target(load("check_suite.rerequested.json"))
    assert (installation, repo, head_sha, numbers) == (
        957387,
        "Codertocat/Hello-World",
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        (2,),
    )


def test_check_run_requested_action_target_and_identifier() -> None:
    payload = load("check_run.requested_action.json")
    assert check_run_target(payload) == CheckTarget(
        690857, "electron/electron", "5bd5f196a46b8222fb7484f05faba41a73cf34bd", (26764,)
    )
    assert requested_action_identifier(payload) == "lgtm|26764"


def test_check_run_rerequested_target() -> None:
    target = check_run_target(load("check_run.rerequested.json"))
    assert target == CheckTarget(
        1, "github/hello-world", "d6fde92930d4715a2b49857d24b940956b26d2d3", ()
    )


def test_pull_requests_of_other_repositories_are_ignored() -> None:
    payload = copy.deepcopy(load("check_suite.rerequested.json"))
    fork_pull = copy.deepcopy(payload["check_suite"]["pull_requests"][0])
    fork_pull["number"] = 99
    fork_pull["base"]["repo"]["id"] = 1
    payload["check_suite"]["pull_requests"].append(fork_pull)
    assert check_run_target(payload).pull_numbers == (2,)


@pytest.mark.parametrize(
    "path", [p for p in PAYLOAD_FILES if p.name.startswith("check_")], ids=lambda p: p.name
)
def test_every_check_payload_has_a_target(path: Path) -> None:
    payload = json.loads(path.read_text(encoding="utf-8"))
    target = check_run_target(payload)
    assert target.repo == payload["repository"]["full_name"]
    assert len(target.head_sha) == 40
    assert target.installation_id == installation_id(payload)


def test_requested_action_identifier_is_none_for_other_events() -> None:
    assert requested_action_identifier(load("check_run.rerequested.json")) is None


# --- installation ids and routing ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("installation.created.json", 957387),
        ("installation.deleted.json", 2),
        ("push.with-installation.json", 1),
        ("push.json", None),
        ("ping.json", None),
        ("check_run.created.json", None),
    ],
)
def test_installation_id(name: str, expected: int | None) -> None:
    assert installation_id(load(name)) == expected


EXPECTED_ROUTING = {
    "check_run.completed.json": False,
    "check_run.created.json": False,
    "check_run.requested_action.json": True,
    "check_run.rerequested.json": True,
    "check_suite.requested.json": True,
    "check_suite.rerequested.json": True,
    "installation.created.json": True,
    "installation.deleted.json": True,
    "ping.json": True,
    "ping.with-app_id.json": True,
    "pull_request.closed.merged.json": True,
    "pull_request.closed.unmerged.json": True,
    "pull_request.edited.json": True,
    "pull_request.opened.json": True,
    "pull_request.synchronize.json": True,
    "push.branch-with-commit.json": True,
    "push.json": True,
    "push.with-installation.json": True,
}


def test_routing_table_covers_every_stored_payload() -> None:
    assert {p.name for p in PAYLOAD_FILES} == set(EXPECTED_ROUTING)


@pytest.mark.parametrize("path", PAYLOAD_FILES, ids=lambda p: p.name)
def test_stored_payload_routing(path: Path) -> None:
    assert is_handled(*event_of(path)) is EXPECTED_ROUTING[path.name]


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("installation", "suspend"),
        ("installation", "unsuspend"),
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
        ("pull_request", "reopened"),
    ],
)
def test_other_handled_pairs(event: str, action: str) -> None:
    assert is_handled(event, action)


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("pull_request", "labeled"),
        ("pull_request", None),
        ("issues", "opened"),
        ("check_suite", "completed"),
        ("installation", "new_permissions_accepted"),
        ("push", "created"),
    ],
)
def test_unknown_pairs_are_not_handled(event: str, action: str | None) -> None:
    assert not is_handled(event, action)
    assert (event, action) not in HANDLED
