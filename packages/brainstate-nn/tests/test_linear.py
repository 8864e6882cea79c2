"""Linear: shapes, NumPy reference, bias, mask, gradient flow, errors."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 5, 3)])
def test_matches_numpy(shape):
    layer = nn.Linear(3, 4, b_init=nn.init.Normal())
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    p = {k: np.asarray(v) for k, v in layer.weight.value.items()}
    np.testing.assert_allclose(layer(x), x @ p["weight"] + p["bias"], rtol=1e-5, atol=1e-5)


def test_one_param_state_holding_weight_and_bias():
    layer = nn.Linear((7, 3), (5,))
    assert list(layer.states()) == [("weight",)]
    assert set(layer.weight.value) == {"weight", "bias"} and layer.weight.value["weight"].shape == (3, 5)
    assert layer.in_size == (7, 3) and layer.out_size == (5,)
    assert nn.count_parameters(layer) == 20
    no_bias = nn.Linear(3, 5, b_init=None)
    assert set(no_bias.weight.value) == {"weight"} and nn.count_parameters(no_bias) == 15


def test_arrays_as_initialisers():
    w = jnp.arange(6.0).reshape(2, 3)
    layer = nn.Linear(2, 3, w_init=w, b_init=1.0)
    np.testing.assert_allclose(layer(jnp.ones(2)), w.sum(0) + 1)


def test_mask_removes_connections_and_their_gradient(param_grads):
    mask = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    layer = nn.Linear(3, 2, w_mask=mask)
    x = jnp.ones((4, 3))
    w = layer.weight.value["weight"]
    np.testing.assert_allclose(layer(x), x @ (w * mask) + layer.weight.value["bias"], rtol=1e-6)
    grads = param_grads(layer, lambda: jnp.sum(layer(x)))
    np.testing.assert_array_equal(np.asarray(grads[("weight",)]["weight"]) == 0, mask == 0)
    with pytest.raises(bc.ConfigError, match=r"w_mask of shape \(2, 2\) does not broadcast to the weight shape \(3, 2\)"):
        nn.Linear(3, 2, w_mask=jnp.ones((2, 2)))


def test_gradient_flow(assert_grads_flow):
    assert_grads_flow(nn.Linear(3, 2), jnp.ones((4, 3)))


def test_custom_param_type():
    class Frozen(bc.LongTermState):
        pass

    layer = nn.Linear(2, 2, param_type=Frozen)
    assert isinstance(layer.weight, Frozen) and nn.count_parameters(layer) == 0


@pytest.mark.parametrize("bad", [0, -1, (2, 0), "3"])
def test_bad_sizes(bad):
    with pytest.raises(bc.ConfigError, match=r"Linear in_size must be a positive int"):
        nn.Linear(bad, 2)


def test_wrong_input_features():
    with pytest.raises(bc.InputError, match=r"Linear\(3 -> 2\) got an input of shape \(4, 5\): its last axis must have 3"):
        nn.Linear(3, 2)(jnp.ones((4, 5)))
