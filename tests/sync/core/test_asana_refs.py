"""Asana references as people write them, to the gid they name."""

from __future__ import annotations

import pytest

from sync.core.asana_refs import gid_of, key_of, kr_keys_in


@pytest.mark.parametrize(
    ("reference", "gid"),
    [
        ("1204567890123456", "1204567890123456"),
        ("asana:1204567890123456", "1204567890123456"),
        ("https://app.asana.com/0/1200000000000001/1204567890123456", "1204567890123456"),
        ("https://app.asana.com/0/1200000000000001/1204567890123456/f", "1204567890123456"),
        ("https://app.asana.com/0/1200000000000001/list", "1200000000000001"),
        ("https://app.asana.com/0/1200000000000001/0", "1200000000000001"),
        (
            "https://app.asana.com/1/111/project/1200000000000001/task/1204567890123456",
            "1204567890123456",
        ),
        ("https://app.asana.com/1/111/project/1200000000000001/list/222", "1200000000000001"),
        ("https://app.asana.com/1/111/task/1204567890123456", "1204567890123456"),
    ],
)
def test_a_gid_or_a_task_or_project_url_names_its_gid(reference: str, gid: str) -> None:
    assert gid_of(reference) == gid
    assert key_of(gid) == f"asana:{gid}"


@pytest.mark.parametrize(
    "reference",
    ["", "PLAT-12", "my task", "https://example.com/0/1/2", "https://app.asana.com/1/9/home"],
)
def test_anything_else_names_nothing(reference: str) -> None:
    assert gid_of(reference) is None


def test_kr_lines_in_a_description_name_kr_keys_once_in_any_case() -> None:
    notes = "Roll out to EU\nKR: plat-1.2, PLAT-2.1\nkrs: PLAT-1.2 OPS-3.1\nnot a KR: line? PLAT-9"
    assert kr_keys_in(notes) == ["PLAT-1.2", "PLAT-2.1", "OPS-3.1"]


def test_a_description_without_kr_lines_names_none() -> None:
    assert kr_keys_in("Mentions PLAT-1.2 in passing") == []
