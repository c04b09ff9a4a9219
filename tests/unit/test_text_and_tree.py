"""USCC check digits, key normalisation and the division tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.text import USCC_ALPHABET, make_uscc, normalise_key, normalise_text, uscc_problem
from tenants import seed
from tenants.tree import Tenant, TenantTree


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_published_codes_have_valid_check_digits(code):
    assert uscc_problem(code) is None


@given(st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
       st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
       st.sampled_from(USCC_ALPHABET))
def test_exactly_one_check_character_completes_a_code(head, region, body, wrong):
    code = make_uscc(head + region + body)
    assert uscc_problem(code) is None
    if wrong != code[-1]:
        assert uscc_problem(code[:-1] + wrong) == "Check digit is wrong."


def test_keys_are_nfkc_normalised_and_whitespace_collapsed():
    assert normalise_key("  ＺＪＭ－2023\u3000 000123 ") == "ZJM-2023 000123"
    assert normalise_text(" 竹地板（强化）  ") == "竹地板（强化）"


def test_the_seed_tree_has_the_province_11_cities_and_90_counties():
    tree = TenantTree(Tenant(**{k: t[k] for k in ("code", "name", "name_en", "level",
                                                  "division_type", "parent")})
                      for t in seed.tenants())
    levels = [t.level for t in tree.all()]
    assert (levels.count("province"), levels.count("city"), levels.count("county")) == (1, 11, 90)
    assert tree.ancestors("330523") == ["330500", "330000"]
    assert tree.is_within("330523", "330000") and not tree.is_within("330523", "330100")
    assert len(tree.subtree("330000")) == 102


def test_invisible_characters_are_found_by_code_point_exactly_as_their_category_says():
    """The character class equals the Unicode tables: every code point of categories Cc, Cf,
    Zl, Zp is found, alone and inside text, and no other one is."""
    import sys
    import unicodedata

    from events.text import INVISIBLE_CATEGORIES, invisible_character

    for code in range(sys.maxunicode + 1):
        char = chr(code)
        hidden = unicodedata.category(char) in INVISIBLE_CATEGORIES
        assert invisible_character(char) == (char if hidden else None), hex(code)
    assert invisible_character("湖州\u200b竹地板\u202e") == "\u200b"
    assert invisible_character("line\nbreak\ttab", "\t\n\r") is None
    assert invisible_character("line\nbreak\u2028", "\t\n\r") == "\u2028"
    assert invisible_character("tab\there", "\n") == "\t"


@given(st.text())
def test_invisible_character_agrees_with_a_walk_of_the_categories(text):
    import unicodedata

    from events.text import INVISIBLE_CATEGORIES, invisible_character

    for allow in ("", "\t\n\r"):
        walked = next((c for c in text if c not in allow
                       and unicodedata.category(c) in INVISIBLE_CATEGORIES), None)
        assert invisible_character(text, allow) == walked
