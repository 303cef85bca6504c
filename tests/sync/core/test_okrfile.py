from __future__ import annotations

import string
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.core.okrfile import (
    OkrFileError,
    check_file,
    dump,
    dump_all,
    load,
    parse,
    parse_all,
    strip_lines,
)
from sync.core.spec import (
    GITHUB_MEASURES,
    KR_KINDS,
    CycleSpec,
    KeyResultSpec,
    ObjectiveSpec,
    TeamOkrs,
    quarter,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "platform.okr.yml"
BAD = Path(__file__).resolve().parents[1] / "data" / "bad.okr.yml"

MINIMAL = """\
team: PLAT
cycle: 2026-Q4
objectives:
  - title: Make the platform the most reliable in its sector
    key_results:
      - title: Raise availability from 99.5% to 99.99%
        baseline: 99.5
        target: 99.99
      - title: Close the failover epic
        kind: issues
        issues: [PLAT-12, PLAT-40]
  - title: Make builds fast
"""


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line in path containing text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def _error(text: str) -> OkrFileError:
    with pytest.raises(OkrFileError) as caught:
        parse(text, source="team.okr.yml")
    return caught.value


# --- the example and the bad file ----------------------------------------------------------------


def test_example_file_follows_the_practice() -> None:
    assert check_file(EXAMPLE) == []


def test_example_file_has_the_platform_okrs() -> None:
    okrs = load(EXAMPLE)
    assert (okrs.team, okrs.cycle) == ("PLAT", quarter("2026-Q4"))
    reliable = okrs.objectives[0]
    assert reliable.title == "Make the platform the most reliable in its sector"
    by_key = {kr.key: kr for o in okrs.objectives for kr in o.key_results}
    assert (by_key["PLAT-1.1"].baseline, by_key["PLAT-1.1"].target) == (99.5, 99.99)
    assert by_key["PLAT-1.4"].issues == ("PLAT-12", "PLAT-40")
    # DORA's keys, measured from deployments: change lead time and change failure rate.
    assert (by_key["PLAT-1.5"].measure, by_key["PLAT-1.5"].target) == ("change_lead_time_hours", 24)
    assert (by_key["PLAT-1.3"].measure, by_key["PLAT-1.3"].target) == ("change_failure_rate", 5)
    assert [(k.key, k.measure, k.healthy_max) for k in okrs.kpis] == [
        ("PLAT-K1", "change_failure_rate", 15)
    ]
    jql = next(kr for kr in by_key.values() if kr.kind == "jql")
    assert jql.jql == "project = PLAT AND type = Bug AND statusCategory != Done"
    assert {kr.kind for kr in by_key.values()} == set(KR_KINDS)


def test_each_finding_in_the_bad_file_points_at_its_line() -> None:
    found = {(f.code, f.key): f.line for f in check_file(BAD)}
    assert found == {
        ("task-not-outcome", "BAD-1.3"): _line_of(BAD, "title: Create five web pages"),
        ("too-few-krs", "BAD-2"): _line_of(BAD, "key: BAD-2"),
        ("no-owner", "BAD-2.2"): _line_of(BAD, "title: Raise net revenue retention"),
        ("too-many-objectives", "BAD-4"): _line_of(BAD, "key: BAD-4"),
        **{("no-why", f"BAD-{n}"): _line_of(BAD, f"key: BAD-{n}") for n in range(1, 5)},
    }


def test_bad_file_findings_are_warnings_sorted_by_line() -> None:
    findings = check_file(BAD)
    assert [f.level for f in findings] == ["warning"] * 8
    assert [f.line for f in findings] == sorted(f.line for f in findings if f.line)


# --- parsing -------------------------------------------------------------------------------------


def test_keys_are_derived_from_team_and_position_when_absent() -> None:
    okrs = parse(MINIMAL)
    assert [o.key for o in okrs.objectives] == ["PLAT-1", "PLAT-2"]
    assert [kr.key for kr in okrs.objectives[0].key_results] == ["PLAT-1.1", "PLAT-1.2"]
    assert okrs.objectives[1].key_results == ()


def test_objectives_and_key_results_carry_their_source_line() -> None:
    okrs = parse(MINIMAL)
    assert okrs.line == 1
    assert [o.line for o in okrs.objectives] == [4, 12]
    assert [kr.line for kr in okrs.objectives[0].key_results] == [6, 9]


def test_numbers_are_read_as_floats_and_issues_as_a_tuple() -> None:
    kr = parse(MINIMAL).objectives[0].key_results[0]
    assert kr == KeyResultSpec(
        key="PLAT-1.1",
        title="Raise availability from 99.5% to 99.99%",
        baseline=99.5,
        target=99.99,
        line=6,
    )
    assert isinstance(
        parse(MINIMAL.replace("99.99", "100")).objectives[0].key_results[0].target, float
    )


def test_a_cycle_may_be_given_by_dates() -> None:
    text = MINIMAL.replace(
        "cycle: 2026-Q4", "cycle: Autumn push\nstart: 2026-09-15\nend: 2026-11-30"
    )
    assert parse(text).cycle == CycleSpec("Autumn push", date(2026, 9, 15), date(2026, 11, 30))
    unnamed = parse(MINIMAL.replace("cycle: 2026-Q4", "start: 2026-09-15\nend: 2026-11-30"))
    assert (unnamed.cycle.start, unnamed.cycle.end) == (date(2026, 9, 15), date(2026, 11, 30))


def test_malformed_yaml_is_reported_with_its_line() -> None:
    error = _error("team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: [unclosed\n")
    assert error.line is not None and error.line >= 4
    assert "not valid YAML" in error.message
    assert str(error).startswith(f"team.okr.yml:{error.line}: ")


def test_unknown_field_is_named_with_the_allowed_ones() -> None:
    error = _error(
        MINIMAL.replace("        target: 99.99", "        target: 99.99\n        goal: 1")
    )
    assert error.line == 9
    assert "'goal'" in error.message
    assert "baseline, target, current" in error.message


def test_percent_strings_are_refused_with_a_hint() -> None:
    error = _error(MINIMAL.replace("baseline: 99.5", 'baseline: "99.5%"'))
    assert error.line == 7
    assert "must be a number" in error.message
    assert "write 99.5 and put '%' in unit" in error.message


def test_missing_title_is_reported_at_the_key_result() -> None:
    error = _error(
        MINIMAL.replace("      - title: Close the failover epic\n", "      - owner: SRE lead\n")
    )
    assert error.line == 9
    assert "has no title" in error.message


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("cycle: 2026-Q4", "cycle: 2026-Q5", 2, "not a quarter"),
        ("cycle: 2026-Q4", "start: 2026-10-01", 2, "no end date"),
        ("team: PLAT", "team: yes", 1, "must be text"),
        ("issues: [PLAT-12, PLAT-40]", "issues: PLAT-12", 11, "must be a list"),
        ("        baseline: 99.5\n", "        baseline: 99.5\n        baseline: 99\n", 8, "twice"),
        ("  - title: Make builds fast", "  - Make builds fast", 12, "must be a mapping"),
    ],
)
def test_wrong_shapes_are_reported_at_their_line(old: str, new: str, line: int, words: str) -> None:
    error = _error(MINIMAL.replace(old, new))
    assert (error.line, words in error.message) == (line, True), error.message


