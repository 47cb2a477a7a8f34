"""``fewer_examples(n)``: a hypothesis settings decorator for a property the fixed profile runs fewer times.

Under the fixed "ci" profile of ``conftest.py`` it is ``settings(max_examples=n)``;
under ``CHAINOPT_HYPOTHESIS=thorough`` it keeps that profile's count, so a thorough run
still runs every property thoroughly. Each use names, in a comment, the fixed or
exhaustive test that checks the same property.
"""

import os

from hypothesis import settings


def fewer_examples(n: int) -> settings:
    """``settings(max_examples=n)`` under the "ci" profile; the loaded profile's settings otherwise."""
    return settings(max_examples=n) if os.environ.get("CHAINOPT_HYPOTHESIS", "ci") == "ci" else settings()
