"""``chainrule check``: property-check the derivatives of every op in the table.

For each op (yours included, once the module that registers it is imported),
Hypothesis draws random expression graphs that use it (:func:`autograd.strategies.expressions`)
and compares backward's first and second derivatives with central differences.
With ``--kinks``, each op that declares kinks is also checked on graphs with a node
exactly on one of them (``expressions(at_kinks=True)``): first derivatives only, which
``gradcheck`` judges there against the one-sided differences. A failure is shrunk to a
minimal graph and printed as a formula with its table.

With ``--jobs N`` the checks are spread over N worker processes through joblib (``-1``:
every core); each worker imports the ``--module`` modules first, and the output is the
same as with one job, row for row (every check is deterministic).

Needs Hypothesis (``pip install chainrule[test]``); ``--jobs`` needs joblib
(``pip install joblib``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import math
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .gradcheck import GradcheckError, GradientRow, compare_gradients, gradcheck, graph_function
from .operation import REGISTRY, Op

__all__ = ["OpCheck", "check_command", "check_op", "import_user_module"]

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3


@dataclass
class OpCheck:
    """The result of property-checking one op."""

    name: str
    examples: int  # graphs tried (up to and including the first failure)
    max_abs_error: float
    max_rel_error: float  # among derivatives larger than ATOL; smaller ones are judged absolutely
    failure: str | None = None  # the minimal failing graph and its table
    at_kinks: bool = False  # checked on graphs with a node exactly on a kink of the op

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def label(self) -> str:
        """The row's name in the table: the op's, with ``@kink`` for its check at kinks."""
        return f"{self.name}@kink" if self.at_kinks else self.name


def check_op(
    op: Op | str, examples: int = 200, *, order: int | None = None, at_kinks: bool = False
) -> OpCheck:
    """Property-check ``op`` on ``examples`` random graphs that use it (deterministic).

    ``at_kinks=True``: on graphs with a node exactly on one of the op's declared kinks.
    ``order`` (None: 2, or 1 at kinks, where the first derivative jumps and has no
    derivative to check).
    """
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    from .strategies import expressions

    op = op if isinstance(op, Op) else REGISTRY[op]
    if at_kinks and not op.kinks:
        raise ValueError(f"check_op: {op.name} declares no kinks to check at")
    if at_kinks and order == 2:
        raise ValueError("check_op: second derivatives do not exist at a kink; use order=1")
    order = order if order is not None else (1 if at_kinks else 2)
    stats = OpCheck(op.name, 0, 0.0, 0.0, at_kinks=at_kinks)
    failed = False

    def fails(expr) -> bool:
        nonlocal failed
        try:
            rows = _rows(expr, order)
        except Exception:  # noqa: BLE001 - an op that raises fails the check; shown below
            bad = True
        else:
            bad = not all(row.ok for row in rows)
            if not failed:
                _record(stats, rows)
        if not failed:
            stats.examples += 1
            failed = bad
        return bad

    config = settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    try:
        with _without_local_constants():
            minimal = find(expressions(ops=[op], at_kinks=at_kinks), fails, settings=config)
    except NoSuchExample:
        return stats
    except Unsatisfiable:
        where = "sits exactly on a kink" if at_kinks else "is defined and smooth"
        stats.failure = f"could not draw a graph where {op.name} {where}"
        return stats
    except Exception as exc:  # noqa: BLE001 - e.g. the op's forward rule raised while drawing
        stats.failure = f"drawing graphs that use {op.name} failed: {type(exc).__name__}: {exc}"
        return stats
    stats.failure = _explain(minimal, order)
    return stats


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis without the constants it collects from the source of the local modules
    imported so far (recent Hypothesis draws them now and then): with them, the graphs
    drawn for an op would depend on what this process happens to have imported (viz,
    earlier --module files, a worker's earlier tasks), and ``--jobs`` could not repeat the
    serial run exactly. Hypothesis's own constants (0.5, 1e-5, extreme floats) stay."""
    try:
        from hypothesis.internal.conjecture import providers

        collect, cache = providers._get_local_constants, providers.CONSTANTS_CACHE.cache
        none = providers.Constants()
    except (ImportError, AttributeError):  # a Hypothesis without local constants
        yield
        return
    providers._get_local_constants = lambda: none
    cache.clear()  # it holds the local constants, filtered for each kind of draw
    try:
        yield
    finally:
        providers._get_local_constants = collect
        cache.clear()


def _rows(expr, order: int) -> list[GradientRow]:
    return compare_gradients(
        graph_function(expr.output, expr.inputs), _leaves(expr), EPS, ATOL, RTOL, order
    )


def _leaves(expr) -> list:
    from .engine import Value

    return [Value(x.data, label=x.label) for x in expr.inputs]


