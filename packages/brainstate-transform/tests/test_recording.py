"""jit's recorded first trace: what the first call compiles (see ``_recording.py``)."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T
from brainstate_transform import _recording


def _programs():
    """name -> (brainstate function of x, plain JAX function of (state values, x), initial state values)."""
    w0, h0 = jnp.full((4, 4), 0.1), jnp.zeros(4)

    def scan_bs():
        h, w = bc.HiddenState(h0), bc.ParamState(w0)

        def body(x):
            h.value = jnp.tanh(h.value @ w.value + x)
            return h.value

        return lambda xs: T.for_loop(body, xs), [h, w]

    def scan_plain(values, xs):
        h, w = values

        def body(h, x):
            h = jnp.tanh(h @ w + x)
            return h, h

        h, ys = jax.lax.scan(body, h, xs)
        return ys, h

    def grad_bs():
        w = bc.ParamState(w0)

        def step(xs):
            g = T.grad(lambda: jnp.sum(jnp.tanh(xs @ w.value)), grad_states=w)()
            w.value = w.value - 0.1 * g
            return g

        return step, [w]

    def grad_plain(values, xs):
        (w,) = values
        g = jax.grad(lambda w: jnp.sum(jnp.tanh(xs @ w)))(w)
        return g, w - 0.1 * g

    return {"scan": (scan_bs, scan_plain, [h0, w0]), "grad": (grad_bs, grad_plain, [w0])}


def _functions(text: str) -> list[str]:
    return sorted(re.findall(r'func\.func (?:public|private) @("[^"]+"|\w+)', text))


@pytest.mark.parametrize("name", ["scan", "grad"])
def test_first_call_lowers_the_program_plain_jax_lowers(name):
    make, plain, values = _programs()[name]
    fun, _ = make()
    xs = jnp.ones((5, 4))
    ours = T.jit(fun).lower(xs).as_text()
    theirs = jax.jit(plain).lower(values, xs).as_text()
    # The recording is inlined: no function of its own, the same operations as the plain program.
    assert _functions(ours) == _functions(theirs)
    ops = lambda t: sorted(re.findall(r"stablehlo\.(\w+)", t))  # noqa: E731
    assert ops(ours) == ops(theirs)


@pytest.mark.parametrize("name", ["scan", "grad"])
def test_first_call_without_a_template_evaluates_op_by_op(name, monkeypatch):
    make, plain, values = _programs()[name]
    xs = jnp.ones((5, 4))
    expected = jax.jit(plain)(values, xs)
    monkeypatch.setattr(_recording, "_template", lambda closed, inputs: None)
    fun, states = make()
    out = T.jit(fun)(xs)
    np.testing.assert_allclose(out, expected[0], rtol=1e-6)
    np.testing.assert_allclose(states[0].value, expected[1], rtol=1e-6)


def test_template_is_kept_per_arity_and_mesh():
    s = bc.State(jnp.ones(3))

    def f(x):
        s.value = s.value * x
        return s.value.sum()

    T.jit(f)(2.0)
    key = (2, 2, jax.sharding.get_abstract_mesh())  # inputs: s and x; outputs: the sum and s
    assert _recording._TEMPLATES[key] is not None
    mesh = jax.make_mesh((1,), ("d",))
    with jax.set_mesh(mesh):
        assert float(T.jit(lambda x: f(x))(3.0)) == pytest.approx(18.0)
    assert (2, 2, jax.sharding.get_abstract_mesh()) in _recording._TEMPLATES
    assert any(k[2] != key[2] for k in _recording._TEMPLATES if k[:2] == (2, 2))
    np.testing.assert_allclose(s.value, 6.0)
