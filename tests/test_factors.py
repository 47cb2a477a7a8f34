"""Factor validation, as_factors and read_factors (Naumann's format, CSV, JSON)."""

import json
from pathlib import Path

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.core.chain import Chain
from chainopt.core.factors import FACTOR_FIELDS, Factor, as_factors, read_factors
from chainopt.errors import ChainoptError, DimensionError, ShapeError

DATA = Path(__file__).resolve().parent / "data" / "gdjcpb_bundled"
RESULTS = [json.loads(line) for line in (DATA / "results.jsonl").read_text().splitlines()]


# --- Factor --------------------------------------------------------------------------------------


def test_defaults_given_and_matrix_free():
    f = Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762, tape=7762)
    assert (f.n_in, f.n_out, f.tangent, f.adjoint, f.tape, f.diagonal, f.given) == (
        42, 8, 7762, 7762, 7762, False, False)
    assert f.shape == (8, 42)
    g = Factor(n_in=3, n_out=5, given=True)
    assert (g.tangent, g.adjoint, g.tape) == (15, 15, 0)
    d = Factor(n_in=4, n_out=4, given=True, diagonal=True)
    assert (d.tangent, d.adjoint, d.tape) == (4, 4, 0)
    # a matrix-free factor's tape defaults to its adjoint cost (Naumann: both are |E|)
    assert Factor(n_in=2, n_out=3, tangent=5, adjoint=9).tape == 9
    # explicit values beat the defaults, numpy ints become ints
    h = Factor(n_in=np.int64(3), n_out=5, tangent=1, adjoint=2, tape=7, given=np.bool_(True))
    assert (h.tangent, h.adjoint, h.tape, h.given) == (1, 2, 7, True)
    assert type(h.n_in) is int and type(h.given) is bool
    with pytest.raises(AttributeError):
        f.n_in = 3  # frozen


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"n_in": 0, "n_out": 2, "given": True}, DimensionError, ["n_in is 0", "positive"]),
        ({"n_in": 2, "n_out": -3, "given": True}, DimensionError, ["n_out is -3"]),
        ({"n_in": True, "n_out": 2, "given": True}, DimensionError, ["n_in is True", "bool"]),
        ({"n_in": 2.0, "n_out": 2, "given": True}, DimensionError, ["n_in is 2.0", "float"]),
        ({"n_in": "2", "n_out": 2, "given": True}, DimensionError, ["n_in is '2'", "str"]),
        ({"n_in": 2, "n_out": 2, "tangent": -1, "adjoint": 1}, DimensionError, ["tangent is -1"]),
        ({"n_in": 2, "n_out": 2, "tangent": 1, "adjoint": 1.5}, DimensionError, ["adjoint is 1.5"]),
        ({"n_in": 2, "n_out": 2, "tangent": 1, "adjoint": 1, "tape": False}, DimensionError,
         ["tape is False", "bool"]),
        ({"n_in": 2, "n_out": 2, "tangent": 1, "adjoint": 1, "tape": -4}, DimensionError, ["tape is -4"]),
        ({"n_in": 2, "n_out": 2, "tangent": 1}, DimensionError, ["adjoint is missing"]),
        ({"n_in": 2, "n_out": 2, "adjoint": 1}, DimensionError, ["tangent is missing"]),
        ({"n_in": 2, "n_out": 2, "given": 1}, DimensionError, ["given is 1", "True or False"]),
        ({"n_in": 2, "n_out": 2, "given": True, "diagonal": "yes"}, DimensionError, ["diagonal is 'yes'"]),
        ({"n_in": 2, "n_out": 3, "given": True, "diagonal": True}, ShapeError,
         ["square", "n_in is 2", "n_out is 3"]),
    ],
)
def test_factor_errors_name_the_field_and_value(fields, error, words):
    with pytest.raises(error) as info:
        Factor(**fields)
    assert isinstance(info.value, ChainoptError) and isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


# --- as_factors ----------------------------------------------------------------------------------


def test_as_factors_dims_and_chain_give_given_dense_factors():
    fs = as_factors([3, 4, 2])
    assert fs == (Factor(n_in=3, n_out=4, given=True), Factor(n_in=4, n_out=2, given=True))
    assert as_factors(Chain([3, 4, 2])) == fs
    assert as_factors(np.array([3, 4, 2])) == fs
    assert as_factors(fs) == fs
    assert as_factors(fs[0]) == fs[:1]


def test_as_factors_mappings_and_their_errors_name_the_factor():
    fs = as_factors([{"n_in": 2, "n_out": 3, "tangent": 1, "adjoint": 1}, {"n_in": 3, "n_out": 1, "given": True}])
    assert [f.shape for f in fs] == [(3, 2), (1, 3)]
    with pytest.raises(DimensionError, match=r"F_2: tangent is -1"):
        as_factors([{"n_in": 2, "n_out": 3, "given": True}, {"n_in": 3, "n_out": 1, "tangent": -1, "adjoint": 1}])
    with pytest.raises(DimensionError, match=r"F_1: unknown field\(s\) 'n'"):
        as_factors([{"n": 2, "n_out": 3}])


