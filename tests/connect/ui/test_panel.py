"""The OKR panel: content, the data- attribute contract, modes, accessibility and size."""

from __future__ import annotations

import re

import pytest

from connect.ui import panel_page
from connect.ui.assets import script, stylesheet
from connect.ui.i18n import PracticeNote
from connect.ui.render import render_panel
from connect.ui.viewmodel import ABANDONED
from tests.support.ui import big_panel, make_kr, make_objective, make_panel, parse

STATUS_WORDS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}
NO_OWNER = PracticeNote("practice.no-owner", {"key": "PLAT-O1-KR1"})
TOO_FEW_KRS = PracticeNote(
    "practice.too-few-krs", {"key": "PLAT-O1", "count": 2, "min": 3, "max": 5}
)
TOO_MANY_OBJECTIVES = PracticeNote(
    "practice.too-many-objectives",
    {"team": "PLAT", "count": 4, "cycle": "2026-Q4", "max": 3, "keys": "PLAT-O4"},
)


def kr_elements(html: str):
    return parse(html).find_all(data_kr=True)


def mixed_panel():
    """One objective with a metric KR, an issues KR and an abandoned KR; editors see warnings."""
    krs = (
        make_kr("PLAT-O1-KR1", status="at_risk", progress=0.456, score=0.7, warnings=(NO_OWNER,)),
        make_kr(
            "PLAT-O1-KR2",
            title="Close the reliability backlog",
            kind="issues",
            unit="",
            baseline=None,
            current=None,
            target=None,
            done=12,
            total=30,
            scope_growth=4,
            progress=0.4,
            status="off_track",
        ),
        make_kr(
            "PLAT-O1-KR3",
            title="Adopt the old deploy tool",
            state=ABANDONED,
            abandon_reason="Superseded by the platform migration",
            status="off_track",
        ),
    )
    objective = make_objective("PLAT-O1", krs=krs, warnings=(TOO_FEW_KRS,))
    return make_panel((objective,), warnings=(TOO_MANY_OBJECTIVES,))


def test_every_kr_carries_key_progress_and_status_in_exact_formats() -> None:
    view = big_panel()
    elements = kr_elements(render_panel(view))
    expected = {kr.key: kr for o in view.objectives for kr in o.krs}
    assert [e.attrs["data-kr"] for e in elements] == list(expected)
    for element in elements:
        kr = expected[element.attrs["data-kr"]]
        assert re.fullmatch(r"[01]\.\d\d", element.attrs["data-progress"])
        assert element.attrs["data-progress"] == f"{kr.progress:.2f}"
        assert element.attrs["data-status"] == kr.status


def test_every_objective_carries_its_key() -> None:
    view = big_panel()
    root = parse(render_panel(view))
    keys = [e.attrs["data-objective"] for e in root.find_all(data_objective=True)]
    assert keys == ["PLAT-O1", "PLAT-O2", "PLAT-O3"]
    for section in root.find_all(data_objective=True):
        assert all(
            e.attrs["data-kr"].startswith(section.attrs["data-objective"])
            for e in section.find_all(data_kr=True)
        )


def test_data_progress_is_clamped_to_0_1() -> None:
    view = make_panel(
        (make_objective(krs=(make_kr("A", progress=1.3), make_kr("B", progress=-0.2))),)
    )
    root = parse(render_panel(view))
    assert [e.attrs["data-progress"] for e in root.find_all(data_kr=True)] == ["1.00", "0.00"]
    bars = root.find(data_kr="A").find_all(role="progressbar")
    assert bars[0].attrs["aria-valuenow"] == "100"


def test_progress_bars_are_labelled_progressbars_with_values() -> None:
    root = parse(render_panel(mixed_panel()))
    kr = root.find(data_kr="PLAT-O1-KR1")
    bar = kr.find(role="progressbar")
    assert bar.attrs["aria-valuemin"] == "0"
    assert bar.attrs["aria-valuemax"] == "100"
    assert bar.attrs["aria-valuenow"] == "46"
    assert bar.attrs["aria-valuetext"] == "46%"
    assert "PLAT-O1-KR1" in bar.attrs["aria-label"]
    objective_bar = root.find(data_objective="PLAT-O1").find(role="progressbar")
    assert objective_bar.attrs["aria-valuenow"] == "45"


