"""Smoke test of the peers benchmark: quick mode on tiny shapes writes its files; peers are optional."""

import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.experiments import jacobian_peers


def test_predicted_madds_count_every_layer_for_every_direction():
    # (4, 3, 2): dense 12, tanh 3, dense 6 -> 21 per direction
    assert jacobian_peers.predicted_madds((4, 3, 2)) == {"jacfwd": 4 * 21, "jacrev": 2 * 21}


def test_products_only_gives_the_same_jacobian_without_evaluating_an_activation():
    net = jacobian_peers.mlp([6, 5, 4, 3], seed=1)
    x = np.linspace(-1, 1, 6)
    floor = jacobian_peers.products_only(net, x)
    elsewhere = x + 0.5  # the activations are looked up, so the floor's Jacobian anywhere is the one at x
    for strategy in ("optimal", "fwd", "bwd", "preaccumulate"):
        expected = net.jacobian(x, strategy)
        np.testing.assert_array_equal(floor.jacobian(x, strategy), expected)
        np.testing.assert_array_equal(floor.jacobian(elsewhere, strategy), expected)
        assert not np.allclose(net.jacobian(elsewhere, strategy), expected)


def test_one_core_pins_and_restores():
    before = os.sched_getaffinity(0)
    with jacobian_peers.one_core() as cpu:
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before


def run_quick(tmp_path, monkeypatch, peers, draw=True):
    monkeypatch.setattr(jacobian_peers, "SHAPES", {"hourglass": (40, 20, 3, 20, 40), "funnel": (30, 20, 1)})
    with saving_figures(draw, jacobian_peers) as figs:
        result = jacobian_peers.main(tmp_path, quick=True, peers=peers)
    assert figs.names(tmp_path) == ["jacobian_peers.csv", "jacobian_peers.md", "jacobian_peers.png"]
    df = pd.read_csv(tmp_path / "jacobian_peers.csv")
    assert (df["max_rel_diff"] <= jacobian_peers.TOLERANCE).all()
    assert (df["q1_s"] <= df["median_s"]).all() and (df["median_s"] <= df["q3_s"]).all()
    assert df.set_index(["shape", "method"]).loc[("hourglass", "chainopt"), "widths"] == "2 1 1 1 2"  # // 20, >= 1
    text = (tmp_path / "jacobian_peers.md").read_text()
    assert "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" in text and "kernel" in text
    figs.check(tmp_path / "jacobian_peers.png")
    return result, df


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_alone_writes_csv_png_markdown(tmp_path, monkeypatch, draw):
    result, df = run_quick(tmp_path, monkeypatch, peers=(), draw=draw)
    assert set(df["method"]) == {"chainopt", jacobian_peers.FLOOR}
    assert result["ratios"] == {"hourglass": None, "funnel": None}
    assert result["notes"] == ["no peer asked for: chainopt alone"]
    assert df.set_index(["shape", "method"]).loc[("funnel", "chainopt"), "predicted_madds"] == 1 * 1 + 1 * 1


@pytest.mark.slow
def test_quick_main_with_the_installed_peers(tmp_path, monkeypatch):
    result, df = run_quick(tmp_path, monkeypatch, peers=("jax", "torch"))
    expected = {"chainopt", jacobian_peers.FLOOR}
    if importlib.util.find_spec("jax") is not None:
        expected |= {"jax.jacfwd", "jax.jacrev"}
    if importlib.util.find_spec("torch") is not None:
        expected |= {"torch.func.jacfwd", "torch.func.jacrev"}
    assert set(df["method"]) == expected
    if expected == {"chainopt", jacobian_peers.FLOOR}:
        assert result["ratios"] == {"hourglass": None, "funnel": None} and result["notes"]
    else:
        assert all(np.isfinite(r) and r > 0 for r in result["ratios"].values())
