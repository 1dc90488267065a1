"""How long Graphviz's dot takes to draw the graph of an MLP (about 1,000 nodes).

    python benchmarks/render.py

Issue target: a 1,000-node graph renders to PNG in about 2 s or less. Prints the median
of a few runs for PNG and SVG. A benchmark, not a test.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import nn
import viz
from autograd import Value


def main() -> int:
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = (model([Value(1.0, label="x1"), Value(-2.0, label="x2")]) - 1.0) ** 2
    loss.backward()
    graph = viz.draw_graph(loss, max_nodes=1200)
    nodes = sum(1 for line in graph.source.splitlines() if "[label=" in line)
    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("png", "svg"):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                viz.render(graph, Path(folder) / f"mlp.{suffix}")
                times.append(time.perf_counter() - start)
            print(f"{nodes} nodes -> {suffix}: median {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
