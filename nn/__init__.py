"""chainrule's neural networks, built from autograd Values.

micrograd's demo runs with only its imports changed::

    from autograd import Value
    from nn import MLP, Layer, Neuron

and everything an introductory course needs is here: losses, penalties, optimizers and
schedules, data handling and datasets, ``fit`` with a progress bar, metrics, and models
saved as JSON.

>>> import nn
>>> X, y = nn.datasets.make_moons(100, noise=0.1, seed=0)
>>> model = nn.MLP(2, [16, 16, 1], seed=0)
>>> history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.5),
...                  epochs=50, metrics=["accuracy"], quiet=True)
"""

# ruff: noqa: E402  (the package check below runs before any other import)
import runpy as _runpy
from pathlib import Path as _Path

# First of all: stop with a clear error when another package named autograd, nn or viz
# is imported instead of chainrule's (autograd/packages.py, run by its path).
_runpy.run_path(
    str(_Path(__file__).resolve().parents[1] / "autograd" / "packages.py"), run_name="check"
)

from . import datasets, functional, losses, metrics, optim
from .data import (
    KFold,
    Standardizer,
    StratifiedKFold,
    add_noise,
    augment,
    batches,
    check_dataset,
    check_labels,
    shift_images,
    train_test_split,
)
from .functional import ACTIVATIONS, log_softmax, logsumexp, softmax
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    HuberLoss,
    Loss,
    MAELoss,
    MSELoss,
    NLLLoss,
    SSELoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    huber_loss,
    mae_loss,
    mse_loss,
    nll_loss,
    sse_loss,
)
from .metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    f1,
    mae,
    mse,
    precision,
    precision_recall_f1,
    r2,
    recall,
)
from .model_selection import (
    CVResult,
    Run,
    RunsFailedError,
    SearchResult,
    cross_validate,
    search,
)
from .module import (
    INIT_SCHEMES,
    MLP,
    Dropout,
    Layer,
    Module,
    Neuron,
    Perceptron,
    Sequential,
    init_weights,
    temporary_mode,
)
from .optim import SGD, Adam, LinearDecay, LRScheduler, Optimizer, StepDecay, TrainingDiverged
from .programs import NotCompilable
from .recording import Recorder, Snapshot
from .regularization import L1, L2, l1_penalty, l2_penalty
from .serialize import ModelFileError, load, load_weights, save
from .steps import ScalarStep, TrainingStep
from .training import History, evaluate, fit

__all__ = [
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "L1",
    "L2",
    "MLP",
    "SGD",
    "Adam",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CVResult",
    "CrossEntropyLoss",
    "Dropout",
    "HingeLoss",
    "History",
    "HuberLoss",
    "KFold",
    "LRScheduler",
    "Layer",
    "LinearDecay",
    "Loss",
    "MAELoss",
    "MSELoss",
    "ModelFileError",
    "Module",
    "NLLLoss",
    "Neuron",
    "NotCompilable",
    "Optimizer",
    "Perceptron",
    "Recorder",
    "Run",
    "RunsFailedError",
    "SSELoss",
    "ScalarStep",
    "SearchResult",
    "Sequential",
    "Snapshot",
    "Standardizer",
    "StepDecay",
    "StratifiedKFold",
    "TrainingDiverged",
    "TrainingStep",
    "accuracy",
    "add_noise",
    "augment",
    "batches",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_dataset",
    "check_labels",
    "classification_report",
    "confusion_matrix",
    "cross_entropy",
    "cross_validate",
    "datasets",
    "evaluate",
    "f1",
    "fit",
    "functional",
    "hinge_loss",
    "huber_loss",
    "init_weights",
    "l1_penalty",
    "l2_penalty",
    "load",
    "load_weights",
    "log_softmax",
    "logsumexp",
    "losses",
    "mae",
    "mae_loss",
    "metrics",
    "mse",
    "mse_loss",
    "nll_loss",
    "optim",
    "precision",
    "precision_recall_f1",
    "r2",
    "recall",
    "save",
    "search",
    "shift_images",
    "softmax",
    "sse_loss",
    "temporary_mode",
    "train_test_split",
]
