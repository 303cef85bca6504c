"""`without_token`: the query a page's loads share, the token cut out however it is placed; and
what any cache of the canonical request keeps."""

from __future__ import annotations

import itertools

import pytest

from integrations.atlassian import qsh
from integrations.atlassian.qsh import without_token


def _every_jwt_part_dropped(query: str) -> str:
    """The definition: split on '&', drop each part that starts with 'jwt='."""
    return "&".join(
        part for part in query.removeprefix("?").split("&") if not part.startswith("jwt=")
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("xdm_e=x&jwt=T&cp=%2Fwiki", "xdm_e=x&cp=%2Fwiki"),
        ("jwt=T&a=1", "a=1"),
        ("a=1&jwt=T", "a=1"),
        ("?jwt=T", ""),
        ("a=1&xjwt=2", "a=1&xjwt=2"),
        ("jwt=T&jwt=U&a=1", "a=1"),
        ("a=1", "a=1"),
    ],
)
def test_the_token_is_cut_out(query: str, expected: str) -> None:
    assert without_token(query) == expected


def test_every_placement_agrees_with_the_definition() -> None:
    parts = ["a=1", "jwt=T", "", "xjwt=2", "b=jwt=3", "jwt=", "c"]
    for size in range(5):
        for combo in itertools.product(parts, repeat=size):
            query = "&".join(combo)
            for form in (query, f"?{query}"):
                assert without_token(form) == _every_jwt_part_dropped(form), form


def test_a_query_too_long_for_any_page_is_answered_and_nothing_is_kept() -> None:
    """Every query is new (its token is): the cut is computed, never cached."""
    long = "a=" + "x" * qsh.MAX_CACHED_QUERY + "&jwt=T"
    assert without_token(long) == long.removesuffix("&jwt=T")
    assert not hasattr(without_token, "cache_info")
    assert not hasattr(without_token, "cached")


def test_the_canonical_request_of_a_long_path_and_long_values_is_not_kept() -> None:
    """Anyone who installs the app can sign requests as long as the server reads: the caches
    of the canonical request keep only what a page sends, and answer the rest the same way."""
    caches = (
        qsh._canonical_uri.cached,
        qsh._quote.cached,
        qsh._recode.cached,
        qsh._canonical_query_string,
    )
    kept = [cache.cache_info().currsize for cache in caches]
    path = "/p/" + "a" * qsh.MAX_CACHED_QUERY
    value = "%C3%A9" * (qsh.MAX_CACHED_COMPONENT + 1)
    query = f"b={value}&a=" + "x" * qsh.MAX_CACHED_QUERY
    canonical = qsh.canonical_request("GET", path, query)
    assert canonical == f"GET&{path}&a={'x' * qsh.MAX_CACHED_QUERY}&b={value}"
    assert [cache.cache_info().currsize for cache in caches] == kept
