"""Hostile use of the ``chainrule`` command: every user error is one line on stderr and
exit status 2, never a traceback; ``dot`` runs under a time limit and a node limit;
expressions starting with "-", Unicode names, failing ``--module`` imports, and
labels that are too long or not text."""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import viz
import viz.drawcmd
from autograd import REGISTRY, Value, unregister_op
from viz.cli import main
from viz.labels import MAX_LABEL, check_label, shorten, shorten_lines
from viz.render import DOT_TIMEOUT, LONG_EDGE_BUDGET, long_edge_cost

from .test_viz_draw import svg_texts

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, prog: str = "chainrule draw") -> str:
    """The single line of a user error (checked: one line, the command's prefix)."""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"{prog}: error: "), err
    return err


def run_process(*argv: str, cwd: Path = ROOT, timeout: float = 60) -> tuple[int, str, str, float]:
    """``python -m viz.cli ARGV`` in a process group that is killed whole on a timeout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "viz.cli", *argv], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # python and the dot it started
        process.communicate()
        pytest.fail(f"chainrule {' '.join(argv)[:60]}... ran longer than {timeout} s")
    return process.returncode, out, err, time.monotonic() - start


# ----- time and size limits of dot ---------------------------------------------------------
def product(names: list[str]) -> list[str]:
    return ["*".join(names)]


@pytest.mark.parametrize(
    "argv",
    [
        # 70 different factors: a chain, quick for dot
        [*product([f"x{i}" for i in range(1, 71)]), "--at",
         *(f"x{i}={1 + i / 100:g}" for i in range(1, 71))],
        # one factor 70 times: x feeds 69 ops at 69 depths, dot's slow case
        [*product(["x"] * 70), "--at", "x=1.01"],
    ],
    ids=["70-factors", "x-70-times"],
)  # fmt: skip
def test_a_product_of_70_factors_renders_within_the_limit(tmp_path, argv):
    target = tmp_path / "product.svg"
    code, out, err, seconds = run_process("draw", *argv, "-o", str(target))
    assert seconds < 60
    assert code == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[-1] == f"wrote {target}"
    assert "grad" in " ".join(svg_texts(target.read_bytes()))


def test_the_slow_shape_is_recognised_and_drawn_cheaply():
    x = Value(1.01, label="x")
    chain = Value(1.0, label="c")
    fan = chain
    for _ in range(70):
        chain = chain * Value(1.01)  # every factor a new leaf: no long edges
        fan = fan * x  # x used by 70 ops, one after the other
    assert long_edge_cost(viz.draw_graph(chain, local_grads=True).source) == 0
    cost = long_edge_cost(viz.draw_graph(fan, local_grads=True).source)
    assert cost > 4 * LONG_EDGE_BUDGET  # quadratic: about 70**2 dummy nodes
    # a sum of products of different leaves (a dot product) has no long edges either
    terms = [Value(float(i), label=f"a{i}") * Value(2.0, label=f"b{i}") for i in range(50)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    assert long_edge_cost(viz.draw_graph(total, local_grads=True).source) == 0


def test_the_node_limit_applies_to_the_command(capsys, tmp_path):
    start = time.monotonic()
    code, out, err = run(capsys, "draw", "*".join(["x"] * 700), "--at", "x=1.001",
                         "-o", str(tmp_path / "g.svg"))  # fmt: skip
    assert time.monotonic() - start < 30
    assert code == 2
    assert "dy/dx" in out  # the gradients are printed before drawing
    assert "more than max_nodes=1,000" in one_error_line(err)
    assert not (tmp_path / "g.svg").exists()


def test_dot_is_stopped_at_the_time_limit(capsys, tmp_path):
    code, _, err = run(capsys, "draw", "tanh(x*w)", "--at", "x=1", "w=2", "--timeout", "0.0001",
                       "-o", str(tmp_path / "g.svg"))  # fmt: skip
    assert code == 2
    line = one_error_line(err)
    assert "did not finish within 0.0001 s" in line and "--timeout SECONDS" in line
    assert not (tmp_path / "g.svg").exists()
    assert inspect.signature(viz.render).parameters["timeout"].default == DOT_TIMEOUT == 30


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "soon"])
def test_a_bad_timeout_is_one_line(capsys, seconds):
    code, _, err = run(capsys, "draw", "x", "--at", "x=1", "--timeout", seconds)
    assert code == 2 and "argument --timeout" in one_error_line(err)


# ----- -o: folders, files in the way, read-only folders ------------------------------------
def unwritable_folder(tmp_path: Path) -> Path | None:
    """A folder this process cannot write in (root ignores permissions: try /sys)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            fd, probe = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(probe)
    return None


