"""Connectivity layers against the dense product (values and gradients), and the statistics of the random draws."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)


def inputs(kind, shape, p=0.1):
    active = RNG.random(shape) < p
    if kind == "bool":
        return active
    if kind == "graded":
        return np.where(active, RNG.normal(size=shape), 0.0).astype(np.float32)
    return active.astype(np.float32)


@functools.cache
def layers():
    sparse = nn.EventFixedProb(300, 200, 0.1, conn_weight=0.5, seed=3)
    return {
        "EventLinear": nn.EventLinear(300, 200),
        "EventFixedProb": sparse,
        "SparseConn per-synapse": nn.SparseConn(300, 200, sparse.pre, sparse.post,
                                                conn_weight=RNG.normal(size=sparse.n_synapses)),
        "FixedNumConn pre": nn.FixedNumConn(300, 200, 20, conn_weight=-1.5, efferent_target="pre", seed=1),
        "FixedNumConn multi": nn.FixedNumConn(300, 200, 0.1, conn_weight=2.0, allow_multi_conn=True, seed=2),
        "AllToAll": nn.AllToAll(300, 200, w_init=RNG.normal(size=(300, 200))),
    }


def dense_of(layer):
    if isinstance(layer, nn.SparseConn):
        return np.asarray(layer.to_dense())
    if isinstance(layer, nn.AllToAll):
        return np.asarray(layer.weight.value["weight"])
    return np.asarray(layer.weight.value)


@pytest.mark.parametrize("name", list(layers()))
@pytest.mark.parametrize("kind, p", [("bool", 0.05), ("graded", 0.3), ("float", 0.0), ("bool", 1.0)])
def test_equals_the_dense_product(name, kind, p):
    layer = layers()[name]
    x = inputs(kind, (300,), p)
    np.testing.assert_allclose(layer(x), x.astype(np.float64) @ dense_of(layer), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["EventLinear", "EventFixedProb", "SparseConn per-synapse"])
def test_batches_and_vmap(name):
    layer = layers()[name]
    x = inputs("float", (4, 3, 300), 0.1)
    expected = x @ dense_of(layer)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(jax.vmap(layer)(x.reshape(12, 300)), expected.reshape(12, 200), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["EventLinear", "EventFixedProb", "SparseConn per-synapse", "FixedNumConn multi"])
def test_gradients_match_the_dense_product(name):
    layer = layers()[name]
    x = jnp.asarray(inputs("graded", (300,), 0.2))
    target = jnp.asarray(RNG.normal(size=200), jnp.float32)

    def loss(x):
        return ((layer(x) - target) ** 2).sum()

    g_w, g_x = T.grad(loss, grad_states=[layer.weight], argnums=0, return_value=False)(x)
    dense = jnp.asarray(dense_of(layer))
    ref_w, ref_x = jax.grad(lambda W, x: ((x @ W - target) ** 2).sum(), argnums=(0, 1))(dense, x)
    np.testing.assert_allclose(g_x, ref_x, rtol=1e-3, atol=1e-3)
    g_w = g_w[0] if isinstance(g_w, (list, tuple)) else g_w
    if isinstance(layer, nn.EventLinear):
        np.testing.assert_allclose(g_w, ref_w, rtol=1e-3, atol=1e-3)
    elif g_w.ndim == 0:  # one homogeneous weight: the sum over the synapses (a repeated pair counts twice)
        counts = np.zeros((300, 200))
        np.add.at(counts, (layer.pre, layer.post), 1.0)
        np.testing.assert_allclose(g_w, (np.asarray(ref_w) * counts).sum(), rtol=1e-3)
    else:  # per synapse
        np.testing.assert_allclose(g_w[layer.pre, layer._slot], np.asarray(ref_w)[layer.pre, layer.post], rtol=1e-3,
                                   atol=1e-3)


def test_event_fixed_prob_draws_each_pair_with_probability_p():
    n, p = 2000, 0.02
    conn = nn.EventFixedProb(n, n, p, include_self=False, seed=7)
    pairs = n * (n - 1)
    assert stats.binomtest(conn.n_synapses, pairs, p).pvalue > 1e-3
    assert (conn.pre != conn.post).all()
    assert len(set(zip(conn.pre.tolist(), conn.post.tolist()))) == conn.n_synapses  # no repeated pair
    out_degree = np.bincount(conn.pre, minlength=n)
    # out-degrees are Binomial(n - 1, p): compare mean and variance
    assert abs(out_degree.mean() - (n - 1) * p) < 4 * np.sqrt((n - 1) * p * (1 - p) / n)
    assert 0.85 < out_degree.var() / ((n - 1) * p * (1 - p)) < 1.15


def test_a_seed_gives_the_same_synapses():
    a, b = (nn.EventFixedProb(500, 400, 0.05, seed=11) for _ in range(2))
    c = nn.EventFixedProb(500, 400, 0.05, seed=12)
    assert np.array_equal(a.pre, b.pre) and np.array_equal(a.post, b.post)
    assert a.n_synapses != c.n_synapses or not np.array_equal(a.post, c.post)


@pytest.mark.parametrize("target", ["post", "pre"])
@pytest.mark.parametrize("include_self", [True, False])
def test_fixed_num_conn_degrees(target, include_self):
    conn = nn.FixedNumConn(100, 100, 7, efferent_target=target, include_self=include_self, seed=0)
    side = conn.pre if target == "post" else conn.post
    assert (np.bincount(side, minlength=100) == 7).all()
    assert len(set(zip(conn.pre.tolist(), conn.post.tolist()))) == 700
    if not include_self:
        assert (conn.pre != conn.post).all()


def test_one_to_one_and_all_to_all():
    x = jnp.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(nn.OneToOne(3, w_init=jnp.array([1.0, 2.0, 3.0]))(x), [1.0, 0.0, 6.0])
    w = RNG.normal(size=(3, 3)).astype(np.float32)
    np.testing.assert_allclose(nn.AllToAll(3, 3, w_init=w, include_self=False)(x), x @ (w * (1 - np.eye(3))),
                               rtol=1e-5)
    np.testing.assert_allclose(nn.AllToAll(3, 2, w_init=0.5)(x), [1.5, 1.5])


@pytest.mark.parametrize("make, params", [
    (lambda: nn.OneToOne((2, 3), b_init=nn.init.Normal()), {"weight": (2, 3), "bias": (2, 3)}),
    (lambda: nn.AllToAll((4, 3), (4, 2), b_init=nn.init.Normal()), {"weight": (3, 2), "bias": (2,)}),
    (lambda: nn.AllToAll(3, 2, w_init=0.5, b_init=1.0), {"weight": (), "bias": (2,)}),
])
def test_one_to_one_and_all_to_all_upstream_defaults_and_bias(make, params):
    layer = make()
    p = {k: np.asarray(v) for k, v in layer.weight.value.items()}
    assert {k: v.shape for k, v in p.items()} == params
    x = RNG.normal(size=(4,) + layer.in_size).astype(np.float32)
    w = p["weight"]
    if isinstance(layer, nn.OneToOne):
        expected = x * w + p["bias"]
    else:
        expected = (x.sum(-1, keepdims=True) * w if w.ndim == 0 else x @ w) + p["bias"]
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)
    assert layer(x).shape[1:] == layer.out_size


def test_one_to_one_and_all_to_all_param_type_and_sizes():
    class Weights(bc.ParamState):
        pass

    assert type(nn.OneToOne(3, param_type=Weights).weight) is Weights
    with pytest.raises(bc.ConfigError, match=r"AllToAll connects the last axes of in_size \(2, 3\) and out_size"):
        nn.AllToAll((2, 3), (3, 3))


@pytest.mark.parametrize("make, match", [
    (lambda: nn.EventFixedProb(10, 20, 0.1, include_self=False), r"include_self=False\) needs as many sources"),
    (lambda: nn.EventFixedProb(10, 10, 1.5), r"prob must be in \[0, 1\]"),
    (lambda: nn.FixedNumConn(10, 10, 11), r"conn_num must be an int in \[0, 10\].*allow_multi_conn"),
    (lambda: nn.FixedNumConn(10, 10, 3, efferent_target="both"), r"efferent_target must be 'post' or 'pre'"),
    (lambda: nn.SparseConn(3, 3, [0, 1], [0]), r"pre and post have 2 and 1 entries"),
    (lambda: nn.SparseConn(3, 3, [0, 5], [0, 1]), r"join sources in \[0, 3\)"),
    (lambda: nn.SparseConn(3, 3, [0, 1], [0, 1], conn_weight=np.ones(3)), r"weights have shape \(3,\), expected"),
    (lambda: nn.EventLinear(0, 3), r"in_size must be a positive int"),
])
def test_bad_configuration_raises(make, match):
    with pytest.raises(bc.ConfigError, match=match):
        make()


def test_wrong_input_shape_raises():
    with pytest.raises(bc.InputError, match=r"EventFixedProb expects inputs of shape \(\.\.\., 10\), got \(9,\)"):
        nn.EventFixedProb(10, 10, 0.5, seed=0)(jnp.ones(9))
