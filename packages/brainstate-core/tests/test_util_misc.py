"""Tests of split_total, get_unique_name, is/not_instance_eval, clear_buffer_memory, StateJaxTracer."""

import pickle
import subprocess
import sys
import threading

import jax
import jax.numpy as jnp
import pytest

from brainstate_core.util import (
    StateJaxTracer,
    get_unique_name,
    is_instance_eval,
    not_instance_eval,
    split_total,
)


@pytest.mark.parametrize(
    "total, fraction, expected",
    [(100, 0.5, 50), (100, 0.0, 0), (100, 1.0, 100), (7, 0.5, 3), (100, 30, 30), (100, 0, 0), (100, 100, 100)],
)
def test_split_total(total, fraction, expected):
    assert split_total(total, fraction) == expected


@pytest.mark.parametrize(
    "total, fraction, error, message",
    [
        (10.0, 0.5, TypeError, r"total must be an int, got float"),
        (True, 0.5, TypeError, r"total must be an int, got bool"),
        (0, 0.5, ValueError, r"total must be positive, got 0"),
        (10, "a", TypeError, r"fraction must be an int or a float, got str"),
        (10, False, TypeError, r"fraction must be an int or a float, got bool"),
        (10, -0.1, ValueError, r"a float fraction must be in \[0, 1\], got -0\.1"),
        (10, 11, ValueError, r"an int fraction must be in \[0, total=10\], got 11"),
    ],
)
def test_split_total_errors(total, fraction, error, message):
    with pytest.raises(error, match=message):
        split_total(total, fraction)


def test_unique_names_count_per_type_and_per_thread():
    first = get_unique_name("TestMiscType")
    n = int(first.removeprefix("TestMiscType"))
    assert get_unique_name("TestMiscType", prefix="x_") == f"x_TestMiscType{n + 1}"
    assert get_unique_name("TestMiscOther") == "TestMiscOther0"
    other_thread = []
    worker = threading.Thread(target=lambda: other_thread.append(get_unique_name("TestMiscType")))
    worker.start()
    worker.join()
    assert other_thread == ["TestMiscType0"]


def test_instance_predicates_are_picklable_and_accept_several_classes():
    is_num, not_num = is_instance_eval(int, float), not_instance_eval(int, float)
    assert [is_num(v) for v in (1, 2.0, "3")] == [True, True, False]
    assert [not_num(v) for v in (1, 2.0, "3")] == [False, False, True]
    assert pickle.loads(pickle.dumps(is_num))(1.0)


def test_clear_buffer_memory_deletes_live_arrays():
    # In a fresh process: deleting every live array here would break other tests' module-level arrays.
    code = (
        "import jax.numpy as jnp\n"
        "from brainstate_core.util import clear_buffer_memory\n"
        "x = jnp.ones(3) + 1\n"
        "clear_buffer_memory(compilation=True)\n"
        "print(x.is_deleted())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_state_jax_tracer_knows_its_trace():
    eager = StateJaxTracer()
    assert eager.is_valid() and eager == StateJaxTracer() and hash(eager) == hash(StateJaxTracer())
    inside = []

    def f(x):
        tracer = StateJaxTracer()
        inside.append((eager.is_valid(), tracer.is_valid(), tracer == eager))
        return x

    jax.jit(f)(jnp.ones(1))
    assert inside == [(False, True, False)]
    assert repr(eager).startswith("StateJaxTracer(jax_trace=")
