"""Max / average / adaptive pooling (channels last) against NumPy references."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import brainstate_core as bc
import brainstate_nn as nn

RNG = np.random.default_rng(0)


def np_pool(x, kernel, stride, reduce):
    """VALID pooling of the axes before the last one of x (N, *S, C)."""
    n = len(kernel)
    win = sliding_window_view(x, kernel, axis=tuple(range(1, n + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]
    return reduce(win, axis=tuple(range(-n, 0)))


@pytest.mark.parametrize("cls, reduce, shape, kernel, stride", [
    (nn.MaxPool1d, np.max, (2, 9, 3), (3,), (2,)),
    (nn.AvgPool1d, np.mean, (2, 9, 3), (2,), (2,)),
    (nn.MaxPool2d, np.max, (2, 6, 7, 3), (2, 3), (2, 3)),
    (nn.AvgPool2d, np.mean, (2, 6, 7, 3), (3, 3), (1, 2)),
    (nn.MaxPool3d, np.max, (1, 4, 4, 5, 2), (2, 2, 2), (2, 2, 2)),
    (nn.AvgPool3d, np.mean, (1, 4, 4, 5, 2), (2, 1, 3), (1, 1, 2)),
])
def test_valid_pooling_matches_numpy(cls, reduce, shape, kernel, stride):
    x = RNG.normal(size=shape).astype(np.float32)
    pool = cls(kernel, stride=stride)
    np.testing.assert_allclose(pool(x), np_pool(x, kernel, stride, reduce), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pool(x[0]), np_pool(x, kernel, stride, reduce)[0], rtol=1e-5, atol=1e-6)


def test_stride_defaults_to_kernel_and_same_padding():
    x = jnp.arange(10.0).reshape(1, 5, 2)
    assert nn.MaxPool1d(2)(x).shape == (1, 2, 2)
    y = nn.MaxPool1d(2, padding="SAME")(x)
    assert y.shape == (1, 3, 2) and y[0, -1].tolist() == [8.0, 9.0]


def test_average_padding_counts():
    x = jnp.ones((1, 4, 1))
    inc = nn.AvgPool1d(3, stride=1, padding=1)(x)[0, :, 0]
    exc = nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False)(x)[0, :, 0]
    np.testing.assert_allclose(inc, [2 / 3, 1, 1, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(exc, [1, 1, 1, 1], rtol=1e-6)


def test_channel_axis_none_pools_the_last_axes():
    x = RNG.normal(size=(3, 6, 6)).astype(np.float32)
    y = nn.MaxPool2d(2, channel_axis=None)(x)
    np.testing.assert_allclose(y, x.reshape(3, 3, 2, 3, 2).max(axis=(2, 4)))


def np_adaptive(x, axis, out, reduce):
    n = x.shape[axis]
    parts = [reduce(np.take(x, range((i * n) // out, math.ceil((i + 1) * n / out)), axis=axis), axis=axis, keepdims=True)
             for i in range(out)]
    return np.concatenate(parts, axis=axis)


@pytest.mark.parametrize("cls, reduce, shape, target", [
    (nn.AdaptiveAvgPool1d, np.mean, (2, 10, 3), (4,)),
    (nn.AdaptiveMaxPool1d, np.max, (2, 7, 3), (3,)),
    (nn.AdaptiveAvgPool2d, np.mean, (2, 7, 5, 3), (3, 2)),
    (nn.AdaptiveMaxPool3d, np.max, (1, 5, 4, 3, 2), (2, 3, 1)),
])
def test_adaptive_pooling_matches_numpy(cls, reduce, shape, target):
    x = RNG.normal(size=shape).astype(np.float32)
    expected = x
    for i, out in enumerate(target):
        expected = np_adaptive(expected, 1 + i, out, reduce)
    y = cls(target)(x)
    assert y.shape == (shape[0], *target, shape[-1])
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_adaptive_global_average_is_the_mean():
    x = RNG.normal(size=(2, 5, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x)[:, 0, 0], x.mean(axis=(1, 2)), rtol=1e-5)


def test_errors_and_repr():
    with pytest.raises(bc.InputError, match=r"MaxPool2d pools 2 spatial axes plus a channel axis \(-1\), got an input of shape \(4, 3\)"):
        nn.MaxPool2d(2)(jnp.ones((4, 3)))
    with pytest.raises(bc.ConfigError, match=r"AvgPool2d kernel_size must be an int or a sequence of 2 ints"):
        nn.AvgPool2d((2, 2, 2))
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding='VALID', channel_axis=-1)"


@pytest.mark.parametrize("layer", [nn.MaxPool2d(2), nn.AvgPool2d(2, padding="SAME"), nn.AdaptiveMaxPool2d(3),
                                   nn.AdaptiveAvgPool2d(2)])
def test_gradients_through_pooling_under_jit(layer):
    import brainstate_transform as T

    x = jnp.asarray(RNG.normal(size=(2, 6, 6, 3)), jnp.float32)
    lin = nn.Linear(3, 3)
    g = T.jit(T.grad(lambda: jnp.sum(layer(lin(x)) ** 2), grad_states=lin.weight))()
    assert np.isfinite(np.asarray(g["weight"])).all() and np.abs(np.asarray(g["weight"])).sum() > 0