def test_chaining_error_names_both_factors():
    fs = [Factor(n_in=5, n_out=6, given=True), Factor(n_in=6, n_out=8, given=True),
          Factor(n_in=7, n_out=1, given=True)]
    with pytest.raises(ShapeError, match=r"F_3 takes 7 inputs but F_2 gives 8"):
        as_factors(fs)


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ([], "at least one factor"),
        ("2 3 4", "sequence of Factors"),
        (7, "sequence of Factors"),
        ({"n_in": 2}, "sequence of Factors"),
        ([Factor(n_in=2, n_out=2, given=True), 2], "mixture"),
        ([3], "at least 2 dims"),
        ([3, 0, 2], "n_2 is 0"),
        ([3, True], "bool"),
    ],
)
def test_as_factors_refuses(obj, words):
    with pytest.raises(DimensionError, match=words):
        as_factors(obj)


# --- read_factors --------------------------------------------------------------------------------


def test_read_naumann_bundled_p_3_3():
    fs = read_factors(DATA / "p_3_3.1")
    assert [(f.n_in, f.n_out, f.tangent, f.adjoint, f.tape) for f in fs] == [
        (3, 3, 29, 29, 29), (3, 1, 14, 14, 14), (1, 2, 7, 7, 7)]
    assert not any(f.given or f.diagonal for f in fs)
    assert read_factors(str(DATA / "p_3_3.1")) == fs  # a str path
    assert read_factors((DATA / "p_3_3.1").read_text()) == fs  # the text


@pytest.mark.parametrize("entry", RESULTS, ids=[r["file"] for r in RESULTS])
def test_read_every_bundled_instance(entry):
    path = DATA / entry["file"] if (DATA / entry["file"]).exists() else DATA / "ex_sec_4" / entry["file"]
    fs = read_factors(path)
    assert len(fs) == entry["length"]
    assert [{"m": f.n_out, "n": f.n_in, "edges": f.tape} for f in fs] == entry["factors_right_to_left"]
    dims = entry["mcp_given_jacobians"]["dims_input_first"]
    assert [fs[0].n_in] + [f.n_out for f in fs] == dims


CSV_TEXT = """n_in,n_out,tangent,adjoint,tape,diagonal,given
3,4,10,12,7,false,false
4,4,,,,TRUE,yes
4,2,1,1,,0,
"""

JSON_TEXT = """[
  {"n_in": 3, "n_out": 4, "tangent": 10, "adjoint": 12, "tape": 7},
  {"n_in": 4, "n_out": 4, "diagonal": true, "given": true},
  {"n_in": 4, "n_out": 2, "tangent": 1, "adjoint": 1, "tape": null, "diagonal": false}
]"""

EXPECTED = (
    Factor(n_in=3, n_out=4, tangent=10, adjoint=12, tape=7),
    Factor(n_in=4, n_out=4, diagonal=True, given=True),
    Factor(n_in=4, n_out=2, tangent=1, adjoint=1),
)


def test_read_csv_and_json_text_and_files(tmp_path):
    assert read_factors(CSV_TEXT) == EXPECTED
    assert read_factors(JSON_TEXT) == EXPECTED
    assert read_factors(JSON_TEXT.replace("\n", "")) == EXPECTED  # one line of JSON is text too
    (tmp_path / "chain.csv").write_text(CSV_TEXT)
    (tmp_path / "chain.json").write_text(JSON_TEXT)
    (tmp_path / "chain.txt").write_text(CSV_TEXT)  # no telling extension: by content
    assert read_factors(tmp_path / "chain.csv") == EXPECTED
    assert read_factors(str(tmp_path / "chain.json")) == EXPECTED
    assert read_factors(tmp_path / "chain.txt") == EXPECTED
    # a subset of the columns, in any order
    assert read_factors("n_out,n_in,given\n4,3,true\n") == (Factor(n_in=3, n_out=4, given=True),)


factor_st = st.builds(
    lambda n, m, t, a, e, diag, giv: Factor(
        n_in=n, n_out=n if diag else m, tangent=t, adjoint=a, tape=e, diagonal=diag, given=giv),
    st.integers(1, 50), st.integers(1, 50), st.integers(0, 10**12), st.integers(0, 10**12),
    st.integers(0, 10**9), st.booleans(), st.booleans(),
)


def _chained(fs):
    """Make a list of factors chain: each takes what the one before gives."""
    out = []
    for f in fs:
        if out:
            n = out[-1].n_out
            f = Factor(n_in=n, n_out=n if f.diagonal else f.n_out, tangent=f.tangent,
                       adjoint=f.adjoint, tape=f.tape, diagonal=f.diagonal, given=f.given)
        out.append(f)
    return tuple(out)


chained_factors = st.lists(factor_st, min_size=1, max_size=6).map(_chained)


