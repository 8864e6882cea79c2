"""LP pooling, max pooling with indices and max unpooling (channels last) against NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)


def np_window_sum(x, kernel, stride):
    """VALID window sums over the axes between the first and the last of x (N, *S, C)."""
    n = len(kernel)
    win = sliding_window_view(x, kernel, axis=tuple(range(1, n + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]
    return win.sum(axis=tuple(range(-n, 0)))


def np_max_with_indices(x, kernel, stride, pads):
    """Max pooling of x (N, *S, C) and each maximum's flat position in S (the first one on ties)."""
    spatial = x.shape[1:-1]
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=-np.inf)
    out = [(s + lo + hi - k) // st + 1 for s, (lo, hi), k, st in zip(spatial, pads, kernel, stride)]
    values = np.zeros((x.shape[0], *out, x.shape[-1]), x.dtype)
    indices = np.zeros(values.shape, np.int64)
    for pos in np.ndindex(*out):
        starts = [p * st for p, st in zip(pos, stride)]
        window = xp[(slice(None),) + tuple(slice(a, a + k) for a, k in zip(starts, kernel))]
        flat = window.reshape(x.shape[0], -1, x.shape[-1])
        best = flat.argmax(axis=1)  # first maximum in C order = smallest flat position
        coords = np.unravel_index(best, kernel)
        coords = [c + a - lo for c, a, (lo, _) in zip(coords, starts, pads)]
        values[(slice(None), *pos)] = flat.max(axis=1)
        indices[(slice(None), *pos)] = np.ravel_multi_index(coords, spatial)
    return values, indices


# ----------------------------------------------------------------------------------------- LPPool

@pytest.mark.parametrize("n, shape, kernel, stride", [
    (1, (2, 9, 3), (3,), (2,)),
    (2, (2, 6, 7, 3), (2, 3), (2, 2)),
    (3, (1, 4, 5, 4, 2), (2, 2, 3), (1, 2, 1)),
])
@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_lppool_is_the_pytorch_power_sum(n, shape, kernel, stride, p):
    x = RNG.uniform(0.0, 2.0, size=shape).astype(np.float32)
    layer = getattr(nn, f"LPPool{n}d")(p, kernel, stride=stride)
    expected = np_window_sum(x.astype(np.float64) ** p, kernel, stride) ** (1 / p)  # PyTorch: (sum x^p)^(1/p)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5)
    np.testing.assert_allclose(layer(x[0]), expected[0], rtol=1e-5)


def test_lppool_uses_absolute_values_and_special_norms():
    x = RNG.normal(size=(2, 8, 3)).astype(np.float32)
    l2 = nn.LPPool1d(2, 4)(x)
    np.testing.assert_allclose(l2, np.sqrt(np_window_sum(x.astype(np.float64) ** 2, (4,), (4,))), rtol=1e-5)
    l1 = nn.LPPool1d(1, 4)(x)
    np.testing.assert_allclose(l1, np_window_sum(np.abs(x), (4,), (4,)), rtol=1e-5)
    pos = RNG.uniform(1.0, 2.0, size=(2, 8, 3)).astype(np.float32)
    big = np.asarray(nn.LPPool1d(30, 4)(pos))  # p -> inf tends to the maximum, from above
    top = pos.reshape(2, 2, 4, 3).max(axis=2)
    assert (big >= top * (1 - 1e-6)).all() and (big <= top * 4 ** (1 / 30) * (1 + 1e-6)).all()


def test_lppool_padding_in_size_and_integer_input():
    layer = nn.LPPool2d(2, 3, stride=1, padding=1, in_size=(4, 4, 2))
    assert layer.in_size == (4, 4, 2) and layer.out_size == (4, 4, 2)
    x = jnp.ones((1, 4, 4, 2), jnp.int32)
    y = layer(x)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y[0, 0, 0, 0], 2.0, rtol=1e-6)  # corner: 4 ones in the window
    np.testing.assert_allclose(y[0, 1, 1, 0], 3.0, rtol=1e-6)  # interior: 9 ones


def test_lppool_gradient_is_finite_at_zero():
    layer = nn.LPPool2d(2, 2)
    x = jnp.zeros((1, 4, 4, 2)).at[0, 0, 0, 0].set(3.0)
    g = T.jit(jax.grad(lambda v: jnp.sum(layer(v))))(x)
    assert np.isfinite(np.asarray(g)).all()
    assert float(g[0, 0, 0, 0]) == pytest.approx(1.0) and float(g[0, 2, 2, 0]) == 0.0


@pytest.mark.parametrize("norm_type", [0, -2, float("inf"), float("nan"), "2", True])
def test_lppool_bad_norm_type(norm_type):
    with pytest.raises(bc.ConfigError, match=r"LPPool2d norm_type is the power p of \(sum \|x\|\^p\)\^\(1/p\) and "
                                             r"must be a positive finite number, got .*Fix: pass e\.g\. norm_type=2"):
        nn.LPPool2d(norm_type, 2)


