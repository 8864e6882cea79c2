"""Spike encoders: Bernoulli and Poisson rates within statistical tolerance, latency times from the formula, delta spikes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T


def within_binomial(counts, n, p, sigmas=5.0):
    """Every count of ``n`` Bernoulli(p) draws lies within ``sigmas`` standard deviations of ``n p``."""
    p = np.broadcast_to(np.asarray(p, float), np.shape(counts))
    sd = np.sqrt(n * p * (1 - p))
    return np.all(np.abs(np.asarray(counts) - n * p) <= sigmas * sd + 1e-9)


# -- Bernoulli -----------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1.0, 0.5, 3.0])
def test_bernoulli_rate_over_many_draws(scale):
    x = jnp.array([[0.0, 0.1, 0.3], [0.5, 0.9, 1.0]])
    n = 20000
    spikes = nn.BernoulliEncoder(scale=scale)(x, n_time=n)
    assert spikes.shape == (n, 2, 3) and spikes.dtype == jnp.float32
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    assert within_binomial(spikes.sum(axis=0), n, np.clip(scale * np.asarray(x), 0, 1))


def test_bernoulli_normalises_dtype_rng_and_jit():
    enc = nn.BernoulliEncoder(min_val=0.0, max_val=16.0, spk_type=bool, rng=R.RandomState(3))
    data = jnp.array([0.0, 8.0, 16.0])
    spikes = T.jit(lambda d: enc(d, 10000))(data)
    assert spikes.dtype == bool
    assert within_binomial(spikes.sum(axis=0), 10000, [0.0, 0.5, 1.0])
    # the encoder's own generator, not the default one, drives the draws; its key is a state of the module
    assert len(enc.states()) == 1
    again = nn.BernoulliEncoder(rng=R.RandomState(3))(data / 16.0, 10000)
    np.testing.assert_array_equal(np.asarray(spikes), np.asarray(again, bool))


def test_bernoulli_draws_differ_between_calls_and_follow_the_seed():
    enc = nn.BernoulliEncoder()
    x = jnp.full(200, 0.5)
    R.seed(1)
    a, b = enc(x, 5), enc(x, 5)
    R.seed(1)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(enc(x, 5), a)


@pytest.mark.parametrize("bad, match", [
    (dict(data=jnp.array([0.5, 1.5])), r"BernoulliEncoder expects intensities in \[0, 1\].*1\.5.*Fix: scale"),
    (dict(data=jnp.array([-0.1])), r"intensities in \[0, 1\].*-0\.1"),
    (dict(n_time=0), r"BernoulliEncoder n_time must be a positive int.*got 0"),
    (dict(n_time=2.5), r"n_time must be a positive int.*2\.5"),
    (dict(n_time=True), r"n_time must be a positive int.*True"),
])
def test_bernoulli_input_errors(bad, match):
    call = dict(data=jnp.array([0.5]), n_time=3) | bad
    with pytest.raises(bc.InputError, match=match):
        nn.BernoulliEncoder()(call["data"], call["n_time"])


@pytest.mark.parametrize("cls", [nn.BernoulliEncoder, nn.RateEncoder, nn.LatencyEncoder])
@pytest.mark.parametrize("kwargs, match", [
    (dict(min_val=0.0), r"needs both min_val and max_val.*max_val=None.*Fix"),
    (dict(max_val=1.0), r"needs both min_val and max_val.*min_val=None"),
    (dict(min_val=1.0, max_val=1.0), r"max_val must exceed min_val.*Fix"),
])
def test_normalisation_range_errors(cls, kwargs, match):
    with pytest.raises(bc.ConfigError, match=cls.__name__ + ".*" + match):
        cls(**kwargs)


def test_bernoulli_config_error():
    with pytest.raises(bc.ConfigError, match=r"BernoulliEncoder scale must be >= 0, got -1"):
        nn.BernoulliEncoder(scale=-1)


# -- Poisson rates in Hz -------------------------------------------------------------------------
@pytest.mark.parametrize("method, f, dt", [
    ("linear", lambda x: x, 0.5),
    ("exponential", lambda x: np.expm1(x) / np.expm1(1.0), 1.0),
    ("sqrt", np.sqrt, 0.25),
])
def test_rate_encoder_fires_at_rate_times_dt(method, f, dt):
    x = np.array([0.0, 0.2, 0.6, 1.0])
    enc = nn.RateEncoder(gain=300.0, min_rate=20.0, method=method)
    n = 20000
    with bc.environ.context(dt=dt):
        np.testing.assert_allclose(enc.rates(x), 20.0 + f(x) * 280.0, rtol=1e-5)
        spikes = enc(jnp.asarray(x), n)
    assert spikes.shape == (n, 4)
    assert within_binomial(spikes.sum(axis=0), n, (20.0 + f(x) * 280.0) * dt / 1000)


def test_rate_encoder_takes_rates_in_hz_with_gain_one_and_wraps_poisson_encoder(monkeypatch):
    calls = []
    original = nn.PoissonEncoder.update

    def spy(self, freqs):
        calls.append(freqs.shape)
        return original(self, freqs)

    monkeypatch.setattr(nn.PoissonEncoder, "update", spy)
    rates = jnp.array([[5.0, 50.0], [200.0, 0.0]])
    with bc.environ.context(dt=1.0):
        spikes = nn.RateEncoder(gain=1.0, spk_type=bool)(rates, 30000)
    assert calls == [(30000, 2, 2)] and spikes.dtype == bool
    assert within_binomial(spikes.sum(axis=0), 30000, np.asarray(rates) / 1000)


def test_rate_encoder_normalises_and_runs_under_jit():
    enc = nn.RateEncoder(max_rate=100.0, min_val=-1.0, max_val=1.0)
    with bc.environ.context(dt=1.0):
        np.testing.assert_allclose(enc.rates(jnp.array([-1.0, 0.0, 1.0])), [0.0, 50.0, 100.0])
        spikes = T.jit(lambda x: enc(x, 20000))(jnp.array([-1.0, 0.0, 1.0]))
    assert within_binomial(spikes.sum(axis=0), 20000, [0.0, 0.05, 0.1])


def test_rate_encoder_scalar_data():
    with bc.environ.context(dt=1.0):
        spikes = nn.RateEncoder(gain=1000.0)(1.0, 7)
    np.testing.assert_array_equal(spikes, np.ones(7))


def test_rate_encoder_errors():
    with pytest.raises(bc.ConfigError, match=r"RateEncoder method must be one of .*'linear'.*got 'cubic'"):
        nn.RateEncoder(method="cubic")
    with pytest.raises(bc.ConfigError, match=r"0 <= min_rate <= max_rate.*min_rate=50.*max_rate=10"):
        nn.RateEncoder(min_rate=50.0, max_rate=10.0)
    with bc.environ.context(dt=1.0):
        with pytest.raises(bc.InputError, match=r"RateEncoder rates must be in \[0, 1000 / dt\] Hz \(dt = 1.0 ms\).*"
                                                r"2000.*Fix: lower gain"):
            nn.RateEncoder(gain=2000.0)(jnp.array([1.0]), 5)
        with pytest.raises(bc.InputError, match=r"rates must be in.*-100"):
            nn.RateEncoder(gain=100.0)(jnp.array([-1.0]), 5)
        with pytest.raises(bc.InputError, match=r"RateEncoder n_time must be a positive int"):
            nn.RateEncoder()(jnp.array([1.0]), -3)


# -- latency -------------------------------------------------------------------------------------
def first_spike_steps(spikes):
    """The step of each feature's spike, -1 where it has none; asserts at most one spike per feature."""
    spikes = np.asarray(spikes)
    assert spikes.sum(axis=0).max() <= 1
    return np.where(spikes.any(axis=0), spikes.argmax(axis=0), -1)


