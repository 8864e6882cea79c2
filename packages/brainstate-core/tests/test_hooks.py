"""State hooks: registration, ordering, chaining, cancellation, errors, and behaviour under transformations."""

import gc
import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
import brainstate_core as bc
from brainstate_core._trace import SWITCH


@pytest.fixture(autouse=True)
def _clean_global_hooks():
    bc.GlobalHookRegistry.reset()
    yield
    bc.GlobalHookRegistry.reset()


def _is_tracer(x):
    return isinstance(x, jax.core.Tracer)


# -- registration and queries ----------------------------------------------------------------------
@pytest.mark.parametrize("hook_type", ["read", "write_before", "write_after", "restore", "init"])
def test_register_list_has_clear_per_type(hook_type):
    s = bc.State(0.0)
    handle = s.register_hook(hook_type, lambda ctx: None, name="h")
    assert s.has_hooks(hook_type) and s.has_hooks()
    assert [h.name for h in s.list_hooks(hook_type)] == ["h"]
    others = [t for t in bc._hooks.HOOK_TYPES if t != hook_type]
    assert not any(s.has_hooks(t) for t in others)
    assert handle.hook_type == hook_type and handle.is_enabled()
    s.clear_hooks(hook_type)
    assert not s.has_hooks() and s.list_hooks() == [] and handle.hook not in s.list_hooks()


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda s: s.register_hook("reed", print), r"Unknown hook type 'reed'; expected one of 'read', "),
        (lambda s: s.register_hook("read", 3), r"hook callback must be callable, got int 3"),
        (lambda s: s.list_hooks("nope") if s.register_hook("read", print) else None, r"Unknown hook type 'nope'"),
    ],
)
def test_registration_errors(call, pattern):
    with pytest.raises(bc.HookRegistrationError, match=pattern):
        call(bc.State(0.0))


def test_hook_errors_are_brainstate_errors():
    for cls in (bc.HookError, bc.HookExecutionError, bc.HookRegistrationError, bc.HookCancellationError):
        assert issubclass(cls, bc.BrainStateError) and cls.__module__ == "brainstate"  # its public home
    assert issubclass(bc.HookWarning, UserWarning)
    assert brainstate.register_state_hook is bc.register_state_hook


def test_handle_disable_enable_remove():
    s, calls = bc.State(1.0), []
    handle = s.register_hook("read", lambda ctx: calls.append(ctx.value))
    handle.disable()
    _ = s.value
    assert calls == [] and not handle.is_enabled() and "disabled" in repr(handle)
    handle.enable()
    _ = s.value
    assert calls == [1.0]
    assert handle.remove() is True and handle.remove() is False and handle.is_removed()
    assert repr(handle) == f"HookHandle(name={handle.name!r}, removed)"
    with pytest.raises(bc.HookRegistrationError, match="it was removed"):
        handle.enable()
    _ = s.value
    assert calls == [1.0]


def test_priority_then_registration_order_global_first():
    s, order = bc.State(0.0), []
    s.register_hook("read", lambda ctx: order.append("own-low"), priority=-1)
    s.register_hook("read", lambda ctx: order.append("own-high"), priority=5)
    s.register_hook("read", lambda ctx: order.append("own-high-2"), priority=5)
    bc.register_state_hook("read", lambda ctx: order.append("global"), priority=-100)
    _ = s.value
    assert order == ["global", "own-high", "own-high-2", "own-low"]


def test_temporary_hook_is_removed_even_on_error():
    s, calls = bc.State(0.0), []
    with pytest.raises(ZeroDivisionError):
        with s.temporary_hook("read", lambda ctx: calls.append(1)):
            _ = s.value
            raise ZeroDivisionError
    _ = s.value
    assert calls == [1] and not s.has_hooks()


# -- the operations --------------------------------------------------------------------------------
def test_contexts_of_each_operation():
    seen = {}
    bc.register_state_hook("init", lambda ctx: seen.setdefault("init", (type(ctx), ctx.value, ctx.init_metadata)))
    s = bc.State(jnp.ones(2), name="v", unit="mV")
    for t in ("read", "write_before", "write_after", "restore"):
        s.register_hook(t, lambda ctx, t=t: seen.setdefault(t, (type(ctx), ctx.operation, ctx.state, ctx.state_name)))
    _ = s.value
    s.value = jnp.zeros(2)
    s.restore_value(jnp.ones(2))
    assert seen["init"][0] is bc.InitHookContext and seen["init"][2] == {"name": "v", "unit": "mV"}
    assert seen["read"] == (bc.ReadHookContext, "read", s, "v")
    assert seen["write_before"] == (bc.MutableWriteHookContext, "write_before", s, "v")
    assert seen["write_after"] == (bc.WriteHookContext, "write_after", s, "v")
    assert seen["restore"] == (bc.RestoreHookContext, "restore", s, "v")


