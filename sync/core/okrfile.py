"""OKRs as code: read and write a team's OKR file (YAML), keeping source lines for messages.

The file's shape is a contract shared with tools outside this repository::

    team: PLAT
    cycle: 2026-Q4            # a quarter, or start: / end: dates (cycle is then an optional name)
    objectives:
      - key: PLAT-1           # optional, derived from team and position
        title: ...
        description: ...      # optional: why it matters
        parent: ACME-2        # optional
        key_results:
          - key: PLAT-1.1     # optional, derived from objective key and position
            title: ...
            kind: metric      # metric | issues | jql | github
            baseline: 99.5
            target: 99.99
            unit: "%"
            owner: SRE lead
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from sync.core.practice import Finding, check_team_okrs
from sync.core.spec import (
    DORA_SCOPE,
    CycleSpec,
    KeyResultSpec,
    KpiSpec,
    ObjectiveSpec,
    TeamOkrs,
    quarter,
)
from sync.errors import Invalid

# libyaml's parser when PyYAML was built with it (about 10x faster), same nodes and marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SHOWN = 40
"""Characters of a user's value a message quotes, at most: a message must stay small whatever
the file holds (an error once printed a value with `repr`, expanding YAML aliases into
hundreds of millions of elements)."""

TEAM_FIELDS = ("team", "cycle", "start", "end", "objectives", "kpis")
KPI_FIELDS = (
    "key",
    "title",
    "kind",
    "measure",
    "unit",
    "healthy",
    "drop_alert",
    "owner",
    "current",
    "jql",
    "jql_field",
    *DORA_SCOPE,
)
_SCOPE_NUMBERS = ("window_days", "incident_window_hours")
_SCOPE_TEXTS = ("repository", "environment", "incident_jql")
OBJECTIVE_FIELDS = ("key", "title", "description", "parent", "key_results")
KR_FIELDS = (
    "key",
    "title",
    "kind",
    "baseline",
    "target",
    "current",
    "unit",
    "owner",
    "weight",
    "issues",
    "jql",
    "jql_field",
    "measure",
    "state",
    "abandon_reason",
    "asana",
    "asana_goal",
    "asana_field",
    "kpi",
    *DORA_SCOPE,
)
_KR_NUMBERS = ("baseline", "target", "current", "weight", *_SCOPE_NUMBERS)
# What it is and how it is measured, then the numbers, then who and whether it is still active.
_KR_DUMP_ORDER = (
    "kind",
    "issues",
    "jql",
    "jql_field",
    "measure",
    "baseline",
    "target",
    "current",
    "unit",
    "owner",
    "weight",
    "state",
    "abandon_reason",
    "asana",
    "asana_goal",
    "asana_field",
    "kpi",
    *DORA_SCOPE,
)
_KR_TEXTS = (
    "kind",
    "unit",
    "owner",
    "jql",
    "jql_field",
    "measure",
    "state",
    "abandon_reason",
    "asana_field",
    "kpi",
    *_SCOPE_TEXTS,
)


class OkrFileError(Invalid, ValueError):
    """Raised by parse/load when an OKR file is not valid YAML or not in the OKR file shape
    (answered 422); `str()` says where, with the file's line."""

    def __init__(self, message: str, line: int | None, source: str) -> None:
        super().__init__(message)
        self.line = line
        self.source = source

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def shown(value: Any) -> str:
    """A value as a message quotes it: its kind for a list or mapping, else its text, quoted,
    cut at `SHOWN` characters, anything unprintable replaced."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        text = repr(value) if abs(value) < 10**SHOWN else "a very large number"
        return text[:SHOWN]
    text = str(value)
    cut = text[:SHOWN] + ("…" if len(text) > SHOWN else "")
    return "'" + "".join(c if c.isprintable() else "?" for c in cut) + "'"


def refuse_anchors(text: str, source: str) -> None:
    """OkrFileError at the first anchor (`&name`) or alias (`*name`): an OKR file never needs
    them, and aliases nested a few levels deep expand into millions of values (a "billion
    laughs" document of a kilobyte). Read from the parser's events: linear in the text."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            raise OkrFileError(
                "YAML anchors and aliases (&name, *name) are not accepted in an OKR file: "
                "write each value out",
                line,
                source,
            )


class _Reader:
    """Turns composed YAML nodes into specs, raising OkrFileError at the offending line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, message: str, node: yaml.Node | None) -> OkrFileError:
        return OkrFileError(message, _line(node) if node is not None else None, self.source)

    def mapping(
        self, node: yaml.Node, *, what: str, allowed: tuple[str, ...]
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(f"{what} must be a mapping of fields (name: value)", node)
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = self.value(key_node)
            if not isinstance(name, str):
                raise self.fail(
                    f"{what} has a field named {shown(name)}: field names are text", key_node
                )
            if name not in allowed:
                raise self.fail(
                    f"{what} has unknown field {shown(name)}: allowed fields are "
                    f"{', '.join(allowed)}",
                    key_node,
                )
            if name in fields:
                raise self.fail(f"{what} has field {shown(name)} twice: keep one", key_node)
            fields[name] = value_node
        return fields

    def value(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
            raise self.fail("cannot read value: it is too large", node) from exc

    def text(self, node: yaml.Node, *, what: str) -> str:
        value = self.value(node)
        if not isinstance(value, str):
            raise self.fail(
                f"{what} must be text, got {shown(value)}: put it in quotes to keep it as written",
                node,
            )
        return value

    def gid(self, node: yaml.Node, *, what: str) -> str:
        """An Asana gid or URL: YAML reads a bare gid as a number, which is kept as written."""
        value = self.value(node)
        if isinstance(value, int) and not isinstance(value, bool):
            return node.value if isinstance(node, yaml.ScalarNode) else str(value)
        return self.text(node, what=what)

    def optional_text(self, fields: dict[str, yaml.Node], name: str, *, what: str) -> str | None:
        node = fields.get(name)
        if node is None or self.value(node) is None:
            return None
        return self.text(node, what=f"{what} {name}")

    def number(self, node: yaml.Node, *, what: str) -> float | None:
        value = self.value(node)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = ""
            if isinstance(value, str) and value.strip().endswith("%"):
                bare = value.strip().rstrip("%").strip()[:SHOWN]
                hint = f" (write {bare} and put '%' in unit)"
            raise self.fail(f"{what} must be a number, got {shown(value)}{hint}", node)
        return float(value)

    def date(self, node: yaml.Node, *, what: str) -> date:
        value = self.value(node)
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise self.fail(f"{what} must be a date written YYYY-MM-DD, got {shown(value)}", node)
        return value

    def sequence(self, node: yaml.Node, *, what: str, example: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(f"{what} must be a list, e.g. {example}", node)
        return list(node.value)

    def title(self, fields: dict[str, yaml.Node], node: yaml.Node, *, what: str) -> str:
        title_node = fields.get("title")
        if title_node is None:
            raise self.fail(f"{what} has no title: add title: ...", node)
        title = self.text(title_node, what=f"{what} title")
        if not title.strip():
            raise self.fail(f"{what} has an empty title: say what it is about", title_node)
        return title

    def team_okrs(self, node: yaml.Node) -> TeamOkrs:
        fields = self.mapping(node, what="The OKR file", allowed=TEAM_FIELDS)
        if "team" not in fields:
            raise self.fail("The OKR file has no team: add team: <team key>, e.g. team: PLAT", node)
        team = self.text(fields["team"], what="team")
        if not team.strip():
            raise self.fail("team is empty: give the team key, e.g. team: PLAT", fields["team"])
        cycle = self.cycle(fields, node)
        objectives_node = fields.get("objectives")
        if objectives_node is None:
            raise self.fail("The OKR file has no objectives: add objectives: with a list", node)
        items = self.sequence(objectives_node, what="objectives", example="- title: ...")
        objectives = tuple(
            self.objective(item, default_key=f"{team}-{position}")
            for position, item in enumerate(items, start=1)
        )
        kpis: tuple[KpiSpec, ...] = ()
        if "kpis" in fields:
            kpi_items = self.sequence(fields["kpis"], what="kpis", example="- key: PLAT-K1")
            kpis = tuple(
                self.kpi(item, default_key=f"{team}-K{position}")
                for position, item in enumerate(kpi_items, start=1)
            )
        return TeamOkrs(team=team, cycle=cycle, objectives=objectives, line=_line(node), kpis=kpis)

    def kpi(self, node: yaml.Node, *, default_key: str) -> KpiSpec:
        fields = self.mapping(node, what="A KPI", allowed=KPI_FIELDS)
        key = self.optional_text(fields, "key", what="KPI") or default_key
        what = f"KPI {key}"
        values: dict[str, Any] = {"key": key, "title": self.title(fields, node, what=what)}
        for name in ("drop_alert", "current", *_SCOPE_NUMBERS):
            if name in fields:
                number = self.number(fields[name], what=f"{what} {name}")
                if number is not None:
                    values[name] = number
        for name in ("kind", "measure", "unit", "owner", "jql", "jql_field", *_SCOPE_TEXTS):
            text = self.optional_text(fields, name, what=what)
            if text is not None:
                values[name] = text
        if "healthy" in fields:
            bounds = self.mapping(fields["healthy"], what=f"{what} healthy", allowed=("min", "max"))
            for bound, node_ in bounds.items():
                number = self.number(node_, what=f"{what} healthy {bound}")
                if number is not None:
                    values[f"healthy_{bound}"] = number
        return KpiSpec(**values, line=_line(node))

    def cycle(self, fields: dict[str, yaml.Node], node: yaml.Node) -> CycleSpec:
        name = None
        if "cycle" in fields:
            value = self.value(fields["cycle"])
            if not isinstance(value, str | int):
                raise self.fail(
                    f"cycle must be a quarter such as 2026-Q4 or a name, got {shown(value)}",
                    fields["cycle"],
                )
            name = str(value)
        has_start, has_end = "start" in fields, "end" in fields
        if has_start != has_end:
            missing = "end" if has_start else "start"
            raise self.fail(
                f"The cycle has no {missing} date: give both start: and end:, or only a quarter",
                fields["start" if has_start else "end"],
            )
        if has_start:
            start = self.date(fields["start"], what="start")
            end = self.date(fields["end"], what="end")
            return CycleSpec(
                name=name or f"{start.isoformat()}..{end.isoformat()}", start=start, end=end
            )
        if name is None:
            raise self.fail(
                "The OKR file has no cycle: add cycle: 2026-Q4 (a quarter), or start: and end:",
                node,
            )
        try:
            return quarter(name)
        except ValueError as exc:
            raise self.fail(str(exc), fields["cycle"]) from exc

    def objective(self, node: yaml.Node, *, default_key: str) -> ObjectiveSpec:
        fields = self.mapping(node, what="An objective", allowed=OBJECTIVE_FIELDS)
        key = self.optional_text(fields, "key", what="Objective") or default_key
        what = f"Objective {key}"
        title = self.title(fields, node, what=what)
        parent = self.optional_text(fields, "parent", what=what)
        description = (self.optional_text(fields, "description", what=what) or "").strip()
        krs_node = fields.get("key_results")
        items = (
            self.sequence(krs_node, what=f"{what} key_results", example="- title: ...")
            if krs_node is not None
            else []
        )
        krs = tuple(
            self.key_result(item, default_key=f"{key}.{position}")
            for position, item in enumerate(items, start=1)
        )
        return ObjectiveSpec(
            key=key,
            title=title,
            parent=parent,
            description=description or None,
            key_results=krs,
            line=_line(node),
        )

    def key_result(self, node: yaml.Node, *, default_key: str) -> KeyResultSpec:
        fields = self.mapping(node, what="A key result", allowed=KR_FIELDS)
        key = self.optional_text(fields, "key", what="KR") or default_key
        what = f"KR {key}"
        values: dict[str, Any] = {"key": key, "title": self.title(fields, node, what=what)}
        for name in _KR_NUMBERS:
            if name in fields:
                number = self.number(fields[name], what=f"{what} {name}")
                if number is not None:
                    values[name] = number
        for name in _KR_TEXTS:
            text = self.optional_text(fields, name, what=what)
            if text is not None:
                values[name] = text
        if "issues" in fields:
            items = self.sequence(fields["issues"], what=f"{what} issues", example="[PLAT-12]")
            values["issues"] = tuple(self.text(item, what=f"{what} issue key") for item in items)
        if "asana" in fields:
            items = self.sequence(fields["asana"], what=f"{what} asana", example="[1204567890]")
            values["asana"] = tuple(self.gid(item, what=f"{what} asana item") for item in items)
        if fields.get("asana_goal") is not None and self.value(fields["asana_goal"]) is not None:
            values["asana_goal"] = self.gid(fields["asana_goal"], what=f"{what} asana_goal")
        return KeyResultSpec(**values, line=_line(node))


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else None


def _problem(exc: yaml.YAMLError) -> str:
    """What the YAML reader says went wrong, cut short (it may quote a tag or the text)."""
    text = str(getattr(exc, "problem", None) or exc)
    return text[: 4 * SHOWN] + ("…" if len(text) > 4 * SHOWN else "")


def _read(roots: Iterable[yaml.Node | None], source: str) -> list[TeamOkrs]:
    reader = _Reader(source)
    teams: list[TeamOkrs] = []
    try:
        for root in roots:
            if root is not None:
                teams.append(reader.team_okrs(root))
    except yaml.constructor.ConstructorError as exc:
        message = f"cannot read value: {_problem(exc)}"
        raise OkrFileError(message, _mark_line(exc), source) from exc
    except yaml.MarkedYAMLError as exc:
        message = f"not valid YAML: {_problem(exc)}"
        if "another document" in str(exc.problem):
            message += " (one team per file; read several with parse_all)"
        raise OkrFileError(message, _mark_line(exc), source) from exc
    except yaml.YAMLError as exc:
        raise OkrFileError(f"not valid YAML: {_problem(exc)}", None, source) from exc
    if not teams:
        raise OkrFileError("the file is empty: start with team: and cycle:", 1, source)
    return teams


def parse(text: str, *, source: str = "<okr file>") -> TeamOkrs:
    """A team's OKRs from the text of an OKR file; raises OkrFileError with the line."""
    return _read(_single(text, source), source)[0]


def _single(text: str, source: str) -> Iterator[yaml.Node | None]:
    # compose() inside a generator, so that its YAML errors surface in _read with the others.
    refuse_anchors(text, source)
    yield yaml.compose(text, Loader=_LOADER)


def _every(text: str, source: str) -> Iterator[yaml.Node | None]:
    refuse_anchors(text, source)
    yield from yaml.compose_all(text, Loader=_LOADER)


def parse_all(text: str, *, source: str = "<okr file>") -> list[TeamOkrs]:
    """Every team's OKRs from a file of documents separated by ---, as dump_all writes them."""
    return _read(_every(text, source), source)


def load(path: str | Path) -> TeamOkrs:
    """A team's OKRs from an OKR file on disk."""
    return parse(Path(path).read_text(encoding="utf-8"), source=str(path))


def check_file(path: str | Path) -> list[Finding]:
    """Practice findings for an OKR file; a file that cannot be read is a single error finding."""
    try:
        okrs = load(path)
    except OkrFileError as exc:
        return [Finding("error", "invalid-file", exc.message, exc.line, None)]
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding("error", "unreadable-file", f"cannot read {path}: {exc}", None, None)]
    return check_team_okrs(okrs)


