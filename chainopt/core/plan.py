"""Plans: full binary bracketings of a chain of Jacobians.

A plan says in which order the factors ``A_1, ..., A_{N-1}`` of a chain are
multiplied. It is written as in mathematics, output side on the left, with
1-based names: for four factors forward mode is ``A4 (A3 (A2 A1))``, reverse
mode is ``((A4 A3) A2) A1`` and an hourglass optimum may be
``(A4 A3) (A2 A1)``.

Internally a plan is the set of its *splits*: the product of factors
``lo..hi`` (0-based, inclusive) is ``(A_hi ... A_{mid+1}) @ (A_mid ... A_lo)``
for one ``mid``. Every walk over a plan is a loop, never recursion, so plans
of thousands of factors work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from chainopt.core.chain import Chain, as_chain
from chainopt.core.costs import mul_cost
from chainopt.errors import PlanSyntaxError

__all__ = ["Plan", "Step"]

Interval = tuple[int, int]


def _label(lo: int, hi: int) -> str:
    """1-based name of the product of factors ``lo..hi`` (0-based), output side first."""
    return f"A{lo + 1}" if lo == hi else f"A{hi + 1}..A{lo + 1}"


@dataclass(frozen=True)
class Step:
    """One pairwise product of a plan.

    Attributes
    ----------
    index : int
        1-based position in the plan's execution order.
    left, right : str
        The operands, output side (left) and input side (right), named by
        their factor ranges, e.g. ``'A4..A3'`` and ``'A2'``.
    left_shape, right_shape, shape : tuple of int
        Shapes of the two operands and of the result.
    cost : int
        Multiply-adds of this product, ``m * p * q``.
    factors : tuple of int
        ``(lo, mid, hi)``, 1-based: the step computes
        ``(A_hi ... A_{mid+1}) @ (A_mid ... A_lo)``.
    """

    index: int
    left: str
    right: str
    left_shape: tuple[int, int]
    right_shape: tuple[int, int]
    shape: tuple[int, int]
    cost: int
    factors: tuple[int, int, int]


@dataclass(frozen=True, eq=True)
class Plan:
    """An immutable full binary bracketing of a chain's factors.

    Build plans with :func:`chainopt.core.plan` (by strategy name),
    :meth:`Plan.parse` (from text) or :meth:`Plan.from_splits`.

    Attributes
    ----------
    chain : Chain
        The chain whose factors the plan multiplies.
    splits : tuple of (int, int, int)
        The plan's products in execution order, each ``(lo, mid, hi)`` with
        0-based factor indices: ``(A_hi ... A_{mid+1}) @ (A_mid ... A_lo)``.
        Execution order is post-order with the input-side operand computed
        before the output-side one.

    Examples
    --------
    >>> plan = Plan.parse("(A4 A3) (A2 A1)", [100, 1000, 10, 1000, 100])
    >>> plan.cost, plan.peak_memory, plan.depth
    (2100000, 12000, 2)
    >>> [(s.left, s.right, s.shape, s.cost) for s in plan.steps]
    [('A2', 'A1', (10, 100), 1000000), ('A4', 'A3', (100, 10), 1000000), ('A4..A3', 'A2..A1', (100, 100), 100000)]
    """

    chain: Chain
    splits: tuple[tuple[int, int, int], ...]

    def __init__(self, chain, splits):
        chain = as_chain(chain)
        if isinstance(splits, Mapping):
            split_of = dict(splits)
        else:
            split_of = {}
            for lo, mid, hi in splits:
                if (lo, hi) in split_of:
                    raise PlanSyntaxError(f"the product of factors {_label(lo, hi)} is split twice")
                split_of[(lo, hi)] = mid
        object.__setattr__(self, "chain", chain)
        object.__setattr__(self, "splits", _execution_order(split_of, chain.n_factors))

    @classmethod
    def from_splits(cls, chain, split_of: Mapping[Interval, int]) -> "Plan":
        """A plan from ``{(lo, hi): mid}`` (0-based, inclusive) covering the whole chain."""
        return cls(chain, split_of)

    @classmethod
    def parse(cls, text: str, chain) -> "Plan":
        """Read a plan written as :meth:`__str__` writes it.

        Factors are ``A1 .. A{N-1}`` (1-based), output side on the left, every
        product of two operands bracketed except the outermost one. Extra
        spaces and redundant parentheses are allowed.

        Raises
        ------
        PlanSyntaxError
            On unknown tokens, unbalanced parentheses, a bracket holding more
            than two operands, factors out of order, missing or repeated.

        Examples
        --------
        >>> str(Plan.parse(" ((A3  A2) A1) ", [5, 4, 3, 2]))
        '(A3 A2) A1'
        """
        chain = as_chain(chain)
        if not isinstance(text, str):
            raise PlanSyntaxError(f"a plan must be a string, got {type(text).__name__}")
        n = chain.n_factors
        split_of: dict[Interval, int] = {}
        groups: list[list[Interval]] = [[]]  # open brackets, each a list of operands
        pos = 0
        # factor names exactly as str() writes them: A, then digits without a leading zero
        for match in re.finditer(r"\s*(?:(A)([1-9][0-9]*)(?![0-9A-Za-z_])|([()])|(\S))", text, flags=re.ASCII):
            pos = match.end()
            if match.group(4) is not None:
                raise PlanSyntaxError(
                    f"unexpected {match.group(4)!r} at position {match.start(4)} in {text!r}; "
                    f"a plan uses only the factors A1..A{n} (separated by spaces), parentheses and spaces"
                )
            if match.group(1):
                k = int(match.group(2))
                if not 1 <= k <= n:
                    raise PlanSyntaxError(
                        f"factor A{k} in {text!r} does not exist: the chain has factors A1..A{n}"
                    )
                groups[-1].append((k - 1, k - 1))
                if len(groups[-1]) > 2:
                    raise PlanSyntaxError(_too_many(text, match.start()))
            elif match.group(3) == "(":
                groups.append([])
            else:
                if len(groups) == 1:
                    raise PlanSyntaxError(f"unbalanced ')' at position {match.start(3)} in {text!r}")
                operand = _combine(groups.pop(), split_of, text)
                groups[-1].append(operand)
                if len(groups[-1]) > 2:
                    raise PlanSyntaxError(_too_many(text, match.start()))
        if text[pos:].strip() or len(groups) != 1:
            raise PlanSyntaxError(f"unbalanced '(' in {text!r}")
        lo, hi = _combine(groups[0], split_of, text)
        if (lo, hi) != (0, n - 1):
            missing = [f"A{k + 1}" for k in range(n) if not lo <= k <= hi]
            raise PlanSyntaxError(f"{text!r} leaves out {', '.join(missing)} of the chain's A1..A{n}")
        return cls(chain, split_of)

    # -- derived facts ---------------------------------------------------------

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The pairwise products in execution order (see :class:`Step`)."""
        d = self.chain.dims
        out = []
        for index, (lo, mid, hi) in enumerate(self.splits, start=1):
            out.append(
                Step(
                    index=index,
                    left=_label(mid + 1, hi),
                    right=_label(lo, mid),
                    left_shape=(d[hi + 1], d[mid + 1]),
                    right_shape=(d[mid + 1], d[lo]),
                    shape=(d[hi + 1], d[lo]),
                    cost=mul_cost(d[hi + 1], d[mid + 1], d[lo]),
                    factors=(lo + 1, mid + 1, hi + 1),
                )
            )
        return tuple(out)

    @cached_property
    def cost(self) -> int:
        """Total multiply-adds, the sum of the steps' costs (an exact ``int``)."""
        d = self.chain.dims
        return sum(mul_cost(d[hi + 1], d[mid + 1], d[lo]) for lo, mid, hi in self.splits)

    @cached_property
    def peak_memory(self) -> int:
        """The most matrix entries held in intermediate products at once.

        The steps run in order. A step's result is allocated while both of
        its operands are still alive; an intermediate is freed as soon as the
        step consuming it has finished. The input Jacobians are not counted;
        the final result is (it is an intermediate the plan allocates). A
        single-factor chain needs no product and has peak memory 0.
        """
        d = self.chain.dims
        live: dict[Interval, int] = {}
        current = peak = 0
        for lo, mid, hi in self.splits:
            size = d[hi + 1] * d[lo]
            peak = max(peak, current + size)
            for operand in ((lo, mid), (mid + 1, hi)):
                current -= live.pop(operand, 0)
            live[(lo, hi)] = size
            current += size
        return peak

    @cached_property
    def depth(self) -> int:
        """The most products on a path from an input factor to the result."""
        depth: dict[Interval, int] = {}
        for lo, mid, hi in self.splits:
            depth[(lo, hi)] = 1 + max(depth.get((lo, mid), 0), depth.get((mid + 1, hi), 0))
        return depth.get((0, self.chain.n_factors - 1), 0)

    @cached_property
    def _text(self) -> str:
        text: dict[Interval, str] = {}

        def operand(lo: int, hi: int) -> str:
            return f"A{lo + 1}" if lo == hi else f"({text.pop((lo, hi))})"

        for lo, mid, hi in self.splits:
            text[(lo, hi)] = f"{operand(mid + 1, hi)} {operand(lo, mid)}"
        return text.get((0, self.chain.n_factors - 1), "A1")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Plan({self._text!r}, chain=Chain({list(self.chain.dims)}))"


