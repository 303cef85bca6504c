"""Asana references as people write them, to the gid they name."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.core.asana_refs import MAX_NOTES, gid_of, key_of, kr_keys_in


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


# The pattern as it was (quadratic on long inputs), applied line by line: the oracle.
OLD_LINE = re.compile(r"^\s*KRs?\s*:\s*(.+?)\s*$", re.IGNORECASE)
OLD_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+(?:\.[0-9]+)+")


def oracle(notes: str) -> list[str]:
    found: dict[str, None] = {}
    for line in notes.split("\n"):
        match = OLD_LINE.match(line)
        if match is not None:
            for key in OLD_KEY.findall(match.group(1)):
                found[key.upper()] = None
    return list(found)


PIECES = st.sampled_from(
    "KR:|KRs :|kr|:| |\t|\n|\r|PLAT-1.2|ops-3.10|a|Z|_|1|-|.|,|x9-2.1|é|٣".split("|")
)


@given(st.lists(PIECES, max_size=60).map("".join))
def test_kr_keys_are_those_the_line_pattern_names(notes: str) -> None:
    assert kr_keys_in(notes) == oracle(notes)


@pytest.mark.parametrize(
    "notes",
    [
        "\n" * 64_000,
        "KR: " + "a" * 64_000,
        "KR: " + "a1" * 32_000,
        "KR:" + " " * 64_000 + "x",
        ("KR:" + " " * 100 + "\n") * 640,
        "KR: A-1" + ".1" * 32_000 + "x",
        " " * 64_000 + "\n",
    ],
)
def test_64_kb_of_hostile_notes_take_milliseconds(notes: str) -> None:
    started = time.perf_counter()
    kr_keys_in(notes)
    assert time.perf_counter() - started < 0.2


def test_notes_are_read_up_to_their_cap() -> None:
    assert kr_keys_in("KR: PLAT-1.1\n" + "x" * MAX_NOTES + "\nKR: PLAT-9.9") == ["PLAT-1.1"]