def test_objective_shows_title_alignment_and_progress() -> None:
    section = parse(render_panel(mixed_panel())).find(data_objective="PLAT-O1")
    assert "Ship reliable releases" in section.find("h2").text
    assert section.by_class("al")[0].text == "Aligns to ACME-2 · World-class reliability"
    assert "45%" in section.text


def test_objective_without_parent_shows_no_alignment() -> None:
    view = make_panel((make_objective(parent_key=None, parent_title=None),))
    assert not parse(render_panel(view)).by_class("al")


def test_kr_shows_numbers_score_status_word_owner_and_last_checkin() -> None:
    kr = parse(render_panel(mixed_panel())).find(data_kr="PLAT-O1-KR1")
    text = kr.text
    assert "PLAT-O1-KR1" in text
    assert "Reduce change failure rate from 15% to 5%" in text
    assert "15% → 9% → 5%" in text
    assert kr.by_class("score")[0].text == "score 0.7"
    chip = kr.by_class("chip")[0]
    assert chip.text == "at risk"
    assert "s-at_risk" in chip.attrs["class"]
    assert "Owner: Release captain" in text
    assert "Last check-in 25 Nov 2026 by Release captain" in text
    assert "Canary deploys now cover the payment services." in text


def test_status_is_a_word_for_every_status_not_colour_alone() -> None:
    view = big_panel()
    root = parse(render_panel(view))
    for element in root.find_all(data_kr=True):
        chip = element.by_class("chip")[0]
        assert chip.text == STATUS_WORDS[element.attrs["data-status"]]


def test_issues_kr_shows_done_over_total_and_scope_growth() -> None:
    kr = parse(render_panel(mixed_panel())).find(data_kr="PLAT-O1-KR2")
    assert "12 / 30 issues done" in kr.text
    assert "+4 since cycle start" in kr.text


def test_abandoned_kr_is_struck_through_with_its_reason_and_no_status_chip() -> None:
    root = parse(render_panel(mixed_panel()))
    kr = root.find(data_kr="PLAT-O1-KR3")
    assert kr.find("del").text == "Adopt the old deploy tool"
    assert "Abandoned: Superseded by the platform migration" in kr.text
    assert not kr.by_class("chip")
    assert not kr.find_all("form")


def test_abandoned_kr_leaves_the_objective_status_counts() -> None:
    header = parse(render_panel(mixed_panel())).by_class("ohd")[0]
    assert header.text.endswith("1 at risk · 1 off track")


def test_practice_warnings_are_hidden_from_non_editors() -> None:
    html = render_panel(mixed_panel())
    assert "practice note" not in html
    assert "has no owner" not in html
    assert "active key results" not in html
    assert "objectives in 2026-Q4" not in html


def test_practice_warnings_show_discreetly_to_editors_at_each_level() -> None:
    root = parse(render_panel(mixed_panel(), is_editor=True))
    notes = root.by_class("notes")
    assert [n.tag for n in notes] == ["details"] * 3
    assert [n.find("summary").text for n in notes] == ["1 practice note"] * 3
    assert [n.find("li").text for n in notes] == [
        "Team PLAT has 4 objectives in 2026-Q4: keep at most 3 so the team can focus; "
        "merge or drop PLAT-O4.",
        "Objective PLAT-O1 has 2 active key results: use 3 to 5; add KRs that measure the "
        "objective.",
        "KR PLAT-O1-KR1 has no owner: name who follows it up (owner: a role, name or account id).",
    ]
    assert root.find(data_kr="PLAT-O1-KR1").by_class("notes")


