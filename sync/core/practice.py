"""OKR practice checks: errors refuse a save, warnings point at OKRs that will be hard to follow."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Literal

from sync.core.asana_refs import gid_of
from sync.core.spec import (
    GITHUB_MEASURES,
    KR_KINDS,
    KR_STATES,
    KeyResultSpec,
    KpiSpec,
    TeamOkrs,
)

MAX_OBJECTIVES = 3
MIN_KRS = 3
MAX_KRS = 5
COMPANY_MAX_OBJECTIVES = 5
"""A company-level team (one that others align to) may hold 3 to 5 objectives."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A site's practice thresholds. The sources disagree (some say at most 3 KRs, some 2 to
    5), so a site chooses; the defaults are 3 objectives and 3 to 5 KRs per objective."""

    max_objectives: int = MAX_OBJECTIVES
    min_krs: int = MIN_KRS
    max_krs: int = MAX_KRS

    def objectives_allowed(self, *, company: bool) -> int:
        """How many objectives a team may hold; a company-level team at least 5."""
        return max(self.max_objectives, COMPANY_MAX_OBJECTIVES) if company else self.max_objectives


DEFAULT_PROFILE = Profile()

# A title starting with one of these reads like work to do rather than a change to reach.
TASK_VERBS = frozenset(
    {
        "add",
        "build",
        "close",
        "complete",
        "conduct",
        "configure",
        "create",
        "deliver",
        "deploy",
        "design",
        "develop",
        "document",
        "do",
        "draft",
        "finish",
        "fix",
        "hire",
        "hold",
        "implement",
        "install",
        "integrate",
        "introduce",
        "launch",
        "migrate",
        "organise",
        "organize",
        "plan",
        "prepare",
        "publish",
        "refactor",
        "release",
        "remove",
        "replace",
        "review",
        "rewrite",
        "run",
        "schedule",
        "send",
        "setup",
        "ship",
        "start",
        "test",
        "update",
        "upgrade",
        "write",
    }
)
TASK_PHRASES = ("set up", "roll out", "work on", "sign off")
# French titles are checked too ("Créer cinq pages web"), accents folded before matching.
TASK_VERBS_FR = frozenset(
    {
        "achever",
        "ajouter",
        "concevoir",
        "construire",
        "corriger",
        "creer",
        "deployer",
        "developper",
        "documenter",
        "ecrire",
        "embaucher",
        "faire",
        "finir",
        "implementer",
        "installer",
        "integrer",
        "lancer",
        "livrer",
        "migrer",
        "organiser",
        "planifier",
        "preparer",
        "publier",
        "realiser",
        "recruter",
        "rediger",
        "refondre",
        "remplacer",
        "sortir",
        "supprimer",
        "terminer",
        "tester",
    }
)
TASK_PHRASES_FR = ("mettre en place", "mettre a jour", "mettre en production")
# A count of deliverables right after the verb ("Create five web pages", "Launch 2 features")
# makes a task however measurable the KR looks: it counts outputs, not an outcome.
COUNT_WORDS = frozenset(
    {
        "a",
        "an",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "fifteen",
        "twenty",
        "dozen",
        "several",
        "few",
        "un",
        "une",
        "deux",
        "trois",
        "quatre",
        "cinq",
        "sept",
        "huit",
        "neuf",
        "dix",
        "onze",
        "douze",
        "quinze",
        "vingt",
        "plusieurs",
        "quelques",
    }
)

# What a KR counts when it counts activity rather than an outcome (seed 000): the volume of
# work done says nothing of what it changed. Matched on the folded title (English and French).
ACTIVITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("commits", re.compile(r"\bcommits?\b")),
    (
        "merged_prs",
        re.compile(
            r"\b(merged (prs?|pull requests?)|(prs?|pull requests?) merged"
            r"|(prs?|pull requests?) (fusionnees?|mergees?))\b"
        ),
    ),
    (
        "tickets_closed",
        re.compile(
            r"\b((tickets?|issues?|stories|bugs?|tasks?) (closed|resolved|done|fermes?|resolus?|"
            r"clos|termines?)|(closed|resolved) (tickets?|issues?|stories|bugs?|tasks?)"
            r"|(close|resolve|fermer|resoudre)\b.*\b(tickets?|issues?|bugs?))\b"
        ),
    ),
    ("deployments", re.compile(r"\b(deployments?|deploys|releases|deploiements?)\b")),
)
ACTIVITY_LABELS = {
    "merged_prs": "merged PRs",
    "commits": "commits",
    "tickets_closed": "tickets closed",
    "deployments": "deployments as a volume",
}
# A deployment KR measured as one of these rates or times is an outcome, not a volume.
OUTCOME_MEASURES = frozenset(
    {"lead_time_hours", "change_lead_time_hours", "change_failure_rate", "time_to_restore_hours"}
)
_RATE_WORDS = re.compile(
    r"\b(rate|taux|failure|echecs?|time|temps|delais?|lead|restore|faster|vite|days?|hours?"
    r"|jours?|heures?)\b"
)
# A JQL that counts issues reaching done, as a KR's number, counts tickets closed.
_CLOSED_JQL = re.compile(
    r"\b(resolved|resolution|statuscategory\s*(=|in)\s*\(?\s*\"?done|status\s*(=|in)\s*\(?"
    r"\s*\"?(done|closed|resolved))",
    re.IGNORECASE,
)

_NUMBER = re.compile(r"\d")
_FROM_TO = re.compile(r"\bfrom\b.+\bto\b", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bper ?cent\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with an OKR: what, where, and how to fix it.

    `message` is English, for the CLI and the API. A warning the panels show also carries the
    `params` of its message, so a page can say it again in the reader's language
    (`connect/ui/i18n.py`, keys `practice.<code>`).
    """

    level: Literal["error", "warning"]
    code: str
    message: str
    line: int | None
    key: str | None
    params: Mapping[str, object] = dataclass_field(default_factory=lambda: MappingProxyType({}))


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding refuses the save."""
    return any(finding.level == "error" for finding in findings)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line is None, f.line or 0))


def check_key_result(kr: KeyResultSpec) -> list[Finding]:
    """Errors and warnings about one key result, sorted by line."""
    findings: list[Finding] = []

    def add(level: Literal["error", "warning"], code: str, message: str, **params: object) -> None:
        findings.append(Finding(level, code, message, kr.line, kr.key, MappingProxyType(params)))

    name = f"KR {kr.key}"
    if not kr.title.strip():
        add("error", "missing-title", f"{name} has no title: state the outcome it measures.")
    if kr.kind not in KR_KINDS:
        add(
            "error",
            "unknown-kind",
            f"{name} has unknown kind {kr.kind!r}: use one of {', '.join(KR_KINDS)}.",
        )
    if kr.state not in KR_STATES:
        add(
            "error",
            "unknown-state",
            f"{name} has unknown state {kr.state!r}: use one of {', '.join(KR_STATES)}.",
        )
    for reference in kr.asana:
        if gid_of(reference) is None:
            add(
                "error",
                "unknown-asana-reference",
                f"{name} names {reference!r} in asana: give a task or project gid or its "
                "Asana URL (https://app.asana.com/0/<project>/<task>).",
                reference=reference,
            )
    if kr.asana_goal is not None and not kr.asana_goal.strip().isdigit():
        add(
            "error",
            "unknown-asana-goal",
            f"{name} has asana_goal {kr.asana_goal!r}: give the goal's gid (digits only).",
            goal=kr.asana_goal,
        )
    if kr.state == "abandoned" and not (kr.abandon_reason or "").strip():
        add(
            "error",
            "abandoned-without-reason",
            f"{name} is abandoned without a reason: add abandon_reason saying why it was dropped.",
        )
    numbers = {"baseline": kr.baseline, "target": kr.target, "current": kr.current}
    numbers["weight"] = kr.weight
    bad = [field for field, value in numbers.items() if value is not None and not _finite(value)]
    for field in bad:
        add(
            "error",
            "non-finite-number",
            f"{name} has {field} {numbers[field]!r}: write a finite number.",
        )
    if "weight" not in bad and kr.weight <= 0:
        add(
            "error",
            "weight-not-positive",
            f"{name} has weight {kr.weight!r}: use a positive weight (1 is the default), "
            "or abandon the KR to take it out of the roll-up.",
        )
    if kr.kind == "github" and kr.measure is not None and kr.measure not in GITHUB_MEASURES:
        add(
            "error",
            "unknown-measure",
            f"{name} has unknown measure {kr.measure!r}: use one of {', '.join(GITHUB_MEASURES)}.",
        )
    if (
        kr.kind in ("metric", "jql", "github")
        and kr.baseline is not None
        and kr.target is not None
        and kr.target == kr.baseline
    ):
        add(
            "error",
            "target-equals-baseline",
            f"{name} has target equal to its baseline ({kr.target:g}): "
            "set the target to the value you want to reach.",
        )
    if kr.state == "abandoned":
        return _sorted(findings)
    missing = _missing_measure(kr)
    if missing:
        add(
            "warning",
            "no-number",
            f"{name} has no number to measure: {missing}",
            key=kr.key,
            kind=kr.kind,
            measures=" or ".join(GITHUB_MEASURES),
        )
    elif kr.kind == "issues" and not kr.issues:
        add(
            "warning",
            "no-issues",
            f"{name} links no issues: list the Jira issues or epics under issues, "
            "e.g. issues: [PLAT-12].",
            key=kr.key,
        )
    if _reads_like_task(kr):
        add(
            "warning",
            "task-not-outcome",
            f"{name} reads like a task ({kr.title!r}): state the outcome it should change, "
            "e.g. 'Raise <measure> from X to Y', and give baseline and target.",
            key=kr.key,
            title=kr.title,
        )
    activity = counted_activity(kr)
    if activity is not None:
        add(
            "warning",
            "counts-activity",
            f"{name} counts activity ({ACTIVITY_LABELS[activity]}): more of it does not say "
            "anything changed; measure the outcome it should bring instead, e.g. lead time, "
            "change failure rate or a metric your users feel.",
            key=kr.key,
            activity=activity,
        )
    if not (kr.owner or "").strip():
        add(
            "warning",
            "no-owner",
            f"{name} has no owner: name who follows it up (owner: a role, name or account id).",
            key=kr.key,
        )
    return _sorted(findings)


def counted_activity(kr: KeyResultSpec) -> str | None:
    """What the KR counts when it counts activity (`merged_prs`, `commits`, `tickets_closed`,
    `deployments`), None when it measures something else."""
    if kr.kind == "github" and kr.measure == "merged_prs":
        return "merged_prs"
    if kr.kind == "jql" and kr.jql and not kr.jql_field and _CLOSED_JQL.search(kr.jql):
        return "tickets_closed"
    title = _fold(kr.title)
    for activity, pattern in ACTIVITY_PATTERNS:
        if not pattern.search(title):
            continue
        # "Resolve incidents within 2 days", "deployment failure rate": a time or a rate of the
        # work is an outcome; only its volume is activity.
        if activity in ("deployments", "tickets_closed") and (
            kr.measure in OUTCOME_MEASURES or _RATE_WORDS.search(title)
        ):
            continue
        return activity
    return None


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _missing_measure(kr: KeyResultSpec) -> str | None:
    """How to give this KR a number, or None when it has one."""
    if kr.kind == "metric" and (kr.baseline is None or kr.target is None):
        return "give baseline and target (e.g. baseline: 15, target: 5, unit: '%')."
    if kr.kind == "jql" and (not (kr.jql or "").strip() or kr.target is None):
        return "give the jql query whose count it tracks and a target (and a baseline)."
    if kr.kind == "github" and (kr.measure is None or kr.target is None):
        return f"give a measure ({' or '.join(GITHUB_MEASURES)}) and a target (and a baseline)."
    return None


def _fold(text: str) -> str:
    """Lower case without accents, so "Créer" and "creer" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _counts_deliverables(words: list[str], verb_words: int) -> bool:
    """Whether a count follows the task verb: "create five pages", "lancer 2 offres"."""
    rest = words[verb_words:]
    return bool(rest) and (rest[0] in COUNT_WORDS or rest[0].isdigit()) and len(rest) > 1


