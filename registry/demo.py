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
from typing import Any, Callable
from uuid import uuid5

from events import EVENT_TYPES, NAMESPACE
from events.envelope import parse_envelope
from events.text import make_uscc
from registry.demo_records import PRODUCTS, DemoPrincipals, DemoRecords
from registry.plans import Plans
from registry.service import Registry
from tenants.directory import Directory
from tenants.errors import RegistryError
from tenants.scope import Scope

REVIEW_DATE = dt.date(2025, 6, 30)
START = dt.date(2021, 1, 1)
HUZHOU, WENZHOU = "330500", "330300"



class Demo(DemoRecords):
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

    # The story ---------------------------------------------------------------------------

    def run(self) -> int:
        """Post the whole story; returns how many events were stored."""
        who = self.principals()
        cities = [c.code for c in self.tree.children("330000")]
        self._openings_and_targets(who, cities)
        self._histories(who, cities)
        self._awards_and_listings(who, cities)
        return self.stored

    def _openings_and_targets(self, who: DemoPrincipals, cities: list[str]) -> None:
        p, huzhou, eve = who.province, HUZHOU, dt.date(2020, 12, 31)
        # Openings: the province's 2020 stocks as its plan prints them (表2-1)...
        for measure, value in (("pinzibiao_enterprises", 1500),
                               ("international_certificates_held", 200),
                               ("china_provincial_quality_award_winners", 81),
                               ("geographic_indications_cultivated_applied", 369),
                               ("zhejiang_made_boutique_products", 1238)):
            self._opening(p, "330000", measure, value, eve, PROVINCE_SOURCE)
        # ...standards loaded into the registry only from mid-2024: the province's stock on
        # that day (before it, the new count of 2021-2025 is unknown, and says so)...
        self._opening(p, "330000", "zhejiang_made_standards_new", 3600, dt.date(2024, 6, 30),
                      "省市场监管局标准化处台账（2024年6月30日，演示数据）")
        # ...and the cities' 品字标 enterprises, which with the province's unallocated part
        # add up to its 1,500: Huzhou's 200 is its 13th-plan result, the rest a demo split.
        for city, value in zip(cities, CITY_PINZIBIAO_2020):
            source = (HUZHOU_SOURCE if city == huzhou else DEMO_SPLIT_SOURCE)
            self._opening(who.cities[city], city, "pinzibiao_enterprises", value, eve, source)
        # Targets: the province splits its 品字标 and standards targets for the cities whose
        # own plan gives none (Huzhou's plan gives both: they are borrowed from it).
        for city, opened, share in zip(cities, CITY_PINZIBIAO_2020, STANDARD_SHARES):
            if city == huzhou:
                continue
            self._target(p, "zhejiang-14th-fyp", city, "pinzibiao_enterprises",
                         round(opened * 2500 / 1500))
            self._target(p, "zhejiang-14th-fyp", city, "zhejiang_made_standards_new",
                         round(2000 * share))

    def _histories(self, who: DemoPrincipals, cities: list[str]) -> None:
        """Certificates and standards: each division its own numbers."""
        start, mid, huzhou = START, REVIEW_DATE, HUZHOU
        # Histories: each division its own numbers (activity by city, varied by county).
        for city, factor in zip(cities, CITY_ACTIVITY):
            if city == huzhou:
                continue
            counties = self._counties(city)
            for n, county in enumerate(counties):
                if county == "330326":
                    continue
                count = max(int(45 * factor / len(counties) * self._vary()), 2)
                self.certificates(who, county, count, start, mid,
                                  international=2 if n % 2 == 0 else 1)
        huzhou_counties = self._counties(huzhou)
        for county, (certs, intl, standards, city_awards, county_awards, gis) in zip(
                huzhou_counties, HUZHOU_COUNTIES):
            self.certificates(who, county, certs, start, mid, international=intl)
            self.standards(who, county, standards, start, mid)
            self.awards(who.cities[huzhou], county, "city", city_awards, start, mid)
            self.awards(who.cities[huzhou], county, "county", county_awards, start, mid)
            self.gis(who.cities[huzhou], county, gis, start, mid)
        self.certificates(who, "330326", 21, start, mid, international=12)
        # Standards elsewhere: after the province's opening on 2024-06-30.
        for city, factor in zip(cities, CITY_ACTIVITY):
            if city == huzhou:
                continue
            for county in self._counties(city)[:2]:
                self.standards(who, county, max(int(10 * factor * self._vary()), 1),
                               dt.date(2024, 7, 1), mid)
        self.standards(who, "330326", 19, start, mid)             # 19 against 20

    def _awards_and_listings(self, who: DemoPrincipals, cities: list[str]) -> None:
        """Awards, geographic indications, 浙江制造精品, a transfer and a voided record."""
        p, start, mid, huzhou = who.province, START, REVIEW_DATE, HUZHOU
        # Awards.
        for n, city in enumerate(cities):
            county = self._counties(city)[n % len(self._counties(city))]
            self.awards(p, county, "provincial", 2 + n % 3, start, mid, revoke=1 if n == 2 else 0)
        self.awards(p, "330523", "national", 1, start, mid)
        self.awards(p, "330522", "provincial", 2, start, mid)
        self.awards(who.cities[WENZHOU], "330326", "city", 4, start, mid)
        self.awards(who.cities[WENZHOU], "330326", "county", 10, start, mid)
        # Geographic indications.
        for city in cities:
            if city != huzhou:
                self.gis(p, self._counties(city)[0], 3 + len(self._counties(city)) % 4,
                         start, mid)
        # 浙江制造精品: listed by the province, Huzhou against its 100, Pingyang against its 20.
        for n, city in enumerate(cities):
            if city != huzhou:
                self.boutiques(p, self._counties(city)[0], 6 + n % 5, start, mid,
                               delist=1 if n == 3 else 0)
        for county in self._counties(huzhou):
            self.boutiques(p, county, 9, start, mid)
        self.boutiques(p, "330326", 11, start, mid)
        # A transfer and a voided record, so the audit trail has both.
        moved = next(k for k in self.created["standard"] if k.startswith("T/ZZB 0523"))
        self.post(who.cities[huzhou], {"type": "record.transferred", "kind": "standard",
                                       "record": moved, "occurred_on": "2025-07-01",
                                       "data": {"to_tenant": "330522"}})
        self.post(p, {"type": "record.voided", "kind": "certification",
                      "record": self.created["certification"][0], "occurred_on": "2025-07-02",
                      "data": {"reason": "录入错误：重复登记"}})

    def _vary(self) -> float:
        """A county's own activity around its city's (0.6-1.4)."""
        return 0.6 + 0.8 * self.rng.random()

    def _opening(self, scope: Scope, tenant: str, measure: str, value: int, on: dt.date,
                 source: str) -> None:
        openings = self.plans.openings
        if any(o.tenant == tenant and o.measure == measure and o.on == on
               for o in openings.facts(self.plans.all())):
            return
        openings.record(scope, tenant, {"measure": measure, "value": value, "on": on,
                                        "source": source})

    def _target(self, scope: Scope, plan: str, tenant: str, indicator: str, value: int) -> None:
        view = self.plans.get(plan)
        current = view.target_for(tenant, indicator)
        if current is not None and current.get("value") == value:
            return
        self.plans.set_target(scope, plan, {"tenant": tenant, "indicator": indicator,
                                            "target": {"value": value, "comparator": ">="},
                                            "reason": DEMO_TARGET_REASON})


