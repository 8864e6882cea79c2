"""vmap, pmap, vmap_new_states and map: the state rules under vectorisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T


def test_seed_section_4_read_states_are_broadcast():
    state_var = bc.State(jnp.array([1.0, 2.0, 3.0]))

    def process_single(x):
        return jnp.sum(state_var.value * x)

    batch = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    out = T.vmap(process_single, in_axes=0, out_axes=0)(batch)
    np.testing.assert_allclose(out, jax.vmap(lambda x: jnp.sum(jnp.array([1.0, 2.0, 3.0]) * x))(batch))


def test_unbatched_write_of_undeclared_state_is_written_back_once():
    counter = bc.State(jnp.array(0))
    out = T.vmap(lambda x: (counter.__setattr__("value", counter.value + 1), x * 2)[1])(jnp.arange(3.0))
    np.testing.assert_allclose(out, [0.0, 2.0, 4.0])
    assert int(counter.value) == 1


def test_batched_write_of_undeclared_state_is_an_error_naming_it():
    acc = bc.State(jnp.zeros(()))
    before = acc.value

    def f(x):
        acc.value = acc.value + x
        return x

    with pytest.raises(bc.BatchAxisError, match=r"State\(f32\[\]\) \(created at .*test_vmap.py:\d+\).*out_states="):
        T.vmap(f)(jnp.arange(3.0))
    assert acc.value is before


@pytest.mark.parametrize(
    "axis,form",
    [(0, "state"), (0, "list")] + [(a, f) for a in (0, 1, -1) for f in ("axis_dict", "axis_name_dict", "filter")],
)
def test_declared_states_are_sliced_and_stacked_on_their_axis(axis, form):
    h = bc.HiddenState(jnp.arange(12.0).reshape(3, 4) if axis == 0 else jnp.arange(12.0).reshape(4, 3))
    start = h.value
    decl = {
        "state": h,
        "list": [h],
        "axis_dict": {axis: h},
        "axis_name_dict": {axis: {"h": h}},
        "filter": {axis: bc.HiddenState},
    }[form]

    def step(x):
        h.value = h.value * 2 + x
        return h.value.sum()

    n = start.shape[axis]
    out = T.vmap(step, in_states=decl, out_states=decl)(jnp.ones(n))
    expected = start * 2 + 1
    np.testing.assert_allclose(h.value, expected)
    np.testing.assert_allclose(out, jnp.moveaxis(expected, axis, 0).sum(axis=1))


def test_in_states_alone_write_back_on_the_same_axis():
    h = bc.HiddenState(jnp.zeros((2, 3)))
    T.vmap(lambda: h.__setattr__("value", h.value + 1), in_states={1: h}, axis_size=3)()
    np.testing.assert_allclose(h.value, jnp.ones((2, 3)))


def test_out_states_for_a_state_that_was_unbatched_before():
    rec = bc.State(jnp.zeros(()))

    def f(x):
        rec.value = x * 10
        return x

    T.vmap(f, out_states=rec)(jnp.arange(3.0))
    np.testing.assert_allclose(rec.value, [0.0, 10.0, 20.0])


def test_in_axes_tuple_none_and_kwargs():
    w = bc.State(jnp.array(2.0))
    f = T.vmap(lambda x, y, scale=1.0: w.value * x + y * scale, in_axes=(0, None))
    out = f(jnp.arange(3.0), 1.0, scale=jnp.ones(3))
    np.testing.assert_allclose(out, [1.0, 3.0, 5.0])


def test_collectives_with_axis_name():
    f = T.vmap(lambda x: x - jax.lax.pmean(x, "batch"), axis_name="batch")
    np.testing.assert_allclose(f(jnp.array([1.0, 2.0, 3.0])), [-1.0, 0.0, 1.0])
    total = bc.State(jnp.zeros(()))

    def g(x):
        total.value = total.value + jax.lax.psum(x, "b")  # same in every lane: unbatched write
        return x

    T.vmap(g, axis_name="b")(jnp.arange(4.0))
    assert float(total.value) == 6.0


class LaneState(bc.State):
    """A state whose lanes each get their own slice, to exercise the batching hook."""

    def to_lanes(self, axis_size):
        return jnp.broadcast_to(self.value, (axis_size,) + jnp.shape(self.value)) + jnp.arange(axis_size), 0

    def from_lanes(self, value, batched, axis_size):
        self.value = value.sum(0) if batched else value


def test_batching_hook_gives_each_lane_its_own_value_and_merges_back():
    s = LaneState(jnp.array(0.0))

    def f(x):
        out = s.value + x
        s.value = s.value * 2
        return out

    out = T.vmap(f)(jnp.zeros(3))
    np.testing.assert_allclose(out, [0.0, 1.0, 2.0])
    assert float(s.value) == 2 * (0 + 1 + 2)


def test_vmap_inside_jit_and_jit_inside_vmap():
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    counter = bc.State(jnp.array(0))

    def f(x):
        counter.value = counter.value + 1
        return jnp.dot(w.value, x)

    xs = jnp.ones((4, 2))
    np.testing.assert_allclose(T.jit(T.vmap(f))(xs), jnp.full(4, 3.0))
    np.testing.assert_allclose(T.vmap(T.jit(f))(xs), jnp.full(4, 3.0))
    assert int(counter.value) == 2


def test_vmap_failure_restores_states():
    s = LaneState(jnp.array(1.0))
    plain = bc.State(jnp.array(5.0))

    def f(x):
        plain.value = plain.value + s.value
        raise RuntimeError("lane failure")

    with pytest.raises(RuntimeError, match="lane failure"):
        T.vmap(f)(jnp.zeros(2))
    assert float(s.value) == 1.0 and float(plain.value) == 5.0


def test_vmap_new_states_batches_only_new_states():
    existing = bc.State(jnp.array(1.0))

    def init():
        _ = existing.value  # read only: broadcast
        return bc.HiddenState(jnp.zeros(3) + existing.value)

    make = T.vmap_new_states(init, axis_size=5, state_tag="batched")
    h = make()
    assert h.value.shape == (5, 3)
    assert h.tag == "batched"
    assert existing.value.shape == ()
    np.testing.assert_allclose(h.value, jnp.ones((5, 3)))


@pytest.mark.parametrize("batch_size", [None, 2, 3, 5])
def test_map_matches_python_loop(batch_size):
    calls = bc.State(jnp.array(0))
    xs = jnp.arange(10.0).reshape(5, 2)

    def f(x):
        calls.value = calls.value + 1 if batch_size is None else calls.value
        return x.sum() * 2

    out = T.map(f, xs, batch_size=batch_size)
    np.testing.assert_allclose(out, xs.sum(1) * 2)
    if batch_size is None:
        assert int(calls.value) == 5


def test_pmap_with_states():
    n = jax.local_device_count()
    w = bc.State(jnp.array(3.0))
    out = T.pmap(lambda x: x * w.value)(jnp.arange(float(n)))
    np.testing.assert_allclose(out, jnp.arange(float(n)) * 3.0)


def test_vmap_new_states_can_return_objects_holding_new_states():
    class Cell:
        def __init__(self):
            self.h = bc.HiddenState(jnp.zeros(2))
            self.size = 2

    cell, scale = T.vmap_new_states(lambda: (Cell(), jnp.ones(())), axis_size=3)()
    assert isinstance(cell, Cell) and cell.size == 2
    assert cell.h.value.shape == (3, 2)
    assert scale.shape == (3,)


@pytest.mark.parametrize("under_jit", [False, True])
def test_pmap_writes_a_lane_independent_state_back_once(under_jit):
    count = bc.State(jnp.zeros(()))

    def step(x):
        count.value = count.value + 1.0
        return x * 2.0

    n = jax.local_device_count()

    def run():
        return T.pmap(step)(jnp.arange(float(n)))

    for calls in (1, 2):  # the value written back must be usable by the next pmap
        out = T.jit(run)() if under_jit else run()
        assert out.tolist() == [2.0 * i for i in range(n)]
        assert float(count.value) == calls


@pytest.mark.skipif(jax.local_device_count() < 2, reason="needs two devices to disagree")
def test_pmap_refuses_a_per_device_write_it_was_not_told_about():
    s = bc.State(jnp.zeros(()))

    def step(x):
        s.value = s.value + x
        return x

    with pytest.raises(bc.BatchAxisError, match=r"differs per pmap device.*out_states="):
        T.pmap(step)(jnp.arange(2.0))
    assert float(s.value) == 0.0
