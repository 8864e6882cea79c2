"""Synapses: one step against NumPy, impulse responses against the analytic kernels, vmap and jit."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.1


def drive(syn, inputs, dt=DT):
    """Feed ``inputs[k]`` at step k (with environ t set) and return the outputs as a NumPy array."""
    out = []
    with bc.environ.context(dt=dt):
        nn.init_all_states(syn)
        for k, x in enumerate(inputs):
            with bc.environ.context(t=k * dt, i=k):
                out.append(np.asarray(syn(x)))
    return np.array(out)


def impulse(n_steps):
    return [1.0] + [0.0] * (n_steps - 1)


# -- one step against NumPy ----------------------------------------------------------------------
def test_expon_one_step_matches_numpy():
    syn = nn.Expon(3, tau=np.array([2.0, 5.0, 8.0]))
    with bc.environ.context(dt=DT):
        nn.init_all_states(syn)
        syn.g.value = jnp.array([1.0, 2.0, 3.0])
        g = syn(jnp.array([0.5, 0.0, 1.0]))
    expected = np.array([1.0, 2.0, 3.0]) * np.exp(-DT / np.array([2.0, 5.0, 8.0])) + [0.5, 0.0, 1.0]
    np.testing.assert_allclose(g, expected, rtol=1e-6)


def test_dual_expon_one_step_matches_numpy():
    syn = nn.DualExpon(1, tau_decay=10.0, tau_rise=2.0, A=3.0)
    with bc.environ.context(dt=DT):
        nn.init_all_states(syn)
        syn.g_rise.value, syn.g_decay.value = jnp.array([0.4]), jnp.array([0.7])
        out = syn(1.0)
    gr, gd = 0.4 * math.exp(-DT / 2.0) + 1.0, 0.7 * math.exp(-DT / 10.0) + 1.0
    t_peak = 2.0 * 10.0 / 8.0 * math.log(5.0)
    a = 3.0 / (math.exp(-t_peak / 10.0) - math.exp(-t_peak / 2.0))
    np.testing.assert_allclose(out, [a * (gd - gr)], rtol=1e-5)


def test_alpha_one_step_matches_exact_solution():
    tau = 4.0
    syn = nn.Alpha(1, tau=tau)
    with bc.environ.context(dt=DT):
        nn.init_all_states(syn)
        syn.g.value, syn.h.value = jnp.array([0.3]), jnp.array([0.6])
        g = syn(0.0)
    # the exact solution of tau g' = -g + h, tau h' = -h over dt
    e = math.exp(-DT / tau)
    np.testing.assert_allclose(g, [(0.3 + 0.6 * DT / tau) * e], rtol=1e-6)
    np.testing.assert_allclose(syn.h.value, [0.6 * e], rtol=1e-6)


@pytest.mark.parametrize("model, alpha, beta, T_max", [(nn.AMPA, 0.98, 0.18, 0.5), (nn.GABAa, 0.53, 0.18, 1.0)])
def test_markov_receptors_one_step_match_numpy(model, alpha, beta, T_max):
    syn = model(2)
    out = drive(syn, [np.array([1.0, 0.0])])
    rate = alpha * T_max + beta
    g_inf = alpha * T_max / rate
    np.testing.assert_allclose(out[0], [g_inf * (1 - math.exp(-DT * rate)), 0.0], rtol=1e-5, atol=1e-7)


def test_ampa_transmitter_lasts_T_dur_then_g_decays_with_beta():
    syn = nn.AMPA(1, T_dur=0.5)
    g = drive(syn, [1.0] + [0.0] * 29)[:, 0]
    # transmitter present in steps 0..4 (t - t_spike < 0.5 ms), absent from step 5 on
    np.testing.assert_allclose(g[6] / g[5], math.exp(-0.18 * DT), rtol=1e-5)
    assert np.all(np.diff(g[:5]) > 0)


def test_nmda_one_step_matches_numpy():
    syn = nn.NMDA(1, a=0.5, tau_decay=100.0, tau_rise=2.0)
    with bc.environ.context(dt=DT):
        nn.init_all_states(syn)
        syn.g.value, syn.x.value = jnp.array([0.2]), jnp.array([1.5])
        g = syn(1.0)
    x_mean = 1.5 * 2.0 * (1 - math.exp(-DT / 2.0)) / DT
    rate = 1 / 100.0 + 0.5 * x_mean
    g_inf = 0.5 * x_mean / rate
    np.testing.assert_allclose(g, [g_inf + (0.2 - g_inf) * math.exp(-DT * rate)], rtol=1e-5)
    np.testing.assert_allclose(syn.x.value, [1.5 * math.exp(-DT / 2.0) + 1.0], rtol=1e-6)


def test_nmda_matches_a_fine_rk4_reference():
    n, sub = 1500, 20
    g = drive(nn.NMDA(1), impulse(n))[:, 0]
    # RK4 with a 20x finer step of the same equations, x(0) = 1 just after the spike
    h, y, ref = DT / sub, np.array([0.0, 1.0]), [0.0]
    f = lambda y: np.array([-y[0] / 100.0 + 0.5 * y[1] * (1 - y[0]), -y[1] / 2.0])  # noqa: E731
    for _ in range(n - 1):
        for _ in range(sub):
            k1 = f(y); k2 = f(y + h / 2 * k1); k3 = f(y + h / 2 * k2); k4 = f(y + h * k3)  # noqa: E702
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ref.append(y[0])
    np.testing.assert_allclose(g, ref, atol=0.002 * max(ref))
    assert abs(g.argmax() - np.argmax(ref)) <= 2


# -- impulse responses ---------------------------------------------------------------------------
def test_expon_impulse_response_is_the_exponential_kernel():
    g = drive(nn.Expon(1, tau=5.0), impulse(200))[:, 0]
    t = np.arange(200) * DT
    np.testing.assert_allclose(g, np.exp(-t / 5.0), rtol=1e-5)


def test_dual_expon_impulse_response_peak_time_and_value():
    tr, td = 1.0, 10.0
    g = drive(nn.DualExpon(1, tau_decay=td, tau_rise=tr, A=2.0), impulse(600), dt=0.01)[:, 0]
    t = np.arange(600) * 0.01
    t_peak = tr * td / (td - tr) * np.log(td / tr)
    kernel = np.exp(-t / td) - np.exp(-t / tr)
    np.testing.assert_allclose(g, 2.0 * kernel / kernel.max(), atol=1e-4)
    assert abs(t[g.argmax()] - t_peak) <= 0.01
    np.testing.assert_allclose(g.max(), 2.0, rtol=1e-4)


def test_alpha_impulse_response_peaks_at_tau_with_1_over_e():
    tau = 3.0
    g = drive(nn.Alpha(1, tau=tau), impulse(300))[:, 0]
    t = np.arange(300) * DT
    np.testing.assert_allclose(g, t / tau * np.exp(-t / tau), atol=1e-6)
    np.testing.assert_allclose(t[g.argmax()], tau, atol=DT / 2)
    np.testing.assert_allclose(g.max(), 1 / math.e, rtol=1e-4)


# -- parameters, batches, transforms -------------------------------------------------------------
def test_trainable_tau_gets_a_gradient():
    tau = bc.ParamState(jnp.full(2, 5.0))
    syn = nn.Expon(2, tau=tau)
    with bc.environ.context(dt=DT):
        nn.init_all_states(syn)
        syn.g.value = jnp.ones(2)

        def loss():
            return jnp.sum(syn(0.0))

        grads = T.grad(loss, grad_states=[tau])()
    # d/dtau exp(-dt / tau) = dt / tau^2 exp(-dt / tau)
    np.testing.assert_allclose(grads[0], DT / 25.0 * math.exp(-DT / 5.0), rtol=1e-4)


MODELS = {
    "Expon": lambda: nn.Expon(3, tau=4.0),
    "DualExpon": lambda: nn.DualExpon(3, tau_decay=6.0, tau_rise=1.5),
    "Alpha": lambda: nn.Alpha(3, tau=3.0),
    "AMPA": lambda: nn.AMPA(3),
    "GABAa": lambda: nn.GABAa(3),
    "NMDA": lambda: nn.NMDA(3),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_vmap_over_a_batch_equals_a_loop(name):
    make = MODELS[name]
    xs = (np.random.default_rng(0).random((4, 12, 3)) < 0.3).astype(np.float32)  # batch, steps, synapses

    def step(k, x, syn):
        with bc.environ.context(t=k * DT):
            return syn(x)

    with bc.environ.context(dt=DT):
        syn = nn.init_all_states(make(), batch_size=4)
        batched = T.vmap(lambda x: T.for_loop(lambda k, xk: step(k, xk, syn), jnp.arange(12), x),
                         in_states=syn.states(bc.HiddenState))(jnp.asarray(xs))
        for b in range(4):
            single = nn.init_all_states(make())
            looped = T.for_loop(lambda k, xk, s=single: step(k, xk, s), jnp.arange(12), jnp.asarray(xs[b]))
            np.testing.assert_allclose(np.asarray(batched)[b], looped, rtol=1e-5, atol=1e-7)


def test_runs_inside_for_loop_under_jit():
    with bc.environ.context(dt=DT):
        syn = nn.init_all_states(nn.Expon(2, tau=2.0))
        x = jnp.zeros((50, 2)).at[0].set(1.0)
        out = T.jit(lambda xs: T.for_loop(syn, xs))(x)
    np.testing.assert_allclose(out[:, 0], np.exp(-np.arange(50) * DT / 2.0), rtol=1e-5)


def test_delta_inputs_add_to_the_jump():
    with bc.environ.context(dt=DT):
        syn = nn.init_all_states(nn.Expon(1, tau=2.0))
        syn.add_delta_input("extra", lambda: 0.25)
        g = syn(1.0)
    np.testing.assert_allclose(g, [1.25])


@pytest.mark.parametrize("make, pattern", [
    (lambda: nn.Expon(2, tau=-1.0), r"Expon tau must be > 0"),
    (lambda: nn.Expon(2, tau=np.ones(3)), r"Expon tau has shape \(3,\).*population shape \(2,\)"),
    (lambda: nn.DualExpon(2, tau_decay=1.0, tau_rise=2.0), r"tau_decay > tau_rise.*Fix"),
    (lambda: nn.NMDA(2, tau_rise=0.0), r"NMDA tau_rise must be > 0.*Fix"),
    (lambda: nn.Alpha(0), r"in_size must be a positive int"),
])
def test_bad_parameters_raise_config_errors(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_brainunit_quantities_are_converted_and_wrong_dimensions_named():
    u = pytest.importorskip("brainunit")
    assert nn.Expon(2, tau=5 * u.ms).tau == 5.0
    assert nn.STP(1, tau_f=1 * u.second).tau_f == 1000.0
    assert nn.PoissonSpike(3, freqs=10 * u.Hz).freqs == 10.0
    assert nn.COBA(E=-80 * u.mV).E == -80.0
    np.testing.assert_allclose(nn.SpikeTime(2, [0, 1], u.math.asarray([1.0, 2.0]) * u.second).times, [1e3, 2e3])
    with pytest.raises(bc.ConfigError, match=r"tau must be a time, got the Quantity 5 mV.*Fix"):
        nn.Expon(2, tau=5 * u.mV)
    with bc.environ.context(dt=0.1 * u.ms):
        g = nn.init_all_states(nn.Expon(1, tau=5.0))(1.0)
    np.testing.assert_allclose(g, [1.0])
