"""Asana references as people write them: a gid, or a task or project URL, to its gid.

Pure: the OKR file, the API and the task descriptions all name Asana work this way.
"""

from __future__ import annotations

import re
from typing import Final

PREFIX: Final = "asana:"
_GID: Final = re.compile(r"[0-9]{1,30}")
# https://app.asana.com/0/<project>/<task>[/f] : the task, or the project when the last part is
# 0, "list", "board", ...; https://app.asana.com/1/<workspace>/project/<p>[/task/<t>] likewise.
_OLD_URL: Final = re.compile(r"https?://app\.asana\.com/0/([0-9]+)(?:/([0-9]+|[a-z]+))?")
_NEW_URL: Final = re.compile(r"https?://app\.asana\.com/1/[0-9]+/")
_NEW_TASK: Final = re.compile(r"/task/([0-9]+)")
_NEW_PROJECT: Final = re.compile(r"/project/([0-9]+)")
# A line "KR: PLAT-1.2" (several keys may follow, separated by commas or spaces).
KR_LINE: Final = re.compile(r"^\s*KRs?\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_KR_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+(?:\.[0-9]+)+")


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
    """KR keys named on `KR: PLAT-1.2` lines of a task's description, in order, once each."""
    found: dict[str, None] = {}
    for line in KR_LINE.finditer(notes or ""):
        for key in _KR_KEY.findall(line.group(1)):
            found[key.upper()] = None
    return list(found)
