"""The compiled path's promises that a user reads: which sample of a batch fails and
why (the scalar engine's own error), batches of unusual Python numbers, the repr."""

from __future__ import annotations

import math
import re
import time
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from autograd import DomainError, Value, allow_nonfinite, compile, ops


def exactly(message: str) -> str:
    """A ``match=`` pattern for the whole message, nothing more or less."""
    return "^" + re.escape(message) + "$"


# ----- a failing sample is named as the scalar engine names it -------------------------------
def test_forward_domain_error_names_the_failing_sample_and_its_numbers():
    x = Value(1.0)
    program = compile((x * Value(2.0)).log(), [x])
    with pytest.raises(DomainError, match=exactly(
        "log(-6): math domain error: it is defined only for x > 0 (in a compiled batch, sample 2)"
    )) as info:  # fmt: skip
        program.forward([[1.0], [2.0], [-3.0], [4.0]])
    assert info.value.op == ops.log
    assert info.value.operands == (-6.0,)
    # the scalar engine says the same on that sample
    with pytest.raises(DomainError, match=re.escape("log(-6): math domain error")):
        (Value(-3.0) * 2.0).log()


def test_forward_error_is_the_first_sample_outside_the_domain_not_a_kink_before_it():
    # sqrt(0) is fine going forward (only its derivative is infinite): the failing
    # sample is the negative one
    x = Value(1.0)
    program = compile(x.sqrt(), [x])
    with pytest.raises(DomainError, match=exactly(
        "sqrt(-1): math domain error: it is defined only for x >= 0 (in a compiled batch, sample 1)"
    )):  # fmt: skip
        program.forward([[0.0], [-1.0]])


def test_a_parameter_outside_the_domain_fails_on_the_first_sample():
    # log(w1) and log(w2) run as one step on the parameters; w2 is the bad one, and
    # the scalar engine would fail on the first sample of the batch
    x, w1, w2 = Value(1.0), Value(1.0), Value(1.0)
    program = compile(x * (w1.log() + w2.log()), [x], [w1, w2])
    assert program.forward([[1.0], [2.0]]).tolist() == [[0.0], [0.0]]
    w2.data = -1.0
    with pytest.raises(DomainError, match=exactly(
        "log(-1): math domain error: it is defined only for x > 0 (in a compiled batch, sample 0)"
    )) as info:  # fmt: skip
        program.forward([[1.0], [2.0]])
    assert (info.value.op, info.value.operands) == (ops.log, (-1.0,))


def test_an_infinite_derivative_names_the_sample_and_its_operands():
    x = Value(1.0)
    program = compile(x.sqrt(), [x])
    with pytest.raises(DomainError, match=exactly(
        "sqrt(0): the derivative is undefined or infinite there (float division by zero) "
        "(in a compiled batch, sample 1)"
    )) as info:  # fmt: skip
        program([[1.0], [0.0], [4.0]])
    assert (info.value.op, info.value.operands) == (ops.sqrt, (0.0,))


def test_an_infinite_derivative_of_a_two_input_op_shows_both_operands():
    a, b = Value(1.0), Value(0.5)
    program = compile(a**b, [a, b])
    with pytest.raises(DomainError, match=exactly(
        "pow_value(0, 0.5): the derivative is undefined or infinite there "
        "(0.0 cannot be raised to a negative power) (in a compiled batch, sample 1)"
    )) as info:  # fmt: skip
        program([[1.0, 2.0], [0.0, 0.5]])
    assert (info.value.op, info.value.operands) == (ops.pow_value, (0.0, 0.5))
    # the scalar engine's own error on the same numbers
    with pytest.raises(DomainError, match=exactly(
        "pow_value(0, 0.5): the derivative is undefined or infinite there "
        "(0.0 cannot be raised to a negative power)"
    )):  # fmt: skip
        (Value(0.0) ** Value(0.5)).backward()


def test_an_op_whose_numpy_form_fails_where_its_float_rule_does_not(register):
    # x / 1e300 * 1e300 is fine on floats; the numpy form overflows in its intermediate
    scaled = register(
        "scaled", lambda x: x / 1e300 * 1e300, lambda x, out: 1.0,
        vectorized=lambda x: x * 1e300 / 1e300,
    )  # fmt: skip
    assert scaled(Value(1e10)).data == pytest.approx(1e10)
    x = Value(1.0)
    program = compile(scaled(x), [x])
    assert program.forward([[2.0]]).tolist() == [[2.0]]
    with pytest.raises(DomainError, match=exactly(
        "scaled: overflow encountered in multiply (in a compiled batch)"
    )) as info:  # fmt: skip
        program.forward([[1.0], [1e10]])
    assert (info.value.op, info.value.operands) == (scaled, ())