@pytest.mark.parametrize("case", ["a folder", "under a file", "deep under a file", "read-only"])
def test_unusable_output_paths_are_one_line(capsys, tmp_path, case):
    (tmp_path / "a-file").write_text("not a folder")
    if case == "a folder":
        output, expected = tmp_path, "is a folder"
    elif case == "under a file":
        output, expected = tmp_path / "a-file" / "g.png", "a-file: is a file, not a folder"
    elif case == "deep under a file":
        output, expected = tmp_path / "a-file" / "sub" / "g.png", "a-file: is a file, not a folder"
    else:
        folder = unwritable_folder(tmp_path)
        if folder is None:
            pytest.skip("no folder here is read-only for this user")
        output, expected = folder / "g.png", f"{folder}: "
    code, _, err = run(capsys, "draw", "x*y", "--at", "x=1", "y=2", "-o", str(output))
    assert code == 2
    assert expected in one_error_line(err)
    assert (tmp_path / "a-file").read_text() == "not a folder"


def test_demo_with_a_file_as_its_folder(capsys, tmp_path):
    (tmp_path / "a-file").write_text("")
    code, _, err = run(capsys, "demo", "--quick", "-o", str(tmp_path / "a-file"))
    assert code == 2
    assert "a-file: is a file, not a folder" in one_error_line(err, "chainrule demo")


@pytest.mark.parametrize(
    ("argv", "lines"),
    [
        (["draw", "x*y", "--at", "x=1", "y=2", "-o", "{file}/g.png"], 1),
        (["draw", "x +", "--at", "x=1"], 3),  # the expression and a caret follow
        (["draw", "-q*y", "--at", "y=2", "-o", "{tmp}/g.svg"], 3),
        (["draw", "x", "--at", "x=1", "-o", "{tmp}/g.bmp"], 1),
        (["draw"], 1),
        (["check", "--module", "exits_on_import"], 1),
        (["demo", "-o", "{file}"], 1),
    ],
    ids=["under-a-file", "syntax", "unknown-name", "format", "no-expression", "sys.exit",
         "demo-folder"],
)  # fmt: skip
def test_user_errors_in_a_real_process(tmp_path, argv, lines):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(3)\n")
    argv = [a.format(file=tmp_path / "a-file", tmp=tmp_path) for a in argv]
    code, out, err, _ = run_process(*argv, cwd=tmp_path)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith(f"chainrule {argv[0]}: ")
    assert err.count("\n") == lines, err


# ----- an expression that starts with "-" ---------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["-x*y", "--at", "x=1", "y=2"],
        ["--at", "x=1", "y=2", "-x*y"],
        ["--at", "x=1", "y=2", "-o", "{tmp}/g.svg", "-x*y"],
        ["-x*y", "-o", "{tmp}/g.svg", "--at", "x=1", "y=2"],
        ["--at", "x=1", "y=2", "-o", "{tmp}/g.svg", "--", "-x*y"],
    ],
)
def test_an_expression_may_start_with_a_minus(capsys, tmp_path, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "g.svg")]
    code, out, err = run(capsys, "draw", *argv)
    assert code == 0, err
    assert out.splitlines()[:3] == ["out = -x*y = -2", "  dout/dx = -2", "  dout/dy = -1"]


def test_other_expressions_that_look_like_options(capsys, tmp_path):
    target = str(tmp_path / "g.svg")
    code, out, _ = run(capsys, "draw", "-2*x", "--at", "x=3", "-o", target)
    assert code == 0 and out.startswith("y = (-2)*x = -6\n")
    code, out, _ = run(capsys, "draw", "--x", "--at", "x=3", "-o", target)
    assert code == 0 and "dy/dx = 1" in out
    code, out, _ = run(capsys, "draw", "--at", "o=3", "-o", target, "--", "-o*2")
    assert code == 0 and "dy/do = -2" in out
    code, _, err = run(capsys, "draw", "x", "-y", "--at", "x=1")
    assert code == 2 and "unrecognized arguments: -y" in one_error_line(err)


