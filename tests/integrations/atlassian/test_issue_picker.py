"""Jira's issue picker answer read as the KR form's suggestions: each issue once, in Jira's
order, at most the limit; an answer of another shape is a `Transient` failure."""

from __future__ import annotations

import pytest

from integrations.atlassian.issue_picker import _suggestions
from integrations.errors import Transient


def _issue(key: str, summary: str) -> dict[str, str]:
    return {"key": key, "keyHtml": key, "summary": f"<b>{summary}</b>", "summaryText": summary}


def test_an_issue_in_both_sections_is_offered_once_in_jiras_order() -> None:
    answer = {
        "sections": [
            {"id": "hs", "label": "History Search", "issues": [_issue("PLAT-41", "Runbook")]},
            {
                "id": "cs",
                "label": "Current Search",
                "issues": [_issue("PLAT-40", "Fail over"), _issue("PLAT-41", "Runbook")],
            },
        ]
    }
    assert _suggestions(answer, 10) == [
        {"key": "PLAT-41", "summary": "Runbook"},
        {"key": "PLAT-40", "summary": "Fail over"},
    ]
    assert _suggestions(answer, 1) == [{"key": "PLAT-41", "summary": "Runbook"}]


def test_a_summary_without_its_text_form_keeps_jiras_summary() -> None:
    answer = {"sections": [{"id": "cs", "issues": [{"key": "PLAT-9", "summary": "Drill"}]}]}
    assert _suggestions(answer, 10) == [{"key": "PLAT-9", "summary": "Drill"}]


@pytest.mark.parametrize("answer", [[], {"errorMessages": ["no"]}, {"sections": "none"}])
def test_an_answer_of_another_shape_is_transient(answer: object) -> None:
    with pytest.raises(Transient):
        _suggestions(answer, 10)
