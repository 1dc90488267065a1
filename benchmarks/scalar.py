"""The scalar engine against micrograd and a tuned Value class, each in its own process.

    python benchmarks/scalar.py            # all workloads, a few minutes
    python benchmarks/scalar.py --quick    # smaller graphs, fewer batches

A process that has imported PyTorch (or holds another engine's graphs) slows every
pure-Python engine's garbage collector, so each engine and workload runs in a fresh
``python`` process of its own; this script starts them and prints CPU-time medians
and ratios against micrograd 0.1.0 measured in the same run. Workloads are those of
the anchor figures (benchmarks/workloads.py):

* W1 moons step: micrograd's demo loop, the same code for every engine (only the
  import changes): forward, backward and SGD update of MLP(2,[16,16,1]) on 100 samples.
* W2 random graph of 100,000 nodes: build + backward, µs per node; bytes per node held
  by the built graph (tracemalloc).
* W3 deep chain: the deepest ``tanh(0.5*x + 0.1)`` chain whose backward succeeds.
* W4 digits epoch: MLP(64,[32,10]), softmax cross-entropy, SGD on batches of 32:
  chainrule through ``nn.fit(..., engine="scalar")`` as users train, and every engine
  through the same micrograd-style loop. Timed on the first batches and scaled to the
  1,797-sample epoch (the row says how many).

A benchmark, not a test: ``pip install micrograd==0.1.0`` adds the anchor.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

ENGINES = ("micrograd", "chainrule", "tuned")
LABELS = {
    "micrograd": "micrograd 0.1.0",
    "chainrule": "chainrule",
    "tuned": "tuned Value class (reference)",
}


# ----- one engine, one workload (runs in a child process) ------------------------------------
def engine_classes(engine: str) -> tuple[type, type]:
    """(Value, MLP) of an engine; MLP(nin, nouts) as micrograd's."""
    if engine == "micrograd":
        import workloads as w
        from micrograd.nn import MLP

        return w.micrograd_value(), MLP
    if engine == "tuned":
        import reference_value

        return reference_value.Value, reference_value.MLP
    from autograd import Value
    from nn import MLP

    return Value, MLP


def _model(engine: str, weights: list) -> Any:
    import workloads as w

    _, mlp = engine_classes(engine)
    sizes = [weights[0][0].shape[1]] + [wt.shape[0] for wt, _ in weights]
    return w._set_weights(mlp(sizes[0], sizes[1:]), weights)


