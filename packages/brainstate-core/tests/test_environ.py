import os
import subprocess
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
from brainstate_core import environ
from brainstate_core._errors import BrainStateError, EnvironKeyError, EnvironValueError


@pytest.fixture(autouse=True)
def _restore_environ():
    saved = dict(environ._GLOBAL)
    behaviors = dict(environ._ENV.functions)
    x64 = jax.config.jax_enable_x64
    yield
    environ._GLOBAL.clear()
    environ._GLOBAL.update(saved)
    environ._ENV.functions.clear()
    environ._ENV.functions.update(behaviors)
    jax.config.update("jax_enable_x64", x64)
    assert environ._LOCAL.frames == [] and environ._LOCAL.merged == {}


def _in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


# -- get / set / pop / all ---------------------------------------------------------------------
@pytest.mark.parametrize("value", [0.1, True, "euler", None, (1, 2), {"a": 1}])
def test_set_then_get_returns_any_python_object(value):
    environ.set(my_key=value)
    assert environ.get("my_key") is value


@pytest.mark.parametrize("key", ["dt", "t", "i", "fit", "something_else"])
def test_missing_key_error_names_key_and_fix(key):
    environ.pop(key, None)
    with pytest.raises(
        EnvironKeyError, match=rf"'{key}'.*environ\.set\({key}=\.\.\.\).*environ\.context\({key}=\.\.\.\)"
    ):
        environ.get(key)


def test_missing_key_error_is_a_keyerror_and_brainstate_error_and_shows_desc():
    with pytest.raises(KeyError) as info:
        environ.get("absent_key", desc="the absent thing")
    assert isinstance(info.value, BrainStateError)
    assert "(the absent thing)" in str(info.value)


@pytest.mark.parametrize("default", [None, 0, "x"])
def test_get_default_for_missing_key(default):
    assert environ.get("absent_key", default) == default
    assert environ.get("absent_key", default=default) == default


def test_get_dt_error_says_to_set_dt():
    environ.pop("dt", None)
    with pytest.raises(EnvironKeyError, match=r"'dt'.*brainstate\.environ\.set\(dt=\.\.\.\)"):
        environ.get_dt()
    environ.set(dt=0.25)
    assert environ.get_dt() == 0.25


def test_pop_returns_and_removes_global_value():
    environ.set(t=3.0)
    assert environ.pop("t") == 3.0
    assert environ.get("t", None) is None
    assert environ.pop("t", "gone") == "gone"
    with pytest.raises(EnvironKeyError, match=r"'t'"):
        environ.pop("t")


def test_pop_precision_is_refused():
    with pytest.raises(EnvironValueError, match=r"'precision' cannot be removed.*set\(precision=32\)"):
        environ.pop("precision")
    assert environ.get_precision() in (64, 32, 16, "bf16")


def test_pop_does_not_touch_context_values():
    environ.set(fit=False)
    with environ.context(fit=True):
        assert environ.pop("fit") is False
        assert environ.get("fit") is True
    assert environ.get("fit", None) is None


def test_all_overlays_contexts_on_globals_and_is_a_copy():
    environ.set(dt=0.1, fit=False)
    with environ.context(fit=True, i=4):
        values = environ.all()
        assert values["dt"] == 0.1 and values["fit"] is True and values["i"] == 4
        values["dt"] = 99
        assert environ.get("dt") == 0.1
    assert "i" not in environ.all()
    assert environ.all()["fit"] is False


def test_set_is_visible_from_other_threads():
    environ.set(dt=0.5)
    assert _in_thread(lambda: environ.get("dt")) == 0.5


# -- context ----------------------------------------------------------------------------------
def test_context_nests_and_restores():
    environ.set(dt=1.0)
    with environ.context(dt=0.1, fit=True) as env:
        assert env["dt"] == 0.1 and env["fit"] is True
        with environ.context(dt=0.01):
            assert (environ.get("dt"), environ.get("fit")) == (0.01, True)
        assert environ.get("dt") == 0.1
    assert environ.get("dt") == 1.0
    assert environ.get("fit", None) is None


def test_context_restores_on_exception():
    environ.set(dt=1.0)
    with pytest.raises(RuntimeError, match="boom"):
        with environ.context(dt=0.1):
            with environ.context(dt=0.2):
                raise RuntimeError("boom")
    assert environ.get("dt") == 1.0


def test_context_hides_global_set_inside_block():
    with environ.context(dt=0.1):
        environ.set(dt=0.7)
        assert environ.get("dt") == 0.1
    assert environ.get("dt") == 0.7