def _task_verb_words(title: str) -> int:
    """How many words of the title are its task verb (0: it does not start with one)."""
    words = title.replace("-", " ").split()
    if not words:
        return 0
    for phrase in (*TASK_PHRASES, *TASK_PHRASES_FR):
        if title.replace("-", " ").startswith(phrase + " ") or title == phrase:
            return len(phrase.split())
    first = words[0].strip(".,:;!?")
    return 1 if first in TASK_VERBS or first in TASK_VERBS_FR else 0


def title_reads_like_task(title: str) -> bool:
    """Whether an objective's title reads as work to do ("Migrate the billing service") rather
    than a change to reach; the KR rule without its numbers (an objective has none)."""
    folded = _fold(title.strip())
    verb_words = _task_verb_words(folded)
    if not verb_words:
        return False
    if _counts_deliverables(folded.replace("-", " ").split(), verb_words):
        return True
    return not (_FROM_TO.search(folded) or _PERCENT.search(folded))


def _reads_like_task(kr: KeyResultSpec) -> bool:
    title = _fold(kr.title.strip())
    verb_words = _task_verb_words(title)
    if not verb_words:
        return False
    if _counts_deliverables(title.replace("-", " ").split(), verb_words):
        return True
    measurable_title = bool(
        _NUMBER.search(title) or _FROM_TO.search(title) or _PERCENT.search(title)
    )
    has_change = kr.baseline is not None and kr.target is not None
    return not (measurable_title or has_change)


