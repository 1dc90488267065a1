"""The command line's manners, and a clear error when another package takes chainrule's names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _run(args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_version():
    from importlib import metadata

    run = _run(["-m", "viz.cli", "--version"])
    assert (
        run.returncode == 0 and run.stdout.strip() == f"chainrule {metadata.version('chainrule')}"
    )


def test_every_subcommand_has_a_description():
    from viz.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    assert set(commands.choices) >= {"demo", "check", "draw"}
    for name, sub in commands.choices.items():
        assert sub.description and len(sub.description) > 40, name
        help_text = " ".join(sub.format_help().split())
        assert " ".join(sub.description.split()) in help_text, name


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_shows_help_instead_of_running(example):
    run = _run([str(example), "--help"], cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"usage: {example.name} [-h] [--quick]")
    first_doc_line = example.read_text().split('"""')[1].splitlines()[0]
    assert first_doc_line in run.stdout
    assert "epoch" not in run.stdout.lower() and "accuracy:" not in run.stdout


@pytest.mark.parametrize("name", ["autograd", "nn", "viz"])
def test_a_package_that_shadows_chainrule_s_gets_one_clear_error(tmp_path, name):
    other = tmp_path / name
    other.mkdir()
    (other / "__init__.py").write_text("# another package with chainrule's name\n")
    # `import nn` checks autograd and viz; `import viz` checks autograd and nn
    importer = "viz" if name == "nn" else "nn"
    run = _run(["-c", f"import {importer}"], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()
    message = "\n".join(last[-4:])
    assert f"ShadowedPackageError: `import {name}` finds another package named {name!r}" in message
    assert f"found:             {other}" in message
    assert f"chainrule's needs: {ROOT / name}" in message
    assert f"pip uninstall {name}" in message


def test_without_shadowing_the_check_is_silent():
    run = _run(["-c", "import nn, viz; print('fine')"], cwd=ROOT)
    assert run.returncode == 0 and run.stdout == "fine\n" and run.stderr == ""
