"""Reports of tangent and adjoint sweeps, laid out as the notes do them by hand.

:func:`sweep_report` evaluates an expression at a point and runs one tangent
sweep per input and one adjoint sweep per output; :class:`SweepReport`
renders the graph table (node, definition, value), the tangent sweep (each
node's ``dx_k/dx``), the adjoint sweep (each node's ``df/dx_k``) and the
derivatives as aligned text, markdown, csv or json.

:func:`jacobian_report` builds a full Jacobian both ways (``n_in`` tangent
sweeps, ``n_out`` adjoint sweeps) and compares the counted multiply-adds
with the cost models of :mod:`chainopt.core.chain`, for an expression or for a
layered function ``chain:n_1,...,n_N`` (dense layers with seeded weights).

Examples
--------
>>> r = sweep_report("notes1", {"x": 2.0})
>>> round(r.derivative("p", "x"), 8)
0.8002806
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from chainopt.autodiff.expr import EXAMPLES, FUNCTIONS, Evaluation, evaluate
from chainopt.autodiff.layered import check_chain_fits, layered_function, parse_chain_example
from chainopt.autodiff.sweeps import trace
from chainopt.core.chain import adjoint_sweep_cost, bwd_cost, fwd_cost, tangent_sweep_cost
from chainopt.errors import ChainoptError, ExpressionError, NonFiniteError
from chainopt.report.render import Column, Document, Table, render

__all__ = [
    "SweepReport",
    "sweep_report",
    "JacobianReport",
    "jacobian_report",
]


def _num(v) -> str:
    """A number for the text view (12 significant digits)."""
    return f"{v:.12g}"


def _names(names) -> str:
    """A node's Fate or Son list for the text view (``-`` when empty)."""
    return ", ".join(names) or "-"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _and(words) -> str:
    """``['1', '2', '3']`` -> ``'1, 2 and 3'``."""
    words = list(words)
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _sweep_costs(sweeps, seeds) -> str:
    """``'3 multiply-adds each'``, or ``'1 and 2 multiply-adds for x and y'`` when the sweeps differ."""
    madds = [s.madds for s in sweeps]
    if len(set(madds)) <= 1:
        return f"{_count(madds[0] if madds else 0, 'multiply-add')} each"
    return f"{_and(f'{m:,}' for m in madds)} multiply-adds for {_and(seeds)}"


