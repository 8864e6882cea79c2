"""Recurrent cells against NumPy references; state handling; loops under jit; gradient flow."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _lin(layer, x):
    p = {k: np.asarray(v, np.float64) for k, v in layer.weight.value.items()}
    return x @ p["weight"] + p.get("bias", 0)


def np_step(cell, x, h, c):
    xh = np.concatenate([x, h], -1)
    if isinstance(cell, nn.VanillaRNNCell):
        return np.maximum(_lin(cell.W, xh), 0), None
    if isinstance(cell, nn.GRUCell):
        r, z = np.split(_sig(_lin(cell.Wrz, xh)), 2, -1)
        cand = np.tanh(_lin(cell.Wh, np.concatenate([x, r * h], -1)))
        return (1 - z) * h + z * cand, None
    if isinstance(cell, nn.MGUCell):
        f = _sig(_lin(cell.Wf, xh))
        cand = np.tanh(_lin(cell.Wh, np.concatenate([x, f * h], -1)))
        return (1 - f) * h + f * cand, None
    if isinstance(cell, nn.URLSTMCell):
        f, r, u, o = np.split(_lin(cell.W, xh), 4, -1)
        b = np.asarray(cell.bias.value, np.float64)
        f, r = _sig(f + b), _sig(r - b)
        g = 2 * r * f + (1 - 2 * r) * f ** 2
        c = g * c + (1 - g) * np.tanh(u)
        return _sig(o) * np.tanh(c), c
    i, g, f, o = np.split(_lin(cell.W, xh), 4, -1)
    c = _sig(f) * c + _sig(i) * np.tanh(g)
    return _sig(o) * np.tanh(c), c


CELLS = [nn.VanillaRNNCell, nn.GRUCell, nn.MGUCell, nn.LSTMCell, nn.URLSTMCell]


@pytest.mark.parametrize("cls", CELLS)
def test_three_steps_match_numpy(cls):
    cell = nn.init_all_states(cls(3, 4, state_init=nn.init.Normal(scale=0.5)), batch_size=2)
    h = np.asarray(cell.h.value, np.float64)
    c = np.asarray(cell.c.value, np.float64) if "c" in cell._state_names else None
    for _ in range(3):
        x = RNG.normal(size=(2, 3))
        h, c = np_step(cell, x, h, c)
        np.testing.assert_allclose(cell(jnp.asarray(x, jnp.float32)), h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cell.h.value, h, rtol=1e-4, atol=1e-5)


def test_valina_is_the_upstream_spelling():
    assert nn.ValinaRNNCell is nn.VanillaRNNCell
    assert isinstance(nn.ValinaRNNCell(2, 3, activation="tanh").activation, type(nn.tanh))


@pytest.mark.parametrize("cls", CELLS)
def test_sequence_under_jit_and_gradient_flow(cls, assert_grads_flow):
    cell = nn.init_all_states(cls(3, 4), batch_size=2)
    xs = jnp.asarray(RNG.normal(size=(5, 2, 3)), jnp.float32)

    class Unroll(nn.Module):
        def __init__(self):
            self.cell = cell

        def update(self, xs):
            nn.reset_all_states(self.cell, batch_size=2)
            return T.for_loop(self.cell, xs)

    model = Unroll()
    ys = T.jit(model)(xs)
    assert ys.shape == (5, 2, 4)
    nn.reset_all_states(cell, batch_size=2)
    for t in range(5):
        np.testing.assert_allclose(cell(xs[t]), ys[t], rtol=1e-5, atol=1e-6)
    assert_grads_flow(model, xs)


def test_unbatched_cell_and_reset():
    cell = nn.init_all_states(nn.LSTMCell(3, 4))
    assert cell.h.value.shape == (4,) and cell(jnp.ones(3)).shape == (4,)
    h = cell.h
    nn.reset_all_states(cell)
    assert cell.h is h and not np.asarray(h.value).any()
    assert isinstance(h, bc.HiddenState) and list(cell.states(bc.HiddenState)) == [("c",), ("h",)]


def test_errors():
    cell = nn.init_all_states(nn.GRUCell(3, 4), batch_size=2)
    with pytest.raises(bc.InputError, match=r"GRUCell\(num_in=3\) got an input of shape \(2, 5\)"):
        cell(jnp.ones((2, 5)))
    with pytest.raises(bc.InputError, match=r"hidden state has shape \(2, 4\).*init_state with the batch size"):
        cell(jnp.ones(3))
    with pytest.raises(bc.ConfigError, match=r"Unknown activation 'nope'"):
        nn.GRUCell(3, 4, activation="nope")
    with pytest.raises(bc.ConfigError, match=r"LSTMCell needs positive sizes"):
        nn.LSTMCell(0, 4)
