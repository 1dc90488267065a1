"""Every ``python`` block of README.md and docs/*.md runs as written.

A block is self-contained (it imports what it uses), or its first line says
``# continues the previous block``: then it runs in the namespace of the block before.
A block whose first line is ``# excerpt of PATH`` quotes that file: its lines must be there.
``>>>`` blocks are REPL sessions, run as doctests with their shown output checked.
Each document runs in a fresh folder, so files its blocks write stay out of the way.
"""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONTINUES = "# continues the previous block"
EXCERPT = "# excerpt of "


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def test_the_documents_that_teach_code_have_blocks():
    teaching = {"README.md", "nn.md", "viz.md", "testing.md", "datasets.md"}
    assert all(python_blocks(doc) for doc in DOCUMENTS if doc.name in teaching)
    assert teaching <= {doc.name for doc in DOCUMENTS}


@pytest.fixture
def own_ops():
    """Ops a document registers are unregistered after it (each document is a fresh session)."""
    import autograd

    before = set(autograd.REGISTRY)
    yield
    for name in set(autograd.REGISTRY) - before:
        autograd.unregister_op(name)


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_python_blocks_run_as_written(document, tmp_path, monkeypatch, own_ops):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {}
    parser = doctest.DocTestParser()
    for i, block in enumerate(python_blocks(document), 1):
        where = f"{document.name}, python block {i}"
        if block.startswith(EXCERPT):
            source = (ROOT / block.splitlines()[0][len(EXCERPT) :].strip()).read_text()
            missing = [line for line in block.splitlines()[1:] if line not in source]
            assert not missing, f"{where} quotes lines its file does not have: {missing}"
            continue
        if not block.startswith(CONTINUES):
            namespace = {"__name__": "__doc_block__"}
        if block.lstrip().startswith(">>>"):
            runner = doctest.DocTestRunner(
                optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
            )
            runner.run(
                parser.get_doctest(block, namespace, where, str(document), 0), clear_globs=False
            )
            assert runner.failures == 0, f"{where}: its shown output differs (see above)"
            continue
        try:
            exec(compile(block, where, "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - any error of a block is a failure
            pytest.fail(f"{where} does not run as written: {type(exc).__name__}: {exc}\n{block}")
    assert os.getcwd() == str(tmp_path)
