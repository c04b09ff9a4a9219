"""Marshmallow fields and nested schemas shared by the payload schemas."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from marshmallow import Schema, ValidationError, fields

from events.countries import ISO_3166_ALPHA2
from events.text import (
    describe_character,
    has_control_characters,
    invisible_character,
    lookalike_problem,
    normalise_key,
    normalise_text,
    uscc_problem,
)

EARLIEST_DATE = dt.date(1990, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
REPLACEMENT_CHARACTER = "\ufffd"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Text(fields.String):
    """A non-empty single-line string of bounded length, whitespace collapsed. Invisible
    characters (controls, zero-width and bidi format characters, line separators) are
    refused by code point; free text (`line_breaks`) may hold tabs and line breaks, which
    are collapsed with the other whitespace."""

    normalise = staticmethod(normalise_text)

    def __init__(self, max_length: int = 200, line_breaks: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.allowed = "\t\n\r" if line_breaks else ""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        if len(value) > self.max_length * 4:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        hidden = invisible_character(value, self.allowed)
        if hidden is not None:
            raise ValidationError(f"Contains an invisible character ({describe_character(hidden)}"
                                  "): send the text without it.")
        text = self.normalise(value)
        if not text:
            raise ValidationError("May not be empty.")
        if has_control_characters(text):
            raise ValidationError("May not contain control characters.")
        if REPLACEMENT_CHARACTER in text:
            raise ValidationError("Contains U+FFFD (the replacement character), the mark of "
                                  "text lost in an earlier conversion: send the original text.")
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        return text


class Code(Text):
    """A key or code (record key, standard code, certificate number): NFKC-normalised too,
    and never written with letters that pass for Latin ones."""

    normalise = staticmethod(normalise_key)

    def __init__(self, max_length: int = 64, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        key = super()._deserialize(value, attr, data, **kwargs)
        problem = lookalike_problem(key)
        if problem:
            raise ValidationError(problem)
        return key


class IsoDate(fields.Date):
    """A calendar date written YYYY-MM-DD, between 1990-01-01 and 2100-12-31."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise ValidationError("Not a valid date: write it as YYYY-MM-DD, e.g. 2024-03-01.")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Not a valid date: write it as YYYY-MM-DD, e.g. 2024-03-01.") from None
        if day < EARLIEST_DATE:
            raise ValidationError("Must not be before 1990-01-01.")
        if day > LATEST_DATE:
            raise ValidationError("Must not be after 2100-12-31.")
        return day


class Uscc(fields.String):
    """An 18-character unified social credit code with a valid check digit. Full-width
    letters and digits typed with an IME are folded (NFKC) and lower case raised first; the
    old 15-digit business registration number (工商注册号) is refused as such."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        code = unicodedata.normalize("NFKC", value).strip().upper()
        if len(code) == 15 and code.isdigit():
            raise ValidationError(
                "This is a 15-digit business registration number (工商注册号), replaced since "
                "2015: give the 18-character unified social credit code (统一社会信用代码).")
        problem = uscc_problem(code)
        if problem:
            raise ValidationError(f"Not a valid unified social credit code: {problem}")
        return code


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 country code (case-insensitive on input, stored upper case)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        code = value.strip().upper()
        if code not in ISO_3166_ALPHA2:
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, floats and numeric strings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class HolderSchema(Schema):
    """An organisation: its name and unified social credit code."""

    name = Text(required=True)
    uscc = Uscc(required=True)


def holder(**kwargs: Any) -> fields.Nested:
    """A nested holder/lead/awardee/applicant object."""
    return fields.Nested(HolderSchema, **kwargs)


def reason() -> Text:
    """The free-text reason required by suspensions, withdrawals and the like."""
    return Text(max_length=1000, line_breaks=True, required=True)