def test_practice_notes_speak_the_readers_language() -> None:
    root = parse(render_panel(mixed_panel(), is_editor=True, locale="fr"))
    notes = root.by_class("notes")
    assert [n.find("summary").text for n in notes] == ["1 remarque de pratique"] * 3
    assert notes[1].find("li").text == (
        "L’objectif PLAT-O1 a 2 résultats clés actifs : visez 3 à 5 ; ajoutez des résultats "
        "clés qui mesurent l’objectif."
    )


def test_full_mode_has_a_titled_trend_chart_per_kr() -> None:
    root = parse(render_panel(mixed_panel()))
    for element in root.find_all(data_kr=True):
        svg = element.find("svg")
        assert svg.attrs["role"] == "img"
        assert element.attrs["data-kr"] in svg.find("title").text


def test_compact_mode_is_one_row_per_kr_without_charts_or_notes() -> None:
    html = render_panel(mixed_panel(), mode="compact", checkin_url="/c", csrf_token="tok")
    root = parse(html)
    assert "<svg" not in html
    assert "Canary deploys" not in html
    assert not root.find_all("form")
    rows = root.find_all(data_kr=True)
    assert len(rows) == 3
    first = rows[0]
    assert first.find(role="progressbar")
    assert first.by_class("chip")[0].text == "at risk"
    assert first.by_class("score")[0].text == "score 0.7"
    assert "Reduce change failure rate" in first.text
    assert rows[2].find("del")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        render_panel(make_panel(), mode="wide")  # type: ignore[arg-type]


def test_static_mode_has_no_script_and_inlines_css() -> None:
    html = render_panel(mixed_panel(), static=True, checkin_url="/c", csrf_token="tok")
    root = parse(html)
    assert "<script" not in html
    assert not root.find_all("form")
    style = root.find("style")
    assert ".chip" in style.text
    assert "Canary deploys" in html


def test_interactive_mode_loads_only_atlassian_all_js_plus_a_small_resize_script() -> None:
    root = parse(render_panel(mixed_panel()))
    scripts = root.find_all("script")
    assert [s.attrs.get("src") for s in scripts] == [
        "https://connect-cdn.atl-paas.net/all.js",
        None,
    ]
    assert "async" in scripts[0].attrs
    inline = scripts[1].text
    assert "AP.resize()" in inline and "w.AP&&" in inline
    assert "data-person-picker" in inline  # the owner picker,
    assert "data-issue-picker" in inline  # the issue picker (one search routine for both),
    assert "data-preview-button" in inline  # a KR form's preview, and nothing else
    assert len(inline) < 3200
    assert not root.find_all("link")
    sources = [n.attrs["src"] for n in root.iter() if "src" in n.attrs]
    assert sources == ["https://connect-cdn.atl-paas.net/all.js"]


def test_without_host_script_there_is_no_script() -> None:
    assert "<script" not in render_panel(mixed_panel(), host_script=False)


def test_the_only_inline_style_and_script_are_ours() -> None:
    html = render_panel(mixed_panel())
    root = parse(html)
    assert len(root.find_all("style")) == 1
    assert [s.attrs.get("src") for s in root.find_all("script")] == [
        "https://connect-cdn.atl-paas.net/all.js",
        None,
    ]
    assert f"<style>{stylesheet()}</style>" in html
    assert f"<script>{script()}</script>" in html


def test_no_inline_style_attributes_so_a_strict_csp_holds() -> None:
    for mode in ("full", "compact"):
        root = parse(render_panel(big_panel(), mode=mode, checkin_url="/c", csrf_token="t"))
        assert not [n for n in root.iter() if "style" in n.attrs]


def test_layout_has_no_fixed_widths_and_a_viewport() -> None:
    root = parse(render_panel(mixed_panel()))
    css = root.find("style").text
    assert not re.findall(r"(?<![-\w])(?:min-)?width:\s*\d{3,}px", css)
    assert "flex-wrap:wrap" in css
    assert ":focus-visible" in css
    assert "system-ui" in css or "-apple-system" in css
    assert root.find("meta", name="viewport").attrs["content"].startswith("width=device-width")


