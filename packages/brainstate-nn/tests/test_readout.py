"""Read-out layers: the leaky rate integrator and the leaky spiking read-out."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.5


@pytest.fixture(autouse=True)
def _dt():
    with bc.environ.context(dt=DT):
        yield


def test_rate_readout_matches_numpy():
    w = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    ro = nn.init_all_states(nn.LeakyRateReadout(4, 3, tau=jnp.array([1.0, 5.0, 20.0]), w_init=w), batch_size=2)
    xs = np.random.default_rng(1).normal(size=(5, 2, 4)).astype(np.float32)
    r = np.zeros((2, 3))
    for x in xs:
        r = np.exp(-DT / np.array([1.0, 5.0, 20.0])) * r + x @ w
        out = ro(jnp.asarray(x))
    np.testing.assert_allclose(out, r, rtol=1e-5, atol=1e-5)
    assert ro.r.value.shape == (2, 3)


def test_spike_readout_matches_numpy_and_resets():
    w = 2 * np.eye(3, dtype=np.float32)
    ro = nn.init_all_states(nn.LeakySpikeReadout(3, tau=2.0, V_th=1.0, w_init=w, spk_reset="hard"))
    x = np.array([1.0, 0.5, 0.0], np.float32)
    v, outs = np.zeros(3), []
    for _ in range(6):
        v = np.where(v >= 1.0, 0.0, v)
        v = x @ w + (v - x @ w) * np.exp(-DT / 2.0)
        outs.append((v >= 1.0).astype(float))
        np.testing.assert_array_equal(ro(jnp.asarray(x)), outs[-1])
    np.testing.assert_allclose(ro.V.value, v, rtol=1e-5)
    assert np.stack(outs)[:, 0].sum() >= 2 and np.stack(outs)[:, 2].sum() == 0


def test_readouts_train():
    tau = bc.ParamState(jnp.full(3, 5.0))
    ro = nn.init_all_states(nn.LeakyRateReadout(4, 3, tau=tau))
    spikes = (np.random.default_rng(0).uniform(size=(20, 4)) < 0.3).astype(np.float32)

    def loss():
        return jnp.sum(T.for_loop(lambda s: ro(s), jnp.asarray(spikes))[-1] ** 2)

    g = T.jit(T.grad(loss, grad_states=[ro.weight, tau]))()
    for leaf in g:
        assert np.isfinite(np.asarray(leaf)).all() and np.abs(np.asarray(leaf)).sum() > 0


def test_readout_errors():
    ro = nn.init_all_states(nn.LeakyRateReadout(4, 3))
    with pytest.raises(bc.InputError, match=r"last axis has 4 features, got shape \(2, 5\).*Fix"):
        ro(jnp.ones((2, 5)))
    with pytest.raises(bc.ConfigError, match=r"LeakyRateReadout tau must be > 0"):
        nn.LeakyRateReadout(4, 3, tau=0.0)
    with pytest.raises(bc.ConfigError, match=r"LeakySpikeReadout V_th must be > 0"):
        nn.LeakySpikeReadout(4, V_th=-1.0)