def check_team_okrs(
    okrs: TeamOkrs,
    *,
    profile: Profile = DEFAULT_PROFILE,
    company: bool = False,
    known_parents: frozenset[str] | None = None,
) -> list[Finding]:
    """Errors and warnings about a team's OKRs for one cycle, sorted by line.

    `profile` holds the site's thresholds; a `company`-level team (others align to it) may hold
    more objectives. With `known_parents` (the objective keys of the cycle), a `parent` that
    names none of them is a finding; without it (a file checked alone) parents are not checked.
    """
    findings: list[Finding] = []
    cycle = okrs.cycle
    max_objectives = profile.objectives_allowed(company=company)
    min_krs, max_krs = profile.min_krs, profile.max_krs
    if cycle.end < cycle.start:
        findings.append(
            Finding(
                "error",
                "cycle-end-before-start",
                f"Cycle {cycle.name!r} ends ({cycle.end.isoformat()}) before it starts "
                f"({cycle.start.isoformat()}): swap start and end, or use a quarter such as "
                "2026-Q4.",
                okrs.line,
                None,
            )
        )
    if len(okrs.objectives) > max_objectives:
        extra = okrs.objectives[max_objectives]
        findings.append(
            Finding(
                "warning",
                "too-many-objectives",
                f"Team {okrs.team} has {len(okrs.objectives)} objectives in {cycle.name}: "
                f"keep at most {max_objectives} so the team can focus; merge or drop "
                f"{', '.join(o.key for o in okrs.objectives[max_objectives:])}.",
                extra.line,
                extra.key,
                MappingProxyType(
                    {
                        "team": okrs.team,
                        "count": len(okrs.objectives),
                        "cycle": cycle.name,
                        "max": max_objectives,
                        "keys": ", ".join(o.key for o in okrs.objectives[max_objectives:]),
                    }
                ),
            )
        )
    seen: dict[str, int | None] = {}

    def claim(key: str, line: int | None) -> None:
        if key in seen:
            first = seen[key]
            where = f" (first used on line {first})" if first is not None else ""
            findings.append(
                Finding(
                    "error",
                    "duplicate-key",
                    f"Key {key} is used more than once{where}: give each objective "
                    "and KR its own key.",
                    line,
                    key,
                )
            )
        else:
            seen[key] = line

    for objective in okrs.objectives:
        claim(objective.key, objective.line)
        name = f"Objective {objective.key}"
        if not objective.title.strip():
            findings.append(
                Finding(
                    "error",
                    "missing-title",
                    f"{name} has no title: state what the team wants to achieve.",
                    objective.line,
                    objective.key,
                )
            )
        elif title_reads_like_task(objective.title):
            findings.append(
                Finding(
                    "warning",
                    "objective-task-not-outcome",
                    f"{name} reads like a task ({objective.title!r}): state the outcome it "
                    "should change, and let its key results say how much.",
                    objective.line,
                    objective.key,
                    MappingProxyType({"key": objective.key, "title": objective.title}),
                )
            )
        if not (objective.description or "").strip():
            findings.append(
                Finding(
                    "warning",
                    "no-why",
                    f"{name} has no description: say why it matters (description: what "
                    "changes, and for whom, when it is reached).",
                    objective.line,
                    objective.key,
                    MappingProxyType({"key": objective.key}),
                )
            )
        active = [kr for kr in objective.key_results if kr.state != "abandoned"]
        if not min_krs <= len(active) <= max_krs:
            few = len(active) < min_krs
            advice = (
                "add KRs that measure the objective" if few else "keep the few that matter most"
            )
            findings.append(
                Finding(
                    "warning",
                    "too-few-krs" if few else "too-many-krs",
                    f"{name} has {len(active)} active key "
                    f"result{'' if len(active) == 1 else 's'}: use "
                    f"{min_krs} to {max_krs}; {advice}.",
                    objective.line,
                    objective.key,
                    MappingProxyType(
                        {"key": objective.key, "count": len(active), "min": min_krs, "max": max_krs}
                    ),
                )
            )
        if known_parents is not None and objective.parent and objective.parent not in known_parents:
            findings.append(
                Finding(
                    "warning",
                    "unknown-parent",
                    f"{name} aligns to {objective.parent}, which is no objective of "
                    f"{cycle.name}: name an existing company objective as parent.",
                    objective.line,
                    objective.key,
                    MappingProxyType(
                        {"key": objective.key, "parent": objective.parent, "cycle": cycle.name}
                    ),
                )
            )
        for kr in objective.key_results:
            claim(kr.key, kr.line)
            findings.extend(check_key_result(kr))
    for kpi in okrs.kpis:
        claim(kpi.key, kpi.line)
        findings.extend(check_kpi(kpi))
    return _sorted(findings)


