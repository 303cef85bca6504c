"""The OKR domain's services: what the REST API, the pages, the CLI and file imports all call.

Create objectives, record check-ins, link work to KRs, and move OKR specs in and out of the
store (an idempotent import keyed by stable keys, and export). Rules that a request can break
raise `sync.errors.Invalid` or `Duplicate`, with the field at fault; each door answers them.

Importing the same specs twice changes nothing; importing edited specs updates in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import sources
from sync.apply.jira import plan_property_write
from sync.core import asana_refs
from sync.core.practice import Finding, check_key_result, check_team_okrs, has_errors
from sync.core.progress import STATUSES
from sync.core.spec import (
    DORA_SCOPE,
    GITHUB_MEASURES,
    KR_KINDS,
    KR_STATES,
    CycleSpec,
    KeyResultSpec,
    ObjectiveSpec,
    TeamOkrs,
    scope_of,
)
from sync.db.model import (
    CheckIn,
    Cycle,
    CycleClose,
    DefinitionChange,
    KeyResult,
    Link,
    Objective,
    Team,
    WorkItem,
    utcnow,
)
from sync.db.store import get_or_create_team
from sync.errors import Closed, Duplicate, Invalid
from sync.fields import number_field, text_field
from sync.geckoboard import queue_team_push
from sync.history import record_change
from sync.kpis import as_spec, import_kpis, list_kpis
from sync.links import reconcile_links

FILE_SOURCE = "file"
KR_FIELDS = (
    "title",
    "kind",
    "baseline",
    "target",
    "unit",
    "owner",
    "weight",
    "asana_goal",
    "asana_field",
    "state",
    "abandon_reason",
    "jql",
    "jql_field",
    "measure",
)


# --- definitions and their history --------------------------------------------------------

OBJECTIVE_FIELDS = ("title", "description", "parent", "state", "abandon_reason")
KR_CREATE_FIELDS = frozenset(
    {*KR_FIELDS, "current", "kpi", *DORA_SCOPE, "key", "objective", "issues", "asana"}
)


def ensure_open(session: Session, site_id: int, team_id: int, cycle_id: int) -> None:
    """Refuse any change to a team's closed cycle."""
    closed = session.scalar(
        select(CycleClose.id).where(
            CycleClose.site_id == site_id,
            CycleClose.team_id == team_id,
            CycleClose.cycle_id == cycle_id,
        )
    )
    if closed is not None:
        cycle = session.get(Cycle, cycle_id)
        name = cycle.name if cycle is not None else "this cycle"
        raise Closed(
            f"{name} is closed for this team and read-only: change the next cycle instead",
            field="cycle",
        )


def kr_definition(kr: KeyResult) -> dict[str, Any]:
    return {name: getattr(kr, name) for name in KR_FIELDS}


def objective_definition(objective: Objective) -> dict[str, Any]:
    return {
        "title": objective.title,
        "description": objective.description,
        "parent": objective.parent_key,
        "state": objective.state,
        "abandon_reason": objective.abandon_reason,
    }


def changes_of(session: Session, site_id: int, cycle_id: int, key: str) -> list[DefinitionChange]:
    """The definition history of an objective or KR in a cycle, oldest first."""
    return list(
        session.scalars(
            select(DefinitionChange)
            .where(
                DefinitionChange.site_id == site_id,
                DefinitionChange.cycle_id == cycle_id,
                DefinitionChange.target_key == key,
            )
            .order_by(DefinitionChange.at, DefinitionChange.id)
        )
    )


# Readers of a request's values: `text_field` and `number_field` live in `sync.fields`.