# ----- batches of Python objects --------------------------------------------------------------
@pytest.fixture
def tanh_program():
    x, w = Value(1.0), Value(2.0)
    return compile((x * w).tanh(), [x])


def test_a_batch_of_fractions_and_ints_is_a_batch_of_numbers(tanh_program):
    got = tanh_program.forward(np.array([[Fraction(1, 2)], [2]], dtype=object))
    assert got.tolist() == [[np.tanh(1.0)], [np.tanh(4.0)]]
    assert tanh_program.forward([[Fraction(1, 4)], [True]]).tolist() == [
        [np.tanh(0.5)], [np.tanh(2.0)],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([["ab"], ["c"]], "the batch holds text ('ab'), not numbers"),
        ([[1 + 2j], [3.0]], "the batch holds complex numbers, not real ones"),
        (
            [[1.0], [Decimal("1.5")]],
            "the batch holds Decimal Decimal('1.5') at (1, 0), not a real number",
        ),
        ([[1.0], [None]], "the batch holds NoneType None at (1, 0), not a real number"),
    ],
)
def test_a_batch_of_things_that_are_not_real_numbers(tanh_program, batch, message):
    with pytest.raises(TypeError, match=exactly(
        "a batch of shape (n, 1) (one column per input): " + message
    )):  # fmt: skip
        tanh_program.forward(batch)


def test_an_int_too_large_for_a_float_is_a_clear_error_as_in_the_scalar_engine(tanh_program):
    with pytest.raises(ValueError, match=re.escape("is too large for a float")):
        Value(10**400)
    with pytest.raises(ValueError, match=exactly(
        "a batch of shape (n, 1) (one column per input): int too large to convert to float"
    )):  # fmt: skip
        tanh_program.forward([[1.0], [10**400]])


# ----- repr ---------------------------------------------------------------------------------------
def test_repr_counts_nodes_steps_matrix_products_and_says_the_compile_time():
    x1, x2, w1, w2, b = Value(1.0), Value(2.0), Value(3.0), Value(4.0), Value(5.0)
    # 9 nodes: 5 leaves, 2 products, their sum with b, tanh. The sum of products is one
    # matrix product, tanh one more step.
    y = Value.sum([w1 * x1, w2 * x2, b]).tanh()
    program = compile(y, [x1, x2])
    program.compile_seconds = 0.25
    assert repr(program) == (
        "Program(9 nodes -> 2 batched steps (1 matrix products), 2 inputs, 1 outputs, "
        "3 parameters, compiled in 250.0 ms)"
    )


# ----- batch checks ---------------------------------------------------------------------------
def test_a_flat_list_is_a_batch_for_a_one_input_program_only(tanh_program):
    assert tanh_program.forward([0.25, -1.0]).tolist() == [[np.tanh(0.5)], [np.tanh(-2.0)]]
    x1, x2 = Value(1.0), Value(2.0)
    two_inputs = compile(x1 * x2, [x1, x2])
    with pytest.raises(ValueError, match=exactly(
        "shape mismatch: this program takes a batch of shape (n, 2) (one column per input), "
        "got (2,)"
    )):  # fmt: skip
        two_inputs.forward([1.0, 2.0])
    assert two_inputs.forward([[1.0, 2.0]]).tolist() == [[2.0]]


def test_an_empty_batch_is_refused(tanh_program):
    with pytest.raises(ValueError, match=exactly("empty batch: need at least one row")):
        tanh_program.forward(np.zeros((0, 1)))


def test_a_batch_with_nan_names_where(tanh_program):
    with pytest.raises(ValueError, match=exactly(
        "the batch holds nan at row 1, column 0: chainrule computes with finite numbers only "
        "(autograd.allow_nonfinite() gives IEEE semantics)"
    )):  # fmt: skip
        tanh_program.forward([[1.0], [float("nan")]])


def test_run_refuses_an_unknown_reduction(tanh_program):
    with pytest.raises(ValueError, match=exactly("reduction must be 'mean' or 'sum', got 'max'")):
        tanh_program.run([[1.0]], tanh_program.parameter_values(), reduction="max")


