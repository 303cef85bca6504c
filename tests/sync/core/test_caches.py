"""`short_cache`: short texts are answered from the cache, long ones computed every time."""

from __future__ import annotations

from sync.core.caches import short_cache


def test_short_texts_are_kept_and_long_ones_answered_the_same_without_being_kept() -> None:
    calls: list[str] = []

    @short_cache(maxsize=8, longest=5)
    def shout(text: str, mark: str = "!") -> str:
        calls.append(text)
        return text.upper() + mark

    assert shout("hello") == shout("hello") == "HELLO!"
    assert shout("hello, world", "?") == shout("hello, world", "?") == "HELLO, WORLD?"
    assert calls == ["hello", "hello, world", "hello, world"]
    assert shout.cached.cache_info().currsize == 1
    assert shout.__name__ == "shout"
