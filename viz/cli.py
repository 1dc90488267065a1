"""The ``chainrule`` command: ``demo``, ``check``, ``draw`` and ``explore``.

A user error (a bad argument or expression, an output path that cannot be written,
no Graphviz, a graph too large or too slow to draw) prints one line,
``chainrule COMMAND: error: ...``, on stderr and exits with status 2; an error in
an expression adds the expression with a caret under the problem. Anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from .render import DOT_TIMEOUT

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, pointing at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, _usage_error(self.prog, message) + "\n")


def _usage_error(prog: str, message: str) -> str:
    return f"{prog}: error: {message} (see: {prog} --help)"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(output_dir=args.output, quick=args.quick)


def _check(args: argparse.Namespace) -> int:
    from autograd.checking import check_command

    return check_command(
        modules=args.module, examples=args.examples, ops=args.ops, kinks=args.kinks, jobs=args.jobs
    )


def _draw(args: argparse.Namespace) -> int:
    from .drawcmd import draw_command

    return draw_command(
        args.expression, assignments=args.at, output=args.output, timeout=args.timeout
    )


def version() -> str:
    """chainrule's installed version ("unknown" when run from a folder not installed)."""
    from importlib import metadata

    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _explore(args: argparse.Namespace) -> int:
    from .drawcmd import explore_command

    return explore_command(
        args.expression, assignments=args.at, output=args.output, timeout=args.timeout
    )


def _expression_arguments(command: argparse.ArgumentParser, output: str, what: str) -> None:
    """The arguments ``draw`` and ``explore`` share: an expression, its values, the output."""
    # nargs="?": main() also takes an expression that argparse mistook for an option
    command.add_argument("expression", nargs="?", help='e.g. "tanh(x*w + b)"')
    command.add_argument(
        "--at", nargs="*", default=[], metavar="NAME=VALUE", help="values of the names"
    )
    command.add_argument("-o", "--output", default=output, help=what)
    command.add_argument(
        "--timeout", type=_seconds, default=DOT_TIMEOUT, metavar="SECONDS",
        help=f"stop Graphviz's dot after this long (default: {DOT_TIMEOUT:g})",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``chainrule`` and its commands."""
    parser = _Parser(
        prog="chainrule",
        description="A scalar autograd engine with a graph visualizer.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a model, print backprop step by step, draw graphs",
        description="The tour: backprop through one neuron step by step, then an MLP "
        "trained on the moons dataset; pictures (graphs, the network), a GIF and two "
        "explorer pages go to --output.",
    )
    demo.add_argument("-o", "--output", default="chainrule-output", help="folder for pictures")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.set_defaults(run=_demo)

    check = commands.add_parser(
        "check",
        help="property-check the gradients of every registered op",
        description="Check every registered op's derivative against finite differences "
        "on random inputs (Hypothesis), including ops your --module registers.",
    )
    check.add_argument(
        "--module", action="append", default=[], metavar="MODULE",
        help="import this module first (it may register ops); may be repeated",
    )  # fmt: skip
    check.add_argument("--examples", type=int, default=200, metavar="N", help="examples per op")
    check.add_argument("--ops", nargs="*", default=None, metavar="NAME", help="only these ops")
    check.add_argument(
        "--kinks", action="store_true",
        help="also check each op that declares kinks exactly at them (one-sided differences)",
    )  # fmt: skip
    check.add_argument(
        "--jobs", type=int, default=1, metavar="N",
        help="spread the ops over N processes (needs joblib; -1: every core; default: 1)",
    )  # fmt: skip
    check.set_defaults(run=_check)

    draw = commands.add_parser(
        "draw",
        help="draw the graph of an expression with its gradients",
        description="Evaluate an expression at the given values, backpropagate, and "
        "draw its graph with data and grad on every node.",
        epilog='An expression may start with "-" ("-x*y"); one starting with -o or -h '
        'goes after "--": chainrule draw --at o=1 -- "-o*2".',
    )
    _expression_arguments(draw, output="graph.png", what="picture file (.png .svg .pdf)")
    draw.set_defaults(run=_draw)

    explore = commands.add_parser(
        "explore",
        help="write an interactive page that steps through backprop of an expression",
        description="Evaluate an expression at the given values and write one self-contained "
        "HTML page: the graph, and the forward and backward passes one node at a time (arrow "
        "keys), with the chain rule's numbers.",
        epilog=draw.epilog,
    )
    _expression_arguments(explore, output="graph.html", what="page file (.html)")
    explore.set_defaults(run=_explore)
    return parser


def _take_expression(args: argparse.Namespace, extras: list[str]) -> str | None:
    """Complete ``args`` from what argparse did not recognise; a usage error, or None."""
    if args.command in ("draw", "explore") and args.expression is None:
        if len(extras) == 1 and extras[0].startswith("-"):
            args.expression = extras.pop()  # "-x*y" looks like an option to argparse
        else:
            return "the following arguments are required: expression"
    if extras:
        return f"unrecognized arguments: {' '.join(extras)}"
    return None


def user_error(exc: BaseException) -> str | None:
    """The message of an error the user can fix (on one line), or None for a bug."""
    import graphviz

    from autograd import DomainError
    from nn import ModelFileError

    from .drawcmd import ExpressionError
    from .large import GraphTooLargeError
    from .render import GraphvizNotFoundError, PictureFormatError, RenderError

    if isinstance(exc, ExpressionError):
        return str(exc) if exc.start is not None else one_line(str(exc))  # with its caret
    if isinstance(exc, FileExistsError):  # mkdir(exist_ok=True): a file has that name
        return f"{exc.filename}: is a file, not a folder"
    if isinstance(exc, OSError) and exc.filename is not None:
        return one_line(f"{exc.filename}: {exc.strerror or exc}")
    expected = (
        DomainError,
        ModelFileError,
        GraphTooLargeError,
        PictureFormatError,
        GraphvizNotFoundError,
        RenderError,
        graphviz.ExecutableNotFound,
    )
    return one_line(str(exc)) if isinstance(exc, expected) else None


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined with "; " (with a space after a colon)."""
    joined = ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            joined += ("" if not joined else " " if joined.endswith(":") else "; ") + line
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule``; returns the exit status (2 for a user error, printed on stderr)."""
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # --help, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    prog = f"{parser.prog} {args.command}"
    problem = _take_expression(args, extras)
    if problem is not None:
        print(_usage_error(prog, problem), file=sys.stderr)
        return USAGE_ERROR

    def show_warning(message: Warning | str, *_: Any, **__: Any) -> None:
        print(f"{prog}: warning: {one_line(str(message))}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning  # one line each, without the source line
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise  # a bug: keep the traceback
        print(f"{prog}: error: {message}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