def cpu_median(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def w1_moons(engine: str, rounds: int) -> dict:
    import workloads as w

    value, _ = engine_classes(engine)
    X, y = w.moons_data()
    model = _model(engine, w.initial_weights(w.MOONS_SIZES, seed=0, scale_by_fan_in=False))
    rows, labels = X.tolist(), y.tolist()
    step_index = [0]

    def step() -> float:  # micrograd's demo, unchanged but for the engine
        k = step_index[0]
        step_index[0] += 1
        inputs = [list(map(value, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return loss.data

    first = step()
    return {"seconds": cpu_median(step, rounds), "first_loss": first}


def w2_random_graph(engine: str, rounds: int, n: int) -> dict:
    import workloads as w

    value, _ = engine_classes(engine)
    leaves, recipe = w.random_recipe(n)

    def build_and_backward() -> None:
        w.random_graph(value, leaves, recipe).backward()

    build_and_backward()
    seconds = cpu_median(build_and_backward, rounds)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root = w.random_graph(value, leaves, recipe)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del root
    return {"us_per_node": seconds / n * 1e6, "bytes_per_node": held / n}


def w3_deep_chain(engine: str, depth: int) -> dict:
    import workloads as w

    value, _ = engine_classes(engine)
    deepest = 0
    for d in (depth, *range(300, 2000, 10)) if engine != "micrograd" else range(300, 2000, 10):
        try:
            x, y = w.deep_chain(value, d)
            y.backward()
        except RecursionError:
            break
        deepest = max(deepest, d)
        if d == depth:
            break
    return {"deepest": deepest}


def w4_digits(engine: str, batches: int, via_fit: bool) -> dict:
    import workloads as w

    value, _ = engine_classes(engine)
    X, y = w.digits_data()
    n = batches * w.DIGITS_BATCH
    X, y = X[:n], y[:n]
    model = _model(engine, w.initial_weights(w.DIGITS_SIZES, seed=0, scale_by_fan_in=True))
    start = time.process_time()
    if via_fit:
        import nn

        nn.fit(
            model, X, y, loss="cross_entropy", optimizer=nn.SGD(model.parameters(), lr=0.1),
            epochs=1, batch_size=w.DIGITS_BATCH, shuffle=False, engine="scalar", quiet=True,
        )  # fmt: skip
    else:
        for i in range(0, n, w.DIGITS_BATCH):
            total = 0
            for row, label in zip(X[i : i + w.DIGITS_BATCH].tolist(), y[i : i + w.DIGITS_BATCH]):
                logits = model([value(v) for v in row])
                top = max(z.data for z in logits)
                exps = sum((z - top).exp() for z in logits)
                log_sum = w._micrograd_log(exps) if engine == "micrograd" else exps.log()
                total = total + (log_sum + top - logits[int(label)])
            batch_loss = total * (1.0 / w.DIGITS_BATCH)
            model.zero_grad()
            batch_loss.backward()
            for p in model.parameters():
                p.data -= 0.1 * p.grad
    seconds = time.process_time() - start
    epoch_batches = math.ceil(len(w.digits_data()[0]) / w.DIGITS_BATCH)
    return {"epoch_seconds": seconds * epoch_batches / batches, "batches": batches}


def run_child(args: argparse.Namespace) -> None:
    if args.workload == "W3":  # the default recursion limit: micrograd's recursive sort meets it
        print(json.dumps(w3_deep_chain(args.engine, args.depth)))
        return
    # micrograd's recursive topological sort needs a deep stack on large graphs
    sys.setrecursionlimit(10**6)
    threading.stack_size(1024 * 1024 * 1024)
    thread = threading.Thread(target=run_workload, args=(args,))
    thread.start()
    thread.join()


def run_workload(args: argparse.Namespace) -> None:
    if args.workload == "W1":
        result = w1_moons(args.engine, args.rounds)
    elif args.workload == "W2":
        result = w2_random_graph(args.engine, args.rounds, args.nodes)
    else:
        result = w4_digits(args.engine, args.batches, args.via_fit)
    print(json.dumps(result))


# ----- the parent: one process per engine and workload ----------------------------------------
def measure(engine: str, workload: str, **options: Any) -> dict | None:
    command = [sys.executable, __file__, "--child", "--engine", engine, "--workload", workload]
    for key, value in options.items():
        if value is True:
            command.append(f"--{key.replace('_', '-')}")
        elif value is not False:
            command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  {engine} {workload} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(anchor: float | None, ours: float | None) -> str:
    if not anchor or not ours:
        return ""
    return (
        f"{anchor / ours:.1f}x faster than micrograd"
        if anchor >= ours
        else (f"{ours / anchor:.1f}x slower than micrograd")
    )


def fmt_seconds(s: float) -> str:
    return f"{s:.2f} s" if s >= 1 else f"{s * 1e3:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs, fewer batches")
    parser.add_argument("--only", nargs="*", default=["W1", "W2", "W3", "W4"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--nodes", type=int, default=100_000, help=argparse.SUPPRESS)
    parser.add_argument("--depth", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--via-fit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    try:
        import micrograd  # noqa: F401

        engines = list(ENGINES)
    except ImportError:
        engines = [e for e in ENGINES if e != "micrograd"]
        print("micrograd is not installed (pip install micrograd==0.1.0): no ratios")
    print(f"python {sys.version.split()[0]}; each engine and workload in its own process; CPU time")
    rounds = 3 if args.quick else 5
    if "W1" in args.only:
        res = {e: measure(e, "W1", rounds=rounds) for e in engines}
        base = (res.get("micrograd") or {}).get("seconds")
        print("\nW1 moons step (micrograd's demo loop, MLP(2,[16,16,1]), 100 samples)")
        for e, r in res.items():
            if r:
                first = f"(first loss {r['first_loss']:.12f})"
                print(f"  {LABELS[e]:<32} {fmt_seconds(r['seconds']):>10}  ", end="")
                print(f"{ratio(base, r['seconds'])}  {first}")
    if "W2" in args.only:
        nodes = 20_000 if args.quick else 100_000
        res = {e: measure(e, "W2", rounds=rounds, nodes=nodes) for e in engines}
        base = (res.get("micrograd") or {}).get("us_per_node")
        print(f"\nW2 random graph, {nodes:,} nodes, build + backward")
        for e, r in res.items():
            if r:
                memory = f"{r['bytes_per_node']:.0f} bytes/node"
                print(f"  {LABELS[e]:<32} {r['us_per_node']:>6.2f} µs/node  ", end="")
                print(f"{ratio(base, r['us_per_node'])}, {memory}")
    if "W3" in args.only:
        print("\nW3 deep chain (3 nodes per step), default recursion limit: deepest that works")
        for e in engines:
            r = measure(e, "W3", depth=1_000_000 // 3)
            if r:
                print(f"  {LABELS[e]:<32} {r['deepest']:>9,} steps ({3 * r['deepest']:,} nodes)")
    if "W4" in args.only:
        batches = 3 if args.quick else 8
        res = {e: measure(e, "W4", batches=batches) for e in engines}
        fit = measure("chainrule", "W4", batches=batches, via_fit=True)
        base = (res.get("micrograd") or {}).get("epoch_seconds")
        tuned = (res.get("tuned") or {}).get("epoch_seconds")
        print(f"\nW4 digits epoch (MLP(64,[32,10]), batch 32), from {batches} batches, scaled")
        rows = [(f"{LABELS[e]}, micrograd-style loop", r) for e, r in res.items()]
        rows.append(('chainrule nn.fit(engine="scalar")', fit))
        for label, r in rows:
            if r:
                vs_tuned = f", {tuned / r['epoch_seconds']:.2f}x the tuned class" if tuned else ""
                print(f"  {label:<44} {fmt_seconds(r['epoch_seconds']):>9}  ", end="")
                print(f"{ratio(base, r['epoch_seconds'])}{vs_tuned}")
    print("\nReproduce: pip install micrograd==0.1.0; python benchmarks/scalar.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
