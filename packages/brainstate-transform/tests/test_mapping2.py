"""Upstream's mapping names: vmap2, pmap2, StatefulMapping, vmap2_new_states, pmap2_new_states."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
from brainstate_core import BatchAxisError, ConfigError

T = brainstate.transform


def test_vmap2_is_vmap_with_upstream_keywords():
    w = brainstate.ParamState(jnp.arange(3.0))
    h = brainstate.HiddenState(jnp.zeros((4, 3)))

    def f(x):
        h.value = h.value + w.value * x
        return h.value.sum()

    xs = jnp.arange(4.0)
    got = T.vmap2(f, state_in_axes={0: h})(xs)
    want_h = jnp.arange(4.0)[:, None] * jnp.arange(3.0)
    np.testing.assert_allclose(h.value, want_h)
    np.testing.assert_allclose(got, want_h.sum(axis=1))
    assert float(w.value.sum()) == 3.0  # broadcast, unchanged


def test_state_out_axes_stacks_written_states_on_their_axis():
    s = brainstate.State(jnp.zeros(2))

    def f(x):
        s.value = s.value + x
        return x

    T.vmap2(f, state_out_axes={1: s})(jnp.arange(3.0))
    assert s.value.shape == (2, 3)
    np.testing.assert_allclose(s.value, np.broadcast_to(np.arange(3.0), (2, 3)))


def _writer():
    s = brainstate.State(jnp.zeros(()))

    def f(x):
        s.value = s.value + x
        return x

    return s, f


def test_an_undeclared_per_lane_write_raises_by_default():
    s, f = _writer()
    with pytest.raises(BatchAxisError, match=r"not declared|out_states"):
        T.vmap2(f)(jnp.arange(3.0))
    assert float(s.value) == 0.0


@pytest.mark.parametrize("policy", ["auto", "ignore", "warn"])
def test_other_policies_keep_the_lanes_values_stacked(policy, recwarn):
    s, f = _writer()
    T.vmap2(f, unexpected_out_state_mapping=policy)(jnp.arange(3.0))
    np.testing.assert_allclose(s.value, [0.0, 1.0, 2.0])
    warned = [w for w in recwarn if "written per lane without being declared" in str(w.message)]
    assert bool(warned) is (policy == "warn")


def test_random_states_still_split_per_lane_under_every_policy():
    rng = brainstate.random.RandomState(0)
    draws = T.vmap2(lambda x: rng.normal() + x * 0, unexpected_out_state_mapping="auto")(jnp.zeros(4))
    assert len(set(np.asarray(draws).tolist())) == 4 and rng.value.shape == (2,)


@pytest.mark.parametrize("kwargs, match", [
    ({"unexpected_out_state_mapping": "scatter"}, r"unexpected_out_state_mapping='scatter'"),
    ({"mapping_fn": jax.lax.map}, r"only jax.vmap and jax.pmap"),
])
def test_bad_options_raise_when_built(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        T.StatefulMapping(lambda x: x, **kwargs)


def test_static_arguments_are_closed_over_and_cached_per_value():
    traces = []

    def f(x, power):
        traces.append(power)
        return x ** power

    m = T.StatefulMapping(f, in_axes=(0, None), static_argnums=1)
    xs = jnp.arange(3.0)
    np.testing.assert_allclose(m(xs, 2), xs ** 2)
    np.testing.assert_allclose(m(xs, 3), xs ** 3)
    assert set(traces) == {2, 3}  # the static argument reached the function as a Python value
    n = len(traces)
    jitted = T.jit(lambda xs: m(xs, 2))
    jitted(xs), jitted(xs)
    assert len(traces) == n + 1  # one trace under jit, whatever the mapping's own discovery did
    assert repr(m).startswith("brainstate.transform.vmap2(") and repr(m).endswith(".f, in_axes=(0, None))")


def test_trace_counts_match_vmap():
    counts = {"vmap": 0, "vmap2": 0}
    w = brainstate.ParamState(jnp.ones(3))

    def make(name):
        def f(x):
            counts[name] += 1
            return (w.value * x).sum()
        return f

    a, b = T.vmap(make("vmap")), T.vmap2(make("vmap2"))
    for _ in range(3):
        a(jnp.ones((2, 3))), b(jnp.ones((2, 3)))
    assert counts["vmap"] == counts["vmap2"]


def test_pmap2_maps_over_devices():
    n = jax.local_device_count()
    s = brainstate.State(jnp.zeros(n))

    def f(x):
        s.value = s.value + x
        return x * 2

    out = T.pmap2(f, state_in_axes={0: s})(jnp.arange(float(n)))
    np.testing.assert_allclose(out, 2 * np.arange(n))
    np.testing.assert_allclose(s.value, np.arange(n))


class _Net(brainstate.nn.Module):
    def __init__(self):
        super().__init__()

    def init_state(self):
        self.h = brainstate.HiddenState(jnp.zeros(3))
        self.noise = brainstate.ShortTermState(brainstate.random.normal(size=2), tag="noise")


def test_vmap2_new_states_batches_what_init_creates():
    net = _Net()
    groups = T.vmap2_new_states(net, {}, axis_size=4, state_out_axes={1: "noise"})
    assert net.h.value.shape == (4, 3)
    assert net.noise.value.shape == (2, 4)  # moved to axis 1
    assert len(set(np.asarray(net.noise.value[0]).tolist())) == 4  # a different draw per lane
    assert {k: len(v) for k, v in groups.items()} == {0: 1, 1: 1}


def test_pmap2_new_states():
    net = _Net()
    n = jax.local_device_count()
    groups = T.pmap2_new_states(net, axis_size=n)
    assert net.h.value.shape == (n, 3) and sum(len(v) for v in groups.values()) == 2


@pytest.mark.parametrize("fn", [T.vmap2_new_states, T.pmap2_new_states])
def test_new_states_need_an_axis_size_and_a_module(fn):
    with pytest.raises(ConfigError, match=r"axis_size is required"):
        fn(_Net(), {})
    with pytest.raises(ConfigError, match=r"has no init_all_states"):
        fn(object(), {}, axis_size=1)