def string_list_field(data: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings, or a text with one item per line (as a form sends it)."""
    value = data.get(name, [])
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{name} must be a list of strings", field=name)
    return [v.strip() for v in value if v.strip()]


# --- objectives -----------------------------------------------------------------------------


def create_objective(
    session: Session,
    site_id: int,
    cycle: Cycle,
    *,
    team: str,
    title: str,
    key: str | None = None,
    parent: str | None = None,
    description: str | None = None,
    author: str | None = None,
    at: datetime | None = None,
) -> Objective:
    """A new objective of `team` in `cycle`; its key is `<TEAM>-<n>` unless one is given, and
    its `description` says why it matters."""
    if not title.strip():
        raise Invalid("title is required: state what the team wants to achieve", field="title")
    team_row = get_or_create_team(session, site_id, team)
    ensure_open(session, site_id, team_row.id, cycle.id)
    taken = set(
        session.scalars(
            select(Objective.key).where(
                Objective.site_id == site_id, Objective.cycle_id == cycle.id
            )
        )
    )
    count = len(
        session.scalars(
            select(Objective.id).where(
                Objective.site_id == site_id,
                Objective.team_id == team_row.id,
                Objective.cycle_id == cycle.id,
            )
        ).all()
    )
    if key and key in taken:
        raise Duplicate(f"objective {key} already exists in {cycle.name}", field="key")
    number = count + 1
    while not key and f"{team_row.key}-{number}" in taken:
        number += 1
    key = key or f"{team_row.key}-{number}"
    objective = Objective(
        site_id=site_id,
        team_id=team_row.id,
        cycle_id=cycle.id,
        key=key,
        title=title.strip(),
        description=(description or "").strip() or None,
        parent_key=parent or None,
        position=count,
        state="active",
    )
    session.add(objective)
    session.flush()
    record_change(
        session,
        site_id=site_id,
        cycle_id=cycle.id,
        kind="objective",
        key=key,
        action="create",
        author=author,
        at=at or utcnow(),
        before={},
        after=objective_definition(objective),
    )
    return objective


def update_objective(
    session: Session,
    objective: Objective,
    data: Mapping[str, Any],
    *,
    author: str | None,
    at: datetime,
) -> Objective:
    """Change an objective's `title`, `description` and `parent` (absent fields stay)."""
    unknown = sorted(set(data) - {"title", "description", "parent"})
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]}: use title, description or parent", field=unknown[0]
        )
    ensure_open(session, objective.site_id, objective.team_id, objective.cycle_id)
    before = objective_definition(objective)
    if "title" in data:
        title = text_field(data, "title")
        if not title:
            raise Invalid("title is required: state what the team wants to achieve", field="title")
        objective.title = title
    if "description" in data:
        objective.description = text_field(data, "description") or None
    if "parent" in data:
        parent = text_field(data, "parent") or None
        if parent == objective.key:
            raise Invalid("an objective cannot align to itself", field="parent")
        objective.parent_key = parent
    after = objective_definition(objective)
    if before != after:
        record_change(
            session,
            site_id=objective.site_id,
            cycle_id=objective.cycle_id,
            kind="objective",
            key=objective.key,
            action="update",
            author=author,
            at=at,
            before=before,
            after=after,
        )
        # Panels are cached by their KRs' versions: the objective's text is part of them.
        for kr in objective.key_results:
            kr.version += 1
    session.flush()
    return objective


# --- key results ----------------------------------------------------------------------------


