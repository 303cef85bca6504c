"""HTML rendering from view values: the OKR panel, check-in pages, the Jira issue panel and glance.

Pure: no database and no Flask request. One Jinja environment, built once, autoescaping HTML with
`StrictUndefined`; CSS and the resize script are our own static files, inlined so the pages need
nothing from outside but Atlassian's `all.js` (`connect/ui/assets.py`). No inline `style` attributes
are emitted, so the pages' policy allows those two by hash and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from connect.ui.alignment import Alignment
from connect.ui.assets import gadget_script, script, stylesheet
from connect.ui.charts import AxisLabels, kpi_svg, trend_svg
from connect.ui.editor import Editor, notes_for
from connect.ui.i18n import Translator, translator
from connect.ui.people import person_of
from connect.ui.retro import RetroView
from connect.ui.review import MonthlyForm, ReviewView
from connect.ui.viewmodel import (
    METRIC_KINDS,
    STATUSES,
    IssueKrView,
    KpiView,
    KrView,
    ObjectiveView,
    PanelView,
)
from sync.core.practice import KPI_KINDS
from sync.core.progress import clamp01
from sync.core.spec import GITHUB_MEASURES
from sync.digest import LANGS
from sync.people import is_account_id

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"

GLANCE_LOZENGES: Mapping[str, str] = {
    "on_track": "success",
    "at_risk": "moved",
    "off_track": "removed",
}
"""Jira glance lozenge type per status (of: default, inprogress, moved, new, removed, success)."""

SAFE_SCHEMES = frozenset({"", "http", "https"})

_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def _p2(value: float) -> str:
    """Progress for `data-progress`: 0..1 with two decimals."""
    return f"{clamp01(value):.2f}"


def _pct(value: float) -> int:
    """Progress as a whole percentage for `aria-valuenow`."""
    return round(clamp01(value) * 100)


def _plain(value: float | None) -> str:
    """A number as an `<input type=number>` value (`.` decimal, no grouping); empty for None."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _url(value: str) -> str:
    """`value` when it is an http(s) or relative URL, else `#` (no `javascript:` links)."""
    # Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
    scheme = urlsplit(_CONTROL.sub("", value)).scheme.lower()
    return value if scheme in SAFE_SCHEMES else "#"


def _slug(value: str) -> str:
    """A key made safe for an `id` attribute."""
    return _SLUG.sub("-", value)


@functools.cache
def environment() -> Environment:
    """The one Jinja environment for these pages, built on first use."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(p2=_p2, pct=_pct, plain=_plain, slug=_slug, url=_url)
    env.globals.update(
        statuses=STATUSES,
        metric_kinds=METRIC_KINDS,
        notes_for=notes_for,
        is_account=is_account_id,
        kpi_kinds=KPI_KINDS,
        kpi_measures=GITHUB_MEASURES,
        digest_langs=LANGS,
    )
    return env


def _render(
    name: str,
    *,
    t: Translator,
    static: bool,
    host_script: bool,
    doc_title: str,
    **context: Any,
) -> str:
    template = environment().get_template(name)
    return template.render(
        t=t,
        static=static,
        host_script=host_script,
        doc_title=doc_title,
        css=stylesheet(),
        js=script(),
        **context,
    )


def _counts(t: Translator, objective: ObjectiveView) -> str:
    """`2 on track · 1 at risk` over the objective's active KRs (abandoned ones leave the count)."""
    active = [kr.status for kr in objective.krs if not kr.abandoned]
    return " · ".join(
        f"{active.count(status)} {t.status(status)}" for status in STATUSES if status in active
    )


def _kpi_range(t: Translator, kpi: KpiView) -> str:
    """A KPI's healthy range in words: `at most 15%`, `99.5% to 100%`."""
    low, high = (t.quantity(kpi.healthy_min, kpi.unit), t.quantity(kpi.healthy_max, kpi.unit))
    if kpi.healthy_min is not None and kpi.healthy_max is not None:
        return t("kpi.range.both", min=low, max=high)
    if kpi.healthy_max is not None:
        return t("kpi.range.max", max=high)
    return t("kpi.range.min", min=low)