def _too_many(text: str, position: int) -> str:
    return (
        f"more than two operands in one bracket at position {position} in {text!r}; "
        "a product has exactly two operands, so bracket every pair, e.g. '(A3 A2) A1'"
    )


def _combine(operands: list[Interval], split_of: dict[Interval, int], text: str) -> Interval:
    """Turn a bracket's one or two operands into one, recording the split."""
    if not operands:
        raise PlanSyntaxError(f"empty brackets '()' in {text!r}")
    if len(operands) == 1:
        return operands[0]
    (left_lo, left_hi), (right_lo, right_hi) = operands
    if left_lo != right_hi + 1:
        raise PlanSyntaxError(
            f"{_label(left_lo, left_hi)} cannot multiply {_label(right_lo, right_hi)} in {text!r}: "
            "factors must be written in descending order, output side (highest) first, "
            "each exactly once"
        )
    split_of[(right_lo, left_hi)] = right_hi
    return (right_lo, left_hi)


def _execution_order(split_of: Mapping[Interval, int], n_factors: int):
    """Post-order list of ``(lo, mid, hi)``, input side first; checks the bracketing is full."""
    order = []
    stack: list[tuple[int, int, bool]] = [(0, n_factors - 1, False)]
    while stack:
        lo, hi, children_done = stack.pop()
        if lo == hi:
            continue
        mid = split_of.get((lo, hi))
        if mid is None or not lo <= mid < hi:
            raise PlanSyntaxError(
                f"the product {_label(lo, hi)} has no valid split (got {mid!r}); "
                "a plan must bracket every product of two or more factors"
            )
        if children_done:
            order.append((lo, mid, hi))
        else:
            stack.append((lo, hi, True))
            stack.append((mid + 1, hi, False))  # output side: computed second
            stack.append((lo, mid, False))  # input side: computed first
    if len(order) != max(n_factors - 1, 0) or len(split_of) != len(order):
        extra = sorted(set(split_of) - {(lo, hi) for lo, _, hi in order})
        raise PlanSyntaxError(f"splits {extra} do not belong to a bracketing of {n_factors} factors")
    return tuple(order)
