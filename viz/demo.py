"""``chainrule demo``: the README's main job."""

from __future__ import annotations

from pathlib import Path

from autograd import Value


def _section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 66 - len(title)))


def neuron_backprop() -> Value:
    """The classic single neuron, printed one chain-rule step at a time."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    print(f"o = {o.formula()} = {o.data:.6f}")
    for step in o.backward_steps():
        print(step)
    print()
    print(o.tree())
    return o


def run_demo(output_dir: str = "chainrule-output", quick: bool = False) -> int:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _section("Backprop through one neuron, step by step")
    neuron_backprop()
    return 0
