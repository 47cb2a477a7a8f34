"""The agreement check keeps its meaning at any length and dtype (issue 12).

The oracle for "corrupted" is a product with one entry changed, built here;
the check must refuse it on a 101-dim float32 chain, where the old worst-case
bound |A_N| ... |A_1| overflowed to inf, and must accept every honest order.
"""

import functools
import warnings

import numpy as np
import pytest

import chainopt as co
from chainopt.bench.check import check_results, tolerance
from chainopt.bench.harness import TimingSpreadWarning
from chainopt.core.chain import Chain
from chainopt.errors import ResultMismatchError
from chainopt.execution import written_order

LONG = [int(d) for d in np.random.default_rng(12).integers(20, 101, size=101)]


@pytest.fixture(scope="module")
def long_float32():
    mats = co.random_jacobians(LONG, seed=3, dtype=np.float32)
    return Chain(LONG), mats, written_order(mats)


def test_honest_orders_pass_on_a_long_float32_chain_without_warnings(long_float32):
    chain, mats, written = long_float32
    funcs = {s: functools.partial(co.multiply, mats, s) for s in ("fwd", "bwd", "optimal")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning leaking would fail here
        rel = check_results(funcs, written, chain, dict.fromkeys(funcs, "plan"))
    assert all(0 < r <= tolerance(chain, np.float32) for r in rel.values())
    assert tolerance(chain, np.float32) < 1e-3  # finite and small: the check can fire


@pytest.mark.parametrize("entry, change", [((0, 0), 0.1), ((-1, 5), -0.1), ((3, -1), 0.02)])
def test_one_corrupted_entry_is_caught_on_a_long_float32_chain(long_float32, entry, change):
    chain, mats, written = long_float32
    good = co.multiply(mats, "optimal")
    bad = good.copy()
    bad[entry] += change * np.abs(good).max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ResultMismatchError, match=r"strategy 'optimal' \(P\) disagrees"):
            check_results({"optimal": lambda: bad}, written, chain, {"optimal": "P"})


def test_a_non_finite_result_is_caught():
    a, b = np.eye(3), 2 * np.eye(3)
    out = b @ a
    out[1, 2] = np.nan
    with pytest.raises(ResultMismatchError, match="max relative difference inf at entry \\(1, 2\\)"):
        check_results({"fwd": lambda: out}, [b, a], Chain([3, 3, 3]), {"fwd": "A2 A1"})


def test_benchmark_on_the_long_float32_chain_is_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", TimingSpreadWarning)  # one repeat: no spread; noise is not the subject
        res = co.benchmark(LONG, dtype="float32", repeats=1, peak_size=None, strategies=["optimal"],
                           min_time=0)
    assert (res.summary["max_rel_diff"] < tolerance(Chain(LONG), np.float32)).all()
