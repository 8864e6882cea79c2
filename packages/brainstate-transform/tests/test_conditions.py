"""Tests of the stateful branches: cond, switch, ifelse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T

HERE = r"test_conditions\.py:\d+"


# Each runner picks branch number `which` (0 or 1) out of two branches taking one operand.
def _by_cond(which, branches, x):
    return T.cond(which == 1, branches[1], branches[0], x)


def _by_switch(which, branches, x):
    return T.switch(which, branches, x)


def _by_ifelse(which, branches, x):
    return T.ifelse([which == 0], branches, x)


RUNNERS = {"cond": _by_cond, "switch": _by_switch, "ifelse": _by_ifelse}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_state_written_in_one_branch_keeps_its_value_in_the_other(runner, jitted):
    a = bc.State(jnp.array(1.0))
    b = bc.HiddenState(jnp.zeros(2))
    scale = bc.ParamState(jnp.array(3.0))
    scale_before = scale._value

    def first(x):
        a.value = a.value + x * scale.value
        return x + 1

    def second(x):
        b.value = b.value - x
        return x * 10

    run = RUNNERS[runner]
    if jitted:
        run = T.jit(run, static_argnums=1)

    assert float(run(0, (first, second), 2.0)) == 3.0
    assert float(a.value) == 7.0
    np.testing.assert_array_equal(b.value, [0.0, 0.0])
    assert float(run(1, (first, second), 2.0)) == 20.0
    assert float(a.value) == 7.0
    np.testing.assert_array_equal(b.value, [-2.0, -2.0])
    assert scale._value is scale_before
    assert not isinstance(a._value, jax.core.Tracer) and not isinstance(b._value, jax.core.Tracer)


def test_cond_with_traced_predicate_inside_jit():
    count = bc.State(jnp.array(0))

    def up(x):
        count.value = count.value + 1
        return x

    def down(x):
        count.value = count.value - 1
        return -x

    f = T.jit(lambda x: T.cond(x > 0, up, down, x))
    assert float(f(2.0)) == 2.0 and int(count.value) == 1
    assert float(f(-3.0)) == 3.0 and int(count.value) == 0
    assert float(f(-1.0)) == 1.0 and int(count.value) == -1


def test_cond_same_function_for_both_branches():
    s = bc.State(jnp.array(1.0))

    def double(x):
        s.value = s.value * 2
        return x

    T.cond(True, double, double, 0.0)
    T.cond(False, double, double, 0.0)
    assert float(s.value) == 4.0


def test_cond_multiple_operands_and_pytree_outputs():
    s = bc.State({"x": jnp.zeros(2), "n": jnp.array(0)})

    def add(u, v):
        s.value = {"x": s.value["x"] + u, "n": s.value["n"] + 1}
        return {"sum": u + v, "v": v}

    def keep(u, v):
        return {"sum": u - v, "v": v}

    out = T.cond(True, add, keep, jnp.ones(2), jnp.array([2.0, 3.0]))
    np.testing.assert_array_equal(out["sum"], [3.0, 4.0])
    out = T.cond(False, add, keep, jnp.ones(2), jnp.array([2.0, 3.0]))
    np.testing.assert_array_equal(out["sum"], [-1.0, -2.0])
    np.testing.assert_array_equal(s.value["x"], [1.0, 1.0])
    assert int(s.value["n"]) == 1


@pytest.mark.parametrize("index, expected", [(-5, 0), (0, 0), (1, 1), (2, 2), (7, 2)])
def test_switch_selects_and_clamps_index(index, expected):
    hits = bc.State(jnp.zeros(3, dtype=jnp.int32))

    def make(k):
        def branch():
            hits.value = hits.value.at[k].add(1)
            return k * 10

        return branch

    assert int(T.switch(index, [make(0), make(1), make(2)])) == expected * 10
    np.testing.assert_array_equal(hits.value, np.eye(3, dtype=np.int32)[expected])


def test_switch_with_traced_index_inside_jit():
    acc = bc.State(jnp.array(0.0))
    branches = [lambda x: x, lambda x: x * 2, lambda x: x * 3]

    def tally(x, i):
        acc.value = acc.value + T.switch(i, branches, x)
        return acc.value

    f = T.jit(tally)
    assert float(f(1.0, 0)) == 1.0
    assert float(f(1.0, 2)) == 4.0
    assert float(f(1.0, 1)) == 6.0


def test_switch_without_branches_raises():
    with pytest.raises(bc.StateUsageError, match="at least one branch"):
        T.switch(0, [])


@pytest.mark.parametrize(
    "conditions, expected",
    [((True, True, False), 0), ((False, True, True), 1), ((False, False, True), 2), ((False, False, False), 3)],
)
def test_ifelse_runs_first_true_condition_or_else_branch(conditions, expected):
    s = bc.State(jnp.array(-1))

    def make(k):
        def branch(x):
            s.value = jnp.asarray(k)
            return x + k

        return branch

    out = T.ifelse([jnp.asarray(c) for c in conditions], [make(k) for k in range(4)], 100)
    assert int(out) == 100 + expected and int(s.value) == expected


def test_ifelse_without_else_runs_last_branch_when_nothing_is_true():
    out = T.ifelse([False, False], [lambda: 1, lambda: 2])
    assert int(out) == 2


@pytest.mark.parametrize("n_branches", [1, 4])
def test_ifelse_wrong_number_of_branches_raises(n_branches):
    branches = [lambda: 0] * n_branches
    with pytest.raises(bc.StateUsageError, match=rf"2 conditions and {n_branches} branches"):
        T.ifelse([True, False], branches)


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("bad_branch", [0, 1])
def test_carried_state_changing_shape_raises(runner, bad_branch):
    h = bc.HiddenState(jnp.zeros(2))

    def grow(x):
        h.value = jnp.zeros(3)
        return x

    def keep(x):
        h.value = h.value + x
        return x

    branches = (grow, keep) if bad_branch == 0 else (keep, grow)
    with pytest.raises(bc.StateShapeError, match=rf"HiddenState\(.*\) \(created at .*{HERE}.*f32\[2\].*f32\[3\]"):
        RUNNERS[runner](0, branches, 1.0)
    np.testing.assert_array_equal(h.value, [0.0, 0.0])


def test_state_created_in_branch_stays_local():
    created = []

    def make(x):
        local = bc.State(x)
        created.append(local)
        local.value = local.value + 1
        return local.value

    assert float(T.cond(True, make, lambda x: x, 1.0)) == 2.0
    assert created
    with pytest.raises(bc.TraceContextError, match="created inside a brainstate transformation"):
        _ = created[-1].value


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("raising", [0, 1], ids=["taken-branch-raises", "other-branch-raises"])
@pytest.mark.parametrize("fail_on_trace", [1, 2], ids=["discovery-trace", "real-trace"])
def test_exception_in_a_branch_leaves_states_unchanged(runner, raising, fail_on_trace):
    a = bc.State(jnp.array(1.0))
    b = bc.State(jnp.array(2.0))
    traces = [0]
    failing = [True]

    def first(x):
        a.value = a.value + x
        traces[0] += raising == 0
        if raising == 0 and failing[0] and traces[0] >= fail_on_trace:
            raise RuntimeError("branch failed")
        return x

    def second(x):
        b.value = b.value + x
        traces[0] += raising == 1
        if raising == 1 and failing[0] and traces[0] >= fail_on_trace:
            raise RuntimeError("branch failed")
        return -x

    with pytest.raises(RuntimeError, match="branch failed"):
        RUNNERS[runner](0, (first, second), 5.0)
    assert float(a.value) == 1.0 and float(b.value) == 2.0
    assert not isinstance(a._value, jax.core.Tracer) and not isinstance(b._value, jax.core.Tracer)
    failing[0] = False
    assert float(RUNNERS[runner](0, (first, second), 5.0)) == 5.0
    assert float(a.value) == 6.0 and float(b.value) == 2.0


def test_branch_output_mismatch_leaves_states_unchanged():
    a = bc.State(jnp.array(1.0))

    def first(x):
        a.value = a.value + 1
        return x

    with pytest.raises(TypeError):
        T.cond(True, first, lambda x: jnp.zeros(3), 1.0)
    assert float(a.value) == 1.0
    assert float(T.cond(True, first, lambda x: x * 2, 1.0)) == 1.0
    assert float(a.value) == 2.0


@pytest.mark.parametrize("runner", RUNNERS)
def test_debug_print_and_callback_inside_branch(runner, capsys):
    a = bc.State(jnp.array(1.0))
    seen = []

    def first(x):
        a.value = a.value + x
        jax.debug.print("a={a}", a=a.value)
        jax.debug.callback(lambda v: seen.append(float(v)), a.value)
        return x

    RUNNERS[runner](0, (first, lambda x: x), 2.0)
    jax.effects_barrier()
    assert seen == [3.0]
    assert capsys.readouterr().out.strip() == "a=3.0"


def test_nested_conditions_write_states_at_both_levels():
    outer = bc.State(jnp.array(0))
    inner = bc.State(jnp.array(0))

    def inner_branch(x):
        inner.value = inner.value + 1
        return x

    def outer_branch(x):
        outer.value = outer.value + 1
        return T.cond(x > 0, inner_branch, lambda y: y, x)

    for x in [1.0, -1.0, 2.0]:
        T.cond(x < 5, outer_branch, lambda y: y, x)
    assert int(outer.value) == 3 and int(inner.value) == 2


def test_grad_through_cond_matches_pure_jax():
    w = bc.ParamState(jnp.array([1.0, -2.0]))
    h = bc.HiddenState(jnp.zeros(2))

    def on(x):
        h.value = jnp.sin(w.value * x)
        return jnp.sum(h.value)

    def off(x):
        return jnp.sum(w.value**2) * x

    def loss(x):
        return T.cond(x > 0, on, off, x)

    def pure(wv, x):
        return jax.lax.cond(
            x > 0,
            lambda: (jnp.sum(jnp.sin(wv * x)), jnp.sin(wv * x)),
            lambda: (jnp.sum(wv**2) * x, jnp.zeros(2)),
        )

    for x in [0.7, -0.5]:
        h.value = jnp.zeros(2)
        dw = T.grad(loss, grad_states=w)(x)
        expected, expected_h = jax.grad(pure, has_aux=True)(jnp.array([1.0, -2.0]), x)
        np.testing.assert_allclose(dw, expected, rtol=1e-6)
        np.testing.assert_allclose(h.value, expected_h, rtol=1e-6)
