"""What the project page needs to write OKRs in place: the forms' target, a failed post's
errors and values, and which practice note belongs beside which field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connect.ui.i18n import PracticeNote
from connect.ui.kpi_history import KpiEvent
from sync.preview import Preview

FORMS = (
    "new-objective",
    "edit-objective",
    "abandon-objective",
    "new-key-result",
    "edit-key-result",
    "abandon-key-result",
    "new-kpi",
    "edit-kpi",
    "new-cycle",
)
"""Every `data-form` the project page posts to `/jira/okrs/edit` (`close-cycle` posts apart)."""

TARGETS: Mapping[str, str] = {
    "edit-objective": "objective",
    "abandon-objective": "objective",
    "new-key-result": "objective",
    "edit-key-result": "kr",
    "abandon-key-result": "kr",
    "edit-kpi": "kpi",
}
"""The hidden field naming what a form changes (the new objective and new KPI forms: none)."""

KPI_FORM_FIELDS = (
    "key",
    "title",
    "kind",
    "measure",
    "current",
    "unit",
    "healthy_min",
    "healthy_max",
    "drop_alert",
    "owner",
    "jql",
    "jql_field",
    "repository",
    "environment",
    "window_days",
    "incident_jql",
    "incident_window_hours",
)
"""The KPI forms' fields, named as the OKR file's KPI fields (the healthy range flattened as
the domain names it); the edit form has them all but `key`."""
KPI_NUMBER_FIELDS = frozenset(
    {"current", "healthy_min", "healthy_max", "drop_alert", "window_days", "incident_window_hours"}
)

KPI_ERRORS: Mapping[str, str] = {
    "kind": "error.kpi_kind",
    "measure": "error.kpi_measure",
    "jql": "error.kpi_jql",
    "healthy_min": "error.kpi_range",
    "drop_alert": "error.kpi_drop",
}
"""The catalogue message for a KPI field the domain refused (its rule in `check_kpi`)."""

KR_FORM_FIELDS = (
    "title",
    "kind",
    "baseline",
    "target",
    "unit",
    "owner",
    "weight",
    "jql",
    "jql_field",
    "measure",
    "repository",
    "environment",
    "window_days",
    "kpi",
    "asana_goal",
    "asana_field",
)
"""The KR forms' fields, named as the OKR file's: every kind's (`jql`/`jql_field`, a github
`measure` and its DORA scope, the `kpi` it follows, the Asana goal it moves and the Asana
number field summed); the new KR form adds the `issues` and `asana` it links."""
NUMBER_FIELDS = frozenset({"baseline", "target", "weight", "window_days"})

NOTE_FIELDS: Mapping[str, str] = {
    "practice.task-not-outcome": "title",
    "practice.objective-task-not-outcome": "title",
    "practice.no-why": "description",
    "practice.counts-activity.merged_prs": "title",
    "practice.counts-activity.commits": "title",
    "practice.counts-activity.tickets_closed": "title",
    "practice.counts-activity.deployments": "title",
    "practice.no-number.metric": "target",
    "practice.no-number.jql": "jql",
    "practice.no-number.github": "target",
    "practice.no-owner": "owner",
    "practice.no-issues": "title",
    "practice.unknown-parent": "parent",
    "practice.too-few-krs": "title",
    "practice.too-many-krs": "title",
    "practice.too-many-objectives": "title",
    "practice.kpi-no-range": "healthy_min",
    "practice.kpi-person-owner": "owner",
}
"""The field a practice note is shown beside, in the form that edits what it is about."""


NEW_CYCLE_FORM = "new-cycle"
CYCLE_FORM_FIELDS = ("name", "start", "end", "parent")
"""The new cycle form's fields, named as the API's (`POST /api/v1/cycles`)."""


@dataclass(frozen=True, slots=True)
class CycleLink:
    """A cycle the team can open: its name, dates, the cycle holding it, and its page."""

    name: str
    start: date
    end: date
    parent: str | None
    url: str
    current: bool = False


@dataclass(frozen=True, slots=True)
class Editor:
    """The project page's writing forms: where they post, their token, and a failed post."""

    action_url: str
    csrf_token: str
    form: str = ""  # the form posted with errors, and its objective or KR key
    target: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    saved: str = ""  # the key just saved: its forms open to show their practice notes
    close_url: str = ""  # where the close-cycle form posts
    kr_url: str = ""  # a KR's own page (check-ins, changes), `&kr=<key>` appended
    kpi_history: Mapping[str, tuple[KpiEvent, ...]] = field(default_factory=dict)
    writable: bool = True  # False: the reader may not write the team's OKRs, no form is shown
    cycles: tuple[CycleLink, ...] = ()  # the team's cycles, each a link to its page
    people_url: str = ""  # the owner picker's search (a door whose pages run no script: none)
    issues_url: str = ""  # the issue picker's search for `issues` KRs (likewise)
    preview_url: str = ""  # where a KR form's "Preview" posts
    preview: Preview | None = None  # the KR form just previewed (`form`, `target`): its value

    def failed(self, form: str, target: str = "") -> bool:
        return self.form == form and self.target == target

    def value(self, form: str, target: str, name: str, default: Any) -> str:
        """The posted value after a failed post of this form, else the stored one."""
        if self.failed(form, target):
            return self.values.get(name, "")
        if default is None:
            return ""
        if isinstance(default, float):  # the shortest text that reads back as the same number
            text = repr(default)
            return text[:-2] if text.endswith(".0") else text
        return str(default)

    def previewed(self, form: str, target: str = "") -> Preview | None:
        """The preview of this KR form, when it is the one just previewed."""
        return self.preview if self.failed(form, target) else None

    def errors_of(self, form: str, target: str = "") -> Mapping[str, str]:
        return self.errors if self.failed(form, target) else {}


