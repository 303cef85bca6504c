"""Simple pages for errors and empty states."""

from __future__ import annotations

from connect.ui.render import render_empty_panel, render_message_page
from tests.support.ui import parse


def test_message_page_shows_title_message_and_hint() -> None:
    root = parse(render_message_page("Not found", "This OKR was deleted.", "en", hint="Reload"))
    assert root.find("title").text == "Not found"
    assert root.find("h1").text == "Not found"
    assert [p.text for p in root.find_all("p")] == ["This OKR was deleted.", "Reload"]


def test_empty_panel_says_which_team_and_cycle_and_how_to_import() -> None:
    root = parse(
        render_empty_panel(team="PLAT", cycle="2026-Q4", locale="en", okr_page_url="/okrs")
    )
    assert root.find("h1").text == "No OKRs yet"
    texts = [p.text for p in root.find_all("p")]
    assert texts[0] == "No OKRs for team PLAT in 2026-Q4 yet."
    assert "okrlink import" in texts[1]
    link = root.find("a")
    assert (link.attrs["href"], link.text) == ("/okrs", "Open the OKR page")


def test_empty_panel_in_french() -> None:
    root = parse(render_empty_panel(team="PLAT", cycle="2026-Q4", locale="fr"))
    assert root.find("html").attrs["lang"] == "fr"
    assert root.find_all("p")[0].text == "Pas encore d’OKR pour l’équipe PLAT en 2026-Q4."
    assert not root.find_all("a")


def test_message_page_without_host_script() -> None:
    assert "<script" not in render_message_page("t", "m", "en", host_script=False)
