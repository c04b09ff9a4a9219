"""Labels of the dashboard: kinds, states, statuses, event types, chrome — in English here,
in Chinese from the message catalogue.

The display language is `both` (default: 中文 · English), `zh` or `en`.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from api.i18n import catalogue
from events import EVENT_TYPES as RECORD_EVENT_TYPES
from events import KIND_SPECS

LANGS = ("both", "zh", "en")


def _pairs(context: str, english: dict[str, str]) -> dict[str, tuple[str, str]]:
    """(中文, English) per key: the Chinese from the message catalogue (api/translations,
    msgctxt "context:key"), the same one the API's and the commands' messages come from."""
    messages = catalogue("zh")
    return {key: (messages.label(f"{context}:{key}", en), en) for key, en in english.items()}


# Kinds, their states and their event types are labelled in their own modules
# (events/<kind>.py); "voided" and the registry's own events here.
KINDS: dict[str, tuple[str, str]] = {name: kind.label for name, kind in KIND_SPECS.items()}

STATES: dict[str, tuple[str, str]] = {
    state: pair for kind in KIND_SPECS.values() for state, pair in kind.states.items()
} | _pairs("state", {"voided": "voided"})

# The data fields of the events and the attributes of records (中文, name as on the wire): the
# fields every kind shares here, a kind's own from its schema's metadata (events/<kind>.py).
FIELDS: dict[str, tuple[str, str]] = {name: (zh, name) for name, zh in {
    "holder": "持有人", "product": "产品", "standards": "标准", "valid_until": "有效期至",
    "reason": "原因", "certificate_no": "国际证书编号", "partner": "国际合作机构",
    "country": "国家/地区", "title": "名称", "lead": "主导企业", "effective_on": "实施日期",
    "new_code": "新标准号", "code": "标准号", "level": "级别", "year": "年度",
    "awardee": "获奖组织", "gi_type": "地理标志类型", "name": "名称", "applicant": "申请人",
    "registration_no": "登记号", "to_tenant": "迁入地区", "changes": "更正内容",
    "voided_on": "作废日期",
}.items()} | {name: (field.metadata["zh"], name) for cls in RECORD_EVENT_TYPES.values()
             for name, field in cls.Payload().fields.items() if "zh" in field.metadata}

STATUSES = _pairs("status", {
    "achieved": "achieved",
    "on_track": "on track",
    "behind": "behind",
    "not_tracked": "not tracked",
    "no_target": "no target",
    "missed": "missed",
    "unknown": "unknown",
})

REASONS = _pairs("reason", {
    "before_opening": "before the opening: the registry cannot tell the value on this date",
    "no_stock_at_period_start": "no stock recorded for the eve of the period, so the new count cannot be computed",
})

EVENT_TYPES: dict[str, tuple[str, str]] = {
    name: cls.LABEL for name, cls in RECORD_EVENT_TYPES.items()} | _pairs("event", {
    "principal.added": "principal added",
    "principal.revoked": "principal revoked",
    "plan.adopted": "plan adopted",
    "plan.target_set": "target set",
    "plan.opening_recorded": "opening recorded",
    "opening.recorded": "opening recorded",
    "plan.revised": "plan revised",
})

ROLES = _pairs("role", {
    "admin": "admin",
    "auditor": "auditor",
    "certification-body": "certification body",
    "standards-body": "standards body",
    "operator": "operator",
})

CHROME = _pairs("chrome", {
    "app": "Quality Brand Registry",
    "overview": "Overview",
    "trends": "Trends",
    "records": "Records",
    "audit": "Audit feed",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "token": "Access token",
    "plan": "Plan",
    "as_of": "As of",
    "show": "Show",
    "midterm": "mid-term review",
    "plan_end": "plan end",
    "today": "today",
    "value": "value",
    "target": "target",
    "expected": "expected",
    "achievement": "achieved",
    "children": "Divisions below",
    "tenant": "division",
    "status": "status",
    "kind": "kind",
    "holder": "holder",
    "text": "text",
    "search": "Search",
    "next": "Next page",
    "first": "First page",
    "all": "all",
    "download": "Download",
    "timeline": "Timeline",
    "effective": "effective",
    "recorded": "recorded",
    "by": "by",
    "attributes": "Current state",
    "type": "event type",
    "actor": "actor",
    "record": "record",
    "from": "from",
    "to": "to",
    "position": "position",
    "none": "none",
    "not_tracked_section": "Indicators not tracked",
    "language": "Language",
    "unit": "unit",
    "trend_of": "year-end values against the linear path",
    "unallocated": "not allocated to divisions",
    "reported": "reported by the plan",
    "difference": "difference",
    "judged_on": "judged on",
    "counting": "counting",
    "cumulative": "cumulative",
    "new": "new",
    "target_from": "target from",
    "stock": "stock at start",
})


def label(pair: tuple[str, str] | None, lang: str, fallback: str = "") -> Markup:
    """`中文 · English`, or one of them, escaped."""
    if pair is None:
        return escape(fallback)
    zh, en = pair
    if lang == "zh" or not en:
        return escape(zh or en)
    if lang == "en" or not zh:
        return escape(en or zh)
    return Markup('{} <span class="en">· {}</span>').format(zh, en)


def lookup(table: dict, key: str | None, lang: str) -> Markup:
    return label(table.get(key or ""), lang, key or "")


def plain(pair: tuple[str, str] | None, lang: str) -> str:
    """The same label as text (for <title> and attributes)."""
    if pair is None:
        return ""
    zh, en = pair
    return {"zh": zh, "en": en}.get(lang, f"{zh} · {en}")