def test_run_reads_a_seed_of_decimals_as_floats():
    # y = x * w: d(sum of seed * y)/dw = sum of seed * x, d/dx = seed * w
    x, w = Value(1.0), Value(2.0)
    program = compile(x * w, [x])
    outputs, param_grads, input_grads = program.run(
        [[1.0], [2.0]], program.parameter_values(), seed=[[Decimal("0.5")], [Decimal("1.5")]]
    )
    assert outputs.tolist() == [[2.0], [4.0]]
    assert param_grads.tolist() == [0.5 * 1.0 + 1.5 * 2.0]
    assert input_grads.tolist() == [[0.5 * 2.0], [1.5 * 2.0]]


# ----- a dense layer whose biases do not fill every row ------------------------------------------
@pytest.mark.parametrize("nn_order", [False, True])
def test_a_layer_with_a_bias_on_its_first_neuron_only(nn_order):
    x1, x2 = Value(0.0), Value(0.0)
    w00, w01, w10, w11, b0 = Value(0.5), Value(-1.0), Value(2.0), Value(0.25), Value(3.0)
    first = Value.sum([w00 * x1, w01 * x2, b0])
    second = Value.sum([w10 * x1, w11 * x2])  # no bias
    # nn's order (each neuron's weights, then its bias): rows of the weight matrix are
    # 3 apart in the parameter store, and the last row would end past it
    params = [w00, w01, b0, w10, w11] if nn_order else [w00, w01, w10, w11, b0]
    program = compile([first, second], [x1, x2], params)
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    expected = X @ np.array([[0.5, -1.0], [2.0, 0.25]]).T + np.array([3.0, 0.0])
    np.testing.assert_allclose(program(X, reduction="sum"), expected, rtol=0, atol=1e-15)
    # d(sum of both outputs over the batch) / d(w0j, w1j) = sum of x_j; d/db0 = 2 samples
    sx1, sx2 = X.sum(axis=0)
    assert [p.grad for p in (w00, w01, w10, w11, b0)] == [sx1, sx2, sx1, sx2, 2.0]


def test_sums_that_use_one_input_twice_and_leave_a_corner_of_the_matrix_empty():
    # r0 = w0*x1 + w1*x1 + w2*x2 (x1 twice), r1 = w3*x1 (no x2 term)
    x1, x2 = Value(0.0), Value(0.0)
    w = [Value(0.5), Value(-1.0), Value(2.0), Value(0.25)]
    r0 = Value.sum([w[0] * x1, w[1] * x1, w[2] * x2])
    r1 = Value.sum([w[3] * x1])
    program = compile([r0, r1], [x1, x2], w)
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    expected = X @ np.array([[0.5 - 1.0, 2.0], [0.25, 0.0]]).T
    np.testing.assert_allclose(program(X, reduction="sum"), expected, rtol=0, atol=1e-15)
    sx1, sx2 = X.sum(axis=0)
    assert [p.grad for p in w] == [sx1, sx1, sx2, sx1]


def test_training_without_input_gradients_still_passes_gradients_to_computed_values():
    # y = w0*x + w1*h + b with h = x*v (h is also an output, so it is computed on its
    # own): the layer reads an input and a computed value
    x, v, w0, w1, b = Value(0.0), Value(1.5), Value(0.5), Value(-2.0), Value(0.25)
    h = x * v
    y = Value.sum([w0 * x, w1 * h, b])
    program = compile([y, h], [x], [w0, w1, b, v])
    X = np.array([[1.0], [2.0]])
    outputs, grads, inputs = program.run(X, program.parameter_values(), input_grads=False)
    assert inputs is None
    np.testing.assert_allclose(outputs, [[-2.25, 1.5], [-4.75, 3.0]], rtol=0, atol=1e-15)
    # loss = mean over samples of y + h: d/dw0 = mean x, d/dw1 = mean h = 1.5 mean x,
    # d/db = 1, d/dv = (w1 + 1) mean x
    mean_x = 1.5
    np.testing.assert_allclose(grads, [mean_x, 1.5 * mean_x, 1.0, (-2.0 + 1.0) * mean_x])
    _, with_inputs, _ = program.run(X, program.parameter_values(), input_grads=True)
    np.testing.assert_array_equal(grads, with_inputs)