def test_empty_file_is_an_error() -> None:
    assert "empty" in _error("# nothing yet\n").message


def test_check_file_turns_a_parse_error_into_one_error_finding(tmp_path: Path) -> None:
    path = tmp_path / "team.okr.yml"
    path.write_text(MINIMAL.replace("baseline: 99.5", "baseline: 99.5%"), encoding="utf-8")
    [finding] = check_file(path)
    assert (finding.level, finding.code, finding.line) == ("error", "invalid-file", 7)


def test_check_file_reports_practice_errors_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "team.okr.yml"
    path.write_text(MINIMAL.replace("target: 99.99", "target: 99.5"), encoding="utf-8")
    errors = [f for f in check_file(path) if f.level == "error"]
    assert [(f.code, f.line) for f in errors] == [("target-equals-baseline", 6)]


# --- dumping -------------------------------------------------------------------------------------


def test_dump_writes_keys_leaves_out_defaults_and_lists_issues_inline() -> None:
    text = dump(parse(MINIMAL))
    assert "key: PLAT-1.2" in text
    assert "issues: [PLAT-12, PLAT-40]" in text
    assert "kind: metric" not in text
    assert "weight" not in text
    assert "start:" not in text


def test_example_file_survives_a_round_trip() -> None:
    okrs = load(EXAMPLE)
    assert strip_lines(parse(dump(okrs))) == strip_lines(okrs)


def test_several_teams_round_trip_through_one_file_with_lines_per_document() -> None:
    platform = load(EXAMPLE)
    builds = parse(MINIMAL.replace("team: PLAT", "team: BUILD"))
    text = dump_all([platform, builds])
    teams = parse_all(text)
    assert [strip_lines(t) for t in teams] == [strip_lines(platform), strip_lines(builds)]
    second_doc_line = text.splitlines().index("team: BUILD") + 1
    assert teams[1].line == second_doc_line


