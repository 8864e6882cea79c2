"""Thread safety: state traces and environ contexts are per thread; jitted models run side by side.

Barriers force the interleavings: one thread holds a trace or a context open while another works.
Models written by one thread each may share one jitted function; a model shared by several
threads is read concurrently (concurrent writes to one State race as they would on any Python
object, so they are not tested for a value).

While one thread traces a function, the values it writes into States (tracers) live in that
thread's overlay, so another thread reading or tracing the same States meanwhile sees their real
values (the last two tests force that interleaving).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate

T = brainstate.transform
THREADS = 4


def run_together(fns: list[Callable[[], Any]], timeout: float = 120.0) -> list[Any]:
    """Run each function on its own thread, all started together; re-raise the first error."""
    with ThreadPoolExecutor(len(fns)) as pool:
        futures = [pool.submit(fn) for fn in fns]
        return [f.result(timeout=timeout) for f in futures]


def test_state_traces_are_per_thread() -> None:
    a, b = brainstate.State(jnp.zeros(2)), brainstate.State(jnp.ones(2))
    opened, read = threading.Barrier(2), threading.Barrier(2)

    def tracing():
        with brainstate.StateTrace() as trace:
            opened.wait()
            a.value = a.value + 1  # recorded here; the other thread's read of b must not be
            read.wait()
        return trace.states, brainstate.current_trace()

    def reading():
        opened.wait()
        inside = brainstate.current_trace()
        value = b.value
        read.wait()
        return inside, value

    (states, after), (other_trace, value) = run_together([tracing, reading])
    assert states == [a] and after is None
    assert other_trace is None
    np.testing.assert_array_equal(value, np.ones(2))


def test_catch_new_states_sees_only_its_thread() -> None:
    ready, made = threading.Barrier(2), threading.Barrier(2)

    def catching():
        with brainstate.catch_new_states("mine") as caught:
            ready.wait()
            mine = brainstate.State(jnp.zeros(()))
            made.wait()
        return caught.states, mine

    def creating():
        ready.wait()
        other = brainstate.State(jnp.zeros(()))
        made.wait()
        return other

    (caught, mine), other = run_together([catching, creating])
    assert caught == [mine] and mine.tag == "mine"
    assert other.tag is None


def test_environ_contexts_are_per_thread() -> None:
    entered, checked = threading.Barrier(THREADS), threading.Barrier(THREADS)
    brainstate.environ.set(threads_shared="global")

    def worker(i: int):
        with brainstate.environ.context(dt=0.1 * (i + 1), threads_shared=f"thread {i}"):
            entered.wait()  # every thread is inside its own context now
            seen = (brainstate.environ.get_dt(), brainstate.environ.get("threads_shared"))
            checked.wait()
        return seen, brainstate.environ.get("threads_shared"), brainstate.environ.get("dt", default=None)

    try:
        results = run_together([lambda i=i: worker(i) for i in range(THREADS)])
    finally:
        brainstate.environ.pop("threads_shared")
    for i, (inside, after, dt_after) in enumerate(results):
        assert inside == (pytest.approx(0.1 * (i + 1)), f"thread {i}")
        assert after == "global" and dt_after is None


class Leaky:
    """A small model: a leaky integrator with a weight; ``step`` is jitted once for all instances."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.v = brainstate.HiddenState(jnp.zeros(3))
        self.w = brainstate.ParamState(jnp.array([1.0, -0.5, 0.25]))

    @T.jit
    def step(self, x):
        self.v.value = self.decay * self.v.value + self.w.value * x
        return jnp.sum(self.v.value)


def _expected_leaky(decay: float, xs: np.ndarray) -> tuple[list[float], np.ndarray]:
    v, w, outs = np.zeros(3, np.float32), np.array([1.0, -0.5, 0.25], np.float32), []
    for x in xs:
        v = np.float32(decay) * v + w * x
        outs.append(float(v.sum()))
    return outs, v


def test_different_models_on_different_threads_share_one_jitted_method() -> None:
    xs = np.linspace(-1.0, 1.0, 25, dtype=np.float32)
    models = [Leaky(0.5 + 0.1 * i) for i in range(THREADS)]
    # Trace first (twice: the shared method learns every model's states, see the module docstring).
    for _ in range(2):
        for model in models:
            model.step(0.0)
            model.v.value = jnp.zeros(3)
    start = threading.Barrier(THREADS)

    def worker(model: Leaky):
        start.wait()
        return [float(model.step(x)) for x in xs]

    results = run_together([lambda m=m: worker(m) for m in models])
    for model, outs in zip(models, results):
        want_outs, want_v = _expected_leaky(model.decay, xs)
        np.testing.assert_allclose(outs, want_outs, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(model.v.value), want_v, rtol=1e-5)


