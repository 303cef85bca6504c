"""Test support for the UI: view values like the store would give, and a small HTML tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient

from connect.ui.i18n import PracticeNote
from connect.ui.viewmodel import CheckInView, IssueKrView, KrView, ObjectiveView, PanelView

TASK_NOTE = PracticeNote(
    "practice.task-not-outcome", {"key": "PLAT-O1-KR5", "title": "Migrate the build farm"}
)
NO_OWNER_NOTE = PracticeNote("practice.no-owner", {"key": "PLAT-O1-KR1"})

CYCLE_START = date(2026, 10, 1)
CYCLE_END = date(2026, 12, 31)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    """An element of the parsed page."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str | bool) -> list[Node]:
        """Elements with `tag` whose attributes match (`True` means present)."""
        found = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(
                (name in node.attrs) if want is True else node.attrs.get(name) == want
                for name, want in ((k.rstrip("_").replace("_", "-"), v) for k, v in attrs.items())
            ):
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str | bool) -> Node:
        """The first matching element (fails the test when there is none)."""
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def by_class(self, name: str) -> list[Node]:
        """Elements carrying the CSS class `name`."""
        return [n for n in self.iter() if name in n.attrs.get("class", "").split()]

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The page as a tree; fails on mismatched tags (so the markup is well nested)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def weekly_history(final: float, weeks: int = 13) -> tuple[tuple[datetime, float], ...]:
    """A progress point per week from the cycle start, rising evenly to `final`."""
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    return tuple(
        (start + timedelta(weeks=w), round(final * w / (weeks - 1), 3)) for w in range(weeks)
    )


def make_kr(key: str = "PLAT-O1-KR1", **changes: object) -> KrView:
    """A metric KR with a check-in and a cycle of weekly history; `changes` override fields."""
    values: dict[str, object] = {
        "key": key,
        "title": "Reduce change failure rate from 15% to 5%",
        "kind": "metric",
        "unit": "%",
        "baseline": 15.0,
        "current": 9.0,
        "target": 5.0,
        "progress": 0.6,
        "score": 0.65,
        "status": "on_track",
        "owner": "Release captain",
        "state": "active",
        "abandon_reason": None,
        "last_checkin": CheckInView(
            at=datetime(2026, 11, 25, 16, 30, tzinfo=UTC),
            author="Release captain",
            status="on_track",
            score=0.7,
            value=9.0,
            what="Canary deploys now cover the payment services.",
            why="Rollbacks became automatic.",
            next="Extend canaries to the search cluster.",
        ),
        "history": weekly_history(0.6),
    }
    values.update(changes)
    return KrView(**values)  # type: ignore[arg-type]


def make_objective(key: str = "PLAT-O1", krs: tuple[KrView, ...] = (), **changes: object):
    """An objective aligned to a company objective."""
    values: dict[str, object] = {
        "key": key,
        "title": "Ship reliable releases",
        "parent_key": "ACME-2",
        "parent_title": "World-class reliability",
        "progress": 0.45,
        "krs": krs or (make_kr(f"{key}-KR1"),),
    }
    values.update(changes)
    return ObjectiveView(**values)  # type: ignore[arg-type]


def make_panel(objectives: tuple[ObjectiveView, ...] = (), **changes: object) -> PanelView:
    """A panel for team PLAT in 2026-Q4."""
    values: dict[str, object] = {
        "team": "PLAT",
        "cycle": "2026-Q4",
        "cycle_start": CYCLE_START,
        "cycle_end": CYCLE_END,
        "objectives": objectives or (make_objective(),),
    }
    values.update(changes)
    return PanelView(**values)  # type: ignore[arg-type]


