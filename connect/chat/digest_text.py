"""The digest's and reminder's sentences, English and French, with the panels' formatters.

Numbers, percentages, scores and status words come from the pages' `Translator` (same
rounding, same words as the panels); only the digest's own sentences live here, so the pages'
catalogue stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from connect.ui.i18n import Translator, translator

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "{team} · weekly OKR digest",
        "week": "Week {week} ({start} – {end}) · cycle {cycle}",
        "late": "Sent late: it was due {when} UTC.",
        "objectives": "Objectives",
        "objective_line": "{title}: {progress} ({change} this week)",
        "points": "{n} pts",
        "moved": "Key results that moved",
        "moved_value": "{title}: {before} → {after} ({progress_before} → {progress_after})",
        "moved_progress": "{title}: {progress_before} → {progress_after}",
        "why": "why: {why}",
        "status_changes": "Status changes",
        "status_change": "{title}: {before} → {after}",
        "attention": "At risk or off track",
        "attention_line": "{title}: {status}, progress {progress} · {owner}",
        "celebrated": "Crossed 0.7 this week 🎉",
        "celebrated_line": "{title}: score {score}, well done {owner}!",
        "team_effort": "the team",
        "abandoned": "Abandoned",
        "abandoned_line": "{title}: {reason}",
        "no_reason": "no reason given",
        "missing": "Check-ins missing this week",
        "missing_line": "{owner}: {krs}",
        "no_owner": "No owner",
        "all_checked_in": "Everyone has checked in this week.",
        "risks": "Risks",
        "learnings": "Learnings",
        "quiet": "No key result moved this week.",
        "signals": "Health signals",
        "signal_now": "Now: {value}.",
        "open_page": "Open the OKR page",
        "check_in": "Check in",
        "reminder_title": "{team} · check-ins before the weekly digest",
        "reminder_intro": "The weekly digest goes out {when}. These key results have no "
        "check-in this week yet:",
    },
    "fr": {
        "title": "{team} · point hebdomadaire des OKR",
        "week": "Semaine {week} ({start} – {end}) · cycle {cycle}",
        "late": "Envoyé en retard : il était prévu le {when} UTC.",
        "objectives": "Objectifs",
        "objective_line": "{title} : {progress} ({change} cette semaine)",
        "points": "{n} pts",
        "moved": "Résultats clés qui ont bougé",
        "moved_value": "{title} : {before} → {after} ({progress_before} → {progress_after})",
        "moved_progress": "{title} : {progress_before} → {progress_after}",
        "why": "pourquoi : {why}",
        "status_changes": "Changements de statut",
        "status_change": "{title} : {before} → {after}",
        "attention": "À risque ou hors trajectoire",
        "attention_line": "{title} : {status}, avancement {progress} · {owner}",
        "celebrated": "Cap des 0,7 franchi cette semaine 🎉",
        "celebrated_line": "{title} : score {score}, bravo {owner} !",
        "team_effort": "l’équipe",
        "abandoned": "Abandonnés",
        "abandoned_line": "{title} : {reason}",
        "no_reason": "sans raison donnée",
        "missing": "Points manquants cette semaine",
        "missing_line": "{owner} : {krs}",
        "no_owner": "Sans responsable",
        "all_checked_in": "Tout le monde a fait son point cette semaine.",
        "risks": "Risques",
        "learnings": "Enseignements",
        "quiet": "Aucun résultat clé n’a bougé cette semaine.",
        "signals": "Signaux de santé",
        "signal_now": "Valeur actuelle : {value}.",
        "open_page": "Ouvrir la page des OKR",
        "check_in": "Faire le point",
        "reminder_title": "{team} · points à faire avant le bilan hebdomadaire",
        "reminder_intro": "Le point hebdomadaire part le {when}. Ces résultats clés n’ont pas "
        "encore de point cette semaine :",
    },
}


@dataclass(frozen=True, slots=True)
class DigestText:
    """The digest's sentences in one language, and the panels' number formatters."""

    t: Translator

    def __call__(self, key: str, /, **params: object) -> str:
        return MESSAGES[self.t.locale][key].format(**params)


def digest_text(lang: str) -> DigestText:
    """The digest's text in `lang` (English when unsupported)."""
    t = translator(lang)
    return DigestText(t if t.locale in MESSAGES else translator("en"))
