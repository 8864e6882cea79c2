"""Hodgkin-Huxley: rest, spike peak, rheobase and the onset of repetitive firing in the published range.

References for the classic squid-axon model at 6.3 C (rest -65 mV): the action potential peaks at
about +40 mV (an amplitude of ~100 mV from rest); a long current step evokes a single spike from
about 2-3 uA/cm^2 and repetitive firing from about 6.2-6.3 uA/cm^2 (the saddle-node of periodic
orbits, Rinzel & Miller 1980; the Hopf bifurcation is at ~9.8 uA/cm^2).
"""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.02
CURRENTS = np.round(np.arange(0.0, 12.01, 0.25), 2)


@pytest.fixture(scope="module")
def f_i():
    """Spike counts and peak V over 150 ms for step currents 0 ... 12 uA/cm^2, one neuron each."""
    with bc.environ.context(dt=DT):
        hh = nn.init_all_states(nn.HH(len(CURRENTS)))
        current = jnp.asarray(CURRENTS, jnp.float32)
        spikes, v = T.jit(lambda: T.for_loop(lambda i: (hh(current), hh.V.value), jnp.arange(int(150 / DT))))()
    return np.asarray(spikes).sum(0), np.asarray(v).max(0)


def test_rest_is_stable():
    with bc.environ.context(dt=DT):
        hh = nn.init_all_states(nn.HH(1))
        v = T.jit(lambda: T.for_loop(lambda i: (hh(0.0), hh.V.value)[1], jnp.arange(2000)))()
    assert np.abs(np.asarray(v) + 65.0).max() < 0.05   # the gates start at their steady state


def test_spike_peak_in_the_published_range(f_i):
    counts, peak = f_i
    assert ((peak[counts > 0] > 30.0) & (peak[counts > 0] < 50.0)).all()
    assert (peak[counts == 0] < -40.0).all()


def test_rheobase_and_repetitive_firing_onset(f_i):
    counts, _ = f_i
    rheobase = CURRENTS[np.argmax(counts > 0)]
    repetitive = CURRENTS[np.argmax(counts >= 3)]
    assert 2.0 <= rheobase <= 3.0, rheobase
    assert 6.0 <= repetitive <= 6.75, repetitive
    assert (np.diff(counts[CURRENTS >= repetitive]) >= 0).all()   # the rate grows with the current


def test_spike_is_stamped_once_per_upward_crossing():
    with bc.environ.context(dt=DT):
        hh = nn.init_all_states(nn.HH(1))
        s, v = T.jit(lambda: T.for_loop(lambda i: (hh(10.0), hh.V.value), jnp.arange(2500)))()
    s, v = np.asarray(s)[:, 0], np.asarray(v)[:, 0]
    crossings = np.nonzero((v[:-1] < 20.0) & (v[1:] >= 20.0))[0] + 1
    np.testing.assert_array_equal(np.nonzero(s)[0], crossings)


def test_units_per_area_and_gradients():
    gna = bc.ParamState(jnp.full(2, 120.0))
    with bc.environ.context(dt=DT):
        hh = nn.init_all_states(nn.HH(2, gNa=gna))

        def loss():
            return jnp.sum(T.for_loop(lambda i: hh(8.0) + 1e-3 * hh.V.value, jnp.arange(60)))

        g = T.jit(T.grad(loss, grad_states=[gna]))()
    assert np.isfinite(np.asarray(g[0])).all()
