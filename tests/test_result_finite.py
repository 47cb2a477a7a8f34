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


def test_a_large_finite_result_passes_silently_and_an_overflow_warns_as_numpy_does():
    mats = [np.full((2, 3), 1e200), np.full((4, 2), 1e100)]  # result 6e300: its squares would overflow, it does not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):  # the full path, then the compiled one
            np.testing.assert_array_equal(co.multiply(mats), mats[1] @ mats[0])
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="overflow encountered"):
            overflowing = co.multiply([np.full((2, 2), 1e200), np.full((2, 2), 1e200)])
        assert np.isinf(overflowing).all()  # returned as it is, after numpy's own warning
