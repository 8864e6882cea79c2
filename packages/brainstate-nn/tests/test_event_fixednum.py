"""EventFixedNumConn: the dense product of its synapses (values and gradients), upstream's arguments
(afferent_ratio, allow_multi_conn, param_type, conn_init) and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(5)
N_PRE, N_POST = 120, 80


def spikes(shape, p=0.2, graded=False):
    active = RNG.random(shape) < p
    return np.where(active, RNG.normal(size=shape), 0.0).astype(np.float32) if graded else active


@pytest.mark.parametrize("target", ["post", "pre"])
@pytest.mark.parametrize("ratio", [1.0, 0.4])
@pytest.mark.parametrize("kind", ["bool", "graded", "batch"])
def test_equals_the_dense_product_of_its_synapses(target, ratio, kind):
    conn = nn.EventFixedNumConn(N_PRE, N_POST, 6, conn_weight=0.7, efferent_target=target, afferent_ratio=ratio,
                                seed=2)
    assert isinstance(conn, nn.FixedNumConn)
    dense = np.zeros((N_PRE, N_POST))
    np.add.at(dense, (conn.pre, conn.post), 0.7)   # a repeated pair counts twice
    np.testing.assert_allclose(conn.to_dense(), dense, rtol=1e-6)
    x = spikes((4, N_PRE) if kind == "batch" else (N_PRE,), graded=kind == "graded")
    np.testing.assert_allclose(conn(x), x.astype(np.float64) @ dense, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("per_synapse", [False, True])
def test_gradients_match_the_dense_product(per_synapse):
    probe = nn.EventFixedNumConn(N_PRE, N_POST, 5, conn_weight=1.0, afferent_ratio=0.5, seed=3)
    weight = RNG.normal(size=probe.n_synapses).astype(np.float32) if per_synapse else 1.5
    conn = nn.EventFixedNumConn(N_PRE, N_POST, 5, conn_weight=weight, afferent_ratio=0.5, seed=3)
    assert np.array_equal(conn.pre, probe.pre) and np.array_equal(conn.post, probe.post)
    x = jnp.asarray(spikes((N_PRE,), 0.3, graded=True))
    target = jnp.asarray(RNG.normal(size=N_POST), jnp.float32)
    g_w, g_x = T.grad(lambda x: ((conn(x) - target) ** 2).sum(), grad_states=[conn.weight], argnums=0,
                      return_value=False)(x)
    g_w = g_w[0] if isinstance(g_w, (list, tuple)) else g_w
    ref_w, ref_x = jax.grad(lambda w, x: ((x @ w - target) ** 2).sum(), argnums=(0, 1))(conn.to_dense(), x)
    ref_w = np.asarray(ref_w)
    np.testing.assert_allclose(g_x, ref_x, rtol=1e-3, atol=1e-3)
    if per_synapse:
        np.testing.assert_allclose(g_w[conn.pre, conn._slot], ref_w[conn.pre, conn.post], rtol=1e-3, atol=1e-3)
    else:  # one weight for all synapses: the sum over them
        np.testing.assert_allclose(g_w, ref_w[conn.pre, conn.post].sum(), rtol=1e-3)


@pytest.mark.parametrize("target", ["post", "pre"])
def test_afferent_ratio_selects_rows(target):
    rows = N_PRE if target == "post" else N_POST
    conn = nn.EventFixedNumConn(N_PRE, N_POST, 4, conn_weight=1.0, efferent_target=target, afferent_ratio=0.3,
                                seed=9)
    degree = np.bincount(conn.pre if target == "post" else conn.post, minlength=rows)
    assert set(degree.tolist()) == {0, 4}
    np.testing.assert_array_equal(degree > 0, conn.pre_selected)
    assert stats.binomtest(int(conn.pre_selected.sum()), rows, 0.3).pvalue > 1e-3
    assert nn.EventFixedNumConn(N_PRE, N_POST, 4, 1.0, afferent_ratio=0.0, seed=1).n_synapses == 0


def test_upstream_defaults_allow_repeated_pairs_and_a_seed_repeats():
    a = nn.EventFixedNumConn(30, 10, 9, conn_weight=1.0, seed=4)   # 9 of 10 targets with replacement
    pairs = set(zip(a.pre.tolist(), a.post.tolist()))
    assert a.allow_multi_conn and len(pairs) < a.n_synapses == 270
    b = nn.EventFixedNumConn(30, 10, 9, conn_weight=1.0, seed=4)
    assert np.array_equal(a.pre, b.pre) and np.array_equal(a.post, b.post)
    c = nn.EventFixedNumConn(30, 10, 0.5, conn_weight=1.0, allow_multi_conn=False, seed=4)
    assert c.conn_num == 5 and len(set(zip(c.pre.tolist(), c.post.tolist()))) == c.n_synapses == 150


def test_param_type_and_conn_init():
    frozen = nn.EventFixedNumConn(20, 20, 3, conn_weight=0.5, param_type=bc.ShortTermState, conn_init="for_loop",
                                  seed=0)
    assert type(frozen.weight) is bc.ShortTermState and not frozen.states(bc.ParamState)
    np.testing.assert_allclose(frozen(np.ones(20, np.float32)), np.ones(20) @ np.asarray(frozen.to_dense()),
                               rtol=1e-6)
    assert type(nn.EventFixedNumConn(20, 20, 3, 0.5, seed=0).weight) is bc.ParamState


@pytest.mark.parametrize("make, match", [
    (lambda: nn.EventFixedNumConn(10, 10, 3, 1.0, conn_init="scan"), r"conn_init must be 'vmap' or 'for_loop'"),
    (lambda: nn.EventFixedNumConn(10, 10, 3, 1.0, param_type=float), r"param_type must be a State class"),
    (lambda: nn.EventFixedNumConn(10, 10, 3, 1.0, afferent_ratio=1.5), r"afferent_ratio must be in \[0, 1\]"),
    (lambda: nn.EventFixedNumConn(10, 10, 11, 1.0, allow_multi_conn=False), r"conn_num must be an int in \[0, 10\]"),
    (lambda: nn.EventFixedNumConn(10, 10, 3, 1.0, efferent_target="both"), r"efferent_target must be 'post' or 'pre'"),
    (lambda: nn.EventFixedNumConn(10, 10, 3, np.ones(4), seed=0), r"EventFixedNumConn weights have shape \(4,\)"),
])
def test_bad_configuration_raises(make, match):
    with pytest.raises(bc.ConfigError, match=match):
        make()


def test_conn_weight_is_required_as_upstream():
    with pytest.raises(TypeError, match=r"conn_weight"):
        nn.EventFixedNumConn(10, 10, 3)
