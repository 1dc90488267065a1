"""The articles' walk-through: learn y = w * x from the table x = 0..4, y = 4x.

1. guess w = 2 and tabulate the predictions: the squared errors total 120;
2. nudge w to 2.0001 and 1.9999 (loss 119.988 and 120.012): raising w lowers the loss;
3. a big jump to w = 7 overshoots (loss 270);
4. backprop gives the slope dL/dw = -120 in one pass, no nudging needed;
5. gradient descent, w -= lr * slope, walks w to 4 until the loss is below 1e-6;
   then the same with one call of nn.fit.

Run: python examples/linear_fit.py
"""

from __future__ import annotations

import argparse

import nn
from autograd import Value


def total_squared_error(w: Value | float, xs: list[float], ys: list[float]) -> Value:
    """The articles' loss: the sum of (w x - y)^2 over the table."""
    return Value.sum([(w * x - y) ** 2 for x, y in zip(xs, ys)])


def main(quick: bool = False, quiet: bool = False) -> dict[str, float]:
    """Run the walk-through and return its numbers (``quick`` changes nothing here:
    the whole example takes milliseconds)."""
    X, y = nn.datasets.load_table()
    xs, ys = X[:, 0].tolist(), y.tolist()

    print("1. A random guess, w = 2: predictions and errors")
    w = Value(2.0, label="w")
    print(f"{'x':>4} {'y':>4} {'w*x':>6} {'error':>6} {'squared':>8}")
    for x, target in zip(xs, ys):
        prediction = w.data * x
        error = prediction - target
        print(f"{x:4g} {target:4g} {prediction:6g} {error:6g} {error**2:8g}")
    loss = total_squared_error(w, xs, ys)
    print(f"total squared error: {loss.data:g}\n")

    print("2. Nudge w a little and watch the loss")
    up = total_squared_error(2.0001, xs, ys).data
    down = total_squared_error(1.9999, xs, ys).data
    print(f"w = 2.0001 -> loss {up:.3f}   (lower: w should grow)")
    print(f"w = 1.9999 -> loss {down:.3f}   (higher)")
    print(f"slope by nudging: ({up:.6f} - {down:.6f}) / 0.0002 = {(up - down) / 0.0002:.4f}\n")

    print("3. A big jump overshoots")
    far = total_squared_error(7.0, xs, ys).data
    print(f"w = 7 -> loss {far:g}\n")

    print("4. Backprop: the slope in one backward pass")
    loss.backward()
    slope = w.grad
    print(f"dL/dw at w = 2: {slope:g}  (= sum of 2 (w x - y) x)\n")

    print("5. Gradient descent: w -= 0.01 * dL/dw, until the loss is below 1e-6")
    learning_rate, step = 0.01, 0
    print(f"{'step':>4} {'w':>12} {'loss':>14} {'dL/dw':>12}")
    while True:
        w.grad = 0.0
        current = total_squared_error(w, xs, ys)
        current.backward()
        print(f"{step:4d} {w.data:12.8f} {current.data:14.8g} {w.grad:12.6g}")
        if current.data < 1e-6:
            break
        w.data -= learning_rate * w.grad
        step += 1
    print(f"w = {w.data:.8f} after {step} steps: the rule y = 4x is learned\n")

    print("The same with nn: a one-input linear neuron without bias, trained by nn.fit")
    model = nn.Neuron(1, activation="linear", bias=False, init="zeros")
    model.w[0].data = 2.0
    history = nn.fit(
        model,
        X,
        y,
        loss="sse",
        optimizer=nn.SGD(model.parameters(), lr=learning_rate),
        epochs=100,
        stop_at_loss=1e-6,
        shuffle=False,
        quiet=quiet,
    )
    print(
        f"{len(history)} epochs, first loss {history['loss'][0]:g}, "
        f"last {history['loss'][-1]:.3g}; w = {model.w[0].data:.8f}"
    )
    return {
        "loss_at_2": loss.data,
        "loss_up": up,
        "loss_down": down,
        "loss_at_7": far,
        "slope": slope,
        "w": w.data,
        "final_loss": current.data,
        "steps": step,
        "fit_w": model.w[0].data,
        "fit_epochs": len(history),
        "fit_final_loss": history["loss"][-1],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    main(quick=parser.parse_args().quick)
