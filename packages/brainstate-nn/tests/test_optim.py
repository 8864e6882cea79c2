"""Optimisers against NumPy implementations of their update rules; state threading under jit; errors."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

P0 = np.array([1.0, -2.0, 3.0])
GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.2, 1.0]), np.array([1.5, 0.1, -0.7])]


def np_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    p, buf = P0.copy(), np.zeros(3)
    for g in GRADS:
        g = g + weight_decay * p
        buf = momentum * buf + g
        p = p - lr * ((g + momentum * buf) if nesterov else buf)
    return p


def np_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
    p, m, v = P0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, 1):
        if not decoupled:
            g = g + weight_decay * p
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        step = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        p = p - lr * (step + (weight_decay * p if decoupled else 0))
    return p


def np_rmsprop(lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    p, v, mean, buf = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in GRADS:
        v = alpha * v + (1 - alpha) * g * g
        mean = alpha * mean + (1 - alpha) * g
        denom = np.sqrt(v - mean ** 2 if centered else v) + eps
        buf = momentum * buf + g / denom
        p = p - lr * buf
    return p


@pytest.mark.parametrize("make, expected", [
    (lambda: nn.optim.SGD(0.1), np_sgd(0.1)),
    (lambda: nn.optim.SGD(0.1, momentum=0.9, weight_decay=0.01), np_sgd(0.1, 0.9, weight_decay=0.01)),
    (lambda: nn.optim.Momentum(0.1, nesterov=True), np_sgd(0.1, 0.9, nesterov=True)),
    (lambda: nn.optim.Adam(0.1), np_adam(0.1)),
    (lambda: nn.optim.Adam(0.1, betas=(0.8, 0.9), weight_decay=0.1), np_adam(0.1, 0.8, 0.9, weight_decay=0.1)),
    (lambda: nn.optim.AdamW(0.1, weight_decay=0.1), np_adam(0.1, weight_decay=0.1, decoupled=True)),
    (lambda: nn.optim.RMSprop(0.01), np_rmsprop(0.01)),
    (lambda: nn.optim.RMSprop(0.01, momentum=0.5, centered=True), np_rmsprop(0.01, momentum=0.5, centered=True)),
])
def test_update_rules_match_numpy(make, expected):
    w = bc.ParamState(jnp.asarray(P0, jnp.float32))
    opt = make().register_trainable_weights({("w",): w})
    for g in GRADS:
        opt.update({("w",): jnp.asarray(g, jnp.float32)})
    np.testing.assert_allclose(w.value, expected, rtol=1e-5, atol=1e-6)
    assert int(opt.step.value) == 3


def _regression(opt_factory):
    model = nn.Linear(3, 1)
    opt = opt_factory(model.states(bc.ParamState))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(64, 3)), jnp.float32)
    y = x @ jnp.array([[1.0], [-2.0], [0.5]]) + 0.3

    @T.jit
    def step():
        grads, loss = T.grad(lambda: jnp.mean((model(x) - y) ** 2), grad_states=opt.param_states,
                             return_value=True)()
        opt.update(grads)
        return loss

    return model, opt, [float(step()) for _ in range(150)]


def test_training_under_jit_threads_the_optimiser_state():
    model, opt, losses = _regression(lambda p: nn.optim.Adam(0.05, params=p))
    assert losses[-1] < 1e-3 * losses[0]
    assert int(opt.step.value) == 150 and int(opt.opt_state.value[0].count) == 150
    assert list(opt.states()) == [("opt_state",), ("step",)]  # the weights are not the optimiser's states


def test_learning_rate_schedule_passes_through():
    schedule = optax.exponential_decay(0.1, transition_steps=1, decay_rate=0.5)
    w = bc.ParamState(jnp.zeros(()))
    opt = nn.optim.SGD(schedule, params=w)
    for _ in range(3):
        opt.update({(): jnp.ones(())})
    assert float(w.value) == pytest.approx(-(0.1 + 0.05 + 0.025))
    assert float(opt.current_lr()) == pytest.approx(0.0125)
    assert float(nn.optim.Adam(0.01).current_lr()) == pytest.approx(0.01)


def test_gradient_clipping():
    g, norm = nn.optim.clip_grad_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}, 2.5)
    assert float(norm) == pytest.approx(5.0) and float(g["a"][0]) == pytest.approx(1.5, rel=1e-5)
    g, _ = nn.optim.clip_grad_norm({"a": jnp.array([0.3])}, 2.5)
    assert float(g["a"][0]) == pytest.approx(0.3)
    w = bc.ParamState(jnp.zeros(2))
    nn.optim.SGD(1.0, grad_clip_norm=1.0, params=w).update({(): jnp.array([30.0, 40.0])})
    np.testing.assert_allclose(w.value, [-0.6, -0.8], rtol=1e-5)


def test_generic_optax_optimizer_and_model_as_params():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    opt = nn.optim.OptaxOptimizer(optax.sgd(1.0), model)
    assert list(opt.param_states) == [("layers", 0, "weight"), ("layers", 1, "weight")]
    before = np.asarray(model[1].weight.value["bias"])
    opt.update({p: {"weight": jnp.zeros_like(s.value["weight"]), "bias": jnp.ones_like(s.value["bias"])}
                for p, s in opt.param_states.items()})
    np.testing.assert_allclose(model[1].weight.value["bias"], before - 1)


def test_errors():
    with pytest.raises(bc.StateUsageError, match=r"Adam has no weights to train.*register_trainable_weights"):
        nn.optim.Adam().update({})
    w = bc.ParamState(jnp.zeros(2))
    opt = nn.optim.SGD(0.1, params={("w",): w})
    with pytest.raises(bc.StateShapeError, match=r"(?s)\('w',\): no gradient given.*\('v',\): not a registered weight"):
        opt.update({("v",): jnp.zeros(2)})
    with pytest.raises(bc.StateUsageError, match=r"must be States, but the entries \[\('x',\)\] are not"):
        nn.optim.SGD(0.1, params={("x",): jnp.zeros(2)})
