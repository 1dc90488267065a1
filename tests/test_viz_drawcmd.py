"""``chainrule draw``: a safe expression parser, gradients printed, the picture written."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from viz.cli import main
from viz.drawcmd import ExpressionError, evaluate, parse_assignments, parse_expression

from .helpers import central_difference
from .test_viz_draw import png_size, svg_texts


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["draw", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_neuron_from_the_readme(capsys, tmp_path):
    target = tmp_path / "neuron.png"
    code, out, err = run(
        capsys, "tanh(x*w + b)", "--at", "x=2", "w=-3", "b=6.8813735870195432", "-o", str(target)
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "y = tanh(x*w + b) = 0.7071067812"
    assert lines[1:4] == ["  dy/dx = -1.5", "  dy/dw = 1", "  dy/db = 0.5"]
    assert lines[-1] == f"wrote {target}"
    width, height = png_size(target.read_bytes())
    assert width > 500 and height > 50


def test_svg_output_shows_local_derivatives(capsys, tmp_path):
    target = tmp_path / "g.svg"
    code, out, _ = run(capsys, "x**2 + 3*x", "--at", "x=2", "-o", str(target))
    assert code == 0
    assert "  dy/dx = 7" in out  # 2x + 3
    texts = svg_texts(target.read_bytes())
    assert "∂v1/∂x = 4" in texts and "∂v2/∂x = 3" in texts and "grad 7" in texts


def test_ops_with_parameters_constants_and_nary_sum(capsys, tmp_path):
    expression = "leaky_relu(x, 0.1) + pow(x, 3) + 2**x + sum(x, 1, pi) + e"
    code, out, err = run(capsys, expression, "--at", "x=-2", "-o", str(tmp_path / "g.svg"))
    assert code == 0, err
    x = -2.0
    expected = 0.1 + 3 * x**2 + math.log(2) * 2**x + 1
    reported = float(out.splitlines()[1].split("=")[1])
    assert reported == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("expression", "message", "caret"),
    [
        ("tanh(q*w)", "unknown name 'q'", "     ^"),
        ("x.__class__", "attribute access", "^^^^^^^^^^^"),
        ("__import__('os')", "unknown function '__import__'", "^^^^^^^^^^"),
        ("x + (lambda: 1)()", "only ops can be called", "     ^^^^^^^^^"),
        ("x < 1", "comparisons", "^^^^^"),
        ("x + 'a'", "str values are not allowed", "    ^^^"),
        ("x // 2", "operator '//' is not allowed", "^^^^^^"),
        ("x + 1j", "complex numbers", "    ^^"),
        ("tanh(x, 2)", "tanh takes 1 argument: tanh(x)", "^^^^^^^^^^"),
        ("leaky_relu(x)", "leaky_relu(x, slope)", "^^^^^^^^^^^^^"),
        ("leaky_relu(x, w)", "parameters of leaky_relu must be numbers", "              ^"),
        ("exp(x=1)", "keyword arguments", "    ^^^"),
        ("tanh + x", "'tanh' is an op; call it", "^^^^"),
        ("x +* 2", "invalid syntax", "   ^"),
        ("log(x - 3)", "log(-1): math domain error", "^^^^^^^^^^"),
        ("x / (w - w)", "truediv(2, 0)", "^^^^^^^^^^^"),
        ("9.0**9**9", "overflows", "^^^^^^^^^"),
        ("[x]", "lists", "^^^"),
    ],
)
def test_bad_expressions_point_at_the_problem(capsys, tmp_path, expression, message, caret):
    code, out, err = run(capsys, expression, "--at", "x=2", "w=1", "-o", str(tmp_path / "g.png"))
    assert code == 2 and out == ""
    assert message in err
    assert f"\n  {expression}\n  {caret}\n" in err + "\n"
    assert "Traceback" not in err
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("x", "expected NAME=VALUE"),
        ("x=abc", "'abc' is not a number"),
        ("2x=1", "not a valid name"),
        ("tanh=1", "name of an op"),
        ("x=nan", "must be finite"),
    ],
)
def test_bad_assignments(capsys, assignment, message):
    code, _, err = run(capsys, "x + 1", "--at", assignment)
    assert code == 2 and message in err


def test_duplicate_and_unused_names(capsys, tmp_path):
    code, _, err = run(capsys, "x", "--at", "x=1", "x=2")
    assert code == 2 and "'x' is given twice" in err
    code, out, _ = run(capsys, "x*2", "--at", "x=1", "z=5", "-o", str(tmp_path / "g.svg"))
    assert code == 0 and "(z is not used by the expression)" in out


def test_errors_in_backward_and_rendering(capsys, tmp_path, monkeypatch):
    code, _, err = run(capsys, "sqrt(x)", "--at", "x=0", "-o", str(tmp_path / "g.png"))
    assert code == 2 and "in backward: sqrt(0): the derivative is undefined" in err
    code, _, err = run(capsys, "x", "--at", "x=0", "-o", str(tmp_path / "g.bmp"))
    assert code == 2 and "unknown picture format" in err
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, out, err = run(capsys, "x*w", "--at", "x=2", "w=3", "-o", str(tmp_path / "g.png"))
    assert code == 2
    assert "  dy/dx = 3" in out  # the gradients are printed before drawing
    assert "apt-get install graphviz" in err and "Traceback" not in err
    assert err.count("\n") == 1  # the install hint on one line


# ----- properties ------------------------------------------------------------------------
UNARY = ["tanh", "exp", "sin", "cos", "sigmoid", "softplus", "gaussian"]


def expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["x", "y", "2", "0.5", "3.25"])

    def extend(inner):
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        calls = st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})")
        return binary | calls | inner.map(lambda s: f"-{s}") | inner.map(lambda s: f"{s}**2")

    return st.recursive(leaves, extend, max_leaves=6)


def reference(expression: str, x: float, y: float) -> float:
    """The expression computed by Python itself (test-only: the library never evals)."""
    names = {
        "x": x, "y": y, "tanh": math.tanh, "exp": math.exp, "sin": math.sin, "cos": math.cos,
        "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "softplus": lambda v: math.log1p(math.exp(v)),
        "gaussian": lambda v: math.exp(-v * v),
    }  # fmt: skip
    return eval(expression, {"__builtins__": {}}, names)


@given(expressions(), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_parsed_expressions_compute_what_python_computes(expression, x, y):
    try:
        expected = reference(expression, x, y)
    except OverflowError:
        return
    if not math.isfinite(expected) or abs(expected) > 1e12:
        return
    tree = parse_expression(expression, ["x", "y"])
    xv, yv = Value(x, label="x"), Value(y, label="y")
    result = evaluate(tree, {"x": xv, "y": yv}, expression)
    assert float(result) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if isinstance(result, Value):
        result.backward()
        for i, v in enumerate((xv, yv)):
            slope = central_difference(lambda a, b: reference(expression, a, b), [x, y], i)
            assert v.grad == pytest.approx(slope, rel=1e-4, abs=1e-5)


@given(st.text(max_size=60))
def test_any_text_parses_or_gets_an_expression_error(text):
    try:
        tree = parse_expression(text, ["x"])
    except ExpressionError as exc:
        assert str(exc)
        return
    try:
        evaluate(tree, {"x": Value(0.5, label="x")}, text)
    except ExpressionError:
        pass


# Not only "parses or refuses" above: valid text must parse and give Python's numbers
# (a parser refusing everything fails here), and invalid text must be refused.
X_AT, Y_AT = 0.7, -1.3
VALID = [
    # (expression, the same number computed by Python and math at x = 0.7, y = -1.3)
    ("x + y * 2", X_AT + Y_AT * 2),
    ("(x - y) / 4", (X_AT - Y_AT) / 4),
    ("x ** 3", X_AT**3),
    ("x ** y", X_AT**Y_AT),
    ("2 ** -1", 0.5),
    ("-x + +y", -X_AT + Y_AT),
    ("   x*2", X_AT * 2),
    ("pi * e", math.pi * math.e),
    ("1e-3 * x + 3.25", 1e-3 * X_AT + 3.25),
    ("\uff58 + 1", X_AT + 1),  # a full-width x is x, as in Python
    ("tanh(x) * exp(y)", math.tanh(X_AT) * math.exp(Y_AT)),
    ("log(x) + sqrt(x) - cos(sin(y))", math.log(X_AT) + math.sqrt(X_AT) - math.cos(math.sin(Y_AT))),
    ("relu(y) + relu(x) + abs(y)", 0.0 + X_AT + abs(Y_AT)),
    ("sigmoid(x * y)", 1 / (1 + math.exp(-X_AT * Y_AT))),
    ("softplus(y) + gaussian(x)", math.log1p(math.exp(Y_AT)) + math.exp(-(X_AT**2))),
    ("leaky_relu(y, 0.1)", 0.1 * Y_AT),
    ("pow(x, 3)", X_AT**3),
    ("sum(x, y, 2)", X_AT + Y_AT + 2),
    ("logsumexp(x, y)", math.log(math.exp(X_AT) + math.exp(Y_AT))),
]


@pytest.mark.parametrize(("expression", "expected"), VALID)
def test_valid_expressions_parse_and_give_pythons_numbers(expression, expected):
    tree = parse_expression(expression, ["x", "y"])
    result = evaluate(tree, {"x": Value(X_AT), "y": Value(Y_AT)}, expression)
    assert float(result) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "the expression is empty"),
        ("x +", "invalid syntax: the expression ends too early"),
        ("x // 2", "operator '//' is not allowed"),
        ("x.real", "attribute access not allowed"),
        ("[x]", "lists not allowed"),
        ("x if y else 1", "'if' expressions not allowed"),
        ("'x'", "str values are not allowed"),
        ("1e999", "too large for a float"),
        ("z + 1", "unknown name 'z'"),
        ("tanh", "'tanh' is an op; call it"),
        ("__import__('os')", "unknown function '__import__'"),
        ("tanh(x, 2)", r"tanh takes 1 argument: tanh\(x\)"),
        ("leaky_relu(x, y)", "parameters of leaky_relu must be numbers"),
        ("log(-x)", "defined only for x > 0"),  # a domain error, found when computing
    ],
)
def test_invalid_expressions_are_refused(expression, message):
    with pytest.raises(ExpressionError, match=message):
        tree = parse_expression(expression, ["x", "y"])
        evaluate(tree, {"x": Value(X_AT), "y": Value(Y_AT)}, expression)


def test_long_chains_evaluate_and_deep_nesting_is_refused_cleanly():
    chain = "x" + " + x" * 400
    assert evaluate(parse_expression(chain, ["x"]), {"x": Value(1.5)}, chain).data == 601.5
    negations = "-" * 1500 + "x"
    assert evaluate(parse_expression(negations, ["x"]), {"x": Value(2.0)}, negations).data == 2.0
    with pytest.raises(ExpressionError, match="nested parentheses"):
        parse_expression("tanh(" * 300 + "x" + ")" * 300, ["x"])
    with pytest.raises(ExpressionError, match="longer than 2,000 characters"):
        parse_expression("x" + "+x" * 1000, ["x"])


def test_parse_assignments_keeps_the_order():
    assert list(parse_assignments(["b=1", "a=-2.5e-3"]).items()) == [("b", 1.0), ("a", -0.0025)]
