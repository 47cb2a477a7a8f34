"""The one renderer: a header of label/value pairs plus tidy tables, as text, markdown, csv or json.

Every report in chainopt (cost, bench, sweep, Jacobian) describes itself as
a :class:`Document`: ``header`` pairs, the :class:`Table` s shown in the
text and markdown views, the one table written as csv and the plain data
written as json. :func:`render` turns a document into any of
:data:`FORMATS`:

- ``text``: opt_einsum's ``PathInfo`` layout: a right-aligned
  ``label:  value`` header, a rule, then each table's heading between two
  rules and its rows aligned by ``tabulate``; cells are formatted (thousands
  separators, rounding) only here.
- ``markdown``: the header as a two-column table, then each table with its
  exact values (floats shown to 4 significant digits).
- ``csv``: one table, exact (ints stay ints however large; floats in full
  precision), written by pandas.
- ``json``: the data, numpy scalars as Python numbers, exact ints as JSON
  integers, NaN and infinities as ``null`` (JSON has neither).

pandas and tabulate are imported lazily: only rendering needs them.

Examples
--------
>>> doc = Document(header=[("chain", "10 -> 100 -> 5"), ("cost", "5,000")],
...                tables=[Table([{"step": 1, "cost": 5000}], columns=(Column("step"), Column("cost", fmt=",")))],
...                csv=[{"step": 1, "cost": 5000}], data={"cost": 5000, "ratio": float("nan")})
>>> print(render(doc, "text"))
chain:  10 -> 100 -> 5
 cost:  5,000
----------------------
step   cost
----------------------
   1  5,000
>>> print(render(doc, "json"))
{
  "cost": 5000,
  "ratio": null
}
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from chainopt.errors import ChainoptError

__all__ = [
    "FORMATS",
    "Column",
    "Table",
    "Document",
    "render",
    "check_format",
    "header_lines",
    "aligned",
    "markdown_table",
    "to_csv",
    "to_json",
    "plain",
    "records",
    "exact_int_column",
]

#: Output formats every report renders to.
FORMATS = ("text", "markdown", "csv", "json")

_INT64_MAX = 2**63 - 1


# -- values --------------------------------------------------------------------------


def plain(value, *, json_safe: bool = False):
    """``value`` as plain Python data: numpy scalars and arrays become numbers and lists.

    Containers (dicts, lists, tuples) are converted recursively, tuples to
    lists. With ``json_safe``, a float that is NaN or infinite becomes ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> plain({"a": np.int64(3), "b": (np.float64(0.5), float("nan"))}, json_safe=True)
    {'a': 3, 'b': [0.5, None]}
    """
    if isinstance(value, Mapping):
        return {k: plain(v, json_safe=json_safe) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, json_safe=json_safe) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
        if isinstance(value, list):
            return plain(value, json_safe=json_safe)
    if json_safe and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(table) -> list[dict]:
    """The rows of a DataFrame, or a sequence of dicts, as dicts of plain Python values."""
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    return [{k: plain(v) if not isinstance(v, (list, tuple)) else v for k, v in row.items()} for row in rows]


def exact_int_column(values: Sequence[int]):
    """A pandas-ready column of ints: ``int64`` if every value fits, else exact Python ints.

    Examples
    --------
    >>> exact_int_column([1, 2]).dtype, exact_int_column([2**70]).dtype
    (dtype('int64'), dtype('O'))
    """
    import numpy as np

    values = [int(v) for v in values]
    if all(-_INT64_MAX <= v <= _INT64_MAX for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)


# -- the description -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a table's text view.

    Attributes
    ----------
    key : str
        The row's key (or index, for rows that are sequences).
    title : str or None
        The heading (default: ``key``).
    fmt : str or callable
        A format spec (``","`` for thousands separators) or ``value -> str``.
    align : {'<', '>'}
        Left or right; default right for numbers, left otherwise.
    """

    key: object
    title: str | None = None
    fmt: str | Callable[[object], str] = ""
    align: str | None = None

    def cell(self, row) -> str:
        """The text of this column's cell in ``row``."""
        value = row[self.key]
        return self.fmt(value) if callable(self.fmt) else format(value, self.fmt)


@dataclass(frozen=True)
class Table:
    """A table of a report: exact rows, and how the text and markdown views show them.

    Attributes
    ----------
    rows : pandas.DataFrame or sequence of dict (or of sequences, for ``heading=False``)
        The data, exact.
    columns : tuple of Column or None
        The text view's columns (``None``: every key, as ``str``).
    title : str or None
        A line above the table (text view), after a blank line.
    notes : dict of str to str
        A line after the table, per format (``'text'``, ``'markdown'``).
    empty : dict of str to str
        What the markdown view shows instead of a table without rows.
    views : tuple of str
        The formats that show this table: ``'text'``, ``'markdown'`` or both.
    heading : bool
        Text view: the heading between two rules. Without it the rows are
        shown bare (a matrix under its title) and do not set the rule's width.
    """

    rows: object
    columns: tuple | None = None
    title: str | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    empty: Mapping[str, str] = field(default_factory=dict)
    views: tuple = ("text", "markdown")
    heading: bool = True


