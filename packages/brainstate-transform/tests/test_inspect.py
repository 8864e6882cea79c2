"""Tests of StateFinder, named_call and in_new_state_probe."""

import jax.numpy as jnp
import pytest

import brainstate_core as bc
import brainstate_transform as T


def _model():
    w = bc.ParamState(jnp.ones(2), name="w")
    b = bc.ParamState(jnp.zeros(2), name="b")
    h = bc.HiddenState(jnp.zeros(2))

    def step(x):
        h.value = w.value * x + b.value
        return h.value

    return w, b, h, step


@pytest.mark.parametrize("usage, expected", [("all", "wbh"), ("read", "wb"), ("write", "h")])
def test_state_finder_usage_and_return_types(usage, expected):
    w, b, h, step = _model()
    names = dict(w=w, b=b, h=h)
    want = [names[c] for c in expected]
    assert T.StateFinder(step, usage=usage, return_type="list")(1.0) == want
    assert T.StateFinder(step, usage=usage, return_type="tuple")(1.0) == tuple(want)
    assert T.StateFinder(step, usage=usage)(1.0) == dict(enumerate(want))


def test_state_finder_both_filter_and_keys():
    w, b, h, step = _model()
    both = T.StateFinder(step, usage="both", key_fn=lambda i, s: s.name)(1.0)
    assert both == {"read": {"w": w, "b": b}, "write": {"state_0": h}}  # h has no name: its index
    assert T.StateFinder(step, bc.HiddenState, return_type="list")(1.0) == [h]
    same = T.StateFinder(step, bc.ParamState, key_fn=lambda i, s: "k")(1.0)
    assert same == {"k": w, "b": b}  # a repeated key falls back to the state's name


def test_state_finder_changes_nothing_and_rejects_bad_options():
    w, b, h, step = _model()
    T.StateFinder(step)(5.0)
    assert float(h.value.sum()) == 0.0
    with pytest.raises(bc.ConfigError, match="usage must be one of"):
        T.StateFinder(step, usage="some")
    with pytest.raises(bc.ConfigError, match="return_type must be one of"):
        T.StateFinder(step, return_type="set")
    assert "StateFinder(" in repr(T.StateFinder(step))


@pytest.mark.parametrize("form", ["bare", "named", "call"])
def test_named_call_names_the_equations_and_threads_states(form):
    s = bc.State(jnp.zeros(()))

    def block(x):
        s.value = s.value + x
        return jnp.sin(x)

    named = {"bare": lambda: T.named_call(block), "named": lambda: T.named_call(name="blk")(block),
             "call": lambda: T.named_call(block, name="blk")}[form]()
    jaxpr, _ = T.make_jaxpr(lambda x: jnp.cos(named(x)))(1.0)
    stacks = [str(e.source_info.name_stack) for e in jaxpr.eqns]
    assert ("block" if form == "bare" else "blk") in stacks
    assert named.__name__ == "block"
    T.jit(named)(2.0)
    assert float(s.value) == 2.0


def test_in_new_state_probe_is_true_only_in_discovery_runs():
    seen = []

    def make():
        seen.append(T.in_new_state_probe())
        return bc.HiddenState(jnp.zeros(2))

    assert T.vmap_new_states(make, axis_size=3)().value.shape == (3, 2)
    assert seen == [True, False]
    w = bc.ParamState(jnp.ones(()))
    T.grad(lambda x: (seen.append(T.in_new_state_probe()), w.value * x)[1])(1.0)
    assert seen[2:] == [True, False]
    assert not T.in_new_state_probe()


def test_in_new_state_probe_is_reset_when_discovery_fails():
    def bad():
        raise RuntimeError("fails")

    with pytest.raises(RuntimeError):
        T.vmap(bad, axis_size=2)()
    assert not T.in_new_state_probe()