def kr_spec_from(data: Mapping[str, Any], base: KeyResultSpec) -> KeyResultSpec:
    """Overlay `data` (JSON or a parsed form) on a spec, checking each type and every rule
    that refuses a save; unknown fields are refused."""
    unknown = sorted(set(data) - KR_CREATE_FIELDS)
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]}: use {', '.join(sorted(KR_CREATE_FIELDS))}",
            field=unknown[0],
        )
    changes: dict[str, Any] = {}
    texts = (
        "title",
        "unit",
        "owner",
        "abandon_reason",
        "jql",
        "jql_field",
        "measure",
        "kpi",
        "repository",
        "environment",
        "incident_jql",
        "asana_goal",
        "asana_field",
    )
    for name in texts:
        if name in data:
            changes[name] = text_field(data, name) or None
    if "title" in changes and not changes["title"]:
        raise Invalid("title is required: state the outcome the KR measures", field="title")
    for name in ("baseline", "target", "current", "weight", "window_days", "incident_window_hours"):
        if name in data:
            changes[name] = number_field(data, name)
    if "kind" in data:
        if data["kind"] not in KR_KINDS:
            raise Invalid(f"kind must be one of {', '.join(KR_KINDS)}", field="kind")
        changes["kind"] = data["kind"]
    if "measure" in data and data["measure"] not in (None, "", *GITHUB_MEASURES):
        raise Invalid(f"measure must be one of {', '.join(GITHUB_MEASURES)}", field="measure")
    if "state" in data:
        if data["state"] not in KR_STATES:
            raise Invalid("state must be active or abandoned", field="state")
        changes["state"] = data["state"]
    if "unit" in changes and changes["unit"] is None:
        changes["unit"] = ""
    if "weight" in changes and changes["weight"] is None:
        raise Invalid("weight must be a positive number", field="weight")
    spec = replace(base, **changes)
    errors = [f for f in check_key_result(spec) if f.level == "error"]
    if errors:
        raise Invalid(errors[0].message, field=_field_of(errors[0].code))
    return spec


def _field_of(code: str) -> str | None:
    for name in (
        "target",
        "baseline",
        "weight",
        "kind",
        "abandon_reason",
        "measure",
        "jql",
        "title",
    ):
        if name.replace("_", "-") in code or name in code:
            return name
    return None


def spec_of(kr: KeyResult) -> KeyResultSpec:
    """The stored KR as the spec its definition is checked as."""
    return KeyResultSpec(
        key=kr.key, current=kr.current, kpi=kr.kpi, **(kr.params or {}), **kr_definition(kr)
    )


def _store_spec(kr: KeyResult, spec: KeyResultSpec) -> None:
    for name in KR_FIELDS:
        setattr(kr, name, getattr(spec, name))
    kr.current = spec.current
    kr.kpi, kr.params = spec.kpi, scope_of(spec)  # a KPI KR's key and its DORA scope
    kr.version += 1


def create_key_result(
    session: Session,
    objective: Objective,
    data: Mapping[str, Any],
    *,
    author: str | None,
    at: datetime,
) -> KeyResult:
    """A new KR under `objective`; its key is `<objective key>.<n>` unless one is given.

    `data` holds the OKR file's KR fields (and `issues`, linked as the API's links).
    """
    ensure_open(session, objective.site_id, objective.team_id, objective.cycle_id)
    site_id = objective.site_id
    taken = set(
        session.scalars(
            select(KeyResult.key).where(
                KeyResult.site_id == site_id, KeyResult.cycle_id == objective.cycle_id
            )
        )
    )
    key = text_field(data, "key")
    if key and key in taken:
        raise Duplicate(f"key result {key} already exists", field="key")
    position = len(objective.key_results)
    number = position + 1
    while not key and f"{objective.key}.{number}" in taken:
        number += 1
    key = key or f"{objective.key}.{number}"
    links = ("objective", "issues", "asana")
    fields = {name: value for name, value in data.items() if name not in links}
    spec = kr_spec_from(fields, KeyResultSpec(key=key, title=""))
    if not spec.title.strip():
        raise Invalid("title is required: state the outcome the KR measures", field="title")
    issues = string_list_field(data, "issues")
    asana = [_asana_key(reference) for reference in string_list_field(data, "asana")]
    kr = KeyResult(
        site_id=site_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.id,
        key=key,
        position=position,
        version=0,
    )
    _store_spec(kr, spec)
    session.add(kr)
    session.flush()
    for issue in issues:
        session.add(Link(site_id=site_id, kr_id=kr.id, target_key=issue, source="api"))
    for target in dict.fromkeys(asana):
        session.add(
            Link(site_id=site_id, kr_id=kr.id, target_kind="asana", target_key=target, source="api")
        )
    record_change(
        session,
        site_id=site_id,
        cycle_id=objective.cycle_id,
        kind="key_result",
        key=key,
        action="create",
        author=author,
        at=at,
        before={},
        after=kr_definition(kr),
    )
    session.flush()
    session.refresh(objective)
    return kr