def kpi_chart(
    t: Translator, kpi: KpiView, *, start: date, end: date, large: bool = False, ident: str = ""
) -> Markup:
    """A KPI's chart over the cycle: its values, its healthy range as a band, its breaches
    marked; named and described in words in the reader's language (the panel's full view, the
    project page, and `large` on the page of a KR that takes the KPI)."""
    name = f"{kpi.key} {kpi.title}"
    shown = [p for p in kpi.history if p.value is not None]
    has_range = kpi.healthy_min is not None or kpi.healthy_max is not None
    range_words = _kpi_range(t, kpi) if has_range else t("kpi.chart.no_range")
    if shown:
        description = t(
            "kpi.chart.desc",
            values=t.plural("kpi.chart.values", len(shown)),
            start=t.date(start),
            end=t.date(end),
            latest=t.quantity(shown[-1].value, kpi.unit),
            range=range_words,
            breaches=t.plural("kpi.chart.breaches", sum(p.breached for p in shown)),
        )
    else:
        description = t(
            "kpi.chart.no_values", start=t.date(start), end=t.date(end), range=range_words
        )
    return kpi_svg(
        kpi.history,
        start=start,
        end=end,
        healthy_min=kpi.healthy_min,
        healthy_max=kpi.healthy_max,
        ident=ident or f"kpi-{_slug(kpi.key)}",
        title=t("kpi.chart.title", name=name),
        description=description,
        number=lambda value: t.quantity(value, kpi.unit),
        start_label=t.date(start),
        end_label=t.date(end),
        width=560 if large else 360,
        height=168 if large else 120,
    )


def render_panel(
    view: PanelView,
    *,
    mode: Literal["full", "compact"] = "full",
    locale: str = "en",
    static: bool = False,
    is_editor: bool = False,
    csrf_token: str | None = None,
    checkin_url: str | None = None,
    host_script: bool = True,
    editor: Editor | None = None,
    tabs: Markup | None = None,
    retro: RetroView | None = None,
    monthly_given: Mapping[str, Mapping[str, float]] | None = None,
    checkin_owner: str | None = None,
    notice: str | None = None,
) -> str:
    """The OKR panel as a complete HTML document (Connect iframe, Confluence macro, Forge shell).

    `monthly_given` (per KR key, per month) are the scores owners gave: "Score by month" shows
    them instead of the derived ones.

    `compact` shows one row per KR; `static` (PDF/email) has no script and no forms. Check-in forms
    appear on active KRs in full mode when both `checkin_url` and `csrf_token` are given (with
    `checkin_owner`, only on the KRs that account owns). `notice` is a catalogue key shown on
    top (why the forms are not there).
    """
    if mode not in ("full", "compact"):
        raise ValueError(f"mode must be 'full' or 'compact', not {mode!r}")
    t = translator(locale)

    def chart(kr: KrView) -> Markup:
        return kr_chart(t, kr, start=view.cycle_start, end=view.cycle_end)

    return _render(
        "panel.html",
        t=t,
        static=static,
        host_script=host_script,
        doc_title=t("panel.heading", team=view.team, cycle=view.cycle),
        view=view,
        compact=mode == "compact",
        is_editor=is_editor,
        forms=bool(checkin_url and csrf_token) and not static,
        checkin_url=checkin_url or "",
        csrf_token=csrf_token or "",
        checkin_owner=checkin_owner or "",
        notice=notice,
        counts=functools.partial(_counts, t),
        chart=chart,
        kpi_range=functools.partial(_kpi_range, t),
        kpi_chart=functools.partial(kpi_chart, t, start=view.cycle_start, end=view.cycle_end),
        editor=None if static else editor,
        tabs=None if static else tabs,
        retro=retro,
        monthly=functools.partial(
            monthly_scores, start=view.cycle_start, end=view.cycle_end, given=monthly_given
        ),
        given_month=lambda kr, label: label in (monthly_given or {}).get(kr.key, {}),
        person=person_of(view.names),
    )


