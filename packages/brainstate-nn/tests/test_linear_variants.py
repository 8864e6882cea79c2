"""Linear variants (ScaledWS, SignedW, Sparse, LoRA), ScaledWSConv, ElementWiseBlock and clip_grad_norm vs NumPy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)


def np_ws(w, eps=1e-4, gain=None):
    """Scaled weight standardisation over every axis but the last, in NumPy."""
    axes = tuple(range(w.ndim - 1))
    fan_in = math.prod(w.shape[:-1])
    out = (w - w.mean(axes, keepdims=True)) / np.sqrt(np.maximum(w.var(axes, keepdims=True) * fan_in, eps))
    return out if gain is None else out * gain


# -- weight_standardization --------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (3, 4, 6), (2, 3, 2, 4)])
def test_weight_standardization_zero_mean_unit_variance_per_output(shape):
    w = RNG.normal(1.0, 3.0, size=shape).astype(np.float32)
    ws = np.asarray(nn.weight_standardization(w))
    axes = tuple(range(len(shape) - 1))
    fan_in = math.prod(shape[:-1])
    np.testing.assert_allclose(ws.mean(axes), 0.0, atol=1e-6)
    np.testing.assert_allclose(ws.var(axes) * fan_in, 1.0, rtol=1e-4)  # unit variance of sqrt(fan_in) * w_hat
    np.testing.assert_allclose(ws, np_ws(w), rtol=1e-5, atol=1e-6)


def test_weight_standardization_gain_out_axis_and_eps():
    w = RNG.normal(size=(4, 6)).astype(np.float32)
    gain = RNG.uniform(0.5, 2.0, size=(1, 6)).astype(np.float32)
    np.testing.assert_allclose(nn.weight_standardization(w, gain=gain), np_ws(w, gain=gain), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.weight_standardization(w, out_axis=0), np_ws(w.T).T, rtol=1e-5, atol=1e-6)
    flat = nn.weight_standardization(jnp.ones((3, 2)))  # zero variance: eps keeps it finite
    assert np.isfinite(flat).all() and not np.asarray(flat).any()


@pytest.mark.parametrize("w, out_axis", [(jnp.ones(3), -1), (jnp.ones((2, 3)), 2), (jnp.ones((2, 3)), -3)])
def test_weight_standardization_errors(w, out_axis):
    with pytest.raises(bc.InputError, match=r"weight_standardization needs a weight of at least 2 dimensions"):
        nn.weight_standardization(w, out_axis=out_axis)


# -- ScaledWSLinear ------------------------------------------------------------------------------

@pytest.mark.parametrize("ws_gain, b_init", [(True, nn.init.Normal()), (False, None)])
def test_scaled_ws_linear_matches_numpy(ws_gain, b_init):
    layer = nn.ScaledWSLinear(5, 3, b_init=b_init, ws_gain=ws_gain)
    params = {k: np.asarray(v) for k, v in layer.weight.value.items()}
    assert set(params) == {"weight"} | ({"gain"} if ws_gain else set()) | ({"bias"} if b_init else set())
    if ws_gain:
        assert params["gain"].shape == (1, 3) and (params["gain"] == 1).all()
        gain = RNG.uniform(0.5, 2.0, size=(1, 3)).astype(np.float32)
        layer.weight.value = dict(layer.weight.value, gain=jnp.asarray(gain))
    else:
        gain = None
    x = RNG.normal(size=(4, 5)).astype(np.float32)
    expected = x @ np_ws(params["weight"], gain=gain) + params.get("bias", 0.0)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_scaled_ws_linear_mask_eps_and_gradients(assert_grads_flow):
    mask = (RNG.uniform(size=(4, 3)) > 0.3).astype(np.float32)
    layer = nn.ScaledWSLinear((2, 4), 3, w_mask=mask, eps=1e-2)
    w = np.asarray(layer.weight.value["weight"])
    x = RNG.normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x @ (np_ws(w, eps=1e-2) * mask), rtol=1e-5, atol=1e-5)
    assert layer.in_size == (2, 4) and layer.out_size == (3,)
    assert "ws_gain=True, eps=0.01" in repr(layer)
    assert_grads_flow(nn.ScaledWSLinear(4, 3, b_init=nn.init.Normal()), x)


def test_scaled_ws_linear_errors():
    with pytest.raises(bc.InputError, match=r"ScaledWSLinear\(4 -> 3\) got an input of shape \(2, 5\)"):
        nn.ScaledWSLinear(4, 3)(jnp.ones((2, 5)))
    with pytest.raises(bc.ConfigError, match=r"ScaledWSLinear w_mask of shape \(4, 1, 3\) does not broadcast"):
        nn.ScaledWSLinear(4, 3, w_mask=jnp.ones((4, 1, 3)))


# -- ScaledWSConv ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, in_size, kwargs", [
    (nn.ScaledWSConv1d, (9, 4), dict(out_channels=6, kernel_size=3, stride=2, padding="VALID")),
    (nn.ScaledWSConv2d, (6, 5, 4), dict(out_channels=4, kernel_size=(3, 2), groups=2, b_init=nn.init.Normal())),
    (nn.ScaledWSConv3d, (4, 4, 3, 2), dict(out_channels=3, kernel_size=2, ws_gain=False, eps=1e-3)),
    (nn.ScaledWSConv, (7, 3), dict(out_channels=2, kernel_size=3, rhs_dilation=2)),
])
def test_scaled_ws_conv_is_conv_with_the_standardised_kernel(cls, in_size, kwargs):
    conv = cls(in_size, **kwargs)
    params = {k: np.asarray(v) for k, v in conv.weight.value.items()}
    n = len(in_size) - 1
    if kwargs.get("ws_gain", True):
        assert params["gain"].shape == (1,) * (n + 1) + (kwargs["out_channels"],)
        gain = RNG.uniform(0.5, 2.0, size=params["gain"].shape).astype(np.float32)
        conv.weight.value = dict(conv.weight.value, gain=jnp.asarray(gain))
    else:
        assert "gain" not in params
        gain = None
    w_hat = np_ws(params["weight"], eps=kwargs.get("eps", 1e-4), gain=gain)
    out_axes = tuple(range(n + 1))
    np.testing.assert_allclose((w_hat if gain is None else w_hat / gain).mean(out_axes), 0.0, atol=1e-6)
    plain_kwargs = {k: v for k, v in kwargs.items() if k not in ("ws_gain", "eps")}
    plain_kwargs["b_init"] = params.get("bias")
    reference = nn.Conv(in_size, w_init=w_hat, **plain_kwargs)
    x = RNG.normal(size=(2,) + in_size).astype(np.float32)
    np.testing.assert_allclose(conv(x), reference(x), rtol=1e-4, atol=1e-5)
    assert conv.out_size == reference.out_size


def test_scaled_ws_conv_gradients_mask_and_errors(assert_grads_flow):
    conv = nn.ScaledWSConv2d((5, 5, 2), 3, kernel_size=3, b_init=nn.init.ZeroInit())
    assert "ws_gain=True, eps=0.0001" in repr(conv)
    conv1 = nn.ScaledWSConv1d((5, 2), 3, kernel_size=3, b_init=nn.init.ZeroInit())
    assert_grads_flow(conv1, RNG.normal(size=(2, 5, 2)).astype(np.float32))
    mask = np.zeros((3, 2, 3), np.float32)
    mask[1] = 1.0  # keep the centre tap only: the convolution becomes a per-position matrix product
    masked = nn.ScaledWSConv1d((6, 2), 3, kernel_size=3, w_mask=mask)
    x = RNG.normal(size=(6, 2)).astype(np.float32)
    w_hat = np_ws(np.asarray(masked.weight.value["weight"]))
    np.testing.assert_allclose(masked(x), x @ w_hat[1], rtol=1e-5, atol=1e-5)
    with pytest.raises(bc.InputError, match=r"ScaledWSConv2d expects inputs \(batch, \*2 spatial, 2 channels\)"):
        conv(jnp.ones((5, 5, 3)))


# -- SignedWLinear --------------------------------------------------------------------------------

@pytest.mark.parametrize("sign_shape", [(4, 3), (4, 1), (3,)])
def test_signed_w_linear_signs_follow_w_sign(sign_shape):
    sign = np.where(RNG.uniform(size=sign_shape) > 0.5, 1.0, -1.0).astype(np.float32)
    layer = nn.SignedWLinear(4, 3, w_sign=sign)
    w = np.asarray(layer.weight.value)
    assert w.shape == (4, 3) and (w < 0).any()  # the raw weights carry any sign
    x = RNG.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x @ (np.abs(w) * sign), rtol=1e-5, atol=1e-6)
    effective = np.asarray(layer(jnp.eye(4)))  # row i = the effective weights of input i
    np.testing.assert_array_equal(np.sign(effective), np.broadcast_to(sign, (4, 3)))


def test_signed_w_linear_positive_by_default_and_gradient(param_grads):
    layer = nn.SignedWLinear((2, 3), 2)
    assert (np.asarray(layer(jnp.abs(jnp.asarray(RNG.normal(size=(6, 3)))))) >= 0).all()
    assert layer.in_size == (2, 3) and list(layer.states()) == [("weight",)]
    x = jnp.asarray(RNG.normal(size=(6, 3)), jnp.float32)
    grads = param_grads(layer, lambda: jnp.sum(layer(x)))
    w = np.asarray(layer.weight.value)
    expected = np.sign(w) * np.asarray(x).sum(0)[:, None]  # d/dW sum(x @ |W|) = sign(W) * sum_b x
    np.testing.assert_allclose(grads[("weight",)], expected, rtol=1e-5)


def test_signed_w_linear_errors():
    with pytest.raises(bc.ConfigError, match=r"SignedWLinear w_sign of shape \(3, 3\) does not broadcast to the "
                                             r"weight shape \(4, 3\)"):
        nn.SignedWLinear(4, 3, w_sign=jnp.ones((3, 3)))
    with pytest.raises(bc.InputError, match=r"SignedWLinear\(4 -> 3\) got an input of shape \(2, 3\)"):
        nn.SignedWLinear(4, 3)(jnp.ones((2, 3)))


# -- SparseLinear ---------------------------------------------------------------------------------

def _pattern(n_in=6, n_out=4, density=0.4):
    dense = RNG.normal(size=(n_in, n_out)).astype(np.float32)
    return dense * (RNG.uniform(size=dense.shape) < density)


def _scipy(dense):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    return scipy_sparse.csr_matrix(dense)


@pytest.mark.parametrize("make", [lambda d: d, lambda d: jnp.asarray(d), sparse.BCOO.fromdense,
                                  lambda d: sparse.BCOO.fromdense(d, nse=int((d != 0).sum()) + 3), _scipy],
                         ids=["numpy", "jax", "bcoo", "bcoo-padded", "scipy"])
def test_sparse_linear_equals_the_dense_masked_product(make):
    dense = _pattern()
    layer = nn.SparseLinear(make(dense), b_init=nn.init.Normal())
    assert layer.weight.value["weight"].shape == (int((dense != 0).sum()),)
    np.testing.assert_array_equal(layer.to_dense(), dense)
    bias = np.asarray(layer.weight.value["bias"])
    for x_shape in [(6,), (2, 3, 6)]:
        x = RNG.normal(size=x_shape).astype(np.float32)
        np.testing.assert_allclose(layer(x), x @ (dense * (dense != 0)) + bias, rtol=1e-5, atol=1e-5)
    assert layer.out_size == (4,)


def test_sparse_linear_gradient_wrt_its_values(param_grads):
    dense = _pattern()
    layer = nn.SparseLinear(sparse.BCOO.fromdense(dense), in_size=(3, 6))
    assert layer.in_size == (3, 6) and layer.out_size == (3, 4) and "bias" not in layer.weight.value
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    c = RNG.normal(size=(3, 4)).astype(np.float32)
    grads = param_grads(layer, lambda: jnp.sum(layer(x) * c))
    rows, cols = layer.rows, layer.cols
    expected = (x[:, rows] * c[:, cols]).sum(0)  # dL/dM[r, c] = sum_b x[b, r] * c[b, c]
    np.testing.assert_allclose(grads[("weight",)]["weight"], expected, rtol=1e-5, atol=1e-6)
    layer.weight.value = {"weight": layer.weight.value["weight"] * 2}
    np.testing.assert_allclose(layer(x), x @ (2 * dense), rtol=1e-5, atol=1e-5)
    jitted = T.jit(lambda v: layer(v))
    np.testing.assert_allclose(jitted(x), x @ (2 * dense), rtol=1e-5, atol=1e-5)


def test_sparse_linear_integer_pattern_and_repeated_entries():
    layer = nn.SparseLinear(np.array([[1, 0], [0, 1], [1, 1]]))
    assert layer.weight.value["weight"].dtype == jnp.float32
    np.testing.assert_allclose(layer(jnp.array([1.0, 2.0, 3.0])), [4.0, 5.0])
    twice = sparse.BCOO((jnp.array([1.0, 2.0]), jnp.array([[0, 1], [0, 1]])), shape=(2, 2))
    np.testing.assert_allclose(nn.SparseLinear(twice)(jnp.array([1.0, 0.0])), [0.0, 3.0])
    assert "2 -> 2, 2 entries, bias=False" in repr(nn.SparseLinear(twice))


def test_sparse_linear_errors():
    with pytest.raises(bc.ConfigError, match=r"SparseLinear needs a 2-d \(n_in, n_out\) matrix, got an array of "
                                             r"shape \(2, 2, 2\)"):
        nn.SparseLinear(np.ones((2, 2, 2)))
    batched = sparse.BCOO.fromdense(jnp.ones((2, 3, 3)), n_batch=1)
    with pytest.raises(bc.ConfigError, match=r"SparseLinear needs a 2-d BCOO matrix without batch or dense axes"):
        nn.SparseLinear(batched)
    with pytest.raises(bc.ConfigError, match=r"SparseLinear in_size=\(5,\) must end with the matrix's 6 rows"):
        nn.SparseLinear(_pattern(), in_size=5)
    with pytest.raises(bc.InputError, match=r"SparseLinear\(6 -> 4\) got an input of shape \(2, 5\)"):
        nn.SparseLinear(_pattern())(jnp.ones((2, 5)))


# -- LoRA -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha, rank", [(None, 2), (4.0, 2), (1.0, 3)])
@pytest.mark.parametrize("with_base", [True, False])
def test_lora_is_base_plus_scaled_low_rank_update(alpha, rank, with_base):
    base = nn.Linear(5, 3, b_init=nn.init.Normal()) if with_base else None
    lora = nn.LoRA(5, rank, 3, base_module=base, lora_b_init=nn.init.Normal(), alpha=alpha)
    a, b = (np.asarray(lora.weight.value[k]) for k in ("lora_a", "lora_b"))
    assert a.shape == (5, rank) and b.shape == (rank, 3)
    scale = 1.0 if alpha is None else alpha / rank
    x = RNG.normal(size=(4, 5)).astype(np.float32)
    expected = scale * (x @ a @ b) + (np.asarray(base(x)) if with_base else 0.0)
    np.testing.assert_allclose(lora(x), expected, rtol=1e-5, atol=1e-5)


def test_lora_starts_at_the_base_and_trains_b_first(param_grads):
    base = nn.Linear(4, 2)
    lora = nn.LoRA(4, 2, 2, base_module=base, in_size=(3, 4))
    assert lora.in_size == (3, 4) and lora.out_size == (3, 2)
    x = jnp.asarray(RNG.normal(size=(3, 4)), jnp.float32)
    np.testing.assert_allclose(lora(x), base(x), rtol=1e-6)
    grads = T.jit(T.grad(lambda: jnp.sum(lora(x) ** 2), grad_states=lora.weight))()
    assert not np.asarray(grads["lora_a"]).any() and np.abs(np.asarray(grads["lora_b"])).sum() > 0
    assert "in_features=4, lora_rank=2, out_features=2" in repr(lora)


@pytest.mark.parametrize("kwargs, match", [
    (dict(base_module=3), r"LoRA base_module must be callable .* got 3"),
    (dict(in_size=(2, 5)), r"LoRA in_size=\(2, 5\) must end with in_features=4"),
])
def test_lora_config_errors(kwargs, match):
    with pytest.raises(bc.ConfigError, match=match):
        nn.LoRA(4, 2, 3, **kwargs)


@pytest.mark.parametrize("args, match", [((4, 0, 3), r"LoRA lora_rank must be a positive int, got 0"),
                                         ((4.0, 2, 3), r"LoRA in_features must be a positive int, got 4.0")])
def test_lora_size_errors(args, match):
    with pytest.raises(bc.ConfigError, match=match):
        nn.LoRA(*args)


def test_lora_input_error():
    with pytest.raises(bc.InputError, match=r"LoRA\(4 -> 3, rank 2\) got an input of shape \(2, 3\)"):
        nn.LoRA(4, 2, 3)(jnp.ones((2, 3)))


# -- ElementWiseBlock -----------------------------------------------------------------------------

def test_element_wise_block_is_a_module_marker():
    class Double(nn.ElementWiseBlock):
        def update(self, x):
            return 2 * x

    assert issubclass(nn.ElementWiseBlock, nn.Module) and nn.ElementWiseBlock.__module__ in ("brainstate_nn", "brainstate.nn")
    block = Double()
    assert isinstance(block, nn.ElementWiseBlock) and not block.states()
    net = nn.Sequential(nn.Linear(3, 2), block)
    np.testing.assert_allclose(net(jnp.ones(3)), 2 * net[0](jnp.ones(3)), rtol=1e-6)
    with pytest.raises(NotImplementedError, match=r"ElementWiseBlock defines no computation"):
        nn.ElementWiseBlock()(1.0)


# -- clip_grad_norm -------------------------------------------------------------------------------

def _tree():
    return {"w": jnp.asarray(RNG.normal(size=(3, 4)), jnp.float32), "b": [jnp.asarray(RNG.normal(size=5), jnp.float32),
                                                                        jnp.asarray(-7.5, jnp.float32)]}


def _np_norm(tree, p):
    flat = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in jax.tree.leaves(tree)])
    return np.linalg.norm(flat, ord=p)


@pytest.mark.parametrize("norm_type, p", [(2, 2), (2.0, 2), (None, 2), (1, 1), (3.5, 3.5), ("inf", np.inf),
                                          (math.inf, np.inf), ("-inf", -np.inf)])
def test_clip_grad_norm_matches_numpy(norm_type, p):
    tree = _tree()
    expected = _np_norm(tree, p)
    for max_norm in (0.5 * expected, 1e6):
        clipped, norm = nn.clip_grad_norm(tree, max_norm, norm_type=norm_type, return_norm=True)
        np.testing.assert_allclose(norm, expected, rtol=1e-5)
        factor = min(1.0, max_norm / (expected + 1e-6))
        for got, orig in zip(jax.tree.leaves(clipped), jax.tree.leaves(tree)):
            np.testing.assert_allclose(got, np.asarray(orig) * factor, rtol=1e-5, atol=1e-7)
        assert jax.tree.structure(clipped) == jax.tree.structure(tree)
        np.testing.assert_allclose(_np_norm(clipped, p), min(max_norm, expected), rtol=1e-4)


def test_clip_grad_norm_without_norm_under_jit_and_empty():
    tree = _tree()
    clipped = nn.clip_grad_norm(tree, 1.0)
    assert isinstance(clipped, dict) and np.isclose(_np_norm(clipped, 2), 1.0, rtol=1e-4)
    jitted = jax.jit(lambda g, m: nn.clip_grad_norm(g, m, norm_type="inf", return_norm=True))
    out, norm = jitted(tree, jnp.float32(2.0))
    np.testing.assert_allclose(norm, 7.5, rtol=1e-6)
    np.testing.assert_allclose(out["b"][1], -2.0, rtol=1e-5)
    empty, zero = nn.clip_grad_norm({}, 1.0, return_norm=True)
    assert empty == {} and float(zero) == 0.0
    half = nn.clip_grad_norm({"h": jnp.full(4, 3.0, jnp.bfloat16)}, 1.0)
    assert half["h"].dtype == jnp.bfloat16


@pytest.mark.parametrize("norm_type", [0.5, 0, "fro", True, -2])
def test_clip_grad_norm_rejects_bad_norm_types(norm_type):
    with pytest.raises(bc.ConfigError, match=r"clip_grad_norm norm_type must be a number >= 1, 'inf' or '-inf', "
                                             rf"got {norm_type!r}"):
        nn.clip_grad_norm(_tree(), 1.0, norm_type=norm_type)