def _record(stats: OpCheck, rows: Sequence[GradientRow]) -> None:
    for row in rows:
        if math.isfinite(row.abs_error):
            stats.max_abs_error = max(stats.max_abs_error, row.abs_error)
        if max(abs(row.analytic), abs(row.numeric)) > ATOL and math.isfinite(row.rel_error):
            stats.max_rel_error = max(stats.max_rel_error, row.rel_error)


def _explain(expr, order: int) -> str:
    """The minimal failing graph: its formula and gradcheck's table (or the error it raised)."""
    try:
        gradcheck(graph_function(expr.output, expr.inputs), _leaves(expr), EPS, ATOL, RTOL, order)
    except GradcheckError as exc:
        text = f"minimal failing graph: {expr!r}\n{exc}"
        first_order_ok = all(row.ok for row in exc.rows if ", " not in row.name)
        if first_order_ok:
            text += (
                "\n  First derivatives agree; second derivatives do not. Write derivative rules "
                "with operators and table ops (autograd.ops.cos, not math.cos) so they also "
                "work on Values."
            )
        return text
    except Exception as exc:  # noqa: BLE001 - report whatever the op raised
        return f"minimal failing graph: {expr!r}\n  raised {type(exc).__name__}: {exc}"
    return (
        f"minimal failing graph: {expr!r}\n"
        "  failed during the search but passes on replay (a non-deterministic op?)"
    )


# ----- the command ------------------------------------------------------------------------------
def import_user_module(name: str) -> None:
    """Import a module by name (``my_ops``, ``pkg.ops``) or by file path (``ops/mine.py``).

    A module that fails to import (by raising or calling ``sys.exit``) is not left
    half-imported in ``sys.modules``.
    """
    if name.endswith(".py") or os.sep in name or (os.altsep and os.altsep in name):
        path = Path(name)
        if not path.is_file():
            raise ModuleNotFoundError(f"no such file: {name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{name} is not a Python file (it should end in .py)")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(path.stem, None)
            raise
        return
    here = os.getcwd()
    added = here not in sys.path
    if added:  # the console script does not put the current folder on the path
        sys.path.insert(0, here)
    try:
        importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(here)


