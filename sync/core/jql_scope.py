"""Which Jira projects a JQL query is confined to, so a JQL key result counts only issues its
author may browse.

    project = PLAT AND statusCategory = Done                 -> {PLAT}
    project in (PLAT, OPS) AND labels = slo                  -> {PLAT, OPS}
    (project = PLAT AND type = Bug) OR project = OPS         -> {PLAT, OPS}
    key = HR-12                                              -> None (any project)
    project = PLAT OR labels = secret                        -> None (the OR branch reaches out)

A query is confined when every OR branch holds a `project = X` or `project in (...)` clause
(joined by AND); NOT never confines (`NOT project = PLAT` is every other project). Other
clauses are skipped whole, whatever their operator or function, so the rule needs no full JQL
grammar: only the AND / OR / NOT / parentheses structure and the `project` clauses. Keys are
upper-cased (Jira's keys are); a project named by id, name or function does not confine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_TOKEN: Final = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<op>!=|!~|>=|<=|=|~|<|>|\(|\)|,)|(?P<word>[^\s()=!~<>,"']+))"""
)
PROJECT_KEY: Final = re.compile(r"[A-Z][A-Z0-9_]{0,254}")


class JqlError(ValueError):
    """The query cannot be read (an unclosed quote or parenthesis)."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "op", "word"
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text


def _tokens(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    text = jql.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise JqlError(f"cannot read the query from {text[at : at + 20]!r}")
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(_Token(kind, value))
        at = match.end()
    return tokens


Projects = frozenset[str] | None
"""The projects an expression is confined to; None: it may match issues of any project."""


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise JqlError("the query ends early")
        self.at += 1
        return token

    def query(self) -> Projects:
        found = self.any()
        token = self.peek()
        if token is not None and token.is_word("order"):
            self.at = len(self.tokens)  # ORDER BY sorts; it never filters
        if self.peek() is not None:
            raise JqlError(f"unexpected {self.take().text!r}")
        return found

    def _ends(self, token: _Token | None) -> bool:
        return token is None or token.is_op(")") or token.is_word("and", "or", "order")

    def any(self) -> Projects:
        parts = [self.all()]
        while (token := self.peek()) is not None and token.is_word("or"):
            self.at += 1
            parts.append(self.all())
        if any(part is None for part in parts):
            return None
        return frozenset().union(*(part for part in parts if part is not None))

    def all(self) -> Projects:
        parts = [self.one()]
        while (token := self.peek()) is not None and token.is_word("and"):
            self.at += 1
            parts.append(self.one())
        confined = [part for part in parts if part is not None]
        if not confined:
            return None
        return frozenset.intersection(*confined)

    def one(self) -> Projects:
        token = self.peek()
        if token is not None and token.is_word("not"):
            self.at += 1
            self.one()
            return None
        if token is not None and token.is_op("("):
            self.at += 1
            inner = self.any()
            if not self.take().is_op(")"):
                raise JqlError("unbalanced parentheses")
            return inner
        return self.clause()

    def clause(self) -> Projects:
        """One clause, read to its end; its projects when it is `project = X` or `in (...)`."""
        start = self.at
        depth = 0
        while True:
            token = self.peek()
            if depth == 0 and self._ends(token):
                break
            token = self.take()
            if token.is_op("("):
                depth += 1
            elif token.is_op(")"):
                depth -= 1
        words = self.tokens[start : self.at]
        if not words:
            raise JqlError("a condition is missing")
        return _project_clause(words)


def _key(token: _Token) -> str | None:
    if token.kind not in ("word", "string"):
        return None
    key = token.text.strip().upper()
    return key if PROJECT_KEY.fullmatch(key) else None


def _project_clause(tokens: list[_Token]) -> Projects:
    if not (tokens[0].kind in ("word", "string") and tokens[0].text.lower() == "project"):
        return None
    if len(tokens) == 3 and tokens[1].is_op("="):
        key = _key(tokens[2])
        return frozenset({key}) if key else None
    if len(tokens) >= 5 and tokens[1].is_word("in") and tokens[2].is_op("("):
        inner = tokens[3:-1]
        if not tokens[-1].is_op(")") or len(inner) % 2 != 1:
            return None
        keys = [_key(t) for t in inner[::2]]
        if not all(t.is_op(",") for t in inner[1::2]) or None in keys:
            return None
        return frozenset(k for k in keys if k)
    return None


def confined_projects(jql: str) -> Projects:
    """The projects every issue the query matches belongs to, or None when it may reach any
    project; raises `JqlError` for a query that cannot be read."""
    tokens = _tokens(jql)
    if not tokens:
        return None
    return _Parser(tokens).query()
