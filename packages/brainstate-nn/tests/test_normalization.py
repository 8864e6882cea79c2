"""LayerNorm, RMSNorm, GroupNorm and BatchNorm against NumPy, in training and evaluation."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(4, 6, 8)) * 3 + 1).astype(np.float32)


def _normalise(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _set_affine(layer, n):
    layer.weight.value = {k: jnp.asarray(RNG.normal(size=n).astype(np.float32)) for k in layer.weight.value}
    return {k: np.asarray(v) for k, v in layer.weight.value.items()}


def test_layer_norm():
    ln = nn.LayerNorm(8)
    p = _set_affine(ln, 8)
    np.testing.assert_allclose(ln(X), _normalise(X, -1, 1e-5) * p["scale"] + p["bias"], rtol=1e-4, atol=1e-4)
    ln2 = nn.LayerNorm((6, 8), reduction_axes=(-2, -1), use_scale=False, use_bias=False)
    assert ln2.weight is None and nn.count_parameters(ln2) == 0
    np.testing.assert_allclose(ln2(X), _normalise(X, (-2, -1), 1e-5), rtol=1e-4, atol=1e-4)


def test_rms_norm():
    rms = nn.RMSNorm(8)
    p = _set_affine(rms, 8)
    expected = X / np.sqrt((X ** 2).mean(-1, keepdims=True) + 1e-6) * p["scale"]
    np.testing.assert_allclose(rms(X), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_group_norm(groups):
    gn = nn.GroupNorm((6, 8), num_groups=groups)
    p = _set_affine(gn, 8)
    g = X.reshape(4, 6, groups, 8 // groups)
    expected = _normalise(g, (1, 3), 1e-5).reshape(X.shape) * p["scale"] + p["bias"]
    np.testing.assert_allclose(gn(X), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gn(X[0]), expected[0], rtol=1e-4, atol=1e-4)  # no batch axis


def test_group_norm_arguments():
    assert nn.GroupNorm(8, num_groups=None, group_size=2).num_groups == 4
    with pytest.raises(bc.ConfigError, match=r"num_groups=3 does not divide the 8 channels"):
        nn.GroupNorm(8, num_groups=3)
    with pytest.raises(bc.ConfigError, match=r"exactly one of num_groups and group_size"):
        nn.GroupNorm(8, num_groups=2, group_size=4)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm0d, (16, 3)), (nn.BatchNorm1d, (4, 5, 3)),
                                        (nn.BatchNorm2d, (2, 4, 4, 3)), (nn.BatchNorm3d, (2, 2, 2, 2, 3))])
def test_batch_norm_training_and_evaluation(cls, shape):
    bn = cls(shape[1:], momentum=0.9)
    assert isinstance(bn.running_mean, bc.BatchState) and isinstance(bn.weight, bc.ParamState)
    x = (RNG.normal(size=shape) * 2 + 3).astype(np.float32)
    axes = tuple(range(len(shape) - 1))
    with bc.environ.context(fit=True):
        y = bn(x)
    np.testing.assert_allclose(y, _normalise(x, axes, 1e-5), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.value, 0.1 * x.mean(axes), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.value, 0.9 + 0.1 * x.var(axes), rtol=1e-5)
    with bc.environ.context(fit=False):
        y = bn(x)
    expected = (x - 0.1 * x.mean(axes)) / np.sqrt(0.9 + 0.1 * x.var(axes) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_batch_norm_under_jit_updates_running_stats_only_when_training():
    bn = nn.BatchNorm1d((5, 3))
    step = T.jit(lambda x: bn(x))
    x = jnp.ones((4, 5, 3))
    with bc.environ.context(fit=True):
        step(x)
    after_train = np.asarray(bn.running_mean.value)
    assert np.allclose(after_train, 0.01)
    with bc.environ.context(fit=False):
        step(x)
    np.testing.assert_array_equal(bn.running_mean.value, after_train)


def test_batch_norm_without_running_stats_and_without_affine():
    bn = nn.BatchNorm0d(3, track_running_stats=False, affine=False)
    assert bn.states() == {}
    x = RNG.normal(size=(10, 3)).astype(np.float32)
    with bc.environ.context(fit=False):
        np.testing.assert_allclose(bn(x), _normalise(x, 0, 1e-5), rtol=1e-3, atol=1e-4)


def test_batch_norm_over_a_vmap_axis():
    bn = nn.BatchNorm0d(3, axis_name="batch")
    x = RNG.normal(size=(8, 3)).astype(np.float32)
    with bc.environ.context(fit=True):
        y = T.vmap(lambda v: bn(v), axis_name="batch")(x)
    np.testing.assert_allclose(y, _normalise(x, 0, 1e-5), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(bn.running_mean.value, 0.01 * x.mean(0), rtol=1e-4)


@pytest.mark.parametrize("layer, x", [
    (nn.LayerNorm(8), X), (nn.RMSNorm(8), X), (nn.GroupNorm((6, 8), num_groups=2), X),
])
def test_gradient_flow(assert_grads_flow, layer, x):
    layer.weight.value = {k: v + 0.5 for k, v in layer.weight.value.items()}
    assert_grads_flow(layer, x * jnp.arange(8.0))


def test_batch_norm_gradient_flow(assert_grads_flow):
    bn = nn.BatchNorm1d((6, 8))
    bn.weight.value = {"scale": jnp.arange(8.0), "bias": jnp.ones(8)}
    assert_grads_flow(bn, X * jnp.arange(1.0, 9.0), fit=True)


def test_errors():
    with pytest.raises(bc.InputError, match=r"LayerNorm normalises 8 features on the last axis.*shape \(2, 3\)"):
        nn.LayerNorm(8)(jnp.ones((2, 3)))
    with pytest.raises(bc.InputError, match=r"BatchNorm2d expects inputs \(batch, \*2 spatial, channels\) of 4 dim"):
        with bc.environ.context(fit=True):
            nn.BatchNorm2d((4, 4, 3))(jnp.ones((4, 4, 3)))
    with pytest.raises(bc.ConfigError, match=r"BatchNorm1d momentum must be in \[0, 1\]"):
        nn.BatchNorm1d(3, momentum=2.0)
