"""Spiking neurons: one step against NumPy, the reset and refractory convention, vmap, loops, gradients,
the LIF f-I curve against the analytic formula and the Izhikevich (2003) firing patterns."""

import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.1
N = 6
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _dt():
    with bc.environ.context(dt=DT):
        yield


def ee(f, j, x):
    """NumPy exponential Euler: ``x + (exp(j dt) - 1) / j * f``."""
    j = np.asarray(j, np.float64)
    phi = np.where(np.abs(j * DT) < 1e-9, DT, np.expm1(j * DT) / np.where(j == 0, 1, j))
    return x + phi * f


def _np(x):
    return np.asarray(x, np.float64)


# Per model: a constructor, initial states (half of V past the threshold, to test the reset), the input,
# and the NumPy reference of one step -> (new states, spikes).
def _lif_ref(m, s, x):
    v_th, v_reset = m.V_th, m.V_reset
    spk = (s["V"] >= v_th).astype(float)
    v = s["V"] - (v_th - v_reset) * spk if m.spk_reset == "soft" else np.where(spk > 0, v_reset, s["V"])
    v_inf = m.V_rest + m.R * x
    v = v_inf + (v - v_inf) * np.exp(-DT / m.tau)
    return {"V": v}, (v >= v_th).astype(float)


def _if_ref(m, s, x):
    spk = (s["V"] >= m.V_th).astype(float)
    v = s["V"] - m.V_th * spk if m.spk_reset == "soft" else np.where(spk > 0, 0.0, s["V"])
    v = m.R * x + (v - m.R * x) * np.exp(-DT / m.tau)
    return {"V": v}, (v >= m.V_th).astype(float)


def _lifref_ref(m, s, x):
    spk = (s["V"] >= m.V_th).astype(float)
    v0 = s["V"] - (m.V_th - m.V_reset) * spk if m.spk_reset == "soft" else np.where(spk > 0, m.V_reset, s["V"])
    v_inf = m.V_rest + m.R * x
    v = v_inf + (v0 - v_inf) * np.exp(-DT / m.tau)
    left = np.where(spk > 0, m.tau_ref, s["ref_left"])
    v = np.where(left > DT / 2, v0, v)
    return {"V": v, "ref_left": np.maximum(left - DT, 0)}, (v >= m.V_th).astype(float)


def _alif_ref(m, s, x):
    th = m.V_th + m.beta * s["a"]
    spk = (s["V"] >= th).astype(float)
    v = s["V"] - (m.V_th - m.V_reset) * spk if m.spk_reset == "soft" else np.where(spk > 0, m.V_reset, s["V"])
    v_inf = m.V_rest + m.R * x
    v = v_inf + (v - v_inf) * np.exp(-DT / m.tau)
    a = (s["a"] + spk) * np.exp(-DT / m.tau_a)
    return {"V": v, "a": a}, (v >= m.V_th + m.beta * a).astype(float)


def _cutoff_reset(m, s):
    spk = (s["V"] >= m.V_th).astype(float)
    return spk, np.where(spk > 0, m.V_reset, s["V"])  # clipped at V_th: soft and hard agree


def _expif_ref(m, s, x, w=0.0):
    spk, v0 = _cutoff_reset(m, s)
    e = np.exp((v0 - m.V_T) / m.delta_T)
    f = (-(v0 - m.V_rest) + m.delta_T * e - m.R * w + m.R * x) / m.tau
    v = np.minimum(ee(f, (-1 + e) / m.tau, v0), m.V_th)
    return {"V": v}, (v >= m.V_th).astype(float), spk, v0


def _adex_ref(m, s, x):
    spk = (s["V"] >= m.V_th).astype(float)
    w0 = s["w"] + m.b * spk
    out, spikes, _, v0 = _expif_ref(m, s, x, w0)
    out["w"] = ee((m.a * (v0 - m.V_rest) - w0) / m.tau_w, -1 / m.tau_w, w0)
    return out, spikes


def _quaif_ref(m, s, x):
    spk, v0 = _cutoff_reset(m, s)
    f = (m.c * (v0 - m.V_rest) * (v0 - m.V_c) + m.R * x) / m.tau
    v = np.minimum(ee(f, m.c * (2 * v0 - m.V_rest - m.V_c) / m.tau, v0), m.V_th)
    return {"V": v}, (v >= m.V_th).astype(float)


