"""Progress tables for people: CSV and a terminal rendering (HTTP and CLI share them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from wcwidth import wcswidth, wcwidth

from api.context import services
from api.exports import Column, csv_text
from projections.progress import PlanProgress, ProgressEngine
from tenants.scope import Scope

PROGRESS_COLUMNS = [
    Column("key", "指标代码"), Column("name", "指标名称", width=30), Column("name_en", "英文名称"),
    Column("unit", "单位"), Column("counting", "口径"), Column("form", "计数方式"),
    Column("period_start", "计数期起", "date"), Column("period_end", "计数期止", "date"),
    Column("baseline", "基期值", "number"), Column("target", "目标值", "number"),
    Column("comparator", "比较"), Column("target_plan", "目标来源规划"),
    Column("target_counting", "目标口径"), Column("value", "当前值", "number"),
    Column("registry_value", "登记数据值", "number"), Column("opening", "期初值", "number"),
    Column("stock", "期初存量", "number"), Column("achievement", "完成率", "number"),
    Column("expected", "按进度应达", "number"), Column("status", "状态"),
    Column("reason", "说明"), Column("unallocated", "未分配到下级", "number"),
    Column("children_target_sum", "下级目标合计", "number"),
    Column("children_with_targets", "有目标的下级数", "number"),
    Column("actual_reported", "规划报告值", "number"), Column("difference", "差额", "number"),
    Column("as_of", "日期", "date"), Column("judged_on", "评价日期", "date"),
    Column("position", "日志序号", "number"),
]
CSV_COLUMNS = [c.name for c in PROGRESS_COLUMNS]


def progress_engine(svc, scope: Scope, plans: list | None = None) -> ProgressEngine:
    """The engine over every plan and every opening: one value per (tenant, measure,
    counting, period, date), whichever plan asks (`plans`: every plan, when already read)."""
    plans = svc.plans.all() if plans is None else plans
    return ProgressEngine(svc.read_models, svc.families, svc.measures, scope.tree,
                          svc.plans.openings.book(plans), plans)


def plan_progress(svc, scope: Scope, code: str, plan_id: str, as_of: dt.date,
                  engine: ProgressEngine | None = None) -> PlanProgress:
    """The progress object of a plan for a tenant the caller can see."""
    scope.visible_tenant(code)
    engine = engine or progress_engine(svc, scope)
    plan = next((p for p in engine.plans if p.id == plan_id), None) or svc.plans.get(plan_id)
    return PlanProgress(engine, plan, code, as_of)


def progress_body(svc, scope: Scope, code: str, plan_id: str, as_of: dt.date,
                  position: int) -> dict[str, Any]:
    progress = plan_progress(svc, scope, code, plan_id, as_of)
    return {"tenant": scope.tree.get(code).as_json(), "plan": progress.plan.summary(),
            "as_of": as_of, "judged_on": progress.judged_on, "position": position,
            "indicators": progress.table()}


def csv_row(row: dict[str, Any], as_of: dt.date, position: int) -> dict[str, Any]:
    """One indicator as a CSV row; every row says the date and log position it reflects."""
    target = row.get("target") or {}
    source = target.get("source") or {}
    baseline = row.get("baseline") or {}
    period = row.get("period") or {}
    return {
        **{k: row.get(k) for k in ("key", "name", "name_en", "unit", "counting", "form",
                                   "value", "registry_value", "achievement", "expected",
                                   "status", "reason", "unallocated", "children_target_sum",
                                   "children_with_targets", "difference", "judged_on")},
        "period_start": period.get("start"), "period_end": period.get("end"),
        "baseline": baseline.get("value"), "target": target.get("value"),
        "comparator": target.get("comparator"), "target_plan": source.get("plan"),
        "target_counting": source.get("counting"),
        "opening": (row.get("opening") or {}).get("value"),
        "stock": (row.get("stock") or {}).get("value"),
        "actual_reported": (row.get("actual_reported") or {}).get("value"),
        "as_of": as_of, "position": position,
    }


def progress_csv(rows: list[dict[str, Any]], as_of: dt.date, position: int) -> str:
    """The progress table as safe CSV (api.exports)."""
    return csv_text(PROGRESS_COLUMNS, (csv_row(row, as_of, position) for row in rows))


def display_width_pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded to `width` terminal columns (a CJK character takes two)."""
    gap = max(width - max(wcswidth(text), 0), 0)
    return " " * gap + text if right else text + " " * gap


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` terminal columns."""
    out, used = [], 0
    for char in text:
        w = max(wcwidth(char), 0)
        if used + w > width:
            break
        out.append(char)
        used += w
    return "".join(out)


def progress_text(body: dict[str, Any]) -> str:
    """A table for the terminal, aligned by display width."""
    judged = (f", judged at the plan's end {body['judged_on']}"
              if body.get("judged_on") and body["judged_on"] != body["as_of"] else "")
    lines = [f"{body['plan']['title']} — {body['tenant']['name']} ({body['tenant']['code']}) "
             f"as of {body['as_of']}{judged}; projections at log position {body['position']}",
             ""]
    reported = any(row.get("actual_reported") for row in body["indicators"])
    header = (f"{'indicator':<48} {'value':>9} {'target':>9} {'expected':>9} {'ach.':>7}"
              + (f" {'reported':>9} {'diff.':>7}" if reported else "") + "  status")
    lines += [header, "-" * len(header)]
    for row in body["indicators"]:
        target = (row.get("target") or {}).get("value")
        achievement = row.get("achievement")
        name = display_width_pad(clip(row["name"] or row["key"], 30), 30)
        actual = (row.get("actual_reported") or {}).get("value")
        lines.append(
            f"{name} {row['key'][:17]:<17}"
            f"{_fmt(row.get('value')):>9} {_fmt(target):>9} {_fmt(row.get('expected')):>9} "
            f"{(f'{achievement:.0%}' if achievement is not None else '-'):>7}"
            + (f" {_fmt(actual):>9} {_fmt(row.get('difference')):>7}" if reported else "")
            + f"  {row['status']}" + (f" ({row['reason']})" if row.get("reason") else ""))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


__all__ = ["plan_progress", "progress_body", "progress_csv", "progress_text", "services"]