def _import_failure(exc: BaseException) -> str:
    """Why a module failed to import, on one line."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_command(
    modules: list[str],
    examples: int,
    ops: list[str] | None,
    *,
    kinks: bool = False,
    jobs: int = 1,
    out: TextIO | None = None,
) -> int:
    """Run ``chainrule check``: 0 when every op passes, 1 on a failure, 2 on bad usage.

    ``kinks=True`` adds a row ``NAME@kink`` for each op that declares kinks: the op
    checked on graphs with a node exactly on one of them. ``jobs``: worker processes
    (joblib; ``-1``: every core; ``1``: in this process); the output does not depend on it.
    """
    out = out or sys.stdout
    err = sys.stderr
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        print("chainrule check needs Hypothesis: pip install 'chainrule[test]'", file=err)
        return 2
    if examples < 1:
        print(f"chainrule check: --examples must be at least 1, got {examples}", file=err)
        return 2
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not (jobs >= 1 or jobs == -1):
        print(
            "chainrule check: --jobs must be a number of processes (1 or more) "
            f"or -1 for every core, got {jobs!r}",
            file=err,
        )
        return 2
    joblib = None
    if jobs != 1:  # joblib is optional: imported only when asked for processes
        try:
            import joblib
        except ImportError:
            print(
                "chainrule check --jobs needs joblib: pip install joblib "
                "(or pip install 'chainrule[parallel]')",
                file=err,
            )
            return 2
    for name in modules:
        try:
            import_user_module(name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's module failed
            print(
                f"chainrule check: importing module {name!r} failed: {_import_failure(exc)}",
                file=err,
            )
            return 2
    if ops:
        unknown = [name for name in ops if name not in REGISTRY]
        if unknown:
            print(
                f"chainrule check: no op named {', '.join(map(repr, unknown))}; "
                f"known ops: {', '.join(REGISTRY)}",
                file=err,
            )
            return 2
        selected = [REGISTRY[name] for name in dict.fromkeys(ops)]
    else:
        selected = list(REGISTRY.values())

    checks = [(op, False) for op in selected]
    if kinks:  # each op with kinks is checked at them right after its ordinary check
        checks = [(op, at) for op in selected for at in (False, True) if not at or op.kinks]
    kinked = len(checks) - len(selected)
    print(
        f"chainrule check: {len(selected)} ops, up to {examples} random graphs each; "
        f"first and second derivatives against central differences "
        f"(eps={EPS:g}, atol={ATOL:g}, rtol={RTOL:g})",
        file=out,
    )
    if kinks:
        print(
            f"--kinks: {kinked} of them declare kinks; rows NAME@kink put a node exactly on "
            "one: first derivatives, between the one-sided differences there"
            if kinked
            else "--kinks: none of these ops declares a kink",
            file=out,
        )
    labels = [op.name + ("@kink" if at else "") for op, at in checks]
    width = max(len("op"), *map(len, labels))
    print(
        f"\n{'op':<{width}}  {'examples':>8}  {'max abs error':>13}  {'max rel error':>13}  result",
        file=out,
    )
    results = []
    try:
        for result in _run_checks(checks, examples, jobs, modules, joblib):
            results.append(result)
            print(
                f"{result.label:<{width}}  {result.examples:>8}  {result.max_abs_error:>13.2e}  "
                f"{result.max_rel_error:>13.2e}  {'pass' if result.passed else 'FAIL'}",
                file=out,
                flush=True,
            )
    except _WorkerError as exc:
        print(f"chainrule check: {exc}", file=err)
        return 2
    failures = [r for r in results if not r.passed]
    for result in failures:
        print(f"\n{result.label}: {result.failure}", file=out)
    what = "checks" if kinked else "ops"
    if failures:
        print(f"\n{len(failures)} of {len(results)} {what} failed.", file=out)
        return 1
    print(f"\nall {len(results)} {what} passed.", file=out)
    return 0


# ----- --jobs: the checks in worker processes ------------------------------------------------
class _WorkerError(Exception):
    """A worker process could not set up what this process has (a module, an op)."""


@dataclass(frozen=True)
class _Context:
    """What a worker needs to see the ops this process sees."""

    modules: tuple[str, ...]  # the --module arguments, imported in this order
    cwd: str  # module names and relative paths are looked up from here
    path: tuple[str, ...]  # this process's sys.path
    parent: int  # this process's id: a task run here (joblib's threads) imports nothing
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # one per command


def _run_checks(
    checks: list[tuple[Op, bool]], examples: int, jobs: int, modules: list[str], joblib
) -> Iterator[OpCheck]:
    """The result of each check, in order: here, or spread over ``jobs`` processes."""
    n_jobs = 1 if joblib is None else min(joblib.effective_n_jobs(jobs), len(checks))
    if n_jobs <= 1:
        for op, at_kinks in checks:
            yield check_op(op, examples, at_kinks=at_kinks)
        return
    context = _Context(tuple(modules), os.getcwd(), tuple(sys.path), os.getpid())
    parallel = joblib.Parallel(
        n_jobs=n_jobs, prefer="processes", batch_size=1, return_as="generator"
    )
    yield from parallel(
        joblib.delayed(_check_in_worker)(context, op.name, examples, at_kinks)
        for op, at_kinks in checks
    )


# A worker process is reused by later commands (joblib keeps its workers): what the
# modules of the last command added, so that the next command starts from the built-in ops.
_worker_setup: dict = {"token": None, "ops": [], "modules": []}


def _check_in_worker(context: _Context, name: str, examples: int, at_kinks: bool) -> OpCheck:
    """Run in a worker: import the command's modules (once per command), check one op."""
    if os.getpid() == context.parent:  # joblib ran the task here (threads): the ops are here
        return check_op(REGISTRY[name], examples, at_kinks=at_kinks)
    with _environment_of(context):
        _import_modules_of(context)
        op = REGISTRY.get(name)
        if op is None:
            raise _WorkerError(
                f"op {name!r} is not registered in the worker processes; register it in a "
                "module given with --module, or use --jobs 1"
            )
        return check_op(op, examples, at_kinks=at_kinks)


@contextlib.contextmanager
def _environment_of(context: _Context) -> Iterator[None]:
    """The parent's current folder and sys.path, for the length of one task."""
    here, path = os.getcwd(), sys.path[:]
    os.chdir(context.cwd)
    sys.path[:] = context.path
    try:
        yield
    finally:
        sys.path[:] = path
        os.chdir(here)


def _import_modules_of(context: _Context) -> None:
    if _worker_setup["token"] == context.token:
        return
    from .custom import unregister_op

    for name in _worker_setup["ops"]:  # forget the previous command's modules
        if name in REGISTRY:
            unregister_op(name)
    for name in _worker_setup["modules"]:
        sys.modules.pop(name, None)
    _worker_setup.update(token=None, ops=[], modules=[])
    ops_before, modules_before = set(REGISTRY), set(sys.modules)
    roots = {_module_root(name) for name in context.modules}
    try:
        # the parent has shown whatever the modules print
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for name in context.modules:
                try:
                    import_user_module(name)
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported to the parent
                    raise _WorkerError(
                        f"importing module {name!r} failed in a worker process: "
                        f"{_import_failure(exc)}"
                    ) from None
    finally:
        _worker_setup["ops"] = [name for name in REGISTRY if name not in ops_before]
        _worker_setup["modules"] = [
            name
            for name in sys.modules
            if name not in modules_before and name.partition(".")[0] in roots
        ]
    _worker_setup["token"] = context.token


def _module_root(name: str) -> str:
    """The top-level name under which ``import_user_module(name)`` enters a module."""
    if name.endswith(".py") or os.sep in name or (os.altsep and os.altsep in name):
        return Path(name).stem
    return name.partition(".")[0]
