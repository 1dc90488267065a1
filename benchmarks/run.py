"""Benchmarks: chainrule (scalar engine and compiled path) against micrograd, PyTorch and numpy.

    python benchmarks/run.py            # everything that is installed, a few minutes
    python benchmarks/run.py --quick    # fewer repeats
    python benchmarks/run.py --only W1 W2

Optional anchors: ``pip install micrograd==0.1.0`` and ``pip install torch==2.13.0``.
All engines run in this one process, interleaved round by round, each with one math
thread, after a ``gc.collect()`` so one engine's garbage is not timed against another.
Medians are printed, with ratios measured in this same run. A benchmark, not a test.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as w  # noqa: E402


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    candidates: dict[str, Callable[[int], Any]],
    rounds: int,
    block_seconds: float = 0.02,
    min_block: int = 1,
) -> dict[str, float]:
    """Median seconds per call of each candidate, run A B C A B C ...

    Each round times a block of consecutive calls (at least ``min_block``, and about
    ``block_seconds`` for fast candidates), as a training loop makes them: each engine
    pays for the garbage collection its own graphs cause, and a single call's cold
    caches after ``gc.collect()`` do not dominate a fast candidate's figure.
    """
    repeats = {}
    for name, fn in candidates.items():
        once = timed(lambda fn=fn: fn(0))
        repeats[name] = max(min_block, min(200, int(block_seconds / max(once, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name, fn in candidates.items():
            n = repeats[name]
            block = timed(lambda fn=fn, r=r, n=n: [fn(r) for _ in range(n)])
            times[name].append(block / n)
    return {name: statistics.median(ts) for name, ts in times.items()}


def in_big_stack(fn: Callable[[], Any]) -> Any:
    """Run fn in a thread with a large stack (micrograd's recursive sort needs it)."""
    result: list[Any] = []
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10**6)
    threading.stack_size(1024 * 1024 * 1024)
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    threading.stack_size(0)
    sys.setrecursionlimit(old_limit)
    return result[0]


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def table(title: str, rows: list[tuple[str, str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")


def ratio_notes(medians: dict[str, float], anchors: list[str], subject: str) -> list[str]:
    """'12x faster than micrograd', '2.1x slower than numpy' (anchor time / our time)."""
    notes = []
    for anchor in anchors:
        if anchor in medians and subject in medians and anchor != subject:
            ratio = medians[anchor] / medians[subject]
            if ratio >= 1:
                notes.append(f"{ratio:.3g}x faster than {anchor}")
            else:
                notes.append(f"{1 / ratio:.3g}x slower than {anchor}")
    return notes


# ----- W1 -------------------------------------------------------------------------------
def bench_moons(rounds: int, engines: set[str]) -> dict[str, float]:
    X, y = w.moons_data()
    weights = w.initial_weights(w.MOONS_SIZES, seed=0, scale_by_fan_in=False)
    steps: dict[str, Callable[[int], Any]] = {
        "chainrule scalar": w.chainrule_moons_step("scalar", w.chainrule_mlp(weights), X, y),
        "chainrule compiled": w.chainrule_moons_step("compiled", w.chainrule_mlp(weights), X, y),
        "numpy by hand": w.numpy_moons_step(weights, X, y),
    }
    if "micrograd" in engines:
        steps["micrograd 0.1.0"] = w.micrograd_moons_step(w.micrograd_mlp(weights), X, y)
    if "torch" in engines:
        steps["PyTorch eager"] = w.torch_moons_step(weights, X, y)
    first = {name: step(0) for name, step in steps.items()}  # warm-up, and a check
    spread = max(first.values()) - min(first.values())
    medians = interleaved(
        {k: (lambda r, s=s: s(r + 1)) for k, s in steps.items()}, rounds, min_block=3
    )
    rows = []
    for name, seconds in medians.items():
        notes = ratio_notes(medians, ["micrograd 0.1.0", "PyTorch eager", "numpy by hand"], name)
        rows.append((name, fmt_time(seconds), ", ".join(n for n in notes if "1.0x vs" not in n)))
    table(
        f"W1 moons step (MLP(2,[16,16,1]), 100 samples); first losses agree to {spread:.1e}", rows
    )
    return medians


# ----- W2, W3 ----------------------------------------------------------------------------
def bench_random_graph(n: int, rounds: int, engines: set[str]) -> dict[str, float]:
    from autograd import Value

    leaves, recipe = w.random_recipe(n)
    candidates: dict[str, Callable[[], Any]] = {
        "chainrule": lambda: w.random_graph(Value, leaves, recipe).backward(),
    }
    if "micrograd" in engines:
        mg = w.micrograd_value()
        candidates["micrograd 0.1.0"] = lambda: in_big_stack(
            lambda: w.random_graph(mg, leaves, recipe).backward()
        )
    medians = interleaved({k: (lambda r, f=f: f()) for k, f in candidates.items()}, rounds)
    per_node = {k: v / n for k, v in medians.items()}
    memory = {k: bytes_per_node(cls, leaves, recipe) for k, cls in graph_classes(engines).items()}
    rows = []
    for name, seconds in per_node.items():
        notes = ratio_notes(per_node, ["micrograd 0.1.0"], name)
        mem = memory.get(name)
        notes.append(f"{mem:.0f} bytes/node" if mem else "")
        rows.append((name, f"{seconds * 1e6:.2f} µs/node", ", ".join(x for x in notes if x)))
    table(f"W2 random graph, {n:,} nodes, build + backward", rows)
    return per_node


def graph_classes(engines: set[str]) -> dict[str, type]:
    from autograd import Value

    classes = {"chainrule": Value}
    if "micrograd" in engines:
        classes["micrograd 0.1.0"] = w.micrograd_value()
    return classes


def bytes_per_node(value_cls: type, leaves: list[float], recipe: list) -> float:
    """Memory held by the built graph per node (the graph alone; recipe excluded)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root = w.random_graph(value_cls, leaves, recipe)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del root
    gc.collect()
    return (after - before) / (len(leaves) + len(recipe))


def bench_deep_chain(engines: set[str]) -> None:
    from autograd import Value

    rows = []
    x, y = w.deep_chain(Value, 1_000_000)
    seconds = timed(y.backward)
    rows.append(("chainrule", "1,000,000", f"backward {fmt_time(seconds)}, x.grad = {x.grad:.3g}"))
    del x, y
    if "micrograd" in engines:
        mg = w.micrograd_value()
        deepest = 0
        for depth in range(300, 400, 10):
            try:
                _, out = w.deep_chain(mg, depth)
                out.backward()
                deepest = depth
            except RecursionError:
                break
        rows.append(("micrograd 0.1.0", f"{deepest}", "RecursionError just above"))
    table("W3 deep chain, default recursion limit: deepest that works", rows)


# ----- W4 -------------------------------------------------------------------------------
def bench_digits(rounds: int, engines: set[str], slow_batches: int) -> dict[str, float]:
    X, y = w.digits_data()
    weights = w.initial_weights(w.DIGITS_SIZES, seed=0, scale_by_fan_in=True)
    n_batches = len(w.digits_batches(len(X)))
    fast: dict[str, Callable[..., Any]] = {
        "chainrule compiled": w.chainrule_digits_epoch("compiled", w.chainrule_mlp(weights), X, y),
        "numpy by hand": w.numpy_digits_epoch(weights, X, y),
    }
    if "torch" in engines:
        fast["PyTorch eager"] = w.torch_digits_epoch(weights, X, y)
    for epoch in fast.values():
        epoch()  # warm-up
    medians = interleaved({k: (lambda r, f=f: f()) for k, f in fast.items()}, rounds)
    slow: dict[str, Callable[..., Any]] = {
        "chainrule scalar": w.chainrule_digits_epoch("scalar", w.chainrule_mlp(weights), X, y),
    }
    if "micrograd" in engines:
        slow["micrograd 0.1.0"] = w.micrograd_digits_epoch(w.micrograd_mlp(weights), X, y)
    for name, epoch in slow.items():
        medians[name] = timed(lambda e=epoch: e(slow_batches)) * n_batches / slow_batches
    rows = []
    for name, seconds in medians.items():
        notes = ratio_notes(medians, ["micrograd 0.1.0", "PyTorch eager", "numpy by hand"], name)
        if name in slow:
            notes.insert(0, f"(from {slow_batches} of {n_batches} batches)")
        rows.append((name, fmt_time(seconds), ", ".join(notes)))
    table("W4 digits epoch (MLP(64,[32,10]), 1,797 samples, batch 32)", rows)
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller graphs")
    parser.add_argument("--only", nargs="*", default=["W1", "W2", "W3", "W4"])
    args = parser.parse_args(argv)
    engines = {name for name in ("micrograd", "torch") if available(name)}
    if "torch" in engines:
        import torch

        torch.set_num_threads(1)
    missing = {"micrograd", "torch"} - engines
    print(f"python {sys.version.split()[0]}; anchors: {', '.join(sorted(engines)) or 'none'}")
    if missing:
        print(f"not installed (skipped): {', '.join(sorted(missing))}")
    rounds = 3 if args.quick else 7
    if "W1" in args.only:
        bench_moons(rounds, engines)
    if "W2" in args.only:
        bench_random_graph(20_000 if args.quick else 100_000, 3 if args.quick else 5, engines)
    if "W3" in args.only:
        bench_deep_chain(engines)
    if "W4" in args.only:
        bench_digits(rounds, engines, slow_batches=2 if args.quick else 4)
    print(
        "\nReproduce: pip install micrograd==0.1.0 torch==2.13.0 (optional anchors), then "
        "python benchmarks/run.py. Medians of interleaved rounds, one math thread each; "
        "ratios are anchor time / chainrule time from this same run."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
