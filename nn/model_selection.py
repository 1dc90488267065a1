"""Many fits: cross-validation and hyperparameter searches, on one core, many, or a cluster.

    result = nn.cross_validate(make_model, X, y, k=5, loss="cross_entropy", epochs=20)
    result.summary                       # {'val_loss': (mean, std), 'val_accuracy': ...}
    search = nn.search(make_model, {"lr": [0.01, 0.1, 1.0]}, X, y, n_jobs=-1, epochs=20)
    search.best_config, search.best_model, search.table

``make_model(**config)`` returns a fresh model, or ``(model, optimizer)``. Every run (one
configuration on one fold) is independent and goes through joblib: ``n_jobs=-1`` uses
every core of this machine in separate processes; ``backend="dask"`` runs the runs on the
Dask cluster of your ``distributed.Client``, ``backend="ray"`` on Ray. Results come back as
plain data (histories as lists, weights as state dicts): models travel as numbers, never
as pickled graphs. The same ``seed`` gives the same scores for any ``n_jobs`` and backend.
A run that fails (an exception, a training that diverges) is recorded with its error and
does not stop the others.
"""

from __future__ import annotations

import inspect
import itertools
import math
import random
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import int_at_least
from .data import KFold, StratifiedKFold, check_dataset
from .module import Module
from .optim import Optimizer
from .progress import progress_bar
from .training import fit

__all__ = ["CVResult", "Run", "RunsFailedError", "SearchResult", "cross_validate", "search"]

BACKENDS = (None, "loky", "dask", "ray")
Config = dict[str, Any]


class RunsFailedError(RuntimeError):
    """Every run failed (usually a mistake shared by all: a misspelt fit argument, a loss
    that does not fit the data). ``results`` holds the runs with their errors."""

    def __init__(self, message: str, results: list[CVResult]) -> None:
        super().__init__(message)
        self.results = results


@dataclass
class Run:
    """One fit: a configuration trained on one fold, scored on that fold's held-out part."""

    config: Config
    fold: int
    seed: int
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch
    scores: dict[str, float] = field(default_factory=dict)  # 'val_loss', 'val_<metric>'
    state: dict[str, float] | None = None  # the trained weights (model.state_dict())
    error: str | None = None  # 'TrainingDiverged: ...' when the run failed
    seconds: float = 0.0
    best_epoch: int | None = None  # the epoch early stopping kept (its weights, its scores)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CVResult:
    """The runs of one configuration over every fold, and their mean and spread."""

    config: Config
    runs: list[Run]

    @property
    def summary(self) -> dict[str, tuple[float, float]]:
        """``{score: (mean, standard deviation)}`` over the folds that trained."""
        done = [run for run in self.runs if run.ok]
        names = sorted({name for run in done for name in run.scores})
        out = {}
        for name in names:
            values = np.array([run.scores[name] for run in done if name in run.scores])
            out[name] = (float(values.mean()), float(values.std()))
        return out

    @property
    def failed(self) -> list[Run]:
        return [run for run in self.runs if not run.ok]

    def mean(self, score: str) -> float:
        """The mean of ``score`` over the folds (nan when no fold trained)."""
        return self.summary.get(score, (math.nan, math.nan))[0]


