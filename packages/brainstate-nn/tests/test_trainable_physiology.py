"""Trainable physiology: per-neuron time constants and thresholds of LIF / ALIF as ParamStates or Params
with positivity constraints; their gradients through a short simulation against central finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

N, STEPS, DT = 3, 25, 1.0
DRIVE = jnp.array([1.3, 1.8, 2.6])


def smooth_spike(x):
    """A differentiable 'spike' (a steep sigmoid), so that finite differences see the same function as grad."""
    return jax.nn.sigmoid(3.0 * x)


def make(kind, wrap):
    """A neuron whose tau, V_th (and tau_a, beta for ALIF) are per-neuron trainable, wrapped by ``wrap``."""
    tau = wrap("tau", jnp.array([6.0, 9.0, 14.0]))
    v_th = wrap("V_th", jnp.array([0.8, 1.0, 1.3]))
    if kind == "LIF":
        return nn.LIF(N, tau=tau, V_th=v_th, V_reset=0.0, spk_fun=smooth_spike, spk_reset="soft")
    return nn.ALIF(N, tau=tau, V_th=v_th, V_reset=0.0, tau_a=wrap("tau_a", jnp.array([30.0, 60.0, 90.0])),
                   beta=wrap("beta", jnp.array([0.2, 0.4, 0.6])), spk_fun=smooth_spike, spk_reset="soft")


def param_state(name, value):
    return bc.ParamState(value)  # time constants are read through abs: positive whatever the optimiser does


def constrained(name, value):
    # tau > 0 and V_th > V_reset = 0 through softplus; beta is unconstrained
    return nn.Param(value, t=nn.IdentityT() if name == "beta" else nn.SoftplusT(0.0))


def simulate(neuron):
    nn.reset_all_states(neuron)
    spikes = T.for_loop(lambda i: neuron(DRIVE * (1.0 + 0.3 * jnp.sin(0.4 * i))), jnp.arange(STEPS))
    weights = jnp.linspace(1.0, 2.0, STEPS)[:, None]
    return jnp.sum(weights * spikes) + 0.1 * jnp.sum(neuron.V.value ** 2)


@pytest.mark.parametrize("wrap", [param_state, constrained], ids=["ParamState", "Param"])
@pytest.mark.parametrize("kind", ["LIF", "ALIF"])
def test_gradients_match_central_finite_differences(kind, wrap):
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(make(kind, wrap))
        params = neuron.states(bc.ParamState)
        assert len(params) == (2 if kind == "LIF" else 4)
        grads = T.jit(T.grad(lambda: simulate(neuron), grad_states=params))()
        loss = T.jit(lambda: simulate(neuron))
        for path, state in params.items():
            base = state.value
            g = np.asarray(grads[path])
            assert g.shape == (N,) and np.all(np.abs(g) > 1e-3), (path, g)  # every neuron's parameter matters
            fd = np.zeros(N)
            for i in range(N):
                eps = 2e-3 * max(1.0, abs(float(base[i])))
                state.value = base.at[i].add(eps)
                up = float(loss())
                state.value = base.at[i].add(-eps)
                down = float(loss())
                fd[i] = (up - down) / (2 * eps)
            state.value = base
            np.testing.assert_allclose(g, fd, rtol=2e-2, atol=2e-3, err_msg=f"{kind} {path}")


@pytest.mark.parametrize("kind", ["LIF", "ALIF"])
def test_param_and_param_state_give_the_same_dynamics(kind):
    with bc.environ.context(dt=DT):
        plain = nn.init_all_states(make(kind, lambda name, v: v))
        expected = float(T.jit(lambda: simulate(plain))())
        for wrap in (param_state, constrained):
            other = nn.init_all_states(make(kind, wrap))
            np.testing.assert_allclose(float(T.jit(lambda m=other: simulate(m))()), expected, rtol=1e-5)


def test_constraints_keep_time_constants_positive_after_a_step_through_zero():
    with bc.environ.context(dt=DT):
        tau_state = bc.ParamState(jnp.full(N, 5.0))
        tau_param = nn.Param(jnp.full(N, 5.0), t=nn.SoftplusT(0.0))
        a = nn.init_all_states(nn.LIF(N, tau=tau_state))
        b = nn.init_all_states(nn.LIF(N, tau=tau_param, V_th=nn.Param(jnp.ones(N), t=nn.SoftplusT(0.5))))
        tau_state.value = -tau_state.value          # an optimiser step through zero: read as |tau|
        tau_param.val.value = jnp.full(N, -30.0)    # far below: softplus keeps tau > 0
        b.V_th.val.value = jnp.full(N, -5.0)        # the threshold stays above 0.5
        out_a, out_b = a(jnp.full(N, 2.0)), b(jnp.full(N, 2.0))
        assert np.isfinite(np.asarray(out_a)).all() and np.isfinite(np.asarray(out_b)).all()
        assert float(jnp.min(tau_param.value())) > 0.0
        assert float(jnp.min(b.V_th.value())) > 0.5
        np.testing.assert_allclose(a.V.value, np.full(N, 2.0 * (1 - np.exp(-DT / 5.0))), rtol=1e-5)


def test_a_per_neuron_param_trains_with_bptt_and_its_values_stay_constrained():
    with bc.environ.context(dt=DT):
        tau = nn.Param(jnp.array([4.0, 8.0, 16.0]), t=nn.SoftplusT(1.0))
        neuron = nn.init_all_states(nn.LIF(N, tau=tau, spk_fun=smooth_spike))
        opt = nn.optim.Adam(0.5, params=neuron.states(bc.ParamState))
        target = 0.2

        @T.jit
        def step():
            grads, loss = T.grad(lambda: (simulate(neuron) / STEPS - target) ** 2, grad_states=opt.param_states,
                                 return_value=True)()
            opt.update(grads)
            return loss

        losses = [float(step()) for _ in range(40)]
        assert losses[-1] < 0.1 * losses[0]
        assert float(jnp.min(tau.value())) > 1.0    # SoftplusT(1.0): tau > 1 ms however far the optimiser goes


def test_param_shapes_and_signs_are_checked_like_plain_values():
    with pytest.raises(bc.ConfigError, match=r"LIF tau must be > 0.*Fix"):
        nn.LIF(N, tau=nn.Param(jnp.array([1.0, -1.0, 2.0])))
    with pytest.raises(bc.ConfigError, match=r"ALIF tau_a has shape \(2,\), which does not broadcast.*\(3,\)"):
        nn.ALIF(N, tau_a=nn.Param(jnp.ones(2), t=nn.SoftplusT(0.0)))


def test_neurons_that_do_not_read_params_still_reject_them():
    # the nonlinear neurons read their parameters through abs only: a Param there is refused, as before
    with pytest.raises(bc.ConfigError, match=r"ExpIF tau must be a number or an array, got Param"):
        nn.ExpIF(N, tau=nn.Param(jnp.full(N, 5.0), t=nn.SoftplusT(0.0)))
