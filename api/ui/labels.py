"""Chinese and English labels of the dashboard: kinds, states, statuses, event types, chrome.

The display language is `both` (default: 中文 · English), `zh` or `en`.
"""

from __future__ import annotations

from markupsafe import Markup, escape

LANGS = ("both", "zh", "en")

KINDS = {
    "certification": ("品字标认证", "Certification"),
    "standard": ("浙江制造标准", "Standard"),
    "award": ("政府质量奖", "Quality award"),
    "gi": ("地理标志", "Geographic indication"),
}
STATES = {
    "valid": ("有效", "valid"), "suspended": ("暂停", "suspended"),
    "withdrawn": ("撤销", "withdrawn"), "expired": ("过期", "expired"),
    "drafting": ("立项起草", "drafting"), "published": ("已发布", "published"),
    "nominated": ("提名", "nominated"), "granted": ("已授予", "granted"),
    "revoked": ("已撤销", "revoked"), "applied": ("已申请", "applied"),
    "registered": ("已登记", "registered"), "rejected": ("已驳回", "rejected"),
    "cancelled": ("已注销", "cancelled"), "voided": ("已作废", "voided"),
}
STATUSES = {
    "achieved": ("已达成", "achieved"), "on_track": ("符合进度", "on track"),
    "behind": ("滞后", "behind"), "not_tracked": ("未跟踪", "not tracked"),
    "no_target": ("无目标", "no target"), "missed": ("未完成", "missed"),
    "unknown": ("未知", "unknown"),
}
# Why a value is unknown (projections.plan_values).
REASONS = {
    "before_opening": ("早于期初值：登记数据不足以得出该日数值", "before the opening: the registry "
                       "cannot tell the value on this date"),
    "no_stock_at_period_start": ("缺少期初存量，无法计算新增", "no stock recorded for the eve "
                                 "of the period, so the new count cannot be computed"),
}
EVENT_TYPES = {
    "certification.issued": ("颁发证书", "certificate issued"),
    "certification.renewed": ("换证续期", "renewed"),
    "certification.suspended": ("暂停证书", "suspended"),
    "certification.reinstated": ("恢复证书", "reinstated"),
    "certification.withdrawn": ("撤销证书", "withdrawn"),
    "certification.expired": ("证书到期", "expired"),
    "certification.international_issued": ("颁发国际认证证书", "international certificate issued"),
    "certification.international_withdrawn": ("撤销国际认证证书",
                                              "international certificate withdrawn"),
    "standard.drafting_approved": ("标准立项", "drafting approved"),
    "standard.published": ("标准发布", "published"),
    "standard.revised": ("标准修订", "revised"),
    "standard.withdrawn": ("标准废止", "withdrawn"),
    "award.nominated": ("提名", "nominated"), "award.granted": ("授予", "granted"),
    "award.revoked": ("撤销奖项", "revoked"),
    "gi.applied": ("提出申请", "applied"), "gi.registered": ("核准登记", "registered"),
    "gi.rejected": ("驳回申请", "rejected"), "gi.cancelled": ("注销", "cancelled"),
    "record.amended": ("更正信息", "amended"), "record.transferred": ("迁移属地", "transferred"),
    "record.voided": ("作废（录入错误）", "voided (entered in error)"),
    "principal.added": ("新增用户", "principal added"),
    "principal.revoked": ("吊销用户", "principal revoked"),
    "plan.adopted": ("规划发布", "plan adopted"), "plan.target_set": ("设定目标", "target set"),
    "plan.opening_recorded": ("登记期初值", "opening recorded"),
    "opening.recorded": ("登记期初值", "opening recorded"),
    "plan.revised": ("规划修订", "plan revised"),
}
ROLES = {
    "admin": ("管理员", "admin"), "auditor": ("审计员", "auditor"),
    "certification-body": ("认证机构", "certification body"),
    "standards-body": ("标准化机构", "standards body"), "operator": ("运维", "operator"),
}
CHROME = {
    "app": ("品质品牌登记", "Quality Brand Registry"),
    "overview": ("概览", "Overview"), "trends": ("年度趋势", "Trends"),
    "records": ("记录", "Records"), "audit": ("审计日志", "Audit feed"),
    "sign_in": ("登录", "Sign in"), "sign_out": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"), "plan": ("规划", "Plan"), "as_of": ("日期", "As of"),
    "show": ("查看", "Show"), "midterm": ("中期评估", "mid-term review"),
    "plan_end": ("规划期末", "plan end"), "today": ("今天", "today"),
    "value": ("当前值", "value"), "target": ("目标", "target"),
    "expected": ("按进度应达", "expected"), "achievement": ("完成率", "achieved"),
    "children": ("各下级地区", "Divisions below"), "tenant": ("地区", "division"),
    "status": ("状态", "status"), "kind": ("类别", "kind"), "holder": ("持有人", "holder"),
    "text": ("关键词", "text"), "search": ("查询", "Search"), "next": ("下一页", "Next page"),
    "first": ("第一页", "First page"), "all": ("全部", "all"), "download": ("下载", "Download"),
    "timeline": ("事件时间线", "Timeline"), "effective": ("生效", "effective"),
    "recorded": ("登记于", "recorded"), "by": ("登记人", "by"),
    "attributes": ("当前信息", "Current state"), "type": ("事件类型", "event type"),
    "actor": ("操作人", "actor"), "record": ("记录", "record"), "from": ("起", "from"),
    "to": ("止", "to"), "position": ("序号", "position"), "none": ("无", "none"),
    "not_tracked_section": ("未跟踪的指标", "Indicators not tracked"),
    "language": ("语言", "Language"), "unit": ("单位", "unit"),
    "trend_of": ("年度值与线性进度", "year-end values against the linear path"),
    "unallocated": ("未分配到下级", "not allocated to divisions"),
    "reported": ("规划报告值", "reported by the plan"), "difference": ("差额", "difference"),
    "judged_on": ("评价日期", "judged on"), "counting": ("口径", "counting"),
    "cumulative": ("累计", "cumulative"), "new": ("新增", "new"),
    "target_from": ("目标来自", "target from"), "stock": ("期初存量", "stock at start"),
}


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
