"""Check-in forms: in the panel for editors, and as a full page with errors and values."""

from __future__ import annotations

import pytest

from connect.ui.render import render_checkin_form, render_checkin_page, render_panel
from connect.ui.viewmodel import ABANDONED
from tests.support.ui import make_kr, make_objective, make_panel, parse

TEXT_FIELDS = ("what", "why", "next", "decisions", "risks", "learnings")


def page(kr=None, *, locale="en", errors=None, values=None) -> str:
    return render_checkin_page(
        kr or make_kr(),
        locale=locale,
        csrf_token="tok-123",
        action_url="/checkins?jwt=abc",
        errors=errors or {},
        values=values or {},
    )


def field_names(form) -> list[str]:
    return [n.attrs["name"] for n in form.iter() if n.tag in {"input", "select", "textarea"}]


def test_form_posts_all_fields_with_csrf_and_kr() -> None:
    form = parse(page()).find("form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == "/checkins?jwt=abc"
    assert field_names(form) == [
        "csrf_token",
        "kr",
        "value",
        "status",
        "score",
        "confidence",
        *TEXT_FIELDS,
    ]
    assert form.find("input", name="csrf_token").attrs == {
        "type": "hidden",
        "name": "csrf_token",
        "value": "tok-123",
    }
    assert form.find("input", name="kr").attrs["value"] == "PLAT-O1-KR1"
    assert form.find("button").attrs["type"] == "submit"


@pytest.mark.parametrize(
    ("kind", "has_value"), [("metric", True), ("jql", True), ("github", True), ("issues", False)]
)
def test_value_field_only_for_kinds_that_carry_a_value(kind: str, has_value: bool) -> None:
    form = parse(page(make_kr(kind=kind))).find("form")
    assert ("value" in field_names(form)) is has_value


def test_every_visible_field_has_a_label() -> None:
    root = parse(page())
    labels = {label.attrs["for"]: label.text for label in root.find_all("label")}
    for control in root.iter():
        if control.tag in {"select", "textarea"} or (
            control.tag == "input" and control.attrs.get("type") != "hidden"
        ):
            assert labels.get(control.attrs["id"]), control.attrs["name"]
    assert labels["ci-PLAT-O1-KR1-value"] == "Current value (%)"
    assert labels["ci-PLAT-O1-KR1-what"] == "What happened"


def test_status_is_a_select_of_localised_words_defaulting_to_the_kr_status() -> None:
    select = parse(page(make_kr(status="at_risk"), locale="fr")).find("select")
    options = select.find_all("option")
    assert [(o.attrs["value"], o.text) for o in options] == [
        ("on_track", "en bonne voie"),
        ("at_risk", "à risque"),
        ("off_track", "hors trajectoire"),
    ]
    assert [o.attrs["value"] for o in options if "selected" in o.attrs] == ["at_risk"]


def test_score_is_a_0_to_1_number_in_tenths_prefilled_from_the_kr() -> None:
    score = parse(page(make_kr(score=0.65))).find("input", name="score")
    assert (score.attrs["type"], score.attrs["min"], score.attrs["max"], score.attrs["step"]) == (
        "number",
        "0",
        "1",
        "0.1",
    )
    assert score.attrs["value"] == "0.7"
    value = parse(page(make_kr(current=1234.5))).find("input", name="value")
    assert value.attrs["value"] == "1234.5"


def test_list_fields_say_one_item_per_line() -> None:
    root = parse(page())
    for name in ("decisions", "risks", "learnings"):
        area = root.find("textarea", name=name)
        hint = root.find(id=area.attrs["aria-describedby"])
        assert hint.text == "One per line"


def test_errors_sit_next_to_their_fields_and_mark_them_invalid() -> None:
    root = parse(page(errors={"score": "error.score_range", "what": "Say what happened"}))
    score = root.find("input", name="score")
    assert score.attrs["aria-invalid"] == "true"
    message = root.find(id=score.attrs["aria-describedby"])
    assert message.text == "Enter a score between 0 and 1."
    what = root.find("textarea", name="what")
    assert root.find(id=what.attrs["aria-describedby"]).text == "Say what happened"
    assert "aria-invalid" not in root.find("textarea", name="why").attrs
    assert root.find(role="alert").text == "Please correct the fields marked below."


def test_error_beside_a_field_with_a_hint_is_described_by_both() -> None:
    area = parse(page(errors={"risks": "error.required"})).find("textarea", name="risks")
    assert area.attrs["aria-describedby"].split() == [
        "ci-PLAT-O1-KR1-risks-h",
        "ci-PLAT-O1-KR1-risks-e",
    ]


def test_submitted_values_refill_the_form() -> None:
    values = {"status": "off_track", "score": "1.5", "value": "7", "why": "Line one\nLine two"}
    root = parse(page(values=values))
    assert root.find("option", selected=True).attrs["value"] == "off_track"
    assert root.find("input", name="score").attrs["value"] == "1.5"
    assert root.find("input", name="value").attrs["value"] == "7"
    assert root.find("textarea", name="why").children == ["Line one\nLine two"]


def test_page_shows_which_kr_is_checked_in() -> None:
    root = parse(page(locale="fr"))
    assert root.find("h1").text == "Faire le point sur PLAT-O1-KR1"
    assert root.find(data_kr="PLAT-O1-KR1").attrs["data-progress"] == "0.60"
    assert root.find("label", for_="ci-PLAT-O1-KR1-what").text == "Ce qui s’est passé"


def test_fragment_is_the_same_form() -> None:
    fragment = render_checkin_form(make_kr(), locale="en", csrf_token="tok-123", action_url="/c")
    form = parse(str(fragment)).find("form")
    assert field_names(form) == [
        "csrf_token",
        "kr",
        "value",
        "status",
        "score",
        "confidence",
        *TEXT_FIELDS,
    ]


def test_panel_gives_each_active_kr_a_form_when_url_and_token_are_given() -> None:
    krs = (
        make_kr("PLAT-O1-KR1"),
        make_kr("PLAT-O1-KR2", state=ABANDONED, abandon_reason="Dropped"),
        make_kr("PLAT-O1-KR3", kind="issues"),
    )
    view = make_panel((make_objective(krs=krs),))
    root = parse(render_panel(view, is_editor=True, checkin_url="/checkins", csrf_token="tok"))
    forms = root.find_all("form")
    assert [f.find("input", name="kr").attrs["value"] for f in forms] == [
        "PLAT-O1-KR1",
        "PLAT-O1-KR3",
    ]
    assert all(f.find("input", name="csrf_token").attrs["value"] == "tok" for f in forms)
    ids = [n.attrs["id"] for n in root.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    assert root.find(data_kr="PLAT-O1-KR1").find("details").find("summary").text == "Check in"


@pytest.mark.parametrize("kwargs", [{"checkin_url": "/checkins"}, {"csrf_token": "tok"}, {}])
def test_panel_has_no_forms_without_both_url_and_token(kwargs) -> None:
    assert "<form" not in render_panel(make_panel(), **kwargs)
