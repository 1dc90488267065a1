"""Hypothesis profiles for the suite.

* ``ci`` (the default): a bounded, derandomized run, the same examples every time;
  this is what ``make test`` and ``python -m pytest`` use.
* ``mutation``: few examples, for the many short runs of ``make mutation``.
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

settings.register_profile(  # `make mutation`: many short runs of the same tests
    "mutation",
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
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


# ----- oracles must run in CI ------------------------------------------------------------
# Tests that compare chainrule with PyTorch or micrograd (marked `oracle`, or skipped
# because one of them is missing) skip on a machine without them. Under CI=true (.ci/run
# installs both) such a skip fails the run: a CI that silently skips its oracles proves
# nothing.
ORACLE_NAMES = ("torch", "micrograd")
_skipped_oracles: list[str] = []


def _is_oracle_skip(report: pytest.TestReport) -> bool:
    if "oracle" in report.keywords:
        return True
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    return any(name in reason for name in ORACLE_NAMES)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and _is_oracle_skip(report):
        _skipped_oracles.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped_oracles:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"CI=true: {len(_skipped_oracles)} oracle test(s) skipped (PyTorch or "
                "micrograd missing), which fails the run: " + ", ".join(_skipped_oracles[:5]),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
