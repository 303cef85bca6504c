"""An LRU cache for functions of a text that keeps only short texts.

Why not plain `functools.lru_cache`: the texts these caches are keyed by come from callers
(a query, a path, a header, a saved JQL), and the server reads some of them up to hundreds of
kilobytes. An LRU cache bounds its entries, not their size, so 1,024 such entries would hold
hundreds of megabytes. What a page or a person sends is short: those are kept, and a longer
text gets the same answer, computed each time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, cast

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


def short_cache(
    *, maxsize: int, longest: int
) -> Callable[[Callable[[str, *Ts], R]], Callable[[str, *Ts], R]]:
    """Decorate a function of a text (and other positional arguments): answered from an LRU
    cache of `maxsize` entries when the text has at most `longest` characters, computed
    otherwise. The cache is the wrapper's `cached` attribute (`cached.cache_info()`).

    A closure rather than a class with `__call__`: it adds 80 ns a call to the cache's own 70,
    where the class added 155 (a verified panel load makes four such calls).
    """

    def decorate(function: Callable[[str, *Ts], R]) -> Callable[[str, *Ts], R]:
        cached = cast("Callable[[str, *Ts], R]", functools.lru_cache(maxsize=maxsize)(function))

        @functools.wraps(function)
        def call(text: str, *args: *Ts) -> R:
            if len(text) > longest:
                return function(text, *args)
            return cached(text, *args)

        vars(call)["cached"] = cached
        return call

    return decorate