@dataclass
class SearchResult:
    """Every configuration's cross-validated scores, best first.

    ``table`` has one row per configuration (``config``, ``mean``, ``std`` of ``score``,
    ``failed`` runs), sorted by the mean (lowest first for a loss, highest for any other
    score); ``best_config`` heads it and ``best_model`` is that configuration trained on
    all the data (``refit=True``). ``results`` holds each configuration's
    :class:`CVResult` in table order, with every run's history.
    """

    score: str
    greater_is_better: bool
    results: list[CVResult]
    best_model: Module | None = None

    @property
    def table(self) -> list[dict[str, Any]]:
        return [
            {
                "config": r.config,
                "mean": r.mean(self.score),
                "std": r.summary.get(self.score, (math.nan, math.nan))[1],
                "failed": len(r.failed),
            }
            for r in self.results
        ]

    @property
    def best_config(self) -> Config:
        return self.results[0].config

    @property
    def runs(self) -> list[Run]:
        return [run for result in self.results for run in result.runs]

    def __str__(self) -> str:
        lines = [f"{'rank':>4}  {self.score + ' (mean ± std)':<28}  failed  config"]
        for rank, row in enumerate(self.table, 1):
            shown = f"{row['mean']:.6g} ± {row['std']:.2g}"
            lines.append(f"{rank:>4}  {shown:<28}  {row['failed']:>6}  {row['config']}")
        return "\n".join(lines)


# ----- the public functions ------------------------------------------------------------------
def cross_validate(
    make_model: Callable[..., Any],
    X: Any,
    y: Any,
    *,
    k: int = 5,
    stratify: bool = True,
    seed: int = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    config: Mapping[str, Any] | None = None,
    quiet: bool = False,
    **fit_kwargs: Any,
) -> CVResult:
    """Train ``make_model(**config)`` on k-1 folds and score it on the k-th, k times.

    Folds are stratified by class for classification labels (``stratify=True``) and drawn
    from ``seed``; every other keyword goes to :func:`nn.fit` (``loss``, ``epochs``,
    ``batch_size``, ``metrics``, ...). Returns the runs and a summary of mean and spread.
    """
    config = dict(config or {})
    jobs = _Jobs(make_model, X, y, k, stratify, seed, fit_kwargs)
    results = _run_all(jobs, [config], n_jobs, backend, quiet)
    return results[0]


def search(
    make_model: Callable[..., Any],
    grid_or_sampler: Mapping[str, Sequence[Any]] | Callable[[random.Random], Config],
    X: Any,
    y: Any,
    *,
    n_samples: int | None = None,
    score: str = "val_loss",
    k: int = 5,
    stratify: bool = True,
    seed: int = 0,
    refit: bool = True,
    n_jobs: int | None = None,
    backend: str | None = None,
    quiet: bool = False,
    **fit_kwargs: Any,
) -> SearchResult:
    """Cross-validate every configuration and rank them by ``score``.

    ``grid_or_sampler`` is a grid, ``{"lr": [0.01, 0.1], "width": [8, 16]}`` (every
    combination, in order), or a sampler ``f(rng) -> config`` called ``n_samples`` times
    with a seeded ``random.Random``. ``score`` is ``'val_loss'`` (lower is better) or
    ``'val_<metric>'`` for a metric given to fit (higher is better). With ``refit`` the
    best configuration is trained once more on all of ``X`` as ``best_model``.
    """
    configs = _configs(grid_or_sampler, n_samples, seed)
    jobs = _Jobs(make_model, X, y, k, stratify, seed, fit_kwargs)
    results = _run_all(jobs, configs, n_jobs, backend, quiet)
    greater = not score.endswith("loss")
    if not any(score in run.scores for r in results for run in r.runs):
        known = sorted({name for r in results for run in r.runs for name in run.scores})
        raise ValueError(f"score {score!r} is not among the runs' scores {known}")

    def rank(result: CVResult) -> tuple[bool, float]:
        value = result.mean(score)
        return (math.isnan(value), -value if greater else value)

    results.sort(key=rank)
    best_model = None
    if refit and not math.isnan(results[0].mean(score)):
        best_model, optimizer = _build(make_model, results[0].config, seed)
        fit(best_model, jobs.X, jobs.y, optimizer=optimizer, quiet=True, seed=seed, **fit_kwargs)
    return SearchResult(score, greater, results, best_model)


