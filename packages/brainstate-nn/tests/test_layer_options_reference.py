"""Constructor options of the linear family, the convolutions and the normalisation layers, each set to a
non-default value and checked against a NumPy reference written here from the documented formula.

The options the other test files already check this way are not repeated; the rest of the layers
(pooling, dropout, activations, attention, recurrent cells) are in test_layer_options_reference_2.py.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(7)


def rnd(*shape, scale=1.0, offset=0.0):
    return (RNG.normal(size=shape) * scale + offset).astype(np.float32)


def close(a, b, tol=1e-4):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


class _Custom(bc.ParamState):
    """The State class given as ``param_type``."""


def np_ws(w, eps=1e-4, gain=1.0):
    """Scaled weight standardisation over every axis but the last (the output axis)."""
    axes = tuple(range(w.ndim - 1))
    fan_in = math.prod(w.shape[:-1])
    return (w - w.mean(axes, keepdims=True)) / np.sqrt(np.maximum(w.var(axes, keepdims=True) * fan_in, eps)) * gain


# -- linear family: initialisers and State classes ------------------------------------------------

W34, W32, W24, B4 = rnd(3, 4), rnd(3, 2), rnd(2, 4), rnd(4)


@pytest.mark.parametrize("make, stored, forward", [
    (lambda: nn.ScaledWSLinear(3, 4, w_init=W34, b_init=B4),
     {"weight": W34, "bias": B4}, lambda x: x @ np_ws(W34) + B4),
    (lambda: nn.SignedWLinear(3, 4, w_init=W34), W34, lambda x: x @ np.abs(W34)),
    (lambda: nn.LoRA(3, 2, 4, kernel_init=W32, lora_b_init=W24),
     {"lora_a": W32, "lora_b": W24}, lambda x: x @ W32 @ W24),
    (lambda: nn.SparseLinear(W34 * (W34 > 0), b_init=B4), None, lambda x: x @ (W34 * (W34 > 0)) + B4),
    (lambda: nn.AllToAll(3, 4, w_init=W34, b_init=B4), {"weight": W34, "bias": B4}, lambda x: x @ W34 + B4),
    (lambda: nn.OneToOne(3, w_init=W34[:, 0], b_init=B4[:3]),
     {"weight": W34[:, 0], "bias": B4[:3]}, lambda x: x * W34[:, 0] + B4[:3]),
], ids=["ScaledWSLinear", "SignedWLinear", "LoRA", "SparseLinear", "AllToAll", "OneToOne"])
def test_initialisers_give_the_arrays_passed(make, stored, forward):
    layer = make()
    if isinstance(stored, dict):
        for k, v in stored.items():
            np.testing.assert_array_equal(layer.weight.value[k], v)
    elif stored is not None:
        np.testing.assert_array_equal(layer.weight.value, stored)
    else:  # SparseLinear stores the non-zero values of its matrix and the bias
        np.testing.assert_array_equal(layer.weight.value["bias"], B4)
    x = rnd(5, 3)
    close(layer(x), forward(x))


@pytest.mark.parametrize("make", [
    lambda: nn.ScaledWSLinear(3, 4, param_type=_Custom),
    lambda: nn.SignedWLinear(3, 4, param_type=_Custom),
    lambda: nn.SparseLinear(np.eye(3, 4), param_type=_Custom),
    lambda: nn.LoRA(3, 2, 4, param_type=_Custom),
    lambda: nn.AllToAll(3, 4, param_type=_Custom),
    lambda: nn.LayerNorm(4, param_type=_Custom),
    lambda: nn.RMSNorm(4, param_type=_Custom),
    lambda: nn.GroupNorm(4, num_groups=2, param_type=_Custom),
], ids=["ScaledWSLinear", "SignedWLinear", "SparseLinear", "LoRA", "AllToAll", "LayerNorm", "RMSNorm", "GroupNorm"])
def test_param_type_is_the_class_of_the_weight_state(make):
    layer = make()
    assert type(layer.weight) is _Custom
    assert nn.count_parameters(layer) == sum(np.size(v) for v in jax.tree.leaves(layer.weight.value))


# -- convolutions --------------------------------------------------------------------------------

def np_conv(x, w, stride, pads, rhs=None, lhs=None, groups=1):
    """Cross-correlation of x (N, *S, C) with w (*K, C // groups, O), channels last.

    The input is dilated by ``lhs`` (``lhs - 1`` zeros between neighbours), then padded by ``pads``
    ((low, high) per axis); the kernel is dilated by ``rhs``.
    """
    n = x.ndim - 2
    lhs, rhs = lhs or (1,) * n, rhs or (1,) * n
    dilated = np.zeros((x.shape[0], *[(s - 1) * d + 1 for s, d in zip(x.shape[1:-1], lhs)], x.shape[-1]))
    dilated[(slice(None),) + tuple(slice(None, None, d) for d in lhs)] = x
    xp = np.pad(dilated, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)])
    kernel = w.shape[:n]
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, rhs)]
    out = [(xp.shape[1 + i] - eff[i]) // stride[i] + 1 for i in range(n)]
    cin, og = w.shape[n], w.shape[-1] // groups
    y = np.zeros((x.shape[0], *out, w.shape[-1]))
    for o in np.ndindex(*out):
        for a in np.ndindex(*kernel):
            xs = xp[(slice(None),) + tuple(oo * s + aa * d for oo, s, aa, d in zip(o, stride, a, rhs))]
            for g in range(groups):
                y[(slice(None),) + o + (slice(g * og, (g + 1) * og),)] += (
                    xs[:, g * cin:(g + 1) * cin] @ w[a][:, g * og:(g + 1) * og])
    return y


def same_pads(size, k_eff, stride):
    """XLA's 'SAME' padding (the smaller half first) of an axis of ``size`` entries."""
    total = max((-(-size // stride) - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def conv_pads(conv, x):
    """The explicit pads ``conv`` applies to the (lhs-dilated) spatial axes of ``x``."""
    if not isinstance(conv.padding, str):
        return conv.padding
    if conv.padding == "VALID":
        return [(0, 0)] * conv.num_spatial_dims
    sizes = [(s - 1) * d + 1 for s, d in zip(x.shape[1:-1], conv.lhs_dilation)]
    return [same_pads(s, (k - 1) * r + 1, st) for s, k, r, st in
            zip(sizes, conv.kernel_size, conv.rhs_dilation, conv.stride)]


@pytest.mark.parametrize("cls, in_size, kw", [
    (nn.Conv2d, (3, 4, 2), dict(out_channels=3, kernel_size=(2, 3), lhs_dilation=(2, 1), padding=[(1, 0), (0, 2)])),
    (nn.Conv1d, (4, 2), dict(out_channels=2, kernel_size=3, lhs_dilation=3, stride=2)),
    (nn.Conv1d, (5, 4), dict(out_channels=4, kernel_size=2, lhs_dilation=2, rhs_dilation=2, groups=2,
                             padding="VALID")),
    (nn.ScaledWSConv1d, (4, 2), dict(out_channels=3, kernel_size=3, lhs_dilation=2, padding="VALID")),
    (nn.ScaledWSConv2d, (3, 3, 2), dict(out_channels=2, kernel_size=2, lhs_dilation=(1, 2), stride=(2, 1))),
], ids=["conv2d-pads", "conv1d-same-stride", "conv1d-groups", "wsconv1d", "wsconv2d-same"])
def test_lhs_dilation_inserts_zeros_between_the_inputs(cls, in_size, kw):
    conv = cls(in_size, b_init=nn.init.Normal(), **kw)
    p = {k: np.asarray(v, np.float64) for k, v in conv.weight.value.items()}
    w = np_ws(p["weight"]) * p["gain"] if "gain" in p else p["weight"]
    x = rnd(2, *in_size)
    expected = np_conv(x, w, conv.stride, conv_pads(conv, x), conv.rhs_dilation, conv.lhs_dilation, conv.groups)
    y = conv(x)
    close(y, expected + p["bias"])
    assert conv.out_size == y.shape[1:]


def test_scaled_ws_conv_uses_w_init_and_eps():
    w = rnd(3, 2, 4)
    conv = nn.ScaledWSConv1d((6, 2), 4, kernel_size=3, padding="VALID", w_init=w, eps=10.0)
    np.testing.assert_array_equal(conv.weight.value["weight"], w)
    x = rnd(2, 6, 2)
    close(conv(x), np_conv(x, np_ws(w.astype(np.float64), eps=10.0), (1,), [(0, 0)]))


def np_conv_transpose_1d(x, w, stride):
    """PyTorch's transposed convolution of x (N, L, C) with w (K, C, O): position i adds x[i] @ w[a] at
    i * stride + a; brainstate's 'VALID' output then runs on with zeros to max(L * stride, that length)."""
    full = (x.shape[1] - 1) * stride + w.shape[0]
    y = np.zeros((x.shape[0], max(full, x.shape[1] * stride), w.shape[-1]))
    for i in range(x.shape[1]):
        for a in range(w.shape[0]):
            y[:, i * stride + a] += x[:, i] @ w[a]
    return y


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_transpose_mask_zeroes_kernel_entries(stride, param_grads):
    mask = np.ones((3, 2, 3), np.float32)
    mask[1] = 0.0
    mask[0, :, 2] = 0.0
    conv = nn.ConvTranspose1d((4, 2), 3, kernel_size=3, stride=stride, padding="VALID", w_mask=mask)
    w = np.asarray(conv.weight.value["weight"], np.float64)
    x = rnd(2, 4, 2)
    close(conv(x), np_conv_transpose_1d(x, w * mask, stride))
    g = np.asarray(param_grads(conv, lambda: jnp.sum(conv(x) ** 2))[("weight",)]["weight"])
    assert (g[mask == 0] == 0).all() and (g[mask == 1] != 0).all()


# -- normalisation -------------------------------------------------------------------------------

X = rnd(4, 3, 6, scale=2.0, offset=1.0)  # 4 examples (or vmap lanes) of shape (3, 6), channels last
BIG = (1e4 + RNG.normal(size=(4, 3, 6))).astype(np.float32)  # E[x^2] - E[x]^2 cancels in float32
EPS = 0.7


def np_norm(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes``, in float64 and in two passes."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axes, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axes, keepdims=True) + eps)


def np_rms(x, axes, eps):
    x = np.asarray(x, np.float64)
    return x / np.sqrt((x ** 2).mean(axes, keepdims=True) + eps)


def np_group(x, groups, eps, axes=(1,)):
    """Group norm of x (..., C): the channels in ``groups`` groups, statistics over ``axes`` and the group."""
    g = np.asarray(x).reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    return np_norm(g, tuple(axes) + (g.ndim - 1,), eps).reshape(x.shape)


def fit(flag=True):
    return bc.environ.context(fit=flag)


@pytest.mark.parametrize("make, reference", [
    (lambda: nn.LayerNorm(6, epsilon=EPS, use_scale=False, use_bias=False), lambda x: np_norm(x, -1, EPS)),
    (lambda: nn.RMSNorm(6, epsilon=EPS, use_scale=False), lambda x: np_rms(x, -1, EPS)),
    (lambda: nn.GroupNorm((3, 6), num_groups=2, epsilon=EPS, use_scale=False, use_bias=False),
     lambda x: np_group(x, 2, EPS)),
], ids=["LayerNorm", "RMSNorm", "GroupNorm"])
def test_epsilon_is_added_to_the_variance(make, reference):
    close(make()(X), reference(X))


def test_batch_norm_epsilon_in_training_and_evaluation():
    bn = nn.BatchNorm1d((3, 6), epsilon=EPS, affine=False)
    with fit():
        close(bn(X), np_norm(X, (0, 1), EPS))
    mean, var = X.mean((0, 1)), X.var((0, 1))
    with fit(False):  # the running statistics after one step of the default momentum 0.99
        close(bn(X), (X - 0.01 * mean) / np.sqrt(0.99 + 0.01 * var + EPS))


S6, B6 = rnd(6), rnd(6)


@pytest.mark.parametrize("make, params, reference", [
    (lambda: nn.LayerNorm(6, scale_init=S6, bias_init=B6), {"scale": S6, "bias": B6},
     lambda x: np_norm(x, -1, 1e-6) * S6 + B6),
    (lambda: nn.RMSNorm(6, scale_init=S6), {"scale": S6}, lambda x: np_rms(x, -1, 1e-6) * S6),
    (lambda: nn.GroupNorm((3, 6), num_groups=3, scale_init=S6, bias_init=B6), {"scale": S6, "bias": B6},
     lambda x: np_group(x, 3, 1e-6) * S6 + B6),
    (lambda: nn.LayerNorm(6, use_scale=False, bias_init=nn.init.Constant(2.5)), {"bias": np.full(6, 2.5)},
     lambda x: np_norm(x, -1, 1e-6) + 2.5),
], ids=["LayerNorm", "RMSNorm", "GroupNorm", "LayerNorm-bias-only"])
def test_scale_and_bias_initialisers(make, params, reference):
    layer = make()
    assert set(layer.weight.value) == set(params)
    for k, v in params.items():
        np.testing.assert_array_equal(layer.weight.value[k], v)
    close(layer(X), reference(X))


@pytest.mark.parametrize("make, reference", [
    (lambda: nn.LayerNorm(6, dtype=jnp.bfloat16), lambda x: np_norm(x, -1, 1e-6)),
    (lambda: nn.GroupNorm((3, 6), num_groups=2, dtype=jnp.bfloat16), lambda x: np_group(x, 2, 1e-6)),
    (lambda: nn.BatchNorm1d((3, 6), dtype=jnp.bfloat16), lambda x: np_norm(x, (0, 1), 1e-5)),
], ids=["LayerNorm", "GroupNorm", "BatchNorm1d"])
def test_dtype_is_the_dtype_of_the_result(make, reference):
    with fit():
        y = make()(X)
    assert y.dtype == jnp.bfloat16
    close(np.asarray(y, np.float32), reference(X), tol=2e-2)


def test_statistics_are_at_least_float32_without_dtype():
    x16 = jnp.asarray(X, jnp.bfloat16)
    y = nn.LayerNorm(6, use_scale=False, use_bias=False)(x16)
    assert y.dtype == jnp.float32
    close(y, np_norm(np.asarray(x16, np.float32), -1, 1e-6))


@pytest.mark.parametrize("make, reference", [
    (lambda fast: nn.GroupNorm((3, 6), num_groups=2, use_fast_variance=fast, use_scale=False, use_bias=False),
     lambda x: np_group(x, 2, 1e-6)),
    (lambda fast: nn.BatchNorm1d((3, 6), use_fast_variance=fast, affine=False, track_running_stats=False),
     lambda x: np_norm(x, (0, 1), 1e-5)),
], ids=["GroupNorm", "BatchNorm1d"])
def test_two_pass_variance_is_exact_where_the_fast_one_cancels(make, reference):
    expected = reference(BIG)
    with fit():
        slow, fast = np.asarray(make(False)(BIG)), np.asarray(make(True)(BIG))
    np.testing.assert_allclose(slow, expected, atol=3e-3)  # float32 rounding of x - mean only
    assert np.abs(fast - expected).max() > 0.05  # the one-pass formula loses the variance


def test_rms_norm_has_no_variance_so_fast_variance_changes_nothing():
    slow = nn.RMSNorm(6, use_fast_variance=False, use_scale=False)(BIG)
    np.testing.assert_array_equal(slow, nn.RMSNorm(6, use_scale=False)(BIG))
    close(slow, np_rms(BIG, -1, 1e-6))


def test_group_norm_group_size_is_num_groups_of_that_many_channels():
    gn = nn.GroupNorm((3, 6), num_groups=None, group_size=3, use_scale=False, use_bias=False)
    assert gn.num_groups == 2
    close(gn(X), np_group(X, 2, 1e-6))


# Each lane of the vmap is one example of shape (3, 6): with axis_name the statistics are averaged over
# the lanes too, i.e. taken over the lane axis 0 as well.
LANE_CASES = {
    "LayerNorm": (lambda **kw: nn.LayerNorm(6, use_scale=False, use_bias=False, **kw),
                  lambda x: np_norm(x, (0, 2), 1e-6)),
    "RMSNorm": (lambda **kw: nn.RMSNorm(6, use_scale=False, **kw), lambda x: np_rms(x, (0, 2), 1e-6)),
    "GroupNorm": (lambda **kw: nn.GroupNorm((3, 6), num_groups=2, use_scale=False, use_bias=False, **kw),
                  lambda x: np_group(x, 2, 1e-6, axes=(0, 1))),
    "BatchNorm0d": (lambda **kw: nn.BatchNorm0d(6, affine=False, track_running_stats=False, **kw),
                    lambda x: np_norm(x, (0, 1), 1e-5)),
}
GROUPS = [[0, 2], [1, 3]]


def np_grouped(x, reference):
    """Lane i normalised with the statistics of the lanes of its group only."""
    out = np.empty(x.shape)
    for members in GROUPS:
        out[members] = reference(x[members])
    return out


@pytest.mark.parametrize("case", ["LayerNorm", "RMSNorm", "GroupNorm"])
def test_axis_name_averages_the_statistics_over_vmap_lanes(case):
    make, reference = LANE_CASES[case]
    layer = make(axis_name="lanes")
    close(T.vmap(lambda v: layer(v), axis_name="lanes")(X), reference(X))


# jax.vmap has no rule for pmean with axis_index_groups: the layers average within groups through
# all_gather instead, the same under vmap and pmap.
MAPPERS = [pytest.param(T.vmap, id="vmap"),
           pytest.param(T.pmap, id="pmap", marks=pytest.mark.skipif(
               jax.device_count() < 4, reason="needs 4 devices (nox -s tests_multidevice)"))]


@pytest.mark.parametrize("mapper", MAPPERS)
@pytest.mark.parametrize("case", list(LANE_CASES))
def test_axis_index_groups_average_within_each_group(case, mapper):
    make, reference = LANE_CASES[case]
    layer = make(axis_name="lanes", axis_index_groups=GROUPS)
    with fit():
        y = mapper(lambda v: layer(v), axis_name="lanes")(X)
    close(y, np_grouped(X, reference))


@pytest.mark.parametrize("groups, pattern", [
    ([[0, 1], [1, 2, 3]], r"must split the indices 0..n-1"),
    ([[0, 1], []], r"non-empty groups"),
])
def test_bad_axis_index_groups_are_refused(groups, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        nn.LayerNorm(6, axis_name="lanes", axis_index_groups=groups)


def test_axis_index_groups_must_cover_the_lanes():
    layer = nn.LayerNorm(6, axis_name="lanes", axis_index_groups=[[0], [1]])
    with pytest.raises(bc.InputError, match=r"cover 2 lanes but the axis 'lanes' has 4"):
        T.vmap(lambda v: layer(v), axis_name="lanes")(X)
