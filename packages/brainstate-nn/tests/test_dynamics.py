"""The Dynamics base: sizes, batch-aware states, current and delta inputs, prefetch and delays, the clock."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T
from brainstate_nn._dynamics import get_dt, get_i, get_t


class Counter(nn.Dynamics):
    """x <- x + 1 + inputs; the delta inputs are added afterwards."""

    def init_state(self, batch_size=None, **kwargs):
        self.init_hidden("x", 0.0, batch_size)

    def update(self, inp=0.0):
        x = self.sum_current_inputs(self.x.value + 1.0 + inp, self.x.value)
        self.x.value = self.sum_delta_inputs(x)
        return self.x.value


@pytest.mark.parametrize("size, shape", [(3, (3,)), ((2, 4), (2, 4)), ([5], (5,))])
def test_sizes(size, shape):
    m = Counter(size)
    assert m.in_size == m.out_size == m.varshape == shape
    assert m.num == int(np.prod(shape))


@pytest.mark.parametrize("size", [0, -2, (3, 0), (), 2.5, "3"])
def test_bad_size_raises(size):
    with pytest.raises(bc.ConfigError, match=r"Counter in_size must be a positive int.*Fix"):
        Counter(size)


def test_batch_aware_states_keep_their_identity():
    m = nn.init_all_states(Counter((2, 3)))
    x = m.x
    assert x.value.shape == (2, 3) and isinstance(x, bc.HiddenState)
    nn.init_all_states(m, batch_size=4)
    assert m.x is x and x.value.shape == (4, 2, 3)
    m(1.0)
    nn.reset_all_states(m, 4)
    assert float(jnp.abs(m.x.value).sum()) == 0.0


def test_current_inputs_get_the_arguments_and_values_are_used_once():
    m = nn.init_all_states(Counter(2))
    m.add_current_input("leak", lambda x: -0.5 * x)
    m.add_current_input("once", jnp.array([10.0, 0.0]))
    np.testing.assert_allclose(m(), [11.0, 1.0])
    np.testing.assert_allclose(m(), [11.0 + 1 - 5.5, 1.0 + 1 - 0.5])
    assert list(m.current_inputs) == ["leak"]


def test_delta_inputs_and_labels():
    m = nn.init_all_states(Counter(1))
    m.add_delta_input("a", lambda: 100.0, label="exc")
    m.add_delta_input("b", lambda: 1000.0, label="inh")
    assert m.sum_delta_inputs(0.0, label="exc") == 100.0
    assert m.sum_delta_inputs(0.0) == 1100.0
    assert m.get_input("exc // a")() == 100.0


def test_input_key_clash_and_missing_key():
    m = Counter(1)
    fn = lambda: 1.0  # noqa: E731
    m.add_current_input("k", fn)
    m.add_current_input("k", fn)   # the same object again is fine
    with pytest.raises(bc.ConfigError, match=r"already has a current input 'k'.*Fix"):
        m.add_current_input("k", lambda: 2.0)
    with pytest.raises(bc.InputError, match=r"has no input 'nope'.*Fix"):
        m.get_input("nope")


def test_inputs_are_not_part_of_the_graph():
    m = nn.init_all_states(Counter(1))
    other = nn.init_all_states(Counter(1))
    m.add_current_input("from_other", other)   # a module held as an input is not a sub-module
    assert list(m.states().keys()) == [("x",)]
    assert list(m.children()) == []


def test_prefetch_reads_now_and_in_the_past_also_under_jit():
    with bc.environ.context(dt=0.5):
        m = nn.init_all_states(Counter(2))
        now = m.prefetch("x")
        late = m.prefetch("x").delay.at(1.5)    # 3 steps
        assert late.steps == 3
        xs = T.jit(lambda: T.for_loop(lambda i: (m(), late()), jnp.arange(6)))()
    np.testing.assert_allclose(xs[0][:, 0], np.arange(1, 7))
    np.testing.assert_allclose(xs[1][:, 0], [0, 0, 0, 1, 2, 3])   # the history starts at zero
    np.testing.assert_allclose(now(), [6, 6])


def test_prefetch_a_computed_variable_and_a_delay_registered_before_init():
    with bc.environ.context(dt=0.1):
        lif = nn.LIF(2, V_th=0.5)
        spikes_then = lif.prefetch("spike").delay.at(0.1)
        nn.init_all_states(lif, batch_size=3)
        s = lif(10.0)
        assert s.shape == (3, 2) and spikes_then().shape == (3, 2)
        lif(10.0)
        np.testing.assert_array_equal(spikes_then(), s)
        np.testing.assert_array_equal(lif.prefetch("spike")(), lif.get_spike())


def test_prefetch_errors():
    m = nn.init_all_states(Counter(1))
    with pytest.raises(bc.InputError, match=r"no variable 'y' to prefetch.*\['x'\]"):
        m.prefetch("y")()
    with bc.environ.context(dt=0.1), pytest.raises(bc.ConfigError, match=r"delay must be a concrete time >= 0"):
        m.prefetch("x").delay.at(-1.0)


def test_clock_helpers():
    with bc.environ.context(dt=0.25, t=3.0, i=12):
        assert (get_dt(), get_t(), get_i()) == (0.25, 3.0, 12)
    assert get_t(default=None) is None or get_t() is not None


def test_the_clock_inside_a_loop():
    m = nn.init_all_states(Counter(1))

    def step(i):
        with bc.environ.context(i=i, t=i * get_dt()):
            return m(get_t())

    with bc.environ.context(dt=0.5):
        out = T.jit(lambda: T.for_loop(step, jnp.arange(4)))()
    np.testing.assert_allclose(out[:, 0], np.cumsum(1 + 0.5 * np.arange(4)))


def test_vmap_init_gives_each_lane_its_state():
    m = nn.vmap_init_all_states(Counter(3), axis_size=4)
    assert m.x.value.shape == (4, 3)


def test_repr():
    assert "in_size=3" in repr(Counter(3))