def test_two_neurons_sharing_one_bias():
    x1, x2 = Value(0.0), Value(0.0)
    w00, w01, w10, w11, b = Value(0.5), Value(-1.0), Value(2.0), Value(0.25), Value(3.0)
    first = Value.sum([w00 * x1, w01 * x2, b])
    second = Value.sum([w10 * x1, w11 * x2, b])
    program = compile([first, second], [x1, x2], [w00, w01, w10, w11, b])
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    expected = X @ np.array([[0.5, -1.0], [2.0, 0.25]]).T + 3.0
    np.testing.assert_allclose(program(X, reduction="sum"), expected, rtol=0, atol=1e-15)
    sx1, sx2 = X.sum(axis=0)
    assert [p.grad for p in (w00, w01, w10, w11, b)] == [sx1, sx2, sx1, sx2, 4.0]


# ----- fusion: the cross-entropy term is one step -----------------------------------------------
def _cross_entropy_leaves():
    return [Value(v) for v in (1.0, 0.0, 0.5, 0.5)]  # t1, t2, p1, p2


def test_a_sum_of_products_of_batch_values_is_one_dot_step():
    t1, t2, p1, p2 = leaves = _cross_entropy_leaves()
    loss = -Value.sum([t1 * p1.log(), t2 * p2.log()])
    program = compile(loss, leaves)
    program.compile_seconds = 0.001
    # 10 nodes: 4 inputs, 2 logs, 2 products, the sum, the negation; 3 steps: the two
    # logs, the dot step (products included), the negation
    assert repr(program) == (
        "Program(10 nodes -> 3 batched steps (0 matrix products), 4 inputs, 1 outputs, "
        "0 parameters, compiled in 1.0 ms)"
    )
    X = np.array([[1.0, 0.0, 0.5, 0.5], [0.25, 0.75, 0.2, 0.8]])
    expected = -(X[:, 0] * np.log(X[:, 2]) + X[:, 1] * np.log(X[:, 3]))
    np.testing.assert_allclose(program.forward(X)[:, 0], expected, rtol=1e-15)


def test_a_product_used_elsewhere_is_not_absorbed_into_a_dot_step():
    t1, t2, p1, p2 = leaves = _cross_entropy_leaves()
    first, second = t1 * p1.log(), t2 * p2.log()  # used by the sum and as outputs
    total = Value.sum([first, second])
    program = compile([total, first, second], leaves)
    X = np.array([[1.0, 2.0, 0.5, 0.25], [3.0, 0.5, 0.125, 2.0]])
    expected_first = X[:, 0] * np.log(X[:, 2])
    expected_second = X[:, 1] * np.log(X[:, 3])
    expected = np.stack([expected_first + expected_second, expected_first, expected_second], 1)
    np.testing.assert_allclose(program.forward(X), expected, rtol=1e-15)


# ----- derivative rules the compiled path evaluates in its own ways -----------------------------
def test_a_derivative_rule_written_for_floats_only_runs_element_by_element(register):
    # math.exp refuses arrays: the compiled path evaluates the rule sample by sample;
    # sigma' = exp(-x) * sigma**2 = sigma * (1 - sigma)
    logistic = register(
        "logistic", lambda x: 1 / (1 + math.exp(-x)), lambda x, out: math.exp(-x) * out * out
    )
    x1, x2 = Value(0.0), Value(0.0)
    program = compile([logistic(x1), logistic(x2)], [x1, x2])  # one step of two nodes
    X = np.array([[0.5, -1.0], [-2.0, 0.25], [1.5, 0.0]])
    program(X, reduction="sum")
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(program.input_grads, s * (1 - s), rtol=1e-12)


def test_a_derivative_that_overflows_in_numpy_only_names_the_op_and_numpys_reason(register):
    # atan' = 1 / (1 + x*x): on floats x*x is inf and the rule gives 0; numpy raises
    atan = register("atan", math.atan, lambda x, out: 1 / (1 + x * x), vectorized=np.arctan)
    x = Value(0.0)
    program = compile(atan(x), [x])
    with pytest.raises(DomainError, match=exactly(
        "atan: overflow encountered in multiply (in a compiled batch)"
    )) as info:  # fmt: skip
        program([[1.0], [1e200]])
    assert (info.value.op, info.value.operands) == (atan, ())


def test_a_frozen_leaf_gets_no_gradient_so_its_gradient_cannot_overflow():
    # w is neither an input nor a parameter: a constant. d(x*w)/dw = x would overflow
    # times this seed; only d/dx = w is computed
    x, w = Value(1.0), Value(1e-200)
    program = compile(x * w, [x], params=[])
    outputs, grads, inputs = program.run([[1e200]], np.array([]), seed=[[1e300]])
    assert outputs.tolist() == [[1e200 * 1e-200]]
    assert grads.tolist() == []
    assert inputs.tolist() == [[1e300 * 1e-200]]


