"""Text normalisation and identifier checks shared by every payload."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# GB 32100-2015: the 31 characters of the code alphabet and the position weights.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalise_key(value: str) -> str:
    """Keys and codes: NFKC-normalise, trim and collapse inner whitespace."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def normalise_text(value: str) -> str:
    """Names, titles and reasons: trim and collapse whitespace, keep the characters."""
    return _WHITESPACE.sub(" ", value).strip()


def has_control_characters(value: str) -> bool:
    """True when the text holds a control character (never valid in a key or name)."""
    return bool(_CONTROL.search(value))


def uscc_check_character(first17: str) -> str:
    """The check character of a unified social credit code from its first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why the code is not a valid USCC, or None when it is."""
    if len(code) != 18:
        return "Must be 18 characters."
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        return f"Contains characters outside the GB 32100-2015 alphabet: {''.join(bad)}."
    if not code[2:8].isdigit():
        return "Characters 3-8 must be the six-digit region code."
    if uscc_check_character(code[:17]) != code[17]:
        return "Check digit is wrong."
    return None


def make_uscc(prefix17: str) -> str:
    """Complete 17 characters to a valid USCC (used by the demo and the tests)."""
    return prefix17 + uscc_check_character(prefix17)
