"""Upstream's keywords of the normalisation layers (feature and reduction axes, masks, fast variance,
dtype, State classes), each against a NumPy reference."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

RNG = np.random.default_rng(1)
X = (RNG.normal(size=(4, 6, 8)) * 3 + 1).astype(np.float32)


def _normalise(x, axes, eps, where=True):
    mean = np.mean(x, axis=axes, keepdims=True, where=where)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True, where=where)
    return (x - mean) / np.sqrt(var + eps)


def _randomise(layer):
    layer.weight.value = {k: jnp.asarray(RNG.normal(size=v.shape).astype(np.float32))
                          for k, v in layer.weight.value.items()}
    return {k: np.asarray(v) for k, v in layer.weight.value.items()}


@pytest.mark.parametrize("fast", [True, False])
def test_layer_norm_over_several_feature_axes(fast):
    ln = nn.LayerNorm((6, 8), reduction_axes=(-2, -1), feature_axes=(-2, -1), use_fast_variance=fast)
    p = _randomise(ln)
    assert p["scale"].shape == (6, 8) and ln.feature_axes == (-2, -1)
    expected = _normalise(X, (-2, -1), 1e-6) * p["scale"] + p["bias"]
    np.testing.assert_allclose(ln(X), expected, rtol=1e-4, atol=1e-4)


def test_layer_norm_feature_axis_other_than_the_last():
    ln = nn.LayerNorm((6, 8), reduction_axes=-1, feature_axes=0)
    p = _randomise(ln)
    assert p["scale"].shape == (6, 1)
    np.testing.assert_allclose(ln(X), _normalise(X, -1, 1e-6) * p["scale"] + p["bias"], rtol=1e-4, atol=1e-4)


def test_two_pass_variance_is_exact_where_the_fast_one_cancels():
    x = (1e4 + RNG.normal(size=(3, 8))).astype(np.float32)
    exact = _normalise(x.astype(np.float64), -1, 1e-6)
    slow = nn.LayerNorm(8, use_fast_variance=False, use_scale=False, use_bias=False)
    fast = nn.LayerNorm(8, use_scale=False, use_bias=False)
    np.testing.assert_allclose(slow(x), exact, atol=3e-3)  # float32 rounding of x - mean only
    assert np.abs(np.asarray(fast(x)) - exact).max() > 0.05  # E[x^2] - E[x]^2 loses the variance


@pytest.mark.parametrize("make, reference", [
    (lambda: nn.LayerNorm(8, use_scale=False, use_bias=False), lambda x, m: _normalise(x, -1, 1e-6, m)),
    (lambda: nn.RMSNorm(8, use_scale=False), lambda x, m: x / np.sqrt(np.mean(x ** 2, -1, keepdims=True, where=m) + 1e-6)),
])
def test_mask_limits_the_statistics_to_the_masked_entries(make, reference):
    mask = RNG.random(X.shape) > 0.3
    np.testing.assert_allclose(make()(X, mask=mask), reference(X, mask), rtol=1e-4, atol=1e-4)


def test_rms_norm_over_two_axes_and_dtype():
    rms = nn.RMSNorm((6, 8), reduction_axes=(-2, -1), feature_axes=(-2, -1), dtype=jnp.bfloat16)
    p = _randomise(rms)
    expected = X / np.sqrt((X ** 2).mean((-2, -1), keepdims=True) + 1e-6) * p["scale"]
    y = rms(X)
    assert y.dtype == jnp.bfloat16 and p["scale"].shape == (6, 8)
    np.testing.assert_allclose(np.asarray(y, np.float32), expected, rtol=2e-2, atol=2e-2)


def test_group_norm_channels_first_is_channels_last_on_moved_axes():
    last = nn.GroupNorm((6, 8), num_groups=4)
    first = nn.GroupNorm((8, 6), feature_axis=0, num_groups=4)
    assert first.weight.value["scale"].shape == (8, 1)
    y = np.asarray(last(X))
    np.testing.assert_allclose(first(np.moveaxis(X, -1, 1)), np.moveaxis(y, -1, 1), rtol=1e-4, atol=1e-4)


def test_group_norm_reduction_axes_and_mask():
    gn = nn.GroupNorm((6, 8), num_groups=2, reduction_axes=(0, 1), use_scale=False, use_bias=False)
    g = X.reshape(4, 6, 2, 4)
    np.testing.assert_allclose(gn(X), _normalise(g, (0, 1, 3), 1e-6).reshape(X.shape), rtol=1e-4, atol=1e-4)
    mask = RNG.random(X.shape) > 0.5
    gm = nn.GroupNorm((6, 8), num_groups=2, use_scale=False, use_bias=False)
    expected = _normalise(g, (1, 3), 1e-6, mask.reshape(g.shape)).reshape(X.shape)
    np.testing.assert_allclose(gm(X, mask=mask), expected, rtol=1e-4, atol=1e-4)


class _Stats(bc.BatchState):
    pass


class _Params(bc.ParamState):
    pass


def test_batch_norm_channels_first_state_classes_and_initialisers():
    x = (RNG.normal(size=(5, 3, 4, 4)) * 2 + 1).astype(np.float32)
    bn = nn.BatchNorm2d((3, 4, 4), feature_axis=0, momentum=0.5, mean_type=_Stats, param_type=_Params,
                        bias_initializer=nn.init.Constant(2.0), scale_initializer=nn.init.Constant(3.0))
    assert type(bn.running_mean) is _Stats and type(bn.weight) is _Params
    assert bn.running_mean.value.shape == (3, 1, 1) and bn.weight.value["bias"].shape == (3, 1, 1)
    with bc.environ.context(fit=True):
        y = bn(x)
    np.testing.assert_allclose(y, _normalise(x, (0, 2, 3), 1e-5) * 3.0 + 2.0, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.value, 0.5 * x.mean((0, 2, 3), keepdims=True)[0], rtol=1e-5)
    with bc.environ.context(fit=False):
        y = bn(x)
    mean, var = 0.5 * x.mean((0, 2, 3), keepdims=True), 0.5 + 0.5 * x.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * 3.0 + 2.0, rtol=1e-4, atol=1e-4)


def test_batch_norm_mask_leaves_out_padded_samples():
    x = RNG.normal(size=(6, 3)).astype(np.float32)
    keep = np.array([1, 1, 1, 1, 0, 0], bool)[:, None]
    bn = nn.BatchNorm0d(3, affine=False, track_running_stats=False)
    with bc.environ.context(fit=True):
        y = bn(x, mask=keep)
    np.testing.assert_allclose(y[:4], _normalise(x[:4], 0, 1e-5), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.LayerNorm((6, 8), feature_axes=2), r"LayerNorm feature axes \(2,\) are not axes of one example"),
    (lambda: nn.GroupNorm(8, feature_axis=(0,), num_groups=2), r"GroupNorm has one channel axis"),
    (lambda: nn.GroupNorm(8, num_groups=None, group_size=0), r"group_size=0 does not divide the 8 channels"),
])
def test_bad_options_are_config_errors(make, match):
    with pytest.raises(bc.ConfigError, match=match):
        make()


@pytest.mark.parametrize("layer, x, match", [
    (nn.LayerNorm((6, 8), feature_axes=(-2, -1)), np.ones((4, 5, 8)), r"feature axes \(-2, -1\) of sizes \(6, 8\)"),
    (nn.LayerNorm(8, reduction_axes=3), np.ones((2, 8)), r"reduction_axes \(3,\) are not axes of an input"),
])
def test_bad_inputs_are_input_errors(layer, x, match):
    with pytest.raises(bc.InputError, match=match):
        layer(x)
