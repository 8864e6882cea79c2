"""Failure atomicity: a transformation that fails leaves every State as it was, and works next time.

For every transformation, the function under it first writes states (a float vector, a counter and
a ``RandomState`` by drawing), then fails in one of these ways:

* ``trace``: a Python exception while it is traced (also with the transformation nested in ``jit``);
* ``run``: a ``jit_error_if`` check that fails when the compiled (or eager) program runs;
* ``write-back, raw jit``: the transformation is called inside a raw ``jax.jit``, so writing its
  results back into the states raises :class:`TraceContextError`;
* ``write-back, raw cond``: the same inside a raw ``jax.lax.cond`` nested in ``brainstate.transform.jit``.

After the failure every state (the PRNG key included) holds the value it had before, and the next
call gives what a call on fresh states gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate

T = brainstate.transform
X = jnp.array([1.0, 2.0, 3.0])


class World:
    """The states, and a function that writes them and fails on request."""

    def __init__(self) -> None:
        self.a = brainstate.State(jnp.zeros(3))
        self.count = brainstate.State(jnp.asarray(0, jnp.int32))
        self.w = brainstate.ParamState(jnp.array([0.5, -1.0, 2.0]))
        self.rng = brainstate.random.RandomState(7)
        self.fail_while_tracing = False

    def states(self) -> dict[str, brainstate.State]:
        return {"a": self.a, "count": self.count, "w": self.w, "rng": self.rng}

    def snapshot(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(s.value) for name, s in self.states().items()}

    def f(self, x: jax.Array) -> jax.Array:
        self.count.value = self.count.value + 1
        self.a.value = self.a.value * 0.5 + self.w.value  # the same in every vmap lane
        noise = self.rng.uniform(size=3)
        if self.fail_while_tracing:
            raise ValueError("boom while tracing")
        T.jit_error_if(jnp.any(x > 100), "x too large: {}", x)
        return jnp.sum(self.a.value * self.w.value * x) + jnp.sum(noise)


def _two(x: jax.Array) -> jax.Array:
    return jnp.stack([x, x + 1.0])


TRANSFORMS: dict[str, Callable[[World], Callable[[jax.Array], Any]]] = {
    "jit": lambda m: T.jit(m.f),
    "grad": lambda m: T.grad(m.f, grad_states=m.w),
    "vector_grad": lambda m: T.vector_grad(m.f, grad_states=m.w, argnums=0),
    "jacrev": lambda m: T.jacrev(m.f, grad_states={"w": m.w}),
    "vmap": lambda m: lambda x: T.vmap(m.f)(_two(x)),
    "scan": lambda m: lambda x: T.scan(lambda c, xi: (c + m.f(xi), c), 0.0, _two(x)),
    "for_loop": lambda m: lambda x: T.for_loop(m.f, _two(x)),
    "while_loop": lambda m: lambda x: T.while_loop(lambda c: c[0] < 2, lambda c: (c[0] + 1, c[1] + m.f(x)), (0, 0.0)),
    "fori_loop": lambda m: lambda x: T.fori_loop(0, 2, lambda i, v: v + m.f(x + i), 0.0),
    "cond": lambda m: lambda x: T.cond(jnp.sum(x) > 0, m.f, lambda v: jnp.sum(v), x),
    "switch": lambda m: lambda x: T.switch(jnp.int32(1), [lambda v: jnp.sum(v), m.f, lambda v: -jnp.sum(v)], x),
    "checkpoint": lambda m: T.checkpoint(m.f),
    "vmap_new_states": lambda m: T.vmap_new_states(
        lambda x: (brainstate.HiddenState(jnp.zeros(2)), m.f(x))[1], axis_size=2
    ),
}

_REFERENCE: dict[str, tuple[Any, dict]] = {}


def reference(name: str) -> tuple[Any, dict]:
    """Output and final states of one successful call on fresh states (computed once per transform)."""
    if name not in _REFERENCE:
        world = World()
        out = TRANSFORMS[name](world)(X)
        _REFERENCE[name] = (out, world.snapshot())
    return _REFERENCE[name]


def assert_states(got: dict, want: dict, when: str) -> None:
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, err_msg=f"state {key!r} {when}")


def assert_next_call_works(name: str, world: World, call: Callable) -> None:
    world.fail_while_tracing = False
    out = call(X)
    want_out, want_states = reference(name)
    for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(want_out)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    assert_states(world.snapshot(), want_states, "after the next call")


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("nested", [False, True], ids=["top", "in-jit"])
def test_exception_while_tracing(name: str, nested: bool) -> None:
    world = World()
    call = TRANSFORMS[name](world)
    if nested:
        call = T.jit(call)
    before = world.snapshot()
    world.fail_while_tracing = True
    with pytest.raises(ValueError, match="boom while tracing"):
        call(X)
    assert_states(world.snapshot(), before, "after the failed call")
    assert_next_call_works(name, world, call)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_failed_runtime_check(name: str) -> None:
    world = World()
    call = TRANSFORMS[name](world)
    before = world.snapshot()
    # Compiled programs report the check as a JAX runtime error; eager ones raise JitErrorIf itself.
    with pytest.raises((brainstate.JitErrorIf, jax.errors.JaxRuntimeError), match="x too large"):
        call(X * 1000.0)
    assert_states(world.snapshot(), before, "after the failed call")
    assert_next_call_works(name, world, call)


def _in_raw_jit(call: Callable) -> Callable:
    return jax.jit(call)


def _in_raw_cond(call: Callable) -> Callable:
    return T.jit(lambda x: jax.lax.cond(jnp.sum(x) > 0, call, call, x))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("wrap", [_in_raw_jit, _in_raw_cond], ids=["raw-jit", "raw-cond-in-jit"])
def test_failed_write_back(name: str, wrap: Callable) -> None:
    world = World()
    call = TRANSFORMS[name](world)
    before = world.snapshot()
    with pytest.raises(brainstate.TraceContextError, match="raw JAX transformation|jax.jit"):
        wrap(call)(X)
    assert_states(world.snapshot(), before, "after the failed write-back")
    assert_next_call_works(name, world, call)


class Picky(brainstate.State):
    """A State whose vmap hook refuses some values: the hook runs while vmap writes results back."""

    def from_lanes(self, value: Any, batched: bool, axis_size: int) -> None:
        if float(jnp.sum(value)) > 100:
            raise ValueError(f"Picky refuses {value}")
        super().from_lanes(value, batched, axis_size)


def test_vmap_write_back_hook_failure_restores_every_state() -> None:
    plain = brainstate.State(jnp.zeros(3))
    batched = brainstate.HiddenState(jnp.zeros((2, 3)))
    picky = Picky(jnp.zeros(()))
    rng = brainstate.random.RandomState(0)

    def f(x, big):
        plain.value = plain.value + 1.0
        batched.value = batched.value + x
        picky.value = picky.value + big
        return rng.uniform() + jnp.sum(x)

    g = T.vmap(f, in_axes=(0, None), in_states=batched)
    states = (plain, batched, picky, rng)
    before = [np.asarray(s.value) for s in states]
    with pytest.raises(ValueError, match="Picky refuses"):
        g(jnp.ones((2, 3)), 1000.0)
    for state, value in zip(states, before):
        np.testing.assert_array_equal(np.asarray(state.value), value, err_msg=repr(state))
    g(jnp.ones((2, 3)), 1.0)
    np.testing.assert_allclose(np.asarray(plain.value), 1.0)
    np.testing.assert_allclose(np.asarray(picky.value), 1.0)
