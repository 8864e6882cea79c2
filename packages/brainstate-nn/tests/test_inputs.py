"""Inputs: Poisson rates within statistical tolerance, spike times, and the current generators."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T

DT = 0.1


def loop(fn, n):
    """``fn()`` for n steps in one jitted for_loop, with environ dt, t and i set per step."""

    def body(i):
        with bc.environ.context(i=i, t=i * DT):
            return fn()

    with bc.environ.context(dt=DT):
        return np.asarray(T.jit(lambda: T.for_loop(body, jnp.arange(n)))())


def assert_poisson_counts(spikes, freqs):
    """Each source's spike count is within 5 standard deviations of ``rate * duration``."""
    expected = np.asarray(freqs) * spikes.shape[0] * DT / 1000
    counts = np.asarray(spikes).sum(axis=0)
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected)), (counts, expected)
    assert np.all(counts[expected == 0] == 0)


# -- Poisson -------------------------------------------------------------------------------------
def test_poisson_spike_rate_within_tolerance():
    n, steps, rate = 2000, 500, 40.0
    src = nn.PoissonSpike(n, freqs=rate)
    spikes = loop(src, steps)
    assert spikes.dtype == bool and spikes.shape == (steps, n)
    p = rate * DT / 1000
    expected, sd = n * steps * p, math.sqrt(n * steps * p * (1 - p))
    assert abs(spikes.sum() - expected) < 5 * sd
    # per-neuron rates as a function of the given rate
    np.testing.assert_allclose(nn.mean_firing_rate(spikes, dt=DT).mean(), rate, rtol=0.05)


def test_poisson_spike_per_neuron_rates_and_trainable_rates():
    rates = bc.ParamState(jnp.array([0.0, 100.0, 500.0]))
    src = nn.PoissonSpike(3, freqs=rates, spk_type=jnp.float32)
    spikes = loop(src, 20000)
    assert_poisson_counts(spikes, np.array([0.0, 100.0, 500.0]))


def test_poisson_encoder_follows_the_rates_given_at_each_step():
    enc = nn.PoissonEncoder((2, 3))
    freqs = jnp.array([[0.0, 50.0, 100.0], [200.0, 400.0, 800.0]])
    spikes = loop(lambda: enc(freqs), 20000)
    assert_poisson_counts(spikes, freqs)


@pytest.mark.parametrize("num_input, freq", [(10, 50.0), (100, 5.0), (2000, 50.0)])  # Bernoulli, binomial, normal
def test_poisson_input_mean_and_variance(num_input, freq):
    V = bc.HiddenState(jnp.zeros(5000))
    drive = nn.PoissonInput(V, None, num_input=num_input, freq=freq, weight=0.5)
    with bc.environ.context(dt=DT):
        T.jit(drive)()
    p = freq * DT / 1000
    counts = np.asarray(V.value) / 0.5
    np.testing.assert_allclose(counts.mean(), num_input * p, rtol=0.1)
    np.testing.assert_allclose(counts.var(), num_input * p * (1 - p), rtol=0.15)


def test_poisson_input_through_a_prefetch_and_with_indices():
    class Cell(nn.Dynamics):
        def init_state(self, batch_size=None, **kw):
            self.init_hidden("V", 0.0, batch_size)

    cell = nn.init_all_states(Cell(4))
    drive = nn.PoissonInput(cell.prefetch("V"), jnp.array([1, 3]), num_input=50, freq=2000.0, weight=1.0)
    with bc.environ.context(dt=DT):
        drive()
    v = np.asarray(cell.V.value)
    assert v[0] == v[2] == 0.0 and v[1] > 0 and v[3] > 0


def test_poisson_input_refractory_mask_leaves_those_untouched():
    V = bc.HiddenState(jnp.zeros(4))
    with bc.environ.context(dt=DT):
        nn.poisson_input(5000.0, 20, 1.0, V, refractory=jnp.array([True, False, True, False]))
    v = np.asarray(V.value)
    assert v[0] == v[2] == 0 and v[1] > 0 and v[3] > 0


def test_poisson_lanes_of_vmap_are_independent():
    src = nn.PoissonSpike(50, freqs=200.0)
    with bc.environ.context(dt=DT):
        spikes = T.vmap(lambda _: T.for_loop(lambda i: src(), jnp.arange(100)), axis_size=4)(jnp.arange(4))
    spikes = np.asarray(spikes)
    assert spikes.shape == (4, 100, 50)
    assert not np.array_equal(spikes[0], spikes[1])


def test_poisson_spike_is_reproducible_with_a_seed():
    src = nn.PoissonSpike(100, freqs=300.0)
    R.seed(42)
    a = loop(src, 50)
    R.seed(42)
    b = loop(src, 50)
    np.testing.assert_array_equal(a, b)


# -- SpikeTime -----------------------------------------------------------------------------------
def test_spike_time_fires_at_the_given_steps():
    src = nn.SpikeTime(3, indices=[2, 0, 1, 0], times=[0.5, 0.1, 0.5, 1.2])
    spikes = loop(src, 15)
    steps, neurons = np.nonzero(spikes)
    assert list(zip(steps.tolist(), neurons.tolist())) == [(1, 0), (5, 1), (5, 2), (12, 0)]


