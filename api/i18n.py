"""Chinese or English, by Babel message catalogues (issue 13).

The catalogue `api/translations/zh/LC_MESSAGES/messages.po` holds, for each English text the
registry says (problem titles and details, field messages, command-line messages), its
Chinese. It is read with Babel and compiled in memory when first needed, so the `.po` file is
the one source. Messages built with values (`Tenant 330522 is outside your subtree.`) are
matched against the catalogue's `%(name)s` templates and said again with the same values;
a text the catalogue does not hold is kept in English.

Requests choose with `Accept-Language` (zh, zh-CN, zh-Hans ... give Chinese); commands with
`--lang` or `LANG`.
"""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

CATALOGUES = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("en", "zh")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> "Catalogue":
    return Catalogue(lang)


class Catalogue:
    """One language's messages: exact texts and templates with placeholders."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.translations: Translations | None = None
        self.templates: list[tuple[re.Pattern, str]] = []
        path = CATALOGUES / lang / "LC_MESSAGES" / "messages.po"
        if lang == "en" or not path.exists():
            return
        with path.open("rb") as handle:
            messages = read_po(handle, locale=lang)
        compiled = io.BytesIO()
        write_mo(compiled, messages)
        compiled.seek(0)
        self.translations = Translations(compiled)
        for message in messages:
            if message.id and message.string and _PLACEHOLDER.search(message.id):
                pattern = re.sub(r"%\\\((\w+)\\\)s", lambda m: f"(?P<{m.group(1)}>.+?)",
                                 re.escape(message.id))
                self.templates.append((re.compile(f"^{pattern}$", re.S), message.string))

    def text(self, english: str) -> str:
        """The message in this language (the English text when it has none)."""
        if self.translations is None or not english:
            return english
        found = self.translations.gettext(english)
        if found != english:
            return found
        for pattern, template in self.templates:
            match = pattern.match(english)
            if match:
                values = {k: self.text(v) for k, v in match.groupdict().items()}
                return template % values
        return english

    def label(self, context: str, english: str) -> str:
        """A dashboard label by its context ("status:achieved"); English when absent."""
        if self.translations is None:
            return english
        return self.translations.pgettext(context, english)

    def errors(self, errors: Any) -> Any:
        """Field errors ({field: [messages]}, or nested per batch index) translated."""
        if isinstance(errors, dict):
            return {k: self.errors(v) for k, v in errors.items()}
        if isinstance(errors, list):
            return [self.errors(v) for v in errors]
        if isinstance(errors, str):
            return self.text(errors)
        return errors


def negotiate(accept_language: str | None) -> str:
    """'zh' when the header prefers Chinese (zh, zh-CN, zh-Hans, zh-TW ...), else 'en'."""
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LANGUAGES and q > best_q:
            best, best_q = language, q
    return best


def from_environment(explicit: str | None = None) -> str:
    """A command's language: --lang, else LANG / LC_ALL / LC_MESSAGES (zh_CN.UTF-8 -> zh)."""
    for value in (explicit, os.environ.get("LC_ALL"), os.environ.get("LC_MESSAGES"),
                  os.environ.get("LANG")):
        if not value:
            continue
        try:
            language = Locale.parse(value.split(".")[0].replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            continue
        return language if language in LANGUAGES else "en"
    return "en"