X = np.array([0.0, 0.005, 0.02, 0.1, 0.3, 0.5, 0.8, 1.0], dtype=np.float32)


@pytest.mark.parametrize("tau", [1.0, 4.0])
@pytest.mark.parametrize("first", [0, 3])
def test_latency_log_times_follow_the_rc_formula(tau, first):
    thr, eps, n = 0.01, 1e-7, 100
    enc = nn.LatencyEncoder(tau=tau, first_spk_time=first)
    xs = np.maximum(X, thr + eps)
    expected = first + tau * np.log(xs / (xs - thr))
    np.testing.assert_allclose(enc.spike_time(X, n), expected, rtol=1e-4)
    expected_steps = np.where(np.round(expected) <= n - 1, np.round(expected), -1)
    np.testing.assert_array_equal(first_spike_steps(enc(X, n)), expected_steps)
    # larger intensity, earlier spike
    assert np.all(np.diff(expected[X > thr]) < 0)


@pytest.mark.parametrize("thr", [0.01, 0.2])
def test_latency_log_normalised_puts_the_latest_spike_on_the_last_step(thr):
    n, eps = 25, 1e-7
    enc = nn.LatencyEncoder(threshold=thr, normalize=True)
    tau = (n - 1) / math.log((thr + eps) / eps)
    xs = np.maximum(X, thr + eps)
    np.testing.assert_allclose(enc.spike_time(X, n), tau * np.log(xs / (xs - thr)), rtol=1e-4)
    steps = first_spike_steps(enc(X, n))
    assert np.all(steps[X < thr] == n - 1) and np.all(steps >= 0)