# ----- Unicode names: NFKC everywhere -----------------------------------------------------
def test_unicode_names_are_normalised_in_at_as_in_the_expression(capsys, tmp_path):
    target = str(tmp_path / "g.svg")
    code, out, err = run(capsys, "draw", "ﬁ*2", "--at", "ﬁ=1.5", "-o", target)
    assert code == 0, err
    assert "dy/dfi = 2" in out
    code, out, err = run(capsys, "draw", "ｘ*fi", "--at", "x=2", "ﬁ=3", "-o", target)
    assert code == 0, err
    assert "dy/dx = 3" in out and "dy/dfi = 2" in out
    code, _, err = run(capsys, "draw", "fi", "--at", "ﬁ=1", "fi=2")
    assert code == 2 and "'fi' is given twice" in err
    assert viz.drawcmd.normalize_name("ｘﬁ") == "xfi"


def test_carets_count_characters_and_columns(capsys):
    # the AST counts UTF-8 bytes; full-width letters take two terminal columns
    code, _, err = run(capsys, "draw", "ｘｘ + q", "--at", "ｘｘ=1")
    assert code == 2
    assert err.endswith("unknown name 'q' (give it a value: --at q=...); known names: xx\n"
                        "  ｘｘ + q\n         ^\n")  # fmt: skip
    code, _, err = run(capsys, "draw", "é + 1j", "--at", "é=1")
    assert err.endswith("  é + 1j\n      ^^\n")
    code, _, err = run(capsys, "draw", "x + \x1b[2J", "--at", "x=1")
    assert code == 2 and "\x1b" not in err  # no terminal control codes echoed


# ----- syntax errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "message", "caret"),
    [
        ("x +", "invalid syntax: the expression ends too early", "   ^"),
        ("x + ", "invalid syntax: the expression ends too early", "   ^"),
        ("tanh(x", "invalid syntax: '(' was never closed", "    ^"),
        ("x +* 2", "invalid syntax", "   ^"),
        ("  x +* 2", "invalid syntax", "     ^"),
        ("x + 'a", "invalid syntax: unterminated string literal", "    ^"),
    ],
)
def test_syntax_errors_point_at_the_right_column(capsys, expression, message, caret):
    code, out, err = run(capsys, "draw", expression, "--at", "x=1")
    assert code == 2 and out == ""
    first, shown, pointer = err.rstrip("\n").split("\n")
    assert first.startswith(f"chainrule draw: error: {message}")
    assert first.count("invalid syntax") == 1
    assert (shown, pointer) == (f"  {expression}", f"  {caret}")


def test_leading_spaces_are_not_an_indent(capsys, tmp_path):
    code, out, err = run(capsys, "draw", "  x*2", "--at", "x=1", "-o", str(tmp_path / "g.svg"))
    assert code == 0, err
    code, _, err = run(capsys, "draw", "  x*q", "--at", "x=1")
    assert err.endswith("\n    x*q\n      ^\n")


# ----- check --module: a module that exits or raises ----------------------------------------
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.exit(3)\n", "it called sys.exit(3)"),
        ("raise SystemExit('bye')\n", "it called sys.exit('bye')"),
        ("import no_such_xyz\n", "ModuleNotFoundError: No module named 'no_such_xyz'"),
        ("from os import no_such_name\n", "ImportError: cannot import name 'no_such_name'"),
        ("raise ValueError('two\\nlines')\n", "ValueError: two lines"),
    ],
)  # fmt: skip
def test_a_module_that_fails_to_import(capsys, tmp_path, monkeypatch, source, reason):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad_ops.py").write_text(source)
    for name in ("bad_ops", str(tmp_path / "bad_ops.py")):
        code, out, err = run(capsys, "check", "--module", name)
        assert code == 2 and out == ""
        assert "Traceback" not in err and err.count("\n") == 1, err
        assert err.startswith(f"chainrule check: importing module {name!r} failed: {reason}")
        assert "bad_ops" not in sys.modules