@dataclass(frozen=True, eq=False)
class SweepReport:
    """One expression at one point: its graph, one tangent sweep per input, one adjoint sweep per output.

    Attributes
    ----------
    evaluation : Evaluation
        The traced expression with its node names.
    point : dict
        Input name -> value.
    tangents : tuple of Sweep
        ``tangents[i]`` seeds ``dx_i = 1`` (the other inputs 0).
    adjoints : tuple of Sweep
        ``adjoints[j]`` seeds ``dfbar_j = 1`` (the other outputs 0).
    """

    evaluation: Evaluation
    point: dict
    tangents: tuple
    adjoints: tuple

    @property
    def input_names(self) -> list[str]:
        """The input names, in the order of the traced inputs."""
        return [self.evaluation.names[x] for x in self.evaluation.trace.inputs]

    @property
    def output_names(self) -> list[str]:
        """The output names, in the order of the traced outputs."""
        return [self.evaluation.names[y] for y in self.evaluation.trace.outputs]

    def derivative(self, output: str, wrt: str, *, by: str = "adjoint") -> float:
        """``d output / d wrt`` read from the ``'adjoint'`` (default) or ``'tangent'`` sweep."""
        i, j = self.input_names.index(wrt), self.output_names.index(output)
        x, y = self.evaluation.trace.inputs[i], self.evaluation.trace.outputs[j]
        return self.adjoints[j][x] if by == "adjoint" else self.tangents[i][y]

    def node_rows(self) -> list[dict]:
        """One dict per shown node, in evaluation order: value, links, tangents, adjoints."""
        ev, rows = self.evaluation, []
        for n in ev.shown:
            row = {
                "node": ev.names[n],
                "definition": ev.definitions[n],
                "value": n.value,
                "fate": [ev.names[a] for a in ev.fate[n]],
                "sons": [ev.names[s] for s in ev.sons[n]],
            }
            row |= {f"dx_k/d{x}": s[n] for x, s in zip(self.input_names, self.tangents)}
            row |= {f"d{f}/dx_k": s[n] for f, s in zip(self.output_names, self.adjoints)}
            rows.append(row)
        return rows

    def header(self) -> list[tuple[str, str]]:
        """The header block: (label, value) pairs for the expression, point, values, derivatives, sweeps."""
        ev = self.evaluation
        source = ev.program.source
        example = next((f"{k}: {d}" for k, (p, d) in EXAMPLES.items() if p == source), None)
        pairs = [("expression", source)] + ([("example", example)] if example else [])
        pairs.append(("at", ", ".join(f"{k} = {_num(v)}" for k, v in self.point.items())))
        pairs += [("value", ", ".join(f"{f} = {_num(y.value)}" for f, y in zip(self.output_names, ev.trace.outputs)))]
        derivs = [f"d{f}/d{x} = {_num(self.derivative(f, x))}" for f in self.output_names for x in self.input_names]
        pairs.append(("derivative" + "s" * (len(derivs) > 1), ", ".join(derivs)))
        tangent_costs = _sweep_costs(self.tangents, self.input_names)
        adjoint_costs = _sweep_costs(self.adjoints, self.output_names)
        pairs.append(("tangent sweeps", f"{len(self.tangents)} (one per input), {tangent_costs}"))
        pairs.append(("adjoint sweeps", f"{len(self.adjoints)} (one per output), {adjoint_costs}"))
        return pairs

    def document(self) -> Document:
        """The report for :mod:`chainopt.report.render`: the notes' three tables (text), one node table."""
        rows, xs, fs = self.node_rows(), self.input_names, self.output_names
        x0, f0 = xs[0] if xs else "x", fs[0]
        value = Column("value", fmt=_num, align=">")
        tangent = (Column("node"), Column("fate", "Fate", fmt=_names))
        tangent += tuple(Column(f"dx_k/d{x}", fmt=_num, align=">") for x in xs)
        adjoint = (Column("node"), Column("sons", "Son", fmt=_names))
        adjoint += tuple(Column(f"d{f}/dx_k", fmt=_num, align=">") for f in fs)
        text = ("text",)
        return Document(
            header=self.header(),
            tables=[
                Table(rows, (Column("node"), Column("definition"), value), views=text,
                      title="graph (one forward evaluation, k = 1..N)"),
                Table(rows, tangent, views=text,
                      title=f"tangent sweep, k = I+1..N:  dx_k/d{x0} = sum over l in Fate(k) of df_k/dx_l * dx_l/d{x0}"
                      f"   (seed d{x0}/d{x0} = 1)"),
                Table(rows[::-1], adjoint, views=text,
                      title=f"adjoint sweep, k = N-1..I:  d{f0}/dx_k = sum over m in Son(k) of d{f0}/dx_m * df_m/dx_k"
                      f"   (seed d{f0}/d{f0} = 1)"),
                Table(rows, views=("markdown",)),
            ],
            csv=rows,
            data=self.to_dict(),
        )

    def to_text(self) -> str:
        """The aligned text view: header, graph, tangent sweep and adjoint sweep tables."""
        return self.format("text")

    def to_markdown(self) -> str:
        """Markdown: the header, then one table of the nodes."""
        return self.format("markdown")

    def to_csv(self) -> str:
        """CSV of :meth:`node_rows`, one row per node."""
        return self.format("csv")

    def to_dict(self) -> dict:
        """Every fact of the report as plain Python data."""
        return {
            "expression": self.evaluation.program.source,
            "at": dict(self.point),
            "outputs": {f: y.value for f, y in zip(self.output_names, self.evaluation.trace.outputs)},
            "derivatives": {f: {x: self.derivative(f, x) for x in self.input_names} for f in self.output_names},
            "tangent_sweeps": [{"seed": x, "multiply_adds": s.madds} for x, s in zip(self.input_names, self.tangents)],
            "adjoint_sweeps": [{"seed": f, "multiply_adds": s.madds} for f, s in zip(self.output_names, self.adjoints)],
            "nodes": self.node_rows(),
        }

    def to_json(self) -> str:
        """JSON of :meth:`to_dict`."""
        return self.format("json")

    def format(self, fmt: str = "text") -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        return render(self.document(), fmt)


def _check_finite(report_rows, what):
    for r in report_rows:
        for k, v in r.items():
            if k.startswith("d") and "/" in k and not np.all(np.isfinite(v)):
                raise NonFiniteError(
                    f"{k.replace('x_k', r['node'])} = {v} at {what}: the derivative is not finite there"
                )


def sweep_report(source: str, point: Mapping[str, float], *, all_nodes: bool = False) -> SweepReport:
    """Evaluate ``source`` at ``point`` and run one tangent sweep per input, one adjoint sweep per output.

    Raises
    ------
    ExpressionError, NonFiniteError
        For a refused expression, a missing input, or a value or derivative
        that is not finite at ``point``.
    """
    if not point:
        raise ExpressionError("give the point to evaluate at, e.g. x=2 (several inputs: x=1,y=2)")
    ev = evaluate(source, point, all_nodes=all_nodes)
    with np.errstate(all="ignore"):
        tangents = tuple(ev.trace.tangent_sweep({x: 1.0}) for x in ev.trace.inputs)
        adjoints = tuple(ev.trace.adjoint_sweep({y: 1.0}) for y in ev.trace.outputs)
    report = SweepReport(ev, dict(point), tangents, adjoints)
    _check_finite(report.node_rows(), ", ".join(f"{k}={v:g}" for k, v in point.items()))
    return report