def test_write_hooks_see_old_and_new_and_chain():
    s = bc.State(jnp.array([2.0, 3.0]))
    log = []
    s.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", ctx.transformed_value * 2), priority=10)
    s.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", ctx.transformed_value + 10))
    s.register_hook("write_before", lambda ctx: log.append(("orig", ctx.value.tolist())), priority=-5)
    s.register_hook("write_after", lambda ctx: log.append((ctx.old_value.tolist(), ctx.value.tolist())))
    s.value = jnp.array([1.0, 2.0])
    np.testing.assert_array_equal(s.value, [12.0, 14.0])
    assert log == [("orig", [1.0, 2.0]), ([2.0, 3.0], [12.0, 14.0])]


def test_cancellation_keeps_the_value():
    s = bc.State(jnp.ones(3), name="rate")

    def positive(ctx):
        if bool(jnp.any(ctx.value < 0)):
            ctx.cancel, ctx.cancel_reason = True, "rates are non-negative"

    s.register_hook("write_before", positive, name="positive")
    s.value = jnp.full(3, 2.0)
    with pytest.raises(bc.HookCancellationError, match=r"Hook 'positive' cancelled the write of State\(f32\[3\], "
                                                        r"name='rate'\) \(created at .*test_hooks.py:\d+\): rates are non-negative"):
        s.value = jnp.array([1.0, -1.0, 0.0])
    np.testing.assert_array_equal(s.value, jnp.full(3, 2.0))


