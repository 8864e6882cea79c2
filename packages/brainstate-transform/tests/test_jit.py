"""jit: state threading, caching and retracing rules, errors, atomicity."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T
from brainstate_core import environ


class Counter:
    def __init__(self):
        self.n = 0


def test_seed_section_2_matches_hand_written_jax():
    state_var = bc.State(jnp.array([1.0, 2.0, 3.0]))
    param = bc.ParamState(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))

    def step_forward(x):
        y = state_var.value @ param.value
        state_var.value = state_var.value + 0.1
        return y

    step_jit = T.jit(step_forward)
    r1 = step_jit(jnp.array(1.0))
    r2 = step_jit(jnp.array(1.0))

    @jax.jit
    def pure(s, p):
        return s @ p, s + 0.1

    s = jnp.array([1.0, 2.0, 3.0])
    e1, s = pure(s, param.value)
    e2, s = pure(s, param.value)
    np.testing.assert_allclose(r1, e1)
    np.testing.assert_allclose(r2, e2)
    np.testing.assert_allclose(state_var.value, s)


def test_decorator_forms_and_static_args():
    s = bc.State(jnp.zeros(()))

    @T.jit(static_argnums=1)
    def f(x, times):
        for _ in range(times):
            s.value = s.value + x
        return s.value

    assert float(f(1.0, 3)) == 3.0
    assert float(f(1.0, 2)) == 5.0

    @T.jit(static_argnames="mode")
    def g(x, mode="double"):
        return x * 2 if mode == "double" else x

    assert float(g(2.0, mode="double")) == 4.0
    assert float(g(2.0, mode="same")) == 2.0


def test_states_read_are_runtime_inputs_no_retrace():
    w = bc.ParamState(jnp.ones(3))
    c = Counter()

    @T.jit
    def f(x):
        c.n += 1
        return jnp.sum(w.value * x)

    assert float(f(1.0)) == 3.0
    first = c.n
    assert first <= 2
    w.value = jnp.ones(3) * 2  # same shape, dtype and weak type: no retrace
    assert float(f(1.0)) == 6.0
    assert c.n == first


def test_read_only_states_not_written_back():
    w = bc.ParamState(jnp.ones(3))
    before = w.value

    T.jit(lambda x: w.value * x)(2.0)
    assert w.value is before


def test_shape_or_dtype_change_of_state_retraces():
    s = bc.State(jnp.zeros(3))
    c = Counter()

    @T.jit
    def f():
        c.n += 1
        s.value = s.value + 1
        return s.value

    f()
    n = c.n
    f()
    assert c.n == n
    s.value = jnp.zeros(5)
    assert f().shape == (5,)
    assert c.n == n + 1
    s.value = jnp.zeros(5, jnp.int32)
    assert f().dtype == jnp.int32
    assert c.n == n + 2


@pytest.mark.parametrize("first,second,retrace", [(1, 2, False), (1.0, 2.0, False), (1, 2.0, True), (1.0, jnp.float32(2.0), True)])
def test_python_scalar_types_retrace_like_jax(first, second, retrace):
    c = Counter()
    s = bc.State(jnp.zeros(()))

    @T.jit
    def f(x):
        c.n += 1
        s.value = s.value + x
        return x

    f(first)
    n = c.n
    f(second)
    assert (c.n > n) == retrace


def test_environ_values_read_while_tracing_are_part_of_the_key():
    s = bc.State(jnp.zeros(()))
    c = Counter()

    @T.jit
    def step():
        c.n += 1
        s.value = s.value + environ.get("dt")

    with environ.context(dt=0.1):
        step()
        n = c.n
        step()
        assert c.n == n
    with environ.context(dt=0.5):
        step()
    assert c.n == n + 1
    np.testing.assert_allclose(s.value, 0.7, rtol=1e-6)
    with environ.context(dt=0.1):
        step()
    assert c.n == n + 1  # the dt=0.1 program is still cached


def test_environ_read_in_nested_transform_is_keyed_by_outer_jit():
    s = bc.State(jnp.zeros(()))

    def inner(x):
        s.value = s.value + x * environ.get("dt")
        return x

    @T.jit
    def outer(x):
        return T.for_loop(inner, jnp.full(2, x))

    with environ.context(dt=1.0):
        outer(1.0)
    with environ.context(dt=10.0):
        outer(1.0)
    np.testing.assert_allclose(s.value, 22.0)


def test_states_created_inside_stay_local_and_leak_is_reported():
    leaked = []

    @T.jit
    def f(x):
        local = bc.State(x * 2)
        local.value = local.value + 1
        leaked.append(local)
        return local.value

    assert float(f(1.0)) == 3.0
    assert T.StatefulFunction(f.fun).get_states(1.0) == ()
    with pytest.raises(bc.TraceContextError, match=r"created at .*test_jit.py:\d+ .*inside a brainstate transformation"):
        _ = leaked[-1].value


def test_nested_jit():
    s = bc.State(jnp.zeros(2))

    @T.jit
    def inner(x):
        s.value = s.value + x
        return s.value.sum()

    @T.jit
    def outer(x):
        a = inner(x)
        b = inner(x)
        return a + b

    assert float(outer(1.0)) == 2.0 + 4.0
    np.testing.assert_allclose(s.value, [2.0, 2.0])
    inner(1.0)
    np.testing.assert_allclose(s.value, [3.0, 3.0])


def test_jit_of_callable_object_and_method():
    class Model:
        def __init__(self):
            self.w = bc.ParamState(jnp.ones(2))
            self.calls = bc.State(jnp.array(0))

        def __call__(self, x):
            self.calls.value = self.calls.value + 1
            return self.w.value * x

        @T.jit
        def double(self, x):
            return self(x) * 2

    m = Model()
    out = T.jit(m)(3.0)
    np.testing.assert_allclose(out, [3.0, 3.0])
    np.testing.assert_allclose(m.double(1.0), [2.0, 2.0])
    assert int(m.calls.value) == 2


def test_disable_jit_runs_eagerly_with_same_effects():
    s = bc.State(jnp.zeros(()))
    seen = []

    @T.jit
    def f(x):
        seen.append(type(x))
        s.value = s.value + x
        return s.value

    with jax.disable_jit():
        assert float(f(jnp.array(2.0))) == 2.0
    assert float(s.value) == 2.0
    assert all(not issubclass(t, jax.core.Tracer) for t in seen)


@pytest.mark.parametrize("where", ["arg", "kwarg", "nested", "return"])
def test_passing_or_returning_a_state_is_an_error(where):
    s = bc.State(jnp.zeros(()))
    f = T.jit(lambda x=None, y=None: s if where == "return" else 1.0)
    call = {
        "arg": lambda: f(s),
        "kwarg": lambda: f(y=s),
        "nested": lambda: f({"a": [s]}),
        "return": lambda: f(),
    }[where]
    with pytest.raises(bc.StateArgumentError, match=r"State\(f32\[\]\) \(created at .*\).*Fix: use `state.value`"):
        call()


def test_raw_jax_jit_writing_a_state_is_a_trace_context_error():
    s = bc.State(jnp.zeros(()))

    def f(x):
        s.value = x
        return x

    with pytest.raises(bc.TraceContextError, match=r"outside any brainstate transformation.*brainstate.transform.jit"):
        jax.jit(f)(1.0)
    assert float(s.value) == 0.0


def test_raw_jax_transform_nested_in_brainstate_jit_is_reported():
    s = bc.State(jnp.zeros(()))

    @T.jit
    def f(x):
        def body(c, _):
            s.value = c
            return c + 1, None

        return jax.lax.scan(body, x, None, length=2)[0]

    with pytest.raises(bc.TraceContextError, match="raw JAX transformation"):
        f(1.0)
    assert float(s.value) == 0.0


def test_failed_trace_leaves_states_unchanged_and_next_call_works():
    a, b = bc.State(jnp.ones(2)), bc.State(jnp.zeros(2))
    fail = {"on": True}

    @T.jit
    def f(x):
        a.value = a.value + x
        b.value = a.value * 2
        if fail["on"]:
            raise RuntimeError("user error while tracing")
        return b.value

    with pytest.raises(RuntimeError, match="user error"):
        f(1.0)
    np.testing.assert_allclose(a.value, [1.0, 1.0])
    np.testing.assert_allclose(b.value, [0.0, 0.0])
    assert not isinstance(a.value, jax.core.Tracer)
    fail["on"] = False
    np.testing.assert_allclose(f(1.0), [4.0, 4.0])


def test_runtime_check_failure_leaves_states_unchanged():
    s = bc.State(jnp.zeros(()))

    @T.jit
    def f(x):
        s.value = s.value + x
        T.jit_error_if(x > 0, "x must not be positive, got {}", x)
        return x

    with pytest.raises(Exception, match="x must not be positive, got 1.0"):
        f(1.0)
    assert float(s.value) == 0.0
    f(-2.0)
    assert float(s.value) == -2.0


def test_lower_compile_eval_shape_clear_cache():
    s = bc.State(jnp.zeros(3))
    c = Counter()

    @T.jit
    def f(x):
        c.n += 1
        s.value = s.value + x
        return s.value * 2

    shape = f.eval_shape(1.0)
    assert shape.shape == (3,) and shape.dtype == jnp.float32
    assert float(s.value.sum()) == 0.0
    text = f.lower(1.0).as_text()
    assert "stablehlo" in text or "mhlo" in text
    assert f.compile(1.0) is not None
    f(1.0)
    n = c.n
    f.clear_cache()
    f(1.0)
    assert c.n > n
    np.testing.assert_allclose(s.value, [2.0, 2.0, 2.0])


def test_new_state_used_under_other_static_arg_is_picked_up():
    a, b = bc.State(jnp.zeros(())), bc.State(jnp.zeros(()))

    @T.jit(static_argnums=0)
    def f(which):
        target = a if which == "a" else b
        target.value = target.value + 1

    f("a")
    f("b")
    f("a")
    assert (float(a.value), float(b.value)) == (2.0, 1.0)


def test_state_with_pytree_value():
    s = bc.State({"w": jnp.ones(2), "b": jnp.zeros(())})

    @T.jit
    def f():
        v = s.value
        s.value = {"w": v["w"] * 2, "b": v["b"] + 1}

    f()
    np.testing.assert_allclose(s.value["w"], [2.0, 2.0])
    assert float(s.value["b"]) == 1.0


def test_donate_argnums_and_kwargs():
    s = bc.State(jnp.zeros(2))

    @T.jit(donate_argnums=0)
    def f(x, scale=1.0):
        s.value = s.value + x * scale
        return x * 0

    f(jnp.ones(2), scale=3.0)
    np.testing.assert_allclose(s.value, [3.0, 3.0])


def test_threads_run_jitted_functions_concurrently():
    states = [bc.State(jnp.zeros(())) for _ in range(4)]
    fns = [T.jit(lambda x, s=s: s.__setattr__("value", s.value + x)) for s in states]
    errors = []

    def work(i):
        try:
            for _ in range(20):
                fns[i](1.0)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [float(s.value) for s in states] == [20.0] * 4


def test_repr():
    def my_function(x):
        return x

    assert "my_function" in repr(T.jit(my_function))
