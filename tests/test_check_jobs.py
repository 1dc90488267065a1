"""``chainrule check --jobs N``: the ops spread over worker processes, the same output."""

from __future__ import annotations

import sys
import textwrap

import pytest

from autograd import REGISTRY, unregister_op
from autograd.checking import check_command
from viz.cli import main

pytest.importorskip("joblib")

# one module given by path, one by name (looked up from the current folder); each registers
# a right op and a wrong one, and prints something when imported
BY_PATH = textwrap.dedent(
    """
    import autograd

    print("importing jobs_path_ops")
    jobs_cube = autograd.register_op("jobs_cube", lambda x: x**3, lambda x, out: 3 * x**2)
    # wrong on purpose: should be 3x**2
    jobs_cube_bad = autograd.register_op("jobs_cube_bad", lambda x: x**3, lambda x, out: 3 * x)
    """
)
BY_NAME = textwrap.dedent(
    """
    import autograd

    jobs_hinge = autograd.register_op(
        "jobs_hinge", lambda x: max(x, 0.0), lambda x, out: autograd.ops.step(x), kinks=(0.0,)
    )
    # right everywhere but at its kink, where it says 2
    jobs_hinge_bad = autograd.register_op(
        "jobs_hinge_bad",
        lambda x: max(x, 0.0),
        lambda x, out: 2.0 if x == 0 else autograd.ops.step(x),
        kinks=(0.0,),
    )
    """
)
OPS = ("jobs_cube", "jobs_cube_bad", "jobs_hinge", "jobs_hinge_bad")


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """``--module`` arguments for the two modules; their ops are removed afterwards."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs_path_ops.py").write_text(BY_PATH)
    (tmp_path / "jobs_name_ops.py").write_text(BY_NAME)
    yield ["--module", str(tmp_path / "jobs_path_ops.py"), "--module", "jobs_name_ops"]
    for name in ("jobs_path_ops", "jobs_name_ops"):
        sys.modules.pop(name, None)
    for name in OPS:
        if name in REGISTRY:
            unregister_op(name)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_two_jobs_print_exactly_what_one_job_prints(modules, capsys):
    argv = [*modules, "--kinks", "--examples", "25",
            "--ops", "add", "log", "relu", *OPS]  # fmt: skip
    code_1, serial, err_1 = run(capsys, *argv, "--jobs", "1")
    # the modules are imported in this process once per run
    for name in ("jobs_path_ops", "jobs_name_ops"):
        sys.modules.pop(name, None)
    for name in OPS:
        unregister_op(name)
    code_2, parallel, err_2 = run(capsys, *argv, "--jobs", "2")
    assert (code_2, parallel, err_2) == (code_1, serial, err_1)
    # not a vacuous comparison: the table, the failures and their minimal graphs
    assert code_1 == 1 and err_1 == ""
    assert serial.startswith("importing jobs_path_ops\n")
    assert serial.count("importing jobs_path_ops") == 1  # the workers' prints are not shown
    rows = {cells[0]: cells[-1] for cells in map(str.split, serial.splitlines())
            if len(cells) == 5 and cells[-1] in ("pass", "FAIL")}  # fmt: skip
    assert rows == {
        "add": "pass", "log": "pass", "relu": "pass", "relu@kink": "pass",
        "jobs_cube": "pass", "jobs_cube_bad": "FAIL", "jobs_hinge": "pass",
        "jobs_hinge@kink": "pass", "jobs_hinge_bad": "pass", "jobs_hinge_bad@kink": "FAIL",
    }  # fmt: skip
    assert "jobs_cube_bad: minimal failing graph: jobs_cube_bad(x0)  at x0=" in serial
    assert "jobs_hinge_bad@kink: minimal failing graph: jobs_hinge_bad(x0)" in serial
    assert "2 of 10 checks failed." in serial


def test_every_core(modules, capsys):
    argv = [*modules, "--examples", "10", "--ops", "jobs_cube", "jobs_cube_bad", "sin"]
    code_1, serial, _ = run(capsys, *argv)
    for name in ("jobs_path_ops", "jobs_name_ops"):
        sys.modules.pop(name, None)
    for name in OPS:
        unregister_op(name)
    assert run(capsys, *argv, "--jobs", "-1") == (code_1, serial, "")


def test_workers_import_the_modules_of_each_run_afresh(tmp_path, monkeypatch, capsys):
    """joblib reuses its workers: a second run with a changed module sees the change."""
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "jobs_again.py"
    argv = ["--module", "jobs_again", "--examples", "10", "--ops", "jobs_again", "--jobs", "2"]
    results = []
    try:
        for rule in ("3 * x", "3 * x**2"):  # wrong, then right
            source.write_text(
                "import autograd\n"
                f'autograd.register_op("jobs_again", lambda x: x**3, lambda x, out: {rule})\n'
            )
            results.append(run(capsys, *argv)[0])
            sys.modules.pop("jobs_again", None)
            unregister_op("jobs_again")
    finally:
        sys.modules.pop("jobs_again", None)
        if "jobs_again" in REGISTRY:
            unregister_op("jobs_again")
    assert results == [1, 0]


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_a_bad_number_of_jobs_is_one_error(capsys, jobs):
    code, out, err = run(capsys, "--ops", "add", "--jobs", jobs)
    assert code == 2 and out == ""
    assert err == (
        f"chainrule check: --jobs must be a number of processes (1 or more) "
        f"or -1 for every core, got {jobs}\n"
    )


def test_jobs_must_be_a_number(capsys):
    code, out, err = run(capsys, "--jobs", "two")
    assert code == 2 and out == ""
    assert err == (
        "chainrule check: error: argument --jobs: invalid int value: 'two' "
        "(see: chainrule check --help)\n"
    )


def test_without_joblib_the_error_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "joblib", None)  # `import joblib` raises ImportError
    code, out, err = run(capsys, "--ops", "add", "--jobs", "2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install joblib" in err
    assert run(capsys, "--ops", "add", "--examples", "5")[0] == 0  # one job needs no joblib


def test_an_op_registered_only_in_this_process_is_a_clear_error(register, capsys):
    register("jobs_here_only", lambda x: 2 * x, lambda x, out: 2.0)
    code = check_command([], 5, ["add", "jobs_here_only"], jobs=2)
    captured = capsys.readouterr()
    assert code == 2
    assert (
        "chainrule check: op 'jobs_here_only' is not registered in the worker processes; "
        "register it in a module given with --module, or use --jobs 1\n"
    ) in captured.err
