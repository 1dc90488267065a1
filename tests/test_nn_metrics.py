"""nn.metrics: hand-computed values, scikit-learn's documented outputs, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from nn import metrics as M

Y_TRUE = [0, 1, 2, 2, 2]
Y_PRED = [0, 0, 2, 2, 1]


def test_accuracy_and_confusion_matrix():
    assert M.accuracy(Y_TRUE, Y_PRED) == 0.6
    assert M.confusion_matrix(Y_TRUE, Y_PRED).tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 2]]
    assert M.confusion_matrix([1, 0], [1, 1], labels=[1, 0]).tolist() == [[1, 0], [1, 0]]


def test_binary_precision_recall_f1_by_hand():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 0, 1, 1, 0, 0, 0, 0]  # TP 2, FP 1, FN 2
    assert M.precision(y_true, y_pred) == pytest.approx(2 / 3)
    assert M.recall(y_true, y_pred) == pytest.approx(2 / 4)
    assert M.f1(y_true, y_pred) == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert M.precision(y_true, y_pred, pos_label=0) == pytest.approx(3 / 5)
    signs = [1 if v else -1 for v in y_true], [1 if v else -1 for v in y_pred]
    assert M.f1(*signs) == pytest.approx(4 / 7)


def test_macro_weighted_and_micro_averages_as_scikit_learn_documents():
    # scikit-learn's precision_recall_fscore_support docstring example
    y_true = ["cat", "dog", "pig", "cat", "dog", "pig"]
    y_pred = ["cat", "pig", "dog", "cat", "cat", "dog"]
    assert M.precision_recall_f1(y_true, y_pred, average="macro") == pytest.approx(
        (0.222, 0.333, 0.267), abs=1e-3
    )
    assert M.precision_recall_f1(y_true, y_pred, average="micro") == pytest.approx(
        (0.333, 0.333, 0.333), abs=1e-3
    )
    assert M.precision_recall_f1(y_true, y_pred, average="weighted") == pytest.approx(
        (0.222, 0.333, 0.267), abs=1e-3
    )
    per_class = M.precision_recall_f1(y_true, y_pred, average=None)
    assert per_class[0].tolist() == pytest.approx([2 / 3, 0.0, 0.0])


def test_zero_division_gives_zero():
    assert M.precision([1, 0], [0, 0]) == 0.0
    assert M.recall([0, 0], [0, 0]) == 0.0
    assert M.f1([0, 0], [1, 1]) == 0.0


def test_classification_report_is_laid_out_as_scikit_learns():
    # scikit-learn's classification_report docstring example, character for character
    expected = (
        "              precision    recall  f1-score   support\n"
        "\n"
        "     class 0       0.50      1.00      0.67         1\n"
        "     class 1       0.00      0.00      0.00         1\n"
        "     class 2       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n"
    )
    names = ["class 0", "class 1", "class 2"]
    assert M.classification_report(Y_TRUE, Y_PRED, target_names=names) == expected
    numbers = M.classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert numbers["2"]["recall"] == pytest.approx(2 / 3)
    assert numbers["macro avg"]["f1-score"] == pytest.approx((2 / 3 + 0 + 0.8) / 3)


def test_regression_metrics():
    y_true, y_pred = [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]
    assert M.mse(y_true, y_pred) == pytest.approx(0.375)
    assert M.mae(y_true, y_pred) == pytest.approx(0.5)
    assert M.r2(y_true, y_pred) == pytest.approx(0.948608, abs=1e-6)  # scikit-learn's example
    assert M.r2([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert M.r2([1.0, 1.0], [1.0, 2.0]) == 0.0
    assert M.r2(y_true, [np.mean(y_true)] * 4) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: M.accuracy([0, 1], [0.2, 0.9]), ValueError, "continuous values.*threshold"),
        (lambda: M.accuracy([0, 1], [0]), ValueError, "2 labels but y_pred has 1"),
        (lambda: M.accuracy([], []), ValueError, "empty"),
        (lambda: M.accuracy([[0.1, 0.9]], [1]), ValueError, "argmax"),
        (lambda: M.precision([0, 1, 2], [0, 1, 2]), ValueError, "average='binary' needs two"),
        (lambda: M.precision([0, 2], [0, 2]), ValueError, "pos_label=1 is not one of"),
        (lambda: M.f1([0, 1], [0, 1], average="mean"), ValueError, "average must be"),
        (lambda: M.mse([1.0, np.nan], [1.0, 2.0]), ValueError, "NaN"),
        (lambda: M.mse([1.0], [1.0, 2.0]), ValueError, "shape"),
        (lambda: M.r2(["a"], [1.0]), TypeError, "numbers"),
        (
            lambda: M.classification_report([0, 1], [0, 1], target_names=["a"]),
            ValueError,
            "1 names",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


labels = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40)


@given(labels)
def test_properties_of_the_counts(pairs):
    y_true, y_pred = map(list, zip(*pairs))
    matrix = M.confusion_matrix(y_true, y_pred)
    assert matrix.sum() == len(pairs)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(M.accuracy(y_true, y_pred))
    p, r, f = M.precision_recall_f1(y_true, y_pred, average=None)
    for pi, ri, fi in zip(p, r, f):
        harmonic = 2 * pi * ri / (pi + ri) if pi + ri else 0.0
        assert fi == pytest.approx(harmonic)
    assert M.f1(y_true, y_pred, average="macro") == pytest.approx(f.mean())
    # micro-averaged F1 equals accuracy when every sample has exactly one label
    assert M.f1(y_true, y_pred, average="micro") == pytest.approx(M.accuracy(y_true, y_pred))


def test_metric_lookup_for_fit():
    name, fn = M.get_metric("f1")
    assert name == "f1"
    assert fn([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)  # binary
    assert fn([0, 1, 2], [0, 1, 1]) == pytest.approx(M.f1([0, 1, 2], [0, 1, 1], average="macro"))
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        M.get_metric("auc")
    assert nn.accuracy is M.accuracy