def _izh_ref(m, s, x):
    spk, v0 = _cutoff_reset(m, s)
    u0 = s["u"] + m.d * spk
    v = np.minimum(ee(0.04 * v0 ** 2 + 5 * v0 + 140 - u0 + x, 0.08 * v0 + 5, v0), m.V_th)
    u = ee(m.a * (m.b * v0 - u0), -m.a, u0)
    return {"V": v, "u": u}, (v >= m.V_th).astype(float)


def _hh_ref(m, s, x):
    v = s["V"]
    rates = {
        "m": (0.1 * (v + 40) / (1 - np.exp(-(v + 40) / 10)), 4 * np.exp(-(v + 65) / 18)),
        "h": (0.07 * np.exp(-(v + 65) / 20), 1 / (1 + np.exp(-(v + 35) / 10))),
        "n": (0.01 * (v + 55) / (1 - np.exp(-(v + 55) / 10)), 0.125 * np.exp(-(v + 65) / 80)),
    }
    out = {}
    for g, (a, b) in rates.items():
        inf = a / (a + b)
        out[g] = inf + (s[g] - inf) * np.exp(-(a + b) * DT)
    gm, gh, gn = s["m"], s["h"], s["n"]
    g_tot = m.gNa * gm ** 3 * gh + m.gK * gn ** 4 + m.gL
    i_ion = -(m.gNa * gm ** 3 * gh * (v - m.ENa) + m.gK * gn ** 4 * (v - m.EK) + m.gL * (v - m.EL))
    out["V"] = ee((i_ion + x) / m.C, -g_tot / m.C, v)
    spk = ((v < m.V_th) & (out["V"] >= m.V_th)).astype(float)
    out["spike"] = spk
    return out, spk


