"""squareplus, soft_sign, sparse_plus / sparse_sigmoid, rrelu, logsumexp, standardize, one_hot,
and the RReLU / Softmax2d modules, against NumPy / SciPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R

X = np.linspace(-3, 3, 25).astype(np.float32)
RNG = np.random.default_rng(0)

ELEMENTWISE = {
    "squareplus": lambda x: (x + np.sqrt(x ** 2 + 4)) / 2,
    "soft_sign": lambda x: x / (1 + np.abs(x)),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_matches_numpy_and_has_finite_gradients(name):
    fn = getattr(nn, name)
    np.testing.assert_allclose(fn(jnp.asarray(X)), ELEMENTWISE[name](X.astype(np.float64)), rtol=1e-6, atol=1e-7)
    g = jax.jit(jax.grad(lambda v: jnp.sum(fn(v))))(jnp.asarray(X))
    assert np.isfinite(np.asarray(g)).all()


@pytest.mark.parametrize("b", [0.0, 1.5, 4.0])
def test_squareplus_curvature(b):
    np.testing.assert_allclose(nn.squareplus(jnp.asarray(X), b), (X + np.sqrt(X ** 2 + b)) / 2, rtol=1e-6, atol=1e-7)


def test_sparse_sigmoid_is_the_derivative_of_sparse_plus():
    grid = jnp.asarray(np.linspace(-2.5, 2.5, 41), jnp.float32)  # avoids the kinks at +-1
    np.testing.assert_allclose(jax.vmap(jax.grad(nn.sparse_plus))(grid), nn.sparse_sigmoid(grid), rtol=1e-6)


def test_logsumexp_matches_scipy():
    a = RNG.normal(size=(3, 4, 5)).astype(np.float32) * 10
    b = RNG.uniform(0.1, 2.0, size=(3, 4, 5)).astype(np.float32)
    for axis in [None, 0, (1, 2), -1]:
        np.testing.assert_allclose(nn.logsumexp(a, axis=axis), scipy.special.logsumexp(a, axis=axis), rtol=1e-5)
    np.testing.assert_allclose(nn.logsumexp(a, axis=1, b=b, keepdims=True),
                               scipy.special.logsumexp(a, axis=1, b=b, keepdims=True), rtol=1e-5)
    signed = b - 1.0
    value, sign = nn.logsumexp(a, axis=-1, b=signed, return_sign=True)
    ref_value, ref_sign = scipy.special.logsumexp(a, axis=-1, b=signed, return_sign=True)
    np.testing.assert_allclose(value, ref_value, rtol=1e-4)
    np.testing.assert_array_equal(sign, ref_sign)
    where = a > 0
    np.testing.assert_allclose(nn.logsumexp(a, axis=-1, where=where),
                               np.log(np.where(where, np.exp(a.astype(np.float64)), 0).sum(-1)), rtol=1e-5)
    assert float(nn.logsumexp(jnp.array([1000.0, 1000.0]))) == pytest.approx(1000 + np.log(2))


def test_standardize_matches_numpy():
    x = RNG.normal(2.0, 3.0, size=(4, 6, 5)).astype(np.float64)
    for axis in [-1, 0, (1, 2)]:
        ref = (x - x.mean(axis, keepdims=True)) / np.sqrt(x.var(axis, keepdims=True) + 1e-5)
        np.testing.assert_allclose(nn.standardize(jnp.asarray(x, jnp.float32), axis=axis), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nn.standardize(x[0, 0], variance=4.0, mean=1.0, epsilon=0.0), (x[0, 0] - 1.0) / 2.0,
                               rtol=1e-5)
    where = x[0] > 2.0
    sub = np.where(where, x[0], np.nan)
    ref = (x[0] - np.nanmean(sub, -1, keepdims=True)) / np.sqrt(np.nanvar(sub, -1, keepdims=True) + 1e-5)
    got = np.asarray(nn.standardize(jnp.asarray(x[0], jnp.float32), where=where))
    np.testing.assert_allclose(got[where], ref[where], rtol=1e-4, atol=1e-5)


def test_one_hot_matches_numpy():
    ids = np.array([[0, 3, 1], [2, 2, 4]])
    y = nn.one_hot(ids, 4)
    assert y.dtype == jnp.float32 and y.shape == (2, 3, 4)
    ref = np.eye(5)[ids][..., :4]  # id 4 is out of range: all zeros
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(nn.one_hot(ids, 4, axis=0), np.moveaxis(ref, -1, 0))
    np.testing.assert_array_equal(nn.one_hot(jnp.array([-1, 1]), 2, dtype=jnp.int8), [[0, 0], [0, 1]])
    assert nn.one_hot(jnp.array([1]), 2, dtype=jnp.int8).dtype == jnp.int8


@pytest.mark.parametrize("num_classes", [0, -3, 2.5, True, None])
def test_one_hot_bad_num_classes(num_classes):
    with pytest.raises(bc.ConfigError, match=r"one_hot num_classes must be a positive int, got .*Fix: pass the number"):
        nn.one_hot(jnp.array([0]), num_classes)


def test_one_hot_float_ids_raise():
    with pytest.raises(bc.InputError, match=r"one_hot needs integer class ids, got an array of dtype float32\. "
                                            r"Fix: cast the ids"):
        nn.one_hot(jnp.array([1.0, 2.0]), 3)


def test_rrelu_draws_slopes_in_the_range():
    x = -jnp.ones(20_000)
    slopes = -np.asarray(nn.rrelu(x, 0.1, 0.4))
    assert slopes.min() >= 0.1 and slopes.max() < 0.4
    assert abs(slopes.mean() - 0.25) < 0.005 and abs(slopes.std() - 0.3 / np.sqrt(12)) < 0.005  # U(0.1, 0.4)
    assert not np.array_equal(slopes, -np.asarray(nn.rrelu(x, 0.1, 0.4)))  # new slopes each call
    pos = jnp.asarray(np.abs(X))
    np.testing.assert_array_equal(nn.rrelu(pos), pos)
    a = nn.rrelu(jnp.asarray(X), rng=R.RandomState(5))
    np.testing.assert_array_equal(a, nn.rrelu(jnp.asarray(X), rng=R.RandomState(5)))
    np.testing.assert_allclose(nn.rrelu(jnp.asarray(X), 0.2, 0.2), np.where(X >= 0, X, 0.2 * X), rtol=1e-6)
    ints = nn.rrelu(jnp.array([-2, 3]), 0.5, 0.5)
    assert ints.dtype == jnp.float32 and ints.tolist() == [-1.0, 3.0]


def test_rrelu_module_trains_randomly_and_evaluates_with_the_mean_slope():
    layer = nn.RReLU(0.1, 0.3)
    x = -jnp.ones(5000)
    with bc.environ.context(fit=True):
        slopes = -np.asarray(layer(x))
    assert slopes.min() >= 0.1 and slopes.max() < 0.3 and slopes.std() > 0.03
    with bc.environ.context(fit=False):
        np.testing.assert_allclose(layer(jnp.asarray(X)), np.where(X >= 0, X, 0.2 * X), rtol=1e-6)
    with pytest.raises(bc.EnvironKeyError, match=r"'fit'.*whether the model is being trained"):
        layer(x)
    assert repr(nn.RReLU()) == f"RReLU(lower={1 / 8}, upper={1 / 3})"


def test_rrelu_bad_bounds():
    with pytest.raises(bc.ConfigError, match=r"RReLU needs lower <= upper, got lower=0\.5, upper=0\.1\. Fix: swap"):
        nn.RReLU(0.5, 0.1)
    with pytest.raises(bc.ConfigError, match=r"rrelu needs lower <= upper, got lower=0\.3, upper=0\.2"):
        nn.rrelu(jnp.ones(2), 0.3, 0.2)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 4, 5, 3)])
def test_softmax2d_over_channels(shape):
    x = RNG.normal(size=shape).astype(np.float32)
    y = nn.Softmax2d()(x)
    np.testing.assert_allclose(y, np_softmax(x.astype(np.float64), -1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(y).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(nn.Softmax2d(channel_axis=-3)(x), np_softmax(x.astype(np.float64), -3),
                               rtol=1e-5, atol=1e-7)
    assert repr(nn.Softmax2d()) == "Softmax2d(channel_axis=-1)"


@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((1, 2, 4, 5, 3), -1), ((2, 4, 3), 3)])
def test_softmax2d_bad_input(shape, axis):
    with pytest.raises(bc.InputError, match=rf"Softmax2d needs 3-D or 4-D inputs \(\[batch,\] height, width, "
                                            rf"channels\) with the channel axis {axis}, got an input of shape"):
        nn.Softmax2d(channel_axis=axis)(jnp.ones(shape))
