"""The state trace: recording order, nesting, thread-locality, restore on failure, new states."""

import threading

import jax
import jax.numpy as jnp
import pytest

import brainstate_core as bc


def test_records_states_in_order_of_first_access_with_write_flags():
    a, b, c = bc.State(1.0), bc.State(2.0), bc.State(3.0)
    with bc.StateTrace(restore=False) as trace:
        _ = b.value
        a.value = 10.0
        _ = a.value
        c.value = b.value + 1
        _ = b.value
    assert trace.states == [b, a, c]
    assert trace.written == [False, True, True]
    assert trace.read_states() == [b]
    assert trace.write_states() == [a, c]
    assert trace.index(a) == 1 and trace.index(bc.State(0.0)) is None
    assert (a.value, c.value) == (10.0, 3.0)


def test_restore_true_puts_back_original_values():
    a = bc.State(1.0)
    with bc.StateTrace() as trace:
        a.value = 5.0
        a.value = 6.0
        assert a.value == 6.0
    assert trace.originals == [1.0]
    assert a.value == 1.0


def test_failure_restores_every_written_state():
    a, b = bc.State(jnp.ones(2)), bc.State(jnp.zeros(2))
    with pytest.raises(RuntimeError, match="boom"):
        with bc.StateTrace(restore=False):
            a.value = a.value + 1
            b.value = b.value - 1
            raise RuntimeError("boom")
    assert float(a.value.sum()) == 2.0 and float(b.value.sum()) == 0.0


def test_nested_traces_record_in_the_innermost_only_and_restore_in_order():
    a, b = bc.State(1.0), bc.State(2.0)
    with bc.StateTrace(restore=False) as outer:
        _ = a.value
        with bc.StateTrace(restore=False) as inner:
            b.value = 3.0
            assert bc.current_trace() is inner
        assert bc.current_trace() is outer
    assert bc.current_trace() is None
    assert outer.states == [a] and inner.states == [b]


def test_states_created_inside_are_local_and_marked_dead_if_they_hold_tracers():
    made = []

    def f(x):
        with bc.StateTrace() as trace:
            s = bc.State(x * 2)
            s.value = s.value + 1
            made.append(s)
        assert trace.states == [] and trace.new_states == [s]
        return x

    jax.make_jaxpr(f)(1.0)
    with pytest.raises(bc.TraceContextError, match=r"State created at .*test_trace.py:\d+ was created inside a brainstate transformation"):
        _ = made[0].value
    assert "tracer of a finished trace" in repr(made[0])
    made[0].value = 1.0  # a concrete value revives it
    assert made[0].value == 1.0


def test_concrete_state_created_inside_a_trace_stays_usable():
    with bc.StateTrace():
        s = bc.State(jnp.ones(2))
    assert float(s.value.sum()) == 2.0


def test_catch_new_states_collects_and_tags_nested():
    with bc.catch_new_states("outer") as outer:
        a = bc.State(1.0)
        with bc.catch_new_states() as inner:
            b = bc.HiddenState(2.0)
    assert outer.states == [a, b] and list(inner) == [b] and len(outer) == 2
    assert a.tag == "outer" and b.tag == "outer"


def test_environ_reads_are_recorded_in_every_active_trace():
    from brainstate_core import environ

    with environ.context(dt=0.25):
        with bc.StateTrace() as outer, bc.StateTrace() as inner:
            environ.get("dt")
    assert outer.env_reads == {"dt": 0.25} and inner.env_reads == {"dt": 0.25}


def test_traces_are_thread_local():
    s = bc.State(0.0)
    seen = {}
    ready, release = threading.Event(), threading.Event()

    def other():
        seen["trace"] = bc.current_trace()
        _ = s.value
        ready.set()
        release.wait(5)

    with bc.StateTrace() as trace:
        t = threading.Thread(target=other)
        t.start()
        ready.wait(5)
        release.set()
        t.join()
    assert seen["trace"] is None
    assert trace.states == []


def test_raw_jax_transform_inside_a_trace_cannot_write_tracers():
    s = bc.State(jnp.zeros(()))

    def f(x):
        with bc.StateTrace():
            jax.vmap(lambda v: s.__setattr__("value", v))(jnp.ones(3) * x)
        return x

    with pytest.raises(bc.TraceContextError, match="raw JAX transformation"):
        jax.make_jaxpr(f)(1.0)
    assert float(s.value) == 0.0