# 20 examples (test_read_csv_and_json_text_and_files reads fixed files of each format); the twin (-m slow) runs 60
@fewer_examples(20)
@given(chained_factors)
def test_csv_and_json_round_trip(fs):
    rows = [",".join(FACTOR_FIELDS)] + [
        ",".join(str(getattr(f, k)).lower() for k in FACTOR_FIELDS) for f in fs]
    assert read_factors("\n".join(rows) + "\n") == fs
    assert read_factors(json.dumps([{k: getattr(f, k) for k in FACTOR_FIELDS} for f in fs])) == fs
    if not any(f.given or f.diagonal for f in fs) and all(f.tangent == f.adjoint == f.tape for f in fs):
        text = f"{len(fs)}\n" + "".join(f"{f.n_out} {f.n_in} {f.tape}\n" for f in fs)
        assert read_factors(text) == fs


test_csv_and_json_round_trip_thorough = slow_twin(test_csv_and_json_round_trip, chained_factors, max_examples=60)


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("3\n3 3 29\n1 3 14\n", DimensionError, ["line 3", "q is 3", "2 factor lines"]),
        ("2\n3 3 29\n1 3 14\n5 5 5\n", DimensionError, ["line 4", "q is 2", "3 factor lines"]),
        ("x\n3 3 29\n", DimensionError, ["line 1", "number of factors"]),
        ("0\n", DimensionError, ["line 1", "number of factors"]),
        ("2\n3 3 29\n1 3\n", DimensionError, ["line 3", "three non-negative integers", "'1 3'"]),
        ("2\n3 3 29\n1 3 -1\n", DimensionError, ["line 3", "'1 3 -1'"]),
        ("2\n3 3 29\n0 3 5\n", DimensionError, ["line 3", "F_2", "n_out is 0"]),
        ("2\n\n3 3 29\n1 4 14\n", ShapeError, ["line 4", "F_2 takes 4 inputs but F_1 gives 3"]),
        ("n_in,n_out,tangent\n3,4,x\n", DimensionError, ["line 2", "tangent is 'x'", "integer"]),
        ("n_in,n_out,diagonal\n3,3,maybe\n", DimensionError, ["line 2", "diagonal is 'maybe'"]),
        ("n_in,n_out,tangent\n3,4,5\n", DimensionError, ["line 2", "F_1", "adjoint is missing"]),
        ("n_in,n_out,colour\n3,4,red\n", DimensionError, ["line 1", "colour"]),
        ("n_in,given\n3,true\n", DimensionError, ["line 1", "lacks n_out"]),
        ("n_in,n_out,given\n3,4\n", DimensionError, ["line 2", "2 cells", "3 columns"]),
        ("n_in,n_out,given\n", DimensionError, ["no factors"]),
        ("n_in,n_out,given\n3,4,true\n\n5,1,true\n", ShapeError, ["line 4", "F_2 takes 5 inputs but F_1 gives 4"]),
        ("n_in,n_out,given\n3,4,true\n4,5,true,\n", DimensionError, ["line 3", "4 cells"]),
        ('[{"n_in": 3, "n_out": 4, "given": true}, {"n_in": 4, "n_out": 0, "given": true}]',
         DimensionError, ["item 2", "F_2", "n_out is 0"]),
        ('[{"n_in": 3, "n_out": 4, "given": true},\n {"n_in": 5, "n_out": 1, "given": true}]',
         ShapeError, ["item 2", "F_2 takes 5 inputs but F_1 gives 4"]),
        ('[{"n_in": 3, "n_out": 4, "given": 1}]', DimensionError, ["item 1", "given is 1"]),
        ('[{"n_in": 3.0, "n_out": 4, "given": true}]', DimensionError, ["item 1", "n_in is 3.0"]),
        ('[{"n_in": 3, "n_out": 4, "given": true, "m": 2}]', DimensionError, ["item 1", "'m'"]),
        ("[3, 4]", DimensionError, ["item 1", "expected an object"]),
        ("[]", DimensionError, ["non-empty JSON list"]),
        ('[{"n_in": 3,\n "n_out": }]', DimensionError, ["line 2", "not valid JSON"]),
    ],
)
def test_read_errors_name_the_line(text, error, words, tmp_path):
    with pytest.raises(error) as info:
        read_factors(text)
    for word in words:
        assert word in str(info.value)
    path = tmp_path / "bad.in"
    path.write_text(text)
    with pytest.raises(error) as info:
        read_factors(path)
    assert str(info.value).startswith(f"{path}: ")


def test_read_missing_file_and_bad_source(tmp_path):
    with pytest.raises(ChainoptError, match="cannot read the factors file .*nope.csv.*No such file"):
        read_factors(tmp_path / "nope.csv")
    with pytest.raises(ChainoptError, match="cannot read the factors file 'no/such/file'"):
        read_factors("no/such/file")
    with pytest.raises(ChainoptError, match="cannot read the factors file"):  # a folder
        read_factors(tmp_path)
    with pytest.raises(DimensionError, match="path or text"):
        read_factors(42)
    (tmp_path / "empty.in").write_text("\n\n")
    with pytest.raises(DimensionError, match="empty"):
        read_factors(tmp_path / "empty.in")