def _asana_key(reference: str) -> str:
    """The link key (`asana:<gid>`) of an Asana task or project URL or gid; refused otherwise."""
    gid = asana_refs.gid_of(reference)
    if gid is None:
        raise Invalid(f"{reference} is not an Asana task or project (URL or gid)", field="asana")
    return asana_refs.key_of(gid)


def update_key_result(
    session: Session, kr: KeyResult, data: Mapping[str, Any], *, author: str | None, at: datetime
) -> KeyResult:
    """Change a KR's definition (absent fields stay); its key, objective and links stay put."""
    for frozen in ("key", "objective", "issues", "asana"):
        if frozen in data:
            raise Invalid(f"{frozen} cannot be changed here", field=frozen)
    ensure_open(session, kr.site_id, kr.objective.team_id, kr.cycle_id)
    before = kr_definition(kr)
    spec = kr_spec_from(data, spec_of(kr))
    if spec != spec_of(kr):
        _store_spec(kr, spec)
        record_change(
            session,
            site_id=kr.site_id,
            cycle_id=kr.cycle_id,
            kind="key_result",
            key=kr.key,
            action="update",
            author=author,
            at=at,
            before=before,
            after=kr_definition(kr),
        )
    session.flush()
    return kr


def abandon(
    session: Session,
    target: KeyResult | Objective,
    reason: str | None,
    *,
    author: str | None,
    at: datetime,
) -> list[KeyResult]:
    """Abandon a KR, or an objective with all its KRs, saying why; returns the KRs abandoned.

    Abandoned KRs leave every roll-up and stay on the page struck through with the reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            "say why it is abandoned: the team reads the reason later", field="abandon_reason"
        )
    if isinstance(target, Objective):
        ensure_open(session, target.site_id, target.team_id, target.cycle_id)
        before = objective_definition(target)
        target.state, target.abandon_reason = "abandoned", reason
        record_change(
            session,
            site_id=target.site_id,
            cycle_id=target.cycle_id,
            kind="objective",
            key=target.key,
            action="abandon",
            author=author,
            at=at,
            before=before,
            after=objective_definition(target),
        )
        krs = [kr for kr in target.key_results if kr.state == "active"]
    else:
        ensure_open(session, target.site_id, target.objective.team_id, target.cycle_id)
        krs = [target]
    for kr in krs:
        before = kr_definition(kr)
        kr.state, kr.abandon_reason = "abandoned", reason
        kr.version += 1
        record_change(
            session,
            site_id=kr.site_id,
            cycle_id=kr.cycle_id,
            kind="key_result",
            key=kr.key,
            action="abandon",
            author=author,
            at=at,
            before=before,
            after=kr_definition(kr),
        )
    session.flush()
    team_id = target.team_id if isinstance(target, Objective) else target.objective.team_id
    queue_team_push(session, target.site_id, team_id, now=at)
    return krs


# --- check-ins ------------------------------------------------------------------------------


def record_check_in(
    session: Session, kr: KeyResult, data: Mapping[str, Any], *, author: str | None, at: datetime
) -> CheckIn:
    """Validate and store a check-in; its value becomes the KR's current value.

    `data` holds what the owner says (`value`, `status`, `score`, `confidence`, `what`, `why`,
    `next`, `decisions`, `risks`, `learnings`), as the API's JSON or the page's form carries it.
    `confidence` is the owner's odds of reaching the target, 0.0 to 1.0.
    """
    ensure_open(session, kr.site_id, kr.objective.team_id, kr.cycle_id)
    status = data.get("status") or None
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}", field="status")
    value = number_field(data, "value")
    if value is not None and kr.kind == "issues":
        raise Invalid("issues KRs are measured from their issues; leave value empty", field="value")
    score = number_field(data, "score")
    if score is not None and not 0 <= score <= 1:
        raise Invalid("score must be between 0 and 1 (0.7 is a good stretch)", field="score")
    confidence = number_field(data, "confidence")
    if confidence is not None and not 0 <= confidence <= 1:
        raise Invalid(
            "confidence must be between 0.0 and 1.0 (the chance of reaching the target)",
            field="confidence",
        )
    notes = {name: (text_field(data, name) or "") for name in ("what", "why", "next")}
    if (
        value is None
        and status is None
        and score is None
        and confidence is None
        and not any(notes.values())
    ):
        raise Invalid("a check-in needs a value, a status, a score or a note", field="what")
    checkin = CheckIn(
        site_id=kr.site_id,
        kr_id=kr.id,
        at=at,
        author=author,
        value=value,
        status=status,
        score=score,
        confidence=confidence,
        **notes,
        decisions=string_list_field(data, "decisions"),
        risks=string_list_field(data, "risks"),
        learnings=string_list_field(data, "learnings"),
    )
    session.add(checkin)
    if value is not None:
        kr.current = value
    kr.version += 1
    session.flush()
    return checkin


# --- links ----------------------------------------------------------------------------------


LinkHook = Callable[[Session, int, KeyResult, str, str], None]
"""Runs when a link is added: (session, site id, KR, kind, target); fetches the linked work."""


def link_work(
    session: Session,
    site_id: int,
    kr: KeyResult,
    *,
    kind: str,
    target: str,
    source: str,
    on_link: LinkHook | None = None,
) -> bool:
    """Add the link unless this source made it already; returns whether it was added.

    A new link runs `on_link` (the Jira sync fetches an epic's children then).
    """
    exists = session.scalar(
        select(Link.id).where(
            Link.kr_id == kr.id,
            Link.target_kind == kind,
            Link.target_key == target,
            Link.source == source,
        )
    )
    if exists:
        return False
    session.add(
        Link(site_id=site_id, kr_id=kr.id, target_kind=kind, target_key=target, source=source)
    )
    session.flush()
    if on_link is not None:
        on_link(session, site_id, kr, kind, target)
    return True


def unlink_work(
    session: Session,
    site_id: int,
    kr: KeyResult,
    *,
    target: str,
    now: datetime,
    kinds: tuple[str, ...] = ("jira", "github", "asana"),
) -> bool:
    """Remove every link from the KR to the target; returns whether any existed.

    An unlinked Jira issue no longer shows this KR, so its property is rewritten.
    """
    links = session.scalars(
        select(Link).where(
            Link.kr_id == kr.id, Link.target_key == target, Link.target_kind.in_(kinds)
        )
    ).all()
    for link in links:
        session.delete(link)
    session.flush()
    if any(link.target_kind == "jira" for link in links):
        plan_property_write(session, site_id, target, now=now)
        # An epic's children counted for the KR through it: their properties change too.
        for child in session.scalars(
            select(WorkItem.key).where(WorkItem.site_id == site_id, WorkItem.parent_key == target)
        ):
            plan_property_write(session, site_id, child, now=now)
    return bool(links)


# --- OKR files ------------------------------------------------------------------------------


class ImportRefused(Invalid):
    """Raised when the specs carry errors: nothing is written (answered 422)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings if f.level == "error"))
        self.findings = findings


