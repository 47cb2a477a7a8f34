"""Factors of a generalized Jacobian chain, and a reader for their tables.

A generalized chain is ``F_1, ..., F_q`` in layer order (``F_1`` acts
first). Factor ``F_k`` maps ``R^{n_k} -> R^{m_k}`` (``n_in``, ``n_out``) with
``n_{k+1} = m_k``, and carries what the cost model of
:mod:`chainopt.core.costs` needs:

==========  ====================================================================
field       meaning
==========  ====================================================================
tangent     ``t_k``: multiply-adds of one tangent (Jacobian-vector) evaluation
adjoint     ``a_k``: multiply-adds of one adjoint (vector-Jacobian) evaluation
tape        ``E_k``: entries the adjoint needs in memory (its tape)
diagonal    the Jacobian is diagonal (so ``n_in == n_out``)
given       the Jacobian is already a matrix: preaccumulating it is free
==========  ====================================================================

Defaults: a given factor's ``tangent`` and ``adjoint`` are the cost of a
matrix-vector product with it (``n_in * n_out``, or ``n_in`` if diagonal) and
its ``tape`` is 0; a matrix-free factor must state ``tangent`` and
``adjoint``, and its ``tape`` defaults to its ``adjoint`` (in Naumann's
model the adjoint's cost and its tape are both the size of the factor's DAG).
"""

from __future__ import annotations

import csv
import json
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from chainopt.core.chain import Chain
from chainopt.errors import ChainoptError, DimensionError, ShapeError, shorten

__all__ = ["FACTOR_FIELDS", "Factor", "as_factors", "read_factors"]

#: The columns of a factor table (CSV header / JSON keys), in this order.
FACTOR_FIELDS = ("n_in", "n_out", "tangent", "adjoint", "tape", "diagonal", "given")


def _check_int(name: str, value, *, minimum: int) -> int:
    """``value`` as an ``int >= minimum``, or a :class:`DimensionError` naming ``name``."""
    what = "a positive integer" if minimum == 1 else "a non-negative integer"
    if isinstance(value, (bool, np.bool_)):
        raise DimensionError(f"{name} is {value!r}, a bool; it must be {what}")
    if not isinstance(value, numbers.Integral):
        raise DimensionError(f"{name} is {shorten(repr(value))} ({type(value).__name__}); it must be {what}")
    value = int(value)
    if value < minimum:
        raise DimensionError(f"{name} is {value}; it must be {what} (>= {minimum})")
    return value


def _check_flag(name: str, value) -> bool:
    """``value`` as a ``bool`` (only ``bool``/``numpy.bool_`` are accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise DimensionError(f"{name} is {shorten(repr(value))} ({type(value).__name__}); it must be True or False")
    return bool(value)


@dataclass(frozen=True)
class Factor:
    """One factor ``F : R^{n_in} -> R^{n_out}`` of a generalized Jacobian chain.

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes, positive integers.
    tangent, adjoint : int, optional
        Multiply-adds of one tangent / adjoint evaluation, non-negative
        integers. Required unless ``given``; a given factor defaults to the
        cost of a matrix-vector product (``n_in * n_out``, ``n_in`` if
        diagonal).
    tape : int, optional
        Entries the adjoint keeps in memory, a non-negative integer; defaults
        to 0 for a given factor and to ``adjoint`` otherwise.
    diagonal : bool
        The Jacobian is diagonal; requires ``n_in == n_out``.
    given : bool
        The Jacobian is already available as a matrix (preaccumulation is free).

    Raises
    ------
    DimensionError
        A size that is not a positive integer, a cost or tape that is not a
        non-negative integer (bools and floats are refused, not converted), a
        flag that is not a bool, or a missing ``tangent``/``adjoint``.
    ShapeError
        A diagonal factor that is not square.

    Examples
    --------
    >>> Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762, tape=7762)
    Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762, tape=7762, diagonal=False, given=False)
    >>> Factor(n_in=3, n_out=4, given=True)
    Factor(n_in=3, n_out=4, tangent=12, adjoint=12, tape=0, diagonal=False, given=True)
    >>> Factor(n_in=0, n_out=4, given=True)
    Traceback (most recent call last):
    ...
    chainopt.errors.DimensionError: n_in is 0; it must be a positive integer (>= 1)
    """

    n_in: int
    n_out: int
    tangent: int | None = None
    adjoint: int | None = None
    tape: int | None = None
    diagonal: bool = False
    given: bool = False

    def __post_init__(self):
        n_in = _check_int("n_in", self.n_in, minimum=1)
        n_out = _check_int("n_out", self.n_out, minimum=1)
        diagonal = _check_flag("diagonal", self.diagonal)
        given = _check_flag("given", self.given)
        if diagonal and n_in != n_out:
            raise ShapeError(f"a diagonal factor must be square, but n_in is {n_in} and n_out is {n_out}")
        matvec = n_in if diagonal else n_in * n_out
        values = {}
        for name in ("tangent", "adjoint"):
            value = getattr(self, name)
            if value is None:
                if not given:
                    raise DimensionError(
                        f"{name} is missing; a factor that is not given needs its {name} cost"
                    )
                value = matvec
            values[name] = _check_int(name, value, minimum=0)
        tape = self.tape
        if tape is None:
            tape = 0 if given else values["adjoint"]
        values["tape"] = _check_int("tape", tape, minimum=0)
        values.update(n_in=n_in, n_out=n_out, diagonal=diagonal, given=given)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, int]:
        """The Jacobian's shape ``(n_out, n_in)``."""
        return (self.n_out, self.n_in)