def test_spike_time_under_vmap_equals_a_loop():
    src = nn.SpikeTime(2, indices=[0, 1], times=[0.2, 0.3])

    def at(k):
        with bc.environ.context(t=k * DT):
            return src()

    with bc.environ.context(dt=DT):
        batched = np.asarray(T.vmap(at)(jnp.arange(5)))
    looped = loop(src, 5)
    np.testing.assert_array_equal(batched, looped)


# -- current generators --------------------------------------------------------------------------
def test_section_and_constant_inputs():
    current = nn.section_input([0.0, 2.0, np.array([1.0, 3.0])], [1.0, 0.5, 0.2], dt=DT)
    assert current.shape == (17, 2)
    np.testing.assert_allclose(current[:10], 0.0)
    np.testing.assert_allclose(current[10:15], 2.0)
    np.testing.assert_allclose(current[15:], [[1.0, 3.0]] * 2)
    c, duration = nn.constant_input([(1.0, 0.3), (0.0, 0.2)], dt=DT)
    assert c.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0] and duration == pytest.approx(0.5)


def test_step_ramp_sinusoidal_square_values():
    with bc.environ.context(dt=DT):
        step = nn.step_input(3.0, t_start=0.2, duration=1.0, t_end=0.5)
        ramp = nn.ramp_input(1.0, 2.0, duration=1.0, t_start=0.0, t_end=1.0)
        sine = nn.sinusoidal_input(2.0, 100.0, duration=20.0, t_start=5.0, bias=True)
        square = nn.square_input(1.0, 500.0, duration=4.0)
    np.testing.assert_allclose(step, [0, 0, 3, 3, 3, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(ramp, np.linspace(1.0, 2.0, 10), rtol=1e-6)
    t = np.arange(150) * DT
    np.testing.assert_allclose(sine[:50], 0.0)
    np.testing.assert_allclose(sine[50:], 2.0 + 2.0 * np.sin(2 * np.pi * 100.0 * t / 1000), atol=1e-5)
    np.testing.assert_allclose(square[:20], [1.0] * 10 + [-1.0] * 10)


def test_spike_input_pulses():
    current = nn.spike_input([1.0, 2.0], [0.2, 0.3], [5.0, 7.0], duration=3.0, dt=DT)
    expected = np.zeros(30)
    expected[10:12], expected[20:23] = 5.0, 7.0
    np.testing.assert_allclose(current, expected)


def test_ou_process_stationary_std_and_correlation_time():
    tau, sigma, mean = 5.0, 2.0, 1.5
    x = np.asarray(nn.ou_process(mean, sigma, tau, duration=2000.0, dt=0.5, n=200, seed=1))
    np.testing.assert_allclose(x.mean(), mean, atol=0.05)
    np.testing.assert_allclose(x.std(), sigma * math.sqrt(tau / 2), rtol=0.03)
    lag = int(tau / 0.5)  # one tau: autocorrelation exp(-1)
    c = x - x.mean()
    corr = (c[lag:] * c[:-lag]).mean() / c.var()
    np.testing.assert_allclose(corr, math.exp(-1), atol=0.03)


def test_wiener_increments_have_variance_dt():
    w = np.asarray(nn.wiener_process(500.0, dt=0.2, n=100, seed=3))
    assert w.shape == (2500, 100)
    np.testing.assert_allclose(w.var(), 0.2, rtol=0.03)


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, pattern", [
    (lambda: nn.PoissonSpike(3, freqs=-1.0), bc.ConfigError, r"PoissonSpike freqs must be >= 0 Hz.*Fix"),
    (lambda: nn.PoissonSpike(3, freqs=np.ones(4)), bc.ConfigError, r"freqs has shape \(4,\).*population shape \(3,\)"),
    (lambda: nn.SpikeTime(2, indices=[0, 1], times=[1.0]), bc.ConfigError, r"same length.*Fix"),
    (lambda: nn.SpikeTime(2, indices=[0, 2], times=[1.0, 2.0]), bc.ConfigError, r"indices must be in \[0, 2\)"),
    (lambda: nn.PoissonInput("V", None, 10, 5.0, 1.0), bc.ConfigError, r"target must be a State or a prefetch"),
    (lambda: nn.section_input([1.0], [1.0, 2.0], dt=DT), bc.ConfigError, r"values has 1 entries.*durations has 2"),
    (lambda: nn.ramp_input(0, 1, 1.0, t_start=0.5, t_end=0.2, dt=DT), bc.ConfigError, r"t_start <= t_end"),
    (lambda: nn.ou_process(0.0, 1.0, -1.0, 10.0, dt=DT), bc.ConfigError, r"ou_process: tau must be > 0 ms"),
    (lambda: nn.step_input(1.0, 0.0, 1.0, dt=0.0), bc.ConfigError, r"dt must be a positive number of ms"),
])
def test_bad_arguments_raise(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_bad_rates_and_probabilities_raise_at_run_time():
    enc = nn.PoissonEncoder(3)
    with bc.environ.context(dt=DT), pytest.raises(bc.InputError, match=r"PoissonEncoder\(\(3,\)\) got rates of shape"):
        enc(jnp.ones(4))
    V = bc.HiddenState(jnp.zeros(2))
    with bc.environ.context(dt=10.0), pytest.raises(bc.ConfigError, match=r"is not a probability"):
        nn.poisson_input(500.0, 10, 1.0, V)
