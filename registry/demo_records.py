"""The demo's records: certificates, standards, awards, 浙江制造精品 listings and geographic
indications, each kind posted as its users would (mixed into registry.demo.Demo, which holds
the random generator, the tree, the holders and `post`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tenants.scope import Scope

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


class DemoRecords:
    """How the demo makes records of each kind."""

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

    def boutiques(self, scope: Scope, tenant: str, count: int, start: dt.date, end: dt.date,
                  delist: int = 0) -> None:
        """Products put on the 浙江制造精品 list (one list a year, in December)."""
        for n in range(count):
            day = self._day(start, end)
            listed = dt.date(day.year, 12, 20) if day.year < end.year else day
            key = f"JX-{tenant}-{listed.year}-{n:03d}"
            self.post(scope, {"type": "boutique.listed", "record": key, "tenant": tenant,
                              "occurred_on": listed.isoformat(), "data": {
                                  "holder": self._holder(tenant, fresh=False),
                                  "product": self.rng.choice(PRODUCTS), "list_year": listed.year,
                                  "list_batch": f"浙经信技术〔{listed.year}〕{90 + n % 9}号"}})
            if n < delist:
                self.post(scope, {"type": "boutique.delisted", "record": key,
                                  "occurred_on": end.isoformat(),
                                  "data": {"reason": "复核不合格，移出浙江制造精品名单"}})

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
