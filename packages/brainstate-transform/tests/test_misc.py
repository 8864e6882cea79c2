"""Tests of checkpoint/remat, eval_shape, named_scope, jit_error_if, ProgressBar and the inspection helpers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.core import ClosedJaxpr

import brainstate_core as bc
import brainstate_transform as T


def _primitives(jaxpr) -> set:
    """Names of every primitive in a jaxpr, sub-jaxprs included."""
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    names |= _primitives(inner if hasattr(inner, "eqns") else inner.jaxpr)
                elif hasattr(sub, "eqns"):
                    names |= _primitives(sub)
    return names


def _has_remat(jaxpr) -> bool:
    return any("remat" in n or "checkpoint" in n for n in _primitives(jaxpr))


def _has_callback(jaxpr) -> bool:
    return any("callback" in n for n in _primitives(jaxpr))


# -- checkpoint / remat -----------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", ["call", "decorator", "remat"])
def test_checkpoint_writes_back_and_differentiates_like_the_plain_function(wrap):
    w = bc.ParamState(jnp.array([0.5, -1.0]))
    h = bc.HiddenState(jnp.zeros(2))

    def f(x):
        h.value = jnp.tanh(w.value * x + h.value)
        return jnp.sum(h.value**2)

    g = {
        "call": lambda: T.checkpoint(f),
        "decorator": lambda: T.checkpoint(prevent_cse=False)(f),
        "remat": lambda: T.remat(f),
    }[wrap]()
    jaxpr, states = T.make_jaxpr(g)(2.0)
    assert set(states) == {w, h} and _has_remat(jaxpr.jaxpr)

    dw = T.grad(g, grad_states=w)(2.0)
    h_after_g = h.value
    h.value = jnp.zeros(2)
    expected = T.grad(f, grad_states=w)(2.0)
    np.testing.assert_allclose(dw, expected, rtol=1e-6)
    np.testing.assert_allclose(h_after_g, h.value, rtol=1e-6)
    np.testing.assert_allclose(g(1.0), jnp.sum(jnp.tanh(w.value + h_after_g) ** 2), rtol=1e-6)


def test_checkpoint_static_argnums_and_policy():
    s = bc.State(jnp.array(1.0))

    def f(x, power):
        s.value = s.value * 2
        return x**power

    g = T.checkpoint(f, static_argnums=1, policy=jax.checkpoint_policies.nothing_saveable)
    assert float(g(3.0, 2)) == 9.0 and float(s.value) == 2.0
    assert float(T.grad(lambda x: g(x, 3))(2.0)) == 12.0 and float(s.value) == 4.0


def test_checkpoint_failure_leaves_states_unchanged():
    s = bc.State(jnp.array(1.0))
    fail = [True]

    def f(x):
        s.value = s.value + x
        if fail[0]:
            raise ValueError("checkpointed body failed")
        return x

    g = T.checkpoint(f)
    with pytest.raises(ValueError, match="checkpointed body failed"):
        g(1.0)
    assert float(s.value) == 1.0
    fail[0] = False
    g(1.0)
    assert float(s.value) == 2.0


# -- eval_shape -------------------------------------------------------------------------------------
def test_eval_shape_returns_shapes_without_changing_states():
    s = bc.State(jnp.zeros((2, 3)))
    before = s._value

    def f(x, scale=1.0):
        s.value = s.value + x * scale
        return {"y": s.value.sum(axis=0), "z": s.value.astype(jnp.int32)}

    out = T.eval_shape(f, jnp.ones(3), scale=2.0)
    assert out["y"] == jax.ShapeDtypeStruct((3,), jnp.float32)
    assert out["z"] == jax.ShapeDtypeStruct((2, 3), jnp.int32)
    assert s._value is before


def test_eval_shape_failure_leaves_states_unchanged():
    s = bc.State(jnp.zeros(2))

    def f():
        s.value = s.value + 1
        return s.value @ jnp.ones(3)

    with pytest.raises(TypeError):
        T.eval_shape(f)
    np.testing.assert_array_equal(s.value, [0.0, 0.0])


# -- named_scope ------------------------------------------------------------------------------------
@pytest.mark.parametrize("outer", ["jit", "for_loop"])
def test_named_scope_names_the_operations(outer):
    s = bc.State(jnp.zeros(2))

    def f(x):
        with T.named_scope("my_block"):
            s.value = jnp.sin(s.value + x)
        return jnp.cos(s.value)

    g = T.jit(f) if outer == "jit" else (lambda xs: T.for_loop(f, xs))
    arg = 1.0 if outer == "jit" else jnp.ones(2)
    jaxpr, _ = T.make_jaxpr(g)(arg)

    def scopes(jp):
        found = []
        for eqn in jp.eqns:
            found.append((eqn.primitive.name, str(eqn.source_info.name_stack)))
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", None)
                if inner is not None:
                    found += scopes(inner if hasattr(inner, "eqns") else inner.jaxpr)
        return found

    found = scopes(jaxpr.jaxpr)
    assert any(p == "sin" and "my_block" in n for p, n in found)
    assert any(p == "cos" and "my_block" not in n for p, n in found)


# -- jit_error_if -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "error, args, kwargs, message",
    [
        ("x is {}", (3,), {}, "x is 3"),
        ("x={x}, y={y}", (), {"x": 1, "y": 2.5}, "x=1, y=2.5"),
        (lambda v: f"value {int(v)} too big", (jnp.array(7),), {}, "value 7 too big"),
    ],
    ids=["positional", "keyword", "callable"],
)
def test_jit_error_if_raises_eagerly_with_formatted_message(error, args, kwargs, message):
    with pytest.raises(bc.JitErrorIf, match=f"^{message}$"):
        T.jit_error_if(jnp.array(True), error, *args, **kwargs)
    assert T.jit_error_if(jnp.array([False, False]), error, *args, **kwargs) is None
    with pytest.raises(bc.JitErrorIf):
        T.jit_error_if(jnp.array([False, True]), error, *args, **kwargs)
    assert issubclass(bc.JitErrorIf, bc.BrainStateError)


@pytest.mark.parametrize("inside", ["jit", "jit+for_loop", "jit+cond"])
def test_jit_error_if_raises_at_runtime_inside_transformations(inside):
    count = bc.State(jnp.array(0))

    def check(x):
        count.value = count.value + 1
        T.jit_error_if(x > 1.0, "x too large: {}", x)
        return x * 2

    if inside == "jit":
        f = T.jit(check)
    elif inside == "jit+for_loop":
        f = T.jit(lambda x: T.for_loop(check, jnp.stack([x * 0.5, x])))
    else:
        f = T.jit(lambda x: T.cond(x > 0, check, lambda y: y * 2, x))
    np.testing.assert_allclose(f(0.5), f(0.5))
    calls = int(count.value)
    assert calls >= 2
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"x too large: (1\.5|3\.0)"):
        f(3.0)
        jax.effects_barrier()
    assert int(count.value) == calls
    np.testing.assert_allclose(f(1.0), f(1.0))


# -- ProgressBar ------------------------------------------------------------------------------------
@pytest.mark.parametrize("freq", [0, -3])
def test_progress_bar_rejects_non_positive_freq(freq):
    with pytest.raises(ValueError, match=f"positive integer, got {freq}"):
        T.ProgressBar(freq=freq)


@pytest.mark.parametrize("loop, freq", [("scan", 2), ("for_loop", None), ("for_loop", 10)])
def test_progress_bar_reports_every_step(loop, freq, capsys):
    acc = bc.State(jnp.array(0.0))

    def step(x):
        acc.value = acc.value + x
        return acc.value

    bar = T.ProgressBar(freq=freq, desc="training")
    xs = jnp.arange(5.0)
    if loop == "scan":
        ys = T.scan(lambda c, x: (c, step(x)), 0.0, xs, pbar=bar)[1]
    else:
        ys = T.for_loop(step, xs, pbar=bar)
    jax.effects_barrier()
    np.testing.assert_allclose(ys, np.cumsum(np.arange(5.0)))
    assert bar.count == 5
    err = capsys.readouterr().err
    assert "training" in err and "5/5" in err
    T.for_loop(step, xs, pbar=bar)
    jax.effects_barrier()
    assert bar.count == 5 and float(acc.value) == 20.0


def test_progress_bar_costs_nothing_when_not_passed():
    xs = jnp.arange(4.0)
    plain, _ = T.make_jaxpr(lambda v: T.for_loop(lambda x: x + 1, v))(xs)
    with_bar, _ = T.make_jaxpr(lambda v: T.for_loop(lambda x: x + 1, v, pbar=T.ProgressBar(freq=1)))(xs)
    assert not _has_callback(plain.jaxpr)
    assert _has_callback(with_bar.jaxpr)


# -- make_jaxpr and the state inspection helpers ----------------------------------------------------
def test_make_jaxpr_returns_jaxpr_of_args_and_state_values_and_the_states():
    a = bc.State(jnp.array([1.0, 2.0]))
    b = bc.ParamState(jnp.array(3.0))
    before = (a._value, b._value)

    def f(x):
        y = b.value * x
        a.value = a.value + y
        return y * 2

    jaxpr, states = T.make_jaxpr(f)(jnp.array(0.5))
    assert isinstance(jaxpr, ClosedJaxpr)
    assert states == (b, a)
    assert (a._value, b._value) == before
    # upstream's arrangement: args, then state values; output, then every touched state's new value
    flat = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, jnp.array(0.5), b.value, a.value)
    np.testing.assert_allclose(flat[0], 3.0)
    np.testing.assert_allclose(flat[1], 3.0)
    np.testing.assert_allclose(flat[2], [2.5, 3.5])
    assert len(flat) == 3


def test_make_jaxpr_static_argnums():
    s = bc.State(jnp.zeros(2))

    def f(x, n):
        for _ in range(n):
            s.value = s.value + x
        return s.value

    j2, _ = T.make_jaxpr(f, static_argnums=1)(1.0, 2)
    j4, _ = T.make_jaxpr(f, static_argnums=1)(1.0, 4)
    assert len(j4.jaxpr.eqns) > len(j2.jaxpr.eqns)
    np.testing.assert_array_equal(s.value, [0.0, 0.0])


def test_get_states_read_states_and_write_states():
    a = bc.State(jnp.zeros(2), name="a")
    b = bc.ParamState(jnp.ones(2), name="b")
    c = bc.HiddenState(jnp.zeros(2), name="c")
    unused = bc.State(jnp.zeros(2))
    before = [s._value for s in (a, b, c)]

    def f(x):
        y = b.value * x
        c.value = c.value + y
        a.value = y
        return y + a.value

    def g(x):
        c.value = c.value + b.value * x
        return a.value

    assert T.get_states(f, 1.0) == (b, c, a)
    assert T.get_write_states(f, 1.0) == (c, a)
    assert T.get_read_states(f, 1.0) == (b,)
    assert T.get_states(g, 1.0) == (c, b, a)
    assert T.get_write_states(g, 1.0) == (c,)
    assert T.get_read_states(g, 1.0) == (b, a)
    assert unused not in T.get_states(f, 1.0)
    assert [s._value for s in (a, b, c)] == before


def test_stateful_function_inspection_with_static_arguments():
    a = bc.State(jnp.zeros(2))
    b = bc.State(jnp.zeros(2))

    def f(x, flag):
        if flag:
            a.value = a.value + x
        return b.value

    sf = T.StatefulFunction(f, static_argnums=1)
    assert sf.get_states(1.0, True) == (a, b)
    assert sf.get_write_states(1.0, True) == (a,)
    assert sf.get_states(1.0, False) == (b,)
    assert sf.get_write_states(1.0, False) == ()
    assert T.StatefulFunction(f, static_argnames="flag").get_read_states(1.0, flag=False) == (b,)


def test_get_states_ignores_states_created_inside():
    outer = bc.State(jnp.zeros(2))

    def f():
        local = bc.State(jnp.ones(2))
        local.value = local.value + outer.value
        return local.value

    assert T.get_states(f) == (outer,)
    assert T.get_write_states(f) == ()


# -- jax.debug inside the transformations not covered by test_loops / test_conditions --------------
_DEBUG_TRANSFORMS = {
    "jit": lambda f: T.jit(f)(jnp.array(2.0)),
    "grad": lambda f: T.grad(f)(jnp.array(2.0)),
    "vmap": lambda f: T.vmap(f, in_axes=None, axis_size=1)(jnp.array(2.0)),
    "checkpoint": lambda f: T.checkpoint(f)(jnp.array(2.0)),
    "jit+grad": lambda f: T.jit(T.grad(f))(jnp.array(2.0)),
    "jit+vmap+checkpoint": lambda f: T.jit(T.vmap(T.checkpoint(f), in_axes=None, axis_size=1))(jnp.array(2.0)),
}


@pytest.mark.parametrize("transform", _DEBUG_TRANSFORMS)
def test_debug_print_and_callback_inside_transformations(transform, capsys):
    s = bc.State(jnp.array(1.0))
    seen = []

    def f(x):
        s.value = s.value + 1.0
        jax.debug.print("s={s}", s=s.value)
        jax.debug.callback(lambda v: seen.append(float(v)), s.value)
        return x * s.value

    _DEBUG_TRANSFORMS[transform](f)
    jax.effects_barrier()
    assert seen == [2.0]
    assert capsys.readouterr().out.strip() == "s=2.0"
    assert float(s.value) == 2.0
