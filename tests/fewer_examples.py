"""``fewer_examples(n)`` and ``slow_twin``: a property the default suite runs fewer times, run again under -m slow.

Under the fixed "ci" profile of ``conftest.py`` ``fewer_examples(n)`` is
``settings(max_examples=n)``; under ``CHAINOPT_HYPOTHESIS=thorough`` it keeps
that profile's count, so a thorough run still runs every property thoroughly.
Each use names, in a comment, the fixed or exhaustive test that checks the
same property, or the ``slow_twin`` that runs it with more examples.
"""

import os

import pytest
from hypothesis import given, settings


def _ci() -> bool:
    return os.environ.get("CHAINOPT_HYPOTHESIS", "ci") == "ci"


def fewer_examples(n: int) -> settings:
    """``settings(max_examples=n)`` under the "ci" profile; the loaded profile's settings otherwise."""
    return settings(max_examples=n) if _ci() else settings()


def slow_twin(test, *strategies, max_examples: int | None = None, **kw_strategies):
    """The same hypothesis property as ``test``, marked slow, with more examples.

    ``test`` is a ``@given`` test (usually under ``fewer_examples``); its
    body (``test.hypothesis.inner_test``) is given ``strategies`` again, the
    ones ``test`` draws from, and runs ``max_examples`` examples under the
    "ci" profile (default: the profile's own count). Assign the result to a
    ``test_..._thorough`` name of the module so pytest collects it; CI runs
    it with ``python -m pytest -m slow``.
    """
    twin = given(*strategies, **kw_strategies)(test.hypothesis.inner_test)
    if max_examples is not None and _ci():
        twin = settings(max_examples=max_examples)(twin)
    return pytest.mark.slow(twin)