# ------------------------------------------------------------------------- MaxPool return_indices

@pytest.mark.parametrize("n, shape, kernel, stride, padding", [
    (1, (2, 9, 3), (3,), (2,), 0),
    (1, (2, 7, 2), (2,), (2,), 1),
    (2, (2, 6, 7, 3), (2, 2), (2, 2), 0),
    (2, (2, 5, 6, 2), (3, 2), (1, 2), 1),
    (3, (1, 4, 5, 4, 2), (2, 2, 2), (2, 2, 2), 0),
])
def test_maxpool_indices_match_numpy(n, shape, kernel, stride, padding):
    x = RNG.normal(size=shape).astype(np.float32)
    pool = getattr(nn, f"MaxPool{n}d")(kernel, stride=stride, padding=padding, return_indices=True)
    values, indices = pool(x)
    ref_values, ref_indices = np_max_with_indices(x, kernel, stride, [(padding, padding)] * n)
    assert indices.dtype == jnp.int32
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(getattr(nn, f"MaxPool{n}d")(kernel, stride=stride, padding=padding)(x), values)


def test_maxpool_indices_ties_same_padding_and_channel_axes():
    x = jnp.zeros((1, 4, 1))
    _, idx = nn.MaxPool1d(2, return_indices=True)(x)
    assert idx[0, :, 0].tolist() == [0, 2]  # ties pick the first position
    x = RNG.normal(size=(1, 5, 5, 2)).astype(np.float32)
    v, i = nn.MaxPool2d(2, padding="SAME", return_indices=True)(x)
    ref_v, ref_i = np_max_with_indices(x, (2, 2), (2, 2), [(0, 1), (0, 1)])
    np.testing.assert_array_equal(v, ref_v)
    np.testing.assert_array_equal(i, ref_i)
    # channel_axis=None: every axis before the last n is a batch axis
    v2, i2 = nn.MaxPool2d(2, channel_axis=None, return_indices=True)(np.moveaxis(x, -1, 0)[:, 0])
    ref_v2, ref_i2 = np_max_with_indices(np.moveaxis(x, -1, 0)[:, 0][..., None], (2, 2), (2, 2), [(0, 0)] * 2)
    np.testing.assert_array_equal(i2, ref_i2[..., 0])
    np.testing.assert_array_equal(v2, ref_v2[..., 0])


def test_maxpool_with_indices_gradient_in_size_and_repr():
    pool = nn.MaxPool2d(2, return_indices=True, in_size=(6, 6, 3))
    assert pool.out_size == (3, 3, 3)
    assert repr(pool) == ("MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding='VALID', channel_axis=-1, "
                          "return_indices=True)")
    x = jnp.asarray(RNG.normal(size=(2, 6, 6, 3)), jnp.float32)
    g = T.jit(jax.grad(lambda v: jnp.sum(pool(v)[0])))(x)
    assert float(g.sum()) == 2 * 3 * 3 * 3 and set(np.unique(g)) == {0.0, 1.0}


# --------------------------------------------------------------------------------------- MaxUnpool

def np_unpool(values, indices, spatial):
    """Scatter values (N, *P, C) to the flat positions indices of a zero (N, *spatial, C) array."""
    out = np.zeros((values.shape[0], int(np.prod(spatial)), values.shape[-1]), values.dtype)
    v = values.reshape(values.shape[0], -1, values.shape[-1])
    i = indices.reshape(indices.shape[0], -1, indices.shape[-1])
    for b in range(v.shape[0]):
        for c in range(v.shape[-1]):
            out[b, i[b, :, c], c] = v[b, :, c]
    return out.reshape((values.shape[0], *spatial, values.shape[-1]))


@pytest.mark.parametrize("n, shape, kernel, stride", [
    (1, (2, 8, 3), 2, None),
    (2, (2, 6, 4, 3), 2, None),
    (2, (1, 6, 6, 2), 3, 3),
    (3, (1, 4, 4, 6, 2), (2, 2, 3), None),
])
def test_unpool_round_trip(n, shape, kernel, stride):
    x = RNG.normal(size=shape).astype(np.float32)
    values, indices = getattr(nn, f"MaxPool{n}d")(kernel, stride=stride, return_indices=True)(x)
    y = getattr(nn, f"MaxUnpool{n}d")(kernel, stride=stride)(values, indices)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, np_unpool(np.asarray(values), np.asarray(indices), shape[1:-1]))
    kept = np.asarray(y) != 0  # the maxima are where they were, everything else is 0
    np.testing.assert_array_equal(np.asarray(y)[kept], x[kept])
    assert kept.sum() == values.size


