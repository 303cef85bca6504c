"""Whether one issue matches a JQL query, for the few clauses incident queries are made of.

    project = OPS AND issuetype = Incident
    labels = incident AND priority in (Highest, High)
    type = Bug AND statusCategory != Done ORDER BY created DESC

Clauses on `project`, `issuetype` (`type`), `labels`, `priority`, `status` and
`statusCategory` with `=`, `!=`, `in`, `not in`, `is [not] empty`, joined by AND, OR, NOT
and parentheses. Values compare as Jira compares these names: case-insensitively, against
any name the issue's field answers to (a project's key, name or id). Like Jira, `!=` and
`not in` never match an issue whose field is empty.

Written here, small on purpose: no maintained Python library parses JQL, and Jira's own parser
(`POST /rest/api/3/jql/parse`) gives a syntax tree, not a verdict, for a call per query. The
subset is what incident queries use; a query outside it costs one search, never a wrong answer.

`compile_jql` answers None for anything else (another field, `~`, a function, a date): the
caller then asks Jira. A matcher answers None when the issue does not say what a clause needs
(an event without its labels).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sync.core.caches import short_cache
from sync.errors import OkrlinkError

# What an issue says about a field: the lower-cased names its value answers to (empty when
# the field is empty), or None when the issue does not say.
IssueFacts = Mapping[str, frozenset[str] | None]
Matcher = Callable[[IssueFacts], bool | None]

FIELDS = {
    "project": "project",
    "issuetype": "issuetype",
    "type": "issuetype",
    "labels": "labels",
    "label": "labels",
    "priority": "priority",
    "status": "status",
    "statuscategory": "statuscategory",
}
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|=|\(|\)|,)"""
    r"""|(?P<word>[A-Za-z0-9_.\-]+)|(?P<other>\S))"""
)


class _Unsupported(OkrlinkError):
    """A query outside the subset: Jira must answer it."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "op", "word"
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def _tokens(jql: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(jql):
        kind = match.lastgroup or "other"
        if kind == "other":
            raise _Unsupported(match.group(kind))
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(_Token(kind, text))
    return tokens


def _all(*parts: Matcher) -> Matcher:
    def matcher(issue: IssueFacts) -> bool | None:
        answers = [part(issue) for part in parts]
        if False in answers:
            return False
        return None if None in answers else True

    return matcher


def _any(*parts: Matcher) -> Matcher:
    def matcher(issue: IssueFacts) -> bool | None:
        answers = [part(issue) for part in parts]
        if True in answers:
            return True
        return None if None in answers else False

    return matcher


def _not(part: Matcher) -> Matcher:
    def matcher(issue: IssueFacts) -> bool | None:
        answer = part(issue)
        return None if answer is None else not answer

    return matcher


def _clause(field: str, operator: str, values: frozenset[str]) -> Matcher:
    def matcher(issue: IssueFacts) -> bool | None:
        have = issue.get(field)
        if have is None:
            return None
        if operator == "empty":
            return not have
        if operator == "not empty":
            return bool(have)
        hit = bool(have & values)
        if operator == "in":
            return hit
        return bool(have) and not hit  # "not in": an empty field matches neither way

    return matcher


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _Unsupported("the query ends early")
        self.at += 1
        return token

    def query(self) -> Matcher:
        matcher = self.any()
        token = self.peek()
        if token is not None and token.is_word("order"):
            self.at = len(self.tokens)  # ORDER BY sorts; it never filters
        if self.peek() is not None:
            raise _Unsupported(self.take().text)
        return matcher

    def any(self) -> Matcher:
        parts = [self.all()]
        while (token := self.peek()) is not None and token.is_word("or"):
            self.at += 1
            parts.append(self.all())
        return parts[0] if len(parts) == 1 else _any(*parts)

    def all(self) -> Matcher:
        parts = [self.one()]
        while (token := self.peek()) is not None and token.is_word("and"):
            self.at += 1
            parts.append(self.one())
        return parts[0] if len(parts) == 1 else _all(*parts)

    def one(self) -> Matcher:
        token = self.take()
        if token.is_word("not"):
            return _not(self.one())
        if token.kind == "op" and token.text == "(":
            inner = self.any()
            if self.take().text != ")":
                raise _Unsupported("unbalanced parentheses")
            return inner
        field = FIELDS.get(token.text.lower()) if token.kind in ("word", "string") else None
        if field is None:
            raise _Unsupported(token.text)
        operator = self.take()
        if operator.kind == "op" and operator.text in ("=", "!="):
            value = self.value()
            return _clause(field, "in" if operator.text == "=" else "not in", frozenset({value}))
        if operator.is_word("in"):
            return _clause(field, "in", self.values())
        if operator.is_word("not"):
            if not self.take().is_word("in"):
                raise _Unsupported("not")
            return _clause(field, "not in", self.values())
        if operator.is_word("is"):
            negated = (token := self.take()).is_word("not")
            if negated:
                token = self.take()
            if not token.is_word("empty", "null"):
                raise _Unsupported(token.text)
            return _clause(field, "not empty" if negated else "empty", frozenset())
        raise _Unsupported(operator.text)

    def value(self) -> str:
        token = self.take()
        if token.kind not in ("word", "string") or (
            token.kind == "word" and token.is_word("empty", "null", "and", "or", "not")
        ):
            raise _Unsupported(token.text)
        return token.text.strip().lower()

    def values(self) -> frozenset[str]:
        if self.take().text != "(":
            raise _Unsupported("a list")
        found = {self.value()}
        while (token := self.take()).text == ",":
            found.add(self.value())
        if token.text != ")":
            raise _Unsupported(token.text)
        return frozenset(found)


MAX_CACHED_JQL = 4096
"""The longest query the matcher cache keeps (characters): JQL comes from what a site's
editors save, and 256 entries of a 2 MB body each would be a memory sink."""


@short_cache(maxsize=256, longest=MAX_CACHED_JQL)
def compile_jql(jql: str) -> Matcher | None:
    """A matcher for the query, or None when it reaches outside the subset above."""
    try:
        tokens = _tokens(jql)
        return _Parser(tokens).query() if tokens else None
    except _Unsupported:
        return None
