"""The one server-side message catalogue (English, French), locale choice and formatting.

Numbers and dates are formatted here from the catalogue, never through the system locale, so a
page looks the same on every host.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

DEFAULT_LOCALE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "doc.title": "OKRs",
        "panel.heading": "{team} · {cycle}",
        "panel.range": "{start} – {end}",
        "panel.open_page": "Open the OKR page",
        "panel.no_krs": "No key results yet.",
        "objective.aligns": "Aligns to {key} · {title}",
        "objective.aligns_key": "Aligns to {key}",
        "status.on_track": "on track",
        "status.at_risk": "at risk",
        "status.off_track": "off track",
        "lozenge.on_track": "On track",
        "lozenge.at_risk": "At risk",
        "lozenge.off_track": "Off track",
        "progress.label": "Progress of {name}",
        "score.label": "score",
        "kpi.heading": "Health signals",
        "kpi.breached.out_of_range": "{team} · {title} is outside its healthy range ({range}).",
        "kpi.breached.drop": "{team} · {title} changed by more than {drop}% of its healthy "
        "range within 7 days.",
        "kpi.range.both": "{min} to {max}",
        "kpi.range.max": "at most {max}",
        "kpi.range.min": "at least {min}",
        "owner.label": "Owner: {name}",
        "owner.none": "No owner",
        "checkin.last": "Last check-in {date}",
        "checkin.by": "by {author}",
        "checkin.none": "No check-in yet",
        "issues.done": "{done} / {total} issues done",
        "issues.scope": "{delta} since cycle start",
        "kr.abandoned": "Abandoned",
        "kr.abandoned_reason": "Abandoned: {reason}",
        "source.missing.jira": "Not connected: this site has no Jira for this KR to read. "
        "Install okrlink on the site’s Jira (Forge or Connect); until then, check-ins set its "
        "value.",
        "source.missing.github": "Not connected: no GitHub installation is mapped to this "
        "site. Install the GitHub App, then run “okrlink github map INSTALLATION_ID SITE”.",
        "source.unreachable.jira": "Jira did not answer the last time this KR was read; "
        "okrlink reads it again at the next poll.",
        "trend.title": "Progress of {key} over the cycle, now {percent}",
        "trend.title_confidence": "Progress of {key} over the cycle, now {percent}; "
        "confidence {confidence}",
        "chart.heading": "Progress and confidence over the cycle",
        "chart.progress": "Progress",
        "chart.expected": "Expected pace",
        "chart.confidence": "Confidence at each check-in",
        "practice.one": "{n} practice note",
        "practice.other": "{n} practice notes",
        "checkin.open": "Check in",
        "checkin.heading": "Check in on {key}",
        "checkin.submit": "Save check-in",
        "checkin.has_errors": "Please correct the fields marked below.",
        "field.value": "Current value",
        "field.value_unit": "Current value ({unit})",
        "field.status": "Status",
        "field.score": "Score (0–1)",
        "field.what": "What happened",
        "field.why": "Why",
        "field.next": "What next",
        "field.decisions": "Decisions",
        "field.risks": "Risks",
        "field.learnings": "Learnings",
        "field.one_per_line": "One per line",
        "error.required": "This field is required.",
        "error.number": "Enter a number.",
        "error.score_range": "Enter a score between 0 and 1.",
        "error.status": "Choose a status.",
        "issue.heading": "Key results",
        "issue.none": "This issue does not contribute to a key result yet.",
        "issue.via": "via {epic}",
        "issue.objective": "Objective: {title}",
        "issue.unlink": "Unlink",
        "issue.unlink_label": "Unlink {issue} from {kr}",
        "issue.search_label": "Find a key result",
        "issue.search": "Search",
        "issue.results": "Results for “{q}”",
        "issue.no_results": "No key result matches “{q}”.",
        "issue.link": "Link",
        "issue.link_label": "Link {issue} to {kr}",
        "empty.title": "No OKRs yet",
        "empty.message": "No OKRs for team {team} in {cycle} yet.",
        "empty.hint": "Import them from a YAML file with “okrlink import FILE”, "
        "or create them on the OKR page.",
        "practice.too-many-objectives": "Team {team} has {count} objectives in {cycle}: keep at "
        "most {max} so the team can focus; merge or drop {keys}.",
        "practice.too-few-krs": "Objective {key} has {count} active key results: use {min} to "
        "{max}; add KRs that measure the objective.",
        "practice.too-few-krs.one": "Objective {key} has {count} active key result: use {min} "
        "to {max}; add KRs that measure the objective.",
        "practice.too-many-krs": "Objective {key} has {count} active key results: use {min} to "
        "{max}; keep the few that matter most.",
        "practice.no-number.metric": "KR {key} has no number to measure: give baseline and "
        "target (e.g. baseline: 15, target: 5, unit: '%').",
        "practice.no-number.jql": "KR {key} has no number to measure: give the jql query whose "
        "count it tracks and a target (and a baseline).",
        "practice.no-number.github": "KR {key} has no number to measure: give a measure "
        "({measures}) and a target (and a baseline).",
        "practice.no-issues": "KR {key} links no issues: list the Jira issues or epics under "
        "issues, e.g. issues: [PLAT-12].",
        "practice.task-not-outcome": "KR {key} reads like a task ({title!r}): state the outcome "
        "it should change, e.g. 'Raise <measure> from X to Y', and give baseline and target.",
        "practice.no-owner": "KR {key} has no owner: name who follows it up (owner: a role, name "
        "or account id).",
        "edit.new_objective": "New objective",
        "edit.edit_objective": "Edit objective",
        "edit.abandon_objective": "Abandon objective",
        "edit.new_kr": "New key result",
        "edit.edit_kr": "Edit key result",
        "edit.abandon_kr": "Abandon key result",
        "edit.create": "Create",
        "edit.save": "Save",
        "edit.abandon": "Abandon",
        "edit.field.objective_title": "Objective",
        "edit.field.parent": "Aligns to (parent objective key)",
        "edit.field.kr_title": "Key result",
        "edit.field.kind": "Measured by",
        "edit.field.baseline": "Baseline",
        "edit.field.target": "Target",
        "edit.field.unit": "Unit",
        "edit.field.owner": "Owner",
        "edit.field.weight": "Weight",
        "edit.field.jql": "JQL query (kind jql)",
        "edit.field.issues": "Issues or epics",
        "edit.field.abandon_reason": "Why it is abandoned",
        "edit.hint.parent": "e.g. ACME-1: the company objective this serves",
        "edit.field.description": "Why it matters",
        "edit.hint.owner": "Type a name to pick a person, or write a role (SRE lead)",
        "edit.field.kpi": "Follows KPI (key)",
        "edit.hint.kpi": "e.g. PLAT-K1: the KR takes that KPI's value",
        "measure.merged_prs": "Merged PRs",
        "measure.lead_time_hours": "Lead time (h)",
        "measure.deployment_frequency": "Deployment frequency (DORA)",
        "measure.change_lead_time_hours": "Lead time for changes, h (DORA)",
        "measure.change_failure_rate": "Change failure rate, % (DORA)",
        "measure.time_to_restore_hours": "Time to restore, h (DORA)",
        "cycle.section": "Cycles",
        "cycle.in": "in {parent}",
        "cycle.new": "New cycle",
        "cycle.field.name": "Name",
        "cycle.hint.name": "2027-Q1 (a quarter), 2027-01 (a month), 2027 (a year), or any name "
        "with start and end dates",
        "cycle.field.start": "Start",
        "cycle.field.end": "End",
        "cycle.field.parent": "Part of",
        "cycle.hint.parent": "A longer cycle it refreshes, e.g. the year holding a quarter",
        "cycle.parent.none": "None",
        "error.cycle_overlap": "It overlaps another of the team’s cycles in the same parent: "
        "choose other dates, or put it under a longer cycle.",
        "edit.hint.description": "What changes, and for whom, when this objective is reached",
        "retro.objectives": "Objectives and why",
        "practice.no-why": "Objective {key} has no description: say why it matters "
        "(description: what changes, and for whom, when it is reached).",
        "practice.objective-task-not-outcome": "Objective {key} reads like a task ({title!r}): "
        "state the outcome it should change, and let its key results say how much.",
        "practice.counts-activity.merged_prs": "KR {key} counts activity (merged PRs): more of "
        "it does not say anything changed; measure the outcome it should bring instead, e.g. "
        "lead time, change failure rate or a metric your users feel.",
        "practice.counts-activity.commits": "KR {key} counts activity (commits): more of it "
        "does not say anything changed; measure the outcome it should bring instead, e.g. lead "
        "time, change failure rate or a metric your users feel.",
        "practice.counts-activity.tickets_closed": "KR {key} counts activity (tickets closed): "
        "more of it does not say anything changed; measure the outcome it should bring instead, "
        "e.g. lead time, change failure rate or a metric your users feel.",
        "practice.counts-activity.deployments": "KR {key} counts activity (deployments as a "
        "volume): more of it does not say anything changed; measure the outcome it should bring "
        "instead, e.g. lead time, change failure rate or a metric your users feel.",
        "edit.hint.kr_title": "An outcome with a number: “Raise X from A to B”",
        "edit.hint.issues": "Jira keys, one per line or separated by commas",
        "kpi.section": "KPIs",
        "kpi.section_hint": "The team's health signals: while each stays inside its healthy "
        "range, nothing is asked of anyone.",
        "kpi.none": "No KPIs yet.",
        "kpi.health.healthy": "healthy",
        "kpi.health.breached": "breached",
        "kpi.new": "New KPI",
        "kpi.edit": "Edit KPI",
        "kpi.history": "History",
        "kpi.history.created": "{when}: created",
        "kpi.history.changed": "{when}: {fields} changed",
        "kpi.history.value": "{when}: {value}, {health}",
        "kpi.field.key": "Key",
        "kpi.field.title": "KPI",
        "kpi.field.kind": "Measured by",
        "kpi.field.measure": "Measure (kind github)",
        "kpi.field.current": "Value (kind metric)",
        "kpi.field.healthy_min": "Healthy from",
        "kpi.field.healthy_max": "Healthy up to",
        "kpi.field.drop_alert": "Alert on a change over (%)",
        "kpi.hint.drop_alert": "of the healthy range, within 7 days",
        "kpi.field.jql_field": "Number field summed (kind jql)",
        "kpi.field.repository": "Repository",
        "kpi.field.environment": "Environment",
        "kpi.field.window_days": "Window (days)",
        "kpi.field.incident_jql": "Incidents (JQL)",
        "kpi.field.incident_window_hours": "Incident window (hours)",
        "kpi.dora": "DORA scope (kind github)",
        "kpi.hint.key": "e.g. PLAT-K1; empty: the next free key",
        "kpi.hint.owner": "Leave empty or name the team",
        "kpi.kind.metric": "a number typed in",
        "kpi.kind.jql": "a JQL count",
        "kpi.kind.github": "GitHub (DORA)",
        "kpi.measure.none": "—",
        "practice.kpi-no-range": "KPI {key} has no healthy range: give healthy: {{min: ..}} and/or "
        "{{max: ..}}, the values between which nothing is asked of anyone.",
        "practice.kpi-person-owner": "KPI {key} is owned by a person ({owner}): a KPI is the "
        "team's health signal; leave owner empty or name the team.",
        "error.kpi_kind": "Choose metric, jql or github.",
        "error.kpi_measure": "Choose the measure of a github KPI.",
        "error.kpi_jql": "Give the JQL query whose count it tracks.",
        "error.kpi_range": "The healthy minimum is above the maximum: swap them.",
        "error.kpi_drop": "Give 1 to 100 (% of the healthy range).",
        "error.kpi_key_taken": "This key is taken: choose another or leave it empty.",
        "kind.metric": "a number",
        "kind.issues": "linked issues",
        "kind.jql": "a JQL count",
        "kind.github": "pull requests",
        "review.heading": "Weekly review · {team} · {cycle}",
        "review.since": "Changes since {date}",
        "review.delta": "{delta} pts this week",
        "review.status_changed": "was {before}, now {now}",
        "review.missing": "No check-in this week",
        "review.missing_count": "Check-ins missing this week: {n}",
        "review.tab": "Weekly review",
        "review.okrs_tab": "OKRs",
        "checkin.confidence": "Confidence {percent}",
        "field.confidence": "Confidence (0–1)",
        "error.confidence_range": "Enter a confidence between 0 and 1.",
        "checkin.latest": "Latest check-in",
        "checkin.earlier": "Earlier check-ins",
        "retro.heading": "Retrospective · {team} · {cycle}",
        "retro.closed": "Closed {date}",
        "retro.learned": "What we learned",
        "retro.differently": "What we would do differently",
        "retro.scores": "Final scores",
        "retro.carried": "Carried into the next cycle",
        "retro.tab": "Retrospective",
        "retro.page.published": "Open the retrospective page in the Confluence space {space}",
        "retro.page.pending": "Being published to the Confluence space {space}: tried again "
        "automatically.",
        "retro.page.failed": "Confluence refused the page in the space {space}: an administrator "
        "can publish it again after fixing access (okrlink outbound retry).",
        "kr.history": "Changes to this key result",
        "kr.open": "Check-ins and changes",
        "kr.change.create": "created",
        "kr.change.update": "changed",
        "kr.change.abandon": "abandoned",
        "kr.change.close": "graded at the close",
        "kr.change.carry": "carried over",
        "retro.space": "Confluence space for the retrospective",
        "retro.space_hint": "A space key, e.g. PLAT; leave empty not to publish",
        "close.open": "Close the cycle",
        "close.score": "Final score of {key}",
        "close.reason": "Why (when the score differs from {derived})",
        "close.carry": "Carry over",
        "close.submit": "Close the cycle",
        "close.closed": "This cycle is closed: it is read-only.",
        "monthly.label": "Score by month",
        "okrs.heading": "OKRs · {cycle}",
        "okrs.teams": "Teams",
        "okrs.alignment": "Alignment",
        "okrs.none": "No objectives in this cycle yet.",
        "admin.practice": "Practice profile",
        "admin.practice_objectives": "At most {max} objectives per team and cycle (5 for a "
        "company-level team, one that others align to)",
        "admin.practice_krs": "{min} to {max} active key results per objective",
        "admin.practice_hint": "Change it with “okrlink practice set --site SITE "
        "--max-objectives 3 --krs 2-5”.",
        "practice.unknown-parent": "Objective {key} aligns to {parent}, which is no objective of "
        "{cycle}: name an existing company objective as parent.",
        "admin.installations": "Installations of this site",
        "admin.no_installation": "No installation.",
        "admin.enabled": "enabled",
        "admin.disabled": "disabled",
        "admin.installed": "installed {date}",
        "admin.github": "GitHub installations mapped to this site",
        "admin.no_github": "No GitHub installation is mapped to this site yet.",
        "admin.active": "active",
        "admin.suspended": "suspended",
        "admin.digest": "Weekly digest in Slack and Teams",
        "admin.no_digest": "No digest channel yet: add a Slack or Teams webhook below.",
        "admin.digest_when": "{day} {time} {tz}",
        "admin.digest_parked": "parked: {reason}",
        "admin.digest_active": "active",
        "admin.digest_remove": "Remove",
        "admin.digest_add": "Add a digest channel",
        "admin.digest_team": "Team (project key)",
        "admin.digest_kind": "Where",
        "admin.digest_url": "Webhook URL (https)",
        "admin.digest_day": "Day",
        "admin.digest_time": "Time",
        "admin.digest_tz": "Time zone",
        "admin.digest_lang": "Language",
        "admin.digest_submit": "Add",
        "date.format": "{day} {month} {year}",
        "month.1": "Jan",
        "month.2": "Feb",
        "month.3": "Mar",
        "month.4": "Apr",
        "month.5": "May",
        "month.6": "Jun",
        "month.7": "Jul",
        "month.8": "Aug",
        "month.9": "Sep",
        "month.10": "Oct",
        "month.11": "Nov",
        "month.12": "Dec",
        "number.decimal": ".",
        "number.group": ",",
        "number.percent": "{n}%",
    },
    "fr": {
        "doc.title": "OKR",
        "panel.heading": "{team} · {cycle}",
        "panel.range": "{start} – {end}",
        "panel.open_page": "Ouvrir la page des OKR",
        "panel.no_krs": "Aucun résultat clé pour l’instant.",
        "objective.aligns": "Aligné sur {key} · {title}",
        "objective.aligns_key": "Aligné sur {key}",
        "status.on_track": "en bonne voie",
        "status.at_risk": "à risque",
        "status.off_track": "hors trajectoire",
        "lozenge.on_track": "En bonne voie",
        "lozenge.at_risk": "À risque",
        "lozenge.off_track": "Hors trajectoire",
        "progress.label": "Avancement de {name}",
        "score.label": "score",
        "kpi.heading": "Signaux de santé",
        "kpi.breached.out_of_range": "{team} · {title} est hors de sa plage saine ({range}).",
        "kpi.breached.drop": "{team} · {title} a varié de plus de {drop} % de sa plage saine "
        "en 7 jours.",
        "kpi.range.both": "de {min} à {max}",
        "kpi.range.max": "au plus {max}",
        "kpi.range.min": "au moins {min}",
        "owner.label": "Responsable : {name}",
        "owner.none": "Sans responsable",
        "checkin.last": "Dernier point le {date}",
        "checkin.by": "par {author}",
        "checkin.none": "Aucun point pour l’instant",
        "issues.done": "{done} / {total} tickets terminés",
        "issues.scope": "{delta} depuis le début du cycle",
        "kr.abandoned": "Abandonné",
        "kr.abandoned_reason": "Abandonné : {reason}",
        "source.missing.jira": "Non connecté : ce site n’a pas de Jira à lire pour ce résultat "
        "clé. Installez okrlink sur le Jira du site (Forge ou Connect) ; d’ici là, les points "
        "d’étape fixent sa valeur.",
        "source.missing.github": "Non connecté : aucune installation GitHub n’est associée à "
        "ce site. Installez l’app GitHub, puis lancez « okrlink github map INSTALLATION_ID "
        "SITE ».",
        "source.unreachable.jira": "Jira n’a pas répondu lors de la dernière lecture de ce "
        "résultat clé ; okrlink le relira au prochain relevé.",
        "trend.title": "Avancement de {key} sur le cycle, {percent} à ce jour",
        "trend.title_confidence": "Avancement de {key} sur le cycle, {percent} à ce jour ; "
        "confiance {confidence}",
        "chart.heading": "Avancement et confiance sur le cycle",
        "chart.progress": "Avancement",
        "chart.expected": "Rythme attendu",
        "chart.confidence": "Confiance à chaque point",
        "practice.one": "{n} remarque de pratique",
        "practice.other": "{n} remarques de pratique",
        "checkin.open": "Faire le point",
        "checkin.heading": "Faire le point sur {key}",
        "checkin.submit": "Enregistrer le point",
        "checkin.has_errors": "Corrigez les champs signalés ci-dessous.",
        "field.value": "Valeur actuelle",
        "field.value_unit": "Valeur actuelle ({unit})",
        "field.status": "Statut",
        "field.score": "Score (0–1)",
        "field.what": "Ce qui s’est passé",
        "field.why": "Pourquoi",
        "field.next": "La suite",
        "field.decisions": "Décisions",
        "field.risks": "Risques",
        "field.learnings": "Enseignements",
        "field.one_per_line": "Un élément par ligne",
        "error.required": "Ce champ est obligatoire.",
        "error.number": "Saisissez un nombre.",
        "error.score_range": "Saisissez un score entre 0 et 1.",
        "error.status": "Choisissez un statut.",
        "issue.heading": "Résultats clés",
        "issue.none": "Ce ticket ne contribue encore à aucun résultat clé.",
        "issue.via": "via {epic}",
        "issue.objective": "Objectif : {title}",
        "issue.unlink": "Délier",
        "issue.unlink_label": "Délier {issue} de {kr}",
        "issue.search_label": "Chercher un résultat clé",
        "issue.search": "Chercher",
        "issue.results": "Résultats pour « {q} »",
        "issue.no_results": "Aucun résultat clé ne correspond à « {q} ».",
        "issue.link": "Lier",
        "issue.link_label": "Lier {issue} à {kr}",
        "empty.title": "Pas encore d’OKR",
        "empty.message": "Pas encore d’OKR pour l’équipe {team} en {cycle}.",
        "empty.hint": "Importez-les depuis un fichier YAML avec « okrlink import FICHIER », "
        "ou créez-les sur la page des OKR.",
        "practice.too-many-objectives": "L’équipe {team} a {count} objectifs en {cycle} : "
        "gardez-en au plus {max} pour rester concentrée ; fusionnez ou retirez {keys}.",
        "practice.too-few-krs": "L’objectif {key} a {count} résultats clés actifs : visez {min} "
        "à {max} ; ajoutez des résultats clés qui mesurent l’objectif.",
        "practice.too-few-krs.one": "L’objectif {key} a {count} résultat clé actif : visez "
        "{min} à {max} ; ajoutez des résultats clés qui mesurent l’objectif.",
        "practice.too-many-krs": "L’objectif {key} a {count} résultats clés actifs : visez {min} "
        "à {max} ; gardez les quelques-uns qui comptent le plus.",
        "practice.no-number.metric": "Le résultat clé {key} n’a pas de nombre à mesurer : "
        "indiquez baseline et target (par ex. baseline: 15, target: 5, unit: '%').",
        "practice.no-number.jql": "Le résultat clé {key} n’a pas de nombre à mesurer : indiquez "
        "la requête jql dont il suit le nombre de tickets et une cible target (et une baseline).",
        "practice.no-number.github": "Le résultat clé {key} n’a pas de nombre à mesurer : "
        "indiquez une mesure measure ({measures}) et une cible target (et une baseline).",
        "practice.no-issues": "Le résultat clé {key} n’est lié à aucun ticket : listez les "
        "tickets ou epics Jira sous issues, par ex. issues: [PLAT-12].",
        "practice.task-not-outcome": "Le résultat clé {key} se lit comme une tâche (« {title} ») "
        ": énoncez le résultat qu’il doit changer, par ex. « Faire passer <mesure> de X à Y », "
        "et donnez baseline et target.",
        "practice.no-owner": "Le résultat clé {key} n’a pas de responsable : nommez qui le suit "
        "(owner : un rôle, un nom ou un identifiant de compte).",
        "edit.new_objective": "Nouvel objectif",
        "edit.edit_objective": "Modifier l’objectif",
        "edit.abandon_objective": "Abandonner l’objectif",
        "edit.new_kr": "Nouveau résultat clé",
        "edit.edit_kr": "Modifier le résultat clé",
        "edit.abandon_kr": "Abandonner le résultat clé",
        "edit.create": "Créer",
        "edit.save": "Enregistrer",
        "edit.abandon": "Abandonner",
        "edit.field.objective_title": "Objectif",
        "edit.field.parent": "S’aligne sur (clé de l’objectif parent)",
        "edit.field.kr_title": "Résultat clé",
        "edit.field.kind": "Mesuré par",
        "edit.field.baseline": "Point de départ",
        "edit.field.target": "Cible",
        "edit.field.unit": "Unité",
        "edit.field.owner": "Responsable",
        "edit.field.weight": "Poids",
        "edit.field.jql": "Requête JQL (type jql)",
        "edit.field.issues": "Tickets ou epics",
        "edit.field.abandon_reason": "Pourquoi il est abandonné",
        "edit.hint.parent": "par ex. ACME-1 : l’objectif d’entreprise qu’il sert",
        "edit.field.description": "Pourquoi c’est important",
        "edit.hint.owner": "Tapez un nom pour choisir une personne, ou écrivez un rôle "
        "(responsable SRE)",
        "edit.field.kpi": "Suit le KPI (clé)",
        "edit.hint.kpi": "par ex. PLAT-K1 : le résultat clé prend la valeur de ce KPI",
        "measure.merged_prs": "PR fusionnées",
        "measure.lead_time_hours": "Délai de livraison (h)",
        "measure.deployment_frequency": "Fréquence de déploiement (DORA)",
        "measure.change_lead_time_hours": "Délai des changements, h (DORA)",
        "measure.change_failure_rate": "Taux d’échec des changements, % (DORA)",
        "measure.time_to_restore_hours": "Temps de rétablissement, h (DORA)",
        "cycle.section": "Cycles",
        "cycle.in": "dans {parent}",
        "cycle.new": "Nouveau cycle",
        "cycle.field.name": "Nom",
        "cycle.hint.name": "2027-Q1 (un trimestre), 2027-01 (un mois), 2027 (une année), ou "
        "tout nom avec des dates de début et de fin",
        "cycle.field.start": "Début",
        "cycle.field.end": "Fin",
        "cycle.field.parent": "Fait partie de",
        "cycle.hint.parent": "Un cycle plus long qu’il renouvelle, par ex. l’année d’un trimestre",
        "cycle.parent.none": "Aucun",
        "error.cycle_overlap": "Il chevauche un autre cycle de l’équipe dans le même parent : "
        "choisissez d’autres dates, ou placez-le dans un cycle plus long.",
        "edit.hint.description": "Ce qui change, et pour qui, quand cet objectif est atteint",
        "retro.objectives": "Objectifs et leur raison d’être",
        "practice.no-why": "L’objectif {key} n’a pas de description : dites pourquoi il compte "
        "(ce qui change, et pour qui, quand il est atteint).",
        "practice.objective-task-not-outcome": "L’objectif {key} se lit comme une tâche "
        "(« {title} ») : énoncez le résultat qu’il doit changer, et laissez ses résultats clés "
        "dire de combien.",
        "practice.counts-activity.merged_prs": "Le résultat clé {key} compte de l’activité (PR "
        "fusionnées) : en faire plus ne dit pas que quelque chose a changé ; mesurez plutôt le "
        "résultat attendu, par ex. le délai de livraison, le taux d’échec des changements ou une "
        "mesure que vos utilisateurs ressentent.",
        "practice.counts-activity.commits": "Le résultat clé {key} compte de l’activité "
        "(commits) : en faire plus ne dit pas que quelque chose a changé ; mesurez plutôt le "
        "résultat attendu, par ex. le délai de livraison, le taux d’échec des changements ou une "
        "mesure que vos utilisateurs ressentent.",
        "practice.counts-activity.tickets_closed": "Le résultat clé {key} compte de l’activité "
        "(tickets fermés) : en faire plus ne dit pas que quelque chose a changé ; mesurez plutôt "
        "le résultat attendu, par ex. le délai de livraison, le taux d’échec des changements ou "
        "une mesure que vos utilisateurs ressentent.",
        "practice.counts-activity.deployments": "Le résultat clé {key} compte de l’activité "
        "(des déploiements en volume) : en faire plus ne dit pas que quelque chose a changé ; "
        "mesurez plutôt le résultat attendu, par ex. le délai de livraison, le taux d’échec des "
        "changements ou une mesure que vos utilisateurs ressentent.",
        "edit.hint.kr_title": "Un résultat chiffré : « Faire passer X de A à B »",
        "edit.hint.issues": "Clés Jira, une par ligne ou séparées par des virgules",
        "kpi.section": "KPI",
        "kpi.section_hint": "Les signaux de santé de l’équipe : tant que chacun reste dans sa "
        "plage saine, on ne demande rien à personne.",
        "kpi.none": "Pas encore de KPI.",
        "kpi.health.healthy": "sain",
        "kpi.health.breached": "hors plage",
        "kpi.new": "Nouveau KPI",
        "kpi.edit": "Modifier le KPI",
        "kpi.history": "Historique",
        "kpi.history.created": "{when} : créé",
        "kpi.history.changed": "{when} : {fields} modifié(s)",
        "kpi.history.value": "{when} : {value}, {health}",
        "kpi.field.key": "Clé",
        "kpi.field.title": "KPI",
        "kpi.field.kind": "Mesuré par",
        "kpi.field.measure": "Mesure (type github)",
        "kpi.field.current": "Valeur (type metric)",
        "kpi.field.healthy_min": "Sain à partir de",
        "kpi.field.healthy_max": "Sain jusqu’à",
        "kpi.field.drop_alert": "Alerter au-delà d’une variation de (%)",
        "kpi.hint.drop_alert": "de la plage saine, en 7 jours",
        "kpi.field.jql_field": "Champ numérique additionné (type jql)",
        "kpi.field.repository": "Dépôt",
        "kpi.field.environment": "Environnement",
        "kpi.field.window_days": "Fenêtre (jours)",
        "kpi.field.incident_jql": "Incidents (JQL)",
        "kpi.field.incident_window_hours": "Fenêtre d’incident (heures)",
        "kpi.dora": "Périmètre DORA (type github)",
        "kpi.hint.key": "par ex. PLAT-K1 ; vide : la prochaine clé libre",
        "kpi.hint.owner": "Laissez vide ou nommez l’équipe",
        "kpi.kind.metric": "un nombre saisi",
        "kpi.kind.jql": "un décompte JQL",
        "kpi.kind.github": "GitHub (DORA)",
        "kpi.measure.none": "—",
        "practice.kpi-no-range": "Le KPI {key} n’a pas de plage saine : indiquez healthy: "
        "{{min: ..}} et/ou {{max: ..}}, les valeurs entre lesquelles on ne demande rien à "
        "personne.",
        "practice.kpi-person-owner": "Le KPI {key} a pour responsable une personne ({owner}) : un "
        "KPI est le signal de santé de l’équipe ; laissez owner vide ou nommez l’équipe.",
        "error.kpi_kind": "Choisissez metric, jql ou github.",
        "error.kpi_measure": "Choisissez la mesure d’un KPI github.",
        "error.kpi_jql": "Indiquez la requête JQL dont il suit le décompte.",
        "error.kpi_range": "Le minimum sain dépasse le maximum : inversez-les.",
        "error.kpi_drop": "Indiquez 1 à 100 (% de la plage saine).",
        "error.kpi_key_taken": "Cette clé est prise : choisissez-en une autre ou laissez vide.",
        "kind.metric": "un nombre",
        "kind.issues": "des tickets liés",
        "kind.jql": "un décompte JQL",
        "kind.github": "des pull requests",
        "review.heading": "Revue hebdomadaire · {team} · {cycle}",
        "review.since": "Changements depuis le {date}",
        "review.delta": "{delta} pts cette semaine",
        "review.status_changed": "était {before}, maintenant {now}",
        "review.missing": "Pas de point cette semaine",
        "review.missing_count": "Points manquants cette semaine : {n}",
        "review.tab": "Revue hebdomadaire",
        "review.okrs_tab": "OKR",
        "checkin.confidence": "Confiance {percent}",
        "field.confidence": "Confiance (0–1)",
        "error.confidence_range": "Saisissez une confiance entre 0 et 1.",
        "checkin.latest": "Dernier point",
        "checkin.earlier": "Points précédents",
        "retro.heading": "Rétrospective · {team} · {cycle}",
        "retro.closed": "Clos le {date}",
        "retro.learned": "Ce que nous avons appris",
        "retro.differently": "Ce que nous ferions autrement",
        "retro.scores": "Scores finaux",
        "retro.carried": "Reporté au cycle suivant",
        "retro.tab": "Rétrospective",
        "retro.page.published": "Ouvrir la page de la rétrospective dans l’espace Confluence "
        "{space}",
        "retro.page.pending": "Publication en cours dans l’espace Confluence {space} : nouvel "
        "essai automatique.",
        "retro.page.failed": "Confluence a refusé la page dans l’espace {space} : un "
        "administrateur peut la publier à nouveau une fois l’accès corrigé (okrlink outbound "
        "retry).",
        "kr.history": "Modifications de ce résultat clé",
        "kr.open": "Points et modifications",
        "kr.change.create": "créé",
        "kr.change.update": "modifié",
        "kr.change.abandon": "abandonné",
        "kr.change.close": "noté à la clôture",
        "kr.change.carry": "reporté",
        "retro.space": "Espace Confluence de la rétrospective",
        "retro.space_hint": "Une clé d’espace, par ex. PLAT ; vide pour ne pas publier",
        "close.open": "Clore le cycle",
        "close.score": "Score final de {key}",
        "close.reason": "Pourquoi (si le score diffère de {derived})",
        "close.carry": "Reporter",
        "close.submit": "Clore le cycle",
        "close.closed": "Ce cycle est clos : il est en lecture seule.",
        "monthly.label": "Score par mois",
        "okrs.heading": "OKR · {cycle}",
        "okrs.teams": "Équipes",
        "okrs.alignment": "Alignement",
        "okrs.none": "Pas encore d’objectif dans ce cycle.",
        "admin.practice": "Profil de pratique",
        "admin.practice_objectives": "Au plus {max} objectifs par équipe et par cycle (5 pour "
        "une équipe de niveau entreprise, à laquelle d’autres s’alignent)",
        "admin.practice_krs": "{min} à {max} résultats clés actifs par objectif",
        "admin.practice_hint": "Modifiez-le avec « okrlink practice set --site SITE "
        "--max-objectives 3 --krs 2-5 ».",
        "practice.unknown-parent": "L’objectif {key} s’aligne sur {parent}, qui n’est pas un "
        "objectif de {cycle} : indiquez comme parent un objectif d’entreprise existant.",
        "admin.installations": "Installations de ce site",
        "admin.no_installation": "Aucune installation.",
        "admin.enabled": "activée",
        "admin.disabled": "désactivée",
        "admin.installed": "installée le {date}",
        "admin.github": "Installations GitHub rattachées à ce site",
        "admin.no_github": "Aucune installation GitHub n’est encore rattachée à ce site.",
        "admin.active": "active",
        "admin.suspended": "suspendue",
        "admin.digest": "Point hebdomadaire dans Slack et Teams",
        "admin.no_digest": "Aucun canal pour l’instant : ajoutez un webhook Slack ou Teams "
        "ci-dessous.",
        "admin.digest_when": "{day} {time} {tz}",
        "admin.digest_parked": "suspendu : {reason}",
        "admin.digest_active": "actif",
        "admin.digest_remove": "Retirer",
        "admin.digest_add": "Ajouter un canal",
        "admin.digest_team": "Équipe (clé du projet)",
        "admin.digest_kind": "Où",
        "admin.digest_url": "URL du webhook (https)",
        "admin.digest_day": "Jour",
        "admin.digest_time": "Heure",
        "admin.digest_tz": "Fuseau horaire",
        "admin.digest_lang": "Langue",
        "admin.digest_submit": "Ajouter",
        "date.format": "{day} {month} {year}",
        "month.1": "janv.",
        "month.2": "févr.",
        "month.3": "mars",
        "month.4": "avr.",
        "month.5": "mai",
        "month.6": "juin",
        "month.7": "juil.",
        "month.8": "août",
        "month.9": "sept.",
        "month.10": "oct.",
        "month.11": "nov.",
        "month.12": "déc.",
        "number.decimal": ",",
        "number.group": "\u202f",
        "number.percent": "{n}\u202f%",
    },
}

LOCALES: tuple[str, ...] = tuple(MESSAGES)

_TAG = re.compile(r"^[A-Za-z]{2,3}")


def normalize_locale(tag: str | None) -> str | None:
    """The supported locale for a language tag (`fr-FR`, `fr_CA`, `FR`), or None."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    lang = match.group(0).lower()
    return lang if lang in MESSAGES else None


