"""STP / STD fixed points for regular trains, one step against NumPy, and the STDP window and bounds."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.5


def regular_train(model, period_steps, n_spikes):
    """The efficacies of ``n_spikes`` spikes, one every ``period_steps`` steps, run in one jitted loop."""
    spikes = jnp.zeros(period_steps * n_spikes).at[::period_steps].set(1.0)
    with bc.environ.context(dt=DT):
        nn.init_all_states(model)
        out = T.jit(lambda s: T.for_loop(lambda x: model(x[None])[0], s))(spikes)
    return np.asarray(out)[::period_steps]


@pytest.mark.parametrize("U, tau_f, tau_d, period", [(0.1, 500.0, 100.0, 40), (0.5, 50.0, 300.0, 20)])
def test_stp_steady_state_matches_the_analytic_fixed_point(U, tau_f, tau_d, period):
    eff = regular_train(nn.STP(1, U=U, tau_f=tau_f, tau_d=tau_d), period, 150)
    T_ = period * DT
    ef, ed = math.exp(-T_ / tau_f), math.exp(-T_ / tau_d)
    u_minus = U * ef / (1 - (1 - U) * ef)
    u_plus = u_minus + U * (1 - u_minus)
    x_minus = (1 - ed) / (1 - (1 - u_plus) * ed)
    np.testing.assert_allclose(eff[-1], u_plus * x_minus, rtol=1e-4)
    np.testing.assert_allclose(eff[0], U, rtol=1e-6)


def test_stp_with_small_U_and_long_tau_f_facilitates():
    eff = regular_train(nn.STP(1, U=0.1, tau_f=500.0, tau_d=100.0), 40, 20)
    assert eff[1] > eff[0]


def test_std_steady_state_matches_the_analytic_fixed_point():
    tau, U, period = 200.0, 0.3, 30
    eff = regular_train(nn.STD(1, tau=tau, U=U), period, 200)
    e = math.exp(-period * DT / tau)
    np.testing.assert_allclose(eff[-1], (1 - e) / (1 - (1 - U) * e), rtol=1e-4)
    np.testing.assert_allclose(eff[0], 1.0)
    assert np.all(np.diff(eff) <= 1e-7)  # depression only


def test_stp_one_step_matches_numpy():
    stp = nn.STP(2, U=0.3, tau_f=100.0, tau_d=50.0)
    with bc.environ.context(dt=DT):
        nn.init_all_states(stp)
        stp.u.value, stp.x.value = jnp.array([0.4, 0.4]), jnp.array([0.6, 0.6])
        out = stp(jnp.array([1.0, 0.0]))
    u = 0.4 * math.exp(-DT / 100.0)
    x = 1 - 0.4 * math.exp(-DT / 50.0)
    u_plus = u + 0.3 * (1 - u)
    np.testing.assert_allclose(out, [u_plus * x, 0.0], rtol=1e-6)
    np.testing.assert_allclose(stp.u.value, [u_plus, u], rtol=1e-6)
    np.testing.assert_allclose(stp.x.value, [x - u_plus * x, x], rtol=1e-6)


def test_stp_under_vmap_equals_a_loop():
    spikes = (np.random.default_rng(1).random((3, 40, 2)) < 0.2).astype(np.float32)
    with bc.environ.context(dt=DT):
        stp = nn.init_all_states(nn.STP(2, U=0.2, tau_f=80.0, tau_d=60.0), batch_size=3)
        batched = T.vmap(lambda s: T.for_loop(stp, s), in_states=stp.states(bc.HiddenState))(jnp.asarray(spikes))
        for b in range(3):
            single = nn.init_all_states(nn.STP(2, U=0.2, tau_f=80.0, tau_d=60.0))
            looped = np.array([np.asarray(single(jnp.asarray(s))) for s in spikes[b]])
            np.testing.assert_allclose(batched[b], looped, rtol=1e-5, atol=1e-7)


# -- STDP ----------------------------------------------------------------------------------------
def pair_change(delta_steps, **kw):
    """The weight change of one pre/post pair with t_post - t_pre = delta_steps * DT."""
    w0 = kw.pop("w0", 0.5)
    stdp = nn.STDP(1, 1, weight=w0, **kw)
    n = abs(delta_steps) + 5
    pre, post = np.zeros((n, 1)), np.zeros((n, 1))
    first = 2
    pre[first if delta_steps >= 0 else first - delta_steps] = 1
    post[first + delta_steps if delta_steps >= 0 else first] = 1
    with bc.environ.context(dt=DT):
        nn.init_all_states(stdp)
        for a, b in zip(pre, post):
            w = stdp(a, b)
    return float(w[0, 0]) - w0


def test_stdp_window_is_exponential_on_both_sides():
    A_plus, A_minus, tau_plus, tau_minus = 0.01, 0.012, 16.8, 33.7
    kw = dict(A_plus=A_plus, A_minus=A_minus, tau_plus=tau_plus, tau_minus=tau_minus)
    for d in (1, 4, 20, 60):
        np.testing.assert_allclose(pair_change(d, **kw), A_plus * math.exp(-d * DT / tau_plus), rtol=1e-4)
        np.testing.assert_allclose(pair_change(-d, **kw), -A_minus * math.exp(-d * DT / tau_minus), rtol=1e-4)
    assert pair_change(0, **kw) == 0.0  # spikes of the same step do not pair


def test_stdp_additive_bounds_clip():
    assert pair_change(1, A_plus=0.3, w0=0.9, w_max=1.0) == pytest.approx(0.1)  # clipped at w_max
    assert pair_change(-1, A_minus=0.3, w0=0.1, w_min=0.0) == pytest.approx(-0.1)


def test_stdp_multiplicative_bounds_scale_the_change():
    e = math.exp(-DT / 20.0)
    for w0 in (0.2, 0.8):
        np.testing.assert_allclose(pair_change(1, A_plus=0.1, w0=w0, bound="multiplicative"),
                                   0.1 * e * (1.0 - w0), rtol=1e-4)
        np.testing.assert_allclose(pair_change(-1, A_minus=0.1, w0=w0, bound="multiplicative"),
                                   -0.1 * e * (w0 - 0.0), rtol=1e-4)


def test_stdp_many_spikes_stay_within_bounds_under_jit():
    rng = np.random.default_rng(0)
    pre = jnp.asarray(rng.random((300, 8)) < 0.2, jnp.float32)
    post = jnp.asarray(rng.random((300, 5)) < 0.2, jnp.float32)
    for bound in ("additive", "multiplicative"):
        stdp = nn.STDP(8, 5, weight=0.5, A_plus=0.05, A_minus=0.06, w_min=0.1, w_max=0.9, bound=bound)
        with bc.environ.context(dt=DT):
            nn.init_all_states(stdp)
            T.jit(lambda a, b, m=stdp: T.for_loop(m, a, b))(pre, post)
        w = np.asarray(stdp.weight.value)
        assert w.min() >= 0.1 and w.max() <= 0.9 and np.std(w) > 0


def test_stdp_updates_a_given_state_in_place():
    w = bc.State(jnp.full((2, 3), 0.4))
    stdp = nn.init_all_states(nn.STDP(2, 3, weight=w))
    assert stdp.weight is w


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: nn.STP(2, U=1.5), bc.ConfigError, r"STP U must be in \(0, 1\].*Fix"),
    (lambda: nn.STD(2, tau=0.0), bc.ConfigError, r"STD tau must be > 0"),
    (lambda: nn.STDP(2, 2, bound="hard"), bc.ConfigError, r"bound must be 'additive' or 'multiplicative'"),
    (lambda: nn.STDP(2, 2, w_min=1.0, w_max=0.0), bc.ConfigError, r"w_min < w_max"),
    (lambda: nn.STDP(2, 2, weight=bc.State(jnp.ones((3, 2)))), bc.ConfigError, r"shape \(3, 2\), expected \(2, 2\)"),
])
def test_bad_parameters_raise(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_stdp_bad_spike_shape_raises_input_error():
    stdp = nn.init_all_states(nn.STDP(2, 3))
    with bc.environ.context(dt=DT), pytest.raises(bc.InputError, match=r"pre_spike has shape \(3,\).*Fix"):
        stdp(jnp.ones(3), jnp.ones(3))


def test_stp_parameters_are_trainable():
    U, tau_d = bc.ParamState(jnp.array(0.3)), bc.ParamState(jnp.array(50.0))
    stp = nn.STP(1, U=U, tau_f=100.0, tau_d=tau_d)
    spikes = jnp.zeros(40).at[::10].set(1.0)
    nn.init_all_states(stp)

    def loss():
        nn.reset_all_states(stp)
        return jnp.sum(T.for_loop(lambda s: stp(s[None]), spikes))

    with bc.environ.context(dt=DT):
        grads = T.grad(loss, grad_states=[U, tau_d])()
    assert all(np.isfinite(g) and g != 0 for g in map(float, grads))


def test_stdp_with_a_batch_sums_the_changes_of_the_samples():
    pre = jnp.array([[1.0], [1.0]])
    post = jnp.array([[1.0], [0.0]])
    with bc.environ.context(dt=DT):
        batched = nn.init_all_states(nn.STDP(1, 1, weight=0.5), batch_size=2)
        batched(pre, jnp.zeros((2, 1)))
        w = batched(jnp.zeros((2, 1)), post)
    # only sample 0 has a post spike after the pre spike: one pair's potentiation
    np.testing.assert_allclose(w[0, 0] - 0.5, 0.01 * math.exp(-DT / 20.0), rtol=1e-5)
    assert batched.pre_trace.value.shape == (2, 1)
