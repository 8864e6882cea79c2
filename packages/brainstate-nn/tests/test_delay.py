"""Delay and StateWithDelay: the ring buffer against a list of the pushed values; time conversion and its errors."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.1


def pushed(n_pushes, max_time, **kw):
    """A Delay of shape (3,) after pushing the values 1, 2, ..., n_pushes (times a per-lane factor)."""
    with bc.environ.context(dt=DT):
        d = nn.init_all_states(nn.Delay(jnp.zeros(3), time=max_time, **kw))
        for k in range(1, n_pushes + 1):
            d.update(k * jnp.array([1.0, 10.0, 100.0]))
    return d


@pytest.mark.parametrize("n_pushes", [2, 5, 13])  # fewer than, equal to and more than the buffer (wrap-around)
@pytest.mark.parametrize("steps", [0, 1, 4])
def test_retrieve_at_step_is_the_value_pushed_that_many_updates_before(n_pushes, steps):
    d = pushed(n_pushes, max_time=0.4)
    expected = max(n_pushes - steps, 0)  # 0: the initial value, before the first push
    np.testing.assert_allclose(d.retrieve_at_step(steps), expected * np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(d.retrieve_at_step(steps, 1), expected * 10.0)


def test_init_fills_the_history():
    with bc.environ.context(dt=DT):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=0.3, init=-65.0))
        d.update(jnp.ones(2))
        assert d.retrieve_at_step(1).tolist() == [-65.0, -65.0] and d.retrieve_at_step(0).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("method, t, expected", [
    ("round", 0.26, 2.0 + 1.0),         # nearest step: 3 steps back from 6 -> 3
    ("round", 0.24, 4.0),               # 2 steps back
    ("linear_interp", 0.25, 3.5),       # halfway between 2 and 3 steps back
    ("linear_interp", 0.3, 3.0),        # a whole number of steps
    (None, 0.3, 3.0),
])
def test_retrieve_at_time(method, t, expected):
    d = pushed(6, max_time=0.5, interp_method=method)
    with bc.environ.context(dt=DT, t=1.0):  # now: the time at t ms ago is 1.0 - t
        np.testing.assert_allclose(d.retrieve_at_time(1.0 - t)[0], expected, rtol=1e-6)


def test_named_entries_are_converted_once():
    with bc.environ.context(dt=DT):
        d = nn.Delay(jnp.zeros(1), entries={"a": 0.2}).register_entry("b", 0.5)
        assert d.entries == {"a": (2, 0.0), "b": (5, 0.0)} and d.max_steps == 5
        d = nn.init_all_states(d)
        for k in range(10):
            d.update(jnp.array([float(k)]))
        assert float(d.at("a")[0]) == 7.0 and float(d.at("b", 0)) == 4.0


def test_registering_a_longer_delay_after_init_grows_the_buffer():
    with bc.environ.context(dt=DT):
        d = nn.init_all_states(nn.Delay(jnp.zeros(1), time=0.1))
        d.register_entry("long", 0.4)
        assert d.history.value.shape == (5, 1)
        for k in range(6):
            d.update(jnp.array([float(k)]))
        assert float(d.at("long")[0]) == 1.0


def test_per_neuron_delays_from_a_traced_array():
    d = pushed(8, max_time=0.5)
    steps = jnp.array([0, 2, 5])
    got = T.jit(lambda s: d.retrieve_at_step(s))(steps)
    np.testing.assert_allclose(got, [8.0, 60.0, 300.0])


def test_in_a_compiled_loop_and_with_a_batch():
    with bc.environ.context(dt=DT):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), entries={"x": 0.3}), batch_size=4)

        def step(i):
            d.update(jnp.full((4, 2), i, jnp.float32))
            return d.at("x")

        out = T.jit(lambda: T.for_loop(step, jnp.arange(10)))()
    assert out.shape == (10, 4, 2)
    np.testing.assert_allclose(out[:, 0, 0], np.maximum(np.arange(10) - 3, 0))


def test_state_with_delay_follows_a_variable():
    with bc.environ.context(dt=DT):
        neuron = nn.LIF(2, tau=10.0, V_th=100.0)
        late = nn.StateWithDelay(neuron, "V").register_entry("d", 0.2)
        nn.init_all_states([neuron, late])
        vs = []
        for _ in range(6):
            neuron(jnp.array([1.0, 2.0]))
            late.update()
            vs.append(np.asarray(neuron.V.value))
        np.testing.assert_allclose(late.at("d"), vs[-3], rtol=1e-6)


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.Delay(jnp.zeros(1), time=0.25), bc.ConfigError, r"0.25 ms is not a multiple of dt = 0.1 ms.*interp_method"),
    (lambda: nn.Delay(jnp.zeros(1), time=-1.0), bc.ConfigError, r"concrete time >= 0"),
    (lambda: nn.Delay(jnp.zeros(1), interp_method="cubic"), bc.ConfigError, r"interp_method must be one of"),
    (lambda: nn.Delay(jnp.zeros(1), entries={"a": 0.1}).register_entry("a", 0.2), bc.ConfigError, r"already registered"),
    (lambda: nn.StateWithDelay(3, "V"), bc.ConfigError, r"target must be a module"),
])
def test_bad_configuration_raises(make, error, match):
    with bc.environ.context(dt=DT), pytest.raises(error, match=match):
        make()


def test_bad_reads_raise():
    d = pushed(3, max_time=0.2)
    with bc.environ.context(dt=DT):
        with pytest.raises(bc.InputError, match=r"3 steps is outside the history of 2 steps"):
            d.retrieve_at_step(3)
        with pytest.raises(bc.InputError, match=r"no entry 'x'.*register_entry"):
            d.at("x")
    with bc.environ.context(dt=0.05, t=0.2), pytest.raises(bc.ConfigError, match=r"converted with dt = 0.1 ms.*now 0.05"):
        d.retrieve_at_time(0.1)
    with pytest.raises(bc.InputError, match=r"no buffer yet.*init_all_states"):
        with bc.environ.context(dt=DT):
            nn.Delay(jnp.zeros(1), time=0.1).update(jnp.ones(1))


class Counter(nn.Dynamics):
    def init_state(self, batch_size=None, **kw):
        self.init_hidden("n", 0.0, batch_size)

    def update(self):
        self.n.value = self.n.value + 1


@pytest.mark.parametrize("t, steps", [(0.0, 0), (0.1, 1), (0.4, 4)])
def test_prefetch_delay_is_a_ring_buffer_too(t, steps):
    with bc.environ.context(dt=DT):
        c = nn.init_all_states(Counter(2))
        late = c.prefetch("n").delay.at(t)
        longest = c.prefetch("n").delay.at(0.4)  # the buffer holds 5 values; 12 calls wrap it around
        out = T.jit(lambda: T.for_loop(lambda i: (c(), late(), longest())[1:], jnp.arange(12)))()
    np.testing.assert_allclose(out[0][:, 0], np.maximum(np.arange(1, 13) - steps, 0))
    np.testing.assert_allclose(out[1][:, 0], np.maximum(np.arange(1, 13) - 4, 0))


def test_prefetch_delay_not_a_multiple_of_dt_raises():
    with bc.environ.context(dt=DT), pytest.raises(bc.ConfigError, match=r"0.25 ms of Counter.n is not a multiple"):
        nn.init_all_states(Counter(1)).prefetch("n").delay.at(0.25)
