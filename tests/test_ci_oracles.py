"""Under CI=true a skipped oracle test (PyTorch or micrograd missing) fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import pytest

@pytest.mark.oracle
def test_marked():
    pytest.skip("no oracle on this machine")

def test_by_reason():
    pytest.importorskip("torch_not_installed_anywhere")

def test_unrelated_skip():
    pytest.skip("unrelated")
"""


def run_probe(tmp_path, ci: str | None, body: str = PROBE):
    (tmp_path / "test_probe.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         str(tmp_path / "test_probe.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_skipped_oracles_fail_under_ci(tmp_path):
    run = run_probe(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    assert "CI=true: 2 oracle test(s) skipped" in run.stdout
    assert "test_marked" in run.stdout and "test_by_reason" in run.stdout


def test_locally_they_only_skip(tmp_path):
    assert run_probe(tmp_path, None).returncode == 0
    assert run_probe(tmp_path, "false").returncode == 0


def test_other_skips_never_fail(tmp_path):
    body = 'import pytest\n\ndef test_x():\n    pytest.skip("no Ray here")\n'
    assert run_probe(tmp_path, "true", body).returncode == 0
