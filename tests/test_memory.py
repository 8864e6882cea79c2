"""Memory: dead models are not kept alive by the transformations' caches.

``benchmarks/bench_memory.py`` measures the resident set size over long runs; these tests check the
mechanism directly with weak references: once nothing but a jitted function's caches refers to a
model (or its States), ``clear_cache()`` lets the garbage collector free it. Plain ``jax.jit`` keeps
static arguments in its caches too, so only the states that JAX's caches would not hold are
required to go without ``clear_cache()``.
"""

from __future__ import annotations

import gc
import weakref

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate

T = brainstate.transform


class Model:
    def __init__(self, scale: float = 1.0) -> None:
        self.w = brainstate.ParamState(jnp.full(3, scale))
        self.h = brainstate.HiddenState(jnp.zeros(3))

    def step(self, x):
        self.h.value = self.h.value * 0.5 + self.w.value * x
        return jnp.sum(self.h.value)


class Shared(Model):
    @T.jit
    def jitted_step(self, x):
        return self.step(x)


def _refs(model: Model) -> list[weakref.ref]:
    return [weakref.ref(model), weakref.ref(model.w), weakref.ref(model.h)]


def _alive(refs: list[weakref.ref]) -> list[bool]:
    gc.collect()
    return [r() is not None for r in refs]


def test_a_model_used_by_a_live_jitted_function_stays_alive_and_correct() -> None:
    holder = [Model(2.0)]
    step = T.jit(lambda x: holder[0].step(x))
    assert float(step(1.0)) == 6.0
    refs = _refs(holder[0])
    assert _alive(refs) == [True] * 3
    assert float(step(1.0)) == 9.0  # h = 0.5 * 2 + 2


def test_clear_cache_frees_a_model_held_only_by_a_jitted_method() -> None:
    model = Shared()
    assert float(model.jitted_step(1.0)) == 3.0
    refs = _refs(model)
    del model
    Shared.jitted_step.clear_cache()
    assert _alive(refs) == [False] * 3


def test_clear_cache_frees_the_states_of_a_replaced_model() -> None:
    holder = [Model()]
    step = T.jit(lambda x: holder[0].step(x))
    step(1.0)
    refs = _refs(holder[0])
    # As with jax.jit, which objects the function reaches through Python containers is fixed when it
    # is traced: after swapping the model, clear_cache() makes it trace again with the new one.
    holder[0] = Model(3.0)
    step.clear_cache()
    assert float(step(1.0)) == 9.0
    assert _alive(refs) == [False] * 3


def test_a_dropped_model_and_its_jitted_step_are_freed() -> None:
    model = Model()
    step = T.jit(model.step)
    step(1.0)
    refs = _refs(model)
    del model, step
    assert _alive(refs) == [False] * 3


def test_a_jitted_method_on_a_new_instance_does_not_retrace_earlier_ones() -> None:
    traces = []

    class Counted(Model):
        @T.jit
        def jitted_step(self, x):
            traces.append(self)
            return self.step(x)

    a, b = Counted(), Counted(2.0)
    a.jitted_step(1.0)
    b.jitted_step(1.0)
    before = len(traces)
    np.testing.assert_allclose(float(a.jitted_step(1.0)), 4.5)
    assert len(traces) == before, "calling the method on `b` made `a` retrace"


def _array_refs(model: Model) -> list[weakref.ref]:
    return [weakref.ref(model.w.value), weakref.ref(model.h.value)]


def test_the_values_a_discovery_trace_met_are_freed_with_the_model() -> None:
    # The first call traces once to find the states; JAX would keep that aborted trace, and the state
    # values it captured, alive for good unless the transformation releases it.
    model = Model()
    step = T.jit(model.step)
    step(1.0)
    model.h.value = jnp.ones(3)  # a fresh value, never seen by a trace
    refs = _array_refs(model)
    del model, step
    assert _alive(refs) == [False] * 2


@pytest.mark.parametrize("where", ["jit", "for_loop"])
def test_the_values_a_failed_trace_met_are_freed_with_the_model(where: str) -> None:
    def fail_once() -> list[weakref.ref]:
        model = Model()

        def fails(x):
            model.step(x)
            raise ZeroDivisionError("boom")

        call = T.jit(fails) if where == "jit" else (lambda x: T.for_loop(lambda i: fails(x), jnp.arange(2)))
        with pytest.raises(ZeroDivisionError):
            call(1.0)
        return _array_refs(model)

    assert _alive(fail_once()) == [False] * 2
