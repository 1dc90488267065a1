"""Benchmark of nn.search's backends: one process, two processes (joblib), a Dask cluster.

    python benchmarks/search.py            # 3 rounds, about a minute
    python benchmarks/search.py --rounds 1

The workload: a grid search over 8 configurations of the moons model (MLP(2, [w, w, 1]),
hinge loss, SGD; lr in 4 values x width in 2), 3-fold cross-validated, 30 epochs of
mini-batches each: 24 independent runs. First ``n_jobs=1`` (in this process) against
``n_jobs=2`` (joblib's loky processes); then, with a
``LocalCluster(n_workers=2, threads_per_worker=1)`` up, ``backend="dask"`` against
``n_jobs=2`` again (the cluster's scheduler runs in this process and takes some of its
time, so each comparison is made under the same conditions). Each way is called once to
warm up (workers started, modules imported: printed apart), then timed in interleaved
rounds (A B A B ...); medians are printed with ratios from this same run, one math
thread per process, and the mean time of one run inside each search (above n_jobs=1's
when other processes took the cores: on a shared machine, read it before the ratios).
All must produce identical tables (same seed, same scores). Dask is optional
(``pip install 'chainrule[dask]'``). The load average is printed before and after. A
benchmark, not a test.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported; worker processes inherit it

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn  # noqa: E402

GRID = {"lr": [0.03, 0.1, 0.3, 1.0], "width": [8, 16]}
SETTINGS = dict(k=3, loss="hinge", epochs=30, batch_size=16, metrics=["accuracy"], quiet=True)


def make_model(lr: float, width: int) -> tuple[nn.MLP, nn.SGD]:
    model = nn.MLP(2, [width, width, 1], seed=0)
    return model, nn.SGD(model.parameters(), lr=lr)


def searcher(X: Any, y: Any, **how: Any) -> Callable[[], nn.SearchResult]:
    """One way to run the search (``n_jobs=``, ``backend=``)."""
    return lambda: nn.search(make_model, GRID, X, y, refit=False, **SETTINGS, **how)


@dataclass
class Row:
    first: float  # seconds of the first call
    median: float  # seconds, median over the rounds
    run: float  # seconds of one run, inside the search
    table: list[dict[str, Any]]


def timed(run: Callable[[], nn.SearchResult]) -> tuple[float, nn.SearchResult]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def compare(ways: dict[str, Callable[[], nn.SearchResult]], rounds: int) -> dict[str, Any]:
    """Each way's first call (its warm-up), its median over interleaved rounds, the median
    seconds of one run inside it (more than n_jobs=1's: the cores were shared), its table."""
    first = {name: timed(run) for name, run in ways.items()}
    times: dict[str, list[float]] = {name: [] for name in ways}
    per_run: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, run in ways.items():
            seconds, result = timed(run)
            times[name].append(seconds)
            per_run[name].append(statistics.mean(r.seconds for r in result.runs))
            assert result.table == first[name][1].table, f"{name}: the table changed"
    return {
        name: Row(
            first[name][0],
            statistics.median(times[name]),
            statistics.median(per_run[name]),
            first[name][1].table,
        )
        for name in ways
    }


def dask_client() -> Any:
    """A 2-worker, 1-thread-per-worker local Dask cluster's client, or None without Dask."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("Dask is not installed (pip install 'chainrule[dask]'): its rows are skipped")
        return None
    return Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args()

    X, y = nn.datasets.make_moons(600, noise=0.1, seed=0)
    runs = len(GRID["lr"]) * len(GRID["width"]) * SETTINGS["k"]
    print(f"search: 8 configurations x {SETTINGS['k']} folds = {runs} runs of "
          f"{SETTINGS['epochs']} epochs (moons, 600 samples, batches of 16); "
          f"{os.cpu_count()} cores, one math thread per process; "
          f"load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip

    # 1. processes against one process, with no Dask scheduler in this process
    local = {"n_jobs=1": searcher(X, y, n_jobs=1), "n_jobs=2": searcher(X, y, n_jobs=2)}
    rows = compare(local, args.rounds)
    # 2. Dask against n_jobs=2, both with the cluster up (its scheduler runs in this process)
    start = time.perf_counter()
    client = dask_client()
    if client is not None:
        cluster_seconds = time.perf_counter() - start
        try:
            both = {"n_jobs=2": local["n_jobs=2"], 'backend="dask"': searcher(X, y, backend="dask")}
            for name, row in compare(both, args.rounds).items():
                rows[f"{name} (cluster up)"] = row
        finally:
            client.close()
            client.cluster.close()

    serial = rows["n_jobs=1"].median
    print(f"\n{'way':<28} {'first call':>10} {'median':>8} {'vs n_jobs=1':>12} {'one run':>8}")
    for name, row in rows.items():
        print(f"{name:<28} {row.first:>9.2f}s {row.median:>7.2f}s {serial / row.median:>11.2f}x "
              f"{row.run:>7.3f}s")  # fmt: skip
    print(f"(medians of {args.rounds} interleaved rounds after the first call, which starts "
          "the workers; 'one run': its mean time inside the search, higher than n_jobs=1's "
          f"when other processes shared the cores; load average after: "
          f"{os.getloadavg()[0]:.2f})")  # fmt: skip
    if client is not None:
        dask = rows['backend="dask" (cluster up)'].median
        loky = rows["n_jobs=2 (cluster up)"].median
        print(f'backend="dask" takes {dask / loky:.2f}x the time of n_jobs=2 '
              f"(starting the LocalCluster, {cluster_seconds:.2f}s, not counted)")  # fmt: skip

    tables = {name: row.table for name, row in rows.items()}
    same = all(table == tables["n_jobs=1"] for table in tables.values())
    print(f"identical tables ({', '.join(tables)}): {'yes' if same else 'NO'}")
    best = tables["n_jobs=1"][0]
    print(f"best: {best['config']}, val_loss {best['mean']:.6g} ± {best['std']:.2g}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
