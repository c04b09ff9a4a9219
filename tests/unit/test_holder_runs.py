"""A holder's intervals: one per piece for each run of tenants up a lineage that count the
holder alike (`projections.timeline.holder_intervals`). Spread over the tenants of their
runs, they are exactly the pieces of every tenant whose subtree holds a fact, one row per
ancestor as they were stored before; and they do not depend on the order of the facts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.families import Family
from projections.timeline import Rule, _pieces, holder_intervals
from tests.helpers import SIX_TENANTS, six_tenant_lineage

PARENT, lineage = SIX_TENANTS, six_tenant_lineage


def fact(form: str):
    years = st.none() if form == "held" else st.integers(2019, 2022)
    return st.integers(0, 40).flatmap(lambda start: st.tuples(
        st.sampled_from(sorted(PARENT)), st.just(start),
        st.none() | st.integers(start + 1, 50), years))


def rule_of(form: str) -> Rule:
    return Rule(Family("certification.holders_valid", "certification", form,
                       frozenset({"valid"}), distinct="holder"))


@given(st.sampled_from(["held", "ever"]).flatmap(
    lambda form: st.tuples(st.just(form), st.lists(fact(form), max_size=6), st.randoms())))
def test_the_runs_spread_over_their_tenants_are_every_ancestors_pieces(case):
    form, facts, random = case
    rule = rule_of(form)
    per_ancestor = sorted(
        (code, rule.metric(year), start, end)
        for code in PARENT
        for group in [[f for f in facts if code in lineage(f[0])]] if group
        for start, end, year in _pieces(group))
    intervals = holder_intervals(rule, facts, lineage)
    spread = []
    for tenant, metric, start, end, up_to in intervals:
        run = lineage(tenant)
        assert up_to in run
        spread += [(code, metric, start, end) for code in run[:run.index(up_to) + 1]]
    assert sorted(spread) == per_ancestor
    shuffled = list(facts)
    random.shuffle(shuffled)
    assert sorted(holder_intervals(rule, shuffled, lineage), key=repr) == \
        sorted(intervals, key=repr)


def test_a_holder_in_one_county_is_one_row_up_to_the_province():
    rule = rule_of("held")
    assert holder_intervals(rule, [("330523", 3, 9, None), ("330523", 5, 12, None)],
                            lineage) == [("330523", "certification.holders_valid", 3, 12,
                                          "330000")]
