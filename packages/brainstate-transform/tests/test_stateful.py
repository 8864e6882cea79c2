"""The primitive itself: how often each transformation runs the user's code, what it reuses, what it frees.

Trace counts are the contract users see (a ``print`` in a traced function prints once per trace), so
they are pinned here for every transformation, on the first call and in the steady state, eagerly
and nested in ``jit``.
"""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import traceback
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T
from brainstate_core import environ


class Counted:
    """``f(x)``: adds ``x`` to a State and returns ``sum(w * x * s)``, counting how often it runs."""

    def __init__(self) -> None:
        self.s = bc.State(jnp.zeros(3))
        self.w = bc.ParamState(jnp.ones(3))
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        self.s.value = self.s.value + x
        return jnp.sum(self.w.value * x * self.s.value)


def _stacked(x):
    return jnp.stack([x, x])


# name -> (build the transformed function from a Counted f, user-code runs on the first eager call)
TRANSFORMS = {
    "grad": lambda f: T.grad(f, grad_states=f.w),
    "vector_grad": lambda f: T.vector_grad(f, grad_states=f.w),
    "jacrev": lambda f: T.jacrev(f, grad_states=f.w),
    "jacfwd": lambda f: T.jacfwd(f, grad_states=f.w),
    "hessian": lambda f: T.hessian(f, grad_states=f.w),
    "vmap": lambda f: T.vmap(f, in_axes=None, axis_size=2),
    "checkpoint": lambda f: T.checkpoint(f),
}


def _loops(f):
    """Each loop or branch over ``f``, its bodies defined once (as a user's would be)."""

    def body(c, x):
        return c, f(x)

    def nothing(x):
        return jnp.zeros(())

    def while_body(c):
        f(jnp.ones(3))
        return c + 1

    def while_cond(c):
        return c < 1

    return {
        "for_loop": lambda x: T.for_loop(f, _stacked(x)),
        "scan": lambda x: T.scan(body, 0.0, _stacked(x)),
        "cond": lambda x: T.cond(True, f, nothing, x),
        "while_loop": lambda x: T.while_loop(while_cond, while_body, 0),
    }


# -- jit runs the user's code exactly once per signature ------------------------------------------
def test_jit_traces_once_on_the_first_call_and_never_after():
    f = Counted()
    g = T.jit(f)
    g(jnp.ones(3))
    assert f.calls == 1
    for _ in range(3):
        g(jnp.ones(3))
    assert f.calls == 1
    np.testing.assert_allclose(f.s.value, 4.0)


def test_jit_first_call_prints_once(capsys):
    s = bc.State(jnp.zeros(()))

    @T.jit
    def f(x):
        print("traced")
        s.value = s.value + x
        return s.value

    f(1.0)
    f(2.0)
    assert capsys.readouterr().out == "traced\n"
    assert float(s.value) == 3.0


def test_jit_with_static_arguments_traces_once_per_static_value():
    f = Counted()
    g = T.jit(lambda x, k: f(x) * k, static_argnums=1)
    g(jnp.ones(3), 2)
    g(jnp.ones(3), 2)
    assert f.calls == 1
    g(jnp.ones(3), 3)
    assert f.calls == 2


def test_jitted_method_traces_once_per_instance():
    class Model:
        def __init__(self):
            self.f = Counted()

        @T.jit
        def step(self, x):
            return self.f(x)

    a, b = Model(), Model()
    for m in (a, b, a, b):
        m.step(jnp.ones(3))
    assert (a.f.calls, b.f.calls) == (1, 1)
    np.testing.assert_allclose(a.f.s.value, 2.0)


@pytest.mark.parametrize("outer", ["grad", "vmap", "for_loop", "jit"])
def test_jit_nested_in_another_transformation_traces_once(outer):
    f = Counted()
    inner = T.jit(f)
    wrap = {
        "grad": lambda x: T.grad(inner, grad_states=f.w)(x),
        "vmap": lambda x: T.vmap(inner, in_axes=None, axis_size=2)(x),
        "for_loop": lambda x: T.for_loop(inner, _stacked(x)),
        "jit": T.jit(lambda x: inner(x)),
    }[outer]
    wrap(jnp.ones(3))
    wrap(jnp.ones(3))
    assert f.calls == 1


def test_jit_sees_new_state_values_without_retracing():
    f = Counted()
    g = T.jit(f)
    g(jnp.ones(3))
    f.w.value = f.w.value * 2  # the recorded first trace made w a runtime input
    assert float(g(jnp.ones(3))) == pytest.approx(2.0 * 3 * 2.0)
    assert f.calls == 1


