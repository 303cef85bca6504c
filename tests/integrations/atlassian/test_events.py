"""Jira payloads become domain events: read by meaning (category key, fieldId), never by label."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.atlassian.events import FieldMap, JiraPayloadError, envelope, parse_webhook
from sync.apply.jira import IssueEvent, kr_keys_from_labels
from tests.support.jira import fixture, issue_event


def test_created_cloud_issue_reads_category_type_and_updated_time() -> None:
    event = parse_webhook(fixture("jira_issue_created__cloud_2024_skill-sync.json"))
    assert event.key == "KAN-22"
    assert event.issue_id == "10021"
    assert event.issue_type == "Task"
    assert event.status_category == "new"  # statusCategory.key, whatever the status is named
    assert event.updated_at == datetime(2024, 12, 29, 3, 11, 23, 303000, tzinfo=UTC)
    assert event.labels == ()
    assert event.actor == "712020:f1ad7cfd-7f82-4dc0-85e4-8bc47bcc08e4"
    assert not event.deleted and event.old_key is None and event.parent_key is None


def test_a_project_move_carries_the_old_key_from_the_key_changelog_item() -> None:
    event = parse_webhook(fixture("jira_issue_updated__generic__jira-to-matrix.json"))
    assert event.key == "BBCOM-1233"
    assert event.old_key == "RN-83"
    assert event.issue_type == "Epic"
    assert event.labels is None  # the payload does not carry labels: links are left alone


def test_the_legacy_epic_link_changelog_item_gives_the_parent() -> None:
    event = parse_webhook(fixture("jira_issue_created__cloud_2018_jira-to-matrix.json"))
    assert event.key == "BBCOM-1398"
    assert event.parent_key == "BBCOM-801"


def test_logger_artefacts_are_dropped_and_a_string_timestamp_ignored() -> None:
    head = envelope(fixture("jira_issue_updated__generic__jira-to-matrix.json"))
    assert head.timestamp_ms is None
    assert head.changed_fields == ("status", "description", "key")


def test_changelog_items_are_identified_by_field_id_not_by_localised_name() -> None:
    payload = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        category="done",
        updated=datetime(2026, 11, 2, tzinfo=UTC),
        changes=[("status", "Statut", "To Do", "Done")],
    )
    assert envelope(payload).changed_fields == ("status",)
    assert parse_webhook(payload).status_category == "done"


def test_a_deletion_is_stamped_with_the_webhook_time_so_earlier_updates_lose() -> None:
    event = parse_webhook(fixture("jira_issue_deleted__cloud_2020_osbot-jira.json"))
    assert event.deleted
    assert event.key == "TASK-23"
    assert event.updated_at == datetime.fromtimestamp(1580287523.796, UTC)


def test_story_points_come_from_the_first_configured_field_with_a_number() -> None:
    payload = fixture("jira_issue_created__cloud_2024_skill-sync.json")
    payload["issue"]["fields"]["customfield_10026"] = 5
    assert parse_webhook(payload).story_points == 5.0
    only_other = FieldMap(story_points=("customfield_10016",))
    assert parse_webhook(payload, fields=only_other).story_points is None


def test_parent_comes_from_fields_parent_key() -> None:
    payload = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        parent="PLAT-1",
        updated=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert parse_webhook(payload).parent_key == "PLAT-1"


@pytest.mark.parametrize(
    "payload",
    [
        {"webhookEvent": "jira:issue_updated"},
        {"webhookEvent": "comment_created", "issue": {}},
        {"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1", "fields": {}}},
    ],
)
def test_payloads_that_are_not_readable_issue_events_are_refused(payload: dict) -> None:
    with pytest.raises(JiraPayloadError):
        parse_webhook(payload)


def test_kr_labels_name_key_results_in_any_case() -> None:
    assert kr_keys_from_labels(["kr-plat-1.2", "KR-Plat-1.3", "backend", "kr-"]) == {
        "PLAT-1.2",
        "PLAT-1.3",
    }


def test_events_survive_the_inbox_round_trip() -> None:
    event = parse_webhook(fixture("jira_issue_created__cloud_2024_skill-sync.json"))
    assert IssueEvent.from_dict(event.as_dict()) == event