@dataclass(slots=True)
class ImportReport:
    """What an import did; `changed_kr_ids` need their snapshots recomputed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changed_kr_ids: set[int] = field(default_factory=set)
    new_krs: list[KeyResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """KR values newer than the file's, kept (`PLAT-1.2: kept 1.2 from the check-in of ...`)."""

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


def get_or_create_cycle(session: Session, site_id: int, spec: CycleSpec) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.site_id == site_id, Cycle.name == spec.name))
    if cycle is None:
        cycle = Cycle(site_id=site_id, name=spec.name, start=spec.start, end=spec.end)
        session.add(cycle)
        session.flush()
    elif (cycle.start, cycle.end) != (spec.start, spec.end):
        cycle.start, cycle.end = spec.start, spec.end
    return cycle


IMPORTER: Final = "okrlink import"
"""The author of the check-ins an import records (`--prefer-file`)."""


def import_team_okrs(
    session: Session,
    site_id: int,
    okrs: TeamOkrs,
    *,
    now: datetime | None = None,
    prefer_file: bool = False,
    author: str | None = None,
    at: datetime | None = None,
) -> ImportReport:
    """Write a team's cycle of OKRs, keyed by objective and KR keys; refuse on errors.

    Each created or changed definition is kept in its history, as an edit on a page is; a
    closed cycle refuses the import (`Closed`).

    What the cycle holds is read once up front (objectives, KRs, file links) and written in
    a few flushes, so a 100-objective file costs a handful of statements, not one per KR.

    A KR's `current` never moves backwards silently: when a check-in recorded a value after
    the file's value was last imported, that newer value stays and the report says so
    (`kept`); with `prefer_file` the file wins, recorded as a check-in by the importer.
    """
    from sync.profiles import site_profile

    now = now or at or utcnow()
    findings = check_team_okrs(okrs, profile=site_profile(session, site_id))
    if has_errors(findings):
        raise ImportRefused(findings)
    report = ImportReport(findings=findings)
    team = get_or_create_team(session, site_id, okrs.team)
    cycle = get_or_create_cycle(session, site_id, okrs.cycle)
    ensure_open(session, site_id, team.id, cycle.id)
    history = _History(session, site_id, cycle.id, author, at or now)
    in_cycle = (Objective.site_id == site_id, Objective.cycle_id == cycle.id)
    objectives = {o.key: o for o in session.scalars(select(Objective).where(*in_cycle))}
    krs = {
        kr.key: kr
        for kr in session.scalars(
            select(KeyResult).where(KeyResult.site_id == site_id, KeyResult.cycle_id == cycle.id)
        )
    }
    file_links: dict[int, set[str]] = {}
    asana_file_links: dict[int, set[str]] = {}
    for kr_id, kind, key in session.execute(
        select(Link.kr_id, Link.target_kind, Link.target_key)
        .join(KeyResult, KeyResult.id == Link.kr_id)
        .where(
            KeyResult.site_id == site_id,
            KeyResult.cycle_id == cycle.id,
            Link.source == FILE_SOURCE,
            Link.target_kind.in_(("jira", "asana")),
        )
    ):
        (file_links if kind == "jira" else asana_file_links).setdefault(kr_id, set()).add(key)
    with session.no_autoflush:
        for position, spec in enumerate(okrs.objectives):
            objectives[spec.key] = _import_objective(
                session,
                site_id,
                team.id,
                cycle,
                objectives.get(spec.key),
                spec,
                position,
                report,
                history,
            )
        session.flush()
        touched: list[tuple[KeyResult, KeyResultSpec]] = []
        for spec in okrs.objectives:
            objective = objectives[spec.key]
            for position, kr_spec in enumerate(spec.key_results):
                existing = krs.get(kr_spec.key)
                before = existing.current if existing is not None else None
                if existing is not None:
                    kr_spec = _reconcile_current(
                        session, existing, kr_spec, report, now=now, prefer_file=prefer_file
                    )
                kr = _import_key_result(
                    session,
                    site_id,
                    cycle,
                    objective,
                    existing,
                    kr_spec,
                    position,
                    report,
                    history,
                )
                if kr_spec.current is not None and (existing is None or kr.current != before):
                    kr.current_imported_at = now  # the file's value, as of this import
                touched.append((kr, kr_spec))
        session.flush()
        report.changed_kr_ids.update(kr.id for kr in report.new_krs)
        for kr, kr_spec in touched:
            if _sync_file_links(
                session, site_id, kr.id, file_links.get(kr.id, set()), set(kr_spec.issues)
            ):
                report.changed_kr_ids.add(kr.id)
            if _sync_file_links(
                session,
                site_id,
                kr.id,
                asana_file_links.get(kr.id, set()),
                asana_keys(kr_spec.asana),
                kind="asana",
            ):
                report.changed_kr_ids.add(kr.id)
        if okrs.kpis:  # KPI values are kept with the time they were seen (`now`)
            at = now or datetime.now(UTC)
            report.changed_kr_ids |= import_kpis(
                session, site_id, okrs.team, okrs.kpis, now=at, author=author
            )
        # A github KR says at once whether the site has a GitHub installation to count from.
        sources.refresh_github(session, site_id)
    return report