def _factor_at(where: str, fields: Mapping) -> Factor:
    """``Factor(**fields)``, with errors prefixed by ``where`` (a factor or a line)."""
    unknown = sorted(set(fields) - set(FACTOR_FIELDS))
    if unknown:
        raise DimensionError(
            f"{where}: unknown field(s) {shorten(', '.join(map(repr, unknown)))}; "
            f"the fields are {', '.join(FACTOR_FIELDS)}"
        )
    missing = [f for f in ("n_in", "n_out") if f not in fields]
    if missing:
        raise DimensionError(f"{where}: {' and '.join(missing)} missing; every factor needs n_in and n_out")
    try:
        return Factor(**fields)
    except (DimensionError, ShapeError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _check_links(factors: Sequence[Factor], where: Sequence[str] | None = None) -> tuple[Factor, ...]:
    """Check ``n_in[k+1] == n_out[k]``; errors name both factors (and ``where`` they came from)."""
    factors = tuple(factors)
    if not factors:
        raise DimensionError("a chain needs at least one factor, got none")
    for k in range(1, len(factors)):
        prev, this = factors[k - 1], factors[k]
        if this.n_in != prev.n_out:
            at = f"{where[k]}: " if where else ""
            raise ShapeError(
                f"{at}F_{k + 1} takes {shorten(str(this.n_in))} inputs but F_{k} gives {shorten(str(prev.n_out))} "
                "(layer order, F_1 first: n_in of each factor is n_out of the one before)"
            )
    return factors


def as_factors(obj) -> tuple[Factor, ...]:
    """The validated factors of a chain given as factors, field mappings, dims or a :class:`Chain`.

    A sequence of :class:`Factor` (or of mappings of their fields) is checked
    for chaining (``F_{k+1}.n_in == F_k.n_out``); a sequence of ints is read
    as dims ``(n_1, ..., n_N)``, input first, and gives the ``N - 1`` given
    dense factors of today's matrix-chain problem.

    Raises
    ------
    DimensionError
        An empty or malformed sequence, a bad field (the message names the
        factor ``F_k``), or bad dims.
    ShapeError
        Factors that do not chain.

    Examples
    --------
    >>> [f.shape for f in as_factors([2, 3, 4])]
    [(3, 2), (4, 3)]
    >>> as_factors([Factor(n_in=2, n_out=3, given=True),
    ...             Factor(n_in=4, n_out=1, given=True)])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.ShapeError: F_2 takes 4 inputs but F_1 gives 3 (layer order, F_1 first: n_in of each factor is n_out
        of the one before)
    """
    if isinstance(obj, Chain):
        obj = obj.dims
    if isinstance(obj, Factor):
        return (obj,)
    if isinstance(obj, (str, bytes, Mapping)) or not isinstance(obj, (Sequence, np.ndarray)):
        raise DimensionError(
            f"expected a sequence of Factors or of dims, got {type(obj).__name__} {shorten(repr(obj))}; "
            "read a file with read_factors"
        )
    items = list(obj)
    if not items:
        raise DimensionError("a chain needs at least one factor, got an empty sequence")
    if all(isinstance(x, Factor) for x in items):
        return _check_links(items)
    if all(isinstance(x, Mapping) for x in items):
        return _check_links([_factor_at(f"F_{k}", x) for k, x in enumerate(items, start=1)])
    if not any(isinstance(x, (Factor, Mapping)) for x in items):
        dims = Chain(items).dims
        return tuple(Factor(n_in=a, n_out=b, given=True) for a, b in pairwise(dims))
    kinds = sorted({type(x).__name__ for x in items})
    raise DimensionError(f"expected all Factors, all mappings or all dims, got a mixture of {', '.join(kinds)}")


# --- reading -------------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _parse_cell(where: str, name: str, text: str):
    """One CSV cell: an int, a bool for the flags, ``None`` for an empty optional cell."""
    text = text.strip()
    if name in ("diagonal", "given"):
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise DimensionError(f"{where}: {name} is {shorten(text)!r}; write true or false")
    if text == "":
        return None
    if _INT.fullmatch(text):
        return _to_int(f"{where}: {name}", text)
    raise DimensionError(f"{where}: {name} is {shorten(text)!r}; it must be an integer")


#: Integers as files write them: ASCII digits only ('²' and '٣' are digits to str.isdigit, not to int).
_INT, _COUNT = re.compile(r"[+-]?[0-9]+"), re.compile(r"[0-9]+")


def _to_int(what: str, text: str) -> int:
    """``int(text)`` for a match of :data:`_INT`, or an error when it has more digits than Python converts."""
    try:
        return int(text)
    except ValueError:
        raise DimensionError(f"{what} is {shorten(text)!r}, {len(text):,} digits; expected a size or a count") from None


def _csv_rows(lines: list[str], origin: str):
    """``(line number, cells)`` of each CSV record; a malformed one is a :class:`DimensionError` naming its line."""
    reader = csv.reader(lines)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:  # e.g. a cell over the csv module's 131,072-character limit
        raise DimensionError(f"{origin}line {reader.line_num}: not valid CSV ({shorten(str(exc), 200)})") from None


def _read_csv(text: str, origin: str) -> tuple[Factor, ...]:
    header = None
    factors, where = [], []
    for lineno, row in _csv_rows(text.splitlines(), origin):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            unknown = [c for c in header if c not in FACTOR_FIELDS]
            if unknown or len(set(header)) != len(header):
                raise DimensionError(
                    f"{origin}line {lineno}: the header must name distinct columns among "
                    f"{', '.join(FACTOR_FIELDS)}; got {shorten(', '.join(header), 200)!r} ({len(header):,} columns)"
                )
            missing = [c for c in ("n_in", "n_out") if c not in header]
            if missing:
                raise DimensionError(f"{origin}line {lineno}: the header lacks {', '.join(missing)}")
            continue
        at = f"{origin}line {lineno}"
        if len(row) != len(header):
            raise DimensionError(f"{at}: {len(row)} cells but the header has {len(header)} columns")
        fields = {}
        for name, cell in zip(header, row):
            value = _parse_cell(at, name, cell)
            if value is not None:
                fields[name] = value
        factors.append(_factor_at(f"{at} (F_{len(factors) + 1})", fields))
        where.append(at)
    if header is None:
        raise DimensionError(f"{origin}no header line: expected columns {', '.join(FACTOR_FIELDS)}")
    if not factors:
        raise DimensionError(f"{origin}a header but no factors")
    return _check_links(factors, where)


def _read_json(text: str, origin: str) -> tuple[Factor, ...]:
    try:
        data = json.loads(text, parse_int=lambda digits: _to_int(f"{origin}a JSON integer", digits))
    except json.JSONDecodeError as exc:
        raise DimensionError(f"{origin}line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise DimensionError(f"{origin}JSON nested too deeply: expected a list of factor objects") from None
    if not isinstance(data, list) or not data:
        raise DimensionError(f"{origin}expected a non-empty JSON list of factor objects")
    factors, where = [], []
    for k, item in enumerate(data, start=1):
        at = f"{origin}item {k} (F_{k})"
        if not isinstance(item, dict):
            raise DimensionError(f"{at}: expected an object with fields {', '.join(FACTOR_FIELDS)}")
        factors.append(_factor_at(at, {key: v for key, v in item.items() if v is not None}))
        where.append(at)
    return _check_links(factors, where)


def _read_naumann(text: str, origin: str) -> tuple[Factor, ...]:
    numbered = [(no, line.split()) for no, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise DimensionError(f"{origin}empty: expected q, then one line 'm n |E|' per factor")
    no, first = numbered[0]
    if len(first) != 1 or not _COUNT.fullmatch(first[0]) or (q := _to_int(f"{origin}line {no}: q", first[0])) < 1:
        got = shorten(" ".join(first))
        raise DimensionError(f"{origin}line {no}: expected the number of factors q (>= 1), got {got!r}")
    rows = numbered[1:]
    if len(rows) != q:
        last = rows[-1][0] if rows else no
        raise DimensionError(f"{origin}line {last}: q is {shorten(str(q))} but the file has {len(rows)} factor lines")
    factors, where = [], []
    for k, (no, cells) in enumerate(rows, start=1):
        at = f"{origin}line {no}"
        if len(cells) != 3 or not all(_COUNT.fullmatch(c) for c in cells):
            got = shorten(" ".join(cells))
            raise DimensionError(f"{at}: expected three non-negative integers 'm n |E|', got {got!r}")
        m, n, edges = (_to_int(f"{at}: {name}", c) for name, c in zip(("m", "n", "|E|"), cells))
        fields = {"n_in": n, "n_out": m, "tangent": edges, "adjoint": edges, "tape": edges}
        factors.append(_factor_at(f"{at} (F_{k})", fields))
        where.append(at)
    return _check_links(factors, where)


def read_factors(source) -> tuple[Factor, ...]:
    r"""Read a chain's factors from a path or from text.

    Three formats, told apart by the file's extension (``.csv``, ``.json``)
    or else by the content:

    * Naumann's format: the first line is ``q``, then one line ``m n |E|``
      per factor (output size, input size, DAG size), ``F_1`` first; each
      factor is matrix-free with ``tangent = adjoint = tape = |E|``.
    * CSV with a header naming columns among ``n_in, n_out, tangent,
      adjoint, tape, diagonal, given`` (``n_in``, ``n_out`` required; empty
      cells take the defaults of :class:`Factor`; flags are ``true``/``false``).
    * JSON: a list of objects with those keys (``null`` means the default).

    A ``str`` is text if it contains a newline or starts with ``[``, else a path.

    Raises
    ------
    DimensionError, ShapeError
        Malformed content; the message names the line (the item, for JSON)
        and the value.
    ChainoptError
        A file that cannot be read (it does not exist, or is not readable).

    Examples
    --------
    >>> [(f.n_in, f.n_out, f.tangent) for f in read_factors("2\n4 2 100\n8 4 100\n")]
    [(2, 4, 100), (4, 8, 100)]
    >>> read_factors("n_in,n_out,given\n3,3,true\n")[0].tangent
    9
    >>> read_factors('[{"n_in": 2, "n_out": 2, "tangent": 1, "adjoint": 1, "diagonal": true}]')[0].diagonal
    True
    """
    kind = None
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("[")):
        text, origin = source, ""
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = shorten(str(path), 200)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ChainoptError(f"cannot read the factors file {name!r}: {exc.strerror or exc}") from None
        origin = f"{name}: "
        kind = {".csv": "csv", ".json": "json"}.get(path.suffix.lower())
    else:
        raise DimensionError(f"expected a path or text, got {type(source).__name__} {shorten(repr(source))}")
    if kind is None:
        stripped = text.lstrip()
        first_line = stripped.split("\n", 1)[0]
        kind = "json" if stripped.startswith("[") else "csv" if "," in first_line else "naumann"
    reader = {"csv": _read_csv, "json": _read_json, "naumann": _read_naumann}[kind]
    return reader(text, origin)
