"""`registry plans verify-seed` (issue 12): a synthetic history realising every
registry-countable result and 2020 baseline of the seed plans reads back as the seeds say."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main
from projections.plan_values import Counting
from projections.progress import ProgressEngine


def test_every_registry_countable_seed_figure_is_reproduced(tmp_path):
    result = CliRunner().invoke(main, ["plans", "verify-seed", "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines()[1:] if line.strip()]
    assert len(lines) == 27 and all(" yes " in line for line in lines)
    assert "27 of 27 seed figures reproduced" in result.output
    boutique = [line for line in lines if "zhejiang_made_boutique_products" in line]
    assert len(boutique) == 2 and all("1238" in line for line in boutique)
    pingyang = [line for line in lines if line.startswith("pingyang-14th-fyp-text ")]
    assert pingyang and "opening" in pingyang[0]  # 12 against 55 certified: an opening


def test_a_counting_regression_is_caught(tmp_path, monkeypatch):
    """If new counts were read as cumulative, the 13th-plan results would not come back."""
    original = ProgressEngine.counting

    def everything_cumulative(self, plan, indicator):
        counting, why = original(self, plan, indicator)
        return (Counting(counting.measure, counting.form) if counting else None), why

    monkeypatch.setattr(ProgressEngine, "counting", everything_cumulative)
    result = CliRunner().invoke(main, ["plans", "verify-seed", "--keep", str(tmp_path)])
    assert result.exit_code == 1
    assert " NO " in result.stdout and "differ" in result.output
