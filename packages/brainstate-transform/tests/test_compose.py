"""Composability: every pair (and a few triples) of transformations, checked against hand-written pure JAX.

Each transformation is a *wrapper*: a stateful factory that turns a stateful function ``x -> scalar``
into another one, and a pure factory that does the same to the pure function
``(states, x) -> (scalar, states)`` which threads the same states explicitly. Nesting the stateful
factories and nesting the pure ones must give the same outputs and the same final state values.

The states: ``w`` (a ParamState, differentiated by ``grad``), ``c`` (a counter written on every
call, which also picks the ``cond`` branch) and ``h`` (a HiddenState, batched by ``vmap``).
"""

import itertools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T

W0 = jnp.array([0.7, -0.4])
H0 = jnp.array([[0.1, -0.2], [0.3, 0.05]])
X1 = jnp.array([[0.5, -1.0], [0.25, 2.0]])
X2 = jnp.array([[-0.3, 0.8], [1.5, -0.6]])


class States(NamedTuple):
    w: bc.ParamState
    c: bc.State
    h: bc.HiddenState


def make_states() -> States:
    return States(bc.ParamState(W0), bc.State(jnp.array(0)), bc.HiddenState(H0))


def stateful_core(s: States) -> Callable:
    def f(x):
        s.c.value = s.c.value + 1
        s.h.value = 0.5 * s.h.value + jnp.tanh(x * s.w.value[0] + s.w.value[1])
        return jnp.sum(s.h.value * x) * s.w.value[0]

    return f


def pure_core(st: dict, x):
    h = 0.5 * st["h"] + jnp.tanh(x * st["w"][0] + st["w"][1])
    return jnp.sum(h * x) * st["w"][0], {**st, "c": st["c"] + 1, "h": h}


def _stack(x):
    return jnp.stack([x, 0.5 * x])


# -- the wrappers: (stateful factory(f, states), pure factory(fp)) ----------------------------------
def _jit(f, s):
    return T.jit(f)


def _jit_p(fp):
    return fp


def _checkpoint(f, s):
    return T.checkpoint(f)


def _checkpoint_p(fp):
    return fp


def _grad(f, s):
    df = T.grad(f, grad_states=s.w)
    return lambda x: jnp.sum(df(x))


def _grad_p(fp):
    def g(st, x):
        dw, new = jax.grad(lambda wv: fp({**st, "w": wv}, x), has_aux=True)(st["w"])
        return jnp.sum(dw), {**new, "w": st["w"]}

    return g


def _vmap(f, s):
    vf = T.vmap(f, in_states=s.h)
    return lambda x: jnp.sum(vf(x))


def _vmap_p(fp):
    def g(st, x):
        def lane(h, xi):
            out, new = fp({**st, "h": h}, xi)
            return out, new["h"], new["c"]

        outs, h, c = jax.vmap(lane, out_axes=(0, 0, None))(st["h"], x)
        return jnp.sum(outs), {**st, "h": h, "c": c}

    return g


def _scan(f, s):
    def body(acc, xi):
        return acc + f(xi), None

    return lambda x: T.scan(body, jnp.zeros(()), _stack(x))[0]


def _scan_p(fp):
    def g(st, x):
        def body(carry, xi):
            acc, st2 = carry
            out, st2 = fp(st2, xi)
            return (acc + out, st2), None

        (acc, st2), _ = jax.lax.scan(body, (jnp.zeros(()), st), _stack(x))
        return acc, st2

    return g


def _for_loop(f, s):
    return lambda x: jnp.sum(T.for_loop(f, _stack(x)))


def _for_loop_p(fp):
    def g(st, x):
        def body(st2, xi):
            out, st2 = fp(st2, xi)
            return st2, out

        st2, ys = jax.lax.scan(body, st, _stack(x))
        return jnp.sum(ys), st2

    return g


def _cond(f, s):
    def other(x):
        return jnp.sum(x) * s.w.value[1]

    return lambda x: T.cond(s.c.value % 2 == 0, f, other, x)


def _cond_p(fp):
    def other(st, x):
        return jnp.sum(x) * st["w"][1], st

    return lambda st, x: jax.lax.cond(st["c"] % 2 == 0, fp, other, st, x)


WRAPPERS = {
    "jit": (_jit, _jit_p),
    "grad": (_grad, _grad_p),
    "vmap": (_vmap, _vmap_p),
    "scan": (_scan, _scan_p),
    "for_loop": (_for_loop, _for_loop_p),
    "cond": (_cond, _cond_p),
    "checkpoint": (_checkpoint, _checkpoint_p),
}

# for_loop is scan with another signature: it takes part in the triples, not in every pair.
PAIRS = list(itertools.product([n for n in WRAPPERS if n != "for_loop"], repeat=2))
TRIPLES = [
    ("jit", "vmap", "scan"),
    ("grad", "scan", "cond"),
    ("vmap", "checkpoint", "grad"),
    ("jit", "grad", "vmap"),
    ("scan", "vmap", "cond"),
    ("cond", "jit", "grad"),
    ("for_loop", "grad", "checkpoint"),
    ("vmap", "for_loop", "jit"),
    ("for_loop", "cond", "vmap"),
    ("grad", "grad", "jit"),
]