def test_different_jitted_models_with_loops_and_grads_in_parallel() -> None:
    def build(seed: int):
        w = brainstate.ParamState(jnp.full((3,), 0.1 * seed))
        h = brainstate.HiddenState(jnp.zeros(3))

        def loss(x):
            def body(i):
                h.value = jnp.tanh(h.value * 0.5 + w.value * x[i])
                return jnp.sum(h.value)

            return jnp.mean(T.for_loop(body, jnp.arange(x.shape[0])) ** 2)

        @T.jit
        def train(x):
            g = T.grad(loss, grad_states=w)(x)
            w.value = w.value - 0.1 * g
            return loss(x)

        return train, w

    x = jnp.linspace(-1.0, 1.0, 6)
    # sequential reference, on separate states
    reference = []
    for seed in range(THREADS):
        train, w = build(seed)
        reference.append(([float(train(x)) for _ in range(5)], np.asarray(w.value)))
    start = threading.Barrier(THREADS)

    def worker(seed: int):
        train, w = build(seed)
        start.wait()
        return [float(train(x)) for _ in range(5)], np.asarray(w.value)

    results = run_together([lambda s=s: worker(s) for s in range(THREADS)])
    for (losses, w), (want_losses, want_w) in zip(results, reference):
        np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
        np.testing.assert_allclose(w, want_w, rtol=1e-5)


def test_one_model_read_by_many_threads() -> None:
    w = brainstate.ParamState(jnp.arange(4.0))
    b = brainstate.State(jnp.asarray(0.5))
    predict = T.jit(lambda x: jnp.dot(w.value, x) + b.value)
    batched = T.vmap(lambda x: jnp.dot(w.value, x) + b.value)
    start = threading.Barrier(THREADS)
    inputs = [np.random.default_rng(i).normal(size=(10, 4)).astype(np.float32) for i in range(THREADS)]
    predict(inputs[0][0])  # traced once before going parallel (see the module docstring)
    batched(inputs[0])

    def worker(xs: np.ndarray):
        start.wait()
        return [float(predict(x)) for x in xs], np.asarray(batched(xs))

    results = run_together([lambda xs=xs: worker(xs) for xs in inputs])
    for xs, (single, many) in zip(inputs, results):
        want = xs @ np.arange(4.0, dtype=np.float32) + 0.5
        np.testing.assert_allclose(single, want, rtol=1e-5)
        np.testing.assert_allclose(many, want, rtol=1e-5)
    assert not isinstance(w.value, brainstate.State) and np.asarray(w.value).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_one_jitted_function_in_different_environ_contexts_on_different_threads() -> None:
    total = brainstate.State(jnp.asarray(0.0))

    @T.jit
    def scaled(x):
        total.value = total.value + 1.0  # every call writes the shared state: serialised below
        return x * brainstate.environ.get("thread_scale")

    inside, lock = threading.Barrier(THREADS), threading.Lock()

    def worker(i: int):
        with brainstate.environ.context(thread_scale=float(i + 1)):
            inside.wait()  # every thread is in its own context before any call
            outs = []
            for _ in range(10):
                with lock:
                    outs.append(float(scaled(jnp.asarray(2.0))))
        return outs

    results = run_together([lambda i=i: worker(i) for i in range(THREADS)])
    for i, outs in enumerate(results):
        assert outs == [2.0 * (i + 1)] * 10
    assert float(total.value) == 10 * THREADS


def test_many_threads_leave_no_trace_open() -> None:
    s = brainstate.State(jnp.zeros(()))
    f = T.jit(lambda x: s.value + x)

    def worker(i: int):
        for k in range(20):
            f(float(k))
        return brainstate.current_trace()

    assert run_together([lambda i=i: worker(i) for i in range(THREADS)]) == [None] * THREADS
    assert brainstate.current_trace() is None


def test_a_state_read_while_another_thread_traces_it_holds_its_value() -> None:
    w = brainstate.State(jnp.ones(3))
    inside, read = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)
    waited = []

    def f(x):
        out = w.value * x
        if not waited and isinstance(out, jax.core.Tracer):  # this thread is tracing w
            waited.append(True)
            inside.wait()  # the other thread reads w now
            read.wait()
        return out

    def reading():
        inside.wait()
        value = w.value
        read.wait()
        return value

    out, value = run_together([lambda: T.jit(f)(2.0), reading])
    np.testing.assert_array_equal(np.asarray(out), [2.0, 2.0, 2.0])
    assert not isinstance(value, jax.core.Tracer), f"the reading thread saw {value!r}"


def test_first_calls_on_two_threads_tracing_the_same_state() -> None:
    w = brainstate.State(jnp.ones(3))
    inside, done = threading.Event(), threading.Event()

    def slow(x):
        out = w.value * x
        if not inside.is_set() and isinstance(out, jax.core.Tracer):
            inside.set()  # the other thread now calls while this trace is open
            done.wait(60)
        return out

    def fast():
        inside.wait(60)
        try:
            return T.jit(lambda x: w.value + x)(1.0)
        finally:
            done.set()

    first, second = run_together([lambda: T.jit(slow)(2.0), fast])
    np.testing.assert_array_equal(np.asarray(first), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(second), [2.0, 2.0, 2.0])
    assert not isinstance(w.value, jax.core.Tracer)