class _FlowList(list[Any]):
    """A list written inline: issues: [PLAT-12, PLAT-40]."""


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as people write OKR files."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_FlowList, _represent_flow_list)

_KR_DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(KeyResultSpec)
    if field.default is not dataclasses.MISSING
}


def _kr_document(kr: KeyResultSpec) -> dict[str, Any]:
    document: dict[str, Any] = {"key": kr.key, "title": kr.title}
    for name in _KR_DUMP_ORDER:
        value = getattr(kr, name)
        if value == _KR_DEFAULTS[name]:
            continue
        if name in ("issues", "asana"):
            value = _FlowList(value)
        elif name == "weight" or (name in _KR_NUMBERS and _is_whole(value)):
            value = _number(value)
        document[name] = value
    return document


def _is_whole(value: float) -> bool:
    return math.isfinite(value) and value == int(value)


def _number(value: float) -> float | int:
    # 24 reads better than 24.0; both parse back to the same float.
    return int(value) if _is_whole(value) and abs(value) < 2**53 else value


def _kpi_document(kpi: KpiSpec) -> dict[str, Any]:
    document: dict[str, Any] = {"key": kpi.key, "title": kpi.title, "kind": kpi.kind}
    for name in ("measure", "jql", "jql_field", "unit"):
        if getattr(kpi, name):
            document[name] = getattr(kpi, name)
    healthy = {
        bound: _number(value)
        for bound, value in (("min", kpi.healthy_min), ("max", kpi.healthy_max))
        if value is not None
    }
    if healthy:
        document["healthy"] = healthy
    for name in ("drop_alert", "current", "owner", *DORA_SCOPE):
        value = getattr(kpi, name)
        if value is not None:
            document[name] = _number(value) if isinstance(value, float) else value
    return document


