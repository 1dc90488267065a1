"""nn.functional and nn.losses: closed forms, gradients, stability, PyTorch, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nn
from autograd import Value
from nn import losses as L

from .helpers import central_difference


def values(xs):
    return [Value(float(x)) for x in xs]


# ----- softmax and friends ------------------------------------------------------------------
def test_softmax_closed_form_and_gradient():
    z = values([1.0, 2.0, 3.0])
    p = nn.softmax(z)
    exps = [math.exp(v) for v in (1.0, 2.0, 3.0)]
    expected = [e / sum(exps) for e in exps]
    assert [v.data for v in p] == pytest.approx(expected, rel=1e-15)
    p[1].backward()  # d p_1 / d z_j = p_1 (delta_1j - p_j)
    jacobian_row = [expected[1] * ((j == 1) - expected[j]) for j in range(3)]
    assert [v.grad for v in z] == pytest.approx(jacobian_row, rel=1e-12)


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    p = nn.softmax([1000.0, 1001.0, -1000.0])
    assert [v.data for v in p] == pytest.approx([1 / (1 + math.e), math.e / (1 + math.e), 0.0])
    logp = nn.log_softmax([1000.0, 1001.0])
    assert logp[0].data == pytest.approx(-math.log1p(math.e), rel=1e-14)
    assert nn.logsumexp([1000.0, 1000.0]).data == pytest.approx(1000 + math.log(2), rel=1e-15)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=6))
def test_softmax_sums_to_one_and_log_softmax_matches(logits):
    p = nn.softmax(logits)
    assert sum(v.data for v in p) == pytest.approx(1.0, rel=1e-12)
    for lp, v in zip(nn.log_softmax(logits), p):
        assert math.exp(lp.data) == pytest.approx(v.data, rel=1e-12, abs=1e-300)


def test_softmax_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        nn.softmax([])
    with pytest.raises(TypeError, match="sequence of Values"):
        nn.softmax(Value(1.0))


# ----- closed forms ---------------------------------------------------------------------------
def test_regression_losses_closed_forms():
    out, t = values([1.0, 2.0, -1.0]), [0.0, 4.0, 1.0]
    assert L.sse_loss(out, t).data == 1 + 4 + 4
    assert L.mse_loss(out, t).data == pytest.approx(9 / 3)
    assert L.mse_loss(out, t, reduction="sum").data == 9
    assert [v.data for v in L.mse_loss(out, t, reduction="none")] == [1, 4, 4]
    assert L.mae_loss(out, t).data == pytest.approx(5 / 3)
    # huber, delta 1: |d| = 1, 2, 2 -> 0.5, 1.5, 1.5
    assert L.huber_loss(out, t).data == pytest.approx(3.5 / 3)
    assert L.huber_loss(out, t, delta=2.0).data == pytest.approx((0.5 + 2 + 2) / 3)


def test_mse_gradient_is_two_errors_over_n():
    out = values([1.0, 2.0, -1.0])
    L.mse_loss(out, [0.0, 4.0, 1.0]).backward()
    assert [v.grad for v in out] == pytest.approx([2 / 3, -4 / 3, -4 / 3])


def test_multi_output_mse_averages_every_element():
    out = [values([1.0, 2.0]), values([3.0, 5.0])]
    assert L.mse_loss(out, [[0.0, 0.0], [3.0, 3.0]]).data == pytest.approx((1 + 4 + 0 + 4) / 4)


@given(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 3))
def test_huber_value_and_slope_match_the_piecewise_definition(o, t, delta):
    d = o - t
    assume(abs(abs(d) - delta) > 1e-6)
    expected = 0.5 * d * d if abs(d) <= delta else delta * (abs(d) - 0.5 * delta)
    out = Value(o)
    loss = L.HuberLoss(delta)(out, t)
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-12)
    loss.backward()
    slope = central_difference(lambda v: L.HuberLoss(delta)(Value(v), t).data, [o], 0, h=1e-7)
    assert out.grad == pytest.approx(slope, rel=1e-5, abs=1e-6)


def test_huber_slope_at_the_seam_is_delta():
    out = Value(3.0)
    L.huber_loss(out, 1.0, delta=2.0).backward()
    assert out.grad == 2.0


def test_bce_closed_forms_and_gradients():
    p = values([0.9, 0.2])
    loss = L.binary_cross_entropy(p, [1, 0])
    assert loss.data == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2, rel=1e-14)
    loss.backward()
    assert [v.grad for v in p] == pytest.approx([-1 / 0.9 / 2, 1 / 0.8 / 2])
    z = values([2.0, -1.0])
    logits_loss = L.binary_cross_entropy_with_logits(z, [1.0, 0.0])
    sig = [1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(1.0))]
    assert logits_loss.data == pytest.approx(-(math.log(sig[0]) + math.log(1 - sig[1])) / 2)
    logits_loss.backward()
    assert [v.grad for v in z] == pytest.approx([(sig[0] - 1) / 2, sig[1] / 2], rel=1e-12)


def test_bce_clamps_log_at_minus_100_as_pytorch():
    assert L.binary_cross_entropy([Value(0.0)], [1.0]).data == pytest.approx(100.0)
    assert L.binary_cross_entropy([Value(1.0)], [1.0]).data == 0.0


def test_bce_with_logits_is_stable_for_huge_scores():
    z = values([1000.0, -1000.0])
    loss = L.binary_cross_entropy_with_logits(z, [0.0, 1.0])
    assert loss.data == pytest.approx(1000.0)
    loss.backward()
    assert [v.grad for v in z] == pytest.approx([0.5, -0.5])


def test_cross_entropy_closed_form_gradient_and_stability():
    z = values([1.0, 2.0, 0.5])
    loss = L.cross_entropy([z], [1])
    lse = math.log(sum(math.exp(v) for v in (1.0, 2.0, 0.5)))
    assert loss.data == pytest.approx(lse - 2.0, rel=1e-14)
    loss.backward()
    soft = [math.exp(v - lse) for v in (1.0, 2.0, 0.5)]
    assert [v.grad for v in z] == pytest.approx([soft[0], soft[1] - 1, soft[2]], rel=1e-12)
    assert L.cross_entropy([values([1000.0, 0.0])], [1]).data == pytest.approx(1000.0)
    # one sample may be passed without the batch brackets
    assert L.cross_entropy(values([1.0, 2.0, 0.5]), 1).data == pytest.approx(lse - 2.0)


def test_cross_entropy_with_probability_targets_equals_indices_for_one_hot():
    rows = [values([0.3, -1.0, 2.0]), values([1.5, 0.0, 0.2])]
    by_index = L.cross_entropy(rows, [2, 0]).data
    by_one_hot = L.cross_entropy(rows, np.array([[0, 0, 1.0], [1.0, 0, 0]])).data
    assert by_one_hot == pytest.approx(by_index, rel=1e-14)


def test_nll_of_log_softmax_is_cross_entropy():
    rows = [values([0.3, -1.0, 2.0]), values([1.5, 0.0, 0.2])]
    assert L.nll_loss([nn.log_softmax(r) for r in rows], [2, 0]).data == pytest.approx(
        L.cross_entropy(rows, [2, 0]).data, rel=1e-14
    )


def test_hinge_is_micrograds_svm_loss_and_reads_0_as_minus_1():
    scores = values([0.5, -2.0, 0.1])
    expected = sum(max(0.0, 1 - y * s) for y, s in zip([1, -1, -1], [0.5, -2.0, 0.1])) / 3
    assert L.hinge_loss(scores, [1, -1, -1]).data == pytest.approx(expected)
    assert L.hinge_loss(scores, [1, 0, 0]).data == pytest.approx(expected)


def test_losses_accept_value_targets_without_branching_on_them():
    for loss, out, target in [
        (L.MSELoss(), Value(1.5), 0.5),
        (L.HuberLoss(), Value(3.0), 0.5),
        (L.BCEWithLogitsLoss(), Value(0.7), 1.0),
        (L.BCELoss(), Value(0.7), 0.0),
        (L.HingeLoss(), Value(0.2), -1.0),
        (L.CrossEntropyLoss(), values([0.1, 0.2, 0.3]), [0.0, 1.0, 0.0]),
    ]:
        numeric = loss.sample(out, target).data
        as_value = [Value(t) for t in target] if isinstance(target, list) else Value(target)
        assert loss.sample(out, as_value).data == pytest.approx(numeric, rel=1e-15)
    assert L.mse_loss([Value(2.0)], [Value(0.5)]).data == 2.25


def test_scale_is_the_factor_of_the_mean():
    assert L.MSELoss().scale(4, 3) == 1 / 12
    assert L.CrossEntropyLoss().scale(4, 3) == 1 / 4
    assert L.SSELoss().scale(4, 3) == 1.0


def test_get_loss_by_name_alias_class_and_function():
    assert isinstance(L.get_loss("l2"), L.MSELoss)
    assert isinstance(L.get_loss("svm"), L.HingeLoss)
    assert isinstance(L.get_loss(L.CrossEntropyLoss), L.CrossEntropyLoss)
    custom = L.get_loss(lambda outputs, targets: Value.sum(outputs))
    assert custom(values([1.0, 2.0]), [0, 0]).data == 3.0
    with pytest.raises(ValueError, match="unknown loss 'l3'"):
        L.get_loss("l3")
    with pytest.raises(TypeError, match="must return a Value"):
        L.get_loss(lambda o, t: 1.0)(values([1.0]), [0])


# ----- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: L.cross_entropy(values([1.0, 2.0]), [0, 1]), ValueError, "one output per class"),
        (lambda: L.cross_entropy([values([1.0, 2.0])], [2]), ValueError, "labels must be 0..1"),
        (lambda: L.cross_entropy([values([1.0, 2.0])], [0.5]), ValueError, "whole numbers"),
        (lambda: L.cross_entropy([values([1.0, 2.0])], [-1]), ValueError, "negative"),
        (lambda: L.binary_cross_entropy([Value(1.5)], [1]), ValueError, "probabilities in"),
        (lambda: L.binary_cross_entropy([Value(0.5)], [2]), ValueError, r"in \[0, 1\]"),
        (lambda: L.hinge_loss([Value(0.5)], [2]), ValueError, "labels must be -1/\\+1"),
        (lambda: L.mse_loss(values([1.0, 2.0]), [1.0]), ValueError, "2 outputs but 1 targets"),
        (lambda: L.mse_loss([], []), ValueError, "empty batch"),
        (lambda: L.mse_loss(values([1.0]), [float("nan")]), ValueError, "targets contain nan"),
        (lambda: L.mse_loss(values([1.0]), ["a"]), TypeError, "targets must be numbers"),
        (lambda: L.mse_loss("abc", [1.0]), TypeError, "outputs must be a Value"),
        (lambda: L.mse_loss([values([1.0, 2.0])], [1.0]), ValueError, r"targets need shape"),
        (lambda: L.MSELoss(reduction="avg"), ValueError, "reduction must be"),
        (lambda: L.HuberLoss(delta=0), ValueError, "delta must be a finite number > 0"),
    ],
)
def test_bad_input_gives_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----- PyTorch ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _compare(torch, our_loss, torch_loss, outputs, targets, torch_targets=None, rel=1e-12):
    ours_in = [values(row) if np.ndim(row) else Value(float(row)) for row in outputs]
    ours = our_loss(ours_in, targets)
    ours.backward()
    ours_grad = np.array(
        [[v.grad for v in row] if isinstance(row, list) else row.grad for row in ours_in]
    )
    theirs_in = torch.tensor(np.asarray(outputs, dtype=float), requires_grad=True)
    tt = torch.tensor(np.asarray(targets if torch_targets is None else torch_targets))
    theirs = torch_loss(theirs_in, tt)
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=rel, abs=1e-14)
    np.testing.assert_allclose(ours_grad, theirs_in.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_losses_agree_with_pytorch(torch, seed):
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    out = rng.normal(size=8) * 2
    target = rng.normal(size=8)
    _compare(torch, L.mse_loss, F.mse_loss, out, target)
    _compare(torch, L.sse_loss, lambda a, b: F.mse_loss(a, b, reduction="sum"), out, target)
    _compare(torch, L.mae_loss, F.l1_loss, out, target)
    for delta in (0.5, 1.0, 2.0):
        _compare(
            torch,
            lambda o, t, d=delta: L.huber_loss(o, t, delta=d),
            lambda a, b, d=delta: F.huber_loss(a, b, delta=d),
            out,
            target,
        )
    labels = rng.integers(0, 2, size=8).astype(float)
    probs = rng.uniform(0.01, 0.99, size=8)
    _compare(torch, L.binary_cross_entropy, F.binary_cross_entropy, probs, labels)
    _compare(
        torch,
        L.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        out * 5,
        labels,
    )
    soft = rng.uniform(0, 1, size=8)
    _compare(
        torch, L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, out, soft
    )
    logits = rng.normal(size=(6, 4)) * 3
    classes = rng.integers(0, 4, size=6)
    _compare(torch, L.cross_entropy, F.cross_entropy, logits, classes)
    soft_rows = rng.dirichlet(np.ones(4), size=6)
    _compare(torch, L.cross_entropy, F.cross_entropy, logits, soft_rows)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=6))
    _compare(torch, L.nll_loss, F.nll_loss, log_probs, classes)
    _compare(torch, L.hinge_loss, F.multi_margin_loss, logits, classes)
    signs = np.where(labels > 0, 1.0, -1.0)
    _compare(torch, L.hinge_loss, lambda a, b: torch.clamp(1 - b * a, min=0).mean(), out, signs)


def test_bce_clamp_agrees_with_pytorch_at_0_and_1(torch):
    F = torch.nn.functional
    for p, t in [(0.0, 1.0), (1.0, 0.0), (0.0, 0.0), (1.0, 1.0)]:
        theirs = F.binary_cross_entropy(
            torch.tensor([p], dtype=torch.float64), torch.tensor([t], dtype=torch.float64)
        )
        assert L.binary_cross_entropy([Value(p)], [t]).data == pytest.approx(theirs.item())


# ----- one graph for every sample (the compiled path) ------------------------------------
@pytest.mark.parametrize(
    ("loss", "width", "targets"),
    [
        (L.MSELoss(), 1, [0.5, -1.0, 2.0, 0.0]),
        (L.MSELoss(), 2, [[0.5, 1.0], [-1.0, 0.0], [2.0, 2.0], [0.0, 1.0]]),
        (L.MAELoss(), 1, [0.5, -1.0, 2.0, 0.0]),
        (L.HuberLoss(0.7), 1, [0.5, -1.0, 2.0, 0.0]),
        (L.BCELoss(), 1, [1, 0, 1, 0]),
        (L.BCEWithLogitsLoss(), 1, [1, 0, 0.3, 0]),
        (L.HingeLoss(), 1, [1, 0, -1, 1]),
        (L.HingeLoss(), 3, [0, 2, 1, 2]),
        (L.CrossEntropyLoss(), 3, [0, 2, 1, 2]),
        (L.NLLLoss(), 3, [0, 2, 1, 2]),
    ],
)
def test_one_graph_built_with_value_targets_serves_every_sample(loss, width, targets):
    from autograd.compiler import compile

    rng = np.random.default_rng(0)
    outputs = (
        rng.uniform(0.05, 0.95, size=(4, width))
        if loss.name == "bce"
        else rng.normal(size=(4, width))
    )
    encoded = loss.encode_targets(targets, width)
    assert encoded.shape[0] == 4
    # the graph of one sample, built once with Values standing for outputs and targets
    output_slots = [Value(0.5) for _ in range(width)]
    target_slots = [Value(0.0) for _ in range(encoded.shape[1])]
    term = loss.sample_encoded(output_slots[0] if width == 1 else output_slots, target_slots)
    program = compile(term, output_slots + target_slots)
    batch_terms = program.forward(np.hstack([outputs, encoded]))[:, 0]
    prepared = loss.check_targets(targets, width).tolist()
    rows = [Value(o[0]) if width == 1 else values(o) for o in outputs]
    expected = [loss.sample(o, t).data for o, t in zip(rows, prepared)]
    np.testing.assert_allclose(batch_terms, expected, rtol=1e-12, atol=1e-14)


# ----- the multi-class hinge loss by hand (no PyTorch needed) -------------------------------
# scores of 3 samples over 3 classes, true classes 0, 1, 2. With margin 1, per sample the
# sum over j != t of relu(1 - s_t + s_j):
#   sample 0: j=1: 1 - 1.0 + 0.5 = 0.5;   j=2: 1 - 1.0 - 0.5 = -0.5 -> 0;    total 0.5
#   sample 1: j=0: 1 - 0.8 + 0.2 = 0.4;   j=2: 1 - 0.8 + 0.0 = 0.2;          total 0.6
#   sample 2: j=0: 1 - 1.9 - 0.3 = -1.2 -> 0;  j=1: 1 - 1.9 + 0.4 = -0.5 -> 0;  total 0
# and with margin 2:
#   sample 0: 1.5 + 0.5 = 2.0;  sample 1: 1.4 + 1.2 = 2.6;  sample 2: 0 + 0.5 = 0.5
# An active term adds +1 to d/ds_j and -1 to d/ds_t; 'mean' divides by 3 samples x 3 classes.
HINGE_SCORES = [[1.0, 0.5, -0.5], [0.2, 0.8, 0.0], [-0.3, 0.4, 1.9]]
HINGE_CLASSES = [0, 1, 2]
HINGE_BY_HAND = {  # margin -> (terms per sample, d(sum of terms)/d(scores))
    1.0: ([0.5, 0.6, 0.0], [[-1, 1, 0], [1, -2, 1], [0, 0, 0]]),
    2.0: ([2.0, 2.6, 0.5], [[-2, 1, 1], [1, -2, 1], [0, 1, -1]]),
}


@pytest.mark.parametrize("margin", sorted(HINGE_BY_HAND))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_hinge_by_hand(margin, reduction):
    terms, grads = HINGE_BY_HAND[margin]
    rows = [values(r) for r in HINGE_SCORES]
    loss = L.HingeLoss(margin=margin, reduction=reduction)(rows, HINGE_CLASSES)
    if reduction == "none":
        assert [t.data for t in loss] == pytest.approx(terms, abs=1e-15)
        return
    scale = 1 / 9 if reduction == "mean" else 1.0
    assert loss.data == pytest.approx(scale * sum(terms), rel=1e-14)
    loss.backward()
    for row, expected in zip(rows, grads):
        assert [v.grad for v in row] == pytest.approx([scale * g for g in expected], abs=1e-15)


@pytest.mark.parametrize("margin", sorted(HINGE_BY_HAND))
@pytest.mark.parametrize("as_values", [False, True], ids=["numbers", "values"])
def test_multiclass_hinge_from_one_hot_rows_by_hand(margin, as_values):
    """The form the compiled path builds (one graph for every sample): a one-hot row of
    numbers or of Values instead of a class index, the same numbers."""
    terms, grads = HINGE_BY_HAND[margin]
    loss = L.HingeLoss(margin=margin)
    encoded = loss.encode_targets(HINGE_CLASSES, 3)
    assert encoded.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    for scores, row, term, expected in zip(HINGE_SCORES, encoded.tolist(), terms, grads):
        outputs = values(scores)
        target = values(row) if as_values else row
        sample = loss.sample_encoded(outputs, target)
        assert sample.data == pytest.approx(term, abs=1e-15)
        sample.backward()
        assert [v.grad for v in outputs] == pytest.approx(expected, abs=1e-15)


def test_binary_hinge_gradients_by_hand():
    """relu(1 - t s) for t = +1, -1, -1 (0 reads as -1): the terms 0.5, 0 (1 - 2 < 0) and
    1.1, so d/ds = -t where the term is active: -1, 0, +1 (then / 3 for the mean)."""
    scores = values([0.5, -2.0, 0.1])
    loss = L.hinge_loss(scores, [1, 0, -1])
    assert loss.data == pytest.approx((0.5 + 0.0 + 1.1) / 3, rel=1e-14)
    loss.backward()
    assert [v.grad for v in scores] == pytest.approx([-1 / 3, 0.0, 1 / 3], abs=1e-15)
