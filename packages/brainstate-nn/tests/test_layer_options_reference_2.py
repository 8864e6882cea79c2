"""Constructor options of pooling, dropout, activation modules, attention and the recurrent cells, each set to a
non-default value and checked against a NumPy reference written here from the documented formula.

The options the other test files already check this way are not repeated (see test_layer_options_reference.py
for the linear family, convolutions and normalisation).
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R

RNG = np.random.default_rng(11)


def rnd(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def close(a, b, tol=1e-4):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def fit(flag=True):
    return bc.environ.context(fit=flag)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


# -- pooling: channel_axis and MaxUnpool padding ---------------------------------------------------

def np_pool(x, kernel, stride, reduce):
    """VALID pooling of x (N, *S, C) over S: ``reduce`` of each window."""
    n = len(kernel)
    win = sliding_window_view(x, kernel, axis=tuple(range(1, n + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]
    return reduce(win, axis=tuple(range(-n, 0)))


def np_adaptive(x, target, reduce):
    """Adaptive pooling of x (N, *S, C): entry i of an axis of n reduces [floor(i n / out), ceil((i + 1) n / out))."""
    for axis, out in enumerate(target, start=1):
        n = x.shape[axis]
        x = np.concatenate([reduce(np.take(x, range(i * n // out, math.ceil((i + 1) * n / out)), axis=axis),
                                   axis=axis, keepdims=True) for i in range(out)], axis=axis)
    return x


def lp(p):
    return lambda w, axis: (np.abs(w.astype(np.float64)) ** p).sum(axis) ** (1 / p)


# (layer with the channel axis just before the spatial axes, reference on channels-last inputs, spatial shape)
CHANNEL_FIRST = {
    "MaxPool1d": (nn.MaxPool1d(3, stride=2, channel_axis=-2), lambda x: np_pool(x, (3,), (2,), np.max), (9,)),
    "MaxPool2d": (nn.MaxPool2d(2, stride=(2, 1), channel_axis=-3),
                  lambda x: np_pool(x, (2, 2), (2, 1), np.max), (6, 5)),
    "AvgPool2d": (nn.AvgPool2d((2, 3), channel_axis=-3), lambda x: np_pool(x, (2, 3), (1, 1), np.mean), (6, 5)),
    "AvgPool3d": (nn.AvgPool3d(2, stride=2, channel_axis=-4),
                  lambda x: np_pool(x, (2, 2, 2), (2, 2, 2), np.mean), (4, 2, 4)),
    "LPPool2d": (nn.LPPool2d(3, 2, channel_axis=-3), lambda x: np_pool(x, (2, 2), (2, 2), lp(3)), (6, 5)),
    "AdaptiveAvgPool2d": (nn.AdaptiveAvgPool2d((4, 2), channel_axis=-3),
                          lambda x: np_adaptive(x, (4, 2), np.mean), (6, 5)),
    "AdaptiveMaxPool1d": (nn.AdaptiveMaxPool1d(4, channel_axis=-2), lambda x: np_adaptive(x, (4,), np.max), (9,)),
}


@pytest.mark.parametrize("case", list(CHANNEL_FIRST))
def test_channel_axis_before_the_spatial_axes(case):
    layer, reference, spatial = CHANNEL_FIRST[case]
    x = rnd(2, 3, *spatial)  # (batch, channels, *spatial): PyTorch's layout
    expected = np.moveaxis(reference(np.moveaxis(x, 1, -1)), -1, 1)
    close(layer(x), expected)
    close(layer(x[0]), expected[0])  # a negative channel axis also finds the channels of one example


@pytest.mark.parametrize("n, shape, kernel, stride, padding", [
    (1, (2, 5, 2), 3, 2, 1),
    (2, (1, 5, 3, 2), (3, 2), (2, 1), (1, 0)),
])
def test_max_unpool_padding_undoes_the_pool_padding(n, shape, kernel, stride, padding):
    x = rnd(*shape)
    pads = [(p, p) for p in ((padding,) * n if isinstance(padding, int) else padding)]
    values, indices = getattr(nn, f"MaxPool{n}d")(kernel, stride=stride, padding=pads, return_indices=True)(x)
    y = np.asarray(getattr(nn, f"MaxUnpool{n}d")(kernel, stride=stride, padding=padding)(values, indices))
    assert y.shape == x.shape  # (pooled - 1) * stride - 2 * padding + kernel_size
    expected = np.zeros((shape[0], math.prod(shape[1:-1]), shape[-1]))
    v, i = np.asarray(values).reshape(shape[0], -1, shape[-1]), np.asarray(indices).reshape(shape[0], -1, shape[-1])
    for b in range(shape[0]):
        for c in range(shape[-1]):
            expected[b, i[b, :, c], c] = v[b, :, c]
    np.testing.assert_array_equal(y, expected.reshape(shape))
    kept = y != 0
    np.testing.assert_array_equal(y[kept], x[kept])  # each maximum is back where the pooling found it


def test_max_unpool_channel_axis_before_the_spatial_axes():
    x = rnd(2, 3, 4, 6)
    values, indices = nn.MaxPool2d(2, channel_axis=-3, return_indices=True)(x)
    y = nn.MaxUnpool2d(2, channel_axis=-3)(values, indices)
    last_v, last_i = nn.MaxPool2d(2, return_indices=True)(np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(np.moveaxis(np.asarray(values), 1, -1), last_v)
    np.testing.assert_array_equal(y, np.moveaxis(np.asarray(nn.MaxUnpool2d(2)(last_v, last_i)), -1, 1))


# -- dropout: rng and channel_axis ----------------------------------------------------------------

def keep_scaled(x, keep, prob):
    return np.where(keep, x / prob, 0.0)


def alpha(x, keep, prob):
    saturation = -1.7580993408473766  # SELU's value at -inf
    a = (prob * (1 + (1 - prob) * saturation ** 2)) ** -0.5
    return np.where(keep, x, saturation) * a - a * (1 - prob) * saturation


# (layer built from an rng, input shape, shape of the mask drawn, formula)
DROPOUT_RNG = {
    "Dropout": (lambda r: nn.Dropout(0.6, rng=r), (4, 3, 6), (4, 3, 6), keep_scaled),
    "Dropout-broadcast": (lambda r: nn.Dropout(0.6, broadcast_dims=(1,), rng=r), (4, 3, 6), (4, 1, 6), keep_scaled),
    "Dropout1d": (lambda r: nn.Dropout1d(0.6, rng=r), (4, 3, 6), (4, 1, 6), keep_scaled),
    "Dropout2d-channels-first": (lambda r: nn.Dropout2d(0.6, channel_axis=1, rng=r), (4, 5, 2, 3), (4, 5, 1, 1),
                                 keep_scaled),
    "Dropout3d-channels-first": (lambda r: nn.Dropout3d(0.6, channel_axis=1, rng=r), (4, 5, 2, 2, 2),
                                 (4, 5, 1, 1, 1), keep_scaled),
    "AlphaDropout": (lambda r: nn.AlphaDropout(0.6, rng=r), (4, 3, 6), (4, 3, 6), alpha),
    "FeatureAlphaDropout": (lambda r: nn.FeatureAlphaDropout(0.6, rng=r), (4, 3, 6), (4, 1, 6), alpha),
}


@pytest.mark.parametrize("case", list(DROPOUT_RNG))
def test_dropout_draws_its_mask_from_rng(case):
    make, shape, mask_shape, formula = DROPOUT_RNG[case]
    x = rnd(*shape)
    with fit():
        y = make(R.RandomState(5))(x)
    keep = np.asarray(R.RandomState(5).bernoulli(0.6, size=mask_shape))  # the same first draw
    assert 0 < keep.mean() < 1
    close(y, formula(x, keep, 0.6))


def test_dropout_fixed_draws_its_mask_from_rng():
    drop = nn.init_all_states(nn.DropoutFixed((3, 6), 0.6, rng=R.RandomState(8)), 4)
    keep = np.asarray(R.RandomState(8).bernoulli(0.6, size=(4, 3, 6)))
    np.testing.assert_array_equal(drop.mask.value, keep)
    x = rnd(4, 3, 6)
    with fit():
        close(drop(x), keep_scaled(x, keep, 0.6))


# -- activation modules with parameters -------------------------------------------------------------

XA = np.linspace(-4, 4, 24).reshape(4, 6).astype(np.float32)


@pytest.mark.parametrize("module, reference", [
    (nn.LeakyReLU(0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (nn.CELU(0.5), lambda x: np.maximum(x, 0) + np.minimum(0, 0.5 * (np.exp(x / 0.5) - 1))),
    (nn.GELU(approximate=True), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2.0 * x)) / 2.0),
    (nn.Softplus(beta=0.5, threshold=1.0), lambda x: np.where(0.5 * x > 1.0, x, np.log1p(np.exp(0.5 * x)) / 0.5)),
    (nn.Hardtanh(-2.0, 0.5), lambda x: np.clip(x, -2.0, 0.5)),
    (nn.Hardshrink(1.5), lambda x: np.where(np.abs(x) > 1.5, x, 0.0)),
    (nn.Softshrink(1.5), lambda x: np.sign(x) * np.maximum(np.abs(x) - 1.5, 0.0)),
    (nn.Softmax(dim=0), lambda x: np_softmax(x, 0)),
    (nn.LogSoftmax(dim=0), lambda x: np.log(np_softmax(x, 0))),
    (nn.Softmin(dim=0), lambda x: np_softmax(-x, 0)),
    (nn.GLU(dim=0), lambda x: x[:2] * sigmoid(x[2:])),
], ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_parameters_match_the_formula(module, reference):
    close(module(XA), reference(XA.astype(np.float64)), tol=1e-5)


def test_prelu_one_slope_per_channel_of_the_last_axis_and_dtype():
    layer = nn.PReLU(num_parameters=6, init=0.1)
    np.testing.assert_array_equal(layer.weight.value, np.full(6, 0.1, np.float32))
    slopes = np.linspace(0.1, 0.6, 6).astype(np.float32)
    layer.weight.value = jnp.asarray(slopes)
    close(layer(XA), np.where(XA >= 0, XA, slopes * XA), tol=1e-6)
    half = nn.PReLU(init=0.3, dtype=jnp.bfloat16)
    assert half.weight.value.dtype == jnp.bfloat16 and half.weight.value.shape == (1,)
    close(half(XA), np.where(XA >= 0, XA, float(jnp.bfloat16(0.3)) * XA), tol=1e-2)


def test_rrelu_module_draws_its_slopes_from_rng():
    with fit():
        y = nn.RReLU(0.1, 0.3, rng=R.RandomState(4))(XA)
    slopes = np.asarray(R.RandomState(4).uniform(0.1, 0.3, size=XA.shape, dtype=jnp.float32))
    close(y, np.where(XA >= 0, XA, slopes * XA), tol=1e-6)


# -- MultiHeadAttention -----------------------------------------------------------------------------

def np_mha(mha, q_in, kv_in, keep=None, prob=1.0):
    """Project, split into heads, softmax(q k^T / sqrt(d)) (times keep / prob), attend, project."""
    def proj(layer, x):
        p = {k: np.asarray(v, np.float64) for k, v in layer.weight.value.items()}
        return x @ p["weight"] + p.get("bias", 0.0)

    h, d = mha.num_heads, mha.head_dim
    q, k, v = (proj(layer, x).reshape(*x.shape[:-1], h, d)
               for layer, x in ((mha.query, q_in), (mha.key, kv_in), (mha.value, kv_in)))
    weights = np_softmax(np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d), -1)
    if keep is not None:
        weights = np.where(keep, weights / prob, 0.0)
    return proj(mha.out, np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(*q_in.shape[:-1], h * d))


def test_attention_without_bias():
    mha = nn.MultiHeadAttention(4, 2, use_bias=False)
    assert all(set(m.weight.value) == {"weight"} for m in (mha.query, mha.key, mha.value, mha.out))
    x = rnd(2, 3, 4)
    close(mha(x), np_mha(mha, x, x))


def test_attention_w_init_and_b_init_fill_every_projection():
    w, b = rnd(4, 4), rnd(4)
    mha = nn.MultiHeadAttention(4, 2, w_init=w, b_init=b)
    for m in (mha.query, mha.key, mha.value, mha.out):
        np.testing.assert_array_equal(m.weight.value["weight"], w)
        np.testing.assert_array_equal(m.weight.value["bias"], b)
    x = rnd(2, 3, 4)
    q = (x @ w + b).reshape(2, 3, 2, 2)  # the same projection for queries, keys and values
    att = np.einsum("bhqk,bkhd->bqhd", np_softmax(np.einsum("bqhd,bkhd->bhqk", q, q) / np.sqrt(2), -1), q)
    close(mha(x), att.reshape(2, 3, 4) @ w + b)


def test_attention_dropout_keeps_each_weight_with_dropout_prob_while_training():
    mha = nn.MultiHeadAttention(4, 2, dropout_prob=0.7, b_init=nn.init.Normal(scale=0.1))
    q, kv = rnd(2, 3, 4), rnd(2, 5, 4)
    R.seed(21)
    with fit():
        y = mha(q, kv)
    R.seed(21)  # the layer's only draw: the mask of the attention weights, from the default generator
    keep = np.asarray(R.DEFAULT.bernoulli(0.7, size=(2, 2, 3, 5)))
    assert 0 < keep.mean() < 1
    close(y, np_mha(mha, q, kv, keep, 0.7))
    with fit(False):
        close(mha(q, kv), np_mha(mha, q, kv))


# -- recurrent cells ----------------------------------------------------------------------------------

def ramp(lo, hi, shape):
    return np.linspace(lo, hi, math.prod(shape)).reshape(shape).astype(np.float32)


def ramp_init(lo, hi):
    """An initialiser giving the same deterministic values for any shape: checks the keyword reaches each weight."""
    return lambda shape: jnp.asarray(ramp(lo, hi, shape))


def np_softsign(x):
    return x / (1 + np.abs(x))


N_IN, N_OUT = 3, 4


def vanilla(x, h, c, p, act):
    return act(np.concatenate([x, h], -1) @ p["W"][0] + p["W"][1]), None


def gru(x, h, c, p, act):
    r, z = np.split(sigmoid(np.concatenate([x, h], -1) @ p["Wrz"][0] + p["Wrz"][1]), 2, -1)
    cand = act(np.concatenate([x, r * h], -1) @ p["Wh"][0] + p["Wh"][1])
    return (1 - z) * h + z * cand, None


def mgu(x, h, c, p, act):
    f = sigmoid(np.concatenate([x, h], -1) @ p["Wf"][0] + p["Wf"][1])
    cand = act(np.concatenate([x, f * h], -1) @ p["Wh"][0] + p["Wh"][1])
    return (1 - f) * h + f * cand, None


def lstm(x, h, c, p, act):
    i, g, f, o = np.split(np.concatenate([x, h], -1) @ p["W"][0] + p["W"][1], 4, -1)
    c = sigmoid(f) * c + sigmoid(i) * act(g)
    return sigmoid(o) * act(c), c


def urlstm(x, h, c, p, act):
    f, r, u, o = np.split(np.concatenate([x, h], -1) @ p["W"][0], 4, -1)
    f, r = sigmoid(f + p["bias"]), sigmoid(r - p["bias"])
    g = 2 * r * f + (1 - 2 * r) * f ** 2
    c = g * c + (1 - g) * act(u)
    return sigmoid(o) * act(c), c


# (class, {linear name: output width in units of num_out}, NumPy step, activation given, its NumPy form)
CELLS = {
    "VanillaRNNCell": (nn.VanillaRNNCell, {"W": 1}, vanilla, "tanh", np.tanh),
    "GRUCell": (nn.GRUCell, {"Wrz": 2, "Wh": 1}, gru, "softsign", np_softsign),
    "MGUCell": (nn.MGUCell, {"Wf": 1, "Wh": 1}, mgu, jnp.sin, np.sin),
    "LSTMCell": (nn.LSTMCell, {"W": 4}, lstm, "softsign", np_softsign),
    "URLSTMCell": (nn.URLSTMCell, {"W": 4}, urlstm, jnp.sin, np.sin),
}


@pytest.mark.parametrize("case", list(CELLS))
def test_cell_w_init_b_init_and_activation(case):
    cls, linears, step, activation, np_act = CELLS[case]
    kw = {} if cls is nn.URLSTMCell else {"b_init": ramp_init(-0.3, 0.2)}
    cell = nn.init_all_states(cls(N_IN, N_OUT, w_init=ramp_init(-0.8, 0.6), activation=activation, **kw),
                              batch_size=2)
    p = {}
    for name, width in linears.items():
        w = ramp(-0.8, 0.6, (N_IN + N_OUT, width * N_OUT))
        b = None if cls is nn.URLSTMCell else ramp(-0.3, 0.2, (width * N_OUT,))
        np.testing.assert_array_equal(getattr(cell, name).weight.value["weight"], w)
        if b is not None:
            np.testing.assert_array_equal(getattr(cell, name).weight.value["bias"], b)
        p[name] = (w.astype(np.float64), b)
    if cls is nn.URLSTMCell:
        p["bias"] = np.asarray(cell.bias.value, np.float64)
    h, c = np.zeros((2, N_OUT)), np.zeros((2, N_OUT))
    for _ in range(2):
        x = RNG.normal(size=(2, N_IN))
        h, c = step(x, h, c, p, np_act)
        close(cell(jnp.asarray(x, jnp.float32)), h)


def test_urlstm_forget_bias_is_drawn_from_rng():
    cell = nn.URLSTMCell(N_IN, N_OUT, rng=R.RandomState(9))
    eps = min(1 / N_OUT, 0.25)
    u = np.asarray(R.RandomState(9).uniform(eps, 1 - eps, size=(N_OUT,)), np.float64)
    close(cell.bias.value, -np.log(1 / u - 1), tol=1e-5)  # sigmoid(bias) = u, uniform in (eps, 1 - eps)
