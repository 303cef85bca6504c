"""Every text a person or an outside system wrote renders as text, in every page and mode."""

from __future__ import annotations

import pytest

from connect.ui.i18n import PracticeNote, translate
from connect.ui.render import (
    render_checkin_form,
    render_checkin_page,
    render_empty_panel,
    render_issue_panel,
    render_message_page,
    render_panel,
)
from connect.ui.viewmodel import ABANDONED, CheckInView
from tests.support.ui import make_issue_kr, make_kr, make_objective, make_panel, parse

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + ATTRIBUTE
HOSTILE_NOTE = PracticeNote("practice.no-owner", {"key": PAYLOAD})


def hostile_kr(key: str, **changes):
    values = {
        "title": PAYLOAD,
        "unit": PAYLOAD,
        "owner": PAYLOAD,
        "abandon_reason": PAYLOAD,
        "warnings": (HOSTILE_NOTE,),
        "last_checkin": CheckInView(
            at=make_kr().last_checkin.at,
            author=PAYLOAD,
            status="at_risk",
            score=0.5,
            value=1.0,
            what=PAYLOAD,
            why=PAYLOAD,
            next=PAYLOAD,
        ),
    }
    values.update(changes)
    return make_kr(key, **values)


def hostile_panel():
    krs = (
        hostile_kr(PAYLOAD),
        hostile_kr("KR-2", kind="issues", done=1, total=2, scope_growth=1),
        hostile_kr("KR-3", state=ABANDONED),
    )
    objective = make_objective(
        PAYLOAD,
        krs=krs,
        title=PAYLOAD,
        parent_key=PAYLOAD,
        parent_title=PAYLOAD,
        warnings=(HOSTILE_NOTE,),
    )
    return make_panel(
        (objective,),
        team=PAYLOAD,
        cycle=PAYLOAD,
        warnings=(HOSTILE_NOTE,),
        okr_page_url="javascript:alert(1)",
    )


def assert_inert(html: str, *, scripts: int) -> None:
    assert SCRIPT not in html
    assert "<img" not in html
    assert html.count("<script") == scripts
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    root = parse(html)
    links = [n.attrs[a] for n in root.iter() for a in ("href", "action", "src") if a in n.attrs]
    assert not [link for link in links if "script:" in link.lower().replace("\t", "")]


PANEL_MODES = [
    ({}, 2),
    ({"mode": "compact"}, 2),
    ({"static": True}, 0),
    ({"is_editor": True, "checkin_url": "/c", "csrf_token": PAYLOAD}, 2),
    ({"mode": "compact", "is_editor": True, "locale": "fr"}, 2),
    ({"static": True, "is_editor": True, "locale": "fr"}, 0),
]


@pytest.mark.parametrize(("kwargs", "scripts"), PANEL_MODES)
def test_panel_renders_hostile_text_as_text_in_every_mode(kwargs, scripts) -> None:
    html = render_panel(hostile_panel(), **kwargs)
    assert_inert(html, scripts=scripts)
    root = parse(html)
    assert root.find_all(data_kr=PAYLOAD)
    assert root.find_all(data_objective=PAYLOAD)
    assert root.find("a").attrs["href"] == "#"


def test_chart_titles_escape_the_kr_title() -> None:
    root = parse(render_panel(hostile_panel()))
    titles = [svg.find("title").text for svg in root.find_all("svg")]
    assert len(titles) == 3
    assert all(PAYLOAD in title for title in titles)


def test_editor_notes_and_checkin_values_are_text() -> None:
    root = parse(render_panel(hostile_panel(), is_editor=True, checkin_url="/c", csrf_token="t"))
    assert [li.text for li in root.find("details").find_all("li")] == [
        translate("practice.no-owner", "en", key=PAYLOAD)
    ]
    assert root.find("input", name="kr").attrs["value"] == PAYLOAD


def test_checkin_page_and_fragment_escape_values_errors_and_urls() -> None:
    fields = ("value", "status", "score", "what", "why", "next", "decisions", "risks", "learnings")
    html = render_checkin_page(
        hostile_kr(PAYLOAD),
        locale="en",
        csrf_token=PAYLOAD,
        action_url="javascript:alert(1)",
        errors={name: PAYLOAD for name in fields},
        values={name: PAYLOAD for name in fields},
    )
    assert_inert(html, scripts=2)
    assert parse(html).find("form").attrs["action"] == "#"
    fragment = str(
        render_checkin_form(
            hostile_kr(PAYLOAD),
            locale="fr",
            csrf_token=PAYLOAD,
            action_url="/c",
            errors={"what": PAYLOAD},
            values={"why": PAYLOAD},
        )
    )
    assert_inert(fragment, scripts=0)


def test_issue_panel_escapes_krs_results_query_and_urls() -> None:
    hostile = make_issue_kr(
        PAYLOAD, title=PAYLOAD, objective_title=PAYLOAD, owner=PAYLOAD, status="at_risk"
    )
    html = render_issue_panel(
        issue_key=PAYLOAD,
        krs=(hostile,),
        search_url=f"/search?jwt={PAYLOAD}",
        link_url="JaVa\tScRiPt:alert(1)",
        unlink_url="/unlink",
        csrf_token=PAYLOAD,
        locale="en",
        results=(make_issue_kr("KR-9", title=PAYLOAD, via=PAYLOAD),),
        query=PAYLOAD,
    )
    assert_inert(html, scripts=2)
    root = parse(html)
    assert root.find("input", name="jwt").attrs["value"] == PAYLOAD
    assert root.find("input", name="q").attrs["value"] == PAYLOAD
    link_buttons = [f for f in root.find_all("form") if f.attrs["action"] == "#"]
    assert len(link_buttons) == 1


def test_message_and_empty_pages_escape_their_text() -> None:
    html = render_message_page(PAYLOAD, PAYLOAD, "en", hint=PAYLOAD, link_url="javascript:x")
    assert_inert(html, scripts=2)
    html = render_empty_panel(team=PAYLOAD, cycle=PAYLOAD, locale="fr", okr_page_url="/okrs")
    assert_inert(html, scripts=2)
