"""Tests of the immutable pytree containers (brainstate_core.util.struct, public in brainstate.util)."""

import dataclasses
import pickle

import jax
import jax.numpy as jnp
import pytest

from brainstate_core import util
from brainstate_core.util import FrozenDict, PyTreeNode, dataclass, field, freeze, unfreeze

NESTED = [
    {},
    {"a": 1},
    {"b": 2, "a": {"x": 1, "y": {"z": 3}}},
    {0: "int key", "s": [1, 2], "e": {}},
]


@pytest.mark.parametrize("d", NESTED)
def test_freeze_unfreeze_round_trip(d):
    frozen = freeze(d)
    assert isinstance(frozen, FrozenDict)
    assert unfreeze(frozen) == d
    assert type(unfreeze(frozen)) is dict
    assert all(type(v) is dict for v in unfreeze(frozen).values() if isinstance(v, dict))
    assert freeze(frozen) is frozen
    assert frozen == d  # a FrozenDict equals the dict with the same entries


def test_nested_dicts_are_frozen_and_unfreeze_copies():
    d = {"opt": {"lr": 0.1}}
    frozen = FrozenDict(d)
    assert isinstance(frozen["opt"], FrozenDict)
    d["opt"]["lr"] = 1.0  # the FrozenDict holds its own copy
    assert frozen["opt"]["lr"] == 0.1
    thawed = unfreeze(frozen)
    thawed["opt"]["lr"] = 2.0
    assert frozen["opt"]["lr"] == 0.1


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.__setitem__("a", 2), r"immutable: use d\.copy"),
        (lambda d: d.__delitem__("a"), r"immutable: use d\.pop"),
    ],
)
def test_frozen_dict_refuses_mutation(mutate, message):
    d = FrozenDict(a=1)
    with pytest.raises(TypeError, match=message):
        mutate(d)
    assert d == {"a": 1}


def test_frozen_dict_hash_and_equality_ignore_order():
    a, b = FrozenDict({"x": 1, "y": {"z": 2}}), FrozenDict({"y": {"z": 2}, "x": 1})
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert FrozenDict(x=1) != FrozenDict(x=2)


def test_copy_and_pop_return_new_dicts():
    d = FrozenDict(a=1, b=2)
    assert d.copy({"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}
    rest, value = d.pop("a")
    assert (rest, value) == (FrozenDict(b=2), 1)
    assert d == {"a": 1, "b": 2}
    with pytest.raises(KeyError):
        d.pop("missing")
    assert util.copy({"a": 1}, {"a": 5}) == {"a": 5}
    assert util.pop({"a": 1, "b": 2}, "b") == ({"a": 1}, 2)


@pytest.mark.parametrize("fn", [util.copy, lambda x: util.pop(x, "a")])
def test_copy_and_pop_refuse_other_types(fn):
    with pytest.raises(TypeError, match=r"works on a FrozenDict or a dict, got list"):
        fn([1])


def test_frozen_dict_pytree_sorts_keys_so_insertion_order_does_not_matter():
    a, b = FrozenDict({"b": 1.0, "a": 2.0}), FrozenDict({"a": 2.0, "b": 1.0})
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert jax.tree.leaves(a) == [2.0, 1.0]
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(a)]
    assert paths == ["['a']", "['b']"]
    mixed = FrozenDict({1: "one", "a": "letter"})  # keys that do not compare
    assert sorted(jax.tree.leaves(mixed)) == ["letter", "one"]


def test_frozen_dict_through_jit_and_grad():
    params = freeze({"w": jnp.ones(3), "inner": {"b": jnp.zeros(3)}})
    out = jax.jit(lambda p: jax.tree.map(lambda v: v + 1, p))(params)
    assert isinstance(out, FrozenDict) and isinstance(out["inner"], FrozenDict)
    grads = jax.grad(lambda p: jnp.sum(p["w"] * 2 + p["inner"]["b"]))(params)
    assert jnp.allclose(grads["w"], 2.0) and jnp.allclose(grads["inner"]["b"], 1.0)


def test_frozen_dict_pickles():
    d = FrozenDict({"a": {"b": 1}})
    assert pickle.loads(pickle.dumps(d)) == d


def test_pretty_repr_of_nested_frozen_dict():
    text = util.pretty_repr(FrozenDict({"a": {"b": 1}, "c": {}}))
    assert text == "FrozenDict({\n  'a': {\n    'b': 1,\n  },\n  'c': {},\n})"
    assert util.pretty_repr(3) == "3"


@dataclass
class Point:
    x: jax.Array
    y: jax.Array
    name: str = field(pytree_node=False, default="p")


class Node(PyTreeNode):
    w: jax.Array
    scale: float = field(pytree_node=False, default=1.0)


@pytest.mark.parametrize("make", [lambda: Point(jnp.ones(2), jnp.zeros(2)), lambda: Node(jnp.ones(2))])
def test_dataclasses_are_frozen_pytrees_with_static_fields(make):
    obj = make()
    leaves, treedef = jax.tree.flatten(obj)
    assert len(leaves) == len([f for f in dataclasses.fields(obj) if f.metadata.get("pytree_node", True)])
    doubled = jax.tree.map(lambda v: v * 2, obj)
    assert type(doubled) is type(obj)
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.x = 1  # type: ignore[misc]
    assert util.is_dataclass(obj) and util.is_dataclass(type(obj))


def test_static_field_change_retraces_jit():
    traces = []

    @jax.jit
    def f(node):
        traces.append(node.scale)
        return node.w * node.scale

    assert jnp.allclose(f(Node(jnp.ones(2), scale=2.0)), 2.0)
    f(Node(jnp.zeros(2), scale=2.0))
    f(Node(jnp.ones(2), scale=3.0))
    assert traces == [2.0, 3.0]  # a new static value is a new structure, the same one is cached


def test_replace_and_grad_through_pytree_node():
    node = Node(jnp.array([1.0, 2.0]), scale=3.0)
    grads = jax.grad(lambda n: jnp.sum(n.w**2) * n.scale)(node)
    assert isinstance(grads, Node) and grads.scale == 3.0
    assert jnp.allclose(grads.w, jnp.array([6.0, 12.0]))
    moved = node.replace(w=jnp.zeros(2))
    assert jnp.allclose(moved.w, 0.0) and jnp.allclose(node.w, jnp.array([1.0, 2.0]))


def test_subclass_of_a_pytree_node_is_one_too_and_class_kwargs_reach_dataclass():
    class Child(Node):
        extra: jax.Array = None

    class Mutable(PyTreeNode, frozen=False):
        v: int

    child = Child(jnp.ones(1), extra=jnp.zeros(1))
    assert len(jax.tree.leaves(child)) == 2
    m = Mutable(1)
    m.v = 2
    assert m.v == 2


def test_dataclass_twice_and_plain_dataclass():
    assert dataclass(Point) is Point

    @dataclasses.dataclass
    class Plain:
        x: int

    assert not util.is_dataclass(Plain)


def test_field_conflicting_metadata():
    with pytest.raises(ValueError, match=r"field\(pytree_node=False\) conflicts with metadata"):
        field(pytree_node=False, metadata={"pytree_node": True})
