"""The message catalogue, locale choice and locale formatting."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import date, datetime

import pytest
from babel.messages.pofile import read_po

from connect.ui.i18n import LOCALE_DIR, LOCALES, MESSAGES, pick_locale, translate, translator
from connect.ui.panels import practice_note
from sync.core.practice import Finding, check_team_okrs
from sync.core.spec import KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_french_german_and_spanish_are_served() -> None:
    assert set(LOCALES) == {"en", "fr", "de", "es"}
    assert LOCALES[0] == "en"


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_catalogue_translates_every_english_message(locale: str) -> None:
    """A message added in English and forgotten in one catalogue fails here, by name."""
    assert sorted(set(MESSAGES["en"]) - set(MESSAGES[locale])) == []
    assert sorted(set(MESSAGES[locale]) - set(MESSAGES["en"])) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_use_the_same_placeholders_and_are_never_empty(locale: str) -> None:
    for key, english in MESSAGES["en"].items():
        translated = MESSAGES[locale][key]
        assert translated.strip(), key
        assert placeholders(english) == placeholders(translated), key


def test_the_template_lists_every_english_message() -> None:
    """`messages.pot` is what `pybabel update` merges into each catalogue: it must not lag."""
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    assert {str(message.id) for message in template if message.id} == set(MESSAGES["en"])


def test_german_and_spanish_okr_vocabulary() -> None:
    de, es = translator("de"), translator("es")
    assert [de.status(s) for s in ("on_track", "at_risk", "off_track")] == [
        "im Plan",
        "gefährdet",
        "nicht im Plan",
    ]
    assert [es.status(s) for s in ("on_track", "at_risk", "off_track")] == [
        "en buen camino",
        "en riesgo",
        "desviado",
    ]
    assert de("edit.new_kr") == "Neues Key Result"
    assert es("edit.new_kr") == "Nuevo resultado clave"
    assert de("checkin.open") == "Check-in"
    assert es("edit.field.objective_title") == "Objetivo"


def test_numbers_and_dates_come_from_cldr_in_every_locale() -> None:
    de, es = translator("de"), translator("es")
    assert de.number(1234.5) == "1.234,5"
    assert de.percent(0.434) == "43\u00a0%"
    assert de.date(date(2026, 11, 25)) == "25. Nov. 2026"
    assert es.number(1234.5) == "1.234,5"
    assert es.number(12345.5) == "12.345,5"
    assert es.date(date(2026, 11, 25)) == "25 nov 2026"
    assert de.score(0.7) == "0,7"


def test_french_status_words() -> None:
    t = translator("fr")
    assert [t.status(s) for s in ("on_track", "at_risk", "off_track")] == [
        "en bonne voie",
        "à risque",
        "hors trajectoire",
    ]


def test_translate_fills_params_and_falls_back_to_english() -> None:
    assert translate("empty.message", "en", team="PLAT", cycle="2026-Q4") == (
        "No OKRs for team PLAT in 2026-Q4 yet."
    )
    assert translate("status.at_risk", "ja-JP") == "at risk"
    with pytest.raises(KeyError):
        translate("no.such.key", "en")


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ({"loc": "fr-FR", "lic": "active"}, None, "fr"),
        ({"lang": "fr"}, "en-US", "fr"),
        ({"loc": "en-GB"}, "fr", "en"),
        ({"lic": "none"}, "fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ({}, "de-DE, en;q=0.3, fr;q=0.7", "de"),
        ({}, "it-IT, en;q=0.3, fr;q=0.7", "fr"),
        ({"loc": "es-MX"}, "fr", "es"),
        ({}, "fr;q=0, en;q=0.5", "en"),
        ({"loc": "ja-JP"}, "it", "en"),
        ({"loc": "de_DE"}, "fr-BE", "de"),
        ({"loc": "pt_BR"}, "fr-BE", "fr"),
        ({}, None, "en"),
        ({}, "*", "en"),
    ],
)
def test_pick_locale_reads_loc_then_lang_then_accept_language(query, accept, expected) -> None:
    assert pick_locale(query=query, accept_language=accept) == expected


def test_lic_is_the_licence_not_a_locale() -> None:
    assert pick_locale(query={"lic": "fr"}, accept_language=None) == "en"


def test_dates_are_formatted_per_locale_without_system_locales() -> None:
    assert translator("en").date(date(2026, 11, 25)) == "25 Nov 2026"
    assert translator("fr").date(datetime(2026, 11, 25, 17, 5)) == "25 nov. 2026"
    french_months = {translator("fr").date(date(2026, m, 1)) for m in range(1, 13)}
    assert len(french_months) == 12
    assert translator("fr").date(date(2026, 8, 3)) == "3 août 2026"


def test_numbers_use_the_locale_decimal_mark_and_grouping() -> None:
    en, fr = translator("en"), translator("fr")
    assert en.number(1234.5) == "1,234.5"
    assert fr.number(1234.5) == "1\u202f234,5"
    assert en.number(12.0) == "12"
    assert en.number(None) == "—"
    assert en.score(0.66) == "0.7"
    assert fr.score(0.66) == "0,7"
    assert en.percent(0.434) == "43%"
    assert fr.percent(0.434) == "43\u202f%"
    assert en.signed(4) == "+4"
    assert en.signed(-2.5) == "−2.5"
    assert en.quantity(15, "%") == "15%"
    assert en.quantity(12, "PRs") == "12\u00a0PRs"


def test_plurals_follow_each_language() -> None:
    en, fr = translator("en"), translator("fr")
    assert en.plural("practice", 1) == "1 practice note"
    assert en.plural("practice", 0) == "0 practice notes"
    assert fr.plural("practice", 0) == "0 remarque de pratique"
    assert fr.plural("practice", 3) == "3 remarques de pratique"


def test_maybe_translates_catalogue_keys_and_keeps_other_text() -> None:
    fr = translator("fr")
    assert fr.maybe("error.number") == "Saisissez un nombre."
    assert fr.maybe("Valeur trop grande") == "Valeur trop grande"


# --- practice notes ------------------------------------------------------------------------


def _every_panel_warning() -> list[Finding]:
    """One OKR set that draws each warning a panel can show."""
    good = KeyResultSpec(
        key="K.1",
        title="Cut lead time from 9 to 3 days",
        baseline=9,
        target=3,
        unit="days",
        owner="Lead",
    )
    krs = (
        good,
        replace(
            good, key="K.2", title="Fix the deploy script", baseline=None, target=None, owner=None
        ),
        replace(good, key="K.3", kind="jql", jql=None),
        replace(good, key="K.4", kind="github", measure=None),
        replace(good, key="K.5", kind="issues", baseline=None, target=None),
        replace(good, key="K.6"),
        replace(good, key="K.7", kind="github", measure="merged_prs"),
        replace(good, key="K.8", title="Grow commits per engineer from 10 to 20"),
        replace(good, key="K.9", title="Close 40 tickets a week, from 25"),
        replace(good, key="K.10", title="Deployments per week from 3 to 10"),
    )
    why = "Customers feel it"
    objectives = (
        ObjectiveSpec(key="O-1", title="Launch the new region", key_results=krs),
        ObjectiveSpec(key="O-2", title="Ship safer", description=why, key_results=krs[:1]),
        ObjectiveSpec(key="O-3", title="Learn", description=why, key_results=krs[:3]),
        ObjectiveSpec(key="O-4", title="Grow", description=why, key_results=krs[:3]),
    )
    findings = check_team_okrs(TeamOkrs(team="T", cycle=quarter("2026-Q4"), objectives=objectives))
    return [f for f in findings if f.level == "warning"]


def test_each_panel_warning_is_in_the_catalogue_word_for_word() -> None:
    warnings = _every_panel_warning()
    assert {f.code for f in warnings} == {
        "too-many-objectives",
        "too-few-krs",
        "too-many-krs",
        "no-number",
        "no-issues",
        "task-not-outcome",
        "no-owner",
        "no-why",
        "objective-task-not-outcome",
        "counts-activity",
    }
    assert {f.params["activity"] for f in warnings if f.code == "counts-activity"} == {
        "merged_prs",
        "commits",
        "tickets_closed",
        "deployments",
    }
    assert {f.params["kind"] for f in warnings if f.code == "no-number"} == {
        "metric",
        "jql",
        "github",
    }
    for finding in warnings:
        note = practice_note(finding)
        assert translator("en").note(note) == finding.message
        assert translator("fr").note(note) != finding.message


def test_a_french_practice_note() -> None:
    task = next(f for f in _every_panel_warning() if f.code == "task-not-outcome")
    assert translator("fr").note(practice_note(task)) == (
        "Le résultat clé K.2 se lit comme une tâche (« Fix the deploy script ») : énoncez le "
        "résultat qu’il doit changer, par ex. « Faire passer <mesure> de X à Y », et donnez "
        "baseline et target."
    )