def translate(key: str, locale: str, /, **params: object) -> str:
    """The message `key` in `locale` (English when unsupported), with `{name}` params filled."""
    catalogue = MESSAGES.get(normalize_locale(locale) or DEFAULT_LOCALE, MESSAGES[DEFAULT_LOCALE])
    text = catalogue[key]
    return text.format(**params) if params else text


def pick_locale(*, query: Mapping[str, str], accept_language: str | None) -> str:
    """The page locale from Atlassian's query parameters, then Accept-Language; English otherwise.

    Atlassian adds `lic`, `loc` and sometimes `lang` to iframe URLs: `loc` (`fr-FR`) and `lang`
    (`fr`) carry the user's locale; `lic` is the licence status (`active`, `none`) and is ignored.
    """
    for name in ("loc", "lang"):
        found = normalize_locale(query.get(name))
        if found:
            return found
    for tag in _accept_language_tags(accept_language or ""):
        found = normalize_locale(tag)
        if found:
            return found
    return DEFAULT_LOCALE


def _accept_language_tags(header: str) -> list[str]:
    """Accept-Language tags, highest quality first (stable for equal weights), q=0 dropped."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


@dataclass(frozen=True, slots=True)
class PracticeNote:
    """A practice warning as pages show it: its catalogue key and the message's parameters."""

    message_key: str
    params: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Translator:
    """A gettext-like callable bound to one locale, with the formatters templates need."""

    locale: str

    def __call__(self, key: str, /, **params: object) -> str:
        """The message `key`, params filled."""
        return translate(key, self.locale, **params)

    def maybe(self, text: str) -> str:
        """The message for `text` when it is a catalogue key, else `text` itself."""
        catalogue = MESSAGES[self.locale]
        return catalogue[text] if text in catalogue else text

    def plural(self, key: str, n: int, /, **params: object) -> str:
        """`key.one` or `key.other` for the count `n` (French counts 0 and 1 as singular)."""
        return self(f"{key}.{'one' if self._is_one(n) else 'other'}", n=n, **params)

    def _is_one(self, n: int) -> bool:
        """Whether `n` takes the singular (French counts 0 and 1 as singular)."""
        return n in (0, 1) if self.locale == "fr" else n == 1

    def date(self, value: date | datetime) -> str:
        """`25 Nov 2026` / `25 nov. 2026`."""
        return self(
            "date.format",
            day=value.day,
            month=self(f"month.{value.month}"),
            year=value.year,
        )

    def number(self, value: float | None, *, decimals: int = 2) -> str:
        """A number with at most `decimals` decimals, trailing zeros dropped; `—` for None."""
        if value is None or math.isnan(value):
            return "—"
        text = f"{abs(value):,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        whole, _, frac = text.partition(".")
        whole = whole.replace(",", self("number.group"))
        sign = "−" if value < 0 and text.strip("0.,") else ""
        return sign + whole + (self("number.decimal") + frac if frac else "")

    def signed(self, value: float) -> str:
        """A number with an explicit sign: `+4`, `−2`."""
        return ("+" if value > 0 else "") + self.number(value)

    def score(self, value: float) -> str:
        """A 0–1 score with one decimal: `0.7` / `0,7`."""
        return f"{value:.1f}".replace(".", self("number.decimal"))

    def percent(self, fraction: float) -> str:
        """A 0..1 fraction as a whole percentage: `43%` / `43 %`."""
        return self("number.percent", n=round(clamp01(fraction) * 100))

    def quantity(self, value: float | None, unit: str) -> str:
        """A value with its unit: `15%`, `12 PRs`, `—` when unknown."""
        if value is None:
            return "—"
        number = self.number(value)
        if not unit:
            return number
        if unit == "%":
            return self("number.percent", n=number)
        return f"{number}\u00a0{unit}"

    def status(self, status: str) -> str:
        """The status word: `on track`, `à risque`."""
        return self(f"status.{status}")

    def note(self, note: PracticeNote) -> str:
        """A practice note in this language, from its catalogue key and parameters."""
        count = note.params.get("count")
        if isinstance(count, int) and self._is_one(count):
            singular = f"{note.message_key}.one"
            if singular in MESSAGES[self.locale]:
                return self(singular, **note.params)
        return self(note.message_key, **note.params)


def clamp01(value: float) -> float:
    """`value` clamped to 0..1 (NaN counts as 0)."""
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def translator(locale: str) -> Translator:
    """The translator for a locale (unsupported locales get English)."""
    return Translator(normalize_locale(locale) or DEFAULT_LOCALE)
