"""The Jira issue panel and the glance status."""

from __future__ import annotations

from connect.ui.render import render_glance_label, render_issue_panel
from connect.ui.viewmodel import ABANDONED
from tests.support.ui import make_issue_kr, make_kr, parse


def panel(krs=(), **kwargs) -> str:
    params = {
        "issue_key": "PLAT-12",
        "krs": krs,
        "search_url": "https://app.example/jira/issue-panel/search?issue=PLAT-12&jwt=abc",
        "link_url": "/jira/links",
        "unlink_url": "/jira/links/delete",
        "csrf_token": "tok",
        "locale": "en",
    }
    params.update(kwargs)
    return render_issue_panel(**params)


def test_lists_the_krs_the_issue_contributes_to_with_the_data_contract() -> None:
    krs = (
        make_issue_kr("PLAT-O1-KR1", status="at_risk", progress=0.456, score=0.66),
        make_issue_kr("PLAT-O1-KR2", via="PLAT-3"),
    )
    root = parse(panel(krs))
    items = root.find_all(data_kr=True)
    assert [
        (i.attrs["data-kr"], i.attrs["data-progress"], i.attrs["data-status"]) for i in items
    ] == [
        ("PLAT-O1-KR1", "0.46", "at_risk"),
        ("PLAT-O1-KR2", "0.40", "on_track"),
    ]
    first, second = items
    assert first.by_class("chip")[0].text == "at risk"
    assert first.find(role="progressbar").attrs["aria-valuenow"] == "46"
    assert first.by_class("score")[0].text == "score 0.7"
    assert "Objective: Ship reliable releases" in first.text
    assert "via PLAT-3" in second.text
    assert "via" not in first.text


def test_direct_links_can_be_unlinked_by_post_but_links_through_the_epic_cannot() -> None:
    krs = (make_issue_kr("PLAT-O1-KR1"), make_issue_kr("PLAT-O1-KR2", via="PLAT-3"))
    root = parse(panel(krs))
    direct, via_epic = root.find_all(data_kr=True)
    form = direct.find("form")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", "/jira/links/delete")
    hidden = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input")}
    assert hidden == {"csrf_token": "tok", "issue": "PLAT-12", "kr": "PLAT-O1-KR1"}
    assert form.find("button").attrs["aria-label"] == "Unlink PLAT-12 from PLAT-O1-KR1"
    assert not via_epic.find_all("form")


def test_search_is_a_get_form_that_keeps_the_url_parameters() -> None:
    root = parse(panel(query="lead time"))
    form = root.find("form", role="search")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == "https://app.example/jira/issue-panel/search"
    fields = [(i.attrs["name"], i.attrs.get("value")) for i in form.find_all("input")]
    assert fields == [("issue", "PLAT-12"), ("jwt", "abc"), ("q", "lead time")]
    label = form.find("label")
    assert form.find("input", name="q").attrs["id"] == label.attrs["for"]


def test_search_adds_the_issue_when_the_url_does_not_carry_it() -> None:
    form = parse(panel(search_url="/search")).find("form", role="search")
    assert form.find("input", name="issue").attrs["value"] == "PLAT-12"
    assert form.attrs["action"] == "/search"


def test_results_get_link_buttons_and_leave_out_krs_already_linked() -> None:
    linked = (make_issue_kr("PLAT-O1-KR1"),)
    results = (make_issue_kr("PLAT-O1-KR1"), make_issue_kr("PLAT-O2-KR4", title="Grow adoption"))
    root = parse(panel(linked, results=results, query="grow"))
    assert root.find("h2").text == "Results for “grow”"
    link_forms = [f for f in root.find_all("form") if f.attrs["action"] == "/jira/links"]
    assert len(link_forms) == 1
    hidden = {i.attrs["name"]: i.attrs["value"] for i in link_forms[0].find_all("input")}
    assert hidden == {"csrf_token": "tok", "issue": "PLAT-12", "kr": "PLAT-O2-KR4"}
    assert link_forms[0].find("button").text == "Link"


def test_empty_states() -> None:
    html = panel(results=(), query="nothing")
    assert "This issue does not contribute to a key result yet." in html
    assert "No key result matches “nothing”." in html
    assert "No key result matches" not in panel()


def test_french_issue_panel() -> None:
    html = panel((make_issue_kr(via="PLAT-3", status="off_track"),), locale="fr")
    root = parse(html)
    assert root.find("h1").text == "Résultats clés"
    assert root.by_class("chip")[0].text == "hors trajectoire"
    assert root.find("label").text == "Chercher un résultat clé"


def test_glance_shows_the_count_and_the_worst_status() -> None:
    krs = [make_issue_kr("A"), make_issue_kr("B", status="at_risk"), make_issue_kr("C")]
    assert render_glance_label(krs) == {
        "label": {"value": "3"},
        "status": {"type": "lozenge", "value": {"label": "At risk", "type": "moved"}},
    }
    krs.append(make_issue_kr("D", status="off_track"))
    assert render_glance_label(krs)["status"]["value"] == {"label": "Off track", "type": "removed"}
    assert render_glance_label(krs[:1])["status"]["value"] == {
        "label": "On track",
        "type": "success",
    }


def test_glance_without_krs_has_no_status() -> None:
    assert render_glance_label([]) == {"label": {"value": "0"}}


def test_glance_leaves_out_abandoned_krs_and_speaks_french() -> None:
    krs = [make_kr("A", status="on_track"), make_kr("B", status="off_track", state=ABANDONED)]
    assert render_glance_label(krs, locale="fr") == {
        "label": {"value": "1"},
        "status": {"type": "lozenge", "value": {"label": "En bonne voie", "type": "success"}},
    }
