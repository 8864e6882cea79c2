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
    x64 = jax.config.jax_enable_x64
    yield
    environ._GLOBAL.clear()
    environ._GLOBAL.update(saved)
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


@pytest.mark.parametrize("bad", [8, 128, "fp32", "64", True, 64.0, None])
def test_invalid_precision_is_rejected(bad):
    before = environ.get_precision()
    with pytest.raises(EnvironValueError, match=r"precision=.* is not supported.*64, 32, 16 or 'bf16'"):
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
