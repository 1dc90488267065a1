"""Benchmarks of the compiled path as users run it: nn.fit beside PyTorch and numpy.

    python benchmarks/run.py            # W1 and W4, a minute or two
    python benchmarks/run.py --quick    # fewer rounds
    python benchmarks/run.py --only W1

Each workload (benchmarks/workloads.py) is trained three ways from the same initial
weights, on the same batches in the same order, with the same updates: one ``nn.fit``
call on an ``nn.MLP`` (``engine="auto"``, so compiled; the call is timed whole, compiling
included: that is what a user pays), a PyTorch eager loop and a hand-written numpy loop.
All run in this one process, one math thread each, after a warm-up call, in interleaved
rounds (A B C A B C ...); medians are printed with ratios from this same run, and the
final losses of the three must agree. Step-level figures of nn's internal compiled step
follow, labelled as such. PyTorch is optional (``pip install torch``). The pure-Python
engines (scalar engine, micrograd) are measured by benchmarks/scalar.py. A benchmark,
not a test.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one math thread for everyone

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402
import workloads as w  # noqa: E402

AGREE = 1e-12  # final losses of the three engines, absolute


@dataclass
class Candidate:
    """One way to run a workload: ``prepare()`` (untimed) returns what ``run`` takes;
    ``run`` trains and returns the final loss. ``steps`` divides a run's time."""

    name: str
    prepare: Callable[[], Any]
    run: Callable[[Any], float]
    steps: int


def torch_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    torch.set_num_threads(1)
    return True


def timed(candidate: Candidate) -> tuple[float, float]:
    """(seconds, final loss) of one run, after a gc.collect() outside the timing."""
    state = candidate.prepare()
    gc.collect()
    start = time.perf_counter()
    loss = candidate.run(state)
    return time.perf_counter() - start, loss