def render_checkin_form(
    kr: KrView,
    *,
    locale: str,
    csrf_token: str,
    action_url: str,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> Markup:
    """The check-in form for one KR, as an HTML fragment (the panel embeds the same form)."""
    module = (
        environment()
        .get_template("_macros.html")
        .make_module({"t": translator(locale), "is_editor": False})
    )
    return Markup(  # noqa: S704 - the macro's output is autoescaped HTML
        cast(Any, module).checkin_form(
            kr, action_url, csrf_token, dict(errors or {}), dict(values or {})
        )
    )


def render_checkin_page(
    kr: KrView,
    *,
    locale: str,
    csrf_token: str,
    action_url: str,
    errors: Mapping[str, str],
    values: Mapping[str, str],
    host_script: bool = True,
) -> str:
    """A full page with one KR's check-in form; `errors` (field → message or catalogue key)
    are shown beside their fields and `values` refill them."""
    t = translator(locale)
    return _render(
        "checkin.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("checkin.heading", key=kr.key),
        is_editor=False,
        kr=kr,
        csrf_token=csrf_token,
        action_url=action_url,
        errors=dict(errors),
        values=dict(values),
    )


def render_issue_panel(
    *,
    issue_key: str,
    krs: Sequence[IssueKrView],
    search_url: str,
    link_url: str,
    unlink_url: str,
    csrf_token: str,
    locale: str,
    results: Sequence[IssueKrView] | None = None,
    query: str = "",
    host_script: bool = True,
    linkable: Collection[str] | None = None,
) -> str:
    """The Jira issue panel: the issue's KRs (direct, or via its epic), unlink, search and link.

    The search form is a GET to `search_url`: its query parameters are carried as hidden fields
    (a GET form drops the action's query string), plus `issue` and `q`. `results` None means no
    search yet; results already linked are left out. `linkable` (None: all) are the KRs whose
    link and unlink forms the reader may use.
    """
    t = translator(locale)
    split = urlsplit(search_url)
    params = parse_qsl(split.query, keep_blank_values=True)
    params = [(name, value) for name, value in params if name != "q"]
    if not any(name == "issue" for name, _ in params):
        params.append(("issue", issue_key))
    linked = {kr.key for kr in krs}
    return _render(
        "issue_panel.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("issue.heading"),
        is_editor=False,
        issue_key=issue_key,
        krs=tuple(krs),
        results=None if results is None else tuple(r for r in results if r.key not in linked),
        query=query,
        search_action=urlunsplit(split._replace(query="", fragment="")),
        search_params=params,
        link_url=link_url,
        unlink_url=unlink_url,
        csrf_token=csrf_token,
        linkable=None if linkable is None else frozenset(linkable),
    )


def render_glance_label(
    krs: Sequence[IssueKrView | KrView], *, locale: str = "en"
) -> dict[str, Any]:
    """The Jira glance property: the KR count and a lozenge for the worst status.

    Abandoned KRs are not counted; with no KR the `status` entry is left out.
    """
    active = [kr for kr in krs if not getattr(kr, "abandoned", False)]
    glance: dict[str, Any] = {"label": {"value": str(len(active))}}
    if active:
        worst = max((kr.status for kr in active), key=STATUSES.index)
        glance["status"] = {
            "type": "lozenge",
            "value": {
                "label": translator(locale)(f"lozenge.{worst}"),
                "type": GLANCE_LOZENGES[worst],
            },
        }
    return glance


def render_message_page(
    title: str,
    message: str,
    locale: str,
    *,
    hint: str | None = None,
    link_url: str | None = None,
    link_text: str | None = None,
    host_script: bool = True,
    code: str | None = None,
) -> str:
    """A simple page for errors and empty states; `code` is an error's `error.code`."""
    t = translator(locale)
    return _render(
        "message.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=title,
        title=title,
        message=message,
        code=code,
        hint=hint,
        link_url=link_url,
        link_text=link_text or link_url,
    )


def render_empty_panel(
    *,
    team: str,
    cycle: str,
    locale: str,
    okr_page_url: str | None = None,
    host_script: bool = True,
) -> str:
    """The panel shown before a team has OKRs for the cycle, with a hint how to import them."""
    t = translator(locale)
    return render_message_page(
        t("empty.title"),
        t("empty.message", team=team, cycle=cycle),
        locale,
        hint=t("empty.hint"),
        link_url=okr_page_url,
        link_text=t("panel.open_page"),
        host_script=host_script,
    )


def render_okrs_page(
    alignment: Alignment,
    view: PanelView | None,
    *,
    team_links: Sequence[tuple[str, str]],
    locale: str,
    host_script: bool = True,
) -> str:
    """The Jira "OKRs" page: team picker, alignment tree, and the chosen team's OKRs."""
    t = translator(locale)

    def chart(kr: KrView) -> Markup:
        assert view is not None
        return kr_chart(t, kr, start=view.cycle_start, end=view.cycle_end)

    return _render(
        "okrs.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("okrs.heading", cycle=alignment.cycle),
        alignment=alignment,
        view=view,
        chosen=view.team if view else "",
        retro=None,
        monthly=functools.partial(monthly_scores, start=view.cycle_start, end=view.cycle_end)
        if view
        else None,
        team_links=tuple(team_links),
        compact=False,
        is_editor=False,
        forms=False,
        editor=None,
        checkin_url="",
        csrf_token="",
        counts=functools.partial(_counts, t),
        chart=chart,
        person=person_of(view.names if view else {}),
    )


def render_review(
    review: ReviewView,
    *,
    locale: str,
    host_script: bool = True,
    tabs: Markup | None = None,
    monthly_form: MonthlyForm | None = None,
) -> str:
    """The weekly review page (project page tab, and the panel macro's `view=review`); in a
    month's last week, with `monthly_form`, each KR's form for the month's score."""
    t = translator(locale)
    return _render(
        "review.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("review.heading", team=review.team, cycle=review.cycle),
        review=review,
        tabs=tabs,
        monthly_form=monthly_form,
        person=person_of(review.names),
    )


def render_retro(
    retro: RetroView, *, locale: str, host_script: bool = True, tabs: Markup | None = None
) -> str:
    """A closed cycle's retrospective (the panel's `view=retro`)."""
    t = translator(locale)
    return _render(
        "retro.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("retro.heading", team=retro.team, cycle=retro.cycle),
        retro=retro,
        tabs=tabs,
    )


def monthly_scores(
    kr: KrView,
    *,
    start: date,
    end: date,
    given: Mapping[str, Mapping[str, float]] | None = None,
) -> list[tuple[str, float | None]]:
    """The KR's score of each month of the cycle so far: the one its owner gave (`given`, per KR
    key and month), else derived from its history (its progress at the month's end)."""
    own = (given or {}).get(kr.key, {})
    months: list[tuple[str, float | None]] = []
    year, month = start.year, start.month
    last: float | None = None
    points = sorted(kr.history)
    while (year, month) <= (end.year, end.month):
        label = f"{year:04d}-{month:02d}"
        in_month = [p for at, p in points if (at.year, at.month) == (year, month)]
        if in_month:
            last = clamp01(in_month[-1])
        elif (
            label not in own
            and points
            and (points[-1][0].year, points[-1][0].month)
            < (
                year,
                month,
            )
        ):
            break  # the months ahead have no score yet
        months.append((label, own.get(label, last)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def kr_chart(t: Translator, kr: Any, *, start: date, end: date, large: bool = False) -> Markup:
    """A KR's trend chart: progress, and the confidence of its check-ins when it has some.

    Small (the panel's rows) or `large` with labelled axes (the KR's own page); `kr` is a
    `KrView` or anything with its `key`, `title`, `progress`, `history` and `confidence`.
    """
    name = f"{kr.key} {kr.title}"
    if kr.confidence:
        title = t(
            "trend.title_confidence",
            key=name,
            percent=t.percent(kr.progress),
            confidence=t.percent(kr.confidence[-1][1]),
        )
    else:
        title = t("trend.title", key=name, percent=t.percent(kr.progress))
    if not large:
        return trend_svg(kr.history, start=start, end=end, title=title, confidence=kr.confidence)
    axes = AxisLabels(
        low=t.percent(0.0),
        middle=t.percent(0.5),
        high=t.percent(1.0),
        start=t.date(start),
        end=t.date(end),
    )
    return trend_svg(
        kr.history,
        start=start,
        end=end,
        width=560,
        height=168,
        title=title,
        confidence=kr.confidence,
        axes=axes,
    )


def render_kr_page(
    kr: Any,
    *,
    check_ins: Sequence[Any],
    changes: Sequence[Any],
    locale: str,
    back_url: str = "",
    host_script: bool = True,
    trend: Any = None,
    kpi: KpiView | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """One KR's check-ins (latest first) and the history of its definition; `trend` (a
    `KrTrend`) adds its progress and confidence chart over the cycle, and `kpi` (the KPI the
    KR takes its value from) that KPI's chart over the same cycle."""
    t = translator(locale)
    chart = kpi_figure = None
    if trend is not None:
        chart = kr_chart(t, trend, start=trend.start, end=trend.end, large=True)
        if kpi is not None:
            kpi_figure = kpi_chart(
                t,
                kpi,
                start=trend.start,
                end=trend.end,
                large=True,
                ident=f"krkpi-{_slug(kpi.key)}",
            )
    return _render(
        "kr_page.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=f"{kr.key} {kr.title}",
        kr=kr,
        check_ins=tuple(check_ins),
        changes=tuple(changes),
        back_url=back_url,
        chart=chart,
        kpi=kpi if kpi_figure is not None else None,
        kpi_figure=kpi_figure,
        status=getattr(trend, "status", ""),
        with_confidence=bool(trend and trend.confidence),
        person=person_of(names or {}),
    )


def render_gadget(
    *,
    teams: Sequence[str],
    cycles: Sequence[str],
    config: Any,
    locale: str,
    attrs: Sequence[tuple[str, str]] = (),
    panel_slot: bool = False,
    hidden_form: bool = False,
    note: str = "",
    host_script: bool = True,
) -> str:
    """The dashboard gadget's page: its settings form (filled with `config`, a `GadgetConfig`)
    and, when `panel_slot`, the place the Connect gadget's script shows the panel; `attrs`
    become the wrapper's `data-` attributes (what the script needs: the dashboard item, the
    panel's URL, its token, the messages it may show)."""
    t = translator(locale)
    return _render(
        "gadget.html",
        t=t,
        static=False,
        host_script=host_script,
        doc_title=t("gadget.title"),
        teams=tuple(teams),
        cycles=tuple(cycles),
        config=config,
        attrs=tuple(attrs),
        panel_slot=panel_slot,
        hidden_form=hidden_form,
        note=note,
        gadget_js=gadget_script() if panel_slot else None,
    )