# -- full Jacobians and their cost ---------------------------------------------------


@dataclass(frozen=True)
class JacobianReport:
    """A Jacobian built by ``n_in`` tangent and by ``n_out`` adjoint sweeps, with the counted costs.

    Attributes
    ----------
    description : str
        What was differentiated.
    matrix : numpy.ndarray
        The Jacobian ``(n_out, n_in)`` from the adjoint sweeps.
    mismatch : float
        ``max |J_fwd - J_bwd|``.
    fwd_madds, bwd_madds : tuple of int
        Counted multiply-adds of each tangent / adjoint sweep.
    dims : tuple of int or None
        The chain of a layered function (then the chain-model rows are filled in).
    activation : str or None
        The layered function's activation.
    """

    description: str
    matrix: np.ndarray
    mismatch: float
    fwd_madds: tuple
    bwd_madds: tuple
    dims: tuple | None = None
    activation: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """The Jacobian's ``(n_out, n_in)``."""
        return tuple(self.matrix.shape)

    def rows(self) -> list[dict]:
        """The cost table: one dict per quantity, FWD and BWD side by side, with its convention."""
        n_out, n_in = self.shape
        rows = [{"quantity": "counted by the sweeps", "fwd": sum(self.fwd_madds), "bwd": sum(self.bwd_madds),
                 "convention": f"{_count(n_in, 'tangent sweep')} / {_count(n_out, 'adjoint sweep')}, "
                               "unit seeds included"}]
        if self.dims is None:
            return rows
        dims = self.dims
        act = sum(dims[1:-1]) if self.activation else 0
        rows += [
            {"quantity": "matrix-free model", "fwd": tangent_sweep_cost(dims), "bwd": adjoint_sweep_cost(dims),
             "convention": "n_1 (n_N) unit seeds pushed through every dense layer, the identity seed included"},
            {"quantity": "activations", "fwd": dims[0] * act, "bwd": dims[-1] * act,
             "convention": "diagonal factors diag(p'(s)): one multiply-add per entry per sweep"},
            {"quantity": "chain model FWD / BWD", "fwd": fwd_cost(dims), "bwd": bwd_cost(dims),
             "convention": "Jacobians given: A_1 (A_{N-1}) is not multiplied by an identity seed"},
            {"quantity": "identity seed product",
             "fwd": dims[0] * dims[0] * dims[1], "bwd": dims[-1] * dims[-1] * dims[-2],
             "convention": "n_1*n_1*n_2 (n_N*n_N*n_{N-1}): matrix-free model minus chain model"},
        ]
        return rows

    def header(self) -> list[tuple[str, str]]:
        """The header block: (label, value) pairs for the function, shape, sweep costs and agreement."""
        n_out, n_in = self.shape
        fwd, bwd = sum(self.fwd_madds), sum(self.bwd_madds)
        kind = "tall" if n_out > n_in else "wide" if n_out < n_in else "square"
        cheaper = "tie" if fwd == bwd else (
            f"{'FWD (tangent)' if fwd < bwd else 'BWD (adjoint)'}, "
            f"{max(fwd, bwd) / max(min(fwd, bwd), 1):,.2f}x cheaper"
        )
        pairs = [
            ("function", self.description),
            ("Jacobian", f"{n_out} x {n_in}, {kind}"),
            ("FWD: tangent sweeps", f"{n_in} (one per input entry, column by column), {fwd:,} multiply-adds"),
            ("BWD: adjoint sweeps", f"{n_out} (one per output entry, row by row), {bwd:,} multiply-adds"),
            ("cheaper by sweeps", cheaper),
            ("sweeps agree", f"max |J_fwd - J_bwd| = {self.mismatch:.3g}"),
        ]
        if self.dims is not None:
            rows = {r["quantity"]: r for r in self.rows()}
            ok = all(
                rows["counted by the sweeps"][m] == rows["matrix-free model"][m] + rows["activations"][m]
                for m in ("fwd", "bwd")
            )
            pairs.append(("counted = model", f"{'yes' if ok else 'NO'}: counted = matrix-free model + activations"))
        return pairs

    def document(self) -> Document:
        """The report for :mod:`chainopt.report.render`: the cost table and (text) the Jacobian."""
        n_out, n_in = self.shape
        costs = (Column("quantity"), Column("fwd", "FWD", fmt=",", align=">"), Column("bwd", "BWD", fmt=",", align=">"),
                 Column("convention"))
        note = {} if self.dims is not None else {
            "text": "chain model: needs a layered function; try  chainopt sweep chain:4,8,3,1 --jacobian"}
        if n_out * n_in <= 64:
            matrix = Table(self.matrix.tolist(), tuple(Column(i, fmt=_num, align=">") for i in range(n_in)),
                           title="Jacobian (rows: outputs, columns: inputs)", views=("text",), heading=False)
        else:
            matrix = Table([], (), title=f"Jacobian: {n_out} x {n_in} (see --format json for the entries)",
                           views=("text",), heading=False)
        rows = self.rows()
        return Document(self.header(), [Table(rows, costs, notes=note), matrix], csv=rows, data=self.to_dict())

    def to_text(self) -> str:
        """The aligned text view: header, cost table and (when small) the Jacobian."""
        return self.format("text")

    def to_markdown(self) -> str:
        """Markdown: the header, then the cost table."""
        return self.format("markdown")

    def to_csv(self) -> str:
        """CSV of :meth:`rows`, one row per quantity."""
        return self.format("csv")

    def to_dict(self) -> dict:
        """Every fact of the report as plain Python data, the Jacobian included."""
        return {
            "function": self.description,
            "jacobian_shape": list(self.shape),
            "jacobian": self.matrix.tolist(),
            "max_abs_difference_fwd_bwd": self.mismatch,
            "fwd_multiply_adds_per_sweep": list(self.fwd_madds),
            "bwd_multiply_adds_per_sweep": list(self.bwd_madds),
            "chain": list(self.dims) if self.dims else None,
            "costs": self.rows(),
        }

    def to_json(self) -> str:
        """JSON of :meth:`to_dict`."""
        return self.format("json")

    def format(self, fmt: str = "text") -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        return render(self.document(), fmt)


