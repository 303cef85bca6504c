"""A key result's value before it is saved: what its source gives now, or why it cannot.

The forms and the API preview a KR as written (the OKR file's fields) through the code that
measures it once saved: the KPI it follows, a DORA key or the linked PRs
(`engine.snapshots.measured_current`), the JQL poll's `measure` (after the same confinement
to what the author may browse as a saved JQL KR), and the issues tally of `core.progress`.
Nothing is stored: the caller's session is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from sync import sources
from sync.apply.jql import measure as measure_jql
from sync.core import asana_refs
from sync.core.progress import issues_progress
from sync.core.spec import KeyResultSpec, scope_of
from sync.db.model import KeyResult
from sync.engine.snapshots import issue_states_of_keys, linked_issue_states, measured_current
from sync.errors import Invalid, Permanent, SourceMissing, Transient
from sync.kpis import find_kpi
from sync.okrs import kr_spec_from, spec_of, string_list_field
from sync.ports import Tracker

REFUSED: Final = "refused"
"""The query was refused: it reaches projects its author may not browse, or Jira refused it."""
NO_JIRA: Final = "no Jira is installed on this site: install okrlink in Jira to read it"
MANUAL_NOTE: Final = "a metric KR moves by check-ins: its value is the latest one given"
EMPTY: Final = "the source answered, but holds nothing to measure in the window yet"


@dataclass(frozen=True, slots=True)
class Preview:
    """What a KR's source gives now (`value` None: nothing yet), its state and why."""

    value: float | None
    unit: str
    source_state: str  # manual | connected | missing | unreachable | refused
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "source_state": self.source_state,
            "message": self.message,
        }


Confine = Callable[[str | None], object]
"""The save's JQL check for the caller (`require_jql`): raises `Invalid` on `jql` to refuse."""


def preview_key_result(
    session: Session,
    site_id: int,
    data: Mapping[str, Any],
    *,
    kr: KeyResult | None,
    cycle: tuple[date, date],
    tracker: Tracker | None,
    confine: Confine,
    now: datetime,
) -> Preview:
    """The value `data` (a new KR's fields, or changes to `kr`) would measure now.

    A field the save would refuse raises `Invalid` with its field, as the save does.
    """
    fields = {name: value for name, value in data.items() if name not in ("issues", "asana")}
    if not fields.get("title") and kr is None:
        fields["title"] = "preview"  # a title is not needed to read a source
    base = spec_of(kr) if kr is not None else KeyResultSpec(key="preview", title="")
    spec = kr_spec_from(fields, base)
    unit = spec.unit
    if spec.kind == "issues":  # as `derive`: an issues KR is its issues, whatever it follows
        return _issues(session, site_id, data, kr, unit)
    if spec.kpi:
        kpi = find_kpi(session, site_id, spec.kpi)
        if kpi is None:
            return Preview(None, unit, sources.MISSING, f"there is no KPI {spec.kpi}")
        unit = unit or kpi.unit
    elif spec.kind == "jql":
        return _jql(site_id, spec, tracker, confine)
    elif spec.kind == "github" and not sources.github_mapped(session, site_id):
        return Preview(None, unit, sources.MISSING, sources.NO_GITHUB)
    elif spec.kind == "metric":
        return Preview(spec.current, unit, sources.MANUAL, MANUAL_NOTE)
    value = measured_current(
        session,
        site_id=site_id,
        kr_id=kr.id if kr is not None else None,
        kind=spec.kind,
        measure=spec.measure,
        params=scope_of(spec),
        kpi=spec.kpi,
        start=cycle[0],
        end=cycle[1],
        now=now,
    )
    return Preview(value, unit, sources.CONNECTED, None if value is not None else EMPTY)


def _issues(
    session: Session, site_id: int, data: Mapping[str, Any], kr: KeyResult | None, unit: str
) -> Preview:
    """Done of total over the issues (and Asana tasks) typed, or those the KR links."""
    keys = set(string_list_field(data, "issues"))
    for reference in string_list_field(data, "asana"):
        gid = asana_refs.gid_of(reference)
        if gid is None:
            raise Invalid(f"{reference} names no Asana task or project", field="asana")
        keys.add(asana_refs.key_of(gid))
    states = issue_states_of_keys(session, site_id, keys)
    if kr is not None:
        states += linked_issue_states(session, site_id, kr.id)
    tally = issues_progress(states)
    unseen = sorted(
        keys - {state.key for state in states} - {s.parent_key for s in states if s.parent_key}
    )
    message = f"{tally.done:g} done of {tally.total:g}"
    if unseen:
        message += f"; not read yet (they are once the KR is saved): {', '.join(unseen)}"
    return Preview(tally.done, unit, sources.CONNECTED, message)


def _jql(site_id: int, spec: KeyResultSpec, tracker: Tracker | None, confine: Confine) -> Preview:
    """The JQL poll's count or sum, once the query is confined as a saved one would be."""
    try:
        confine(spec.jql)
    except Invalid as refused:
        return Preview(None, spec.unit, REFUSED, refused.message)
    if tracker is None:
        return Preview(None, spec.unit, sources.MISSING, NO_JIRA)
    try:
        value = measure_jql(tracker, site_id, jql=spec.jql or "", field=spec.jql_field)
    except SourceMissing as missing:
        return Preview(None, spec.unit, sources.MISSING, str(missing) or NO_JIRA)
    except Permanent as refused:
        return Preview(None, spec.unit, REFUSED, f"Jira refused this query: {refused}")
    except Transient as silent:
        return Preview(None, spec.unit, sources.UNREACHABLE, f"Jira did not answer: {silent}")
    return Preview(value, spec.unit, sources.CONNECTED)
