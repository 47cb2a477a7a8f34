"""Hostile factor files: one bounded ``chainopt: error:`` line naming the file, the line and the value.

Each file once crashed ``chainopt cost --factors`` with a traceback (huge
integers past Python's 4,300-digit conversion limit, ``'²'`` which
``str.isdigit`` accepts and ``int`` refuses, JSON nested 100,000 deep) or
echoed 100,000 characters of it back.
"""

import pytest

import chainopt as co
from chainopt.cli import main
from chainopt.errors import ChainoptError

BIG = "9" * 5000

CASES = [  # (file name, content, words the one error line must contain)
    ("q.txt", f"{BIG}\n1 1 1\n", ["q.txt: line 1: q is '999", "5,000 digits"]),
    ("m.txt", f"1\n{BIG} 1 1\n", ["m.txt: line 2: m is '999", "5,000 digits"]),
    ("e.txt", f"1\n1 1 {BIG}\n", ["e.txt: line 2: |E| is '999", "5,000 digits"]),
    ("sup_q.txt", "²\n1 1 1\n", ["sup_q.txt: line 1: expected the number of factors q (>= 1), got '²'"]),
    ("sup_e.txt", "1\n1 1 ²\n", ["sup_e.txt: line 2: expected three non-negative integers 'm n |E|', got '1 1 ²'"]),
    ("arabic.txt", "1\n١ 1 1\n", ["arabic.txt: line 2: expected three non-negative integers"]),
    ("deep.json", "[" * 100_000, ["deep.json: JSON nested too deeply", "expected a list of factor objects"]),
    ("big.json", f'[{{"n_in": {BIG}, "n_out": 1, "given": true}}]', ["big.json: a JSON integer is '999",
                                                                       "5,000 digits"]),
    ("long.txt", "x" * 100_000 + "\n1 1 1\n", ["long.txt: line 1: expected the number of factors q", "'xxx"]),
    ("wide.csv", ",".join(["n_in"] * 50_000) + "\n1\n", ["wide.csv: line 1: the header must name distinct columns",
                                                         "(50,000 columns)"]),
    ("cell.csv", "n_in,n_out\n1," + "2" * 200_000 + "\n", ["cell.csv: line 2: not valid CSV"]),
    ("digits.csv", f"n_in,n_out\n1,{BIG}\n", ["digits.csv: line 2: n_out is '999", "5,000 digits"]),
    ("sup.csv", "n_in,n_out,given\n1,²,true\n", ["sup.csv: line 2: n_out is '²'; it must be an integer"]),
    ("value.json", '[{"n_in": "' + "x" * 100_000 + '", "n_out": 1, "given": true}]',
     ["value.json: item 1 (F_1): n_in is 'xxx", "(str); it must be a positive integer"]),
    ("key.json", '[{"' + "k" * 100_000 + '": 1}]', ["key.json: item 1 (F_1): unknown field(s) 'kkk"]),
]


@pytest.mark.parametrize(("name", "content", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_factor_file_is_one_bounded_error_line(name, content, words, tmp_path, capsys):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert main(["cost", "--factors", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err[:500]
    line = lines[0]
    assert line.startswith("chainopt: error: ")
    assert "Traceback" not in captured.err
    assert len(line) < 400 + len(str(path)), len(line)
    for word in words:
        assert word in line, line[:500]


def test_the_library_raises_chainopt_errors_for_the_same_text():
    with pytest.raises(ChainoptError, match=r"line 1: q is '9+\.\.\.9+', 5,000 digits"):
        co.read_factors(f"{BIG}\n1 1 1\n")
    with pytest.raises(ChainoptError, match="nested too deeply"):
        co.read_factors("[" * 100_000)
    with pytest.raises(ChainoptError, match="a JSON integer is"):
        co.read_factors(f'[{{"n_in": 1, "n_out": {BIG}}}]')
    with pytest.raises(ChainoptError, match=r"got '²'"):
        co.read_factors("²\n1 1 1\n")


def test_large_but_convertible_numbers_are_still_read():
    n = 10**40
    (factor,) = co.read_factors(f"1\n{n} {n} 7\n")
    assert (factor.n_in, factor.n_out, factor.tangent) == (n, n, 7)


def test_a_json_factor_without_n_out_is_named_in_chainopts_words(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('[{"n_in": 2, "n_out": 3, "given": true}, {"n_in": 3, "given": true}]')
    with pytest.raises(ChainoptError, match=r"item 2 \(F_2\): n_out missing; every factor needs n_in and n_out"):
        co.read_factors(path)
