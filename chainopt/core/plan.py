"""Plans: how a chain's Jacobian is computed, operation by operation.

A plan is a full binary tree over the factors ``F_1 ... F_q`` (for a chain of
formed Jacobians, ``A_1 ... A_{N-1}``). Its internal nodes are MUL (the
product of two sub-chain Jacobians), TAN (a sub-chain Jacobian extended by the
next factor's tangent) or ADJ (extended by the previous factor's adjoint); its
leaves are given Jacobians or ACC (a factor's Jacobian preaccumulated). It is
written as in mathematics, output side on the left, with 1-based names (see
:mod:`chainopt.core.notation`): for four formed factors forward mode is
``A4 (A3 (A2 A1))``, reverse mode ``((A4 A3) A2) A1``, and the global tangent
sweep of matrix-free factors ``F4 (F3 (F2 A1))``.

Internally a plan is the list of its operations in execution order,
``(op, lo, mid, hi)`` over 0-based inclusive factor ranges:

* MUL: ``(A_hi ... A_{mid+1}) @ (A_mid ... A_lo)``;
* TAN (``mid == hi - 1``): the range ``lo..hi-1`` extended by factor ``hi``;
* ADJ (``mid == lo``): the range ``lo+1..hi`` extended by factor ``lo``;
* ACC (``lo == mid == hi``): factor ``lo`` preaccumulated (never for given
  factors, which cost nothing).

Every walk is a loop, never recursion, so plans of millions of factors work.
Every cost comes from :mod:`chainopt.core.costs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from chainopt.core import notation
from chainopt.core.chain import Chain, as_chain
from chainopt.core.costs import acc_cost, adj_cost, mul_cost, tan_cost
from chainopt.core.factors import Factor, as_factors
from chainopt.errors import ChainoptError, PlanSyntaxError

__all__ = ["Plan", "Step", "as_problem"]

Interval = tuple[int, int]
_label = notation.range_label


def as_problem(chain_or_factors) -> tuple[Chain, tuple[Factor, ...] | None]:
    """The dims chain and, for a generalized chain, its factors (``None`` for formed Jacobians).

    A :class:`Chain` or a sequence of ints is a chain of formed Jacobians; a
    sequence of :class:`Factor` (or one Factor) a generalized chain.

    Examples
    --------
    >>> as_problem([2, 3, 4])
    (Chain(dims=(2, 3, 4)), None)
    >>> chain, factors = as_problem([Factor(n_in=2, n_out=3, tangent=6, adjoint=6)])
    >>> chain.dims, len(factors)
    ((2, 3), 1)
    """
    if isinstance(chain_or_factors, Chain):
        return chain_or_factors, None
    if isinstance(chain_or_factors, Factor) or (
        isinstance(chain_or_factors, (list, tuple))
        and chain_or_factors
        and isinstance(chain_or_factors[0], (Factor, Mapping))
    ):
        factors = as_factors(chain_or_factors)
        return Chain([factors[0].n_in, *(f.n_out for f in factors)]), factors
    return as_chain(chain_or_factors), None


@dataclass(frozen=True)
class Step:
    """One operation of a plan.

    Attributes
    ----------
    index : int
        1-based position in the plan's execution order.
    left, right : str
        The operands, output side (left) and input side (right), named by
        their factor ranges (``'A4..A3'``, ``'A2'``), or ``'F3'`` for a factor
        applied matrix-free. An ACC has ``left='F3'`` and ``right=''``.
    left_shape, right_shape, shape : tuple of int
        Shapes of the two operands and of the result (an ACC's right operand
        is the block of unit directions it pushes through).
    cost : int
        Multiply-adds of this operation (from :mod:`chainopt.core.costs`).
    factors : tuple of int
        ``(lo, mid, hi)``, 1-based (see the module docstring).
    op : str
        ``'MUL'``, ``'TAN'``, ``'ADJ'`` or ``'ACC'``.
    mode : str
        How an ACC forms its Jacobian: ``'TAN'`` or ``'ADJ'`` (``''`` otherwise).
    tape : int
        Tape entries the operation's adjoint needs (0 without adjoint).
    """

    index: int
    left: str
    right: str
    left_shape: tuple[int, int]
    right_shape: tuple[int, int]
    shape: tuple[int, int]
    cost: int
    factors: tuple[int, int, int]
    op: str = "MUL"
    mode: str = ""
    tape: int = 0


@dataclass(frozen=True, eq=False)
class Plan:
    """An immutable plan for computing a chain's Jacobian.

    Build plans with :func:`chainopt.plan` (by strategy name),
    :meth:`Plan.parse` (from text), :meth:`Plan.from_splits` or
    :meth:`Plan.from_nodes`.

    Attributes
    ----------
    chain : Chain
        The dims ``(n_1, ..., n_N)`` the plan's factors chain.
    factors : tuple of Factor or None
        The generalized chain's factors; ``None`` for formed Jacobians.
    memory_limit : int or None
        The tape-memory limit the plan respects (``None``: unlimited).
    operations : tuple of (str, int, int, int)
        ``(op, lo, mid, hi)`` in execution order (0-based; see the module
        docstring). Inputs are computed before outputs: for a MUL the
        input-side operand first.

    Examples
    --------
    >>> plan = Plan.parse("(A4 A3) (A2 A1)", [100, 1000, 10, 1000, 100])
    >>> plan.cost, plan.peak_memory, plan.depth
    (2100000, 12000, 2)
    >>> [(s.left, s.right, s.shape, s.cost) for s in plan.steps]
    [('A2', 'A1', (10, 100), 1000000), ('A4', 'A3', (100, 10), 1000000), ('A4..A3', 'A2..A1', (100, 100), 100000)]
    >>> f = Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762)
    >>> g = Factor(n_in=8, n_out=3, given=True)
    >>> p = Plan.parse("A2 A1", [f, g])
    >>> [(s.op, s.mode, s.cost) for s in p.steps]
    [('ACC', 'ADJ', 62096), ('MUL', '', 1008)]
    """

    chain: Chain
    operations: tuple[tuple[str, int, int, int], ...]
    factors: tuple[Factor, ...] | None = None
    memory_limit: int | None = None
    machines: int | None = 1
    schedule: tuple | None = None
    acc_mode: str | None = None

    def __init__(self, chain, splits=None, *, nodes=None, memory_limit=None, machines=1, schedule=None,
                 acc_mode=None):
        chain, factors = as_problem(chain)
        if (splits is None) == (nodes is None):
            raise ChainoptError("a Plan needs exactly one of splits (MUL only) or nodes")
        if nodes is None:
            if isinstance(splits, Mapping):
                nodes = {key: ("MUL", mid) for key, mid in splits.items()}
            else:
                nodes = {}
                for lo, mid, hi in splits:
                    if (lo, hi) in nodes:
                        raise PlanSyntaxError(f"the product of factors {_label(lo, hi)} is split twice")
                    nodes[(lo, hi)] = ("MUL", mid)
        object.__setattr__(self, "chain", chain)
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "memory_limit", memory_limit)
        object.__setattr__(self, "machines", machines)
        object.__setattr__(self, "schedule", schedule)
        if acc_mode not in (None, "TAN", "ADJ"):
            raise ChainoptError(f"acc_mode must be None (the cheaper), 'TAN' or 'ADJ', got {acc_mode!r}")
        object.__setattr__(self, "acc_mode", acc_mode)
        object.__setattr__(self, "operations", _execution_order(nodes, chain.n_factors, factors))
        if memory_limit is not None and factors is not None:
            for op, lo, _, hi in self.operations:
                if op == "ADJ" and factors[lo].tape > memory_limit:
                    raise PlanSyntaxError(
                        f"the adjoint of F{lo + 1} needs a tape of {factors[lo].tape:,} entries but the memory "
                        f"limit is {memory_limit:,}"
                    )

    @classmethod
    def from_splits(cls, chain, split_of: Mapping[Interval, int]) -> Plan:
        """A plan of products from ``{(lo, hi): mid}`` (0-based, inclusive) covering the whole chain."""
        return cls(chain, split_of)

    @classmethod
    def from_nodes(cls, chain, nodes: Mapping[Interval, tuple[str, int]], *, memory_limit=None, machines=1,
                   schedule=None, acc_mode=None) -> Plan:
        """A plan from ``{(lo, hi): (op, mid)}`` as the generalized strategies return it.

        ``schedule`` (the operations placed on ``machines`` workers, each with
        ``worker``, ``start`` and ``end``) comes from the makespan strategy;
        ``acc_mode`` forces how factors are preaccumulated (``'TAN'`` for the
        global tangent sweep; ``None``: the cheaper way).
        """
        return cls(chain, nodes=nodes, memory_limit=memory_limit, machines=machines, schedule=schedule,
                   acc_mode=acc_mode)

    @classmethod
    def parse(cls, text: str, chain, *, memory_limit=None) -> Plan:
        """Read a plan written as :meth:`__str__` writes it.

        Factors are ``A1 .. A{q}`` (1-based), or ``F1 .. F{q}`` applied
        matrix-free, output side on the left, every product of two operands
        bracketed except the outermost one. Extra spaces and redundant
        parentheses are allowed.

        Raises
        ------
        PlanSyntaxError
            On unknown tokens, unbalanced parentheses, a bracket holding more
            than two operands, factors out of order, missing or repeated, or an
            adjoint whose tape exceeds ``memory_limit``.

        Examples
        --------
        >>> str(Plan.parse(" ((A3  A2) A1) ", [5, 4, 3, 2]))
        '(A3 A2) A1'
        """
        chain_, _ = as_problem(chain)
        return cls(chain, nodes=notation.parse_nodes(text, chain_.n_factors), memory_limit=memory_limit)

    # -- equality: two plans are equal when they do the same operations on the same problem -------

    @cached_property
    def _key(self):
        factors = self.factors
        if factors is not None and all(f == Factor(n_in=f.n_in, n_out=f.n_out, given=True) for f in factors):
            factors = None  # given dense factors are the formed-Jacobian problem
        return (self.chain.dims, self.operations, factors, self.memory_limit if factors else None,
                self.acc_mode if factors else None)

    def __eq__(self, other):
        return isinstance(other, Plan) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    # -- derived facts ---------------------------------------------------------------------------

    @cached_property
    def splits(self) -> tuple[tuple[int, int, int], ...]:
        """The plan's products ``(lo, mid, hi)`` in execution order (all its operations, for formed Jacobians)."""
        return tuple((lo, mid, hi) for op, lo, mid, hi in self.operations if op == "MUL")

    @cached_property
    def _diagonal_prefix(self) -> tuple[int, ...]:
        flags = (f.diagonal for f in self.factors) if self.factors else ()
        return (0, *accumulate(int(d) for d in flags))

    def _is_diagonal(self, lo: int, hi: int) -> bool:
        """Whether the Jacobian of factors ``lo..hi`` is diagonal (all of them are)."""
        prefix = self._diagonal_prefix
        return len(prefix) > 1 and prefix[hi + 1] - prefix[lo] == hi - lo + 1

    def _entries(self, lo: int, hi: int) -> int:
        """Matrix entries of the Jacobian of factors ``lo..hi`` (the diagonal only, if diagonal)."""
        d = self.chain.dims
        return d[lo] if self._is_diagonal(lo, hi) else d[hi + 1] * d[lo]

    def _step(self, index: int, op: str, lo: int, mid: int, hi: int) -> Step:
        d = self.chain.dims
        shape = (d[hi + 1], d[lo])
        f = self.factors
        if op == "MUL":
            return Step(index, _label(mid + 1, hi), _label(lo, mid), (d[hi + 1], d[mid + 1]), (d[mid + 1], d[lo]),
                        shape, mul_cost(d[hi + 1], d[mid + 1], d[lo], left_diagonal=self._is_diagonal(mid + 1, hi),
                                        right_diagonal=self._is_diagonal(lo, mid)), (lo + 1, mid + 1, hi + 1))
        if op == "TAN":
            return Step(index, f"F{hi + 1}", _label(lo, hi - 1), (d[hi + 1], d[hi]), (d[hi], d[lo]), shape,
                        tan_cost(d[lo], f[hi].tangent), (lo + 1, mid + 1, hi + 1), op="TAN")
        if op == "ADJ":
            return Step(index, _label(lo + 1, hi), f"F{lo + 1}", (d[hi + 1], d[lo + 1]), (d[lo + 1], d[lo]), shape,
                        adj_cost(d[hi + 1], f[lo].adjoint), (lo + 1, mid + 1, hi + 1), op="ADJ", tape=f[lo].tape)
        factor = f[lo]
        cost, mode = self._acc(factor)
        seeds = (1 if factor.diagonal else factor.n_in) if mode == "TAN" else (1 if factor.diagonal else factor.n_out)
        seeded = (factor.n_in, seeds) if mode == "TAN" else (seeds, factor.n_out)
        return Step(index, f"F{lo + 1}", "", factor.shape, seeded, shape, cost, (lo + 1, lo + 1, lo + 1),
                    op="ACC", mode=mode, tape=factor.tape if mode == "ADJ" else 0)

    def _acc(self, factor: Factor) -> tuple[int, str]:
        fits = self.memory_limit is None or factor.tape <= self.memory_limit
        return acc_cost(factor.n_in, factor.n_out, factor.tangent, factor.adjoint, diagonal=factor.diagonal,
                        given=factor.given, adjoint_allowed=fits, mode=self.acc_mode)

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The operations in execution order (see :class:`Step`)."""
        return tuple(self._step(i, *operation) for i, operation in enumerate(self.operations, start=1))

    @cached_property
    def cost(self) -> int:
        """Total multiply-adds, the sum of the steps' costs (an exact ``int``)."""
        if self.factors is None:  # the fast path for formed Jacobians (no Step objects)
            d = self.chain.dims
            return sum(mul_cost(d[hi + 1], d[mid + 1], d[lo]) for lo, mid, hi in self.splits)
        return sum(step.cost for step in self.steps)

    @property
    def makespan(self) -> int:
        """Multiply-adds from start to finish on the plan's ``machines`` (``cost`` on one machine)."""
        return max((op.end for op in self.schedule), default=0) if self.schedule else self.cost

    @cached_property
    def peak_memory(self) -> int:
        """The most matrix entries held in intermediates at once.

        The operations run in order. A result is allocated while its operands
        are still alive; an intermediate is freed as soon as the operation
        consuming it has finished. Given Jacobians are inputs and not counted;
        preaccumulated ones and the final result are (a diagonal Jacobian
        counts its diagonal). A single given factor needs no operation and
        has peak memory 0. Tapes are not counted here (see :class:`Step`).
        """
        live: dict[Interval, int] = {}
        current = peak = 0
        for op, lo, mid, hi in self.operations:
            size = self._entries(lo, hi)
            peak = max(peak, current + size)
            operands = {"MUL": ((lo, mid), (mid + 1, hi)), "TAN": ((lo, hi - 1),), "ADJ": ((lo + 1, hi),)}
            for operand in operands.get(op, ()):
                current -= live.pop(operand, 0)
            live[(lo, hi)] = size
            current += size
        return peak

    @cached_property
    def depth(self) -> int:
        """The most operations on a path from an input factor to the result."""
        depth: dict[Interval, int] = {}
        for op, lo, mid, hi in self.operations:
            children = {"MUL": ((lo, mid), (mid + 1, hi)), "TAN": ((lo, hi - 1),), "ADJ": ((lo + 1, hi),)}
            depth[(lo, hi)] = 1 + max((depth.get(c, 0) for c in children.get(op, ())), default=0)
        return depth.get((0, self.chain.n_factors - 1), 0)

    @cached_property
    def _text(self) -> str:
        return notation.render({}, self.operations, self.chain.n_factors)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        if self.factors is None:
            return f"Plan({self._text!r}, chain=Chain({list(self.chain.dims)}))"
        limit = "" if self.memory_limit is None else f", memory_limit={self.memory_limit}"
        machines = "" if self.machines == 1 else f", machines={self.machines}"
        return f"Plan({self._text!r}, factors={len(self.factors)}{limit}{machines})"


