"""Built-in datasets, all offline: nothing is downloaded at run time.

Small tables and toy 2-D problems are generated (seeded, deterministic); the bank-churn table
and the handwritten digits ship as compressed CSV files in ``nn/dataset_files/`` (see
``nn/dataset_files/README.md`` for sources and licences).

=================  ==================  ===========================================
function           returns             what it is
=================  ==================  ===========================================
load_table()       X (5,1), y (5,)     the articles' table: x = 0..4, y = 4x
make_moons()       X (n,2), y 0/1      two interleaving half circles
make_circles()     X (n,2), y 0/1      a small circle inside a large one
make_blobs()       X (n,d), y 0..k-1   Gaussian clusters
make_spiral()      X (n,2), y 0..k-1   k interleaved spiral arms
make_xor()         X (n,2), y 0/1      noisy copies of the XOR truth table
load_churn()       X (5000,12), y 0/1  will the bank customer leave? (synthetic)
load_digits()      X (1797,64), y 0..9 UCI 8x8 handwritten digits, pixels 0..16
=================  ==================  ===========================================
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources
from pathlib import Path

import numpy as np

from .checks import finite_real, int_at_least
from .data import Seed, as_generator

__all__ = [
    "CHURN_COLUMNS",
    "CHURN_FEATURES",
    "DIGITS_IMAGE_SHAPE",
    "load_churn",
    "load_churn_table",
    "load_digits",
    "load_table",
    "make_blobs",
    "make_churn_table",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "write_churn_csv",
]

DIGITS_IMAGE_SHAPE = (8, 8)

DATASET_FILES = "dataset_files"
"""The folder of the nn package that holds the shipped dataset files."""


def _shuffled(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(X))
    return X[order], y[order]


# --------------------------------------------------------------------------- tiny & toy data


def load_table() -> tuple[np.ndarray, np.ndarray]:
    """The articles' table: inputs x = 0, 1, 2, 3, 4 and targets y = 4x.

    Returns X of shape (5, 1) and y of shape (5,), both float.
    """
    x = np.arange(5, dtype=float)
    return x.reshape(-1, 1), 4.0 * x


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's geometry; micrograd's demo data).

    Class 0 is the upper arc of the unit circle centred at (0, 0); class 1 the lower arc
    centred at (1, 0.5). Gaussian noise of standard deviation ``noise`` is added.
    """
    n = int_at_least("n_samples", n_samples, minimum=2)
    noise = finite_real("noise", noise, minimum=0)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)]),
        ]
    )
    y = np.repeat([0, 1], [n_out, n_in])
    rng = as_generator(seed)
    X, y = _shuffled(X, y, rng)
    return X + rng.normal(0.0, noise, size=X.shape), y


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius ``factor`` (class 1) inside the unit circle (class 0)."""
    n = int_at_least("n_samples", n_samples, minimum=2)
    noise = finite_real("noise", noise, minimum=0)
    factor = finite_real("factor", factor, minimum=0, below=1)
    n_out, n_in = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
        ]
    )
    y = np.repeat([0, 1], [n_out, n_in])
    rng = as_generator(seed)
    X, y = _shuffled(X, y, rng)
    return X + rng.normal(0.0, noise, size=X.shape), y


def make_blobs(
    n_samples: int = 100,
    centers: int | np.ndarray = 3,
    n_features: int = 2,
    cluster_std: float | list[float] = 1.0,
    seed: Seed = 0,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one class per cluster.

    ``centers`` is a number of clusters (centres drawn uniformly from ``center_box`` in each
    dimension) or an array of centres of shape (k, n_features). Samples are spread as evenly
    as possible over the clusters; ``cluster_std`` may be one number or one per cluster.
    """
    n = int_at_least("n_samples", n_samples)
    rng = as_generator(seed)
    if np.ndim(centers) == 0:  # a number of clusters
        k = int_at_least("centers", centers)
        low, high = center_box
        centre_array = rng.uniform(low, high, size=(k, int_at_least("n_features", n_features)))
    else:
        centre_array = np.asarray(centers, dtype=float)
        if centre_array.ndim != 2 or len(centre_array) == 0:
            raise ValueError(f"centers must be an int or a (k, n_features) array, got {centers!r}")
    k = len(centre_array)
    stds = np.broadcast_to(np.asarray(cluster_std, dtype=float), (k,)).copy()
    if (stds < 0).any() or not np.isfinite(stds).all():
        raise ValueError(f"cluster_std must be >= 0, got {cluster_std!r}")
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    y = np.repeat(np.arange(k), counts)
    X = centre_array[y] + rng.normal(size=(n, centre_array.shape[1])) * stds[y, None]
    return _shuffled(X, y, rng)