@dataclass(frozen=True)
class Document:
    """Everything a report shows: header pairs, tables, the csv table and the json data.

    Attributes
    ----------
    header : sequence of (str, str)
        ``(label, value)`` pairs, already formatted for people.
    tables : sequence of Table
    csv : pandas.DataFrame or sequence of dict
        The one tidy table the csv format writes (exact values).
    data : dict
        What the json format writes (converted by :func:`plain`).
    """

    header: Sequence[tuple[str, str]]
    tables: Sequence[Table] = ()
    csv: object = ()
    data: Mapping = field(default_factory=dict)


# -- renderers -----------------------------------------------------------------------


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else a :class:`~chainopt.ChainoptError` naming them."""
    if fmt not in FORMATS:
        raise ChainoptError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def render(doc: Document, fmt: str = "text") -> str:
    """``doc`` as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
    return {"text": _text, "markdown": _markdown, "csv": lambda d: to_csv(d.csv),
            "json": lambda d: to_json(d.data)}[check_format(fmt)](doc)


def header_lines(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """``label:  value`` lines, the labels right-aligned (opt_einsum's ``PathInfo`` header)."""
    if not pairs:
        return []
    width = max(len(label) for label, _ in pairs)
    return [f"{label:>{width}}:  {value}" for label, value in pairs]


def aligned(rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """Lines of string cells in aligned columns two spaces apart (``align``: one ``<`` or ``>`` per column).

    Examples
    --------
    >>> aligned([("name", "n"), ("fwd", "1,000")], "<>")
    ['name      n', 'fwd   1,000']
    """
    from tabulate import tabulate

    if not rows:
        return []
    colalign = ["left" if a == "<" else "right" for a in align]
    text = tabulate([list(r) for r in rows], tablefmt="plain", colalign=colalign, disable_numparse=True)
    return [line.rstrip() for line in text.splitlines()]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text_columns(table: Table, rows: list) -> tuple:
    if table.columns is not None:
        return table.columns
    keys = list(rows[0]) if rows and isinstance(rows[0], Mapping) else range(len(rows[0]) if rows else 0)
    return tuple(Column(k, fmt=str) for k in keys)


def _text_table(table: Table) -> list[str]:
    rows = records(table.rows) if hasattr(table.rows, "to_dict") else list(table.rows)
    columns = _text_columns(table, rows)
    align = "".join(c.align or (">" if rows and _is_number(rows[0][c.key]) else "<") for c in columns)
    cells = [[c.cell(r) for c in columns] for r in rows]
    if table.heading:
        cells.insert(0, [c.key if c.title is None else c.title for c in columns])
    return aligned(cells, align)


#: The most a header line adds to the width of the text view's rules.
RULE_CAP = 100


def _text(doc: Document) -> str:
    lines = header_lines(doc.header)
    tables = [(t, _text_table(t)) for t in doc.tables if "text" in t.views]
    # The rules span the header and the widest headed table, a header line counting up to RULE_CAP
    # characters only: a long header value (a chain of a hundred dims) would stretch every rule to its length.
    table_lines = [x for t, body in tables if t.heading for x in body]
    width = max([len(line) for line in table_lines] + [min(len(line), RULE_CAP) for line in lines], default=0)
    rule = "-" * width
    for table, body in tables:
        if table.title is not None:
            lines += ["", table.title]
        lines += [rule, *body[:1], rule, *body[1:]] if table.heading else body
        if "text" in table.notes:
            lines.append(table.notes["text"])
    return "\n".join(lines)


def _markdown_cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict]) -> str:
    """A compact GitHub-flavoured markdown table of ``rows`` (dicts sharing keys), exact values.

    Numeric columns are right-aligned; floats are shown to 4 significant
    digits, ints in full. (tabulate's ``pipe`` format pads every cell to
    its column's width; this one keeps a cell as short as its value.)

    Examples
    --------
    >>> print(markdown_table([{"a": 1, "b": "x"}, {"a": 22, "b": "y"}]))
    | a | b |
    |---:|:---|
    | 1 | x |
    | 22 | y |
    """
    rows = records(rows)
    if not rows:
        return ""
    keys = list(rows[0])
    numeric = [all(_is_number(r[k]) for r in rows) for k in keys]
    lines = [
        "| " + " | ".join(map(str, keys)) + " |",
        "|" + "|".join("---:" if num else ":---" for num in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_markdown_cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def _markdown(doc: Document) -> str:
    parts = [markdown_table([{"": label, "value": value} for label, value in doc.header])]
    for table in doc.tables:
        if "markdown" not in table.views:
            continue
        rows = records(table.rows)
        flat = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
        parts.append(markdown_table(flat) if flat else table.empty.get("markdown", ""))
        if "markdown" in table.notes:
            parts.append(table.notes["markdown"])
    return "\n\n".join(parts)


def to_csv(table) -> str:
    """CSV of a DataFrame or of a sequence of dicts; exact ints, full-precision floats, no index.

    A cell that is a list is written space-separated.

    Examples
    --------
    >>> print(to_csv([{"cost": 2**70, "names": ["x", "y"], "ratio": 0.5}]), end="")
    cost,names,ratio
    1180591620717411303424,x y,0.5
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        rows = [{k: " ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in r.items()}
                for r in records(table)]
        table = pd.DataFrame(rows, dtype=object)  # object: ints are never widened to floats
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def to_json(data) -> str:
    """JSON of ``data`` (see :func:`plain`): exact integers, ``null`` for NaN, indented by 2."""
    return json.dumps(plain(data, json_safe=True), indent=2, allow_nan=False)
