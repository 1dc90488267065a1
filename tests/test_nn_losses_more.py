"""nn.losses, more: multi-output BCE, predictions, reductions of the function forms,
plain-function losses, encoded targets and exact error messages (the cases the mutation
run found unchecked)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from autograd import Value
from nn import losses as L


def values(xs):
    return [Value(float(x)) for x in xs]


# ----- reprs ------------------------------------------------------------------------------------
def test_loss_reprs_name_the_class_and_reduction():
    assert repr(L.MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(L.SSELoss()) == "SSELoss(reduction='sum')"
    assert repr(L.HingeLoss(reduction="none")) == "HingeLoss(reduction='none')"


# ----- binary cross-entropy with several outputs per sample ------------------------------------
def test_bce_with_two_outputs_per_sample_closed_form():
    # two samples, two probabilities each: mean over the 4 terms -(t log p + (1-t) log(1-p))
    outputs = [values([0.9, 0.2]), values([0.4, 0.7])]
    targets = [[1.0, 0.0], [0.0, 1.0]]
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.7)) / 4
    loss = L.binary_cross_entropy(outputs, targets)
    assert loss.data == pytest.approx(expected, rel=1e-14)
    loss.backward()  # d/dp = (p - t) / (p (1 - p)) / 4
    grads = [[v.grad for v in row] for row in outputs]
    assert grads == [
        pytest.approx([-1 / 0.9 / 4, 1 / 0.8 / 4]),
        pytest.approx([1 / 0.6 / 4, -1 / 0.7 / 4]),
    ]
    terms = L.binary_cross_entropy(outputs, targets, reduction="none")
    assert [t.data for t in terms] == pytest.approx(
        [-(math.log(0.9) + math.log(0.8)), -(math.log(0.6) + math.log(0.7))], rel=1e-14
    )


def test_bce_errors_name_the_loss_and_the_fix():
    with pytest.raises(
        ValueError,
        match=r"^bce: outputs must be probabilities in \[0, 1\], got 1\.5; end the model with "
        r"a sigmoid, or use bce_with_logits on raw scores$",
    ):
        L.binary_cross_entropy([Value(1.5)], [1.0])
    with pytest.raises(TypeError, match=r"^bce: targets must be numbers, got an array of <U1$"):
        L.binary_cross_entropy([Value(0.5)], ["a"])


# ----- predictions (outputs -> labels) ---------------------------------------------------------
def test_bce_predicts_integer_class_1_above_probability_one_half():
    labels = L.BCELoss().predict(np.array([0.0, 0.2, 0.5, 0.51, 0.7, 1.0]))
    assert labels.dtype.kind == "i"  # labels, not 0.0/1.0 floats
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]  # exactly 0.5 is class 0, as PyTorch's > 0.5


def test_bce_with_logits_predicts_integer_class_1_for_positive_scores():
    labels = L.BCEWithLogitsLoss().predict(np.array([-3.0, -0.1, 0.0, 0.3, 0.9, 2.0]))
    assert labels.dtype.kind == "i"
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_hinge_predicts_by_sign_for_one_score_and_argmax_for_several():
    assert L.HingeLoss().predict(np.array([-0.5, 0.0, 0.25])).tolist() == [0, 0, 1]
    scores = np.array([[0.1, 0.9, 0.3], [2.0, -1.0, 0.5], [0.2, 0.3, 0.4]])
    assert L.HingeLoss().predict(scores).tolist() == [1, 0, 2]


def test_class_score_predictions_need_one_row_per_sample():
    assert L.CrossEntropyLoss().predict(np.array([[0.1, 0.9], [2.0, -1.0]])).tolist() == [1, 0]
    with pytest.raises(
        ValueError, match=r"^expected one row of class scores per sample, got shape \(3,\)$"
    ):
        L.CrossEntropyLoss().predict(np.array([0.1, 0.9, 0.3]))


# ----- the function forms pass their reduction on -----------------------------------------------
def test_huber_loss_function_honours_reduction():
    out, t = values([1.0, 2.0, -1.0]), [0.0, 4.0, 1.0]  # |d| = 1, 2, 2 -> 0.5, 1.5, 1.5
    assert L.huber_loss(out, t, reduction="sum").data == pytest.approx(3.5)
    assert [v.data for v in L.huber_loss(out, t, reduction="none")] == pytest.approx(
        [0.5, 1.5, 1.5]
    )
    # delta=2: 0.5, 2, 2
    assert L.huber_loss(out, t, delta=2.0, reduction="sum").data == pytest.approx(4.5)


def test_hinge_loss_function_honours_reduction():
    scores = values([0.5, -2.0, 0.1])  # relu(1 - t s) with t = 1, -1, -1: 0.5, 0, 1.1
    assert L.hinge_loss(scores, [1, -1, -1], reduction="sum").data == pytest.approx(1.6)
    assert [v.data for v in L.hinge_loss(scores, [1, -1, -1], reduction="none")] == (
        pytest.approx([0.5, 0.0, 1.1])
    )
    # margin 2: 1.5, 0, 2.1
    assert L.hinge_loss(scores, [1, 0, 0], margin=2.0, reduction="sum").data == pytest.approx(3.6)


# ----- plain functions as losses ---------------------------------------------------------------
def total_of_outputs(outputs, targets):
    return Value.sum(outputs)


def test_a_function_loss_is_named_after_its_function():
    loss = L.get_loss(total_of_outputs)
    assert loss.name == "total_of_outputs"
    assert repr(loss) == "FunctionLoss(total_of_outputs)"
    assert loss(values([1.0, 2.0]), [0, 0]).data == 3.0


def test_a_function_loss_without_a_name_is_called_loss():
    def weighted(outputs, targets, weight):
        return weight * Value.sum(outputs)

    loss = L.get_loss(functools.partial(weighted, weight=2.0))  # a partial has no __name__
    assert loss.name == "loss"
    assert repr(loss) == "FunctionLoss(loss)"
    assert loss(values([1.0, 2.0]), [0, 0]).data == 6.0


def test_a_function_loss_that_returns_no_value_names_the_function_and_the_type():
    def returns_a_float(outputs, targets):
        return 1.0

    with pytest.raises(
        TypeError, match=r"^the loss function returns_a_float must return a Value, got float$"
    ):
        L.get_loss(returns_a_float)(values([1.0]), [0])


# ----- encoded targets (one float row per sample, as the compiled path feeds them) ------------
def test_encoded_targets_are_a_float_matrix():
    encoded = L.get_loss(total_of_outputs).encode_targets([3, 1], 1)
    assert encoded.dtype == np.float64
    assert encoded.tolist() == [[3.0], [1.0]]
    encoded = L.MSELoss().encode_targets(np.array([True, False]), 1)
    assert encoded.dtype == np.float64 and encoded.tolist() == [[1.0], [0.0]]


def test_cross_entropy_encodes_probability_rows_as_they_are():
    soft = np.array([[0.2, 0.8], [1.0, 0.0], [0.5, 0.5]])
    encoded = L.CrossEntropyLoss().encode_targets(soft, 2)
    assert encoded.dtype == np.float64
    assert encoded.tolist() == soft.tolist()
    labels = L.CrossEntropyLoss().encode_targets([1, 0, 1], 2)
    assert labels.tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]


# ----- class-score losses need a list of scores per sample -------------------------------------
@pytest.mark.parametrize(
    ("loss", "what"),
    [(L.CrossEntropyLoss(), "class scores"), (L.NLLLoss(), "class log-probabilities")],
)
def test_class_losses_refuse_one_number_per_sample(loss, what):
    # Value targets skip the numeric target checks, so the term itself must refuse
    with pytest.raises(ValueError, match=rf"^{loss.name} needs a list of {what} per sample$"):
        loss(values([1.0, 2.0]), [Value(0.0), Value(1.0)])
    with pytest.raises(ValueError, match=rf"^{loss.name} needs a list of {what} per sample$"):
        loss.sample(Value(1.0), 0)


# ----- target checks name the loss --------------------------------------------------------------
def test_target_errors_start_with_the_loss_name():
    with pytest.raises(TypeError, match=r"^mse: targets must be numbers, got an array of <U1$"):
        L.mse_loss([Value(1.0)], ["a"])
    with pytest.raises(ValueError, match=r"^mae: targets contain inf at \(1,\)$"):
        L.mae_loss(values([1.0, 2.0]), [0.0, math.inf])


def test_cross_entropy_target_errors_are_exact():
    row = [values([1.0, 2.0])]
    with pytest.raises(
        ValueError, match=r"^cross_entropy: labels must be 0\.\.1 for 2 classes; labels\[0\] = 2$"
    ):
        L.cross_entropy(row, [2])
    with pytest.raises(ValueError, match=r"^cross_entropy: class probabilities must be >= 0$"):
        L.cross_entropy(row, np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match=r"^cross_entropy: targets contain nan at \(0, 1\)$"):
        L.cross_entropy(row, np.array([[0.5, np.nan]]))
    with pytest.raises(
        ValueError,
        match=r"^cross_entropy: the model has 2 output\(s\) per sample, so targets need shape "
        r"\(1, 2\); got \(1, 3\)$",
    ):
        L.cross_entropy(row, np.array([[0.5, 0.2, 0.3]]))


def test_cross_entropy_on_one_output_points_to_the_binary_losses():
    with pytest.raises(
        ValueError,
        match=r"^cross_entropy needs one output per class \(at least 2\), but the model has 1 "
        r"output; for two classes use bce_with_logits or hinge on a single score$",
    ):
        L.cross_entropy(values([1.0, 2.0]), [0, 1])


# ----- batch checks name the loss ---------------------------------------------------------------
def test_batch_shape_errors_are_exact():
    with pytest.raises(
        TypeError, match=r"^mse: outputs must be a Value or a list of model outputs, not str$"
    ):
        L.mse_loss("abc", [1.0])
    with pytest.raises(
        TypeError, match=r"^mae: outputs must be a Value or a list of model outputs, not dict$"
    ):
        L.mae_loss({0: Value(1.0)}, [1.0])
    with pytest.raises(ValueError, match=r"^mse: sample 0 has 1 output\(s\) but sample 1 has 2$"):
        L.mse_loss([Value(1.0), values([1.0, 2.0])], [0.0, [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"^mse: 2 outputs but a single target 1\.0$"):
        L.mse_loss([values([1.0, 2.0]), values([3.0, 4.0])], 1.0)
    with pytest.raises(
        TypeError, match=r"^mse: targets must be a number or a sequence, not NoneType$"
    ):
        L.mse_loss(values([1.0, 2.0]), None)
    with pytest.raises(
        TypeError, match=r"^mse: targets must be a number or a sequence, not generator$"
    ):
        L.mse_loss(values([1.0, 2.0]), (t for t in [1.0, 2.0]))


# ----- Value targets, as lists, rows and object arrays -----------------------------------------
def test_rows_of_value_targets_are_used_as_they_are():
    rows = [values([0.3, -1.0, 2.0]), values([1.5, 0.0, 0.2])]
    one_hot = [[Value(0.0), Value(0.0), Value(1.0)], [Value(1.0), Value(0.0), Value(0.0)]]
    loss = L.cross_entropy(rows, one_hot)
    assert loss.data == pytest.approx(L.cross_entropy(rows, [2, 0]).data, rel=1e-14)
    loss.backward()  # d loss / d t_j = (logsumexp(z) - z_j) / n
    lse = math.log(sum(math.exp(z) for z in (0.3, -1.0, 2.0)))
    assert [t.grad for t in one_hot[0]] == pytest.approx(
        [(lse - z) / 2 for z in (0.3, -1.0, 2.0)], rel=1e-12
    )
    # rows of Values for a model with several outputs, by a regression loss too
    out = [values([1.0, 2.0])]
    assert L.mse_loss(out, [[Value(0.0), Value(4.0)]]).data == pytest.approx((1 + 4) / 2)


def test_an_object_array_of_value_targets_is_used_as_it_is():
    targets = np.array([Value(0.5), Value(1.5)], dtype=object)
    loss = L.mse_loss(values([1.0, 2.0]), targets)
    assert loss.data == pytest.approx(0.25)
    loss.backward()  # d/dt (o - t)^2 / 2 = -(o - t)
    assert [t.grad for t in targets] == pytest.approx([-0.5, -0.5])


# ----- the multi-class hinge loss with two classes ----------------------------------------------
def test_two_class_hinge_on_two_scores_is_the_multiclass_margin_loss():
    scores = [values([1.0, 0.5]), values([0.2, 0.9]), values([2.0, -1.0])]
    # relu(1 - s_t + s_other): 1 - 1.0 + 0.5 = 0.5;  1 - 0.2 + 0.9 = 1.7;  1 - 2.0 - 1.0 -> 0
    terms = L.hinge_loss(scores, [0, 0, 0], reduction="none")
    assert [t.data for t in terms] == pytest.approx([0.5, 1.7, 0.0])
    # mean over 3 samples x 2 classes
    assert L.hinge_loss(scores, [0, 1, 0]).data == pytest.approx((0.5 + 0.3 + 0.0) / 6)
    encoded = L.HingeLoss().encode_targets([0, 1, 0], 2)
    assert encoded.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def test_hinge_target_errors_are_exact():
    three = [values([1.0, 0.5, 0.2])]
    with pytest.raises(
        ValueError,
        match=r"^hinge: labels must be 1-D \(one class index per sample\), got \(1, 3\)$",
    ):
        L.hinge_loss(three, np.array([[1.0, 0.0, 0.0]]))  # class labels only, no probabilities
    with pytest.raises(ValueError, match=r"^hinge: labels must be whole numbers \(class indices\)"):
        L.hinge_loss(three, [0.5])
    with pytest.raises(TypeError, match=r"^hinge: targets must be numbers, got an array of <U1$"):
        L.hinge_loss(values([1.0]), ["a"])


# ----- targets as a column ---------------------------------------------------------------------
def test_a_column_of_targets_serves_a_one_output_model():
    out = values([1.0, 2.0, -1.0])
    column = np.array([[0.0], [4.0], [1.0]])  # shape (3, 1), as y[:, None] or a DataFrame column
    assert L.mse_loss(out, column).data == pytest.approx(9 / 3)
    assert L.MSELoss().check_targets(column, 1).tolist() == [0.0, 4.0, 1.0]
    assert L.MSELoss().encode_targets(column, 1).tolist() == [[0.0], [4.0], [1.0]]
    # a model with two outputs needs two columns, and says so with the shape it got
    with pytest.raises(
        ValueError,
        match=r"^mse: the model has 2 output\(s\) per sample, so targets need shape \(3, 2\); "
        r"got \(3, 1\)$",
    ):
        L.mse_loss([values([1.0, 2.0])] * 3, column)


# ----- choosing a loss ---------------------------------------------------------------------------
def test_bad_loss_choices_are_exact():
    with pytest.raises(
        ValueError,
        match=r"^unknown loss 'l3'; choose one of sse, mse, mae, huber, bce, bce_with_logits, "
        r"cross_entropy, nll, hinge$",
    ):
        L.get_loss("l3")
    with pytest.raises(TypeError, match=r"^loss must be a name, a Loss or a function, not int$"):
        L.get_loss(3)
    with pytest.raises(TypeError, match=r"^reduction must be 'mean', 'sum' or 'none', not int$"):
        L.MSELoss(reduction=1)