def _execution_order(nodes: Mapping, n_factors: int, factors) -> tuple:
    """Post-order list of ``(op, lo, mid, hi)``, input side first; checks the tree is full.

    A loop over an explicit stack (a node is pushed once to expand it and once,
    negated in ``hi``, to emit it), so a million-factor plan takes about a second.
    """
    order = []
    append = order.append
    seen = 0
    formed_only = factors is None
    stack = [(0, n_factors - 1)]
    pop, push = stack.pop, stack.append
    get = nodes.get
    while stack:
        lo, hi = pop()
        if hi < 0:  # children done: emit
            hi = ~hi
            op, mid = nodes[(lo, hi)]
            append((op, lo, mid, hi))
            continue
        if lo == hi:
            node = get((lo, hi))
            if node is not None:
                if node[0] != "ACC":
                    raise PlanSyntaxError(f"factor {_label(lo, hi)} is a leaf; its node must be ACC, got {node[0]!r}")
                seen += 1
            if not formed_only and not factors[lo].given:
                append(("ACC", lo, lo, lo))
            continue
        op, mid = get((lo, hi), (None, None))
        seen += 1
        push((lo, ~hi))
        if op == "MUL" and type(mid) is int and lo <= mid < hi:
            push((mid + 1, hi))  # output side: computed second
            push((lo, mid))  # input side: computed first
        elif op in ("TAN", "ADJ") and mid == (hi - 1 if op == "TAN" else lo):
            if formed_only:
                raise PlanSyntaxError(
                    f"{op} of {_label(lo, hi)} needs a factor applied matrix-free, but this chain has formed "
                    "Jacobians only; plan with Factors to use tangents and adjoints"
                )
            push((lo, hi - 1) if op == "TAN" else (lo + 1, hi))
        else:
            raise PlanSyntaxError(
                f"the product {_label(lo, hi)} has no valid split (got {op!r} at {mid!r}); "
                "a plan must bracket every product of two or more factors"
            )
    if seen != len(nodes):
        used = {(lo, hi) for _, lo, _, hi in order}
        extra = sorted(key for key in nodes if key not in used and key[0] != key[1])
        raise PlanSyntaxError(f"nodes {extra} do not belong to a plan of {n_factors} factors")
    return tuple(order)
