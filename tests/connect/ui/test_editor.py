"""The writing forms' values: what an edit form shows is what saving it again stores."""

from __future__ import annotations

import pytest

from connect.ui.editor import Editor, parse_number


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (1234567.0, "1234567"),
        (1500000.0, "1500000"),
        (99.99, "99.99"),
        (0.1, "0.1"),
        (15.0, "15"),
        (-2.5, "-2.5"),
        (123456789.123, "123456789.123"),
    ],
)
def test_an_edit_form_shows_a_stored_number_in_full(stored: float, shown: str) -> None:
    editor = Editor(action_url="/edit", csrf_token="token")
    assert editor.value("edit-key-result", "PLAT-1.1", "target", stored) == shown
    errors: dict[str, str] = {}
    assert parse_number(shown, "target", errors) == stored
    assert not errors


def test_after_a_refused_post_the_form_shows_what_was_typed() -> None:
    editor = Editor(
        action_url="/edit",
        csrf_token="token",
        form="edit-key-result",
        target="PLAT-1.1",
        values={"target": "1,5 million"},
    )
    assert editor.value("edit-key-result", "PLAT-1.1", "target", 1500000.0) == "1,5 million"
    assert editor.value("edit-key-result", "PLAT-1.2", "target", 1500000.0) == "1500000"
