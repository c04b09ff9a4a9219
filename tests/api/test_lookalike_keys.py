"""Keys and names that look like others are refused (issue 14, finding 5): invisible
characters (Cc, Cf, Zl, Zp: zero-width, bidi controls) anywhere in a key or a name, and keys
mixing Latin letters with Cyrillic or Greek look-alikes, with a 422 naming the character."""

from __future__ import annotations

import pytest

from tests.helpers import auth, holder, issued, post


@pytest.fixture
def writer(token_for):
    return token_for("certification-body", "330000")


@pytest.mark.parametrize("key, code_point", [
    ("CX/2023/\u200b0001", "U+200B"),      # zero-width space
    ("CX/2023/0001\u202e", "U+202E"),      # right-to-left override
    ("CX/2023/\u20600001", "U+2060"),      # word joiner
    ("CX/2023\u2028/0001", "U+2028"),      # line separator
    ("\ufeffCX/2023/0001", "U+FEFF"),      # byte-order mark
])
def test_invisible_characters_in_a_key_are_refused_by_code_point(client, writer, key,
                                                                  code_point):
    response = post(client, writer, issued(key))
    assert response.status_code == 422, response.json
    assert code_point in " ".join(response.json["errors"]["record"])


def test_a_key_mixing_latin_and_cyrillic_is_refused(client, writer):
    assert post(client, writer, issued("CX/2023/0001")).status_code == 201
    response = post(client, writer, issued("\u0421\u0425/2023/0001"))  # Cyrillic С and Х
    assert response.status_code == 201 or response.status_code == 422
    mixed = post(client, writer, issued("C\u0425/2023/0002"))  # Latin C, Cyrillic Х
    assert mixed.status_code == 422
    message = " ".join(mixed.json["errors"]["record"])
    assert "U+0425" in message and "Cyrillic" in message


def test_an_all_cyrillic_lookalike_of_an_existing_key_is_refused(client, writer):
    """The lookalike of a stored key would let a public lookup say 'valid' while the real
    certificate is suspended."""
    assert post(client, writer, issued("CX/2023/0003")).status_code == 201
    response = post(client, writer, issued("\u0421\u0425/2023/0003"))
    assert response.status_code == 422
    assert "CX/2023/0003" in " ".join(response.json["errors"]["record"])
    public = client.get("/v1/public/records/certification/%D0%A1%D0%A5%2F2023%2F0003")
    assert public.status_code == 404


def test_invisible_characters_in_a_name_are_refused_and_ordinary_spaces_kept(client, writer):
    bad = post(client, writer, issued("NM-1", holder_=holder("湖州\u200d竹业有限公司")))
    assert bad.status_code == 422
    assert "U+200D" in " ".join(bad.json["errors"]["data.holder.name"])
    good = post(client, writer, issued("NM-2", holder_=holder("Huzhou Bamboo Co., Ltd.")))
    assert good.status_code == 201


def test_chinese_keys_and_names_are_not_confusables(client, writer, token_for, project):
    assert post(client, writer, issued("浙制认证-2023-0001",
                                       holder_=holder("浙江省湖州市竹业有限公司"))).status_code == 201
    admin = token_for("admin", "330000")
    assert client.get("/v1/records/certification/%E6%B5%99%E5%88%B6%E8%AE%A4%E8%AF%81-2023-0001",
                      headers=auth(admin)).status_code == 200
