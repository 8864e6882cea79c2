"""brainunit Quantities as State values and as ``environ`` values, through the transformations.

brainunit is an optional dependency (the ``units`` extra of brainstate-nn). The main suite installs it
(TEST_DEPS in noxfile.py) and skips this file where it is absent; ``nox -s units`` requires it
(``BRAINSTATE_REQUIRE_BRAINUNIT=1``), so there a missing brainunit fails instead.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate

if os.environ.get("BRAINSTATE_REQUIRE_BRAINUNIT"):
    import brainunit as u
else:
    u = pytest.importorskip("brainunit")

T = brainstate.transform


def assert_quantity(value, mantissa, unit, atol: float = 0.0) -> None:
    assert isinstance(value, u.Quantity), f"expected a Quantity in {unit}, got {type(value).__name__}: {value!r}"
    assert value.unit == unit, f"expected unit {unit}, got {value.unit}"
    np.testing.assert_allclose(np.asarray(value.mantissa), mantissa, rtol=1e-6, atol=atol)


# jit ----------------------------------------------------------------------------------------------


def test_jit_reads_and_writes_a_quantity_state_and_the_writes_keep_the_unit():
    v = brainstate.State(jnp.zeros(3) * u.mV)

    @T.jit
    def step(drive):
        v.value = v.value + drive
        return v.value * 2

    out = step(jnp.array([1.0, 2.0, 3.0]) * u.mV)
    assert_quantity(out, [2.0, 4.0, 6.0], u.mV)
    assert_quantity(v.value, [1.0, 2.0, 3.0], u.mV)
    step(1.0 * u.mV)  # the written value is the next call's input
    assert_quantity(v.value, [2.0, 3.0, 4.0], u.mV)


def test_jit_converts_between_compatible_units():
    v = brainstate.State(jnp.ones(2) * u.mV)

    @T.jit
    def add_volts(x):
        v.value = v.value + x
        return v.value

    assert_quantity(add_volts(jnp.array([1.0, 0.5]) * u.volt).to(u.mV), [1001.0, 501.0], u.mV)
    assert u.get_dim(v.value) == u.get_dim(u.volt)
    np.testing.assert_allclose(np.asarray(v.value.to_decimal(u.mV)), [1001.0, 501.0], rtol=1e-6)


def test_a_unit_mismatch_in_a_jitted_function_is_brainunits_error_and_leaves_the_state_unchanged():
    v = brainstate.State(jnp.zeros(3) * u.mV)

    @T.jit
    def wrong():
        v.value = v.value + 1.0 * u.ms

    with pytest.raises(u.UnitMismatchError, match=r"mV.*ms|ms.*mV"):
        wrong()
    assert_quantity(v.value, [0.0, 0.0, 0.0], u.mV)


def test_a_jitted_function_follows_a_change_of_unit_of_its_state():
    # The unit is part of the value's pytree structure: a new unit is a new program, never a stale one.
    v = brainstate.State(jnp.ones(2) * u.mV)
    double = T.jit(lambda: v.value * 2)
    assert_quantity(double(), [2.0, 2.0], u.mV)
    v.value = jnp.ones(2) * u.second
    assert_quantity(double(), [2.0, 2.0], u.second)


# grad ---------------------------------------------------------------------------------------------


def test_grad_wrt_a_quantity_state_of_a_dimensionless_loss_has_the_right_values():
    w = brainstate.ParamState(jnp.array([1.0, 2.0, 3.0]) * u.mV)
    x = jnp.array([0.5, -1.0, 2.0])

    def loss():
        return jnp.sum((w.value / u.mV) ** 2 * x)

    grads, value = T.grad(loss, w, return_value=True)()
    np.testing.assert_allclose(float(value), 0.5 - 4.0 + 18.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(u.get_mantissa(grads)), 2 * np.array([1.0, 2.0, 3.0]) * x, rtol=1e-6)
    assert_quantity(w.value, [1.0, 2.0, 3.0], u.mV)  # differentiating does not write the state


def test_grad_inside_jit_of_a_model_with_quantity_states_trains_it():
    # Gradient descent on the mantissa: dimensionless loss, Quantity state, the write keeps the unit.
    w = brainstate.ParamState(jnp.array([3.0, -2.0]) * u.mV)

    @T.jit
    def train_step():
        def loss():
            return jnp.sum((w.value / u.mV - 1.0) ** 2)

        g, value = T.grad(loss, w, return_value=True)()
        w.value = w.value - 0.25 * u.get_mantissa(g) * u.mV
        return value

    losses = [float(train_step()) for _ in range(20)]
    assert losses[-1] < 1e-4 * losses[0], losses
    assert_quantity(w.value, [1.0, 1.0], u.mV, atol=1e-3)


def test_grad_of_a_quantity_valued_loss_wrt_a_quantity_state_has_the_unit_of_loss_over_state():
    w = brainstate.ParamState(jnp.array([1.0, 2.0]) * u.mV)

    def loss():
        return u.math.sum(w.value ** 2)  # mV^2

    grads = T.grad(loss, w, unit_aware=True)()
    assert_quantity(grads, [2.0, 4.0], u.mV)  # d(mV^2)/d(mV) = mV


# vmap, scan, for_loop -----------------------------------------------------------------------------


def test_vmap_over_quantity_arguments_with_a_batched_quantity_state():
    v = brainstate.State(jnp.zeros((4, 3)) * u.mV)
    gain = brainstate.State(2.0 * u.ohm)  # not batched: broadcast to the lanes

    def step(current):
        v.value = v.value + gain.value * current
        return v.value

    drive = jnp.arange(12.0).reshape(4, 3) * u.mA
    out = T.vmap(step, in_states=v)(drive)
    assert_quantity(out.to(u.mV), 2.0 * np.arange(12.0).reshape(4, 3), u.mV)
    assert v.value.shape == (4, 3)
    assert u.get_dim(v.value) == u.get_dim(u.mV)
    np.testing.assert_allclose(np.asarray(v.value.to_decimal(u.mV)), 2.0 * np.arange(12.0).reshape(4, 3))
    assert_quantity(gain.value, 2.0, u.ohm)


def test_scan_with_a_quantity_carry_inputs_and_state():
    total = brainstate.State(0.0 * u.mV)

    def body(carry, x):
        total.value = total.value + x
        return carry + x, total.value

    carry, ys = T.scan(body, 1.0 * u.mV, jnp.arange(5.0) * u.mV)
    assert_quantity(carry, 11.0, u.mV)
    assert_quantity(ys, [0.0, 1.0, 3.0, 6.0, 10.0], u.mV)
    assert_quantity(total.value, 10.0, u.mV)


def test_for_loop_stacks_quantity_outputs_and_writes_the_state_once_per_step():
    v = brainstate.State(jnp.zeros(2) * u.mV)
    leak = 0.5

    def step(current):
        v.value = v.value * leak + current * u.ohm
        return v.value

    currents = jnp.ones((4, 2)) * u.mA
    ys = T.for_loop(step, currents)
    expected = np.array([1.0, 1.5, 1.75, 1.875])[:, None] * np.ones(2)
    assert ys.shape == (4, 2)
    np.testing.assert_allclose(np.asarray(ys.to_decimal(u.mV)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(v.value.to_decimal(u.mV)), expected[-1], rtol=1e-6)


def test_a_unit_mismatch_inside_scan_is_brainunits_error_and_leaves_the_state_unchanged():
    v = brainstate.State(0.0 * u.mV)

    def body(carry, x):
        v.value = v.value + x
        return carry, None

    with pytest.raises(u.UnitMismatchError):
        T.scan(body, 0.0, jnp.ones(3) * u.ms)
    assert_quantity(v.value, 0.0, u.mV)


# environ dt as a Quantity -------------------------------------------------------------------------


def test_a_quantity_dt_read_inside_jit_and_a_new_dt_retraces():
    traces = []

    @T.jit
    def decay(v):
        traces.append(1)
        dt = brainstate.environ.get_dt()
        return v * jnp.exp(-dt / (10.0 * u.ms)), dt

    v0 = jnp.ones(2) * u.mV
    with brainstate.environ.context(dt=0.1 * u.ms):
        v, dt = decay(v0)
    assert_quantity(dt, 0.1, u.ms)
    assert_quantity(v, np.exp(-0.01) * np.ones(2), u.mV)
    with brainstate.environ.context(dt=1.0 * u.ms):
        v, dt = decay(v0)
    assert_quantity(dt, 1.0, u.ms)
    assert_quantity(v, np.exp(-0.1) * np.ones(2), u.mV)
    assert len(traces) == 2
    with brainstate.environ.context(dt=1.0 * u.second):  # same mantissa, other unit: another program
        _, dt = decay(v0)
    assert_quantity(dt, 1.0, u.second)
    assert len(traces) == 3


def test_an_equal_quantity_dt_reuses_the_compiled_program():
    # `with environ.context(dt=0.1 * u.ms)` makes a new Quantity each time: equal values, one program.
    traces = []

    @T.jit
    def step(v):
        traces.append(1)
        return v + brainstate.environ.get_dt() * u.mV / u.ms

    for _ in range(3):
        with brainstate.environ.context(dt=0.1 * u.ms):
            out = step(jnp.zeros(2) * u.mV)
    assert_quantity(out, [0.1, 0.1], u.mV)
    assert len(traces) == 1, f"traced {len(traces)} times for three equal dt values"


def test_a_quantity_dt_inside_for_loop():
    v = brainstate.State(jnp.zeros(3) * u.mV)

    def step(i):
        dt = brainstate.environ.get_dt()
        v.value = v.value + 1.0 * u.mV * (dt / u.ms)
        return v.value

    with brainstate.environ.context(dt=0.5 * u.ms):
        ys = T.for_loop(step, jnp.arange(4))
    np.testing.assert_allclose(np.asarray(ys.to_decimal(u.mV))[:, 0], [0.5, 1.0, 1.5, 2.0], rtol=1e-6)
    assert_quantity(v.value, [2.0, 2.0, 2.0], u.mV)


def test_jax_sees_the_mantissa_only():
    # A Quantity is a pytree whose leaf is the mantissa and whose unit is static structure.
    q = jnp.array([1.0, 2.0]) * u.mV
    leaves, tree = jax.tree.flatten(q)
    assert len(leaves) == 1 and leaves[0].shape == (2,)
    assert jax.tree.unflatten(tree, [leaves[0] * 3]).unit == u.mV
