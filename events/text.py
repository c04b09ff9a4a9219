"""Text normalisation and identifier checks shared by every payload."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

from confusable_homoglyphs import categories, confusables

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# GB 32100-2015: the 31 characters of the code alphabet and the position weights.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}


def normalise_key(value: str) -> str:
    """Keys and codes: NFKC-normalise, trim and collapse inner whitespace."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def normalise_text(value: str) -> str:
    """Names, titles and reasons: trim and collapse whitespace, keep the characters."""
    return _WHITESPACE.sub(" ", value).strip()


# Invisible characters: controls, format characters (zero-width, bidi controls, BOM), line
# and paragraph separators. An ordinary space is the only space character kept as such.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK"})


def describe_character(char: str) -> str:
    """'U+200B ZERO WIDTH SPACE'."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def invisible_character(value: str, allow: str = "") -> str | None:
    """The first invisible character of the text (other than those in `allow`), or None."""
    if not allow:
        found = _invisible_pattern().search(value)
        return found.group() if found else None
    for found in _invisible_pattern().finditer(value):
        if found.group() not in allow:
            return found.group()
    return None


@functools.cache
def _invisible_pattern() -> re.Pattern[str]:
    """Every code point of the invisible categories as one character class (about 230 of
    them in this Python's Unicode tables), built once per process on first use (0.3 s): a
    regular expression finds them at C speed, where asking each character's category cost
    a tenth of a batch's parsing (issue 16)."""
    invisible = [code for code in range(sys.maxunicode + 1)
                 if unicodedata.category(chr(code)) in INVISIBLE_CATEGORIES]
    ranges, start = [], invisible[0]
    for previous, code in zip(invisible, invisible[1:] + [-1]):
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(previous))
                                                    if previous > start else ""))
            start = code
    return re.compile("[" + "".join(ranges) + "]")


@functools.lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """The character's script alias (LATIN, CYRILLIC, ...): the confusables table's lookup
    walks its ranges each time, and keys repeat the same few characters."""
    return categories.alias(char)


def lookalike_problem(key: str) -> str | None:
    """Why a key cannot be accepted because it looks like another: a Cyrillic or Greek
    letter that looks like a Latin one (keys are Latin letters, digits, Chinese characters
    and punctuation, so `СХ/2023/0001` would pass for `CX/2023/0001`)."""
    if key.isascii():  # no Cyrillic or Greek letter can hide in ASCII
        return None
    found = [c for c in key if _script(c) in LOOKALIKE_SCRIPTS]
    if not found:
        return None
    skeleton, latin = [], {}
    for char in key:
        if char in found:
            matches = confusables.is_confusable(char, preferred_aliases=["latin"]) or []
            glyphs = [h["c"] for m in matches for h in m["homoglyphs"]
                      if categories.alias(h["c"]) == "LATIN"]
            if glyphs:
                latin[char] = glyphs[0]
        skeleton.append(latin.get(char, char))
    char = found[0]
    looks = f", which looks like the Latin '{latin[char]}'" if char in latin else ""
    mixed = " mixed with Latin letters" if any(categories.alias(c) == "LATIN" for c in key) \
        else ""
    return (f"Contains '{char}' ({describe_character(char)}, {categories.alias(char).title()}"
            f"{mixed}){looks}: the key would pass for '{''.join(skeleton)}'. Write keys in "
            "Latin letters, digits and Chinese characters.")


def has_control_characters(value: str) -> bool:
    """True when the text holds a control character (never valid in a key or name)."""
    return bool(_CONTROL.search(value))


def uscc_check_character(first17: str) -> str:
    """The check character of a unified social credit code from its first 17 characters."""
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, USCC_WEIGHTS))
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