def _reconcile_current(
    session: Session,
    kr: KeyResult,
    spec: KeyResultSpec,
    report: ImportReport,
    *,
    now: datetime,
    prefer_file: bool,
) -> KeyResultSpec:
    """The spec to import for an existing KR, its `current` settled against check-ins."""
    if spec.current is None or spec.current == kr.current:
        return spec
    latest = session.execute(
        select(CheckIn.at, CheckIn.value)
        .where(CheckIn.kr_id == kr.id, CheckIn.value.is_not(None))
        .order_by(CheckIn.at.desc(), CheckIn.id.desc())
        .limit(1)
    ).first()
    newer = (
        latest is not None
        and latest.value == kr.current
        and (kr.current_imported_at is None or latest.at > kr.current_imported_at)
    )
    if not newer:
        return spec
    if prefer_file:
        what = "Set from the OKR file (--prefer-file)"
        session.add(
            CheckIn(
                site_id=kr.site_id,
                kr_id=kr.id,
                at=now,
                author=IMPORTER,
                value=spec.current,
                what=what,
            )
        )
        return spec
    assert latest is not None and kr.current is not None
    day = latest.at.date().isoformat()
    report.kept.append(
        f"{kr.key}: kept {kr.current:g} from the check-in of {day}; the file says {spec.current:g}"
    )
    return replace(spec, current=kr.current)


