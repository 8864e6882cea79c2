"""RandomState under the brainstate transformations: jit, vmap, scan/for_loop, grad, cond, while_loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_random as random
from brainstate_core import ParamState
from brainstate_random import RandomState

bt = pytest.importorskip("brainstate_transform")


def _distinct_rows(x) -> bool:
    rows = [tuple(r) for r in np.asarray(x).reshape(len(x), -1).tolist()]
    return len(set(rows)) == len(rows)


# -- jit -------------------------------------------------------------------------------------------
def test_jit_draws_fresh_numbers_and_matches_the_eager_sequence():
    rng = RandomState(0)
    f = bt.jit(lambda x: x + rng.normal(size=3))
    a, b = f(0.0), f(0.0)
    assert not np.allclose(a, b)
    rng.seed(0)
    np.testing.assert_allclose(a, rng.normal(size=3), rtol=1e-6)
    np.testing.assert_allclose(b, rng.normal(size=3), rtol=1e-6)


def test_jit_with_the_default_generator_and_several_samplers():
    def program(x):
        return x * random.uniform(size=2), random.randint(0, 100, size=2), random.permutation(6)

    random.seed(1)
    f = bt.jit(program)
    jitted = [f(2.0), f(2.0)]
    random.seed(1)
    eager = [program(2.0), program(2.0)]
    for got, expected in zip(jitted, eager):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-6)
    assert jitted[0][2].tolist() != jitted[1][2].tolist() or jitted[0][1].tolist() != jitted[1][1].tolist()


def test_jit_does_not_leak_a_tracer_into_the_generator():
    rng = RandomState(3)
    bt.jit(lambda: rng.rand(2))()
    assert not isinstance(rng.value, jax.core.Tracer)
    assert rng.rand(2).shape == (2,)


# -- vmap ------------------------------------------------------------------------------------------
def test_vmap_gives_every_lane_its_own_stream_and_keeps_an_unused_key():
    rng = RandomState(0)
    before = rng.get_key()
    out = bt.vmap(lambda x: x + rng.normal(size=2))(jnp.zeros((5, 2)))
    assert out.shape == (5, 2) and _distinct_rows(out)
    keys = jax.random.split(before, 6)
    np.testing.assert_array_equal(rng.get_key(), keys[0])  # reserved for the generator, used by no lane
    for lane, row in zip(keys[1:], out):
        np.testing.assert_allclose(row, jax.random.normal(jax.random.split(lane)[1], (2,)), rtol=1e-6)


def test_vmap_lanes_differ_from_what_the_generator_draws_next():
    rng = RandomState(1)
    out = bt.vmap(lambda _: rng.rand(3), axis_size=4, in_axes=None)(0.0)
    nxt = rng.rand(3)
    assert not any(np.allclose(row, nxt) for row in out)
    rng.seed(1)
    np.testing.assert_array_equal(bt.vmap(lambda _: rng.rand(3), axis_size=4, in_axes=None)(0.0), out)


def test_vmap_inside_jit_and_nested_vmap():
    rng = RandomState(2)
    f = bt.jit(bt.vmap(lambda x: x + rng.uniform(size=2)))
    a, b = f(jnp.zeros((3, 2))), f(jnp.zeros((3, 2)))
    assert _distinct_rows(a) and not np.allclose(a, b)
    nested = bt.vmap(bt.vmap(lambda x: x + rng.uniform()))(jnp.zeros((3, 4)))
    assert len(set(np.asarray(nested).ravel().tolist())) == 12


# -- loops ------------------------------------------------------------------------------------------
def test_for_loop_draws_different_numbers_each_step():
    rng = RandomState(0)
    out = bt.for_loop(lambda i: rng.normal(), jnp.arange(6))
    assert len(set(np.asarray(out).tolist())) == 6
    rng.seed(0)
    np.testing.assert_allclose(out, [rng.normal() for _ in range(6)], rtol=1e-6)


def test_scan_threads_the_key_through_the_carry():
    rng = RandomState(4)

    def step(total, _):
        x = rng.uniform()
        return total + x, x

    total, xs = bt.scan(step, 0.0, None, length=5)
    assert len(set(np.asarray(xs).tolist())) == 5
    rng.seed(4)
    eager = [rng.uniform() for _ in range(5)]
    np.testing.assert_allclose(xs, eager, rtol=1e-6)
    np.testing.assert_allclose(total, sum(float(e) for e in eager), rtol=1e-5)


def test_while_loop_threads_the_key():
    rng = RandomState(5)

    def body(carry):
        i, total = carry
        return i + 1, total + rng.uniform()

    _, total = bt.while_loop(lambda c: c[0] < 4, body, (0, 0.0))
    rng.seed(5)
    np.testing.assert_allclose(total, sum(float(rng.uniform()) for _ in range(4)), rtol=1e-5)


# -- grad and cond -----------------------------------------------------------------------------------
def test_grad_threads_the_key_like_any_state():
    rng = RandomState(6)
    w = ParamState(jnp.ones(3))

    def loss(x):
        return jnp.sum(w.value * x * rng.normal(size=3))

    g_w = bt.grad(loss, grad_states=w)(2.0)
    after = rng.get_key()
    rng.seed(6)
    noise = rng.normal(size=3)
    np.testing.assert_allclose(g_w, 2.0 * noise, rtol=1e-6)
    np.testing.assert_array_equal(after, rng.get_key())  # advanced exactly once


def test_cond_threads_the_key_and_matches_eager_draws():
    rng = RandomState(7)

    def f(pred):
        return bt.cond(pred, lambda: rng.normal(), lambda: rng.uniform())

    a, b = f(True), f(False)
    rng.seed(7)
    np.testing.assert_allclose(a, rng.normal(), rtol=1e-6)
    np.testing.assert_allclose(b, rng.uniform(), rtol=1e-6)
    jitted = bt.jit(f)
    rng.seed(7)
    c, d = jitted(True), jitted(False)
    np.testing.assert_allclose([c, d], [a, b], rtol=1e-6)


def test_same_seed_same_program_same_numbers():
    def run():
        rng = RandomState(11)
        f = bt.jit(bt.vmap(lambda x: x * rng.normal(size=2)))
        return [f(jnp.ones((3, 2))) for _ in range(2)]

    for first, second in zip(run(), run()):
        np.testing.assert_array_equal(first, second)


# -- meshes ----------------------------------------------------------------------------------------
def _mesh(name: str, kind: str) -> jax.sharding.Mesh:
    return jax.make_mesh((1,), (name,), axis_types=(getattr(jax.sharding.AxisType, kind),))


def _on_a_mesh(value) -> bool:
    mesh = getattr(getattr(value, "sharding", None), "mesh", None)
    return mesh is not None and not mesh.empty


@pytest.mark.parametrize("kind", ["Explicit", "Auto"])
@pytest.mark.parametrize("how", ["eager", "jit", "split_key", "vmap"])
def test_a_draw_under_one_mesh_leaves_the_key_usable_under_another(how, kind):
    """The key of a draw made under ``jax.set_mesh`` would come back committed to that mesh, and the
    next draw under another mesh would fail ("context mesh should match the aval mesh")."""
    rng = RandomState(0)
    draw = {
        "eager": lambda: rng.normal(size=2),
        "jit": bt.jit(lambda: rng.normal(size=2)),
        "split_key": rng.split_key,
        "vmap": lambda: bt.vmap(lambda x: x + rng.normal(), axis_size=2)(jnp.zeros(2)),
    }[how]
    with jax.set_mesh(_mesh("a", kind)):
        draw()
    assert not _on_a_mesh(rng.value)
    with jax.set_mesh(_mesh("b", kind)):
        rng.normal(size=2)
        bt.jit(lambda: rng.normal(size=2))()


def test_a_draw_under_a_mesh_gives_the_numbers_it_gives_off_it():
    on, off = RandomState(0), RandomState(0)
    with jax.set_mesh(_mesh("a", "Explicit")):
        got = [on.normal(size=2), bt.jit(lambda: on.normal(size=2))(), on.split_key()]
    want = [off.normal(size=2), bt.jit(lambda: off.normal(size=2))(), off.split_key()]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(on.value, off.value)


def test_a_key_the_user_put_on_a_mesh_stays_there():
    mesh = _mesh("a", "Explicit")
    rng = RandomState(0)
    rng.value = jax.device_put(rng.value, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
    with jax.set_mesh(mesh):
        rng.normal(size=2)
        bt.jit(lambda: rng.normal(size=2))()
    assert rng.value.sharding.mesh.axis_names == ("a",)