# ----- the runs ----------------------------------------------------------------------------
def _configs(grid_or_sampler: Any, n_samples: int | None, seed: int) -> list[Config]:
    if callable(grid_or_sampler):
        count = int_at_least("n_samples", n_samples if n_samples is not None else 10)
        rng = random.Random(seed)
        configs = [grid_or_sampler(rng) for _ in range(count)]
        for c in configs:
            if not isinstance(c, Mapping):
                raise TypeError(f"the sampler must return a dict of settings, got {c!r:.60}")
        return [dict(c) for c in configs]
    if not isinstance(grid_or_sampler, Mapping) or not grid_or_sampler:
        raise TypeError(
            "search needs a grid, {'lr': [0.01, 0.1]}, or a sampler f(rng) -> {'lr': ...}; "
            f"got {grid_or_sampler!r:.60}"
        )
    names = list(grid_or_sampler)
    choices = []
    for name in names:
        values = grid_or_sampler[name]
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r:.60}")
        values = list(values)
        if not values:
            raise ValueError(f"grid[{name!r}] is empty")
        choices.append(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


@dataclass
class _Jobs:
    """Everything a run needs, split into folds once (picklable: plain data and functions)."""

    make_model: Callable[..., Any]
    X: np.ndarray
    y: np.ndarray
    k: int
    stratify: bool
    seed: int
    fit_kwargs: dict[str, Any]

    def __post_init__(self) -> None:
        if not callable(self.make_model):
            raise TypeError(f"make_model must be a function, got {self.make_model!r:.60}")
        self.X, self.y = check_dataset(self.X, self.y)
        self.k = int_at_least("k", self.k, minimum=2)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")
        known = set(inspect.signature(fit).parameters) - {"model", "X", "y"}
        unknown = sorted(set(self.fit_kwargs) - known)
        if unknown:
            raise TypeError(f"unknown fit argument(s) {unknown}; fit takes {sorted(known)}")
        for reserved in ("validation", "quiet", "optimizer"):
            if reserved in self.fit_kwargs:
                raise TypeError(
                    f"{reserved}= is chosen per run by cross-validation; make_model may return "
                    "(model, optimizer) to choose the optimizer"
                )
        labels = self.y.ndim == 1 and np.all(np.equal(np.mod(self.y, 1), 0))
        splitter = StratifiedKFold if self.stratify and labels else KFold
        folds = splitter(self.k, shuffle=True, seed=self.seed)
        self.folds = list(folds.split(self.X, self.y if splitter is StratifiedKFold else None))

    def tasks(self, configs: list[Config]) -> list[tuple[int, Config, int, int]]:
        """(task, config, fold, seed) for every run; a fold's seed does not depend on the
        config, so configurations are compared on the same splits and initial draws."""
        every = [(c, f) for c in configs for f in range(self.k)]
        return [(i, c, f, self.seed * 1_000 + f) for i, (c, f) in enumerate(every)]

    def run_task(self, task: int, config: Config, fold: int, seed: int) -> tuple[int, Run]:
        return task, self.run(config, fold, seed)

    def run(self, config: Config, fold: int, seed: int) -> Run:
        """Train and score one run; an error is recorded, not raised."""
        start = time.perf_counter()
        run = Run(dict(config), fold, seed)
        train, held_out = self.folds[fold]
        try:
            model, optimizer = _build(self.make_model, config, seed)
            history = fit(
                model, self.X[train], self.y[train], optimizer=optimizer,
                validation=(self.X[held_out], self.y[held_out]), quiet=True, seed=seed,
                **self.fit_kwargs,
            )  # fmt: skip
            run.history = {name: list(values) for name, values in history.items()}
            restored = self.fit_kwargs.get("early_stopping") and self.fit_kwargs.get(
                "restore_best", True
            )
            run.best_epoch = history.best_epoch
            at = history.best_epoch if restored and history.best_epoch is not None else -1
            run.scores = {
                name: values[at] for name, values in run.history.items() if name.startswith("val_")
            }
            run.state = model.state_dict()
        except Exception as exc:  # noqa: BLE001 - a failed run is a result, not a crash
            run.error = f"{type(exc).__name__}: {exc}"
            partial = getattr(exc, "history", None)
            if partial is not None:
                run.history = {name: list(values) for name, values in partial.items()}
            if not isinstance(exc, (ArithmeticError, ValueError, TypeError)):
                run.error += "\n" + traceback.format_exc(limit=3)
        run.seconds = time.perf_counter() - start
        return run


def _build(make_model: Callable[..., Any], config: Config, seed: int) -> tuple[Module, Any]:
    """``make_model(**config)`` with Python's and numpy's global random numbers seeded (and
    given back as they were afterwards): (model, optimizer or None)."""
    saved = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        made = make_model(**config)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    model, optimizer = (made if isinstance(made, tuple) else (made, None))[:2]
    if not isinstance(model, Module):
        raise TypeError(f"make_model must return a model (or (model, optimizer)), got {made!r:.60}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"the optimizer from make_model is not an nn optimizer: {optimizer!r:.60}")
    return model, optimizer


def _run_all(
    jobs: _Jobs, configs: list[Config], n_jobs: int | None, backend: str | None, quiet: bool
) -> list[CVResult]:
    """Every run of every configuration, in parallel where asked, with one progress bar."""
    tasks = jobs.tasks(configs)
    bar = progress_bar(total=len(tasks), disable=quiet, unit="run", desc="cross-validating")
    runs: dict[int, Run] = {}
    try:
        for task, run in _execute(jobs, tasks, n_jobs, backend):
            runs[task] = run
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        raise KeyboardInterrupt(
            f"stopped after {len(runs)} of {len(tasks)} runs; the workers were stopped"
        ) from None
    bar.close()
    by_config = [CVResult(dict(c), []) for c in configs]
    for task in sorted(runs):  # task i is run i % k of configuration i // k
        by_config[task // jobs.k].runs.append(runs[task])
    if all(not run.ok for run in runs.values()):
        first = runs[min(runs)].error or ""
        raise RunsFailedError(
            f"all {len(runs)} runs failed, so there is nothing to compare; the first: "
            f"{first.splitlines()[0]}",
            by_config,
        )
    return by_config


def _execute(
    jobs: _Jobs,
    tasks: list[tuple[int, Config, int, int]],
    n_jobs: int | None,
    backend: str | None,
) -> Iterator[tuple[int, Run]]:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise TypeError(f"n_jobs must be an int (-1: every core) or None, got {n_jobs!r}")
    if n_jobs in (None, 1) and backend is None:
        for task in tasks:  # in this process: no pickling, easy to debug
            yield jobs.run_task(*task)
        return
    joblib = _require("joblib", "parallel")
    if backend == "dask":
        _require("distributed", "dask")
        _current_dask_client()
    elif backend == "ray":
        ray_joblib = _require("ray.util.joblib", "ray")
        ray_joblib.register_ray()
    with joblib.parallel_config(backend=backend or "loky", n_jobs=n_jobs or -1):
        calls = [joblib.delayed(jobs.run_task)(*task) for task in tasks]
        try:  # results as they finish, for the progress bar
            parallel = joblib.Parallel(return_as="generator")
        except ValueError:  # a backend without it (Ray's): all at the end
            parallel = joblib.Parallel()
        yield from parallel(calls)


def _current_dask_client() -> Any:
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise RuntimeError(
            "backend='dask' runs on your Dask cluster: start a distributed.Client first, "
            "e.g. `from distributed import Client, LocalCluster; client = Client(LocalCluster())`"
        ) from None


_EXTRAS = {"parallel": "joblib", "dask": "dask[distributed] joblib", "ray": "ray joblib"}


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"this needs {module.split('.')[0]}: pip install 'chainrule[{extra}]' "
            f"(or pip install {_EXTRAS[extra]})"
        ) from None
