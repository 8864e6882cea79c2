"""The environ values a jitted function read are part of its program's key: by value where they are
not hashable (a NumPy array, a brainunit Quantity), so equal values share a program rather than each
new object compiling another. brainunit itself is tested in tests/test_brainunit_interop.py."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import brainstate_core as bc
import brainstate_transform as bt
from brainstate_core import environ


def counting_jit(key: str):
    traces = []

    @bt.jit
    def f(x):
        traces.append(1)
        return x * environ.get(key)

    return f, traces


def test_equal_numpy_arrays_share_one_program():
    f, traces = counting_jit("scale")
    for _ in range(3):
        with environ.context(scale=np.array([1.0, 2.0])):  # a new array each time
            out = f(1.0)
    np.testing.assert_allclose(out, [1.0, 2.0])
    assert len(traces) == 1


class Quantityish:
    """What the key reads of a brainunit Quantity: ``mantissa`` and ``unit``; unhashable, like it."""

    __hash__ = None

    def __init__(self, mantissa, unit: str) -> None:
        self._mantissa, self._unit = mantissa, unit

    @property
    def mantissa(self):
        return self._mantissa

    @property
    def unit(self):
        return self._unit

    def __rmul__(self, other):
        return other * self._mantissa * (1000.0 if self._unit == "s" else 1.0)


def test_an_unhashable_quantity_is_keyed_by_mantissa_and_unit():
    f, traces = counting_jit("dt")
    for dt, want, n in [(Quantityish(0.1, "ms"), 0.1, 1), (Quantityish(0.1, "ms"), 0.1, 1),
                        (Quantityish(0.1, "s"), 100.0, 2), (Quantityish(0.2, "ms"), 0.2, 3),
                        (Quantityish(1, "ms"), 1.0, 4), (Quantityish(1.0, "ms"), 1.0, 5)]:
        with environ.context(dt=dt):
            np.testing.assert_allclose(f(1.0), want, rtol=1e-6)
        assert len(traces) == n, (dt.mantissa, dt.unit, len(traces))


def test_a_jax_array_value_is_keyed_by_identity_and_gives_the_right_result():
    f, traces = counting_jit("scale")
    scale = jnp.array([3.0])
    for _ in range(2):
        with environ.context(scale=scale):
            np.testing.assert_allclose(f(2.0), [6.0])
    assert len(traces) == 1
    with environ.context(scale=jnp.array([4.0])):
        np.testing.assert_allclose(f(2.0), [8.0])


def test_a_state_write_under_an_array_environ_value_persists():
    s = bc.State(jnp.zeros(2))

    @bt.jit
    def step():
        s.value = s.value + environ.get("drive")

    for _ in range(3):
        with environ.context(drive=np.array([1.0, 0.5])):
            step()
    np.testing.assert_allclose(s.value, [3.0, 1.5])