def test_jit_new_shape_of_a_state_retraces_once():
    f = Counted()
    g = T.jit(f)
    g(jnp.ones(3))
    f.s.value, f.w.value = jnp.zeros(5), jnp.ones(5)
    assert float(g(jnp.ones(5))) == pytest.approx(5.0)
    assert f.calls == 2
    g(jnp.ones(5))
    assert f.calls == 2


def test_jit_first_call_handles_write_only_and_pytree_states():
    d = bc.State({"a": jnp.zeros(2), "b": (jnp.ones(()), jnp.arange(3))})
    out = bc.State(jnp.zeros(()))
    calls = []

    @T.jit
    def f(x):
        calls.append(1)
        v = d.value
        out.value = v["b"][0] * x  # never read: written only
        d.value = {"a": v["a"] + x, "b": (v["b"][0], v["b"][1] * 2)}
        return v["a"].sum()

    f(1.0)
    f(1.0)
    assert len(calls) == 1
    np.testing.assert_allclose(d.value["a"], 2.0)
    np.testing.assert_array_equal(d.value["b"][1], [0, 4, 8])
    assert float(out.value) == 1.0


def test_jit_environ_read_on_the_first_call_is_part_of_the_key():
    s = bc.State(jnp.zeros(()))
    calls = []

    @T.jit
    def f():
        calls.append(1)
        s.value = s.value + environ.get("dt")
        return s.value

    with environ.context(dt=0.5):
        f()
        f()
    with environ.context(dt=0.25):
        assert float(f()) == 1.25
    assert len(calls) == 2


def test_jit_state_met_only_under_a_later_static_argument_is_picked_up():
    a, b = bc.State(jnp.zeros(())), bc.State(jnp.ones(()))

    @T.jit(static_argnums=0)
    def f(use_b):
        a.value = a.value + (b.value if use_b else 1.0)
        return a.value

    f(False)
    assert float(f(True)) == 2.0
    b.value = jnp.array(5.0)
    assert float(f(True)) == 7.0


def test_disable_jit_runs_once_and_keeps_states_on_failure():
    f = Counted()
    g = T.jit(f)
    with jax.disable_jit():
        g(jnp.ones(3))
        assert f.calls == 1
        np.testing.assert_allclose(f.s.value, 1.0)

        def bad(x):
            f.s.value = f.s.value + x
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            T.jit(bad)(jnp.ones(3))
    np.testing.assert_allclose(f.s.value, 1.0)


# -- every other transformation ---------------------------------------------------------------------
@pytest.mark.parametrize("name", TRANSFORMS)
def test_eager_transformation_discovers_once_then_traces_once_per_call(name):
    f = Counted()
    g = TRANSFORMS[name](f)
    g(jnp.ones(3))
    # one abstract discovery run and the real one; afterwards one trace per (eager) call
    assert f.calls == 2
    g(jnp.ones(3))
    assert f.calls == 3


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transformation_inside_jit_is_traced_on_the_first_call_only(name):
    f = Counted()  # writes a state the inner transformation does not know
    g = T.jit(TRANSFORMS[name](f))
    g(jnp.ones(3))
    # grad and vmap evaluate f in jit's recording: an attempt that meets an unknown state is aborted
    # there, and jit traces once more without it (3); the others trace f in a trace of their own (2).
    assert f.calls == (3 if name in ("grad", "vector_grad", "jacrev", "jacfwd", "hessian", "vmap") else 2)
    first = f.calls
    g(jnp.ones(3))
    assert f.calls == first


def test_grad_of_grad_states_only_inside_jit_traces_the_loss_once():
    w = bc.ParamState(jnp.ones(3))
    calls = []

    def loss(x):
        calls.append(1)
        return jnp.sum(w.value * x)

    @T.jit
    def step(x):
        g = T.grad(loss, grad_states=w)(x)
        w.value = w.value - 0.1 * g
        return g

    step(jnp.ones(3))
    step(jnp.ones(3))
    assert len(calls) == 1
    np.testing.assert_allclose(w.value, 0.8)


@pytest.mark.parametrize("name", ["for_loop", "scan", "cond", "while_loop"])
def test_loops_and_branches_reuse_what_an_earlier_call_learnt(name):
    f = Counted()
    run = _loops(f)[name]
    run(jnp.ones(3))
    assert f.calls == 2  # discovery, then the loop's one trace of its body
    run(jnp.ones(3))
    assert f.calls == 3  # known from the first call: no discovery


