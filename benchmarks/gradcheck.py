"""gradcheck on a function of many inputs: one derivative per input against random directions,
calling the function at every nudge against replaying its graph. A benchmark, not a test.

    python benchmarks/gradcheck.py            # 500 inputs
    python benchmarks/gradcheck.py --inputs 200
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd import Value
from autograd.gradcheck import compare_gradients


def f(*xs: Value) -> Value:
    """A function of n inputs: a weighted sum of tanh of neighbouring products."""
    terms = [(a * b + 0.1).tanh() * (0.5 + 0.01 * i) for i, (a, b) in enumerate(zip(xs, xs[1:]))]
    return Value.sum(terms)


def timed(**options: object) -> tuple[float, int]:
    start = time.process_time()
    rows = compare_gradients(f, POINT, **options)
    seconds = time.process_time() - start
    assert all(row.ok for row in rows)
    return seconds, len(rows)


def main() -> None:
    global POINT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=500)
    args = parser.parse_args()
    POINT = [math.sin(i) for i in range(args.inputs)]
    cases = [
        ("one derivative per input, f called at every nudge", {"reuse_graph": False}),
        ("one derivative per input, the graph replayed", {"reuse_graph": True}),
        ("8 random directions, f called", {"mode": "directional", "reuse_graph": False}),
        ("8 random directions, the graph replayed", {"mode": "directional", "reuse_graph": True}),
    ]
    print(f"gradcheck of a function of {args.inputs} inputs (CPU seconds, one run each)")
    base = None
    for label, options in cases:
        seconds, rows = timed(**options)
        base = base or seconds
        print(f"  {label:<52} {seconds:7.3f} s  {rows:4d} rows  {base / seconds:6.1f}x")


POINT: list[float] = []

if __name__ == "__main__":
    main()
