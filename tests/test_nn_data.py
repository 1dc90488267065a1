"""Data utilities and built-in datasets (nn.data, nn.datasets)."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn import data, datasets
from nn.data import (
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

# --------------------------------------------------------------------------- check_dataset


def test_check_dataset_converts_lists_and_keeps_integer_labels():
    X, y = check_dataset([[1, 2], [3, 4], [5, 6]], [0, 1, 1])
    assert X.dtype == float and X.shape == (3, 2)
    assert y.dtype.kind == "i" and y.tolist() == [0, 1, 1]
    X1, _ = check_dataset([0, 1, 2, 3, 4])
    assert X1.shape == (5, 1)
    Xb, yb = check_dataset(np.ones((2, 1), dtype=bool), [True, False])
    assert Xb.dtype == float and yb.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "error", "message"),
    [
        ([], None, {}, ValueError, "empty"),
        (np.zeros((0, 3)), None, {}, ValueError, "empty"),
        ([[1.0, 2.0], [3.0, float("nan")]], None, {}, ValueError, "NaN at row 1, column 1"),
        ([[1.0, float("inf")], [3.0, 4.0]], None, {}, ValueError, "inf at row 0, column 1"),
        ([[1, 2], [3, 4, 5]], None, {}, ValueError, "ragged: row 1 has 3 values but row 0 has 2"),
        ([[1, 2], 3], None, {}, ValueError, "ragged: row 1 has a single value"),
        ([["a", "b"]], None, {}, TypeError, "numeric; got strings: 'a' (type str) at row 0"),
        ([[1, None]], None, {}, TypeError, "None (type NoneType) at row 0, column 1"),
        ([[1, 2], [3, "4.5"]], None, {}, TypeError, "'4.5' (type str) at row 1, column 1"),
        (np.array([["1", "x"]]), None, {}, TypeError, "'1' (type str) at row 0, column 0"),
        ("abc", None, {}, TypeError, "string"),
        (None, None, {}, TypeError, "None"),
        ([[1j, 2]], None, {}, TypeError, "complex"),
        ([[1, 2, 3]], None, {"n_features": 2}, ValueError, "3 features, but 2 are expected"),
        ([1, 2, 3], None, {"n_features": 3}, ValueError, "reshape(1, -1)"),
        (np.zeros((2, 8, 8)), None, {}, ValueError, "flatten images"),
        (3.0, None, {}, ValueError, "scalar"),
        ([[1, 2], [3, 4]], [0, 1, 1], {}, ValueError, "X has 2 samples, y has 3"),
        ([[1, 2], [3, 4]], [0.5, float("nan")], {}, ValueError, "y contains NaN at row 1"),
        ([[1, 2], [3, 4]], ["a", "b"], {}, TypeError, "y must be numeric"),
        ([[1, 2], [3, 4]], [0, {}], {}, TypeError, "non-numbers: {} (type dict) at row 1"),
    ],
)
def test_check_dataset_errors_name_the_problem(X, y, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_dataset(X, y, **kwargs)


def test_check_dataset_allow_nan():
    X, _ = check_dataset([[1.0, float("nan")]], allow_nan=True)
    assert np.isnan(X[0, 1])


def test_check_labels():
    assert check_labels([0.0, 2.0, 1.0], n_classes=3).tolist() == [0, 2, 1]
    assert check_labels(np.array([True, False])).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"labels\[1\] = 0.5"):
        check_labels([1, 0.5])
    with pytest.raises(ValueError, match=r"labels\[2\] = -1 is negative"):
        check_labels([0, 1, -1])
    with pytest.raises(ValueError, match=r"0..2 for 3 classes; labels\[1\] = 3"):
        check_labels([0, 3], n_classes=3)
    with pytest.raises(TypeError, match="map each class name"):
        check_labels(["cat", "dog"])
    with pytest.raises(ValueError, match="1-D"):
        check_labels([[0, 1]])


# --------------------------------------------------------------------------- splitting


def test_train_test_split_sizes_and_partition():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seed=0)
    assert (len(X_tr), len(X_te)) == (7, 3)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(10))
    # rows stay paired with their labels
    assert np.array_equal(X_tr[:, 0], 2 * y_tr) and np.array_equal(X_te[:, 0], 2 * y_te)
    # scikit-learn rounds the test part up: 0.3 * 11 = 3.3 -> 4
    assert len(train_test_split(np.zeros((11, 1)), np.zeros(11))[1]) == 4
    assert len(train_test_split(X, y, test_size=2)[1]) == 2


def test_train_test_split_is_seeded():
    X = np.random.default_rng(1).normal(size=(50, 3))
    y = np.arange(50)
    a = train_test_split(X, y, seed=7)
    b = train_test_split(X, y, seed=7)
    c = train_test_split(X, y, seed=8)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[3], c[3])
    _, _, _, y_te = train_test_split(X, y, shuffle=False)
    assert y_te.tolist() == list(range(35, 50))


def test_train_test_split_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [600, 300, 100])
    X = np.arange(1000.0)
    _, _, y_tr, y_te = train_test_split(X, y, seed=3, stratify=True)
    assert np.bincount(y_te).tolist() == [180, 90, 30]
    assert np.bincount(y_tr).tolist() == [420, 210, 70]
    # uneven shares still add up exactly to the requested test size
    y2 = np.repeat([0, 1], [7, 6])
    _, _, y_tr2, y_te2 = train_test_split(np.zeros(13), y2, seed=0, stratify=True)
    assert len(y_te2) == 4 and sorted(np.bincount(y_te2).tolist()) == [2, 2]


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        train_test_split([[1], [2], [3]], [0, 1, 0], test_size=1.5)
    with pytest.raises(ValueError, match="both need at least one"):
        train_test_split([[1], [2]], [0, 1], test_size=0.9)
    with pytest.raises(ValueError, match="only 1 sample"):
        train_test_split(np.zeros(5), [0, 0, 0, 1, 2], stratify=True)
    with pytest.raises(ValueError, match="X has 3 samples, y has 2"):
        train_test_split([[1], [2], [3]], [0, 1])


@given(n=st.integers(2, 60), k=st.integers(2, 10), shuffle=st.booleans())
def test_kfold_test_folds_cover_every_index_exactly_once(n, k, shuffle):
    if k > n:
        with pytest.raises(ValueError, match=f"{k} folds from only {n} samples"):
            list(KFold(k).split(np.zeros(n)))
        return
    folds = list(KFold(k, shuffle=shuffle, seed=0 if shuffle else None).split(np.zeros((n, 1))))
    assert len(folds) == k
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(n))
    sizes = sorted(len(test) for _, test in folds)
    assert sizes[-1] - sizes[0] <= 1
    for train, test in folds:
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))


def test_kfold_matches_sklearn_layout_without_shuffle():
    folds = [test.tolist() for _, test in KFold(3).split(np.zeros(7))]
    assert folds == [[0, 1, 2], [3, 4], [5, 6]]
    with pytest.raises(ValueError, match="shuffle=False"):
        KFold(3, seed=1)
    with pytest.raises(ValueError, match=">= 2"):
        KFold(1)


def test_stratified_kfold_balances_classes():
    y = np.repeat([0, 1], [80, 20])
    folds = list(StratifiedKFold(5, shuffle=True, seed=0).split(np.zeros(100), y))
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(100))
    for _, test in folds:
        assert np.bincount(y[test]).tolist() == [16, 4]
    with pytest.warns(UserWarning, match="smallest class has only 2"):
        list(StratifiedKFold(3).split(np.zeros(10), [0] * 8 + [1] * 2))


def test_batches_full_stochastic_and_mini():
    X = np.arange(10.0).reshape(-1, 1)
    y = np.arange(10)
    full = list(batches(X, y, shuffle=False))
    assert len(full) == 1 and np.array_equal(full[0][1], y)
    sgd = list(batches(X, y, batch_size=1, seed=0))
    assert len(sgd) == 10 and all(len(b[1]) == 1 for b in sgd)
    assert sorted(int(b[1][0]) for b in sgd) == list(range(10))
    mini = list(batches(X, y, batch_size=4, seed=0))
    assert [len(yb) for _, yb in mini] == [4, 4, 2]
    for xb, yb in mini:
        assert np.array_equal(xb[:, 0], yb)
    assert [yb.tolist() for _, yb in batches(X, y, 4, seed=0)] == [yb.tolist() for _, yb in mini]


def test_batches_with_a_generator_reshuffle_every_epoch():
    rng = np.random.default_rng(0)
    epochs = [
        np.concatenate([yb for _, yb in batches(np.zeros((30, 1)), np.arange(30), 8, seed=rng)])
        for _ in range(2)
    ]
    assert not np.array_equal(epochs[0], epochs[1])
    assert sorted(epochs[0].tolist()) == sorted(epochs[1].tolist()) == list(range(30))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        list(batches([[1.0]], [0], batch_size=0))
    with pytest.raises(TypeError, match="seed must be"):
        list(batches([[1.0]], [0], seed="x"))


# --------------------------------------------------------------------------- standardizer


def test_standardizer_mean_zero_std_one_and_round_trip():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -3.0, 100.0], scale=[2.0, 0.1, 30.0], size=(200, 3))
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    assert np.allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(Z.std(axis=0), 1.0)
    assert np.allclose(scaler.inverse_transform(Z), X)
    assert np.allclose(scaler.mean_, X.mean(axis=0)) and np.allclose(scaler.scale_, X.std(axis=0))
    restored = Standardizer().load_state_dict(scaler.state_dict())
    assert np.array_equal(restored.transform(X), Z)


def test_standardizer_constant_feature_and_errors():
    X = np.array([[1.0, 7.0], [3.0, 7.0]])
    scaler = Standardizer().fit(X)
    assert scaler.transform(X).tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert np.array_equal(scaler.inverse_transform(scaler.transform(X)), X)
    with pytest.raises(RuntimeError, match=r"not fitted yet: call fit\(X\) before transform"):
        Standardizer().transform(X)
    with pytest.raises(ValueError, match="X has 3 features, but this Standardizer was fitted on 2"):
        scaler.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="positive"):
        Standardizer().load_state_dict({"mean": [0.0], "scale": [0.0]})


def test_standardizer_one_feature_1d_in_1d_out():
    scaler = Standardizer().fit([1.0, 2.0, 3.0])
    out = scaler.transform([1.0, 2.0, 3.0])
    assert out.shape == (3,)
    assert np.allclose(out, [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    assert np.allclose(scaler.inverse_transform(out), [1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- augmentation


def test_add_noise_scale_and_seed():
    X = np.zeros((2000, 3))
    noisy = add_noise(X, scale=0.5, seed=0)
    assert noisy.shape == X.shape and abs(noisy.std() - 0.5) < 0.02
    assert np.array_equal(noisy, add_noise(X, scale=0.5, seed=0))
    assert (X == 0.0).all()  # the input is not modified
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        add_noise(X, scale=-1)


def test_shift_images_moves_pixels_with_zero_fill():
    image = np.zeros((8, 8))
    image[3, 4] = 5.0
    X = np.tile(image.ravel(), (200, 1))
    shifted = shift_images(X, (8, 8), max_shift=1, seed=0)
    assert shifted.shape == (200, 64)
    rows, positions = np.nonzero(shifted == 5.0)
    assert len(rows) == 200  # the pixel survives (it is not at an edge)
    ys, xs = np.divmod(positions, 8)
    assert set(ys.tolist()) == {2, 3, 4} and set(xs.tolist()) == {3, 4, 5}
    assert np.allclose(shifted.sum(axis=1), 5.0)
    # an edge pixel is lost when shifted outwards; zeros come in
    edge = np.zeros((1, 2, 2))
    edge[0, 0, 0] = 1.0
    outs = {tuple(shift_images(edge, (2, 2), 1, seed=s).ravel()) for s in range(40)}
    assert (0.0, 0.0, 0.0, 0.0) in outs and (0.0, 0.0, 0.0, 1.0) in outs
    with pytest.raises(ValueError, match="does not hold 8x8 images"):
        shift_images(np.zeros((2, 63)))


def test_augment_adds_copies_with_labels():
    X, y = datasets.load_digits()
    X_aug, y_aug = augment(
        X[:10], y[:10], copies=2, max_shift=1, noise=0.1, image_shape=(8, 8), seed=0
    )
    assert X_aug.shape == (30, 64) and y_aug.tolist() == y[:10].tolist() * 3
    assert np.array_equal(X_aug[:10], X[:10])
    assert not np.array_equal(X_aug[10:20], X[:10])
    with pytest.raises(ValueError, match="image_shape"):
        augment(X[:2], y[:2], max_shift=1)


# --------------------------------------------------------------------------- datasets


def test_load_table_is_the_articles_table():
    X, y = datasets.load_table()
    assert X.shape == (5, 1) and y.shape == (5,)
    assert X[:, 0].tolist() == [0, 1, 2, 3, 4] and y.tolist() == [0, 4, 8, 12, 16]


GENERATORS = [
    (datasets.make_moons, 2),
    (datasets.make_circles, 2),
    (datasets.make_blobs, 3),
    (datasets.make_spiral, 3),
    (datasets.make_xor, 2),
]


@pytest.mark.parametrize(("make", "n_classes"), GENERATORS)
def test_generators_shapes_labels_and_determinism(make, n_classes):
    X, y = make(n_samples=101, seed=5)
    assert X.shape == (101, 2) and X.dtype == float
    assert y.shape == (101,) and y.dtype.kind == "i"
    assert set(y.tolist()) == set(range(n_classes))
    assert np.bincount(y).max() - np.bincount(y).min() <= 1  # balanced
    X2, y2 = make(n_samples=101, seed=5)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make(n_samples=101, seed=6)[0])
    with pytest.raises(ValueError, match=r"n_samples must be (a positive int|an int >= 2), got 0"):
        make(n_samples=0)


def test_moons_geometry():
    X, y = datasets.make_moons(n_samples=1000, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 0.5 + 1e-12).all()
    # class means of the two arcs: (0, 2/pi) and (1, 0.5 - 2/pi)
    assert np.allclose(upper.mean(axis=0), [0.0, 2 / np.pi], atol=3e-3)
    assert np.allclose(lower.mean(axis=0), [1.0, 0.5 - 2 / np.pi], atol=3e-3)


def test_moons_noise_is_gaussian_with_the_given_scale():
    clean, y = datasets.make_moons(n_samples=4000, noise=0.0, seed=3)
    noisy, y2 = datasets.make_moons(n_samples=4000, noise=0.1, seed=3)
    assert np.array_equal(y, y2)  # same shuffle, then noise added
    assert abs((noisy - clean).std() - 0.1) < 0.005


def test_circles_and_blobs_geometry():
    X, y = datasets.make_circles(n_samples=400, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    Xb, yb = datasets.make_blobs(n_samples=3000, centers=centres, cluster_std=[0.5, 2.0], seed=0)
    assert Xb.shape == (3000, 3)
    assert np.allclose(Xb[yb == 0].mean(axis=0), 0.0, atol=0.1)
    assert np.allclose(Xb[yb == 1].mean(axis=0), 10.0, atol=0.25)
    assert abs(Xb[yb == 0].std() - 0.5) < 0.03 and abs(Xb[yb == 1].std() - 2.0) < 0.1
    Xr, _ = datasets.make_blobs(n_samples=30, centers=4, n_features=5, seed=0)
    assert Xr.shape == (30, 5)


def test_spiral_and_xor_geometry():
    X, y = datasets.make_spiral(n_samples=300, n_classes=3, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.max() <= 1.0 + 1e-12
    for k in range(3):
        r = np.sort(radius[y == k])
        assert np.allclose(r, np.linspace(0, 1, 100))
    Xt, yt = datasets.make_xor(4, noise=0.0)
    assert Xt.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and yt.tolist() == [0, 1, 1, 0]
    Xn, yn = datasets.make_xor(400, noise=0.1, seed=0)
    corner_label = np.logical_xor(Xn[:, 0] > 0.5, Xn[:, 1] > 0.5).astype(int)
    assert (corner_label == yn).mean() > 0.99


def test_digits_real_file_shape_and_label_counts():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first image is a zero: a ring of ink with an empty middle
    first = X[0].reshape(8, 8)
    assert y[0] == 0 and first[3:5, 3:5].sum() == 0 and first[1:7, 1:7].sum() > 200
    raw = (resources.files("nn") / "dataset_files" / "digits.csv.gz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == (
        "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    )


def test_churn_dataset():
    X, y = datasets.load_churn()
    assert X.shape == (5000, len(datasets.CHURN_FEATURES)) == (5000, 12)
    assert set(np.unique(y).tolist()) == {0, 1}
    assert abs(y.mean() - 0.20) < 0.01
    col = {name: X[:, i] for i, name in enumerate(datasets.CHURN_FEATURES)}
    assert col["credit_score"].min() >= 350 and col["credit_score"].max() <= 850
    assert col["age"].min() >= 18 and col["age"].max() <= 92
    one_hot = col["geography_france"] + col["geography_germany"] + col["geography_spain"]
    assert np.array_equal(one_hot, np.ones(5000))
    # the documented effects are in the data
    assert y[col["age"] >= 45].mean() > 2 * y[col["age"] < 35].mean()
    assert y[col["geography_germany"] == 1].mean() > y[col["geography_france"] == 1].mean() + 0.05
    assert y[col["is_active_member"] == 0].mean() > y[col["is_active_member"] == 1].mean() + 0.05
    assert y[col["num_products"] == 2].mean() < 0.15 < 0.5 < y[col["num_products"] >= 3].mean()


def test_churn_file_matches_its_generator(tmp_path):
    path = tmp_path / "churn.csv.gz"
    datasets.write_churn_csv(path)
    shipped = (resources.files("nn") / "dataset_files" / "churn.csv.gz").read_bytes()
    assert gzip.decompress(path.read_bytes()) == gzip.decompress(shipped)
    table = datasets.load_churn_table()
    assert list(table) == datasets.CHURN_COLUMNS
    assert set(table["geography"].tolist()) == {"France", "Germany", "Spain"}


def test_churn_is_learnable_but_not_linearly_trivial():
    """A tiny tanh MLP (numpy, full-batch) beats both the majority class and a linear model."""
    X, y = datasets.load_churn()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seed=0, stratify=True)
    scaler = Standardizer().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(0, 0.3, (12, 8)), np.zeros(8)
    w2, b2 = rng.normal(0, 0.35, 8), 0.0
    for _ in range(1500):
        h = np.tanh(X_tr @ W1 + b1)
        g = (1 / (1 + np.exp(-(h @ w2 + b2))) - y_tr) / len(y_tr)
        gh = np.outer(g, w2) * (1 - h**2)
        W1 -= 0.5 * X_tr.T @ gh
        b1 -= 0.5 * gh.sum(axis=0)
        w2 -= 0.5 * h.T @ g
        b2 -= 0.5 * g.sum()
    mlp = ((np.tanh(X_te @ W1 + b1) @ w2 + b2 > 0) == y_te).mean()
    w, b = np.zeros(12), 0.0
    for _ in range(1500):  # logistic regression, the same way
        g = (1 / (1 + np.exp(-(X_tr @ w + b))) - y_tr) / len(y_tr)
        w -= 0.5 * X_tr.T @ g
        b -= 0.5 * g.sum()
    linear = ((X_te @ w + b > 0) == y_te).mean()
    majority = 1 - y_te.mean()
    assert 0.82 < mlp < 0.88 and mlp > majority + 0.03
    assert linear < majority + 0.01


def test_corrupt_data_file_gives_a_clear_error(monkeypatch, tmp_path):
    broken = tmp_path / "dataset_files"
    broken.mkdir()
    (broken / "digits.csv.gz").write_bytes(b"not gzip at all")

    class FakeRoot:
        def __truediv__(self, name):
            return broken

    monkeypatch.setattr(datasets.resources, "files", lambda package: FakeRoot())
    with pytest.raises(ValueError, match=r"nn/dataset_files/digits\.csv\.gz is corrupt"):
        datasets.load_digits()
    with pytest.raises(FileNotFoundError, match=r"churn\.csv\.gz is missing"):
        datasets.load_churn()


def test_module_exports():
    for name in data.__all__:
        assert hasattr(data, name)
    for name in datasets.__all__:
        assert hasattr(datasets, name)
