"""Synaptic outputs: COBA, CUBA and MgBlock against their formulas; the bind_cond protocol."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

V = np.linspace(-100.0, 40.0, 15)
G = np.linspace(0.0, 3.0, 15)


def test_coba_is_g_times_driving_force():
    np.testing.assert_allclose(nn.COBA(E=-80.0).update(G, V), G * (-80.0 - V), rtol=1e-6)


def test_cuba_scales_and_ignores_the_potential():
    np.testing.assert_allclose(nn.CUBA(scale=2.5).update(G, V), 2.5 * G, rtol=1e-6)
    np.testing.assert_allclose(nn.CUBA().update(G), G)


def test_mg_block_matches_jahr_stevens():
    out = nn.MgBlock(E=0.0, cc_Mg=1.2)
    jahr_stevens = 1.0 / (1.0 + 1.2 / 3.57 * np.exp(-0.062 * V))
    np.testing.assert_allclose(out.block(V), jahr_stevens, rtol=1e-5)
    np.testing.assert_allclose(out.update(G, V), G * (0.0 - V) * jahr_stevens, rtol=1e-5, atol=1e-6)


def test_nmda_with_mg_block_gives_the_jahr_stevens_current():
    syn, out = nn.NMDA(3), nn.MgBlock(E=0.0, cc_Mg=1.0)
    v = np.array([-70.0, -40.0, 0.0])
    with bc.environ.context(dt=0.1):
        nn.init_all_states(syn)
        syn(1.0)
        g = syn(0.0)
    current = out.update(g, v)
    expected = np.asarray(g) * (0.0 - v) / (1.0 + 1.0 / 3.57 * np.exp(-0.062 * v))
    np.testing.assert_allclose(current, expected, rtol=1e-5)


def test_mg_block_offset_shifts_the_curve():
    shifted = nn.MgBlock(V_offset=10.0)
    np.testing.assert_allclose(shifted.block(V + 10.0), nn.MgBlock().block(V), rtol=1e-6)


def test_bind_cond_then_call_with_the_potential():
    out = nn.COBA(E=0.0)
    with pytest.raises(bc.StateUsageError, match=r"COBA has no conductance.*bind_cond"):
        out(-60.0)
    out.bind_cond(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(out(jnp.array([-60.0, -50.0])), [60.0, 100.0])


def test_output_as_a_current_input_of_a_dynamics_module():
    class Cell(nn.Dynamics):
        def init_state(self, batch_size=None, **kw):
            self.init_hidden("V", -60.0, batch_size)

        def update(self):
            return self.sum_current_inputs(0.0, self.V.value)

    cell, syn, out = nn.init_all_states(Cell(2)), nn.Expon(2, tau=5.0), nn.COBA(E=0.0)
    with bc.environ.context(dt=0.1):
        nn.init_all_states(syn)
        cell.add_current_input("exc", lambda v: out.update(syn.g.value, v))
        syn(jnp.array([1.0, 0.5]))
        np.testing.assert_allclose(cell(), [60.0, 30.0], rtol=1e-6)


def test_trainable_reversal_potential():
    E = bc.ParamState(jnp.array(0.0))
    out = nn.COBA(E=E)
    grads = T.grad(lambda: jnp.sum(out.update(jnp.asarray(G), jnp.asarray(V))), grad_states=[E])()
    np.testing.assert_allclose(grads[0], G.sum(), rtol=1e-5)


@pytest.mark.parametrize("make, pattern", [
    (lambda: nn.COBA(E="zero"), r"COBA E must be a number or an array.*Fix"),
    (lambda: nn.MgBlock(beta=0.0), r"MgBlock beta must be > 0"),
    (lambda: nn.MgBlock(cc_Mg=-1.0), r"MgBlock cc_Mg must be >= 0 mM.*Fix"),
])
def test_bad_parameters_raise_config_errors(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()
