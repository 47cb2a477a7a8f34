"""format_ratio: a measurable difference never prints as an interval that looks like it holds 1."""

import math

from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.bench.intervals import format_ratio

INTERVALS = {"low": st.floats(0.5, 2.0), "width": st.floats(0.0, 0.5)}


# 30 examples; the _thorough twin (-m slow) runs the profile's 200
@fewer_examples(30)
@given(**INTERVALS)
def test_printed_bounds_are_on_the_side_of_one_the_interval_is(low, width):
    high = low + width
    text = format_ratio((low + high) / 2, low, high)
    lo_text, hi_text = text.split("[")[1].rstrip("]").split(", ")
    printed_low, printed_high = float(lo_text), float(hi_text)
    if low > 1 and round(low, 6) > 1:
        assert printed_low > 1, text
    elif high < 1 and round(high, 6) < 1:
        assert printed_high < 1, text
    assert math.isclose(printed_low, low, abs_tol=0.006) and math.isclose(printed_high, high, abs_tol=0.006)


test_printed_bounds_are_on_the_side_of_one_the_interval_is_thorough = slow_twin(
    test_printed_bounds_are_on_the_side_of_one_the_interval_is, **INTERVALS)


def test_not_measurable_keeps_two_decimals():
    assert format_ratio(1.5, float("nan"), float("nan")) == "1.50 [n/a]"
