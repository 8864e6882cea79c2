"""Tests of the stateful loops: scan, for_loop, while_loop, fori_loop and their checkpointed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T

HERE = r"test_loops\.py:\d+"


def _primitives(jaxpr) -> set:
    """Names of every primitive in a (closed) jaxpr, sub-jaxprs included."""
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for param in eqn.params.values():
            subs = param if isinstance(param, (list, tuple)) else [param]
            for sub in subs:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    names |= _primitives(inner if hasattr(inner, "eqns") else inner.jaxpr)
                elif hasattr(sub, "eqns"):
                    names |= _primitives(sub)
    return names


# -- the loops, each driven the same way: run `step(x)` over xs = [1, 2, 3] ------------------------
def _run_scan(step, xs):
    return T.scan(lambda c, x: (c + 1, step(x)), 0, xs)[1]


def _run_checkpointed_scan(step, xs):
    return T.checkpointed_scan(lambda c, x: (c + 1, step(x)), 0, xs, base=2)[1]  # nested: one block of 2, then 1


def _run_for_loop(step, xs):
    return T.for_loop(step, xs)


def _run_checkpointed_for_loop(step, xs):
    return T.checkpointed_for_loop(step, xs, base=2)


def _run_fori_loop(step, xs):
    def body(i, acc):
        return acc.at[i].set(step(xs[i]))

    return T.fori_loop(0, xs.shape[0], body, jnp.zeros_like(xs))


def _run_while_loop(step, xs):
    def body(c):
        i, acc = c
        return i + 1, acc.at[i].set(step(xs[i]))

    return T.while_loop(lambda c: c[0] < xs.shape[0], body, (0, jnp.zeros_like(xs)))[1]


LOOPS = {
    "scan": _run_scan,
    "checkpointed_scan": _run_checkpointed_scan,
    "for_loop": _run_for_loop,
    "checkpointed_for_loop": _run_checkpointed_for_loop,
    "fori_loop": _run_fori_loop,
    "while_loop": _run_while_loop,
}
XS = jnp.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("loop", LOOPS)
def test_written_state_is_carried_and_written_back_read_state_is_not(loop):
    acc = bc.State(jnp.array(10.0))
    scale = bc.ParamState(jnp.array(2.0))
    scale_before = scale._value

    def step(x):
        acc.value = acc.value + scale.value * x
        return acc.value

    ys = LOOPS[loop](step, XS)
    np.testing.assert_allclose(ys, [12.0, 16.0, 22.0])
    assert float(acc.value) == 22.0 and not isinstance(acc._value, jax.core.Tracer)
    assert scale._value is scale_before
    scale.value = jnp.array(-1.0)
    np.testing.assert_allclose(LOOPS[loop](step, XS), [21.0, 19.0, 16.0])
    assert float(acc.value) == 16.0


@pytest.mark.parametrize("loop", LOOPS)
def test_state_created_in_body_stays_local(loop):
    created = []

    def step(x):
        local = bc.State(x * 2)
        local.value = local.value + 1
        created.append(local)
        return local.value

    np.testing.assert_allclose(LOOPS[loop](step, XS), [3.0, 5.0, 7.0])
    assert created
    with pytest.raises(bc.TraceContextError, match="created inside a brainstate transformation"):
        _ = created[-1].value


@pytest.mark.parametrize(
    "loop, new_value, pattern",
    [(loop, lambda v: jnp.zeros(3), r"f32\[2\].*f32\[3\]") for loop in LOOPS]
    + [("scan", lambda v: v.astype(jnp.int32), r"f32\[2\].*i32\[2\]")],
    ids=[f"shape-{loop}" for loop in LOOPS] + ["dtype-scan"],
)
def test_carried_state_changing_shape_or_dtype_raises(loop, new_value, pattern):
    h = bc.HiddenState(jnp.zeros(2))

    def step(x):
        h.value = new_value(h.value + x)
        return x

    with pytest.raises(bc.StateShapeError, match=rf"HiddenState\(.*\) \(created at .*{HERE}.*{pattern}"):
        LOOPS[loop](step, XS)
    np.testing.assert_array_equal(h.value, jnp.zeros(2))
    assert h.value.dtype == jnp.float32


def test_carried_state_changing_structure_raises():
    h = bc.State({"a": jnp.zeros(())})

    def step(x):
        h.value = {"a": h.value["a"] + x, "b": x}
        return x

    with pytest.raises(bc.StateShapeError, match=rf"State\(.*\) \(created at .*{HERE}"):
        T.for_loop(step, XS)
    assert list(h.value) == ["a"]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("fail_on_trace", [1, 2], ids=["discovery-trace", "real-trace"])
def test_exception_in_body_leaves_states_unchanged(loop, fail_on_trace):
    acc = bc.State(jnp.array(5.0))
    other = bc.HiddenState(jnp.ones(2))
    traces = []
    failing = [True]

    def step(x):
        traces.append(None)
        acc.value = acc.value + x
        if failing[0] and len(traces) >= fail_on_trace:
            other.value = other.value * 0
            raise RuntimeError("boom in body")
        other.value = other.value + x
        return acc.value

    with pytest.raises(RuntimeError, match="boom in body"):
        LOOPS[loop](step, XS)
    assert float(acc.value) == 5.0 and not isinstance(acc._value, jax.core.Tracer)
    np.testing.assert_array_equal(other.value, jnp.ones(2))
    failing[0] = False
    np.testing.assert_allclose(LOOPS[loop](step, XS), [6.0, 8.0, 11.0])
    assert float(acc.value) == 11.0
    np.testing.assert_allclose(other.value, [7.0, 7.0])


@pytest.mark.parametrize("loop", ["for_loop", "checkpointed_scan", "fori_loop", "while_loop"])
def test_failure_inside_jit_leaves_states_unchanged_and_next_call_works(loop):
    acc = bc.State(jnp.array(0.0))
    fail = [True]

    def step(x):
        acc.value = acc.value + x
        if fail[0]:
            raise ValueError("bad step")
        return acc.value

    f = T.jit(lambda xs: LOOPS[loop](step, xs))
    with pytest.raises(ValueError, match="bad step"):
        f(XS)
    assert float(acc.value) == 0.0
    fail[0] = False
    np.testing.assert_allclose(f(XS), [1.0, 3.0, 6.0])
    np.testing.assert_allclose(f(XS), [7.0, 9.0, 12.0])
    assert float(acc.value) == 12.0


@pytest.mark.parametrize("loop", LOOPS)
def test_debug_print_and_callback_inside_body(loop, capsys):
    acc = bc.State(jnp.array(0.0))
    seen = []

    def step(x):
        acc.value = acc.value + x
        jax.debug.print("acc={a}", a=acc.value, ordered=True)
        jax.debug.callback(lambda v: seen.append(float(v)), acc.value, ordered=True)
        return acc.value

    LOOPS[loop](step, XS)
    jax.effects_barrier()
    assert seen == [1.0, 3.0, 6.0]
    assert capsys.readouterr().out.split() == ["acc=1.0", "acc=3.0", "acc=6.0"]


@pytest.mark.parametrize("loop", ["scan", "for_loop", "while_loop"])
def test_body_trace_count_is_cached_across_calls(loop):
    acc = bc.State(jnp.array(0.0))
    count = [0]

    def step(x):
        count[0] += 1
        acc.value = acc.value + 1.0
        return x + 1

    def body(c, x):
        return c, step(x)

    def cond(x):
        return x < 3

    run = {
        "scan": lambda: T.scan(body, 0, XS),
        "for_loop": lambda: T.for_loop(step, XS),
        "while_loop": lambda: T.while_loop(cond, step, 0),
    }[loop]
    run()
    assert 1 <= count[0] <= 2
    count[0] = 0
    run()
    assert count[0] == 1  # eager loops trace their body again, but never rediscover its states
    assert float(acc.value) == 6.0


def test_scan_carry_reverse_length_and_unroll():
    total = bc.State(jnp.array(0.0))

    def body(c, x):
        total.value = total.value + x
        return c * 2, total.value

    c, ys = T.scan(body, 1, XS, reverse=True, unroll=2)
    assert int(c) == 8
    np.testing.assert_allclose(ys, [6.0, 5.0, 3.0])
    assert float(total.value) == 6.0

    def counting(c, _):
        total.value = total.value + 1.0
        return c + 1, None

    c, ys = T.scan(counting, 0, None, length=4)
    assert int(c) == 4 and ys is None
    assert float(total.value) == 10.0


def test_scan_pytree_xs_carry_and_state_value():
    s = bc.State({"sum": jnp.zeros(2), "n": jnp.array(0)})

    def body(c, x):
        s.value = {"sum": s.value["sum"] + x["a"], "n": s.value["n"] + 1}
        return (c[0] + x["b"], c[1]), {"prod": x["a"] * x["b"]}

    xs = {"a": jnp.ones((3, 2)), "b": jnp.arange(3.0)}
    (c0, c1), ys = T.scan(body, (0.0, 1), xs)
    assert float(c0) == 3.0 and int(c1) == 1
    np.testing.assert_allclose(ys["prod"], [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_allclose(s.value["sum"], [3.0, 3.0])
    assert int(s.value["n"]) == 3


def test_for_loop_multiple_sequences_length_and_reverse():
    acc = bc.State(jnp.array(0.0))

    def step(a, b):
        acc.value = acc.value * 10 + a + b
        return acc.value

    ys = T.for_loop(step, jnp.array([1.0, 2.0]), jnp.array([0.0, 1.0]), reverse=True)
    np.testing.assert_allclose(ys, [31.0, 3.0])
    assert float(acc.value) == 31.0

    ticks = bc.State(jnp.array(0))

    def tick():
        ticks.value = ticks.value + 1
        return ticks.value

    np.testing.assert_array_equal(T.for_loop(tick, length=3), [1, 2, 3])


def test_for_loop_without_sequences_or_length_raises():
    with pytest.raises(bc.StateUsageError, match="at least one sequence.*length="):
        T.for_loop(lambda: 0.0)


def test_nested_loops_carry_states_through_both_levels():
    acc = bc.State(jnp.array(0.0))
    rows = bc.State(jnp.array(0))

    def row(xs):
        def col(x):
            acc.value = acc.value + x
            return acc.value

        rows.value = rows.value + 1
        return T.for_loop(col, xs)

    ys = T.for_loop(row, jnp.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(ys, np.cumsum(np.arange(6.0)).reshape(3, 2))
    assert float(acc.value) == 15.0 and int(rows.value) == 3


def test_while_loop_condition_reads_state_written_by_body():
    n = bc.State(jnp.array(0))
    limit = bc.State(jnp.array(4))

    def body(x):
        n.value = n.value + 1
        return x * 2.0

    out = T.while_loop(lambda x: n.value < limit.value, body, 1.0)
    assert float(out) == 16.0 and int(n.value) == 4
    limit.value = jnp.array(6)
    assert float(T.while_loop(lambda x: n.value < limit.value, body, 1.0)) == 4.0
    assert int(n.value) == 6


def test_while_loop_condition_writing_a_state_raises():
    flag = bc.State(jnp.array(0), name="flag")
    n = bc.State(jnp.array(0))

    def cond(x):
        flag.value = flag.value + 1
        return x < 3

    def body(x):
        n.value = n.value + 1
        return x + 1

    with pytest.raises(bc.StateUsageError, match=rf"while_loop condition wrote .*name='flag'.*{HERE}.*into the body"):
        T.while_loop(cond, body, 0)
    assert int(flag.value) == 0 and int(n.value) == 0
    assert int(T.while_loop(lambda x: x < 3, body, 0)) == 3
    assert int(n.value) == 3


def test_while_loop_exception_in_condition_leaves_states_unchanged():
    n = bc.State(jnp.array(0))

    def body(x):
        n.value = n.value + 1
        return x + 1

    def cond(x):
        raise KeyError("cond failed")

    with pytest.raises(KeyError, match="cond failed"):
        T.while_loop(cond, body, 0)
    assert int(n.value) == 0


def test_fori_loop_with_traced_bounds_runs_as_while_loop():
    acc = bc.State(jnp.array(0))

    def body(i, v):
        acc.value = acc.value + i
        return v + 1

    @T.jit
    def run(upper):
        return T.fori_loop(0, upper, body, 0)

    assert int(run(4)) == 4 and int(acc.value) == 6
    assert int(run(3)) == 3 and int(acc.value) == 9
    jaxpr, _ = T.make_jaxpr(lambda u: T.fori_loop(0, u, body, 0))(3)
    assert "while" in _primitives(jaxpr.jaxpr)


@pytest.mark.parametrize("kind", ["scan", "checkpointed_scan", "fori_loop"])
def test_grad_through_loop_matches_pure_jax(kind):
    w = bc.ParamState(jnp.array([0.5, -0.3]))
    h = bc.HiddenState(jnp.zeros(2))

    def step(x):
        h.value = jnp.tanh(h.value * w.value + x)
        return jnp.sum(h.value)

    def loss(xs):
        if kind == "fori_loop":
            return T.fori_loop(0, 3, lambda i, acc: acc + step(xs[i]), 0.0)
        run = T.scan if kind == "scan" else T.checkpointed_scan
        return run(lambda c, x: (c + step(x), None), 0.0, xs)[0]

    def pure(wv, xs):
        def body(carry, x):
            hv, acc = carry
            hv = jnp.tanh(hv * wv + x)
            return (hv, acc + jnp.sum(hv)), None

        (hv, acc), _ = jax.lax.scan(body, (jnp.zeros(2), 0.0), xs)
        return acc, hv

    xs = jnp.array([1.0, -2.0, 0.5])
    dw = T.grad(loss, grad_states=w)(xs)
    expected_dw, expected_h = jax.grad(pure, has_aux=True)(jnp.array([0.5, -0.3]), xs)
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-5)
    np.testing.assert_allclose(h.value, expected_h, rtol=1e-5)


@pytest.mark.parametrize("loop", ["checkpointed_scan", "checkpointed_for_loop"])
def test_checkpointed_loops_rematerialise_the_body(loop):
    w = bc.ParamState(jnp.array(2.0))
    jaxpr, states = T.make_jaxpr(lambda xs: LOOPS[loop](lambda x: jnp.sin(w.value * x), xs))(XS)
    assert states == (w,)
    assert any("remat" in n or "checkpoint" in n for n in _primitives(jaxpr.jaxpr))
    plain, _ = T.make_jaxpr(lambda xs: T.for_loop(lambda x: jnp.sin(w.value * x), xs))(XS)
    assert not any("remat" in n or "checkpoint" in n for n in _primitives(plain.jaxpr))
