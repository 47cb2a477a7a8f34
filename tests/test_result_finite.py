"""The one-call API's finiteness check on the result: every non-finite factor caught, no false alarm, no warning."""

import warnings

import numpy as np
import pytest

import chainopt as co
from chainopt.errors import NonFiniteError


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_entry_anywhere_is_caught(dtype, bad):
    rng = np.random.default_rng(0)
    dims = [3, 4, 2, 5]
    for k in range(3):
        for position in [(0, 0), (dims[k + 1] - 1, dims[k] - 1), (1, 1)]:
            mats = [rng.standard_normal((dims[i + 1], dims[i])).astype(dtype) for i in range(3)]
            mats[k][position] = bad
            for strategy in ("fwd", "bwd", "optimal"):
                with pytest.raises(NonFiniteError, match=f"A_{k + 1} has 1 non-finite entry"):
                    co.multiply(mats, strategy)


def test_finite_factors_whose_result_squares_overflow_are_returned_silently():
    mats = [np.full((2, 3), 1e100), np.full((4, 2), 1.0)]  # result 2e100: its squares overflow, it does not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = co.multiply(mats)
        overflowing = co.multiply([np.full((2, 2), 1e200), np.full((2, 2), 1e200)])
    np.testing.assert_array_equal(result, mats[1] @ mats[0])
    assert np.isinf(overflowing).all()  # a product that overflows is returned as it is, as numpy does