def test_a_file_module_that_registers_ops_then_fails_leaves_no_module(capsys, tmp_path):
    path = tmp_path / "half_ops.py"
    path.write_text(
        "import autograd\n"
        "autograd.register_op('half_op', lambda x: x / 2, lambda x, out: 0.5)\n"
        "raise RuntimeError('late')\n"
    )
    try:
        code, _, err = run(capsys, "check", "--module", str(path))
    finally:
        if "half_op" in REGISTRY:
            unregister_op("half_op")
    assert code == 2 and "RuntimeError: late" in err
    assert "half_ops" not in sys.modules


# ----- labels ------------------------------------------------------------------------------
def test_long_labels_are_shortened_in_the_picture(tmp_path):
    label = "L" * 17_000  # over dot's 16,384-character limit for one label
    x = Value(2.0, label=label)
    y = x * 3
    y.backward()
    path = viz.render(y, tmp_path / "g.svg", local_grads=True)
    texts = svg_texts(path.read_bytes())
    shown = "L" * (MAX_LABEL - 1) + "…"
    assert shown in texts
    assert any(t.startswith("∂v1/∂" + shown) for t in texts)  # edge labels too
    assert x.label == label  # the Value keeps its full label
    assert path.stat().st_size < 20_000


def test_long_labels_and_many_lines_in_an_animation(tmp_path):
    x = Value(0.5, label="x" * 20_000)
    y = (x * 2).tanh()
    frames = viz.backward_frames(y)
    data = viz.render(frames[2], tmp_path / "frame.svg").read_bytes()
    assert any(t.endswith("…") for t in svg_texts(data))
    # the step of a sum of 300 inputs has a caption line per input (301 with its title)
    total = REGISTRY["sum"](*(Value(float(i), label=f"a{i}") for i in range(300)))
    seed, step, done = viz.backward_frames(total)
    texts = svg_texts(viz.render(step, tmp_path / "sum.svg").read_bytes())
    assert "… (262 more lines)" in texts
    assert not any(
        "more lines" in t for t in svg_texts(viz.render(seed, tmp_path / "0.svg").read_bytes())
    )


def test_a_title_is_cut_to_lines_of_a_readable_length(tmp_path):
    x = Value(1.0, label="x")
    title = "\n".join(f"line {i} " + "t" * 300 for i in range(100))
    texts = svg_texts(viz.render(x, tmp_path / "g.svg", title=title).read_bytes())
    assert "… (61 more lines)" in texts
    assert all(len(t) <= 160 for t in texts)


@pytest.mark.parametrize("label", [5, 2.5, ["a"], {"k": 1}, b"bytes"])
def test_labels_that_are_not_text_are_a_clear_type_error(tmp_path, label):
    with pytest.raises(TypeError, match=r"a Value's label must be a str, not "):
        Value(1.0, label=label)
    x = Value(1.0)
    x.label = label  # set later: the drawing checks it
    y = x * 2
    with pytest.raises(TypeError, match=r"a Value's label must be a str, not "):
        viz.draw_graph(y)
    with pytest.raises(TypeError, match="label must be a str"):
        viz.render(y, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_label_helpers():
    assert check_label(None) == "" and check_label("w") == "w"
    assert shorten("short") == "short"
    assert shorten("e\u0301" * 40, 10) == "e\u0301" * 4 + "…"  # an accent stays with its letter
    padded = ["ab" + "\u00a0" * 200, "c" * 300, ""]
    assert shorten_lines("\n".join(padded), width=10).split("\n") == [
        "ab" + "\u00a0" * 8,  # padding is cut without an ellipsis
        "c" * 9 + "…",
        "",
    ]
    blank_tail = "\n".join(["a", "b", *([""] * 50)])
    assert shorten_lines(blank_tail, height=5) == "a\nb\n\n\n"  # same height, no "more"


# ----- the policy: user errors are one line, bugs keep their traceback -----------------------
def test_a_bug_keeps_its_traceback_and_ctrl_c_is_quiet(capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(viz.drawcmd, "draw_command", bug)
    with pytest.raises(ZeroDivisionError):
        main(["draw", "x", "--at", "x=1"])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(viz.drawcmd, "draw_command", interrupted)
    assert main(["draw", "x", "--at", "x=1"]) == 130
    assert capsys.readouterr().err == "chainrule draw: interrupted\n"


def test_help_and_usage_errors_return_a_status(capsys):
    assert main(["--help"]) == 0
    assert "draw" in capsys.readouterr().out
    assert main([]) == 2
    assert "required: COMMAND" in one_error_line(capsys.readouterr().err, "chainrule")
