"""`registry demo`: a deterministic, realistic 2021–2025 history for the seed tenants,
posted through the same use cases (and scopes) as the API.

The numbers are chosen so that, on the mid-term review date 2025-06-30, the province,
Huzhou and Pingyang show a mix of achieved, on-track and behind indicators of their 14th
five-year plans. Envelope ids are derived from the demo's own counters, so running the demo
twice stores nothing new.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Callable
from uuid import uuid5

from events import EVENT_TYPES, NAMESPACE
from events.envelope import parse_envelope
from events.text import make_uscc
from registry.plans import Plans
from registry.service import Registry
from tenants.directory import Directory
from tenants.errors import RegistryError
from tenants.scope import Scope

REVIEW_DATE = dt.date(2025, 6, 30)
PRODUCTS = ["竹木地板", "高效电机", "紧固件", "工业阀门", "精密轴承", "真丝面料", "汽车零部件",
            "智能马桶", "五金工具", "电线电缆", "不锈钢管", "功能性薄膜", "家用空调压缩机"]
GI_NAMES = ["白茶", "紫笋茶", "黄汤", "杨梅", "早园笋", "湖羊", "青梅", "香榧", "柑橘", "蜜梨"]
PARTNERS = [("IQNet", "DE"), ("IQNet", "FR"), ("SGS", "CH"), ("BSI", "GB"), ("UL", "US"),
            ("JQA", "JP"), ("KTR", "KR"), ("TÜV Rheinland", "DE")]


@dataclass
class DemoPrincipals:
    certifier: Scope
    standards: Scope
    province: Scope
    cities: dict[str, Scope]


class Demo:
    """Builds the demo history; `run()` returns how many events were stored."""

    def __init__(self, registry: Registry, plans: Plans, directory: Directory,
                 progress: Callable[[int], None] | None = None) -> None:
        self.registry = registry
        self.plans = plans
        self.directory = directory
        self.tree = directory.tree()
        self.rng = random.Random(20210101)
        self.progress = progress
        self.stored = 0
        self.counter = 0
        self.holders: dict[str, list[dict[str, str]]] = {}
        self.created: dict[str, list[str]] = {"certification": [], "standard": []}

    # Principals --------------------------------------------------------------------------

    def _principal(self, name: str, role: str, tenant: str, kinds=()) -> Scope:
        for principal in self.directory.principals():
            if principal.name == name and not principal.revoked:
                return Scope(principal, self.tree)
        principal, _ = self.directory.add_principal(name, role, tenant, kinds)
        return Scope(principal, self.tree)

    def principals(self) -> DemoPrincipals:
        cities = {c.code: self._principal(f"{c.name}市场监督管理局", "admin", c.code)
                  for c in self.tree.children("330000")}
        return DemoPrincipals(
            certifier=self._principal("浙江制造国际认证联盟（演示）", "certification-body",
                                      "330000", ("certification",)),
            standards=self._principal("浙江省品牌建设联合会（演示）", "standards-body", "330000"),
            province=self._principal("浙江省市场监督管理局", "admin", "330000"),
            cities=cities)

    # Posting -----------------------------------------------------------------------------

    def post(self, scope: Scope, body: dict[str, Any]) -> None:
        self.counter += 1
        body["id"] = str(uuid5(NAMESPACE, f"demo/{self.counter}"))
        envelope = parse_envelope(body, EVENT_TYPES, dt.date.today())
        receipt = self.registry.record(scope, envelope)
        if not receipt.replayed:
            self.stored += 1
        if self.progress:
            self.progress(1)

    def _day(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def _holder(self, tenant: str, fresh: bool = True) -> dict[str, str]:
        pool = self.holders.setdefault(tenant, [])
        if pool and not fresh:
            return self.rng.choice(pool)
        name = self.tree.get(tenant).name.rstrip("市县区")
        company = {"name": f"{name}{self.rng.choice(PRODUCTS)}制造有限公司{len(pool) + 1}号",
                   "uscc": make_uscc(f"91{tenant}{len(pool) + 1:04d}{self.rng.randrange(10**5):05d}")}
        pool.append(company)
        return company

    def _counties(self, city: str) -> list[str]:
        return [c.code for c in self.tree.children(city)]

    # Histories ---------------------------------------------------------------------------

    def certificates(self, who: DemoPrincipals, tenant: str, count: int, start: dt.date,
                     end: dt.date, international: int = 0) -> None:
        """`count` new certified enterprises in `tenant`, some with a second certificate,
        some suspended, withdrawn or renewed; `international` items among them."""
        for n in range(count):
            day = self._day(start, end)
            key = f"ZJM-{day.year}-{tenant}-{n:04d}"
            self.created["certification"].append(key)
            holder = self._holder(tenant)
            self.post(who.certifier, {
                "type": "certification.issued", "record": key, "tenant": tenant,
                "occurred_on": day.isoformat(), "data": {
                    "holder": holder, "product": self.rng.choice(PRODUCTS),
                    "standards": [f"T/ZZB {self.rng.randrange(100, 3000):04d}-{day.year - 1}"],
                    "valid_until": (day + dt.timedelta(days=3 * 365)).isoformat()}})
            if n < international:
                partner, country = PARTNERS[n % len(PARTNERS)]
                self.post(who.certifier, {
                    "type": "certification.international_issued", "record": key,
                    "occurred_on": min(day + dt.timedelta(days=60), end).isoformat(),
                    "data": {"certificate_no": f"{partner[:4].upper()}-{tenant}-{n:04d}",
                             "partner": partner, "country": country}})
            roll = self.rng.random()
            later = min(day + dt.timedelta(days=self.rng.randrange(90, 400)), end)
            if roll < 0.06:
                self.post(who.certifier, {"type": "certification.suspended", "record": key,
                                          "occurred_on": later.isoformat(),
                                          "data": {"reason": "监督抽查不合格，限期整改"}})
            elif roll < 0.08:
                self.post(who.certifier, {"type": "certification.withdrawn", "record": key,
                                          "occurred_on": later.isoformat(),
                                          "data": {"reason": "企业申请注销"}})
            elif roll < 0.20 and day + dt.timedelta(days=3 * 365) <= end + dt.timedelta(days=60):
                renewal = day + dt.timedelta(days=3 * 365 - 30)
                self.post(who.certifier, {"type": "certification.renewed", "record": key,
                                          "occurred_on": renewal.isoformat(), "data": {
                                              "valid_until": (day + dt.timedelta(
                                                  days=6 * 365)).isoformat()}})
            if roll > 0.93:  # the same enterprise certifies a second product
                second = min(day + dt.timedelta(days=200), end)
                self.post(who.certifier, {
                    "type": "certification.issued", "record": key + "-B", "tenant": tenant,
                    "occurred_on": second.isoformat(), "data": {
                        "holder": holder, "product": self.rng.choice(PRODUCTS),
                        "standards": [], "valid_until": (second + dt.timedelta(
                            days=3 * 365)).isoformat()}})

    def standards(self, who: DemoPrincipals, tenant: str, count: int, start: dt.date,
                  end: dt.date) -> None:
        for n in range(count):
            day = self._day(start, end)
            key = f"T/ZZB {tenant[2:6]}{n:03d}-{day.year}"
            self.created["standard"].append(key)
            lead = self._holder(tenant, fresh=self.rng.random() < 0.5)
            drafted = day - dt.timedelta(days=self.rng.randrange(60, 240))
            self.post(who.standards, {"type": "standard.drafting_approved", "record": key,
                                      "tenant": tenant, "occurred_on": drafted.isoformat(),
                                      "data": {"title": f"{self.rng.choice(PRODUCTS)}（浙江制造标准）",
                                               "lead": lead}})
            self.post(who.standards, {"type": "standard.published", "record": key,
                                      "occurred_on": day.isoformat(), "data": {
                                          "title": f"{self.rng.choice(PRODUCTS)}（浙江制造标准）",
                                          "effective_on": (day + dt.timedelta(
                                              days=30)).isoformat()}})

    def awards(self, scope: Scope, tenant: str, level: str, count: int, start: dt.date,
               end: dt.date, revoke: int = 0) -> None:
        city = self.tree.get(self.tree.ancestors(tenant)[0])
        titles = {"national": "中国质量奖", "provincial": "浙江省人民政府质量奖",
                  "city": f"{city.name}人民政府质量奖",
                  "county": f"{self.tree.get(tenant).name}人民政府质量奖"}
        for n in range(count):
            day = self._day(start, end)
            key = f"QA-{level[:4].upper()}-{tenant}-{day.year}-{n:03d}"
            awardee = self._holder(tenant, fresh=self.rng.random() < 0.7)
            self.post(scope, {"type": "award.nominated", "record": key, "tenant": tenant,
                              "occurred_on": (day - dt.timedelta(days=90)).isoformat(),
                              "data": {"level": level, "title": titles[level], "year": day.year,
                                       "awardee": awardee}})
            self.post(scope, {"type": "award.granted", "record": key, "occurred_on": day.isoformat(),
                              "data": {"level": level, "title": titles[level],
                                       "year": day.year}})
            if n < revoke:
                self.post(scope, {"type": "award.revoked", "record": key,
                                  "occurred_on": min(day + dt.timedelta(days=300), end).isoformat(),
                                  "data": {"reason": "获奖企业发生重大质量安全事故"}})

    def gis(self, scope: Scope, tenant: str, count: int, start: dt.date, end: dt.date) -> None:
        types = ["protected_product", "trademark", "agricultural_product"]
        for n in range(count):
            day = self._day(start, end)
            key = f"GI-{tenant}-{n:03d}"
            name = f"{self.tree.get(tenant).name.rstrip('市县区')}{GI_NAMES[n % len(GI_NAMES)]}"
            self.post(scope, {"type": "gi.applied", "record": key, "tenant": tenant,
                              "occurred_on": day.isoformat(), "data": {
                                  "gi_type": types[n % 3], "name": name,
                                  "applicant": self._holder(tenant, fresh=False)}})
            if self.rng.random() < 0.6:
                registered = min(day + dt.timedelta(days=self.rng.randrange(120, 500)), end)
                self.post(scope, {"type": "gi.registered", "record": key,
                                  "occurred_on": registered.isoformat(),
                                  "data": {"registration_no": f"{tenant}-GI-{n:03d}"}})

    # The story ---------------------------------------------------------------------------

    def run(self) -> int:
        who = self.principals()
        p = who.province
        start = dt.date(2021, 1, 1)
        mid = REVIEW_DATE
        province_plan, huzhou = "zhejiang-14th-fyp", "330500"
        cities = [c.code for c in self.tree.children("330000")]
        # Opening balances: the registry starts on 2021-01-01 with the 2020 baselines.
        for indicator, value in (("pinzibiao_enterprises", 1500),
                                 ("international_certificates_held", 200),
                                 ("china_provincial_quality_award_winners", 81),
                                 ("geographic_indications_cultivated_applied", 369)):
            self._opening(p, province_plan, "330000", indicator, value, dt.date(2020, 12, 31))
        self._opening(p, province_plan, "330000", "zhejiang_made_standards_new", 1600,
                      dt.date(2024, 6, 30), "standards were loaded from mid-2024 on")
        self._opening(who.cities[huzhou], "huzhou-14th-fyp", huzhou, "pinzibiao_enterprises",
                      200, dt.date(2020, 12, 31), "13th plan result (200 enterprises)")
        # Each city's share of the province's 品字标 target, decomposed by the province.
        shares = [0.22, 0.2, 0.1, 0.07, 0.06, 0.08, 0.09, 0.04, 0.03, 0.05, 0.06]
        for city, share in zip(cities, shares):
            self._target(p, province_plan, city, "pinzibiao_enterprises", round(2500 * share))
            self._target(p, province_plan, city, "zhejiang_made_standards_new",
                         round(2000 * share))
        # Certified enterprises: busy cities on track, a few behind; Huzhou and Pingyang
        # get the numbers their own plans ask for.
        activity = [1.2, 1.1, 0.9, 0.7, 1.0, 1.0, 0.6, 0.5, 0.4, 0.8, 0.7]
        for city, factor in zip(cities, activity):
            counties = self._counties(city)
            per_city = int(45 * factor)
            for n, county in enumerate(counties):
                if county in ("330326",) or city == huzhou:
                    continue
                self.certificates(who, county, max(per_city // len(counties), 2), start, mid,
                                  international=2 if n % 2 == 0 else 1)
        for n, county in enumerate(self._counties(huzhou)):
            self.certificates(who, county, 12, start, mid, international=5)
        self.certificates(who, "330326", 21, start, mid, international=12)
        # Standards: after the opening on 2024-06-30, about 250 more across the province.
        for city, factor in zip(cities, activity):
            if city == huzhou:
                continue
            for county in self._counties(city)[:2]:
                self.standards(who, county, int(10 * factor), dt.date(2024, 7, 1), mid)
        for county in self._counties(huzhou):
            self.standards(who, county, 38, start, mid)          # 190 against a target of 200
        self.standards(who, "330326", 19, start, mid)             # 19 against 20
        # Awards.
        for n, city in enumerate(cities):
            county = self._counties(city)[n % len(self._counties(city))]
            self.awards(p, county, "provincial", 3, start, mid, revoke=1 if n == 2 else 0)
        self.awards(p, "330523", "national", 1, start, mid)
        self.awards(p, "330522", "provincial", 2, start, mid)
        for county in self._counties(huzhou):
            self.awards(who.cities[huzhou], county, "city", 6, start, mid)  # 30 against 30
            self.awards(who.cities[huzhou], county, "county", 24, start, mid)
        wenzhou = "330300"
        self.awards(who.cities[wenzhou], "330326", "city", 4, start, mid)
        self.awards(who.cities[wenzhou], "330326", "county", 10, start, mid)
        # Geographic indications.
        for city in cities:
            for county in self._counties(city)[:1]:
                self.gis(p, county, 4 if city != huzhou else 0, start, mid)
        for county in self._counties(huzhou):
            self.gis(who.cities[huzhou], county, 7, start, mid)
        # A transfer and a voided record, so the audit trail has both.
        moved = next(k for k in self.created["standard"] if k.startswith("T/ZZB 0523"))
        self.post(who.cities[huzhou], {"type": "record.transferred", "kind": "standard",
                                       "record": moved, "occurred_on": "2025-07-01",
                                       "data": {"to_tenant": "330522"}})
        self.post(p, {"type": "record.voided", "kind": "certification",
                      "record": self.created["certification"][0], "occurred_on": "2025-07-02",
                      "data": {"reason": "录入错误：重复登记"}})
        return self.stored

    def _opening(self, scope: Scope, plan: str, tenant: str, indicator: str, value: int,
                 on: dt.date, note: str = "opening balance at the registry's start") -> None:
        view = self.plans.get(plan)
        if (tenant, indicator) in view.openings:
            return
        self.plans.record_opening(scope, plan, {"tenant": tenant, "indicator": indicator,
                                                "value": value, "on": on, "note": note})

    def _target(self, scope: Scope, plan: str, tenant: str, indicator: str, value: int) -> None:
        view = self.plans.get(plan)
        current = view.target_for(tenant, indicator)
        if current is not None and current.get("value") == value:
            return
        self.plans.set_target(scope, plan, {"tenant": tenant, "indicator": indicator,
                                            "target": {"value": value, "comparator": ">="},
                                            "reason": "省级目标分解到市（演示）"})


__all__ = ["Demo", "REVIEW_DATE", "RegistryError"]