def test_vjp_and_jvp_trace_like_grad():
    f = Counted()
    value, pullback = T.vjp(f, jnp.ones(3), grad_states=f.w, argnums=None)
    np.testing.assert_allclose(pullback(1.0), jnp.ones(3))
    assert f.calls == 2
    value, tangent = T.jvp(f, (jnp.ones(3),), (jnp.zeros(3),), grad_states=f.w, state_tangents=jnp.ones(3))
    assert float(tangent) == pytest.approx(6.0)


# -- what an aborted trace leaves behind --------------------------------------------------------------
def test_aborted_traces_are_released():
    def run():
        big = bc.State(jnp.ones((256, 256)))
        ref = weakref.ref(big)

        @T.jit
        def f(x):
            return jnp.sum(big.value) * x  # unknown on the first trace: recorded, then called again

        f(1.0)
        T.grad(lambda x: jnp.sum(big.value * x))(1.0)
        return ref

    ref = run()
    gc.collect()
    assert ref() is None


def test_nested_aborted_attempt_leaves_no_side_effect_in_the_outer_trace():
    s = bc.State(jnp.array(1.0))
    seen = []

    def f(x):
        s.value = s.value + 1.0  # unknown to grad on its first trace
        jax.debug.callback(lambda v: seen.append(float(v)), s.value)
        return x * s.value

    T.jit(T.grad(f))(jnp.array(2.0))
    jax.effects_barrier()
    assert seen == [2.0]


# -- regressions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("wheel", ["brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn",
                                   "brainstate"])
def test_importing_a_wheel_touches_no_device(wheel):
    code = f"import jax, {wheel}; jax.config.update('jax_num_cpu_devices', 3); print(jax.device_count())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"JAX_PLATFORMS": "cpu"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


def _edit_in_place(s):
    d = s.value
    d["a"] = d["a"] + 1
    s.value = d


@pytest.mark.parametrize("where", ["cond", "switch", "scan", "while_loop", "for_loop", "jit", "vmap"])
def test_editing_a_dict_state_in_place_inside_a_transformation(where):
    s = bc.State({"a": jnp.zeros(()), "b": jnp.ones(())})
    original = s.value

    def edit(*_):
        _edit_in_place(s)

    run = {
        "cond": lambda: T.cond(True, edit, lambda: None),
        "switch": lambda: T.switch(1, [lambda: None, edit]),
        "scan": lambda: T.scan(lambda c, x: (edit(), (c, None))[1], 0, jnp.arange(2)),
        "while_loop": lambda: T.while_loop(lambda i: i < 2, lambda i: (edit(), i + 1)[1], 0),
        "for_loop": lambda: T.for_loop(edit, jnp.arange(2)),
        "jit": T.jit(edit),
        "vmap": lambda: T.vmap(edit, in_axes=None, axis_size=2)(),
    }[where]
    run()
    expected = 1.0 if where in ("cond", "switch", "jit", "vmap") else 2.0
    assert float(s.value["a"]) == expected
    assert float(original["a"]) == 0.0  # the dict the state held was never edited
    assert not any(isinstance(v, jax.core.Tracer) for v in jax.tree.leaves(s.value))


@pytest.mark.parametrize("make", [
    lambda f: T.jit(f), lambda f: T.grad(f), lambda f: T.jacfwd(f), lambda f: T.hessian(f),
    lambda f: T.vmap(f), lambda f: T.pmap(f), lambda f: T.checkpoint(f),
    lambda f: T.StatefulFunction(f),
])
def test_transformed_functions_have_readable_reprs(make):
    def loss(x):
        return x

    text = repr(make(loss))
    assert re.fullmatch(r"brainstate\.transform\.\w+\(.*loss.*\)", text), text
    assert "object at 0x" not in text


@pytest.mark.parametrize("make", [
    lambda f: T.jit(f), lambda f: T.grad(f), lambda f: T.vmap(f),
    lambda f: (lambda x: T.for_loop(f, x[None])), lambda f: (lambda x: T.cond(True, f, f, x)),
])
def test_user_errors_show_no_frames_of_the_transformations(make):
    s = bc.State(jnp.zeros(3))

    def user(x):
        s.value = s.value + x
        raise ValueError("boom")

    previous = jax.config.jax_traceback_filtering
    jax.config.update("jax_traceback_filtering", "remove_frames")
    try:
        with pytest.raises(ValueError, match="boom") as info:
            make(user)(jnp.ones(3))
    finally:
        jax.config.update("jax_traceback_filtering", previous)
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert not [f for f in files if "brainstate_transform" in f or "brainstate_core" in f], files
    np.testing.assert_allclose(s.value, 0.0)