def test_full_panel_of_3_objectives_by_5_krs_stays_under_40_kb() -> None:
    html = render_panel(big_panel(), is_editor=True)
    assert html.count("data-kr=") == 15
    assert html.count("<svg") == 15
    assert len(html.encode("utf-8")) < 40_000


def test_page_is_well_nested_in_every_mode() -> None:
    for kwargs in (
        {},
        {"mode": "compact"},
        {"static": True},
        {"is_editor": True, "checkin_url": "/c", "csrf_token": "t"},
    ):
        parse(render_panel(big_panel(), **kwargs))


def test_okr_page_link_when_given() -> None:
    view = make_panel(okr_page_url="https://okr.example/teams/PLAT?cycle=2026-Q4&x=1")
    link = parse(render_panel(view)).find("a")
    assert link.attrs["href"] == "https://okr.example/teams/PLAT?cycle=2026-Q4&x=1"


def test_header_names_team_cycle_and_dates() -> None:
    header = parse(render_panel(make_panel())).find("header")
    assert header.find("h1").text == "PLAT · 2026-Q4"
    assert header.by_class("mute")[0].text == "1 Oct 2026 – 31 Dec 2026"


def test_french_render_shows_french_labels() -> None:
    html = render_panel(mixed_panel(), locale="fr", is_editor=True)
    root = parse(html)
    assert root.find("html").attrs["lang"] == "fr"
    kr = root.find(data_kr="PLAT-O1-KR1")
    assert kr.by_class("chip")[0].text == "à risque"
    assert "Dernier point le 25 nov. 2026" in kr.text
    assert kr.by_class("score")[0].text == "score 0,7"
    assert "Responsable : Release captain" in kr.text
    assert root.by_class("al")[0].text == "Aligné sur ACME-2 · World-class reliability"
    assert "12 / 30 tickets terminés" in html
    assert "hors trajectoire" in html
    assert "Abandonné : Superseded by the platform migration" in html
    for english in ("on track", "at risk", "Owner:", "Last check-in", "practice note"):
        assert english not in html


def test_narrowing_to_one_objective_for_the_macro() -> None:
    view = big_panel().only_objective("PLAT-O2")
    keys = [
        e.attrs["data-objective"] for e in parse(render_panel(view)).find_all(data_objective=True)
    ]
    assert keys == ["PLAT-O2"]


def test_unknown_status_is_refused_at_the_view() -> None:
    with pytest.raises(ValueError, match="status"):
        make_kr(status="green")


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("de", ("gefährdet", "Letzter Check-in 25. Nov. 2026", "Score 0,7", "Verantwortlich")),
        ("es", ("en riesgo", "Último seguimiento 25 nov 2026", "puntuación 0,7", "Responsable")),
    ],
)
def test_german_and_spanish_renders_come_from_their_catalogues(
    locale: str, words: tuple[str, ...]
) -> None:
    html = render_panel(mixed_panel(), locale=locale, is_editor=True)
    root = parse(html)
    assert root.find("html").attrs["lang"] == locale
    kr = root.find(data_kr="PLAT-O1-KR1")
    for word in words:
        assert word in kr.text, word
    for english in ("on track", "at risk", "Owner:", "Last check-in", "practice note"):
        assert english not in html


def test_gzip_is_read_from_any_accept_encoding_and_only_short_ones_are_kept() -> None:
    kept = panel_page._takes_gzip_cached.cache_info().currsize
    long = "identity;q=1, " * (panel_page.MAX_CACHED_HEADER // 10) + "gzip;q=0.5"
    assert panel_page.accepts_gzip(long)
    assert not panel_page.accepts_gzip(long.replace("gzip;q=0.5", "gzip;q=0"))
    assert panel_page._takes_gzip_cached.cache_info().currsize == kept
    assert panel_page.accepts_gzip("gzip, deflate, br, zstd")
    assert not panel_page.accepts_gzip(None)