def test_a_file_with_several_documents_is_refused_by_parse_with_a_hint() -> None:
    error = _error(dump_all([parse(MINIMAL), parse(MINIMAL)]))
    assert "parse_all" in error.message


words = st.text(
    alphabet=string.ascii_letters + string.digits + " %-:#'\"é→",
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "")
keys = st.from_regex(r"\A[A-Z]{2,5}-[0-9]{1,3}(\.[0-9]{1,2})?\Z")
numbers = st.none() | st.floats(allow_nan=False, allow_infinity=False)
key_results = st.builds(
    KeyResultSpec,
    key=keys,
    title=words,
    kind=st.sampled_from(KR_KINDS),
    baseline=numbers,
    target=numbers,
    current=numbers,
    unit=st.sampled_from(["", "%", "h", "bugs"]),
    owner=st.none() | words,
    weight=st.floats(min_value=0.1, max_value=10),
    issues=st.lists(keys, max_size=3).map(tuple),
    jql=st.none() | words,
    jql_field=st.none() | st.just("customfield_10016"),
    measure=st.none() | st.sampled_from(GITHUB_MEASURES),
    state=st.sampled_from(["active", "abandoned"]),
    abandon_reason=st.none() | words,
)
objectives = st.builds(
    ObjectiveSpec,
    key=keys,
    title=words,
    parent=st.none() | keys,
    key_results=st.lists(key_results, max_size=4).map(tuple),
)
dated_cycles = st.builds(
    CycleSpec,
    name=words,
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    end=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
)
quarters = st.builds(
    lambda year, n: quarter(f"{year}-Q{n}"), st.integers(2000, 2100), st.integers(1, 4)
)
team_okrs = st.builds(
    TeamOkrs,
    team=st.from_regex(r"\A[A-Z]{2,6}\Z"),
    cycle=quarters | dated_cycles,
    objectives=st.lists(objectives, max_size=4).map(tuple),
)


@given(okrs=team_okrs)
def test_parse_of_dump_gives_back_the_same_okrs(okrs: TeamOkrs) -> None:
    assert strip_lines(parse(dump(okrs))) == okrs


def alias_bomb(levels: int = 9) -> str:
    """About a kilobyte of YAML whose aliases expand to 9**levels strings."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    lines.append(f"team: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_its_first_anchor_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(OkrFileError) as caught:
        parse(alias_bomb())
    assert time.perf_counter() - started < 0.1
    assert caught.value.line == 1
    assert "anchors and aliases" in caught.value.message


@pytest.mark.parametrize(
    "text,line",
    [
        (MINIMAL.replace("  - title:", "  - &first\n    title:"), 4),
        (MINIMAL + "kpis: *nowhere\n", MINIMAL.count("\n") + 1),
        ("team: PLAT\ncycle: &q 2026-Q4\nobjectives: []\n", 2),
    ],
)
def test_anchors_and_aliases_are_refused_naming_the_line(text: str, line: int) -> None:
    with pytest.raises(OkrFileError) as caught:
        parse_all(text)
    assert caught.value.line == line
    assert "anchors and aliases" in caught.value.message


@pytest.mark.parametrize(
    "text,quoted",
    [
        ("team: [" + ", ".join(["x"] * 5000) + "]\n", "got a list"),
        ("team: {" + ", ".join(f"k{n}: v" for n in range(5000)) + "}\n", "got a mapping"),
        ("team: PLAT\ncycle: " + "9" * 5000 + "\n", "too large"),
        ("team: PLAT\ncycle: 2026-Q4\nstart: " + "x" * 5000 + "\nend: 2026-12-31\n", "'xxx"),
        ("team: PLAT\n" + "y" * 1000 + ": 1\n", "'yyy"),
    ],
)
def test_a_message_quotes_at_most_a_short_value(text: str, quoted: str) -> None:
    with pytest.raises(OkrFileError) as caught:
        parse(text)
    assert quoted in caught.value.message
    assert len(caught.value.message) < 300


@given(st.text(alphabet=st.sampled_from(list("ab:-&*[]{}!|>'\" \n#%@`,?1.")), max_size=200))
def test_any_text_is_read_or_refused_with_a_short_message_and_nothing_else(text: str) -> None:
    try:
        parse_all(text)
    except OkrFileError as error:
        assert len(error.message) < 300


def test_an_objectives_description_goes_from_the_file_and_back() -> None:
    text = (
        "team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: Make the platform reliable\n"
        "    description: Customers stop losing work to outages\n"
    )
    okrs = parse(text)
    assert okrs.objectives[0].description == "Customers stop losing work to outages"
    assert "description: Customers stop losing work to outages" in dump(okrs)
    assert strip_lines(parse(dump(okrs))) == strip_lines(okrs)