def test_context_as_decorator_is_reentrant():
    @environ.context(i=1)
    def depth(n):
        if n == 0:
            return environ.get("i")
        with environ.context(i=environ.get("i") + 1):
            return depth(n - 1)

    assert depth(3) == 1
    assert depth.__name__ == "depth"
    assert environ.get("i", None) is None


def test_context_instance_can_be_reused():
    ctx = environ.context(t=2.0)
    for _ in range(2):
        with ctx:
            assert environ.get("t") == 2.0
        assert environ.get("t", None) is None


def test_context_is_thread_local():
    barrier = threading.Barrier(2)
    seen = {}

    def worker(name, dt):
        with environ.context(dt=dt):
            barrier.wait()
            seen[name] = environ.get("dt")
            barrier.wait()
        seen[name + "_after"] = environ.get("dt", None)

    threads = [threading.Thread(target=worker, args=(n, d)) for n, d in [("a", 0.1), ("b", 0.2)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": 0.1, "b": 0.2, "a_after": None, "b_after": None}
    with environ.context(fit=True):
        assert _in_thread(lambda: environ.get("fit", None)) is None


def test_context_repr_shows_public_home():
    assert repr(environ.context(dt=0.1)) == "brainstate.environ.context(dt=0.1)"


# -- precision ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "precision, f, i, u, c",
    [
        (64, jnp.float64, jnp.int64, jnp.uint64, jnp.complex128),
        (32, jnp.float32, jnp.int32, jnp.uint32, jnp.complex64),
        (16, jnp.float16, jnp.int16, jnp.uint16, jnp.complex64),
        ("bf16", jnp.bfloat16, jnp.int16, jnp.uint16, jnp.complex64),
    ],
)
def test_set_precision_selects_default_dtypes_and_x64(precision, f, i, u, c):
    environ.set(precision=precision)
    assert environ.get_precision() == precision
    assert (environ.dftype(), environ.ditype(), environ.dutype(), environ.dctype()) == (f, i, u, c)
    assert jax.config.jax_enable_x64 is (precision == 64)
    assert jnp.zeros(1, environ.dftype()).dtype == jnp.dtype(f)
    assert jnp.zeros(1, environ.ditype()).dtype == jnp.dtype(i)


@pytest.mark.parametrize("outer, inner", [(32, 64), (64, 32), (64, 16), (32, "bf16")])
def test_context_precision_switches_x64_for_block_and_restores(outer, inner):
    environ.set(precision=outer)
    with environ.context(precision=inner):
        assert environ.get_precision() == inner
        assert jax.config.jax_enable_x64 is (inner == 64)
        assert jnp.asarray(1.0).dtype == (jnp.float64 if inner == 64 else jnp.float32)
    assert environ.get_precision() == outer
    assert jax.config.jax_enable_x64 is (outer == 64)


def test_context_precision_restores_x64_on_exception():
    environ.set(precision=32)
    with pytest.raises(ValueError, match="inside"):
        with environ.context(precision=64):
            assert jax.config.jax_enable_x64
            raise ValueError("inside")
    assert not jax.config.jax_enable_x64
    assert environ.dftype() is jnp.float32


def test_context_precision_x64_is_thread_local():
    environ.set(precision=32)
    with environ.context(precision=64):
        assert jax.config.jax_enable_x64
        assert _in_thread(lambda: (jax.config.jax_enable_x64, jnp.asarray(1.0).dtype)) == (False, jnp.float32)


def test_set_precision_inside_context_applies_after_block():
    environ.set(precision=32)
    with environ.context(precision=32):
        environ.set(precision=64)
        assert not jax.config.jax_enable_x64
    assert jax.config.jax_enable_x64 and environ.dftype() is jnp.float64


@pytest.mark.parametrize("bad", [4, 128, "fp32", "6", True, 64.0, None])
def test_invalid_precision_is_rejected(bad):
    before = environ.get_precision()
    with pytest.raises(EnvironValueError, match=r"precision=.* is not supported.*64, 32, 16, 8 or 'bf16'"):
        environ.set(precision=bad)
    with pytest.raises(ValueError, match=r"is not supported"):
        environ.context(precision=bad)
    assert environ.get_precision() == before


def test_numpy_integer_precision_is_normalised():
    environ.set(precision=np.int64(32))
    assert type(environ.get_precision()) is int and environ.dftype() is jnp.float32


@pytest.mark.parametrize("flag, expected", [("1", 64), ("0", 32)])
def test_initial_precision_follows_jax_x64_flag(flag, expected):
    env = dict(os.environ, JAX_ENABLE_X64=flag, JAX_PLATFORMS="cpu")
    code = "from brainstate_core import environ; print(environ.get_precision(), environ.dftype().__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(expected), f"float{expected}"]


# -- tracing hook ------------------------------------------------------------------------------
def test_get_records_in_every_active_trace():
    environ.set(dt=0.1)
    with bc.StateTrace() as outer:
        with environ.context(fit=True):
            with bc.StateTrace() as inner:
                environ.get("dt")
                environ.get("fit")
                environ.get("absent_key", "dflt")
        environ.get_dt()
    assert inner.env_reads == {"dt": 0.1, "fit": True, "absent_key": "dflt"}
    assert outer.env_reads == {"dt": 0.1, "fit": True, "absent_key": "dflt"}


def test_failed_get_records_nothing():
    with bc.StateTrace() as trace:
        with pytest.raises(EnvironKeyError):
            environ.get("absent_key")
    assert trace.env_reads == {}


@pytest.mark.parametrize(
    "reader", [environ.dftype, environ.ditype, environ.dutype, environ.dctype, environ.get_precision]
)
def test_precision_readers_record_precision(reader):
    with environ.context(precision=16):
        with bc.StateTrace() as trace:
            reader()
    assert trace.env_reads == {"precision": 16}


def test_all_records_every_key():
    environ.set(dt=0.1)
    with environ.context(i=2):
        with bc.StateTrace() as trace:
            values = environ.all()
    assert trace.env_reads == values and trace.env_reads["i"] == 2


def test_reads_outside_any_trace_do_not_leak_into_later_traces():
    environ.set(dt=0.1)
    environ.get("dt")
    with bc.StateTrace() as trace:
        pass
    assert trace.env_reads == {}


def test_a_traced_value_is_recorded_as_traced_not_as_the_tracer():
    def f(t):
        with environ.context(t=t):
            return environ.get("t")

    with bc.StateTrace() as trace:
        jax.make_jaxpr(f)(1.0)
    assert trace.env_reads["t"] is environ.TRACED


# -- upstream's environ API: behaviours, separate environments, reset, platform, devices -------------
def test_behaviors_run_on_set_and_around_contexts():
    seen = []
    environ.register_default_behavior("dt", seen.append)
    environ.set(dt=0.1)
    with environ.context(dt=0.01):
        with environ.context(fit=True):  # another key: no call
            pass
    assert seen == [0.1, 0.01, 0.1]
    assert environ.list_registered_behaviors() == ["dt"]
    with pytest.raises(EnvironValueError, match=r"already registered for 'dt'.*replace_if_exist=True"):
        environ.register_default_behavior("dt", print)
    environ.register_default_behavior("dt", lambda v: seen.append(("new", v)), replace_if_exist=True)
    environ.set(dt=0.2)
    assert seen[-1] == ("new", 0.2)
    assert environ.unregister_default_behavior("dt") is True
    assert environ.unregister_default_behavior("dt") is False
    environ.set(dt=0.3)
    assert seen[-1] == ("new", 0.2)


@pytest.mark.parametrize("key, behavior, match", [(1, print, "key must be a str"), ("dt", 3, "behavior must be callable")])
def test_bad_behavior_registration_raises(key, behavior, match):
    with pytest.raises(EnvironValueError, match=match):
        environ.register_default_behavior(key, behavior)


def test_a_failing_behavior_undoes_the_change():
    def refuse(value):
        if value < 0:
            raise ValueError("negative dt")

    environ.set(dt=0.1, precision=32)
    environ.register_default_behavior("dt", refuse)
    with pytest.raises(ValueError, match="negative dt"):
        environ.set(dt=-1.0, precision=64, other=1)
    assert environ.get("dt") == 0.1 and environ.get("other", default=None) is None
    assert environ.get_precision() == 32 and not jax.config.jax_enable_x64
    with pytest.raises(ValueError, match="negative dt"):
        with environ.context(dt=-2.0):
            pytest.fail("the block must not run")
    assert environ.get("dt") == 0.1  # the context was closed again


def test_separate_environment_is_isolated():
    mine = environ.EnvironmentState(dt=0.5, precision="16")
    assert environ.get("dt", env=mine) == 0.5 and environ.get_precision(env=mine) == 16
    assert environ.get("dt", default=None) is None
    environ.set(tau=3.0, env=mine)
    with environ.context(tau=4.0, env=mine) as values:
        assert values["tau"] == 4.0 and environ.get("tau", env=mine) == 4.0
        assert environ.get("tau", default=None) is None
    assert environ.all(env=mine) == {"precision": 16, "dt": 0.5, "tau": 3.0}
    assert environ.pop("tau", env=mine) == 3.0
    assert environ.dftype(env=mine) is jnp.float16 and environ.get_dt(env=mine) == 0.5
    with environ.context(precision=64, env=mine):  # another environment: JAX's x64 mode is not touched
        assert not jax.config.jax_enable_x64 or environ.get_precision() == 64
    with pytest.raises(EnvironValueError, match="is not an EnvironmentState"):
        environ.get("dt", env={"dt": 1})
    assert repr(mine).startswith("brainstate.environ.EnvironmentState(")


def test_jit_follows_a_separate_environment():
    import brainstate

    mine = environ.EnvironmentState(scale=2.0)
    traces = []

    @brainstate.transform.jit
    def f(x):
        traces.append(1)
        return x * environ.get("scale", env=mine)

    assert float(f(1.0)) == 2.0 and float(f(1.0)) == 2.0 and len(traces) == 1
    environ.set(scale=3.0, env=mine)
    assert float(f(1.0)) == 3.0 and len(traces) == 2
    environ.set(scale=5.0)  # the process-wide key of the same name is another value
    assert float(f(1.0)) == 3.0 and len(traces) == 2


def test_reset_forgets_values_and_behaviors():
    environ.set(dt=0.1, precision=64)
    environ.register_default_behavior("dt", print)
    environ.reset()
    assert environ.all() == {"precision": environ._INITIAL_PRECISION}
    assert environ.list_registered_behaviors() == []
    assert jax.config.jax_enable_x64 is (environ._INITIAL_PRECISION == 64)
    with environ.context(dt=0.2):
        environ.reset()
        assert environ.get("dt") == 0.2  # an open block keeps its values
    assert environ.get("dt", default=None) is None


@pytest.mark.parametrize("precision, ftype, itype, tol", [
    (64, jnp.float64, jnp.int64, 1e-12), (32, jnp.float32, jnp.int32, 1e-5), (16, jnp.float16, jnp.int16, 1e-2),
    ("bf16", jnp.bfloat16, jnp.int16, 1e-2), (8, jnp.float8_e5m2, jnp.int8, 1e-2), ("32", jnp.float32, jnp.int32, 1e-5),
])
def test_precisions_dtypes_and_tolerance(precision, ftype, itype, tol):
    environ.set_precision(precision)
    assert environ.dftype() is ftype and environ.ditype() is itype
    assert np.isclose(float(environ.tolerance()), tol, rtol=1e-3)
    assert environ.tolerance().dtype == (np.float64 if tol == 1e-12 else np.float32 if tol == 1e-5 else np.float16)


def test_constants_match_upstream():
    assert (environ.PLATFORM, environ.HOST_DEVICE_COUNT, environ.JIT_ERROR_CHECK) == (
        "platform", "host_device_count", "jit_error_check")
    assert environ.DEFAULT_PRECISION == 32
    assert environ.SUPPORTED_PLATFORMS == ("cpu", "gpu", "tpu")
    assert environ.SUPPORTED_PRECISIONS == (8, 16, 32, 64, "bf16")
    for p in environ.SUPPORTED_PRECISIONS:
        environ.set(precision=p)


def test_platform_setting():
    seen = []
    environ.register_default_behavior(environ.PLATFORM, seen.append)
    before = jax.config.jax_default_device
    try:
        environ.set(platform="cpu")
        assert environ.get_platform() == "cpu" and seen == ["cpu"]
        assert environ.get("platform", default=None) is None  # a setting of JAX's, not an environ value
    finally:
        jax.config.update("jax_default_device", before)
    with pytest.raises(EnvironValueError, match=r"platform='abacus' is not supported"):
        environ.set_platform("abacus")
    with pytest.raises(EnvironValueError, match=r"set_platform\('tpu'\): JAX finds no tpu device"):
        environ.set_platform("tpu")
    with pytest.raises(EnvironValueError, match=r"'platform' is a process-wide setting.*set_platform"):
        environ.context(platform="cpu")
    with pytest.raises(EnvironValueError, match=r"'host_device_count' is a process-wide setting"):
        environ.context(host_device_count=2)


def test_host_device_count_after_the_backend_started_raises():
    jnp.zeros(1)  # the backend runs
    with pytest.raises(EnvironValueError, match=r"came after JAX started its backend.*before any array is created"):
        environ.set_host_device_count(4)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(EnvironValueError, match="expected a positive int"):
            environ.set_host_device_count(bad)
    assert environ.get_host_device_count() == max(jax.config.jax_num_cpu_devices, 0) or environ.get_host_device_count() >= 1


def test_host_device_count_before_the_backend_starts():
    code = ("import brainstate, jax; brainstate.environ.set_host_device_count(3); "
            "print(brainstate.environ.get_host_device_count(), jax.device_count())")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "3"]
