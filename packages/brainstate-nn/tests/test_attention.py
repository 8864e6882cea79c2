"""MultiHeadAttention against a NumPy reference: shapes, masks, cross-attention, gradients."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

RNG = np.random.default_rng(0)


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_mha(mha, q_in, kv_in, mask=None):
    def proj(layer, x):
        p = {k: np.asarray(v, np.float64) for k, v in layer.weight.value.items()}
        return x @ p["weight"] + p.get("bias", 0)

    h, d = mha.num_heads, mha.head_dim
    q = proj(mha.query, q_in).reshape(*q_in.shape[:-1], h, d)
    k = proj(mha.key, kv_in).reshape(*kv_in.shape[:-1], h, d)
    v = proj(mha.value, kv_in).reshape(*kv_in.shape[:-1], h, d)
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d)
    if mask is not None:
        scores = np.where(mask, scores, -1e30)
    out = np.einsum("bhqk,bkhd->bqhd", _softmax(scores), v).reshape(*q_in.shape[:-1], h * d)
    return proj(mha.out, out)


@pytest.mark.parametrize("heads, qkv, out", [(1, None, None), (4, 16, 6)])
def test_self_attention_matches_numpy(heads, qkv, out):
    mha = nn.MultiHeadAttention(8, heads, qkv_features=qkv, out_features=out, b_init=nn.init.Normal(scale=0.1))
    x = RNG.normal(size=(2, 5, 8)).astype(np.float32)
    y = mha(x)
    assert y.shape == (2, 5, out or 8)
    np.testing.assert_allclose(y, np_mha(mha, x, x), rtol=1e-4, atol=1e-4)


def test_cross_attention_and_causal_mask():
    mha = nn.MultiHeadAttention(8, 2)
    q = RNG.normal(size=(2, 3, 8)).astype(np.float32)
    kv = RNG.normal(size=(2, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(mha(q, kv), np_mha(mha, q, kv), rtol=1e-4, atol=1e-4)
    mask = nn.MultiHeadAttention.causal_mask(6)
    x = kv
    np.testing.assert_allclose(mha(x, mask=mask), np_mha(mha, x, x, np.asarray(mask)), rtol=1e-4, atol=1e-4)
    # causal: the first output ignores later positions
    y1 = mha(x, mask=mask)
    x2 = x.copy()
    x2[:, 1:] += 1.0
    np.testing.assert_allclose(mha(x2, mask=mask)[:, 0], y1[:, 0], rtol=1e-5, atol=1e-5)


def test_attention_dropout_only_while_training():
    mha = nn.MultiHeadAttention(4, 2, dropout_prob=0.5)
    x = jnp.ones((1, 3, 4))
    with bc.environ.context(fit=False):
        np.testing.assert_allclose(mha(x), np_mha(mha, np.ones((1, 3, 4)), np.ones((1, 3, 4))), rtol=1e-4, atol=1e-5)
    assert nn.MultiHeadAttention(4, 2).dropout is None


def test_gradient_flow(assert_grads_flow):
    mha = nn.MultiHeadAttention(4, 2, b_init=nn.init.Normal(scale=0.1))
    assert_grads_flow(mha, RNG.normal(size=(2, 3, 4)).astype(np.float32))


def test_functional_form_and_errors():
    q = RNG.normal(size=(1, 4, 2, 3)).astype(np.float32)
    y = nn.dot_product_attention(q, q, q)
    s = np.einsum("bqhd,bkhd->bhqk", q, q) / np.sqrt(3)
    np.testing.assert_allclose(y, np.einsum("bhqk,bkhd->bqhd", _softmax(s), q), rtol=1e-5, atol=1e-5)
    with pytest.raises(bc.ConfigError, match=r"num_heads=3 must divide qkv_features=8"):
        nn.MultiHeadAttention(8, 3)
