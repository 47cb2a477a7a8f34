"""Smoke test of the DP benchmark: quick mode writes its files and all DPs agree."""

import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.strategies import optimal
from chainopt.experiments import dp_scaling


@pytest.mark.parametrize("dims", [[30, 35, 15, 5, 10, 20, 25], [5, 1, 7, 2, 2, 9]])
def test_the_three_dps_agree_with_cormen_and_each_other(dims):
    assert dp_scaling.textbook_cost(dims) == dp_scaling.numpy_cost(dims) == optimal(dims).cost
    if dims[0] == 30:
        assert dp_scaling.textbook_cost(dims) == 15125


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_writes_csv_png_markdown(tmp_path, draw, monkeypatch):
    if not draw:  # by default up to 16 factors, figures built; -m slow: the whole quick run (to 64), figures drawn
        monkeypatch.setattr(dp_scaling, "QUICK_SIZES", (4, 8, 16))
    with saving_figures(draw, dp_scaling) as figs:
        result = dp_scaling.main(tmp_path, quick=True)
    assert figs.names(tmp_path) == ["dp_scaling.csv", "dp_scaling.md", "dp_scaling.png"]
    df = pd.read_csv(tmp_path / "dp_scaling.csv")
    assert set(df["method"]) == {"chainopt", "numpy", "textbook"}
    assert sorted(df["factors"].unique()) == list(dp_scaling.QUICK_SIZES)
    assert (df.groupby("factors")["cost"].nunique() == 1).all()
    assert (df["seconds"] > 0).all() and (df["repeats"] >= 1).all()
    text = (tmp_path / "dp_scaling.md").read_text()
    assert "BLAS" in text and "date:" in text and "| factors |" in text
    figs.check(tmp_path / "dp_scaling.png")
    assert result["ratios"] == {256: None, 1000: None}


def test_a_slow_method_is_dropped_after_the_limit():
    df = dp_scaling.run((4, 8, 16), limit_seconds=0.0)
    # every method exceeds a zero limit on its first call, so only N=4 is measured
    assert sorted(df["factors"].unique()) == [4]
    assert np.all(df.groupby("method").size() == 1)
