"""Spike losses and metrics: values against NumPy references, gradients against the analytic ones, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)
SPIKES = (RNG.random((12, 5, 4)) < 0.3).astype(np.float32)  # (T, batch, classes)
MEM = RNG.normal(size=(12, 5, 4)).astype(np.float32)
LABELS = np.array([0, 3, 1, 1, 2])


def np_cross_entropy(logits, labels):
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


CE_LOSSES = [
    (nn.ce_count_loss, SPIKES, lambda x: x.sum(axis=0)),
    (nn.ce_mean_membrane_loss, MEM, lambda x: x.mean(axis=0)),
    (nn.ce_max_membrane_loss, MEM, lambda x: x.max(axis=0)),
]


@pytest.mark.parametrize("loss, x, reduce", CE_LOSSES)
def test_cross_entropy_losses_match_numpy(loss, x, reduce):
    np.testing.assert_allclose(loss(jnp.asarray(x), jnp.asarray(LABELS)), np_cross_entropy(reduce(x), LABELS),
                               rtol=1e-5)
    # and they are the same as optax's cross-entropy of the reduced scores
    optax = pytest.importorskip("optax")
    ref = optax.softmax_cross_entropy_with_integer_labels(reduce(jnp.asarray(x)), LABELS).mean()
    np.testing.assert_allclose(loss(x, LABELS), ref, rtol=1e-5)


def test_cross_entropy_gradients_are_analytic():
    onehot = np.eye(4)[LABELS]
    n_steps, batch = SPIKES.shape[:2]
    # counts: every step of an output gets the same gradient (softmax - onehot) / batch
    g = jax.grad(nn.ce_count_loss)(jnp.asarray(SPIKES), LABELS)
    expected = (np_softmax(SPIKES.sum(0)) - onehot) / batch
    np.testing.assert_allclose(g, np.broadcast_to(expected, SPIKES.shape), atol=1e-6)
    # mean membrane: the same spread over time, divided by T
    g = jax.grad(nn.ce_mean_membrane_loss)(jnp.asarray(MEM), LABELS)
    expected = (np_softmax(MEM.mean(0)) - onehot) / batch / n_steps
    np.testing.assert_allclose(g, np.broadcast_to(expected, MEM.shape), atol=1e-6)
    # max membrane: only the step where each output peaked
    g = np.asarray(jax.grad(nn.ce_max_membrane_loss)(jnp.asarray(MEM), LABELS))
    peak = MEM.argmax(axis=0)
    expected = np.zeros_like(MEM)
    b, c = np.meshgrid(np.arange(batch), np.arange(4), indexing="ij")
    expected[peak, b, c] = (np_softmax(MEM.max(0)) - onehot) / batch
    np.testing.assert_allclose(g, expected, atol=1e-6)


@pytest.mark.parametrize("loss, x", [(nn.ce_count_loss, SPIKES), (nn.ce_mean_membrane_loss, MEM),
                                     (nn.mse_count_loss, SPIKES)])
def test_gradients_match_finite_differences(loss, x):
    x = jnp.asarray(x, jnp.float32)
    direction = jnp.asarray(RNG.normal(size=x.shape), jnp.float32)
    h = 1e-2
    numeric = (loss(x + h * direction, LABELS) - loss(x - h * direction, LABELS)) / (2 * h)
    analytic = jnp.vdot(jax.grad(loss)(x, LABELS), direction)
    np.testing.assert_allclose(analytic, numeric, rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("correct, incorrect", [(1.0, 0.0), (0.8, 0.2), (0.5, 0.5)])
def test_mse_count_loss_matches_numpy_and_its_gradient(correct, incorrect):
    n_steps = SPIKES.shape[0]
    target = np.where(np.eye(4, dtype=bool)[LABELS], correct, incorrect) * n_steps
    counts = SPIKES.sum(0)
    expected = np.mean((counts - target) ** 2) / n_steps
    np.testing.assert_allclose(nn.mse_count_loss(SPIKES, LABELS, correct, incorrect), expected, rtol=1e-5)
    g = jax.grad(nn.mse_count_loss)(jnp.asarray(SPIKES), LABELS, correct, incorrect)
    grad_counts = 2 * (counts - target) / counts.size / n_steps
    np.testing.assert_allclose(g, np.broadcast_to(grad_counts, SPIKES.shape), rtol=1e-5, atol=1e-7)


def test_mse_count_loss_is_zero_on_target():
    spikes = np.zeros((10, 2, 3), np.float32)
    spikes[:8, 0, 2] = 1.0
    spikes[:8, 1, 0] = 1.0
    spikes[:2, :, 1] = 1.0
    assert float(nn.mse_count_loss(spikes, np.array([2, 0]), correct_rate=0.8, incorrect_rate=0.1)) > 0
    spikes[:1, 0, 0] = spikes[:1, 1, 2] = 1.0
    spikes[1, :, 1] = 0.0
    assert float(nn.mse_count_loss(spikes, np.array([2, 0]), correct_rate=0.8, incorrect_rate=0.1)) == 0.0


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (0.1, 0.2), (0.35, 0.5), (0.0, 0.05)])
@pytest.mark.parametrize("per_neuron", [True, False])
def test_firing_rate_penalty_matches_numpy(low, high, per_neuron):
    rate = SPIKES.reshape(-1, 4).mean(0) if per_neuron else SPIKES.mean()
    expected = np.mean(np.maximum(low - rate, 0) ** 2 + np.maximum(rate - high, 0) ** 2)
    got = nn.firing_rate_penalty(SPIKES, low=low, high=high, per_neuron=per_neuron)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)
    g = np.asarray(jax.grad(nn.firing_rate_penalty)(jnp.asarray(SPIKES), low, high, per_neuron))
    n = SPIKES.size / 4 if per_neuron else SPIKES.size
    d_rate = (2 * (np.maximum(rate - high, 0) - np.maximum(low - rate, 0))) / (4 if per_neuron else 1)
    np.testing.assert_allclose(g, np.broadcast_to(d_rate / n, SPIKES.shape), rtol=1e-5, atol=1e-9)


def test_firing_rate_penalty_inside_the_band_is_zero_and_accepts_bool_and_2d():
    spikes = np.zeros((10, 3), bool)
    spikes[:3] = True  # rate 0.3 everywhere
    assert float(nn.firing_rate_penalty(spikes, low=0.2, high=0.4)) == 0.0
    np.testing.assert_allclose(nn.firing_rate_penalty(spikes, low=0.5, high=0.6), 0.04, rtol=1e-5)


def test_accuracy_rate_matches_numpy_and_breaks_ties_low():
    expected = np.mean(SPIKES.sum(0).argmax(-1) == LABELS)
    assert float(nn.accuracy_rate(SPIKES, LABELS)) == pytest.approx(expected)
    silent = np.zeros((5, 3, 4), np.float32)
    np.testing.assert_allclose(nn.accuracy_rate(silent, np.array([0, 1, 0])), 2 / 3, rtol=1e-6)
    perfect = np.zeros((5, 5, 4), np.float32)
    perfect[:, np.arange(5), LABELS] = 1.0
    assert float(nn.accuracy_rate(perfect, LABELS)) == 1.0


def test_losses_under_jit_and_bool_spikes():
    spikes = SPIKES.astype(bool)
    fn = T.jit(lambda s, y: (nn.ce_count_loss(s, y), nn.mse_count_loss(s, y), nn.accuracy_rate(s, y)))
    ce, mse, acc = fn(spikes, LABELS)
    np.testing.assert_allclose(ce, np_cross_entropy(SPIKES.sum(0), LABELS), rtol=1e-5)
    np.testing.assert_allclose(mse, nn.mse_count_loss(SPIKES, LABELS), rtol=1e-6)
    np.testing.assert_allclose(acc, nn.accuracy_rate(SPIKES, LABELS))


ALL = [nn.ce_count_loss, nn.ce_mean_membrane_loss, nn.ce_max_membrane_loss, nn.mse_count_loss, nn.accuracy_rate]


@pytest.mark.parametrize("loss", ALL)
def test_input_errors(loss):
    name = loss.__name__
    with pytest.raises(bc.InputError, match=name + r" expects .* of shape \(T, batch, classes\), got shape \(5, 4\)"):
        loss(SPIKES[0], LABELS)
    with pytest.raises(bc.InputError, match=name + r" expects integer labels of shape \(5,\).*shape \(5, 4\).*"
                                                   r"not one-hot"):
        loss(SPIKES, np.eye(4)[LABELS])
    with pytest.raises(bc.InputError, match=r"integer labels.*float32"):
        loss(SPIKES, LABELS.astype(np.float32))
    with pytest.raises(bc.InputError, match=name + r" labels must be in \[0, 4\) for 4 classes.*\[0, 7\]"):
        loss(SPIKES, np.array([0, 7, 1, 1, 2]))


def test_config_errors():
    with pytest.raises(bc.ConfigError, match=r"mse_count_loss correct_rate must be a fraction of steps in \[0, 1\]"):
        nn.mse_count_loss(SPIKES, LABELS, correct_rate=5.0)
    with pytest.raises(bc.ConfigError, match=r"incorrect_rate must be.*-0.1"):
        nn.mse_count_loss(SPIKES, LABELS, incorrect_rate=-0.1)
    with pytest.raises(bc.ConfigError, match=r"firing_rate_penalty needs 0 <= low <= high <= 1.*low=0.5, high=0.2"):
        nn.firing_rate_penalty(SPIKES, low=0.5, high=0.2)
    with pytest.raises(bc.InputError, match=r"firing_rate_penalty expects spikes of shape \(T, ..., neurons\)"):
        nn.firing_rate_penalty(np.ones(4))
