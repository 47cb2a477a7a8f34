"""time_interleaved's round orders: every function right after every other equally often, every place alike."""

from collections import Counter

import pytest

from chainopt.bench.harness import balanced_orders, time_interleaved


@pytest.mark.parametrize("n", range(1, 13))
def test_each_ordered_pair_is_adjacent_equally_often_and_each_place_is_held_equally_often(n):
    orders = balanced_orders(n)
    assert all(sorted(order) == list(range(n)) for order in orders)
    assert len(orders) == (1 if n == 1 else n if n % 2 == 0 else 2 * n)
    follows = Counter((o[i], o[i + 1]) for o in orders for i in range(n - 1))
    assert set(follows) == {(a, b) for a in range(n) for b in range(n) if a != b}
    assert len(set(follows.values())) <= 1
    places = Counter((o[i], i) for o in orders for i in range(n))
    assert len(places) == n * n and len(set(places.values())) == 1


def test_time_interleaved_runs_the_rounds_in_the_balanced_orders():
    calls = []
    funcs = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    time_interleaved(funcs, repeats=6, warmup=0, prime=False)
    rounds = ["".join(calls[3 * r: 3 * r + 3]) for r in range(6)]
    assert rounds == ["ABC", "BCA", "CAB", "CBA", "ACB", "BAC"]