@pytest.mark.parametrize("mode", ["raise", "log", "ignore"])
def test_failing_hook_follows_the_config(mode):
    s = bc.State(1.0)
    s.hooks.config = bc.HookConfig(on_error=mode)
    after = []
    s.register_hook("read", lambda ctx: 1 / 0, name="bad", priority=1)
    s.register_hook("read", lambda ctx: after.append(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mode == "raise":
            with pytest.raises(bc.HookExecutionError, match=r"Hook 'bad' \(read\) on State\(1.0\) .* raised "
                                                            r"ZeroDivisionError: division by zero") as info:
                _ = s.value
            assert isinstance(info.value.__cause__, ZeroDivisionError) and after == []
        else:
            assert s.value == 1.0 and after == [1]
    assert [w.category for w in caught] == ([bc.HookWarning] if mode == "log" else [])


def test_error_logger_and_disable_on_error():
    s, logged = bc.State(1.0), []
    s.hooks.config = bc.HookConfig(on_error="log", error_logger=lambda msg, exc, hook, ctx: logged.append(type(exc)),
                                   max_errors_per_hook=2, disable_on_error=True)
    handle = s.register_hook("read", lambda ctx: 1 / 0)
    for _ in range(4):
        _ = s.value
    assert logged == [ZeroDivisionError, ZeroDivisionError] and not handle.is_enabled()
    with pytest.raises(bc.HookRegistrationError, match="on_error='loud'"):
        bc.HookConfig(on_error="loud")


def test_a_hook_reading_its_own_state_does_not_recurse():
    s, seen = bc.State(1.0), []
    s.register_hook("read", lambda ctx: seen.append(ctx.state.value))
    s.register_hook("write_after", lambda ctx: seen.append(("after", ctx.state.value)))
    _ = s.value
    s.value = 2.0
    assert seen == [1.0, ("after", 2.0)]


def test_global_hooks_cover_every_state_and_unregister():
    names = []
    handle = bc.register_state_hook("write_after", lambda ctx: names.append(ctx.state_name), name="g")
    assert bc.has_state_hooks("write_after") and [h.name for h in bc.list_state_hooks()] == ["g"]
    a, b = bc.State(0.0, name="a"), bc.ParamState(0.0, name="b")
    a.value, b.value = 1.0, 2.0
    assert bc.unregister_state_hook(handle) and not bc.unregister_state_hook(handle)
    a.value = 3.0
    assert names == ["a", "b"] and not bc.has_state_hooks()
    assert bc.GlobalHookRegistry() is bc.GlobalHookRegistry.instance()


def test_no_hooks_means_the_flag_is_off():
    gc.collect()
    if bc._hooks._Active.managers:
        pytest.skip("states with hooks from other tests are still alive")
    assert not SWITCH.on
    s = bc.State(0.0)
    handle = s.register_hook("read", lambda ctx: None)
    assert SWITCH.on
    handle.remove()
    assert not SWITCH.on
    s.register_hook("read", lambda ctx: None)
    assert SWITCH.on
    del s, handle
    gc.collect()
    assert not SWITCH.on
    with bc.check_state_value_tree():
        assert SWITCH.on
    assert not SWITCH.on


def test_copies_do_not_share_hooks():
    import copy

    s, calls = bc.State(1.0, name="s"), []
    copies = [s.copy(), s.replace(2.0), copy.copy(s)]
    s.register_hook("read", lambda ctx: calls.append(ctx.state_name))
    copies.append(copy.copy(s))
    for c in copies:
        assert not c.has_hooks() and c.name == "s"
        _ = c.value
    assert calls == []
    _ = s.value
    assert calls == ["s"]


def test_hooks_from_two_threads():
    s, lock, count = bc.State(0), threading.Lock(), [0]

    def bump(ctx):
        with lock:
            count[0] += 1

    s.register_hook("read", bump)

    def work():
        for _ in range(200):
            _ = s.value

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count[0] == 800


# -- under transformations -------------------------------------------------------------------------
def test_jit_hooks_run_at_trace_time_with_tracers():
    s = bc.State(jnp.ones(3))
    reads, writes = [], []
    s.register_hook("read", lambda ctx: reads.append(_is_tracer(ctx.value)))
    s.register_hook("write_after", lambda ctx: writes.append((_is_tracer(ctx.value), _is_tracer(ctx.old_value))))

    @brainstate.transform.jit
    def step(x):
        s.value = s.value + x
        return s.value

    step(1.0)
    assert reads and all(reads) and writes and all(all(w) for w in writes)
    n_reads, n_writes = len(reads), len(writes)
    np.testing.assert_allclose(step(1.0), jnp.full(3, 3.0))
    assert (len(reads), len(writes)) == (n_reads, n_writes)  # cached: no Python runs, no hook
    # The write-back of the compiled call ran no hook either, and the state holds concrete values.
    assert not _is_tracer(s.value) and len(reads) == n_reads + 1 and reads[-1] is False


def test_jit_write_before_transform_is_compiled_in():
    s = bc.State(jnp.zeros(2))
    s.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", jnp.clip(ctx.transformed_value, -1, 1)))

    @brainstate.transform.jit
    def assign(x):
        s.value = x

    assign(jnp.array([5.0, -0.5]))
    np.testing.assert_allclose(s.value, [1.0, -0.5])
    s.clear_hooks()
    assign(jnp.array([-7.0, 0.25]))  # the compiled program keeps the clip it was traced with
    np.testing.assert_allclose(s.value, [-1.0, 0.25])


@pytest.mark.parametrize("kind", ["cancel", "error"])
def test_a_failing_hook_under_jit_leaves_every_state_as_it_was(kind):
    a, b = bc.State(jnp.ones(2)), bc.State(jnp.zeros(2))

    def hook(ctx):
        if kind == "cancel":
            ctx.cancel = True
        else:
            raise RuntimeError("boom")

    b.register_hook("write_before", hook)

    @brainstate.transform.jit
    def step(x):
        a.value = a.value + x
        b.value = a.value * 2
        return b.value

    error = bc.HookCancellationError if kind == "cancel" else bc.HookExecutionError
    with pytest.raises(error, match="cancelled the write" if kind == "cancel" else "raised RuntimeError: boom"):
        step(1.0)
    np.testing.assert_array_equal(a.value, jnp.ones(2))
    np.testing.assert_array_equal(b.value, jnp.zeros(2))
    assert not _is_tracer(a.value) and not _is_tracer(b.value)


def test_a_python_branch_on_a_tracer_in_a_hook_keeps_its_jax_error():
    s = bc.State(jnp.ones(2))
    s.register_hook("write_before", lambda ctx: bool(ctx.value.sum() > 0))

    @brainstate.transform.jit
    def step(x):
        s.value = x

    with pytest.raises(jax.errors.ConcretizationTypeError):
        step(jnp.ones(2))
    np.testing.assert_array_equal(s.value, jnp.ones(2))


def test_grad_hooks_see_the_differentiated_value():
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    seen = []
    w.register_hook("read", lambda ctx: seen.append(_is_tracer(ctx.value)))
    grads = brainstate.transform.grad(lambda x: jnp.sum(w.value * x), grad_states=w)(jnp.array([3.0, 4.0]))
    np.testing.assert_allclose(grads, [3.0, 4.0])
    assert seen and all(seen)


def test_grad_write_before_scaling_is_differentiated():
    w = bc.ParamState(jnp.array(2.0))
    h = bc.State(jnp.array(0.0))
    h.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", ctx.transformed_value * 3))

    def loss():
        h.value = w.value ** 2
        return h.value

    g = brainstate.transform.grad(loss, grad_states=w)()
    np.testing.assert_allclose(g, 12.0)  # d(3 w^2)/dw at w=2
    np.testing.assert_allclose(h.value, 12.0)


def test_vmap_hooks_see_one_lane():
    s = bc.State(jnp.zeros(3))
    reads, writes = [], []
    s.register_hook("read", lambda ctx: reads.append(jnp.shape(ctx.value)))
    s.register_hook("write_after", lambda ctx: writes.append(jnp.shape(ctx.value)))
    out = brainstate.transform.vmap(lambda x: x + s.value)(jnp.ones((4, 3)))
    assert out.shape == (4, 3) and reads and all(shape == (3,) for shape in reads)

    def accumulate(x):
        s.value = s.value + x
        return s.value

    brainstate.transform.vmap(accumulate, out_states=s)(jnp.ones((4, 3)))
    assert writes and all(shape == (3,) for shape in writes)
    assert s.value.shape == (4, 3)


def test_scan_hooks_run_once_per_trace_not_per_step():
    total = bc.State(jnp.array(0.0))
    writes = []
    total.register_hook("write_after", lambda ctx: writes.append(_is_tracer(ctx.value)))

    def body(c, x):
        total.value = total.value + x
        return c, total.value

    _, ys = brainstate.transform.scan(body, 0, jnp.arange(5.0))
    np.testing.assert_allclose(ys, [0.0, 1.0, 3.0, 6.0, 10.0])
    assert 1 <= len(writes) < 5 and all(writes)
    np.testing.assert_allclose(total.value, 10.0)


def test_init_hooks_under_a_trace_see_the_traced_value():
    seen = []
    bc.register_state_hook("init", lambda ctx: seen.append(_is_tracer(ctx.value)))

    @brainstate.transform.jit
    def make(x):
        local = bc.State(x * 2)
        return local.value

    np.testing.assert_allclose(make(1.0), 2.0)
    assert seen and all(seen)


def test_tree_check_under_jit_and_eagerly():
    s = bc.State({"a": jnp.zeros(2)})

    @brainstate.transform.jit
    def bad():
        s.value = (jnp.zeros(2),)

    with bc.check_state_value_tree():
        s.value = {"a": jnp.ones(2)}
        with pytest.raises(bc.StateShapeError, match=r"tree structure .* differs from its current one"):
            bad()
        with bc.check_state_value_tree(False):
            s.value = [jnp.ones(2)]
    assert isinstance(s.value, list)


@pytest.mark.parametrize("outer", [False, True])
def test_a_transforming_hook_applies_once_through_nested_write_backs(outer):
    s = bc.State(jnp.array(1.0))
    s.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", ctx.transformed_value * 3))

    @brainstate.transform.jit
    def inner(x):
        s.value = x

    def run(x):
        inner(x)
        return s.value

    out = brainstate.transform.jit(run)(2.0) if outer else run(2.0)
    np.testing.assert_allclose(out, 6.0)
    np.testing.assert_allclose(s.value, 6.0)


def test_a_transforming_hook_applies_once_through_vmap_write_back():
    s = bc.State(jnp.zeros(2))
    s.register_hook("write_before", lambda ctx: setattr(ctx, "transformed_value", ctx.transformed_value + 1))

    def f(x):
        s.value = s.value + x

    brainstate.transform.vmap(f, out_states=s)(jnp.ones((3, 2)))
    np.testing.assert_allclose(s.value, jnp.full((3, 2), 2.0))


@pytest.mark.parametrize("where", ["eager", "jit", "grad"])
def test_a_failing_write_after_hook_undoes_the_write(where):
    import brainstate

    s = brainstate.State(jnp.array(1.0))
    handle = s.register_hook("write_after", lambda ctx: 1 / 0)

    def write():
        s.value = s.value + 1.0
        return s.value

    run = {"eager": write, "jit": brainstate.transform.jit(write),
           "grad": brainstate.transform.grad(lambda: write() * 2.0, grad_states=s)}[where]
    with pytest.raises(brainstate.HookExecutionError, match=r"\(write_after\).*raised ZeroDivisionError"):
        run()
    assert float(s.value) == 1.0
    handle.remove()
    run()
    assert float(s.value) == 2.0