def _v(lo, hi, above, jitter=0.5):
    """Half past the threshold ``above`` (by up to ``jitter``), the last one just below it, the rest below."""
    v = RNG.uniform(lo, hi, N)
    v[: N // 2] = above + RNG.uniform(0, jitter, N // 2)
    v[-1] = above - 1e-3
    return v


def _alif_states():
    a = RNG.uniform(0, 2, N)
    a[-1] = 0.0
    v = _v(-0.2, 0.9, 1.6)
    v[-1] = 0.999   # just below its threshold V_th + beta * 0
    return {"V": v, "a": a}


MODELS = {
    "IF": (lambda r: nn.IF(N, R=2.0, tau=7.0, V_th=1.0, spk_reset=r), lambda: {"V": _v(-0.5, 0.9, 1.0)}, 0.8, _if_ref),
    "LIF": (lambda r: nn.LIF(N, R=1.5, tau=8.0, V_th=-50.0, V_reset=-70.0, V_rest=-65.0, spk_reset=r),
            lambda: {"V": _v(-70, -51, -50.0)}, 12.0, _lif_ref),
    "LIFRef": (lambda r: nn.LIFRef(N, tau=8.0, tau_ref=0.3, V_th=-50.0, V_reset=-70.0, V_rest=-65.0, spk_reset=r),
               lambda: {"V": _v(-70, -51, -50.0), "ref_left": np.array([0, 0, 0, 0.25, 0.1, 0.0])}, 20.0,
               _lifref_ref),
    "ALIF": (lambda r: nn.ALIF(N, tau=6.0, tau_a=50.0, beta=0.3, V_th=1.0, spk_reset=r),
             _alif_states, 1.3, _alif_ref),
    "ExpIF": (lambda r: nn.ExpIF(N, spk_reset=r), lambda: {"V": _v(-70, -45, -30.0, 0.0)}, 8.0, lambda m, s, x: _expif_ref(m, s, x)[:2]),
    "AdExIF": (lambda r: nn.AdExIF(N, a=0.5, b=3.0, tau_w=40.0, spk_reset=r),
               lambda: {"V": _v(-70, -45, -30.0, 0.0), "w": RNG.uniform(-1, 5, N)}, 8.0, _adex_ref),
    "QuaIF": (lambda r: nn.QuaIF(N, spk_reset=r), lambda: {"V": _v(-70, -45, -30.0, 0.0)}, 5.0, _quaif_ref),
    "Izhikevich": (lambda r: nn.Izhikevich(N, a=0.02, b=0.2, c=-55.0, d=4.0, spk_reset=r),
                   lambda: {"V": _v(-75, 0, 30.0, 0.0), "u": RNG.uniform(-16, -10, N)}, 10.0, _izh_ref),
    "HH": (lambda r: nn.HH(N), lambda: {"V": RNG.uniform(-75, 10, N), "m": RNG.uniform(0, 1, N),
                                         "h": RNG.uniform(0, 1, N), "n": RNG.uniform(0, 1, N)}, 10.0, _hh_ref),
}


class _Params:
    """The plain-number parameters of a model, as NumPy float64 (the reference's ``m``)."""

    def __init__(self, model):
        for k, v in vars(model).items():
            if isinstance(v, (float, jax.Array)):
                setattr(self, k, _np(v))
        self.spk_reset = model.spk_reset


def _build(name, reset="soft"):
    make, states, x, ref = MODELS[name]
    model = nn.init_all_states(make(reset))
    s = states()
    for k, v in s.items():
        getattr(model, k).value = jnp.asarray(v, jnp.float32)
    return model, s, x, ref


@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("name", list(MODELS))
def test_one_step_matches_numpy(name, reset):
    if name == "HH" and reset == "hard":
        pytest.skip("HH has no reset")
    model, s, x, ref = _build(name, reset)
    expected, spikes = ref(_Params(model), {k: _np(v) for k, v in s.items()}, x)
    out = model(x)
    for k, v in expected.items():
        np.testing.assert_allclose(getattr(model, k).value, v, rtol=2e-5, atol=2e-4, err_msg=k)
    np.testing.assert_array_equal(out, spikes)
    np.testing.assert_array_equal(model.get_spike(), spikes)
    if name != "HH":
        assert spikes.any() and not spikes.all()  # the inputs exercise both branches


def test_spike_is_stamped_when_v_reaches_threshold_and_reset_at_the_next_step():
    lif = nn.init_all_states(nn.LIF(1, tau=10.0, V_th=1.0, V_reset=0.0, spk_reset="hard"))
    lif.V.value = jnp.array([0.99])
    assert float(lif(5.0)[0]) == 1.0
    assert float(lif.V.value[0]) >= 1.0        # the state keeps the supra-threshold value ...
    lif(0.0)
    assert float(lif.V.value[0]) == 0.0         # ... and the next step starts from V_reset (no input)
    soft = nn.init_all_states(nn.LIF(1, V_th=1.0, V_reset=0.0))
    soft.V.value = jnp.array([1.25])
    soft(0.0)
    np.testing.assert_allclose(soft.V.value, [0.25 * np.exp(-DT / 5.0)], rtol=1e-6)   # overshoot kept


@pytest.mark.parametrize("tau_ref, steps", [(0.5, 5), (0.24, 2), (0.26, 3), (1.0, 10)])
def test_refractory_clamp_lasts_round_tau_ref_over_dt_steps(tau_ref, steps):
    n = nn.init_all_states(nn.LIFRef(1, tau=10.0, tau_ref=tau_ref, V_th=1.0, V_reset=0.0, spk_reset="hard"))
    n.V.value = jnp.array([1.0])     # a spike stamped at step 0
    held = 0
    while True:
        n(50.0)
        if float(n.V.value[0]) != 0.0:
            break
        held += 1
    assert held == steps


@pytest.mark.parametrize("make", [lambda: nn.ExpIF(1, tau_ref=1.0), lambda: nn.AdExIF(1, tau_ref=1.0),
                                  lambda: nn.QuaIF(1, tau_ref=1.0), lambda: nn.Izhikevich(1, tau_ref=1.0)])
def test_nonlinear_models_take_a_refractory_period(make):
    n = nn.init_all_states(make())
    n.V.value = n.V.value * 0 + n.V_th    # at the cut-off: a spike stamped at step 0
    held = []
    for _ in range(12):
        n(30.0)
        held.append(float(n.V.value[0]) == float(n.V_reset))
    assert held == [True] * 10 + [False] * 2


def _states(model):
    return model.states(bc.HiddenState)


@pytest.mark.parametrize("name", list(MODELS))
def test_vmap_over_a_batch_matches_a_loop(name):
    make, states, x, _ = MODELS[name]
    batch, steps = 3, 4
    inits = [states() for _ in range(batch)]
    xs = jnp.asarray(x * RNG.uniform(0.5, 1.5, (steps, batch, N)), jnp.float32)
    single = nn.init_all_states(make("soft"))
    run_single = T.jit(lambda xs: T.for_loop(lambda xi: single(xi), xs))
    expected = []
    for b in range(batch):   # one lane at a time through the unbatched model (one compilation)
        for k, v in inits[b].items():
            getattr(single, k).value = jnp.asarray(v, jnp.float32)
        expected.append(np.asarray(run_single(xs[:, b])))
    model = nn.init_all_states(make("soft"), batch_size=batch)
    for k in inits[0]:
        getattr(model, k).value = jnp.asarray(np.stack([i[k] for i in inits]), jnp.float32)
    step = T.vmap(lambda xi: model(xi), in_states=_states(model))
    got = T.jit(lambda xs: T.for_loop(step, xs))(xs)
    np.testing.assert_array_equal(got, np.stack(expected, axis=1))
    np.testing.assert_allclose(model.V.value[-1], single.V.value, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(MODELS))
def test_for_loop_under_jit_matches_single_steps(name):
    make, states, x, _ = MODELS[name]
    init = states()
    xs = jnp.asarray(x * RNG.uniform(0.5, 1.5, (20, N)), jnp.float32)
    stepped, looped = (nn.init_all_states(make("soft")) for _ in range(2))
    for m in (stepped, looped):
        for k, v in init.items():
            getattr(m, k).value = jnp.asarray(v, jnp.float32)
    step = T.jit(lambda xi: stepped(xi))
    want = np.stack([np.asarray(step(xi)) for xi in xs])
    got = T.jit(lambda: T.for_loop(lambda xi: looped(xi), xs))()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(looped.V.value, stepped.V.value, rtol=1e-5, atol=1e-4)


TRAINABLE = {
    "IF": lambda tau: nn.IF(N, tau=tau, V_th=0.5),
    "LIF": lambda tau: nn.LIF(N, tau=tau, V_th=0.5),
    "LIFRef": lambda tau: nn.LIFRef(N, tau=tau, tau_ref=0.5, V_th=0.5),
    "ALIF": lambda tau: nn.ALIF(N, tau=tau, V_th=0.5),
    "ExpIF": lambda tau: nn.ExpIF(N, tau=tau),
    "AdExIF": lambda tau: nn.AdExIF(N, tau=tau),
    "QuaIF": lambda tau: nn.QuaIF(N, tau=tau),
    "LeakySpikeReadout": lambda tau: nn.LeakySpikeReadout(N, tau=tau, V_th=0.5, w_init=jnp.eye(N)),
}
DRIVE = {"ExpIF": 12.0, "AdExIF": 15.0, "QuaIF": 8.0}


@pytest.mark.parametrize("name", list(TRAINABLE))
def test_grad_through_a_trainable_time_constant_is_finite(name):
    tau = bc.ParamState(jnp.full(N, 8.0))
    model = nn.init_all_states(TRAINABLE[name](tau))
    drive = jnp.linspace(0.5, 1.5, N) * DRIVE.get(name, 1.0)

    def loss():
        out = T.for_loop(lambda i: model(drive), jnp.arange(30))
        return jnp.sum(out) + jnp.sum(model.V.value ** 2) * 1e-3

    g = T.jit(T.grad(loss, grad_states=[tau]))()
    g = np.asarray(jax.tree.leaves(g)[0])
    assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_trainable_time_constant_is_read_through_abs():
    tau = bc.ParamState(jnp.full(2, 5.0))
    a, b = (nn.init_all_states(nn.LIF(2, tau=t)) for t in (tau, 5.0))
    tau.value = -tau.value    # an optimiser step through zero
    np.testing.assert_allclose(a(2.0), b(2.0))
    np.testing.assert_allclose(a.V.value, b.V.value)


def test_per_neuron_parameters_and_batch_axis():
    lif = nn.init_all_states(nn.LIF(3, tau=jnp.array([2.0, 5.0, 10.0])), batch_size=4)
    lif(jnp.ones((4, 3)))
    v = np.asarray(lif.V.value)
    assert v.shape == (4, 3)
    np.testing.assert_allclose(v[0], 1 - np.exp(-DT / np.array([2.0, 5.0, 10.0])), rtol=1e-5)


def test_current_and_delta_inputs_reach_the_membrane():
    lif = nn.init_all_states(nn.LIF(2, tau=10.0))
    lif.add_current_input("bias", lambda v: 2.0 + 0.0 * v)
    lif.add_delta_input("kick", jnp.array([0.5, 0.0]))
    lif(1.0)
    base = 3.0 * (1 - np.exp(-DT / 10.0))
    np.testing.assert_allclose(lif.V.value, [base + 0.5, base], rtol=1e-5)
    lif.reset_state()
    lif(1.0)   # the one-shot delta input was used up
    np.testing.assert_allclose(lif.V.value, [base, base], rtol=1e-5)


def test_conductance_input_sees_the_membrane_potential():
    lif = nn.init_all_states(nn.LIF(1, tau=10.0, V_rest=-65.0, V_reset=-65.0, V_th=-50.0, V_initializer=-65.0))
    seen = []
    lif.add_current_input("coba", lambda v: (seen.append(v), 0.5 * (0.0 - v))[1])
    lif(0.0)
    assert len(seen) == 1
    # dV/dt = (-(V + 65) - 0.5 V) / 10 is linear in V, so exponential Euler is exact
    v_inf, rate = -65 / 1.5, 1.5 / 10.0
    np.testing.assert_allclose(lif.V.value, v_inf + (-65 - v_inf) * np.exp(-rate * DT), rtol=1e-5)


@pytest.mark.parametrize("make, pattern", [
    (lambda: nn.LIF(0), r"in_size must be a positive int"),
    (lambda: nn.LIF((3, -1)), r"in_size must be a positive int"),
    (lambda: nn.LIF(3, tau=-1.0), r"LIF tau must be > 0.*Fix"),
    (lambda: nn.LIF(3, tau=jnp.array([1.0, 0.0, 2.0])), r"LIF tau must be > 0"),
    (lambda: nn.LIFRef(3, tau_ref=-0.5), r"LIFRef tau_ref must be >= 0"),
    (lambda: nn.ALIF(3, tau_a=0.0), r"ALIF tau_a must be > 0"),
    (lambda: nn.HH(3, C=-1.0), r"HH C must be > 0"),
    (lambda: nn.LIF(3, tau=jnp.ones(4)), r"LIF tau has shape \(4,\).*population shape \(3,\).*Fix"),
    (lambda: nn.LIF(3, spk_reset="sometimes"), r"spk_reset must be 'soft' or 'hard', got 'sometimes'.*Fix"),
    (lambda: nn.LIF(3, spk_fun="relu"), r"spk_fun must be callable.*Fix"),
    (lambda: nn.LIF(3, V_th="high"), r"LIF V_th must be a number or an array"),
])
def test_bad_configuration_raises_config_error(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_running_without_dt_names_the_fix():
    lif = nn.init_all_states(nn.LIF(2))
    errors = []

    def run():   # a new thread sees no context of this one (and no global dt is set by the tests)
        try:
            lif(1.0)
        except Exception as e:  # noqa: BLE001 - checked below
            errors.append(e)

    if bc.environ.get("dt", default=None) is not DT:
        pytest.skip("dt is only set by this test's context")
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if bc.environ.all().get("dt") is not None and not errors:
        pytest.skip("a global dt is set")
    assert isinstance(errors[0], bc.EnvironKeyError) and "environ.set(dt=" in str(errors[0])


def test_repr_and_public_home():
    assert repr(nn.LIF(3)).startswith("LIF(")
    assert nn.LIF.__module__ in ("brainstate_nn", "brainstate.nn")  # brainstate.nn once the meta-package is imported
    assert sys.modules[nn.LIF.__module__].LIF is nn.LIF


# -- validation: the LIF f-I curve ------------------------------------------------------------------
def test_lif_f_i_curve_matches_the_analytic_formula():
    """Rate = 1 / (t_ref + tau ln((V_inf - V_reset) / (V_inf - V_th))) within 1%, and the exact step count.

    Convention pinned here: a spike is stamped in the step where V reaches V_th; V restarts from V_reset
    after round(t_ref / dt) clamped steps; so the inter-spike interval is round(t_ref / dt) + ceil(T / dt)
    steps, with T the analytic time from V_reset to V_th.
    """
    dt, tau, t_ref, v_rest, v_th = 0.01, 10.0, 2.0, -65.0, -50.0
    currents = np.array([15.3, 16.1, 17.7, 20.3, 25.9, 31.7, 45.1, 60.3])
    v_inf = v_rest + currents
    period = tau * np.log((v_inf - v_rest) / (v_inf - v_th))
    with bc.environ.context(dt=dt):
        lif = nn.init_all_states(nn.LIFRef(len(currents), tau=tau, tau_ref=t_ref, V_th=v_th, V_reset=v_rest,
                                           V_rest=v_rest, V_initializer=v_rest, spk_reset="hard"))
        spikes = T.jit(lambda: T.for_loop(lambda i: lif(jnp.asarray(currents, jnp.float32)), jnp.arange(20000)))()
    spikes = np.asarray(spikes)
    for k in range(len(currents)):
        steps = np.nonzero(spikes[:, k])[0]
        isi = np.diff(steps)
        frac = period[k] / dt - np.floor(period[k] / dt)
        if 0.05 < frac < 0.95:   # away from float32 rounding at the step boundary
            assert set(isi) == {round(t_ref / dt) + int(np.ceil(period[k] / dt))}, currents[k]
        assert steps[0] == int(np.ceil(period[k] / dt)) - 1   # the first spike: no refractory period before it
        rate = 1.0 / (isi.mean() * dt)
        analytic = 1.0 / (t_ref + period[k])
        assert abs(rate - analytic) / analytic < 0.01, (currents[k], rate, analytic)


# -- validation: Izhikevich (2003) firing patterns -----------------------------------------------------
IZH = {"RS": (0.02, 0.2, -65, 8), "IB": (0.02, 0.2, -55, 4), "CH": (0.02, 0.2, -50, 2), "FS": (0.1, 0.2, -65, 2),
       "LTS": (0.02, 0.25, -65, 2), "TC": (0.02, 0.25, -65, 0.05), "RZ": (0.1, 0.26, -65, 2)}
IZH_NAMES = list(IZH)


@pytest.fixture(scope="module")
def izhikevich_runs():
    """The seven types side by side (per-neuron a, b, c, d), started at rest, under three protocols:

    * ``step``: I = 10 from t = 20 ms (the step of Izhikevich 2003, Fig. 2);
    * ``small``: I = 1 from t = 20 ms (TC's tonic mode, depolarised from rest);
    * ``rebound``: I = -10 for 20-120 ms, then 0 (TC's burst mode, after a hyperpolarisation);
    * ``pulse``: I = 1 for 2 ms at 20 ms (subthreshold: RZ's damped oscillation);
    * ``doublet_<gap>``: two such pulses (I = 1.1) ``gap`` ms apart (RZ's resonance: its damped
      oscillation has a period of ~41 ms, 2 pi / Im(eigenvalue) of the model linearised at rest).
    """
    a, b, c, d = (np.array([IZH[k][i] for k in IZH_NAMES], np.float32) for i in range(4))
    rest = (-(5 - b) - np.sqrt((5 - b) ** 2 - 4 * 0.04 * 140)) / 0.08   # stable fixed point with u = b V
    dt, steps = 0.1, 3000
    protocols = {name: np.zeros((steps, len(IZH_NAMES)), np.float32) for name in ("step", "small", "rebound", "pulse")}
    protocols["step"][200:] = 10.0
    protocols["small"][200:] = 1.0
    protocols["rebound"][200:1200] = -10.0
    protocols["pulse"][200:220] = 1.0
    for gap in (22, 42, 62):
        doublet = protocols[f"doublet_{gap}"] = np.zeros((steps, len(IZH_NAMES)), np.float32)
        doublet[200:220] = doublet[200 + 10 * gap:220 + 10 * gap] = 1.1
    with bc.environ.context(dt=dt):
        neurons = nn.init_all_states(nn.Izhikevich(len(IZH_NAMES), a=a, b=b, c=c, d=d, V_initializer=rest))

        def simulate(current):
            nn.reset_all_states(neurons)   # in place: the same States, traced once
            return T.for_loop(lambda x: (neurons(x), neurons.V.value), current)

        run = T.jit(simulate)
        out = {name: tuple(np.asarray(o) for o in run(jnp.asarray(cur))) for name, cur in protocols.items()}
    times = {name: {n: np.nonzero(s[:, k])[0] * dt for k, n in enumerate(IZH_NAMES)} for name, (s, _) in out.items()}
    return times, {name: v - rest for name, (_, v) in out.items()}


def _isi(times):
    return np.diff(times)


def test_izhikevich_rs_adapts(izhikevich_runs):
    isi = _isi(izhikevich_runs[0]["step"]["RS"])
    assert len(isi) >= 4 and isi.min() > 10.0          # tonic, no burst
    assert isi[-1] > 1.5 * isi[0]                       # spike-frequency adaptation


def test_izhikevich_ib_bursts_then_fires_tonically(izhikevich_runs):
    isi = _isi(izhikevich_runs[0]["step"]["IB"])
    assert (isi[:2] < 5.0).all()                        # an initial burst of three spikes
    assert len(isi) >= 6 and (isi[2:] > 20.0).all()     # then single spikes


def test_izhikevich_ch_fires_repeated_bursts(izhikevich_runs):
    isi = _isi(izhikevich_runs[0]["step"]["CH"])
    gaps = np.nonzero(isi > 20.0)[0]
    assert len(gaps) >= 3
    bursts = np.split(isi, gaps)
    assert all((burst[burst < 20.0] < 6.0).sum() >= 2 for burst in bursts[1:])   # every burst: >= 3 spikes


def test_izhikevich_fs_fires_fast_without_adaptation(izhikevich_runs):
    times = izhikevich_runs[0]["step"]["FS"]
    isi = _isi(times)
    assert len(times) / 0.28 > 100.0                    # > 100 Hz over the 280 ms step
    steady = isi[4:]
    assert steady.max() / steady.min() < 1.1 and isi[-1] < 1.2 * isi[4]


def test_izhikevich_lts_fires_adapting_high_rate_trains_and_a_rebound_spike(izhikevich_runs):
    times, _ = izhikevich_runs
    isi = _isi(times["step"]["LTS"])
    assert isi[0] < 5.0 and isi[-1] > 2.5 * isi[0] and isi.max() < 20.0   # high rate, adapting, no pauses
    assert len(times["rebound"]["LTS"]) >= 1 and len(times["rebound"]["RS"]) == 0


def test_izhikevich_tc_has_a_tonic_and_a_burst_mode(izhikevich_runs):
    times, _ = izhikevich_runs
    tonic = _isi(times["small"]["TC"])
    assert len(tonic) >= 4 and tonic[1:].min() > 15.0            # depolarised from rest: tonic firing
    after = times["rebound"]["TC"]
    after = after[after >= 120.0]
    assert len(after) >= 3 and after[0] < 130.0 and after[1] - after[0] < 10.0   # released: a rebound burst
    assert len(times["rebound"]["RS"]) == 0


def test_izhikevich_rz_oscillates_below_threshold(izhikevich_runs):
    times, dv = izhikevich_runs
    for name in IZH_NAMES:
        assert len(times["pulse"][name]) == 0
    crossings = {}
    for k, name in enumerate(IZH_NAMES):
        x = dv["pulse"][220:, k]
        x = x[np.abs(x) > 1e-2]
        crossings[name] = int(np.sum(np.diff(np.sign(x)) != 0))
    assert crossings["RZ"] >= 3                                   # a damped oscillation around rest
    assert max(v for n, v in crossings.items() if n != "RZ") <= 1
    undershoot = -dv["pulse"][220:, IZH_NAMES.index("RZ")].min() / dv["pulse"][220:, IZH_NAMES.index("RZ")].max()
    assert undershoot > 0.25


def test_izhikevich_rz_resonates_to_a_doublet_at_its_period(izhikevich_runs):
    times, _ = izhikevich_runs
    fired = {gap: len(times[f"doublet_{gap}"]["RZ"]) > 0 for gap in (22, 42, 62)}
    assert fired == {22: False, 42: True, 62: False}    # only the doublet at the resonant interval fires it
    assert all(len(times[f"doublet_{gap}"]["RS"]) == 0 for gap in (22, 42, 62))   # an integrator stays silent
