"""The digest's and reminder's sentences, with the panels' formatters.

The sentences are the `digest.*` messages of the one catalogue (`connect/locale/`); numbers,
percentages, scores and status words come from the pages' `Translator`, so the digest rounds
and words things exactly as the panels do.
"""

from __future__ import annotations

from dataclasses import dataclass

from connect.ui.i18n import Translator, translate, translator


@dataclass(frozen=True, slots=True)
class DigestText:
    """The digest's sentences in one language, and the panels' number formatters."""

    t: Translator

    def __call__(self, key: str, /, **params: object) -> str:
        return translate(f"digest.{key}", self.t.locale, **params)


def digest_text(lang: str) -> DigestText:
    """The digest's text in `lang` (English when unsupported)."""
    return DigestText(translator(lang))