KPI_KINDS = ("metric", "jql", "github")
# A person as Atlassian or GitHub names one: an account id, an e-mail address, an @mention.
_PERSON = re.compile(
    r"^(?:\d+:[0-9a-f-]{8,}|[0-9a-f]{24}|[^@\s]+@[^@\s]+\.[^@\s]+|@[\w-]+)$", re.IGNORECASE
)


def is_person(owner: str) -> bool:
    """Whether an owner names one person (an account id, an e-mail, an @mention)."""
    return bool(_PERSON.match(owner.strip()))


def check_kpi(kpi: KpiSpec) -> list[Finding]:
    """Errors and warnings about one KPI: a health signal of the team, never of a person.

    Each finding carries its message's `params`, so a page says it in the reader's language.
    """
    findings: list[Finding] = []
    name = f"KPI {kpi.key}"

    def add(level: Literal["error", "warning"], code: str, message: str, **params: object) -> None:
        findings.append(
            Finding(
                level,
                code,
                message,
                kpi.line,
                kpi.key,
                MappingProxyType({"key": kpi.key, **params}),
            )
        )

    if kpi.kind not in KPI_KINDS:
        kinds = ", ".join(KPI_KINDS)
        add(
            "error",
            "unknown-kind",
            f"{name} has unknown kind {kpi.kind!r}: use one of {kinds}.",
            kind=kpi.kind,
            kinds=kinds,
        )
    if kpi.kind == "github" and kpi.measure not in GITHUB_MEASURES:
        measures = ", ".join(GITHUB_MEASURES)
        add(
            "error",
            "unknown-measure",
            f"{name} has measure {kpi.measure!r}: use one of {measures}.",
            measure=kpi.measure,
            measures=measures,
        )
    if kpi.kind == "jql" and not (kpi.jql or "").strip():
        add("error", "missing-jql", f"{name} is measured by JQL: give its jql query.")
    if kpi.healthy_min is None and kpi.healthy_max is None:
        add(
            "warning",
            "kpi-no-range",
            f"{name} has no healthy range: give healthy: {{min: ..}} and/or {{max: ..}}, "
            "the values between which nothing is asked of anyone.",
        )
    elif (
        kpi.healthy_min is not None
        and kpi.healthy_max is not None
        and kpi.healthy_min > kpi.healthy_max
    ):
        low, high = f"{kpi.healthy_min:g}", f"{kpi.healthy_max:g}"
        add(
            "error",
            "kpi-empty-range",
            f"{name} has healthy min {low} above max {high}: swap them.",
            min=low,
            max=high,
        )
    if kpi.drop_alert is not None and not 0 < kpi.drop_alert <= 100:
        drop = f"{kpi.drop_alert:g}"
        add(
            "error",
            "kpi-drop-alert",
            f"{name} has drop_alert {drop}: give 1 to 100 (%).",
            drop=drop,
        )
    if kpi.owner and is_person(kpi.owner):
        add(
            "warning",
            "kpi-person-owner",
            f"{name} is owned by a person ({kpi.owner}): a KPI is the team's health signal; "
            "leave owner empty or name the team.",
            owner=kpi.owner,
        )
    return findings
