"""Atlassian Connect canonical requests and the `qsh` claim: signing and verifying share it.

Pure functions over strings: callers pass the method, path and query of the request. The
Connect door verifies incoming tokens with it (`connect/doors/atlassian_connect/connect_jwt.py`) and
the Jira and Confluence clients sign outgoing calls with it (`integrations/atlassian/client.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TypeAlias
from urllib.parse import quote, unquote, urlsplit

from sync.core.caches import short_cache

Query: TypeAlias = Mapping[str, Sequence[str]] | str

MAX_CACHED_QUERY = 4096
"""The longest query or path a cache keeps (characters). A Connect iframe's query is under
2 KB, while `okrlink web` reads request targets of up to 64 KB (longer ones get 414): anyone
can install the app on a site of their own and sign such requests, and a cache keeping them
would be a memory sink (1,024 entries of 64 KB). Longer ones are answered without a cache."""
MAX_CACHED_COMPONENT = 256
"""The longest parameter name or value the component caches keep (8,192 entries each)."""

# --- canonical request --------------------------------------------------------------------
#
# Written here rather than taken from the `atlassian-jwt` package: that package cannot strip an
# app or product context path (/wiki, /jira: 3 of the unit vectors fail), strips every
# leading/trailing slash instead of one, sorts by Python code point rather than Java's UTF-16
# order, only takes a whole URL string (a parsed query must be re-serialised first), and is
# slower than this path can afford (see bench/auth.py).


@lru_cache(maxsize=256)
def _base_path(base_url: str) -> str:
    """The path part of a base URL (or a bare path), without its trailing slash."""
    path = urlsplit(base_url).path if "://" in base_url else base_url
    return path.rstrip("/")


@short_cache(maxsize=1024, longest=MAX_CACHED_QUERY)
def _canonical_uri(path: str, base_url: str) -> str:
    """Path relative to the base URL, one trailing slash removed, '&' encoded."""
    prefix = _base_path(base_url) if base_url else ""
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    if path.endswith("/"):
        path = path[:-1]
    if not path.startswith("/"):
        path = "/" + path
    # An unencoded '&' would let "/p&a=b?x=y" and "/p?a=b&x=y" share one qsh.
    return path.replace("&", "%26")


# RFC 3986 encoding: only ALPHA / DIGIT / "-" / "." / "_" / "~" stay as they are ("*" becomes
# %2A, " " becomes %20). Text made of those characters only is its own encoding and its own
# decoding, which is the common case for keys and values; the rest goes through bounded caches
# (parameter names and many values repeat from one request to the next).
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")


@short_cache(maxsize=8192, longest=MAX_CACHED_COMPONENT)
def _quote(text: str) -> str:
    return quote(text, safe="")


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding of decoded text (UTF-8)."""
    return text if _UNRESERVED.fullmatch(text) else _quote(text)


@short_cache(maxsize=8192, longest=MAX_CACHED_COMPONENT)
def _recode(raw: str) -> tuple[str, str]:
    decoded = unquote(raw.replace("+", " "))
    return decoded, _encode(decoded)


def decode_component(raw: str) -> tuple[str, str]:
    """(decoded, canonical) forms of one raw query-string component; '+' means space."""
    return (raw, raw) if _UNRESERVED.fullmatch(raw) else _recode(raw)


Component: TypeAlias = tuple[str, str]


def query_components(query: Query) -> Iterator[tuple[Component, Component]]:
    """((key, encoded key), (value, encoded value)) for every parameter of a query.

    A string is a raw query string (as ``parse_qsl(..., keep_blank_values=True)`` reads it);
    a mapping holds decoded values, and a MultiDict's ``getlist`` is honoured.
    """
    if isinstance(query, str):
        for part in query.removeprefix("?").split("&"):
            if part:
                key, _, value = part.partition("=")
                yield decode_component(key), decode_component(value)
        return
    getlist = getattr(query, "getlist", None)
    for key in query:
        values = getlist(key) if getlist is not None else query[key]
        if isinstance(values, str):
            values = (values,)
        encoded_key = (key, _encode(key))
        for value in values:
            yield encoded_key, (value, _encode(value))


def _java_order(value: Component) -> bytes:
    """Sort key matching Java's String.compareTo (UTF-16 code units) on the decoded value."""
    return value[0].encode("utf-16-be", "surrogatepass")


def _canonical_query_uncached(query: Query) -> str:
    # Keys are sorted by their encoded form; repeated values are sorted by their *decoded* form
    # and then encoded. That is what Atlassian's reference canonicaliser does (it sorts the
    # decoded values in place before encoding) and what the interop vectors require:
    # ids=.1&ids=.2&ids=%3A1 canonicalises as "ids=.1,.2,%3A1", not "%3A1,.1,.2".
    grouped: dict[str, list[Component]] = {}
    for (key, encoded_key), value in query_components(query):
        if key != "jwt":
            grouped.setdefault(encoded_key, []).append(value)
    parts = []
    for encoded_key in sorted(grouped):  # "a1" before "a10"; keys are unique
        values = grouped[encoded_key]
        if len(values) > 1:
            values.sort(key=_java_order)
        parts.append(f"{encoded_key}={','.join(encoded for _, encoded in values)}")
    return "&".join(parts)


_canonical_query_string = lru_cache(maxsize=512)(_canonical_query_uncached)


def without_token(query: str) -> str:
    """A raw query string without its ``jwt=`` parameters: what repeats between a page's loads.

    The token differs on every request while the rest of the query repeats (an iframe's
    parameters), so caches keyed by a query drop it first. A key that only decodes to "jwt"
    stays here; the canonicaliser drops it itself.

    Not cached: each query is new (its token is), and a verified load computes it once and
    passes it on (`verify_connect_call`'s ``params``).
    """
    query = query.removeprefix("?")
    start = query.find("jwt=")
    if start < 0:
        return query
    if (start == 0 or query[start - 1] == "&") and query.find("jwt=", start + 4) < 0:
        # The usual case, one token: cut it out rather than split and join the whole query
        # (cProfile put the split and join at a tenth of a cached panel load's Python time;
        # it runs twice per load).
        end = query.find("&", start)
        if end < 0:
            return query[: max(start - 1, 0)]
        return query[:start] + query[end + 1 :]
    return "&".join(part for part in query.split("&") if not part.startswith("jwt="))


def canonical_query(query: Query) -> str:
    """Canonical query string: no ``jwt``, sorted, repeated values joined by ','."""
    if isinstance(query, str):
        query = without_token(query)
        if len(query) <= MAX_CACHED_QUERY:
            return _canonical_query_string(query)
    return _canonical_query_uncached(query)


def canonical_request(method: str, path: str, query: Query, *, base_url: str = "") -> str:
    """Atlassian canonical request ``METHOD&/relative/path&canonical-query``.

    ``path`` is the request path as sent; ``base_url`` (app or product base URL, or just its
    path) has its path stripped from the front, so ``/wiki/rest/api/space`` with base
    ``https://x.atlassian.net/wiki`` canonicalises as ``/rest/api/space``. ``query`` is the
    raw query string (``+`` means space) or a mapping of decoded values.
    """
    return f"{method.upper()}&{_canonical_uri(path, base_url)}&{canonical_query(query)}"


def query_string_hash(method: str, path: str, query: Query, *, base_url: str = "") -> str:
    """The ``qsh`` claim: lowercase hex SHA-256 of the canonical request."""
    canonical = canonical_request(method, path, query, base_url=base_url)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