def dump(okrs: TeamOkrs) -> str:
    """The OKR file text for a team's OKRs; parse(dump(x)) equals x apart from lines."""
    document: dict[str, Any] = {"team": okrs.team}
    cycle = okrs.cycle
    try:
        is_quarter = quarter(cycle.name) == cycle
    except ValueError:
        is_quarter = False
    document["cycle"] = cycle.name
    if not is_quarter:
        document["start"] = cycle.start
        document["end"] = cycle.end
    objectives = []
    for objective in okrs.objectives:
        item: dict[str, Any] = {"key": objective.key, "title": objective.title}
        if objective.description:
            item["description"] = objective.description
        if objective.parent is not None:
            item["parent"] = objective.parent
        if objective.key_results:
            item["key_results"] = [_kr_document(kr) for kr in objective.key_results]
        objectives.append(item)
    document["objectives"] = objectives
    if okrs.kpis:
        document["kpis"] = [_kpi_document(kpi) for kpi in okrs.kpis]
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def dump_all(teams: Iterable[TeamOkrs]) -> str:
    """Several teams' OKRs as one file of documents separated by ---."""
    return "---\n".join(dump(team) for team in teams)


def strip_lines(okrs: TeamOkrs) -> TeamOkrs:
    """The same OKRs with every source line removed, for comparing content."""
    return dataclasses.replace(
        okrs,
        line=None,
        kpis=tuple(dataclasses.replace(kpi, line=None) for kpi in okrs.kpis),
        objectives=tuple(
            dataclasses.replace(
                objective,
                line=None,
                key_results=tuple(
                    dataclasses.replace(kr, line=None) for kr in objective.key_results
                ),
            )
            for objective in okrs.objectives
        ),
    )
