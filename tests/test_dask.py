"""execute_dask: a plan as a Dask graph gives run_plan's Jacobian on every scheduler; Dask stays optional."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from chainopt.core.factors import Factor
from chainopt.core.plan import Plan
from chainopt.core.strategies.generalized import generalized_dp, preaccumulate
from chainopt.core.strategies.sweeps import global_adjoint
from chainopt.errors import ChainoptError
from chainopt.execution.dask import execute_dask, plan_graph
from chainopt.execution.generalized import MatrixFactors, run_plan

dask = pytest.importorskip("dask")


class BlasThreadsProvider(MatrixFactors):
    """Formed Jacobians that also record how many BLAS threads each tangent/adjoint call ran with."""

    #: Shared by copies: a distributed scheduler works on a deserialized copy of the provider.
    shared = []

    def __init__(self, mats):
        super().__init__(mats)
        self.threads = []

    def _record(self):
        from threadpoolctl import threadpool_info

        n = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        self.threads.append(n)
        self.shared.append(n)

    def tangent(self, k, block):
        self._record()
        return super().tangent(k, block)

    def adjoint(self, k, block):
        self._record()
        return super().adjoint(k, block)


def problem(seed=0, q=9):
    """A chain mixing matrix-free dense, diagonal and given factors, and plans of several strategies."""
    rng = np.random.default_rng(seed)
    factors, mats, n = [], [], 6
    for k in range(q):
        kind = k % 3
        if kind == 1:
            factors.append(Factor(n_in=n, n_out=n, tangent=n, adjoint=n, diagonal=True))
            mats.append(rng.standard_normal(n))
            continue
        m = int(rng.integers(2, 12))
        if kind == 2:
            factors.append(Factor(n_in=n, n_out=m, given=True))
        else:
            cost = int(rng.integers(1, 3 * n * m))
            factors.append(Factor(n_in=n, n_out=m, tangent=cost, adjoint=cost, tape=cost))
        mats.append(rng.standard_normal((m, n)))
        n = m
    plans = [Plan.from_nodes(factors, s(factors)[1]) for s in (generalized_dp, global_adjoint, preaccumulate)]
    # a balanced tree of MULs: independent subtrees the scheduler can run at once
    plans.append(Plan.from_nodes(factors, {**{(k, k): ("ACC", k) for k in range(q)}, **balanced(0, q - 1)}))
    return factors, mats, plans


def balanced(lo, hi):
    if lo == hi:
        return {}
    mid = (lo + hi) // 2
    return {(lo, hi): ("MUL", mid), **balanced(lo, mid), **balanced(mid + 1, hi)}


def assert_same(J, ref):
    assert J.shape == ref.shape
    np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-12 * np.linalg.norm(ref))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    # in-process workers over TCP on the loopback (inproc:// takes no host); closed on teardown
    options = dict(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                   dashboard_address=None)
    with distributed.LocalCluster(**options) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_schedulers_agree_with_run_plan(scheduler):
    _, mats, plans = problem()
    for plan in plans:
        ref = run_plan(plan, MatrixFactors(mats))
        assert_same(execute_dask(plan, mats, scheduler=scheduler), ref)
        assert_same(execute_dask(plan, MatrixFactors(mats), scheduler=scheduler), ref)


@pytest.mark.slow
def test_processes_scheduler_ships_the_provider():
    _, mats, plans = problem(seed=2)
    assert_same(execute_dask(plans[0], mats, scheduler="processes"), run_plan(plans[0], MatrixFactors(mats)))


def test_distributed_client_agrees_with_run_plan(client):
    _, mats, plans = problem(seed=1)
    for plan in plans:
        assert_same(execute_dask(plan, mats, scheduler=client), run_plan(plan, MatrixFactors(mats)))
    BlasThreadsProvider.shared.clear()  # in-process workers: their copies' records are visible here
    provider = BlasThreadsProvider(mats)
    assert_same(execute_dask(plans[0], provider, scheduler=client), run_plan(plans[0], MatrixFactors(mats)))
    assert BlasThreadsProvider.shared and set(BlasThreadsProvider.shared) == {1}


def test_one_task_per_operation():
    factors, mats, plans = problem(q=7)
    for plan in plans:
        graph, key = plan_graph(plan, MatrixFactors(mats), name="t")
        ops = {(lo, hi) for _, lo, _, hi in plan.operations}
        given = {k for k, f in enumerate(factors) if f.given and (k, k) not in ops}
        tasks = {k[1:] for k in graph if isinstance(k, tuple)}
        assert tasks == ops | {(k, k) for k in given}
        assert key == ("t", 0, 6) and len(graph) == len(ops) + len(given) + 2  # + the plan and the provider


def test_single_and_diagonal_results_are_full_new_matrices():
    d = np.array([1.0, 2.0, 3.0])
    one = Plan.parse("A1", [Factor(n_in=3, n_out=3, given=True, diagonal=True)])
    assert_same(execute_dask(one, [d], scheduler="sync"), np.diag(d))
    W = np.arange(6.0).reshape(3, 2)
    J = execute_dask(Plan.parse("A1", [Factor(n_in=2, n_out=3, given=True)]), [W], scheduler="threads")
    assert_same(J, W) and not np.shares_memory(J, W)


def test_blas_is_held_to_one_thread_in_parallel_tasks_and_restored():
    from threadpoolctl import threadpool_info

    if not any(i["user_api"] == "blas" for i in threadpool_info()):
        pytest.skip("threadpoolctl sees no BLAS library to limit")

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    _, mats, plans = problem()
    before = blas_threads()
    provider = BlasThreadsProvider(mats)
    execute_dask(plans[0], provider, scheduler="threads")
    assert provider.threads and set(provider.threads) == {1}
    assert blas_threads() == before
    provider = BlasThreadsProvider(mats)
    execute_dask(plans[0], provider, scheduler="sync")
    assert set(provider.threads) == {before}


def test_bad_scheduler_and_inputs():
    _, mats, plans = problem()
    with pytest.raises(ChainoptError, match="unknown scheduler 'distributed'"):
        execute_dask(plans[0], mats, scheduler="distributed")
    with pytest.raises(ChainoptError, match="distributed.Client"):
        execute_dask(plans[0], mats, scheduler=4)
    with pytest.raises(ChainoptError, match="provider"):
        execute_dask(plans[0], 3.0, scheduler="sync")


def test_without_dask_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    _, mats, plans = problem()
    with pytest.raises(ChainoptError, match=r'pip install "chainopt\[dask\]"'):
        execute_dask(plans[0], mats)


def test_import_chainopt_does_not_import_dask():
    code = "import sys, chainopt, chainopt.execution.dask; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