def test_without_input_gradients_the_inputs_gradients_are_not_computed_so_cannot_overflow():
    # d(x*w)/dx = w = 1e200 times the seed 1e300 would overflow; d/dw = x = 1e-200 does not
    for n_products in (1, 2):  # one product, or two reading the same input row
        x = Value(1.0)
        weights = [Value(1e200) for _ in range(n_products)]
        program = compile([x * w for w in weights], [x], weights)
        seed = np.full((1, n_products), 1e300)
        outputs, grads, inputs = program.run(
            [[1e-200]], program.parameter_values(), seed=seed, input_grads=False
        )
        assert outputs.tolist() == [[1e-200 * 1e200] * n_products]
        assert grads.tolist() == [1e300 * 1e-200] * n_products
        assert inputs is None
        with pytest.raises(DomainError, match="overflow"):  # when they are wanted
            program.run([[1e-200]], program.parameter_values(), seed=seed)


# ----- numpy's float error state -----------------------------------------------------------------
def test_inside_allow_nonfinite_a_batch_makes_inf_without_warnings():
    x = Value(1.0)
    program = compile(x * 1e300, [x])
    with allow_nonfinite(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from numpy would fail the test
        outputs = program([[1e10], [2.0]], reduction="sum")
    assert outputs.tolist() == [[math.inf], [2e300]]
    assert program.input_grads.tolist() == [[1e300], [1e300]]


def test_an_underflow_is_zero_even_when_numpy_is_set_to_raise_on_everything():
    # exp(-800) underflows to 0.0, as math.exp does; only divide, invalid and overflow raise
    x = Value(1.0)
    program = compile((-x).exp(), [x])
    with np.errstate(all="raise"):
        assert program([[800.0], [0.0]], reduction="sum").tolist() == [[0.0], [1.0]]
    assert program.input_grads.tolist() == [[-0.0], [-1.0]]
    assert (-Value(800.0)).exp().data == 0.0


# ----- outputs and input gradients ----------------------------------------------------------------
def test_an_output_listed_twice_is_seeded_twice():
    y = Value(1.0)
    double = y * 2.0
    program = compile([double, double], [y])
    assert program.input_grads is None  # nothing has run yet
    program.forward([[1.0]])
    assert program.input_grads is None  # forward() computes no gradients
    assert program([[1.0], [3.0]], reduction="sum").tolist() == [[2.0, 2.0], [6.0, 6.0]]
    assert program.input_grads.tolist() == [[4.0], [4.0]]  # d(2y + 2y)/dy


# ----- compile()'s own errors and timing ---------------------------------------------------------
def test_compile_says_exactly_what_is_wrong_with_its_arguments():
    x, w = Value(1.0), Value(2.0)
    y = x * w
    cases = [
        (TypeError, "compile() needs a Value or a list of Values as outputs", (3.0, [x]), {}),
        (TypeError, "compile() needs a Value or a list of Values as outputs", ([], [x]), {}),
        (ValueError, "compile(): the same input Value is listed twice", (y, [x, x]), {}),
        (TypeError, "compile(): params must be leaf Values", (y, [x]), {"params": [y]}),
        (
            ValueError,
            "compile(): a Value cannot be both an input and a parameter",
            (y, [x]),
            {"params": [x]},
        ),
    ]
    for error, message, args, kwargs in cases:
        with pytest.raises(error, match=exactly(message)):
            compile(*args, **kwargs)


def test_a_node_built_by_hand_cannot_be_compiled():
    a, b = Value(1.0), Value(2.0)
    by_hand = Value(3.0, (a, b), "+")  # micrograd style: the op is only a text
    with pytest.raises(TypeError, match=exactly(
        "node Value(data=3, grad=0, op='+') was built by hand with _op='+', which is not an op "
        "of chainrule's table, so it cannot be compiled; build nodes with operators or register "
        "the op with autograd.register_op"
    )):  # fmt: skip
        compile(by_hand, [a])


def test_compile_seconds_is_the_time_compile_took():
    x, w = Value(1.0), Value(2.0)
    before = time.perf_counter()
    program = compile((x * w).tanh(), [x])
    took = time.perf_counter() - before
    assert 0.0 < program.compile_seconds <= took
