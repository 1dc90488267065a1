"""chainrule's autograd: a scalar reverse-mode autograd engine.

>>> from autograd import Value
>>> x = Value(2.0, label="x")
>>> y = (x * x + 1).tanh()
>>> y.backward()
>>> x.grad
"""

from . import ops
from .compiler import Program, compile
from .custom import op, register_op, unregister_op
from .engine import Value, cycle_collector_paused
from .functional import grad, gradients, value_and_grad
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from .mode import (
    AnomalyError,
    allow_nonfinite,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    nonfinite_allowed,
)
from .operation import REGISTRY, Domain, DomainError, Op
from .ops import (
    cos,
    exp,
    gaussian,
    leaky_relu,
    log,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
)  # fmt: skip

__all__ = [
    "REGISTRY",
    "AnomalyError",
    "Domain",
    "DomainError",
    "GradcheckError",
    "Op",
    "Program",
    "Value",
    "allow_nonfinite",
    "compile",
    "cos",
    "cycle_collector_paused",
    "detect_anomaly",
    "enable_grad",
    "exp",
    "gaussian",
    "grad",
    "gradcheck",
    "gradients",
    "is_grad_enabled",
    "leaky_relu",
    "log",
    "no_grad",
    "nonfinite_allowed",
    "numerical_grad",
    "op",
    "ops",
    "register_op",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tanh",
    "unregister_op",
    "value_and_grad",
]  # fmt: skip
__version__ = "0.1.0"
