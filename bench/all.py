"""Every bench with a goal, briefly, in one table (figure, goal, verdict): `python bench/all.py`.

Runs `bench/sync.py` (webhook intake under `okrlink web`, then intake -> KR snapshot at 200
events/s with one `okrlink worker`), `bench/panels.py` (the panel against
atlassian-connect-express in the same run) and `bench/dashboards.py` (one scrape of
`/api/v1/metrics` for 50 teams x 15 KRs, after a change and with nothing changed), each on
SQLite and on PostgreSQL (+ Redis), with short loads; each bench prints its figures beside its
goal (`bench/goals.py`) and "meets" or "misses", and this script gathers those lines into one
table. `--markdown` prints the table as the README's Benchmarks table is written: dated, with
the machine's load average before and after, because on a shared machine a figure means little
without it.

Options: `--seconds N` per measured load (default 5), `--databases sqlite,postgresql`,
`--markdown`, `--readme` (rewrite the table between README.md's Benchmarks markers).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TABLE_START = "<!-- bench: table (python bench/all.py --readme) -->"
TABLE_END = "<!-- bench: end -->"
# Not bench/ itself: its scripts must not shadow packages.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from tests.support.servers import postgres_server  # noqa: E402

VERDICT = re.compile(r"^(?P<figure>.*?)[;,] goal (?P<goal>.*?): (?P<verdict>meets|misses)")
"""A bench's line that states a figure, its goal and the verdict."""


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    goal: str
    verdict: str


def benches(seconds: int, databases: str, postgres_url: str) -> list[tuple[str, list[str]]]:
    """(label, command) of each bench that carries goals, with brief loads; `postgres_url` is
    a server `bench/dashboards.py` makes its throwaway database on (none: SQLite only)."""
    python = sys.executable
    dashboards = [python, str(ROOT / "bench" / "dashboards.py"), "--rounds", "20"]
    if postgres_url:
        dashboards += ["--database-url", postgres_url]
    return [
        (
            "sync.py",
            [
                python,
                str(ROOT / "bench" / "sync.py"),
                "--server",
                "granian",
                "--seconds",
                str(seconds),
                "--backends",
                databases,
            ],
        ),
        (
            "panels.py",
            [
                python,
                str(ROOT / "bench" / "panels.py"),
                "--server",
                "granian",
                "--no-baseline",
                "--seconds",
                str(seconds),
                "--databases",
                databases,
            ],
        ),
        ("dashboards.py", dashboards),
    ]


def rows_of(output: str) -> list[Row]:
    """The goal lines of a bench's output, as table rows."""
    rows = []
    for line in output.splitlines():
        match = VERDICT.match(line.strip())
        if match is not None:
            figure = re.sub(r"\s+", " ", match["figure"]).strip()
            rows.append(Row(figure, match["goal"], match["verdict"]))
    return rows


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def run(label: str, command: list[str], rows: list[Row]) -> None:
    """Run one bench and add its goal lines to `rows` (a row that misses if it failed)."""
    print(f"running {label} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stdout)
    found = rows_of(done.stdout)
    if done.returncode != 0 or not found:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        rows.append(Row(f"{label} did not finish: {tail}", "-", "misses"))
    rows.extend(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--readme", action="store_true", help="write the table into README.md's Benchmarks"
    )
    args = parser.parse_args()
    started = datetime.now(UTC)
    before = load_average()
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        postgres_url = ""
        if "postgresql" in args.databases.split(","):
            postgres_url = stack.enter_context(postgres_server())
        for label, command in benches(args.seconds, args.databases, postgres_url):
            run(label, command, rows)
    after = load_average()
    when = f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs"
    loads = f"load average (1 / 5 / 15 min) {before} before, {after} after"
    table = markdown(rows, when=when, loads=loads, seconds=args.seconds)
    if args.readme:
        README.write_text(with_table(README.read_text(), table))
        print(f"README.md's Benchmarks table rewritten ({len(rows)} rows)", file=sys.stderr)
    if args.markdown:
        print(table, end="")
        return
    width = max((len(row.figure) for row in rows), default=10)
    goal_width = max((len(row.goal) for row in rows), default=4)
    print(f"{when}; {loads}")
    print(f"{'figure':<{width}}  {'goal':<{goal_width}}  verdict")
    for row in rows:
        print(f"{row.figure:<{width}}  {row.goal:<{goal_width}}  {row.verdict}")


def markdown(rows: list[Row], *, when: str, loads: str, seconds: int) -> str:
    """The table as the README shows it: dated, with the load average around the run."""
    lines = [
        f"Measured {when} by `python bench/all.py --seconds {seconds}`; {loads}.",
        "",
        "| figure | goal | verdict |",
        "|---|---|---|",
    ]
    lines += [f"| {row.figure.replace('|', '/')} | {row.goal} | {row.verdict} |" for row in rows]
    return "\n".join(lines) + "\n"


def with_table(readme: str, table: str) -> str:
    """`readme` with the text between the Benchmarks markers replaced by `table`."""
    start = readme.index(TABLE_START) + len(TABLE_START)
    end = readme.index(TABLE_END, start)
    return readme[:start] + "\n" + table + readme[end:]


if __name__ == "__main__":
    main()