def make_spiral(
    n_samples: int = 100, n_classes: int = 3, noise: float = 0.2, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` spiral arms winding out from the origin (the classic CS231n spiral).

    Arm j has radius r from 0 to 1 and angle 4j + 4r (radians) plus Gaussian noise of
    standard deviation ``noise`` on the angle; not linearly separable for k >= 2.
    """
    n = int_at_least("n_samples", n_samples)
    noise = finite_real("noise", noise, minimum=0)
    n_classes = int_at_least("n_classes", n_classes)
    rng = as_generator(seed)
    counts = np.full(n_classes, n // n_classes)
    counts[: n % n_classes] += 1
    y = np.repeat(np.arange(n_classes), counts)
    radius = np.concatenate([np.linspace(0.0, 1.0, c) for c in counts])
    angle = 4.0 * y + 4.0 * radius + rng.normal(0.0, noise, size=n)
    X = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return _shuffled(X, y, rng)


def make_xor(
    n_samples: int = 100, noise: float = 0.1, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the XOR truth table: inputs near (0,0), (0,1), (1,0), (1,1).

    The label is ``x1 XOR x2`` of the corner a point was drawn around; Gaussian noise of
    standard deviation ``noise`` is added. ``make_xor(4, noise=0)`` is the truth table itself.
    No single line separates the classes: a hidden layer is needed.
    """
    n = int_at_least("n_samples", n_samples)
    noise = finite_real("noise", noise, minimum=0)
    rng = as_generator(seed)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    corner = np.arange(n) % 4
    X = corners[corner] + rng.normal(0.0, noise, size=(n, 2))
    y = np.array([0, 1, 1, 0])[corner]
    if n > 4:
        X, y = _shuffled(X, y, rng)
    return X, y


# --------------------------------------------------------------------------- bank churn

CHURN_FILE = "churn.csv.gz"
CHURN_SEED = 20240531
CHURN_SAMPLES = 5000

#: Columns of the shipped CSV (``load_churn_table``), as in popular bank-churn tables.
CHURN_COLUMNS = [
    "credit_score",
    "geography",
    "gender",
    "age",
    "tenure",
    "balance",
    "num_products",
    "has_credit_card",
    "is_active_member",
    "estimated_salary",
    "exited",
]

#: Names of the 12 numeric columns of ``load_churn()``'s X, in order.
CHURN_FEATURES = [
    "credit_score",
    "age",
    "tenure",
    "balance",
    "num_products",
    "has_credit_card",
    "is_active_member",
    "estimated_salary",
    "geography_france",
    "geography_germany",
    "geography_spain",
    "gender_male",
]

_GEOGRAPHIES = ["France", "Germany", "Spain"]


def _churn_logit(
    credit_score: np.ndarray,
    germany: np.ndarray,
    female: np.ndarray,
    age: np.ndarray,
    has_balance: np.ndarray,
    products: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Log-odds of leaving. Effects follow what analyses of real bank-churn data report:
    churn peaks in the 50s, is higher in Germany, for women, for inactive members, for one
    product and (sharply) for three or four; two products retain. Tenure, credit card and
    salary have no effect: they are realistic distractors."""
    over_50 = np.maximum(age - 50, 0)
    product_effect = np.array([0.0, 0.0, -2.0, 3.0, 5.0])[products]
    return (
        -1.10
        + 0.17 * (age - 40)
        - 0.020 * over_50**2
        + 0.80 * germany
        + 0.55 * female
        - 1.10 * active
        + 0.30 * has_balance
        + product_effect
        - 0.0008 * (credit_score - 650)
        + 1.50 * (credit_score < 420)
    )


def make_churn_table(
    n_samples: int = CHURN_SAMPLES, seed: Seed = CHURN_SEED
) -> dict[str, np.ndarray]:
    """Generate the bank-churn table column by column (the generative model of ``churn.csv.gz``).

    Customers: credit score ~ Normal(650, 96) clipped to 350..850; geography France 50%,
    Germany 25%, Spain 25%; 55% men; age 18 + LogNormal(ln 20, 0.45), at most 92; tenure
    0..10 years uniform; balance 0 for 48% of French and Spanish customers and 2% of German
    ones, else ~ Normal(120k, 30k) (at least 3k); 1-4 products (more products when the
    balance is 0); 70% hold a credit card; 51% are active; salary uniform 0..200k.
    Churn: Bernoulli(sigmoid(logit + u)) with the logit of ``_churn_logit`` and an
    unobserved factor u ~ Normal(0, 0.5) (satisfaction the bank does not record). About 20%
    leave. Only ``random()`` and ``standard_normal()`` draws are used, in a fixed order.
    """
    n = int_at_least("n_samples", n_samples)
    rng = as_generator(seed)

    def categorical(probabilities: list[float]) -> np.ndarray:
        return np.searchsorted(np.cumsum(probabilities)[:-1], rng.random(n), side="right")

    credit_score = np.clip(np.round(650 + 96 * rng.standard_normal(n)), 350, 850).astype(int)
    geography = categorical([0.50, 0.25, 0.25])
    female = (rng.random(n) < 0.45).astype(int)
    age = np.minimum(18 + np.floor(20 * np.exp(0.45 * rng.standard_normal(n))), 92).astype(int)
    tenure = np.floor(11 * rng.random(n)).astype(int)
    germany = (geography == 1).astype(int)
    zero_balance = rng.random(n) < np.where(germany == 1, 0.02, 0.48)
    amount = np.maximum(np.round(120_000 + 30_000 * rng.standard_normal(n), 2), 3_000.0)
    balance = np.where(zero_balance, 0.0, amount)
    products_if_zero = categorical([0.37, 0.60, 0.025, 0.005]) + 1
    products_if_not = categorical([0.59, 0.38, 0.025, 0.005]) + 1
    products = np.where(zero_balance, products_if_zero, products_if_not)
    has_card = (rng.random(n) < 0.70).astype(int)
    active = (rng.random(n) < 0.51).astype(int)
    salary = np.round(200_000 * rng.random(n), 2)
    logit = _churn_logit(
        credit_score, germany, female, age, (~zero_balance).astype(int), products, active
    )
    unobserved = 0.5 * rng.standard_normal(n)
    exited = (rng.random(n) < 1 / (1 + np.exp(-(logit + unobserved)))).astype(int)
    return {
        "credit_score": credit_score,
        "geography": np.array(_GEOGRAPHIES)[geography],
        "gender": np.where(female == 1, "Female", "Male"),
        "age": age,
        "tenure": tenure,
        "balance": balance,
        "num_products": products,
        "has_credit_card": has_card,
        "is_active_member": active,
        "estimated_salary": salary,
        "exited": exited,
    }


def _format_cell(value: object) -> str:
    if isinstance(value, np.floating):
        return f"{value:.2f}"
    return str(value)


def write_churn_csv(path: str | Path, table: dict[str, np.ndarray] | None = None) -> None:
    """Write the churn table as a gzip-compressed CSV (byte-for-byte reproducible)."""
    table = make_churn_table() if table is None else table
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CHURN_COLUMNS)
    writer.writerows(zip(*([_format_cell(v) for v in table[name]] for name in CHURN_COLUMNS)))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.getvalue().encode("ascii"))


def _shipped(name: str) -> str:
    """Where a shipped dataset file lives in the source tree, for messages."""
    return f"nn/{DATASET_FILES}/{name}"


def _read_data_text(name: str) -> str:
    """Decompress a shipped dataset file, with a clear error if it is missing or corrupt."""
    resource = resources.files("nn") / DATASET_FILES / name
    try:
        with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
            return text.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the dataset file {_shipped(name)} is missing from the installed package"
        ) from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ValueError(f"the dataset file {_shipped(name)} is corrupt: {error}") from None


def load_churn_table() -> dict[str, np.ndarray]:
    """The shipped bank-churn CSV as columns (strings for geography and gender)."""
    rows = list(csv.reader(io.StringIO(_read_data_text(CHURN_FILE))))
    if not rows or rows[0] != CHURN_COLUMNS:
        raise ValueError(f"{_shipped(CHURN_FILE)} is corrupt: unexpected header {rows[:1]}")
    if any(len(row) != len(CHURN_COLUMNS) for row in rows[1:]):
        raise ValueError(f"{_shipped(CHURN_FILE)} is corrupt: a row has the wrong number of cells")
    columns = dict(zip(CHURN_COLUMNS, zip(*rows[1:])))
    table: dict[str, np.ndarray] = {}
    for name, cells in columns.items():
        if name in ("geography", "gender"):
            table[name] = np.array(cells)
        elif name in ("balance", "estimated_salary"):
            table[name] = np.array(cells, dtype=float)
        else:
            table[name] = np.array(cells, dtype=int)
    return table


def load_churn() -> tuple[np.ndarray, np.ndarray]:
    """Bank customers and whether they left (1) or stayed (0): 5000 rows, about 20% leave.

    X has the 12 numeric columns named in ``CHURN_FEATURES`` in their natural units
    (geography and gender one-hot encoded), so standardise before training. The data are
    synthetic, drawn from the documented model in ``make_churn_table``; no real customers.
    """
    table = load_churn_table()
    numeric = CHURN_FEATURES[:8]
    one_hot = [table["geography"] == place for place in _GEOGRAPHIES]
    X = np.column_stack(
        [table[name] for name in numeric] + one_hot + [table["gender"] == "Male"]
    ).astype(float)
    return X, table["exited"].astype(int)


# --------------------------------------------------------------------------- digits

DIGITS_FILE = "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI optical handwritten digits (8x8 images), 1797 samples, 10 classes.

    X is (1797, 64): each row is an 8x8 image read row by row, pixel values 0..16
    (``X[i].reshape(8, 8)`` to view it). y is 0..9. Source: E. Alpaydin and C. Kaynak,
    "Optical Recognition of Handwritten Digits", UCI Machine Learning Repository (1998),
    https://doi.org/10.24432/C50P49, CC BY 4.0. See nn/dataset_files/README.md.
    """
    try:
        data = np.loadtxt(io.StringIO(_read_data_text(DIGITS_FILE)), delimiter=",")
    except ValueError as error:
        raise ValueError(f"{_shipped(DIGITS_FILE)} is corrupt: {error}") from None
    if data.ndim != 2 or data.shape[1] != 65:
        raise ValueError(
            f"{_shipped(DIGITS_FILE)} is corrupt: expected 65 columns, got {data.shape}"
        )
    return data[:, :64], data[:, 64].astype(int)
