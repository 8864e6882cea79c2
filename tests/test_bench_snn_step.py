"""benchmarks/bench_snn_step.py compares like with like: its brainstate and plain-JAX training steps of the
digits SNN compute the same loss, the same gradients and the same Adam update (dropout on, same masks)."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import brainstate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_snn_step as B  # noqa: E402

HIDDEN, BATCH, STEPS = 16, 4, 6


@pytest.fixture
def setup():
    with brainstate.environ.context(dt=B.DT, fit=True):
        xs, labels = B.data(BATCH, STEPS, seed=1)
        model, optimizer, train_step, example_step = B.ours(HIDDEN, BATCH, seed=3)
        yield xs, labels, model, optimizer, train_step, example_step


def as_plain(grads) -> dict:
    fc = grads[("fc", "weight")]
    return {"w": fc["weight"], "b": fc["bias"], "w_out": grads[("readout", "weight")]}


def test_the_two_versions_compute_the_same_loss_and_gradients(setup):
    xs, labels, model, _, train_step, _ = setup
    params, key = B.plain_params(model), brainstate.random.DEFAULT.value
    (loss, key_after), grads = jax.value_and_grad(B.plain_loss, has_aux=True)(params, key, xs, labels)
    ours_grads, ours_loss = train_step.gradients(xs, labels)
    np.testing.assert_allclose(float(ours_loss), float(loss), rtol=1e-6)
    assert sorted(ours_grads) == [("fc", "weight"), ("readout", "weight")]
    for name, g in as_plain(ours_grads).items():
        assert np.abs(np.asarray(grads[name])).max() > 0, name
        np.testing.assert_allclose(np.asarray(g), np.asarray(grads[name]), rtol=1e-5, atol=1e-7, err_msg=name)
    # the same dropout masks: both advanced the key by the same splits
    np.testing.assert_array_equal(np.asarray(brainstate.random.DEFAULT.value), np.asarray(key_after))


def test_one_training_step_updates_the_weights_alike(setup):
    xs, labels, model, optimizer, train_step, example_step = setup
    start = (B.plain_params(model), brainstate.random.DEFAULT.value, optimizer.opt_state.value,
             optimizer.step.value)
    step, opt_state = B.plain(start[0])
    for ours_step in (train_step, example_step):
        params, key = start[0], start[1]
        model.fc.weight.value = {"weight": params["w"], "bias": params["b"]}
        model.readout.weight.value = params["w_out"]
        brainstate.random.DEFAULT.value = key
        optimizer.opt_state.value, optimizer.step.value = start[2], start[3]
        plain_state = opt_state
        for _ in range(2):   # the second step uses the optimiser state and the schedule's count
            params, plain_state, key, loss = step(params, plain_state, key, xs, labels)
            np.testing.assert_allclose(float(ours_step(xs, labels)), float(loss), rtol=1e-6)
        for name, value in B.plain_params(model).items():
            np.testing.assert_allclose(np.asarray(value), np.asarray(params[name]), rtol=1e-5, atol=1e-6,
                                       err_msg=name)