def _import_objective(
    session: Session,
    site_id: int,
    team_id: int,
    cycle: Cycle,
    objective: Objective | None,
    spec: ObjectiveSpec,
    position: int,
    report: ImportReport,
    history: _History,
) -> Objective:
    if objective is None:
        objective = Objective(
            site_id=site_id,
            team_id=team_id,
            cycle_id=cycle.id,
            key=spec.key,
            title=spec.title,
            description=spec.description,
            parent_key=spec.parent,
            position=position,
            state="active",
        )
        session.add(objective)
        history.add("objective", spec.key, "create", {}, objective_definition(objective))
        report.created += 1
    elif objective.team_id != team_id:
        raise ImportRefused(
            [
                Finding(
                    "error",
                    "objective-key-taken",
                    f"objective {spec.key} belongs to another team in {cycle.name}: "
                    "give it a key of this team's own",
                    spec.line,
                    spec.key,
                )
            ]
        )
    else:
        before = objective_definition(objective)
        if _assign(
            objective,
            title=spec.title,
            description=spec.description,
            parent_key=spec.parent,
            position=position,
        ):
            history.add("objective", spec.key, "update", before, objective_definition(objective))
            report.updated += 1
        else:
            report.unchanged += 1
    return objective


def _import_key_result(
    session: Session,
    site_id: int,
    cycle: Cycle,
    objective: Objective,
    kr: KeyResult | None,
    spec: KeyResultSpec,
    position: int,
    report: ImportReport,
    history: _History,
) -> KeyResult:
    values = {name: getattr(spec, name) for name in KR_FIELDS}
    values["params"], values["kpi"] = scope_of(spec), spec.kpi
    if spec.current is not None:
        values["current"] = spec.current
    if kr is None:
        kr = KeyResult(
            site_id=site_id,
            cycle_id=cycle.id,
            objective=objective,
            key=spec.key,
            position=position,
            version=0,
            **values,
        )
        session.add(kr)
        history.add("key_result", spec.key, "create", {}, kr_definition(kr))
        report.created += 1
        report.new_krs.append(kr)
        return kr
    before = kr_definition(kr)
    if _assign(kr, objective_id=objective.id, position=position, **values):
        kr.version += 1
        history.add("key_result", spec.key, "update", before, kr_definition(kr))
        report.updated += 1
        report.changed_kr_ids.add(kr.id)
    else:
        report.unchanged += 1
    return kr


