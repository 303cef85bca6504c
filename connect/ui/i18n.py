"""The one server-side message catalogue, locale choice and formatting.

Messages live in gettext catalogues, one `.po` file per locale under `connect/locale/` (pages,
panels and the digest share them; translators' tools read and write them; `pybabel` extracts
and updates them: docs/development/translations.md). Message ids are keys (`panel.heading`) so
a rewording in English does not orphan every translation. Numbers, percentages, dates and plural
rules come from CLDR through Babel, never from the system locale, so a page looks the same on
every host and any locale formats correctly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from sync.core.progress import clamp01

DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def _load(directory: Path) -> dict[str, dict[str, str]]:
    """Every locale's catalogue, `{locale: {message id: text}}`, read once at import (about 10 ms
    for four locales); untranslated entries are left out so a gap shows up in the tests."""
    catalogues: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        catalogues[path.parent.parent.name] = {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and message.string
        }
    # English first: it is the fallback and the reference every other catalogue is held to.
    return {DEFAULT_LOCALE: catalogues.pop(DEFAULT_LOCALE), **catalogues}


MESSAGES: dict[str, dict[str, str]] = _load(LOCALE_DIR)
LOCALES: tuple[str, ...] = tuple(MESSAGES)

_TAG = re.compile(r"^[A-Za-z]{2,3}")


def normalize_locale(tag: str | None) -> str | None:
    """The supported locale for a language tag (`fr-FR`, `fr_CA`, `FR`), or None."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    lang = match.group(0).lower()
    return lang if lang in MESSAGES else None


def translate(key: str, locale: str, /, **params: object) -> str:
    """The message `key` in `locale` (English when unsupported), with `{name}` params filled."""
    catalogue = MESSAGES.get(normalize_locale(locale) or DEFAULT_LOCALE, MESSAGES[DEFAULT_LOCALE])
    text = catalogue.get(key) or MESSAGES[DEFAULT_LOCALE][key]
    return text.format(**params) if params else text


def pick_locale(*, query: Mapping[str, str], accept_language: str | None) -> str:
    """The page locale from Atlassian's query parameters, then Accept-Language; English otherwise.

    Atlassian adds `lic`, `loc` and sometimes `lang` to iframe URLs: `loc` (`fr-FR`) and `lang`
    (`fr`) carry the user's locale; `lic` is the licence status (`active`, `none`) and is ignored.
    """
    for name in ("loc", "lang"):
        found = normalize_locale(query.get(name))
        if found:
            return found
    for tag in _accept_language_tags(accept_language or ""):
        found = normalize_locale(tag)
        if found:
            return found
    return DEFAULT_LOCALE


def _accept_language_tags(header: str) -> list[str]:
    """Accept-Language tags, highest quality first (stable for equal weights), q=0 dropped."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


@dataclass(frozen=True, slots=True)
class PracticeNote:
    """A practice warning as pages show it: its catalogue key and the message's parameters."""

    message_key: str
    params: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Translator:
    """A gettext-like callable bound to one locale, with the formatters templates need."""

    locale: str

    def __call__(self, key: str, /, **params: object) -> str:
        """The message `key`, params filled."""
        return translate(key, self.locale, **params)

    def maybe(self, text: str) -> str:
        """The message for `text` when it is a catalogue key, else `text` itself."""
        catalogue = MESSAGES[self.locale]
        return catalogue[text] if text in catalogue else text

    def plural(self, key: str, n: int, /, **params: object) -> str:
        """`key.one` or `key.other` for the count `n`, by the locale's plural rule."""
        return self(f"{key}.{'one' if self._is_one(n) else 'other'}", n=n, **params)

    def _is_one(self, n: int) -> bool:
        """Whether `n` takes the singular, by CLDR's plural rules (French counts 0 and 1)."""
        return _plural_category(self.locale, n) == "one"

    def date(self, value: date | datetime) -> str:
        """`25 Nov 2026` / `25 nov. 2026` / `25. Nov. 2026`: the CLDR pattern in `date.format`."""
        day = value.date() if isinstance(value, datetime) else value
        return format_date(day, self("date.format"), locale=self.locale)

    def number(self, value: float | None, *, decimals: int = 2) -> str:
        """A number with at most `decimals` decimals, trailing zeros dropped; `—` for None.

        The minus is the typographic `−` in every locale, as the panels have always shown it."""
        if value is None or math.isnan(value):
            return "—"
        text = format_decimal(abs(value), _pattern(decimals), locale=self.locale)
        sign = "−" if value < 0 and round(abs(value), decimals) != 0 else ""
        return sign + text

    def signed(self, value: float) -> str:
        """A number with an explicit sign: `+4`, `−2`."""
        return ("+" if value > 0 else "") + self.number(value)

    def score(self, value: float) -> str:
        """A 0–1 score with one decimal: `0.7` / `0,7`."""
        return format_decimal(value, "0.0", locale=self.locale)

    def percent(self, fraction: float) -> str:
        """A 0..1 fraction as a whole percentage: `43%` / `43 %`.

        The sign's placement is the catalogue's `number.percent` (French typesets a narrow
        no-break space where CLDR has a plain one), the number Babel's."""
        return self("number.percent", n=self.number(round(clamp01(fraction) * 100)))

    def quantity(self, value: float | None, unit: str) -> str:
        """A value with its unit: `15%`, `12 PRs`, `—` when unknown."""
        if value is None:
            return "—"
        number = self.number(value)
        if not unit:
            return number
        if unit == "%":
            return self("number.percent", n=number)
        return f"{number}\u00a0{unit}"

    def status(self, status: str) -> str:
        """The status word: `on track`, `à risque`."""
        return self(f"status.{status}")

    def note(
        self, note: PracticeNote, person: Callable[[str | None], str | None] | None = None
    ) -> str:
        """A practice note in this language, from its catalogue key and parameters; with
        `person` (the page's names), an `owner` it names reads as the person's name."""
        params = dict(note.params)
        owner = params.get("owner")
        if person is not None and isinstance(owner, str):
            params["owner"] = person(owner) or owner
        count = params.get("count")
        if isinstance(count, int) and self._is_one(count):
            singular = f"{note.message_key}.one"
            if singular in MESSAGES[self.locale]:
                return self(singular, **params)
        return self(note.message_key, **params)


def translator(locale: str) -> Translator:
    """The translator for a locale (unsupported locales get English)."""
    return Translator(normalize_locale(locale) or DEFAULT_LOCALE)


@lru_cache(maxsize=8)
def _pattern(decimals: int) -> str:
    """The CLDR number pattern with grouping and at most `decimals` decimals: `#,##0.##`."""
    return "#,##0" + ("." + "#" * decimals if decimals else "")


@lru_cache(maxsize=64)
def _plural_category(locale: str, n: int) -> str:
    return str(Locale.parse(locale).plural_form(n))