def interleaved(
    candidates: list[Candidate], rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per step of each candidate over ``rounds`` rounds of A B C ...,
    after one warm-up run each (imports, first-call costs); and the warm-up's final losses."""
    finals = {c.name: timed(c)[1] for c in candidates}
    times: dict[str, list[float]] = {c.name: [] for c in candidates}
    for _ in range(rounds):
        for candidate in candidates:
            times[candidate.name].append(timed(candidate)[0] / candidate.steps)
    return {name: statistics.median(ts) for name, ts in times.items()}, finals


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def ratio(ours: float, theirs: float, name: str) -> str:
    """'0.52x the time of PyTorch eager (1.9x faster)', time ratio from this run."""
    r = ours / theirs
    how = f"{1 / r:.2f}x faster" if r < 1 else f"{r:.2f}x slower"
    return f"{r:.2f}x the time of {name} ({how})"


# ----- the workloads -------------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    title: str
    unit: str  # "step" or "epoch"
    steps: int  # in one run
    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    weights: Callable[[], w.Weights]
    fit: Callable[[Any, np.ndarray, np.ndarray], Any]
    numpy_loop: Callable[..., list[float]]
    torch_loop: Callable[..., list[float]]
    moons: bool


WORKLOADS = {
    "W1": Workload(
        "W1", f"W1 moons: MLP(2,[16,16,1]), 100 samples, hinge + L2({w.MOONS_L2:g}), SGD lr "
        f"{w.MOONS_LR:g}, one fit call of {w.MOONS_EPOCHS} full-batch epochs",
        "step", w.MOONS_EPOCHS, w.moons_data, w.moons_weights, w.fit_moons,
        w.numpy_moons, w.torch_moons, moons=True,
    ),
    "W4": Workload(
        "W4", f"W4 digits: MLP(64,[32,10]), 1,797 samples, cross-entropy, SGD lr "
        f"{w.DIGITS_LR:g}, batch {w.DIGITS_BATCH}, one fit call of {w.DIGITS_EPOCHS} epochs",
        "epoch", w.DIGITS_EPOCHS, w.digits_data, w.digits_weights, w.fit_digits,
        w.numpy_digits, w.torch_digits, moons=False,
    ),
}  # fmt: skip


def candidates(work: Workload, with_torch: bool) -> tuple[list[Candidate], dict[str, Any]]:
    """nn.fit, PyTorch and numpy for ``work``; and what the fit calls reported."""
    X, y = work.data()
    weights = work.weights()
    report: dict[str, Any] = {"compile": []}

    def run_fit(model: Any) -> float:
        history = work.fit(model, X, y)
        report["engine"] = history.engine
        report["compile"].append(history.compile_seconds)
        return history["loss"][-1]

    found = [
        Candidate("nn.fit", lambda: w.nn_mlp(weights), run_fit, work.steps),
        Candidate("numpy by hand", lambda: None, lambda _: work.numpy_loop(weights, X, y)[-1],
                  work.steps),
    ]  # fmt: skip
    if with_torch:
        found.insert(1, Candidate(
            "PyTorch eager", lambda: None, lambda _: work.torch_loop(weights, X, y)[-1],
            work.steps,
        ))  # fmt: skip
    return found, report


def step_candidate(work: Workload) -> Candidate:
    """nn's internal compiled step (nn.compiled.CompiledStep) called directly on the
    workload's batches, compiled beforehand: no fit loop, no compiling in the timing."""
    X, y = work.data()
    weights = work.weights()
    batches = [slice(None)] if work.moons else w.digits_batches(len(X))

    def train(prepared: tuple) -> float:
        step, targets = prepared
        for _ in range(work.steps):
            losses = [step(X[rows], targets[rows])[0] for rows in batches]
        return losses[-1]

    return Candidate(
        f"CompiledStep, per {work.unit}",
        lambda: w.compiled_step(w.nn_mlp(weights), X, y, moons=work.moons),
        train,
        work.steps,
    )


def bench(work: Workload, rounds: int, with_torch: bool) -> bool:
    """Print the workload's table; return whether the final losses agree."""
    found, report = candidates(work, with_torch)
    medians, finals = interleaved(found, rounds)
    print(f"\n{work.title}")
    fit = medians["nn.fit"]
    for name, seconds in medians.items():
        note = ""
        if name == "nn.fit":
            compiling = fmt_time(statistics.median(report["compile"]))
            note = f'engine="auto" -> {report["engine"]}; {fmt_time(seconds * work.steps)} per '
            note += f"call, compiling included ({compiling})"
        print(f"  {name:<14} {fmt_time(seconds):>9} per {work.unit}   {note}".rstrip())
    for name in medians:
        if name != "nn.fit":
            print(f"  nn.fit: {ratio(fit, medians[name], name)}")
    spread = max(finals.values()) - min(finals.values())
    shown = ", ".join(f"{name} {loss:.15g}" for name, loss in finals.items())
    ok = spread <= AGREE
    verdict = "agree" if ok else f"DISAGREE (more than {AGREE:g})"
    print(f"  final losses: {shown}; max difference {spread:.2g}: {verdict}")
    return ok


def bench_steps(works: list[Workload], rounds: int) -> None:
    """nn's compiled training step alone, labelled as the internal figure it is."""
    print(
        "\nStep-level internal figures (not what users run): nn.compiled.CompiledStep "
        "called directly through prepare/encode/__call__, compiled beforehand, no fit loop"
    )
    try:
        steps = [step_candidate(work) for work in works]
        medians, _ = interleaved(steps, rounds)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"  skipped: nn's internal step API changed ({exc})")
        return
    for work, candidate in zip(works, steps):
        print(f"  {work.name} {candidate.name:<24} {fmt_time(medians[candidate.name]):>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    args = parser.parse_args(argv)
    with_torch = torch_available()
    rounds = 3 if args.quick else 11
    versions = [f"python {sys.version.split()[0]}", f"numpy {np.__version__}"]
    if with_torch:
        import torch

        versions.append(f"torch {torch.__version__}")
    print(f"{', '.join(versions)}; one math thread each; medians of {rounds} interleaved rounds")
    if not with_torch:
        print("PyTorch is not installed: its rows are skipped (pip install torch)")
    works = [WORKLOADS[name] for name in args.only]
    agree = [bench(work, rounds, with_torch) for work in works]
    bench_steps(works, rounds)
    print(
        "\nTimes are wall-clock medians per step (W1) or epoch (W4) of whole runs; a ratio "
        "is nn.fit's time over the other's, from this same run."
    )
    return 0 if all(agree) else 1


if __name__ == "__main__":
    sys.exit(main())
