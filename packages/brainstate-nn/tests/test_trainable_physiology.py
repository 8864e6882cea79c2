"""Trainable physiology: per-neuron time constants and thresholds of LIF / ALIF as ParamStates or Params
with positivity constraints, their gradients through a short simulation against central finite differences;
and every other neuron model (IF, LIFRef, ExpIF, AdExIF, QuaIF, Izhikevich, HH) trains its parameters alike.
The trainable synaptic delays are tested in test_trainable_delays.py."""

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


# -- every neuron model takes ParamStates and Params ---------------------------------------------------
# model -> (constructor, the trainable parameters and their per-neuron initial values, dt, drive)
MODELS = {
    "IF": (nn.IF, {"tau": [4.0, 6.0], "V_th": [1.0, 1.5]}, 1.0, [1.8, 2.6]),
    "LIF": (nn.LIF, {"tau": [4.0, 6.0], "V_th": [1.0, 1.5]}, 1.0, [1.8, 2.6]),
    "LIFRef": (nn.LIFRef, {"tau": [4.0, 6.0], "tau_ref": [1.0, 2.0], "V_th": [1.0, 1.5]}, 1.0, [1.8, 2.6]),
    "ALIF": (nn.ALIF, {"tau": [4.0, 6.0], "tau_a": [40.0, 60.0], "V_th": [1.0, 1.5], "beta": [0.2, 0.3]},
             1.0, [1.8, 2.6]),
    "ExpIF": (nn.ExpIF, {"tau": [8.0, 12.0], "V_th": [-30.0, -35.0], "delta_T": [3.0, 4.0], "V_T": [-59.0, -58.0]},
              0.25, [12.0, 16.0]),
    "AdExIF": (nn.AdExIF, {"tau": [8.0, 12.0], "tau_w": [30.0, 50.0], "V_th": [-30.0, -35.0], "b": [1.0, 2.0]},
               0.25, [14.0, 18.0]),
    "QuaIF": (nn.QuaIF, {"tau": [8.0, 12.0], "V_th": [-30.0, -35.0], "V_c": [-50.0, -48.0], "c": [0.07, 0.08]},
              0.25, [16.0, 22.0]),
    "Izhikevich": (nn.Izhikevich, {"a": [0.02, 0.03], "b": [0.2, 0.22], "d": [8.0, 6.0], "V_th": [30.0, 28.0]},
                   0.25, [10.0, 14.0]),
    "HH": (nn.HH, {"C": [1.0, 1.2], "gNa": [120.0, 110.0], "gK": [36.0, 32.0], "V_th": [20.0, 15.0]},
           0.05, [10.0, 14.0]),
}
NO_GRADIENT = {"tau_ref"}  # the refractory clamp is a comparison: no gradient, by design
POSITIVE = {"tau", "tau_a", "tau_w", "tau_ref", "delta_T", "C", "gNa", "gK"}


def wrapped(wrap, name, value):
    value = jnp.asarray(value)
    if wrap == "ParamState":
        return bc.ParamState(value)
    return nn.Param(value, t=nn.SoftplusT(0.0) if name in POSITIVE else nn.IdentityT())


def build(model, wrap, steps=80):
    cls, params, dt, drive = MODELS[model]
    kwargs = {name: (jnp.asarray(v) if wrap == "plain" else wrapped(wrap, name, v)) for name, v in params.items()}
    # LIFRef's clamp starts at any spike value > 0: it needs a spike that is exactly 0 below threshold
    spk_fun = nn.surrogate.Sigmoid(alpha=3.0) if model == "LIFRef" else smooth_spike
    neuron = cls(2, spk_fun=spk_fun, **kwargs)
    drive = jnp.asarray(drive)

    def loss():
        nn.reset_all_states(neuron)
        spikes = T.for_loop(lambda i: neuron(drive * (1.0 + 0.2 * jnp.sin(0.3 * i))), jnp.arange(steps))
        return jnp.sum(spikes) + 1e-3 * jnp.sum(neuron.V.value ** 2)

    return neuron, loss, dt


@pytest.mark.parametrize("model, wrap", [(m, "Param") for m in sorted(MODELS)]
                         + [(m, "ParamState") for m in ("ExpIF", "Izhikevich")])
def test_every_neuron_model_trains_its_time_constants_and_thresholds(model, wrap):
    with bc.environ.context(dt=MODELS[model][2]):
        neuron, loss, _ = build(model, wrap)
        neuron = nn.init_all_states(neuron)
        params = neuron.states(bc.ParamState)
        assert {path[0] for path in params} == set(MODELS[model][1])   # each one is a trainable state
        plain, plain_loss, _ = build(model, "plain")
        nn.init_all_states(plain)
        expected = float(T.jit(plain_loss)())
        grads, value = T.jit(T.grad(loss, grad_states=params, return_value=True))()
        np.testing.assert_allclose(float(value), expected, rtol=1e-4)   # the same dynamics as plain arrays
        for path, g in grads.items():
            g = np.asarray(g)
            assert g.shape == (2,) and np.isfinite(g).all(), (path, g)
            if path[0] not in NO_GRADIENT:
                assert np.abs(g).min() > 0, (path, g)   # every neuron's parameter reaches the loss


@pytest.mark.parametrize("model", ["ExpIF", "HH", "Izhikevich"])
def test_params_of_the_other_models_are_checked_like_plain_values(model):
    cls, params, _, _ = MODELS[model]
    name = "tau" if "tau" in params else ("C" if model == "HH" else "V_th")
    with pytest.raises(bc.ConfigError, match=rf"{model} {name} has shape \(3,\), which does not broadcast.*\(2,\)"):
        cls(2, **{name: nn.Param(jnp.ones(3))})
    if name in POSITIVE:
        with pytest.raises(bc.ConfigError, match=rf"{model} {name} must be > 0.*Fix"):
            cls(2, **{name: nn.Param(jnp.array([1.0, -1.0]))})
