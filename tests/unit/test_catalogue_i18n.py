"""The message catalogue (issue 13): it parses, every dashboard label and every problem
title has its Chinese, and messages built with values are said again in Chinese."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from api.i18n import CATALOGUES, catalogue, from_environment, negotiate
from api.ui import labels

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogue_parses_without_duplicates():
    with (CATALOGUES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        messages = read_po(handle)
    ids = [(m.context, m.id) for m in messages if m.id]
    assert len(ids) == len(set(ids)) > 100
    assert all(m.string for m in messages if m.id)


def test_every_dashboard_label_has_its_chinese():
    for table in (labels.KINDS, labels.STATES, labels.STATUSES, labels.REASONS,
                  labels.EVENT_TYPES, labels.ROLES, labels.CHROME, labels.FIELDS):
        for key, (zh, en) in table.items():
            assert zh and zh != en, key


def test_every_data_field_of_every_event_type_has_its_chinese_label():
    from events import EVENT_TYPES

    names = {n for cls in EVENT_TYPES.values() for n in cls.Payload().fields}
    assert names and all(labels.FIELDS.get(n, ("", ""))[0] for n in names), sorted(
        names - set(labels.FIELDS))


def test_every_problem_title_has_its_chinese():
    import re

    titles = set()
    for path in (ROOT / "api").rglob("*.py"):
        titles |= set(re.findall(r'^\s+title = "([^"]+)"', path.read_text("utf-8"), re.M))
    for path in (ROOT / "registry").rglob("*.py"):
        titles |= set(re.findall(r'^\s+title = "([^"]+)"', path.read_text("utf-8"), re.M))
    for path in (ROOT / "tenants").rglob("*.py"):
        titles |= set(re.findall(r'^\s+title = "([^"]+)"', path.read_text("utf-8"), re.M))
    zh = catalogue("zh")
    missing = sorted(t for t in titles if zh.text(t) == t)
    assert titles and not missing, missing


def test_languages_are_chosen_from_headers_and_the_environment():
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("en-US,zh;q=0.5") == "en" and negotiate(None) == "en"
    assert negotiate("zh-Hant-TW") == "zh" and negotiate("fr-FR") == "en"
    assert from_environment("zh") == "zh" and from_environment(None) in ("en", "zh")
    assert catalogue("zh").text("Record 9 of 3: not in the catalogue.") == (
        "Record 9 of 3: not in the catalogue.")
