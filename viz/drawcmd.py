"""``chainrule draw EXPR --at x=2 w=-3 -o graph.png``: draw any expression with its gradients.

The expression is parsed with :mod:`ast` and checked against a whitelist:
numbers, names given with ``--at`` (and the constants ``pi`` and ``e``),
``+ - * / **``, unary minus and plus, and calls of registered ops (``tanh(x)``,
``leaky_relu(x, 0.1)`` with an op's parameters after its inputs). Nothing is ever
passed to ``eval`` or ``exec``. Names are normalised as Python normalises
identifiers (NFKC: ``ﬁ`` is ``fi``, a full-width ``ｘ`` is ``x``), in the expression
and in ``--at`` alike. Errors point at the offending part::

    chainrule draw: error: unknown name 'q' (give it a value: --at q=...)
      tanh(q*w + b)
           ^
"""

from __future__ import annotations

import ast
import math
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from autograd import REGISTRY, DomainError, Value, ops

from .large import DEFAULT_MAX_NODES
from .render import DOT_TIMEOUT, PictureFormatError, RenderTimeoutError, picture_format, render
from .style import format_number

__all__ = [
    "ExpressionError",
    "draw_command",
    "evaluate",
    "normalize_name",
    "parse_assignments",
    "parse_expression",
]

MAX_LENGTH = 2_000
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY = {ast.Add: ops.add, ast.Sub: ops.sub, ast.Mult: ops.mul, ast.Div: ops.truediv,
           ast.Pow: ops.pow_value}  # fmt: skip
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_NOT_ALLOWED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "lambda",
    ast.IfExp: "'if' expressions",
    ast.JoinedStr: "f-strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "generators",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.Await: "await",
}
_OPERATOR_NAMES = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~", ast.Not: "not",
}  # fmt: skip


class ExpressionError(ValueError):
    """A bad expression or assignment; ``str()`` shows the text with a caret under the problem."""

    def __init__(
        self, message: str, text: str = "", start: int | None = None, end: int | None = None
    ):
        super().__init__(message)
        self.message, self.text, self.start, self.end = message, text, start, end

    def __str__(self) -> str:
        if self.start is None or not self.text or "\n" in self.text:
            return self.message
        line = _printable(self.text)
        end = max(self.start + 1, self.end or 0)
        indent = _columns(line[: self.start])
        width = max(1, _columns(line[self.start : end]))
        return f"{self.message}\n  {line}\n  {' ' * indent}{'^' * width}"


def _printable(text: str) -> str:
    """One visible character for each character of ``text`` (no control or bidi codes)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def _columns(text: str) -> int:
    """Terminal columns of ``text``: wide (CJK, full-width) characters take two."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


# ----- parsing ---------------------------------------------------------------------------
def normalize_name(name: str) -> str:
    """A name as Python reads it: NFKC-normalised (``ﬁ`` -> ``fi``, ``ｘ`` -> ``x``)."""
    return unicodedata.normalize("NFKC", name)


def parse_assignments(assignments: Sequence[str]) -> dict[str, float]:
    """``["x=2", "w=-3"]`` -> ``{"x": 2.0, "w": -3.0}``, with clear errors.

    Names are normalised with :func:`normalize_name`, as in the expression.
    """
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, number = item.partition("=")
        name, number = normalize_name(name.strip()), number.strip()
        if not sep or not name:
            raise ExpressionError(f"--at {item!r}: expected NAME=VALUE, e.g. x=2")
        if not name.isidentifier():
            raise ExpressionError(f"--at {item!r}: {name!r} is not a valid name")
        if name in REGISTRY:
            raise ExpressionError(f"--at {item!r}: {name!r} is the name of an op; pick another")
        if name in values:
            raise ExpressionError(f"--at {item!r}: {name!r} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"--at {item!r}: {number!r} is not a number") from None
        if not math.isfinite(value):
            raise ExpressionError(f"--at {item!r}: the value must be finite")
        values[name] = value
    return values


def parse_expression(text: str, names: Sequence[str] = ()) -> ast.Expression:
    """Parse ``text`` and check every part against the whitelist; ``names`` are the variables."""
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH:,} characters")
    body = text.lstrip(" \t\f")  # Python would call leading spaces an indent
    shift = len(text) - len(body)
    try:
        tree = ast.parse(body, mode="eval")
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    except UnicodeEncodeError as exc:  # a lone surrogate: an undecodable byte in argv
        raise ExpressionError(
            f"character U+{ord(body[exc.start]):04X} is not valid text",
            text, shift + exc.start,
        ) from None  # fmt: skip
    except SyntaxError as exc:
        raise _syntax_error(exc, text, shift) from None
    for node in ast.walk(tree):  # offsets into ``text``, not into ``body``
        if hasattr(node, "col_offset") and getattr(node, "lineno", 1) == 1:
            node.col_offset += shift
            if getattr(node, "end_lineno", None) == 1:
                node.end_col_offset += shift
    known = {normalize_name(name) for name in names}
    nodes = list(ast.walk(tree))
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if id(node) not in called:  # a called name is checked with its call
            _check(node, text, known)
    return tree