def asana_keys(references: Iterable[str]) -> set[str]:
    """The link keys (`asana:<gid>`) of a KR's `asana:` list; the practice checks refuse the
    references that name no task or project, so none is dropped silently."""
    gids = (asana_refs.gid_of(reference) for reference in references)
    return {asana_refs.key_of(gid) for gid in gids if gid is not None}


@dataclass(slots=True)
class _History:
    """Where an import keeps the definitions it creates and changes."""

    session: Session
    site_id: int
    cycle_id: int
    author: str | None
    at: datetime

    def add(
        self, kind: str, key: str, action: str, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> None:
        record_change(
            self.session,
            site_id=self.site_id,
            cycle_id=self.cycle_id,
            kind=kind,
            key=key,
            action=action,
            author=self.author,
            at=self.at,
            before=before,
            after=after,
        )


def _sync_file_links(
    session: Session,
    site_id: int,
    kr_id: int,
    have: set[str],
    wanted: set[str],
    *,
    kind: str = "jira",
) -> bool:
    """Make the file-sourced links of a KR equal to `wanted`; links from elsewhere stay."""
    changed = reconcile_links(
        session,
        site_id,
        source=FILE_SOURCE,
        target_kind=kind,
        kr_id=kr_id,
        wanted={(kr_id, key) for key in wanted},
        have={(kr_id, key) for key in have},
    )
    return bool(changed)


def _assign(row: object, **values: object) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def export_team_okrs(
    session: Session, site_id: int, *, team: str | None = None, cycle: str | None = None
) -> list[TeamOkrs]:
    """The stored OKRs as specs, one per (team, cycle), in a stable order."""
    query = (
        select(Objective, Team, Cycle)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .where(Objective.site_id == site_id)
        .order_by(Cycle.start, Team.key, Objective.position)
    )
    if team:
        query = query.where(Team.key == team)
    if cycle:
        query = query.where(Cycle.name == cycle)
    rows = session.execute(query).all()
    links: dict[int, list[str]] = {}
    asana_links: dict[int, list[str]] = {}
    kr_ids = [kr.id for objective, _t, _c in rows for kr in objective.key_results]
    if kr_ids:
        for kr_id, kind, key in session.execute(
            select(Link.kr_id, Link.target_kind, Link.target_key)
            .where(
                Link.kr_id.in_(kr_ids),
                Link.source == FILE_SOURCE,
                Link.target_kind.in_(("jira", "asana")),
            )
            .order_by(Link.id)
        ):
            if kind == "asana":
                asana_links.setdefault(kr_id, []).append(key.removeprefix(asana_refs.PREFIX))
            else:
                links.setdefault(kr_id, []).append(key)
    grouped: dict[tuple[str, str], tuple[Team, Cycle, list[ObjectiveSpec]]] = {}
    for objective, team_row, cycle_row in rows:
        specs = grouped.setdefault((team_row.key, cycle_row.name), (team_row, cycle_row, []))[2]
        specs.append(
            ObjectiveSpec(
                key=objective.key,
                title=objective.title,
                parent=objective.parent_key,
                description=objective.description,
                key_results=tuple(
                    _kr_spec(kr, links.get(kr.id, []), asana_links.get(kr.id, []))
                    for kr in objective.key_results
                ),
            )
        )
    return [
        TeamOkrs(
            team=team_row.key,
            cycle=CycleSpec(name=cycle_row.name, start=cycle_row.start, end=cycle_row.end),
            objectives=tuple(specs),
            kpis=tuple(as_spec(kpi) for kpi in list_kpis(session, site_id, team=team_row.key)),
        )
        for team_row, cycle_row, specs in grouped.values()
    ]


def _kr_spec(kr: KeyResult, issues: list[str], asana: list[str] | None = None) -> KeyResultSpec:
    return KeyResultSpec(
        key=kr.key,
        current=kr.current,
        issues=tuple(issues),
        asana=tuple(asana or ()),
        kpi=kr.kpi,
        **{name: getattr(kr, name) for name in KR_FIELDS},
        **(kr.params or {}),
    )