def notes_for(notes: tuple[PracticeNote, ...], name: str) -> list[PracticeNote]:
    """The practice notes shown beside field `name`."""
    return [note for note in notes if NOTE_FIELDS.get(note.message_key) == name]


def parse_number(raw: str, name: str, errors: dict[str, str]) -> float | None:
    """A form's number (`1 234,5` as well as `1234.5`); a bad one is an error of its field."""
    text = raw.strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[name] = "error.number"
        return None
    return value


def owner_of(form: Mapping[str, str]) -> str | None:
    """The owner a form gives: the picked account when the name shown was left as it is, else
    the text typed (a role such as "SRE lead"); None when empty."""
    typed = form.get("owner", "").strip()
    account = form.get("owner_account", "").strip()
    if account and typed and typed == form.get("owner_shown", "").strip():
        return account
    return typed or None


def parse_kr_form(form: Mapping[str, str], *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """A KR form as the domain's data (the OKR file's fields), and the fields not numbers."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name in KR_FORM_FIELDS:
        raw = form.get(name, "")
        if name in NUMBER_FIELDS:
            data[name] = parse_number(raw, name, errors)
        else:
            data[name] = raw.strip() or None
    data["owner"] = owner_of(form)
    if data["weight"] is None:
        data["weight"] = 1.0
    data["kind"] = data["kind"] or "metric"
    data["unit"] = data["unit"] or ""
    if new:
        for name in ("issues", "asana"):
            listed = form.get(name, "").replace(",", "\n")
            data[name] = [line.strip() for line in listed.splitlines() if line.strip()]
    return data, errors


def parse_kpi_form(form: Mapping[str, str], *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """A KPI form as the domain's KPI fields (`sync.kpis.FIELDS`, plus `key` when new), and
    the fields that are not numbers. An empty field clears it; an empty new key is the next."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name in KPI_FORM_FIELDS:
        if name == "key" and not new:
            continue
        raw = form.get(name, "")
        if name in KPI_NUMBER_FIELDS:
            data[name] = parse_number(raw, name, errors)
        else:
            data[name] = raw.strip() or None
    data["owner"] = owner_of(form)  # a person picked, as a KR's owner is
    return data, errors