def _syntax_error(exc: SyntaxError, text: str, shift: int) -> ExpressionError:
    """The parser's message, once, with the caret where it points (its offsets count characters)."""
    message = exc.msg or "invalid syntax"
    if not message.startswith("invalid syntax"):
        message = f"invalid syntax: {message}"
    if exc.lineno not in (None, 1):
        return ExpressionError(message, text)
    line_end = len(text.split("\n", 1)[0].rstrip())
    start = (exc.offset or 0) - 1 + shift
    if not shift <= start < line_end:  # the parser points past the end: it ran out of text
        start, end = line_end, None
        if message == "invalid syntax":
            message = "invalid syntax: the expression ends too early"
    else:
        same_line = exc.end_lineno in (None, exc.lineno)
        end = (exc.end_offset or 0) - 1 + shift if same_line else None
    return ExpressionError(message, text, start, end)


def _fail(message: str, node: ast.AST, text: str) -> ExpressionError:
    """An error pointing at ``node`` (the AST counts UTF-8 bytes; the caret counts characters)."""
    start = getattr(node, "col_offset", None)
    end = getattr(node, "end_col_offset", None)
    if getattr(node, "end_lineno", 1) != getattr(node, "lineno", 1):
        end = None
    if "\n" not in text and not text.isascii():
        start, end = (_characters(text, offset) for offset in (start, end))
    return ExpressionError(message, text, start, end)


def _characters(text: str, offset: int | None) -> int | None:
    """The character index of a UTF-8 byte offset into ``text``."""
    if offset is None:
        return None
    return len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))


def _check(node: ast.AST, text: str, names: set[str]) -> None:
    if isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
        return  # operators are checked at the BinOp / UnaryOp holding them
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
            raise _fail(f"operator {symbol!r} is not allowed (use + - * / **)", node, text)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            symbol = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
            raise _fail(f"operator {symbol!r} is not allowed", node, text)
        return
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = (
                "complex numbers"
                if isinstance(value, complex)
                else f"{type(value).__name__} values"
            )
            raise _fail(f"{what} are not allowed; only real numbers", node, text)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _fail("this number is too large for a float", node, text)
        return
    if isinstance(node, ast.Name):
        _check_name(node, text, names)
        return
    if isinstance(node, ast.Call):
        _check_call(node, text)
        return
    what = _NOT_ALLOWED.get(type(node), type(node).__name__)
    raise _fail(
        f"{what} not allowed here (only numbers, names, + - * / ** and op calls)", node, text
    )


def _check_name(node: ast.Name, text: str, names: set[str]) -> None:
    if node.id in names or node.id in CONSTANTS:
        return
    if node.id in REGISTRY:
        raise _fail(f"{node.id!r} is an op; call it: {node.id}(...)", node, text)
    hint = f"; known names: {', '.join(sorted(names))}" if names else ""
    raise _fail(f"unknown name {node.id!r} (give it a value: --at {node.id}=...){hint}", node, text)


def _check_call(node: ast.Call, text: str) -> None:
    func = node.func
    if not isinstance(func, ast.Name):
        raise _fail("only ops can be called, by name: tanh(x)", func, text)
    if func.id not in REGISTRY:
        raise _fail(
            f"unknown function {func.id!r}; the ops are: {', '.join(sorted(REGISTRY))}", func, text
        )
    if node.keywords:
        raise _fail(
            "keyword arguments are not allowed; pass parameters in order", node.keywords[0], text
        )
    op = REGISTRY[func.id]
    count = len(node.args)
    if op.arity is None:
        if count == 0:
            raise _fail(f"{func.id} needs at least one argument", node, text)
        return
    expected = op.arity + len(op.param_names)
    if count != expected:
        inputs = ["x"] if op.arity == 1 else [f"x{i + 1}" for i in range(op.arity)]
        signature = ", ".join(inputs + list(op.param_names))
        plural = "s" if expected != 1 else ""
        message = f"{func.id} takes {expected} argument{plural}: {func.id}({signature})"
        raise _fail(message, node, text)


# ----- evaluating ------------------------------------------------------------------------
def evaluate(tree: ast.Expression, variables: dict[str, Value], text: str = "") -> Value | float:
    """Compute the checked expression on Values (recording the graph).

    The walk is iterative, so a long chain such as ``x + x + ... + x`` needs no recursion.
    The names of ``variables`` are normalised as in the expression.
    """
    variables = {normalize_name(name): value for name, value in variables.items()}
    results: dict[int, Value | float] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        operands = _operands(node)
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(operands))
            continue
        values = [results.pop(id(child)) for child in operands]
        try:
            results[id(node)] = _compute(node, values, variables, text)
        except DomainError as exc:
            raise _fail(str(exc), node, text) from None
    return results[id(tree.body)]


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _compute(
    node: ast.AST, values: list[Value | float], variables: dict[str, Value], text: str
) -> Value | float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return variables[node.id] if node.id in variables else CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        return -values[0] if isinstance(node.op, ast.USub) else values[0]
    if isinstance(node, ast.BinOp):
        return _binary(node.op, *values)
    if isinstance(node, ast.Call):
        return _call(node, values, text)
    raise _fail(f"cannot evaluate {type(node).__name__}", node, text)  # unreachable after _check


