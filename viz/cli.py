"""The ``chainrule`` command: ``demo``, ``check`` and ``draw``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(output_dir=args.output, quick=args.quick)


def _check(args: argparse.Namespace) -> int:
    from autograd.checking import check_command

    return check_command(modules=args.module, examples=args.examples, ops=args.ops)


def _draw(args: argparse.Namespace) -> int:
    from .drawcmd import draw_command

    return draw_command(args.expression, assignments=args.at, output=args.output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="A scalar autograd engine with a graph visualizer.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="train a model, print backprop step by step, draw graphs"
    )
    demo.add_argument("-o", "--output", default="chainrule-output", help="folder for pictures")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.set_defaults(run=_demo)

    check = commands.add_parser("check", help="property-check the gradients of every registered op")
    check.add_argument(
        "--module", action="append", default=[], metavar="MODULE",
        help="import this module first (it may register ops); may be repeated",
    )  # fmt: skip
    check.add_argument("--examples", type=int, default=200, metavar="N", help="examples per op")
    check.add_argument("--ops", nargs="*", default=None, metavar="NAME", help="only these ops")
    check.set_defaults(run=_check)

    draw = commands.add_parser("draw", help="draw the graph of an expression with its gradients")
    draw.add_argument("expression", help='e.g. "tanh(x*w + b)"')
    draw.add_argument(
        "--at", nargs="*", default=[], metavar="NAME=VALUE", help="values of the names"
    )
    draw.add_argument("-o", "--output", default="graph.png", help="picture file (.png .svg .pdf)")
    draw.set_defaults(run=_draw)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