PROVINCE_SOURCE = "浙江省“十四五”质量强省建设规划 表2-1 基期值（2020年）"
HUZHOU_SOURCE = "湖州市“十三五”期间培育“品字标”企业200家（湖州市规划现实基础）"
DEMO_SPLIT_SOURCE = "演示数据：省级期初值按地区拆分（非统计数据）"
DEMO_TARGET_REASON = "演示分解：省级目标分解到设区市（非规划原文）"
# Cities in code order (杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水): their 2020
# 品字标 enterprises, 1,420 in all, 80 of the province's 1,500 not broken down to cities.
CITY_PINZIBIAO_2020 = [310, 260, 150, 110, 200, 120, 100, 40, 25, 70, 35]
STANDARD_SHARES = [0.2, 0.18, 0.1, 0.07, 0.1, 0.08, 0.09, 0.04, 0.03, 0.06, 0.05]
CITY_ACTIVITY = [1.2, 1.1, 0.9, 0.7, 1.0, 1.0, 0.6, 0.5, 0.4, 0.8, 0.7]
# Huzhou's five divisions (吴兴 南浔 德清 长兴 安吉): certificates, international items among
# them, standards (190 against the plan's 200), city awards, county awards, GIs.
HUZHOU_COUNTIES = [(14, 6, 44, 7, 28, 6), (9, 3, 33, 5, 19, 8), (12, 5, 41, 6, 26, 7),
                   (16, 7, 38, 8, 22, 9), (10, 4, 34, 4, 25, 5)]


__all__ = ["Demo", "REVIEW_DATE", "RegistryError"]
