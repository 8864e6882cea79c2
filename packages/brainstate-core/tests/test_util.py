"""Tests of FlattedDict and NestedDict (brainstate_core._flatted, public in brainstate_core.util)."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
from brainstate_core.util import FlattedDict, NestedDict


def make_states():
    return FlattedDict(
        {
            ("dec", "b"): bc.ParamState(jnp.zeros(2)),
            ("dec", "w"): bc.ParamState(jnp.ones((3, 2))),
            ("enc", 0): bc.HiddenState({"h": jnp.zeros(3), "c": jnp.zeros(3)}),
            ("step",): bc.State(jnp.array(0, dtype=jnp.int32), tag="counter"),
        }
    )


# -- pytree ------------------------------------------------------------------------------------
def test_flatted_dict_of_arrays_is_a_pytree_with_its_keys():
    values = make_states().to_dict_values()
    leaves, treedef = jax.tree.flatten(values)
    assert len(leaves) == 5
    out = jax.tree.unflatten(treedef, leaves)
    assert type(out) is FlattedDict and list(out) == list(values)
    doubled = jax.tree.map(lambda x: x * 2, values)
    assert type(doubled) is FlattedDict
    np.testing.assert_array_equal(doubled[("dec", "w")], 2 * jnp.ones((3, 2)))


def test_flatted_dict_key_paths_name_the_state_paths():
    values = FlattedDict({("a", 0): jnp.ones(2), ("b",): jnp.zeros(1)})
    key_paths = [kp for kp, _ in jax.tree_util.tree_flatten_with_path(values)[0]]
    assert key_paths == [(jax.tree_util.DictKey(("a", 0)),), (jax.tree_util.DictKey(("b",)),)]


def test_flatted_dict_through_jit_and_grad():
    values = FlattedDict({("w",): jnp.array([1.0, 2.0]), ("b",): jnp.array(3.0)})

    def loss(v):
        return jnp.sum(v[("w",)] ** 2) + v[("b",)]

    grads = jax.jit(jax.grad(loss))(values)
    assert type(grads) is FlattedDict and list(grads) == [("w",), ("b",)]
    np.testing.assert_allclose(grads[("w",)], [2.0, 4.0])
    np.testing.assert_allclose(grads[("b",)], 1.0)


def test_flatted_dict_of_states_refuses_raw_jax():
    with pytest.raises(bc.StateArgumentError, match="was used where an array was expected"):
        jax.tree.leaves(make_states())
    assert len(jax.tree.leaves(make_states(), is_leaf=lambda x: isinstance(x, bc.State))) == 4


def test_nested_dict_is_a_pytree():
    nest = make_states().to_dict_values().to_nest()
    out = jax.tree.map(lambda x: x + 1, nest)
    assert type(out) is NestedDict and type(out["enc"]) is NestedDict
    assert type(out["enc"][0]) is dict  # the state's own dict value is not a nesting level


# -- conversions -------------------------------------------------------------------------------
def test_to_nest_and_back():
    states = make_states()
    nest = states.to_nest()
    assert list(nest) == ["dec", "enc", "step"]
    assert nest["dec"]["w"] is states[("dec", "w")]
    assert nest.to_flat() == states and list(nest.to_flat()) == list(states)


def test_to_flat_keeps_dict_values_whole():
    values = make_states().to_dict_values()
    flat = values.to_nest().to_flat()
    assert list(flat) == list(values)
    assert set(flat[("enc", 0)]) == {"h", "c"}


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({(): 1}, r"empty path \(\) cannot be nested"),
        ({("a",): 1, ("a", "b"): 2}, r"passes through \('a',\), which holds a value"),
        ({("a", "b"): 2, ("a",): 1}, r"Path \('a',\) is a prefix of another path"),
    ],
)
def test_to_nest_rejects_paths_that_do_not_nest(mapping, message):
    with pytest.raises(ValueError, match=message):
        FlattedDict(mapping).to_nest()


def test_to_dict_values_reads_through_value_and_records_reads():
    states = make_states()
    with bc.StateTrace(restore=False) as trace:
        values = states.to_dict_values()
    assert type(values) is FlattedDict and list(values) == list(states)
    assert values[("dec", "w")] is states[("dec", "w")].value
    assert trace.states == list(states.values())


# -- assign_values -----------------------------------------------------------------------------
def test_assign_values_round_trip_and_records_writes():
    states = make_states()
    new = jax.tree.map(lambda x: x + 1, states.to_dict_values())
    with bc.StateTrace(restore=False) as trace:
        states.assign_values(new)
    assert all(trace.written)
    np.testing.assert_array_equal(states[("dec", "w")].value, 2 * jnp.ones((3, 2)))
    assert int(states[("step",)].value) == 1


def test_assign_values_accepts_a_nested_dict():
    states = make_states()
    nest = jax.tree.map(lambda x: x - 1, states.to_dict_values().to_nest())
    states.assign_values(nest)
    np.testing.assert_array_equal(states[("dec", "b")].value, -jnp.ones(2))


def test_assign_values_lists_every_problem_and_assigns_nothing():
    states = make_states()
    before = states.to_dict_values()
    bad = {
        ("dec", "w"): jnp.ones((2, 2)),  # shape
        ("dec", "b"): jnp.zeros(2, dtype=jnp.int32),  # dtype
        ("enc", 0): {"h": jnp.zeros(3)},  # structure
        ("nope",): 1.0,  # unknown
    }
    with pytest.raises(bc.StateShapeError) as info:
        states.assign_values(bad)
    message = str(info.value)
    assert message.startswith("Cannot assign values to the states (nothing was assigned):")
    for pattern in [
        r"\('dec', 'w'\): ParamState\(f32\[3,2\]\) created at .*test_util\.py:\d+: shape \(2, 2\) given, \(3, 2\) expected",
        r"\('dec', 'b'\): .*dtype int32 given, float32 expected",
        r"\('enc', 0\): HiddenState\(.*pytree structure .* given, .* expected",
        r"\('nope',\): unknown path",
        r"\('step',\): missing, no value was given",
        r"use strict=False",
    ]:
        assert re.search(pattern, message), pattern
    after = states.to_dict_values()
    assert all(after[k] is before[k] for k in before)


def test_assign_values_rejects_states_as_values():
    states = FlattedDict({("w",): bc.ParamState(jnp.zeros(2))})
    with pytest.raises(bc.StateShapeError, match=r"got the State ParamState\(f32\[2\]\); pass its `\.value`"):
        states.assign_values({("w",): bc.ParamState(jnp.ones(2))})


def test_assign_values_strict_false_allows_a_subset():
    states = make_states()
    states.assign_values({("step",): jnp.array(7, dtype=jnp.int32)}, strict=False)
    assert int(states[("step",)].value) == 7
    with pytest.raises(bc.StateShapeError, match=r"unknown path") as info:
        states.assign_values({("x",): 1}, strict=False)
    assert "missing" not in str(info.value) and "strict=False" not in str(info.value)


def test_assign_values_python_scalars_skip_the_dtype_check():
    states = FlattedDict({("t",): bc.State(0.0)})
    states.assign_values({("t",): jnp.array(1.0)})
    states.assign_values({("t",): 2})
    assert states[("t",)].value == 2


def test_assign_values_needs_states():
    with pytest.raises(TypeError, match=r"the entry at \('w',\) is ArrayImpl"):
        FlattedDict({("w",): jnp.zeros(2)}).assign_values({("w",): jnp.ones(2)})


# -- selection and merging ---------------------------------------------------------------------
def test_split_and_filter():
    states = make_states()
    params, rest = states.split(bc.ParamState, ...)
    assert list(params) == [("dec", "b"), ("dec", "w")] and list(rest) == [("enc", 0), ("step",)]
    assert type(params) is FlattedDict
    only = states.split("counter")
    assert type(only) is FlattedDict and list(only) == [("step",)]
    assert list(states.filter(bc.HiddenState, "counter")) == [("enc", 0), ("step",)]
    assert states.filter() == states and states.filter() is not states


@pytest.mark.parametrize(
    "prefixes, expected",
    [
        (("dec",), [("dec", "b"), ("dec", "w")]),
        ((("dec", "w"),), [("dec", "w")]),
        ((("enc", 0), "step"), [("enc", 0), ("step",)]),
        ((("de",),), []),  # whole components, not string prefixes
        ((), []),
    ],
)
def test_subset(prefixes, expected):
    assert list(make_states().subset(*prefixes)) == expected


def test_or_merges_into_a_flatted_dict():
    a = FlattedDict({("x",): 1, ("y",): 2})
    merged = a | {("y",): 3, ("z",): 4}
    assert type(merged) is FlattedDict and merged == {("x",): 1, ("y",): 3, ("z",): 4}
    merged = {("w",): 0} | a
    assert type(merged) is FlattedDict and list(merged) == [("w",), ("x",), ("y",)]
    merged = a | NestedDict({"q": NestedDict({0: 5})})
    assert merged[("q", 0)] == 5
    assert a == {("x",): 1, ("y",): 2}
    assert a.__or__(3) is NotImplemented


def test_copy_and_repr():
    a = FlattedDict({("x", 0): 1})
    assert type(a.copy()) is FlattedDict and a.copy() == a
    assert repr(a) == "FlattedDict({('x', 0): 1})"
    assert repr(a.to_nest()) == "NestedDict({'x': NestedDict({0: 1})})"
    assert type(a.to_nest().copy()) is NestedDict