def jacobian_report(source: str, point: Mapping[str, float] | None = None, *, activation: str | None = "tanh",
                    seed: int = 0, budget: int | None = None) -> JacobianReport:
    """The Jacobian of an expression (at ``point``) or of ``chain:n_1,...,n_N``, by both kinds of sweep.

    For ``chain:...``, ``activation`` is the layers' activation (``None``:
    linear) and ``budget`` the bytes allowed (``None``: the default of
    :func:`chainopt.execution.check_memory`); an expression ignores
    ``activation`` and refuses ``budget``.

    Raises
    ------
    MemoryBudgetError
        If ``chain:...`` would need more memory than ``budget`` (see
        :func:`chain_sweep_needs`), before anything is built.
    ChainoptError
        If its sweeps would count more than :data:`chainopt.autodiff.layered.MAX_SWEEP_MADDS` multiply-adds.
    ExpressionError, NonFiniteError
        For a refused expression or point, or a Jacobian that is not finite.

    Examples
    --------
    >>> r = jacobian_report("chain:4,8,3,1", activation=None)
    >>> [(row["quantity"], row["fwd"], row["bwd"]) for row in r.rows()][:2]
    [('counted by the sweeps', 236, 59), ('matrix-free model', 236, 59)]
    """
    dims = parse_chain_example(source)
    if dims is not None:
        if point:
            raise ExpressionError(f"{source!r} takes no input values: its input point is seeded")
        if activation is not None and activation not in FUNCTIONS:
            raise ExpressionError(f"unknown activation {activation!r}; choose one of: none, {', '.join(FUNCTIONS)}")
        check_chain_fits(source, dims, activation, budget)
        f, x0, _ = layered_function(dims, activation=activation, seed=seed)
        tr = trace(f, x0, names=["x"])
        what = "x -> W_{N-1} p(... p(W_1 x))" if activation else "x -> W_{N-1} ... W_1 x"
        description = f"{what}, chain {' -> '.join(map(str, dims))}, p = {activation or 'none'}, seeded weights"
    else:
        if not point:
            raise ExpressionError("give the point to evaluate at, e.g. x=2 (several inputs: x=1,y=2)")
        if budget is not None:
            raise ChainoptError("a memory budget applies only to chain:n_1,...,n_N; an expression is scalar")
        ev = evaluate(source, point)
        tr, description = ev.trace, ev.program.source
    with np.errstate(all="ignore"):
        by_fwd, by_bwd = tr.jacobian("fwd"), tr.jacobian("bwd")
    if not np.all(np.isfinite(by_bwd.matrix)):
        raise NonFiniteError(f"the Jacobian of {description!r} is not finite at {dict(point or {})}")
    mismatch = float(np.max(np.abs(by_fwd.matrix - by_bwd.matrix))) if by_fwd.matrix.size else 0.0
    return JacobianReport(description, by_bwd.matrix, mismatch, by_fwd.madds_per_sweep, by_bwd.madds_per_sweep,
                          dims, activation if dims is not None else None)

