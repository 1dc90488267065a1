"""``chainrule check``: property checks of every registered op, from the command line."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from autograd import REGISTRY, unregister_op
from autograd.checking import check_op, import_user_module
from viz.cli import main

USER_OPS = textwrap.dedent(
    """
    import math
    import autograd

    # right: d/dx x**3 = 3x**2
    cube_ok = autograd.register_op("{prefix}cube_ok", lambda x: x**3, lambda x, out: 3 * x**2)
    # wrong on purpose: should be 3x**2
    cube_bad = autograd.register_op("{prefix}cube_bad", lambda x: x**3, lambda x, out: 3 * x)
    # first derivative right, but math.cos turns Values into floats: second derivatives break
    sin_math = autograd.register_op("{prefix}sin_math", math.sin, lambda x, out: math.cos(x))
    """
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module in the current folder that registers three ops; removed afterwards."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_ops.py").write_text(USER_OPS.format(prefix=""))
    yield "my_ops"
    sys.modules.pop("my_ops", None)
    for name in ("cube_ok", "cube_bad", "sin_math"):
        if name in REGISTRY:
            unregister_op(name)


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 5 and cells[-1] in ("pass", "FAIL"):
            rows[cells[0]] = cells[1:]
    return rows


def test_builtin_ops_pass(capsys):
    assert main(["check", "--ops", "add", "log", "relu", "--examples", "25"]) == 0
    out = capsys.readouterr().out
    assert "op" in out and "examples" in out and "max abs error" in out and "max rel error" in out
    rows = table_rows(out)
    assert list(rows) == ["add", "log", "relu"]
    for examples, max_abs, max_rel, result in rows.values():
        assert int(examples) == 25
        assert float(max_abs) < 1e-5 and float(max_rel) < 1e-3
        assert result == "pass"
    assert "all 3 ops passed" in out


def test_user_ops_are_checked_and_failures_shrunk(user_module, capsys):
    code = main(["check", "--module", user_module, "--examples", "30",
                 "--ops", "cube_ok", "cube_bad", "sin_math"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    rows = table_rows(out)
    assert rows["cube_ok"][-1] == "pass" and int(rows["cube_ok"][0]) == 30
    assert rows["cube_bad"][-1] == "FAIL" and float(rows["cube_bad"][1]) > 1
    assert rows["sin_math"][-1] == "FAIL"
    # the minimal failing graphs, as formulas with their tables
    assert "cube_bad: minimal failing graph: cube_bad(x0)  at x0=" in out
    assert re.search(r"f = cube_bad\(x0\)\n  at x0=[-\d.]+\n  input", out)
    assert "sin_math: minimal failing graph: sin_math(x0)  at x0=" in out
    assert "second derivatives do not" in out and "not math.cos" in out
    assert "2 of 3 ops failed." in out


def test_every_registered_op_is_checked_by_default(user_module, capsys):
    assert main(["check", "--module", user_module, "--examples", "3"]) == 1
    rows = table_rows(capsys.readouterr().out)
    assert list(rows) == list(REGISTRY)  # built-in ops and the module's ops
    assert {name for name, row in rows.items() if row[-1] == "FAIL"} == {"cube_bad", "sin_math"}


def test_module_given_as_a_file_path(tmp_path, capsys):
    path = tmp_path / "ops_by_path.py"
    path.write_text(USER_OPS.format(prefix="path_"))
    try:
        assert main(["check", "--module", str(path), "--ops", "path_cube_ok",
                     "--examples", "10"]) == 0  # fmt: skip
    finally:
        sys.modules.pop("ops_by_path", None)
        for name in ("path_cube_ok", "path_cube_bad", "path_sin_math"):
            unregister_op(name)
    assert table_rows(capsys.readouterr().out)["path_cube_ok"][-1] == "pass"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--module", "no_such_module_here"], "importing module 'no_such_module_here' failed"),
        (["--module", "missing/file.py"], "no such file"),
        (["--ops", "add", "nope"], "no op named 'nope'; known ops: add, sub"),
        (["--examples", "0"], "--examples must be at least 1"),
    ],
)
def test_bad_usage_exits_with_2(argv, message, capsys):
    assert main(["check", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_module_that_raises_is_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken_ops.py").write_text("raise RuntimeError('boom')\n")
    try:
        assert main(["check", "--module", "broken_ops"]) == 2
    finally:
        sys.modules.pop("broken_ops", None)
    assert "importing module 'broken_ops' failed: RuntimeError: boom" in capsys.readouterr().err


def test_check_op_counts_examples_until_the_first_failure(user_module):
    import_user_module(user_module)
    good = check_op("cube_ok", examples=20)
    assert good.passed and good.examples == 20 and good.max_abs_error < 1e-5
    bad = check_op("cube_bad", examples=20)
    assert not bad.passed and 1 <= bad.examples < 20
    assert "cube_bad(x0)" in bad.failure


REPO = Path(__file__).resolve().parent.parent


def installed_console_script() -> Path:
    """The ``chainrule`` script that installing this package made for this interpreter:
    its entry point read from the installed distribution (in this interpreter's
    site-packages, not the ``chainrule.egg-info`` of a source folder on ``sys.path``),
    in the scripts folder of this interpreter. Skips, saying why, when there is none."""
    site = list(dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib")))
    found = list(importlib.metadata.distributions(name="chainrule", path=site))
    if not found:
        pytest.skip(f"chainrule is not installed for {sys.executable} (pip install -e .)")
    (entry,) = [
        ep
        for ep in found[0].entry_points
        if ep.group == "console_scripts" and ep.name == "chainrule"
    ]
    assert entry.value == "viz.cli:main"
    scripts = Path(sysconfig.get_paths()["scripts"])
    for name in (entry.name, entry.name + ".exe"):
        if (scripts / name).is_file():
            return scripts / name
    pytest.skip(f"chainrule is installed, but its console script is not in {scripts}")


def test_console_script(tmp_path):
    script = installed_console_script()
    # Which code does the installed package run? From a folder without this checkout in
    # it, as the script runs (PYTHONPATH and .pth files count, the current folder not).
    where = subprocess.run(
        [sys.executable, "-c", "import viz; print(viz.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    installed = Path(where.stdout.strip()).resolve()
    if not installed.is_relative_to(REPO):
        reason = (
            f"the installed chainrule runs {installed.parent.parent}, not this checkout "
            f"({REPO}): pip install -e . here to test its console script"
        )
        if os.environ.get("CI") == "true":  # CI installs the checkout it tests
            pytest.fail(reason)
        pytest.skip(reason)
    # the user module also reports, from inside the script's process, where its code is
    probe = (
        "import sys, autograd, viz\n"
        "print('CODE', viz.__file__, autograd.__file__, file=sys.stderr)\n"
    )
    (tmp_path / "my_ops.py").write_text(probe + USER_OPS.format(prefix=""))
    run = subprocess.run(
        [script, "check", "--module", "my_ops", "--ops", "cube_ok", "cube_bad",
         "--examples", "15"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    (code_line,) = [line for line in run.stderr.splitlines() if line.startswith("CODE ")]
    for module_file in code_line.split()[1:]:
        assert Path(module_file).resolve().is_relative_to(REPO), code_line
    rows = table_rows(run.stdout)
    assert rows["cube_ok"][-1] == "pass" and rows["cube_bad"][-1] == "FAIL"
    assert "f = cube_bad(x0)" in run.stdout


# ----- the Hypothesis profiles of the test suite -----------------------------------------------
_PROBE = "CHAINRULE_EXPECT_HYPOTHESIS_PROFILE"


def test_hypothesis_profiles():
    expected = os.environ.get(_PROBE)
    if expected:  # running inside the subprocess below
        assert settings.get_current_profile_name() == expected
        assert settings.default.max_examples >= 10_000
        return
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.max_examples <= 100
    assert settings.get_profile("thorough").max_examples >= 10_000
    # `--hypothesis-profile thorough` selects the thorough profile over the default "ci"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         f"{__file__}::test_hypothesis_profiles", "--hypothesis-profile", "thorough"],
        env={**os.environ, _PROBE: "thorough"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