@pytest.mark.parametrize("normalize, tau, n", [(False, 5.0, 10), (True, 1.0, 10), (True, 1.0, 26)])
@pytest.mark.parametrize("first", [0, 2])
def test_latency_linear_times(normalize, tau, n, first):
    thr = 0.01
    enc = nn.LatencyEncoder(method="linear", tau=tau, normalize=normalize, first_spk_time=first)
    eff = (n - 1 - first) if normalize else tau
    expected = first + eff * np.minimum(1 - X, 1 - thr)
    np.testing.assert_allclose(enc.spike_time(X, n), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(first_spike_steps(enc(X, n)), np.round(expected))


def test_latency_snntorch_example():
    spikes = nn.LatencyEncoder(method="linear", normalize=True)(jnp.array([0.02, 0.5, 1.0]), 5)
    np.testing.assert_array_equal(spikes, [[0, 0, 1], [0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]])


@pytest.mark.parametrize("method", ["log", "linear"])
def test_latency_clip_removes_subthreshold_spikes(method):
    enc = nn.LatencyEncoder(method=method, clip=True, normalize=True, threshold=0.05)
    t = np.asarray(enc.spike_time(X, 20))
    assert np.all(np.isinf(t[X < 0.05])) and np.all(np.isfinite(t[X >= 0.05]))
    steps = first_spike_steps(enc(X, 20))
    assert np.all(steps[X < 0.05] == -1) and np.all(steps[X >= 0.05] >= 0)


def test_latency_drops_only_spikes_after_the_window():
    enc = nn.LatencyEncoder(tau=10.0)  # 10 ln(x / (x - 0.01)): 0.02 -> 6.9, 0.005 -> 115
    steps = first_spike_steps(enc(jnp.array([0.005, 0.02, 1.0]), 8))
    np.testing.assert_array_equal(steps, [-1, 7, 0])  # the genuine spike on the last step stays


def test_latency_batched_normalised_dtype_and_grad_free_under_jit():
    enc = nn.LatencyEncoder(min_val=0.0, max_val=16.0, method="linear", normalize=True, spk_type=bool)
    data = jnp.array([[0.0, 16.0], [8.0, 4.0]])
    spikes = T.jit(lambda d: enc(d, 9))(data)
    assert spikes.shape == (9, 2, 2) and spikes.dtype == bool
    np.testing.assert_array_equal(first_spike_steps(spikes), [[8, 0], [4, 6]])


def test_latency_errors():
    with pytest.raises(bc.ConfigError, match=r"LatencyEncoder method must be 'log' or 'linear', got 'exp'"):
        nn.LatencyEncoder(method="exp")
    with pytest.raises(bc.ConfigError, match=r"threshold must be in \(0, 1\) for method='log', got 0"):
        nn.LatencyEncoder(threshold=0)
    nn.LatencyEncoder(method="linear", threshold=0)
    with pytest.raises(bc.ConfigError, match=r"threshold must be in \[0, 1\) for method='linear', got 1.0"):
        nn.LatencyEncoder(method="linear", threshold=1.0)
    with pytest.raises(bc.ConfigError, match=r"LatencyEncoder tau must be > 0 \(steps\), got 0"):
        nn.LatencyEncoder(tau=0)
    with pytest.raises(bc.ConfigError, match=r"epsilon must be > 0"):
        nn.LatencyEncoder(epsilon=0.0)
    with pytest.raises(bc.ConfigError, match=r"first_spk_time must be >= 0 \(steps\), got -1"):
        nn.LatencyEncoder(first_spk_time=-1)
    with pytest.raises(bc.InputError, match=r"first_spk_time=5 lies after the last step 4. Fix: pass n_time >"):
        nn.LatencyEncoder(first_spk_time=5)(jnp.ones(2), 5)
    with pytest.raises(bc.InputError, match=r"LatencyEncoder\(method='linear'\) expects intensities in \[0, 1\]"):
        nn.LatencyEncoder(method="linear")(jnp.array([2.0]), 5)
    with pytest.raises(bc.InputError, match=r"LatencyEncoder n_time must be a positive int"):
        nn.LatencyEncoder()(jnp.ones(2), 0)


# -- delta ---------------------------------------------------------------------------------------
SIGNAL = np.array([0.2, 0.2, 0.5, 0.55, 0.1, 0.1, 0.4, 0.0], dtype=np.float32)


def reference_delta(x, thr, padding):
    prev = np.concatenate([x[:1] if padding else np.zeros_like(x[:1]), x[:-1]])
    return x - prev


@pytest.mark.parametrize("padding", [True, False])
@pytest.mark.parametrize("thr", [0.25, 0.35])
def test_delta_spike_positions(padding, thr):
    d = reference_delta(SIGNAL, thr, padding)
    both = nn.DeltaEncoder(threshold=thr, padding=padding)(SIGNAL)
    np.testing.assert_array_equal(np.nonzero(np.asarray(both))[0], np.nonzero(np.abs(d) >= thr)[0])
    on = nn.DeltaEncoder(threshold=thr, padding=padding, positive_only=True)(SIGNAL)
    np.testing.assert_array_equal(np.nonzero(np.asarray(on))[0], np.nonzero(d >= thr)[0])
    split = np.asarray(nn.DeltaEncoder(threshold=thr, padding=padding, off_channel=True)(SIGNAL))
    assert split.shape == (8, 2)
    np.testing.assert_array_equal(np.nonzero(split[:, 0])[0], np.nonzero(d >= thr)[0])
    np.testing.assert_array_equal(np.nonzero(split[:, 1])[0], np.nonzero(d <= -thr)[0])


def test_delta_exact_positions_and_padding():
    # changes with padding: [0, 0, .3, .05, -.45, 0, .3, -.4]
    np.testing.assert_array_equal(nn.DeltaEncoder(threshold=0.25)(SIGNAL), [0, 0, 1, 0, 1, 0, 1, 1])
    # without padding the first sample is compared with 0 and fires
    np.testing.assert_array_equal(nn.DeltaEncoder(threshold=0.15, padding=False, positive_only=True)(SIGNAL),
                                  [1, 0, 1, 0, 0, 0, 1, 0])


def test_delta_features_normalize_and_dtype():
    series = jnp.stack([jnp.asarray(SIGNAL), 10 * jnp.asarray(SIGNAL)], axis=-1)  # (8, 2)
    raw = nn.DeltaEncoder(threshold=1.0, spk_type=bool)(series)
    assert raw.shape == (8, 2) and raw.dtype == bool
    assert not raw[:, 0].any() and raw[:, 1].sum() == 4
    normed = nn.DeltaEncoder(threshold=0.5, normalize=True)(series)   # both features rescaled alike
    np.testing.assert_array_equal(normed[:, 0], normed[:, 1])
    np.testing.assert_array_equal(normed[:, 0], np.abs(reference_delta(SIGNAL / 0.55, 0, True)) >= 0.5)
    flat = nn.DeltaEncoder(normalize=True)(jnp.ones((4, 3)))   # a constant feature stays silent
    assert not np.asarray(flat).any()
    jitted = T.jit(nn.DeltaEncoder(threshold=1.0))(series)
    np.testing.assert_array_equal(jitted, raw)


def test_delta_errors():
    with pytest.raises(bc.ConfigError, match=r"DeltaEncoder threshold must be > 0, got 0"):
        nn.DeltaEncoder(threshold=0)
    with pytest.raises(bc.ConfigError, match=r"positive_only=True and off_channel=True.*Fix: pass one"):
        nn.DeltaEncoder(positive_only=True, off_channel=True)
    with pytest.raises(bc.InputError, match=r"DeltaEncoder needs a time series.*got a scalar.*Fix"):
        nn.DeltaEncoder()(1.0)


@pytest.mark.parametrize("enc, args", [
    (nn.BernoulliEncoder(scale=2.0), (jnp.ones(3), 2)),
    (nn.RateEncoder(), (jnp.ones(3), 2)),
    (nn.LatencyEncoder(), (jnp.ones(3), 2)),
    (nn.DeltaEncoder(), (jnp.ones((2, 3)),)),
])
def test_encoders_are_modules_with_public_reprs(enc, args):
    assert isinstance(enc, nn.Module)
    # the public home (brainstate_nn, or brainstate.nn once the meta-package is imported), not the private module
    assert repr(enc).startswith(type(enc).__name__) and type(enc).__module__ in ("brainstate_nn", "brainstate.nn")
    with bc.environ.context(dt=1.0):
        out = enc(*args)
    assert out.shape[:1] == (2,) and jax.numpy.issubdtype(out.dtype, jnp.floating)