def test_unpool_output_size_forms_odd_sizes_and_jit():
    x = RNG.normal(size=(2, 5, 7, 3)).astype(np.float32)
    values, indices = nn.MaxPool2d(2, return_indices=True)(x)
    unpool = nn.MaxUnpool2d(2)
    ref = np_unpool(np.asarray(values), np.asarray(indices), (5, 7))
    for size in [(5, 7), (2, 5, 7, 3)]:
        np.testing.assert_array_equal(unpool(values, indices, output_size=size), ref)
    np.testing.assert_array_equal(T.jit(lambda v, i: unpool(v, i, (5, 7)))(values, indices), ref)
    y = nn.MaxUnpool1d(2)(*nn.MaxPool1d(2, return_indices=True)(x[:, 0]), output_size=7)
    assert y.shape == (2, 7, 3)


def test_unpool_channel_axis_none_and_in_size():
    x = RNG.normal(size=(3, 4, 6)).astype(np.float32)
    values, indices = nn.MaxPool2d(2, channel_axis=None, return_indices=True)(x)
    y = nn.MaxUnpool2d(2, channel_axis=None)(values, indices)
    np.testing.assert_array_equal(y, np_unpool(np.asarray(values)[..., None], np.asarray(indices)[..., None],
                                               (4, 6))[..., 0])
    unpool = nn.MaxUnpool2d(3, stride=2, padding=1, in_size=(3, 3, 4))
    assert unpool.in_size == (3, 3, 4) and unpool.out_size == (5, 5, 4)  # (3 - 1) * 2 - 2 + 3
    assert repr(nn.MaxUnpool1d(2)) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,), channel_axis=-1)"


def test_unpool_gradient_flows_to_the_kept_values():
    x = jnp.asarray(RNG.normal(size=(1, 4, 4, 2)), jnp.float32)
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)

    def loss(v):
        values, indices = pool(v)
        return jnp.sum(unpool(values, indices) * jnp.arange(32.0).reshape(1, 4, 4, 2))

    g = T.jit(jax.grad(loss))(x)
    values, indices = pool(x)
    mask = np_unpool(np.ones_like(np.asarray(values)), np.asarray(indices), (4, 4)) > 0
    np.testing.assert_array_equal(np.asarray(g), np.where(mask, np.arange(32.0).reshape(1, 4, 4, 2), 0.0))


def test_unpool_errors():
    x = RNG.normal(size=(1, 5, 5, 1)).astype(np.float32)
    values, indices = nn.MaxPool2d(2, stride=1, return_indices=True)(x)
    unpool = nn.MaxUnpool2d(2, stride=1)
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d got indices in \[-\d+, -?\d+\], outside the output plane "
                                            r"\(5, 5\) of 25 positions"):
        unpool(values, indices - 30)
    # 5x5 pooled by 2 covers rows and columns 0..3: the last window's maximum is at most at 3 * 5 + 3 = 18,
    # beyond the default 4x4 output plane
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d got indices in \[\d+, 18\], outside the output plane "
                                            r"\(4, 4\) of 16 positions\. Fix: pass output_size"):
        nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(np.arange(25.0).reshape(1, 5, 5, 1)))
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d needs integer indices of the shape of the values "
                                            r"\(1, 4, 4, 1\), got float32 indices of shape \(1, 4, 4, 1\)"):
        unpool(values, values)
    with pytest.raises(bc.InputError, match=r"got int32 indices of shape \(1, 3, 4, 1\)\. Fix: pass both outputs"):
        unpool(values, indices[:, :3])
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d output_size must be an int, 2 spatial sizes or a full "
                                            r"shape of 4 sizes, got \(5, 5, 5\)"):
        unpool(values, indices, output_size=(5, 5, 5))
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d output_size \(2, 5, 5, 1\) changes a batch or channel "
                                            r"size of the input \(1, 4, 4, 1\)"):
        unpool(values, indices, output_size=(2, 5, 5, 1))
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d output size \(0, 5\) for an input of shape \(1, 4, 4, 1\) "
                                            r"is empty"):
        unpool(values, indices, output_size=(0, 5))
    with pytest.raises(bc.InputError, match=r"MaxUnpool2d pools 2 spatial axes plus a channel axis \(-1\)"):
        unpool(jnp.ones((3, 1)), jnp.ones((3, 1), jnp.int32))
    with pytest.raises(bc.ConfigError, match=r"MaxUnpool3d needs kernel_size and stride >= 1 and padding >= 0, got "
                                             r"kernel_size=\(0, 0, 0\)"):
        nn.MaxUnpool3d(0)
    with pytest.raises(bc.ConfigError, match=r"MaxUnpool1d kernel_size must be an int or a sequence of 1 ints"):
        nn.MaxUnpool1d((2, 2))
    with pytest.raises(bc.ConfigError, match=r"MaxPool3d in_size is the shape of one example with 3 spatial axes "
                                             r"and a channel axis, got \(4, 4, 4\)\. Fix: pass at least 4 sizes"):
        nn.MaxPool3d(2, in_size=(4, 4, 4))