def big_panel() -> PanelView:
    """3 objectives × 5 KRs, 13 weekly history points each, long-ish titles and notes."""
    statuses = ("on_track", "at_risk", "off_track")
    objectives = tuple(
        make_objective(
            f"PLAT-O{o}",
            krs=tuple(
                make_kr(
                    f"PLAT-O{o}-KR{k}",
                    title=f"Cut median lead time from first commit to production by half ({o}.{k})",
                    status=statuses[k % 3],
                    progress=0.1 * k + 0.05 * o,
                    history=weekly_history(0.1 * k + 0.05 * o),
                    warnings=(TASK_NOTE,) if k == 5 else (),
                )
                for k in range(1, 6)
            ),
        )
        for o in range(1, 4)
    )
    return make_panel(objectives, warnings=(NO_OWNER_NOTE,))


def make_issue_kr(key: str = "PLAT-O1-KR1", **changes: object) -> IssueKrView:
    """A KR as seen from a Jira issue."""
    values: dict[str, object] = {
        "key": key,
        "title": "Reduce change failure rate from 15% to 5%",
        "objective_title": "Ship reliable releases",
        "progress": 0.4,
        "score": 0.5,
        "status": "on_track",
        "owner": "Release captain",
        "via": None,
    }
    values.update(changes)
    return IssueKrView(**values)  # type: ignore[arg-type]


def the_form(html: str, name: str, target: str = "") -> Node:
    """The form marked `data-form=name` (for `target`: the objective, KR or KPI it edits)."""
    for form in parse(html).find_all("form", data_form=name):
        hidden = {
            n.attrs["name"]: n.attrs.get("value", "")
            for n in form.find_all("input")
            if n.attrs.get("type") == "hidden"
        }
        if not target or target in (hidden.get("objective"), hidden.get("kr"), hidden.get("kpi")):
            return form
    raise AssertionError(f"no form {name} {target}")


def form_values(form: Node) -> dict[str, str | list[str]]:
    """What a browser sends for the form as it stands: inputs (ticked boxes only), the chosen
    options, the text areas; a name given more than once is a list."""
    values: dict[str, str | list[str]] = {}

    def put(name: str, value: str) -> None:
        before = values.get(name)
        if before is None:
            values[name] = value
        else:
            values[name] = [*([before] if isinstance(before, str) else before), value]

    for node in form.iter():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input":
            if node.attrs.get("type") in ("checkbox", "radio") and "checked" not in node.attrs:
                continue
            put(name, node.attrs.get("value", ""))
        elif node.tag == "select":
            chosen = [o for o in node.find_all("option") if "selected" in o.attrs]
            options = chosen or node.find_all("option")[:1]
            put(name, options[0].attrs["value"] if options else "")
        elif node.tag == "textarea":
            put(name, "".join(c for c in node.children if isinstance(c, str)))
    return values


def submit(client: FlaskClient, html: str, name: str, target: str = "", /, **fields: str) -> Any:
    """Post the form as a browser would: its hidden fields and current values, then `fields`."""
    form = the_form(html, name, target)
    # A field without a name (a picker's search box) is not posted, as in a browser.
    data = {
        n.attrs["name"]: n.attrs.get("value", "")
        for n in form.find_all("input")
        if "name" in n.attrs
    }
    for select in form.find_all("select"):
        chosen = [o for o in select.find_all("option") if "selected" in o.attrs]
        data[select.attrs["name"]] = chosen[0].attrs["value"] if chosen else ""
    for area in form.find_all("textarea"):
        data[area.attrs["name"]] = area.text
    data.update(fields)
    return client.post(form.attrs["action"], data=data)


def follow(client: FlaskClient, response: Any) -> str:
    """The page a form's 303 leads to."""
    assert response.status_code == 303, response.text
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.text


def field_names(form: Node) -> list[str]:
    """The names of the fields a person fills in (hidden ones aside), in order."""
    return [
        n.attrs["name"]
        for n in form.iter()
        if n.tag in {"input", "select", "textarea"}
        and n.attrs.get("type") != "hidden"
        and "name" in n.attrs  # a picker's search box: not posted
    ]
