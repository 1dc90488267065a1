"""Hypothesis profiles for the suite.

* ``ci`` (the default): a bounded, derandomized run, the same examples every time;
  this is what ``make test`` and ``python -m pytest`` use.
* ``thorough``: tens of thousands of examples per property, for release checks::

      python -m pytest --hypothesis-profile thorough tests/test_every_op_property.py

Hypothesis's pytest plugin loads the profile named by ``--hypothesis-profile`` after
this file has registered it. The environment variable ``HYPOTHESIS_PROFILE`` picks a
profile too; an unknown name falls back to ``ci`` with a warning.
"""

import os
import warnings

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

import autograd

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)

_requested = os.environ.get("HYPOTHESIS_PROFILE", "ci")
try:
    settings.load_profile(_requested)
except InvalidArgument:
    warnings.warn(
        f"HYPOTHESIS_PROFILE={_requested!r} is not a registered profile; using 'ci'",
        stacklevel=1,
    )
    settings.load_profile("ci")


@pytest.fixture
def register():
    """Register ops for one test and remove them afterwards."""
    names = []

    def add(name, forward, derivatives, **options):
        names.append(name)
        return autograd.register_op(name, forward, derivatives, **options)

    yield add
    for name in names:
        autograd.unregister_op(name)