def _binary(operator: ast.operator, left: Value | float, right: Value | float) -> Value | float:
    if isinstance(left, Value) or isinstance(right, Value):
        if isinstance(operator, ast.Add):
            return left + right
        if isinstance(operator, ast.Sub):
            return left - right
        if isinstance(operator, ast.Mult):
            return left * right
        if isinstance(operator, ast.Div):
            return left / right
        return left**right  # a number exponent gives the op x**n, as in Python code
    return _BINARY[type(operator)].evaluate((left, right))  # two numbers: floats, never big ints


def _call(node: ast.Call, args: list[Value | float], text: str) -> Value | float:
    op = REGISTRY[node.func.id]  # type: ignore[attr-defined]
    if op.param_names:
        inputs, params = args[: op.arity], args[op.arity :]
        for value, arg_node in zip(params, node.args[op.arity :]):
            if isinstance(value, Value):
                raise _fail(
                    f"the parameters of {op.name} must be numbers, not variables", arg_node, text
                )
        params = [int(p) if float(p).is_integer() else p for p in params]
        return op.bind(*params)(*inputs)
    return op(*args)


# ----- the command -----------------------------------------------------------------------
def _output_name(names: Sequence[str]) -> str:
    for candidate in ("y", "out", "result"):
        if candidate not in names:
            return candidate
    return "out_"


def draw_command(
    expression: str,
    assignments: Sequence[str],
    output: str,
    *,
    timeout: float | None = DOT_TIMEOUT,
    max_nodes: int | None = DEFAULT_MAX_NODES,
) -> int:
    """Run ``chainrule draw``: parse, forward, backward, print gradients, write the picture.

    Returns 0. A user error raises: :class:`ExpressionError` for the expression and
    ``--at`` (its ``str()`` points at the problem), :class:`OSError` or
    :class:`~viz.render.PictureFormatError` for ``output`` (checked first), and the
    errors of :func:`viz.render`: more than ``max_nodes`` nodes, no Graphviz, or a
    ``dot`` that fails or runs longer than ``timeout`` seconds.
    """
    picture_format(output)
    root, _ = compute_and_print(expression, assignments)
    with _dot_time_limit():
        written = render(root, output, local_grads=True, timeout=timeout, max_nodes=max_nodes)
    print(f"wrote {written}")
    return 0


def explore_command(
    expression: str,
    assignments: Sequence[str],
    output: str,
    *,
    timeout: float | None = DOT_TIMEOUT,
) -> int:
    """Run ``chainrule explore``: as ``draw``, but write the interactive page (``.html``)."""
    from .explore import explore

    if Path(output).suffix.lower() not in (".html", ".htm"):
        raise PictureFormatError(f"{output}: the explorer writes a page: name it *.html")
    root, variables = compute_and_print(expression, assignments)
    with _dot_time_limit():
        written = explore(root, inputs=variables, timeout=timeout).save(output)
    print(f"wrote {written}: open it in a browser (arrow keys step through backprop)")
    return 0


def compute_and_print(expression: str, assignments: Sequence[str]) -> tuple[Value, list[Value]]:
    """Parse and evaluate ``expression`` at ``--at`` values, backpropagate, print the grads.

    Returns the output and the named inputs.
    """
    numbers = parse_assignments(assignments)
    tree = parse_expression(expression, list(numbers))
    variables = {name: Value(v, label=name) for name, v in numbers.items()}
    result = evaluate(tree, variables, expression)
    root = result if isinstance(result, Value) else Value(result)
    if not root.label:
        root.label = _output_name(list(numbers))
    try:
        root.backward()
    except DomainError as exc:
        raise ExpressionError(f"in backward: {exc}") from None
    y = root.label
    shown = root.formula() if root._prev else expression.strip()
    print(f"{y} = {shown} = {format_number(root.data, 10)}")
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for name, value in variables.items():
        if name in used:
            print(f"  d{y}/d{name} = {format_number(value.grad, 10)}")
        else:
            print(f"  ({name} is not used by the expression)")
    return root, list(variables.values())


@contextmanager
def _dot_time_limit() -> Iterator[None]:
    """A dot that runs out of time says how to give it more from the command line."""
    try:
        yield
    except RenderTimeoutError as exc:
        raise RenderTimeoutError(
            f"Graphviz's dot did not finish within {exc.timeout:g} s and was stopped; draw a "
            "smaller expression, or allow more time: --timeout SECONDS",
            exc.timeout,
        ) from None
