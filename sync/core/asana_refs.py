"""Asana references as people write them: a gid, or a task or project URL, to its gid.

Pure: the OKR file, the API and the task descriptions all name Asana work this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

PREFIX: Final = "asana:"
_GID: Final = re.compile(r"[0-9]{1,30}")
# https://app.asana.com/0/<project>/<task>[/f] : the task, or the project when the last part is
# 0, "list", "board", ...; https://app.asana.com/1/<workspace>/project/<p>[/task/<t>] likewise.
_OLD_URL: Final = re.compile(r"https?://app\.asana\.com/0/([0-9]+)(?:/([0-9]+|[a-z]+))?")
_NEW_URL: Final = re.compile(r"https?://app\.asana\.com/1/[0-9]+/")
_NEW_TASK: Final = re.compile(r"/task/([0-9]+)")
_NEW_PROJECT: Final = re.compile(r"/project/([0-9]+)")
MAX_NOTES: Final = 20_000
"""Characters of a task's description read for KR lines: a description is text people write,
and its KR lines come first; what lies beyond is never matched."""
# A line "KR: PLAT-1.2" (several keys may follow, separated by commas or spaces). Matched one
# line at a time: under MULTILINE, a leading `\s*` crossed line breaks, so every line start
# rescanned the newlines after it (quadratic: 64 KB of notes took about 40 s).
KR_LINE: Final = re.compile(r"\s*KRs?\s*:", re.IGNORECASE)
# A key is a run of word characters, "-", then dotted numbers, read from its first letter. It
# is looked for where the last one ended, else from the start of a run only (the lookbehind):
# tried from every position inside a long run, the pattern rescanned the run each time.
_KR_RUN_AT: Final = re.compile(r"[A-Za-z0-9_]+-[0-9]+(?:\.[0-9]+)+")
_KR_RUN: Final = re.compile(r"(?<![A-Za-z0-9_])" + _KR_RUN_AT.pattern)


def gid_of(reference: str) -> str | None:
    """The gid a reference names (`asana:<gid>`, a bare gid, or an Asana URL); None if none."""
    text = reference.strip().removeprefix(PREFIX)
    if _GID.fullmatch(text):
        return text
    old = _OLD_URL.match(text)
    if old is not None:
        project, task = old.group(1), old.group(2)
        if task is not None and task.isdigit() and task != "0":
            return task
        return project if project != "0" else None
    if _NEW_URL.match(text):
        found = _NEW_TASK.search(text) or _NEW_PROJECT.search(text)
        return found.group(1) if found is not None else None
    return None


def key_of(gid: str) -> str:
    """The key an Asana task or project has among work items and links."""
    return PREFIX + gid


def kr_keys_in(notes: str) -> list[str]:
    """KR keys named on `KR: PLAT-1.2` lines of a task's description, in order, once each.

    Linear in the description, which is read up to `MAX_NOTES` characters."""
    found: dict[str, None] = {}
    for line in (notes or "")[:MAX_NOTES].split("\n"):
        head = KR_LINE.match(line)
        if head is not None:
            for key in _keys_in(line, head.end()):
                found[key.upper()] = None
    return list(found)


def _keys_in(text: str, pos: int) -> Iterator[str]:
    while (run := _KR_RUN_AT.match(text, pos) or _KR_RUN.search(text, pos)) is not None:
        key = run.group().lstrip("0123456789_")  # from the run's first letter
        if key[:1].isascii() and key[:1].isalpha():
            yield key
        pos = run.end()
