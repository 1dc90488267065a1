"""Handwritten digits: 10 output nodes, softmax cross-entropy, held-out accuracy >= 90%.

The UCI 8x8 optical digits (1797 images, pixel values 0..16, CC BY 4.0) are split
70/30 (stratified); a 64-32-10 MLP is trained with categorical cross-entropy on its 10
logits (a stable log-softmax) and Adam, in mini-batches of 32. Every one of the ~2,400
weights is a Value: one image costs about 2,500 graph nodes forward and backward.

Run: python examples/digits.py   (about 20 s; writes digits_history.png when matplotlib
is installed)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import nn
from viz import plots as viz_plots


def ascii_digit(pixels: Any) -> str:
    """An 8x8 image (values 0..1) drawn with characters."""
    shades = " .:-=+*#%@"
    rows = []
    for r in range(8):
        rows.append("".join(shades[min(9, int(v * 9.99))] * 2 for v in pixels[r * 8 : r * 8 + 8]))
    return "\n".join(rows)


def main(
    quick: bool = False, quiet: bool = False, plot_dir: str | None = "chainrule-output/examples"
) -> dict[str, Any]:
    """Train and report; ``quick`` trains a 64-16-10 net on 300 images for 3 epochs."""
    X, y = nn.datasets.load_digits()
    X = X / 16.0  # pixels to 0..1
    X_train, X_test, y_train, y_test = nn.train_test_split(
        X, y, test_size=0.3, seed=0, stratify=True
    )
    if quick:
        X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:200], y_test[:200]
    hidden, epochs = (16, 3) if quick else (32, 6)
    print(f"{len(X_train)} training images, {len(X_test)} test images, 10 classes\n")

    model = nn.MLP(64, [hidden, 10], init="he", seed=0)
    print(model)
    print(f"{model.num_parameters()} parameters\n")
    start = time.perf_counter()
    history = nn.fit(
        model,
        X_train,
        y_train,
        loss="cross_entropy",
        optimizer=nn.Adam(model.parameters(), lr=0.01),
        epochs=epochs,
        batch_size=32,
        validation=0.1,
        metrics=["accuracy"],
        seed=0,
        quiet=quiet,
    )
    seconds = time.perf_counter() - start
    for k in range(len(history)):
        print(
            f"epoch {k + 1}: loss {history['loss'][k]:.4f}, train accuracy "
            f"{history['accuracy'][k]:.3f}, validation accuracy {history['val_accuracy'][k]:.3f}"
        )
    print(f"training took {seconds:.1f} s ({seconds / len(history):.1f} s per epoch)\n")

    logits = model.predict(X_test)
    predicted = logits.argmax(axis=1)
    test_accuracy = nn.accuracy(y_test, predicted)
    print(f"held-out test accuracy: {test_accuracy:.1%}\n")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(nn.confusion_matrix(y_test, predicted, labels=list(range(10))))
    print()
    print(nn.classification_report(y_test, predicted))

    print("One test image, and the softmax of the model's 10 outputs:")
    print(ascii_digit(X_test[0]))
    probabilities = nn.softmax(model(X_test[0].tolist()))
    ranked = sorted(range(10), key=lambda k: -probabilities[k].data)[:3]
    print(
        "true:",
        y_test[0],
        " top guesses:",
        ", ".join(f"{k} ({probabilities[k].data:.1%})" for k in ranked),
    )

    plots = viz_plots if viz_plots.available() else None  # matplotlib is optional
    if plots is not None and plot_dir is not None:
        out = Path(plot_dir)
        out.mkdir(parents=True, exist_ok=True)
        plots.plot_history(
            history, out / "digits_history.png", title=f"digits: MLP(64, [{hidden}, 10])"
        )
        print("wrote", out / "digits_history.png")
    return {"accuracy": test_accuracy, "seconds": seconds, "history": history, "model": model}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    main(quick=parser.parse_args().quick)