def build(names):
    """The stateful program, its states, and the pure program, nesting ``names`` outermost first."""
    s = make_states()
    f, fp = stateful_core(s), pure_core
    for name in reversed(names):
        wrap, wrap_p = WRAPPERS[name]
        f, fp = wrap(f, s), wrap_p(fp)
    return f, s, fp


def reference(fp, st, x):
    """Run the pure program op by op (cheap for tiny shapes: no compilation per test case)."""
    with jax.disable_jit():
        return fp(st, x)


def _assert_same(actual_out, s, expected_out, st):
    np.testing.assert_allclose(actual_out, expected_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s.w.value, st["w"], rtol=1e-6)
    assert int(s.c.value) == int(st["c"])
    np.testing.assert_allclose(s.h.value, st["h"], rtol=1e-5, atol=1e-6)
    for state in s:
        assert not isinstance(state._value, jax.core.Tracer)


@pytest.mark.parametrize("names", PAIRS + TRIPLES, ids=lambda n: "(".join(n) + ")" * (len(n) - 1))
def test_nested_transformations_match_pure_jax(names):
    f, s, fp = build(names)
    st = {"w": W0, "c": jnp.array(0), "h": H0}
    calls = (X1, X2) if "cond" in names else (X1,)  # a second call flips the cond branch (counter parity)
    for x in calls:
        expected, st = reference(fp, st, x)
        _assert_same(f(x), s, expected, st)


def test_the_pure_reference_is_not_trivial():
    """Guard against a matrix that passes vacuously: the wrappers change outputs and states."""
    outs = {}
    for name in WRAPPERS:
        _, _, fp = build((name,))
        out, st = reference(fp, {"w": W0, "c": jnp.array(0), "h": H0}, X1)
        outs[name] = float(out)
        assert int(st["c"]) >= 1
    assert len({round(v, 4) for v in outs.values()}) >= 3


# -- caching: a jitted composition is traced at most twice, then never again -----------------------
@pytest.mark.parametrize("inner", [n for n in WRAPPERS if n != "jit"])
def test_jit_of_composition_traces_at_most_twice_then_never(inner):
    s = make_states()
    core = stateful_core(s)
    outer_traces, core_traces = [0], [0]

    def counted_core(x):
        core_traces[0] += 1
        return core(x)

    inner_fn = WRAPPERS[inner][0](counted_core, s)

    def outer(x):
        outer_traces[0] += 1
        return inner_fn(x)

    f = T.jit(outer)
    f(X1)
    assert 1 <= outer_traces[0] <= 2  # one discovery trace, aborted, then the real one
    seen = (outer_traces[0], core_traces[0])
    s.w.value = W0 * 2  # a new state value is a runtime input, not a reason to retrace
    f(X2)
    f(X1)
    assert (outer_traces[0], core_traces[0]) == seen
    assert int(s.c.value) == {"scan": 6, "for_loop": 6, "cond": 1}.get(inner, 3)


# -- failure atomicity through compositions --------------------------------------------------------
@pytest.mark.parametrize(
    "names",
    [
        ("jit", "scan"),
        ("grad", "vmap"),
        ("vmap", "cond"),
        ("scan", "checkpoint"),
        ("cond", "for_loop"),
        ("jit", "grad"),
        ("checkpoint", "jit"),
        ("vmap", "grad", "scan"),
    ],
    ids=lambda n: "(".join(n) + ")" * (len(n) - 1),
)
def test_failure_anywhere_leaves_states_unchanged_and_next_call_works(names):
    s = make_states()
    core = stateful_core(s)
    fail = [True]

    def fragile(x):
        out = core(x)
        if fail[0]:
            raise FloatingPointError("user code failed")
        return out

    f = fragile
    for name in reversed(names):
        f = WRAPPERS[name][0](f, s)
    _, _, fp = build(names)
    before = [state._value for state in s]
    with pytest.raises(FloatingPointError, match="user code failed"):
        f(X1)
    for state, value in zip(s, before):
        assert state._value is value
    fail[0] = False
    expected, st = reference(fp, {"w": W0, "c": jnp.array(0), "h": H0}, X1)
    _assert_same(f(X1), s, expected, st)


# -- vmap state rules inside compositions ----------------------------------------------------------
@pytest.mark.parametrize("inner", ["scan", "cond", "jit", "grad"])
def test_vmap_undeclared_batched_write_raises_naming_the_state(inner):
    s = make_states()
    f = T.vmap(WRAPPERS[inner][0](stateful_core(s), s))  # h written per lane but not declared
    before = [state._value for state in s]
    with pytest.raises(bc.BatchAxisError, match=r"HiddenState\(f32\[2,2\]\).*test_compose\.py:\d+.*out_states="):
        f(X1)
    for state, value in zip(s, before):
        assert state._value is value


@pytest.mark.parametrize("inner", ["scan", "cond", "checkpoint"])
def test_vmap_broadcasts_read_states_and_writes_unbatched_values_once(inner):
    s = make_states()

    def f(x):
        s.c.value = s.c.value + 1
        return jnp.sum(x * s.w.value)

    g = T.vmap(WRAPPERS[inner][0](f, s))
    out = g(X1)
    per_lane = jnp.sum(X1 * W0, axis=1)
    if inner == "scan":
        per_lane = per_lane * 1.5
    np.testing.assert_allclose(out, per_lane, rtol=1e-6)
    assert int(s.c.value) == (2 if inner == "scan" else 1)
    np.testing.assert_array_equal(s.w.value, W0)
