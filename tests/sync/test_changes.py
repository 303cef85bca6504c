"""Which statements announce an OKR change (`sync/db/changes.py`): writes to the panel's tables."""

from __future__ import annotations

import pytest

from sync.db.changes import writes_okrs


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO key_results (site_id, key) VALUES (%(site_id)s, %(key)s) RETURNING id",
        'UPDATE "objectives" SET title=%(title)s WHERE objectives.id = %(id)s',
        "DELETE FROM cycles WHERE cycles.id = %(id)s",
        "  update teams set name = 'x'",
        "TRUNCATE sites, teams, key_results RESTART IDENTITY CASCADE",
    ],
)
def test_a_write_to_a_table_the_panel_version_reads_is_an_okr_change(statement: str) -> None:
    assert writes_okrs(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO inbox (site_id, delivery_id, payload) VALUES (%s, %s, %s)",
        "UPDATE outbound SET attempts = attempts + 1",
        "DELETE FROM links WHERE links.id = %(id)s",
        "SELECT key_results.id FROM key_results",
        "NOTIFY okrlink_okrs",
    ],
)
def test_reads_and_writes_elsewhere_are_not(statement: str) -> None:
    assert not writes_okrs(statement)
