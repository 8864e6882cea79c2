"""Tests of the object graph (brainstate_core._graph and _node, public in brainstate_core.graph)."""

import collections
import functools
import importlib
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
from brainstate_core import graph
from brainstate_core._errors import FilterError
from brainstate_core._node import Node
from brainstate_core.util import FlattedDict, NestedDict


class Linear(Node):
    def __init__(self, n_in, n_out):  # deliberately no super().__init__()
        self.weight = bc.ParamState(jnp.ones((n_in, n_out)))
        self.bias = bc.ParamState(jnp.zeros(n_out))


class MLP(Node):
    def __init__(self, n_layers=3):
        self.layers = [Linear(2, 2) for _ in range(n_layers)]
        self.h = bc.HiddenState(jnp.zeros(2), tag="hidden")
        self.scale = 0.5


class Plain:  # not a Node: searched, but not listed by graph.nodes
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class Slotted:
    __slots__ = ("a", "__private", "unset")

    def __init__(self, a, p):
        self.a = a
        self.__private = p


class SlottedChild(Slotted):
    __slots__ = "b"

    def __init__(self, a, p, b):
        super().__init__(a, p)
        self.b = b


def keys(mapping):
    return list(mapping)


# -- states: paths and order -------------------------------------------------------------------
def test_states_paths_of_nested_containers():
    s = [bc.State(float(i)) for i in range(5)]
    tree = {"list": [s[0], (s[1], {"k": s[2]})], "obj": Plain(x=s[3], y=[None, s[4]])}
    assert keys(graph.states(tree)) == [
        ("list", 0),
        ("list", 1, 0),
        ("list", 1, 1, "k"),
        ("obj", "x"),
        ("obj", "y", 1),
    ]
    assert list(graph.states(tree).values()) == s


def test_states_sorted_by_path_whatever_the_insertion_order():
    obj = Plain(z=bc.State(0.0), a=bc.State(1.0), m={"y": bc.State(2.0), "b": bc.State(3.0)})
    obj.items = [bc.State(float(i)) for i in range(12)]
    paths = keys(graph.states(obj))
    assert paths[0] == ("a",)
    assert paths[1:13] == [("items", i) for i in range(12)]  # ints sort numerically: 2 before 10
    assert paths[13:] == [("m", "b"), ("m", "y"), ("z",)]


def test_states_on_a_model_with_filters():
    model = MLP()
    params, hidden = graph.states(model, bc.ParamState, ...)
    assert keys(params) == [("layers", i, n) for i in range(3) for n in ("bias", "weight")]
    assert keys(hidden) == [("h",)]
    assert params[("layers", 1, "weight")] is model.layers[1].weight
    assert type(params) is FlattedDict
    assert keys(graph.states(model, "hidden")) == [("h",)]
    assert keys(graph.states(model, lambda path, s: 2 in path)) == [("layers", 2, "bias"), ("layers", 2, "weight")]
    assert keys(graph.states(model, graph.Nothing())) == []


def test_each_state_goes_to_the_first_filter_it_matches():
    model = MLP()
    first, second, rest = graph.states(model, graph.PathContains(0), bc.ParamState, ...)
    assert keys(first) == [("layers", 0, "bias"), ("layers", 0, "weight")]
    assert len(second) == 4 and all(0 not in p for p in second)
    assert keys(rest) == [("h",)]
    only_two = graph.states(model, "hidden", graph.PathContains(1))
    assert [keys(g) for g in only_two] == [[("h",)], [("layers", 1, "bias"), ("layers", 1, "weight")]]


@pytest.mark.parametrize("filters", [(..., bc.ParamState), (3,), ("x", None)])
def test_states_bad_filters_raise(filters):
    with pytest.raises(FilterError):
        graph.states(MLP(), *filters)


def test_shared_state_appears_once_under_its_first_path():
    w = bc.ParamState(jnp.ones(2))
    tree = {"b": [w], "a": Plain(tied=w), "c": w}
    assert keys(graph.states(tree)) == [("a", "tied")]


def test_shared_container_is_searched_once():
    shared = [bc.State(0.0), bc.State(1.0)]
    tree = Plain(y=shared, x=(shared, shared))
    assert keys(graph.states(tree)) == [("x", 0, 0), ("x", 0, 1)]


def test_cycles_terminate():
    a, b = Plain(s=bc.State(1.0)), Plain(t=bc.State(2.0))
    a.other, b.other = b, a
    a.me = a
    lst = [bc.State(3.0)]
    lst.append(lst)
    a.lst = lst
    assert keys(graph.states(a)) == [("lst", 0), ("other", "t"), ("s",)]


def test_mixed_type_dict_keys_do_not_crash_and_are_deterministic():
    s = {k: bc.State(0.0) for k in ("a", 2, (1, "x"), 1.5, None, frozenset([1]))}
    for order in (list(s), list(reversed(list(s)))):
        found = graph.states({k: s[k] for k in order})
        assert set(found) == {(k,) for k in s}
        assert keys(found) == keys(graph.states(s))
    assert keys(graph.states({2: s[2], "a": s["a"], 1: bc.State(0.0)}))[:2] == [(1,), (2,)]


@pytest.mark.parametrize(
    "opaque",
    [
        types.SimpleNamespace(s=bc.State(0.0)),  # a standard-library object
        functools.partial(print, bc.State(0.0)),
        np.array([bc.State(0.0)], dtype=object),
        jnp,  # a module
        Plain,  # a class, even with a State class attribute
        lambda: None,
        "a string",
        jax.ShapeDtypeStruct((2,), jnp.float32),
    ],
)
def test_leaves_are_not_searched(opaque):
    Plain.class_state = bc.State(0.0)
    try:
        assert keys(graph.states({"x": opaque})) == []
        assert keys(graph.states(opaque)) == []
    finally:
        del Plain.class_state


def test_user_modules_named_like_the_standard_library_are_searched(monkeypatch, tmp_path):
    def make_class():  # a fresh class each time: kinds are cached per class
        return type("Config", (), {"__module__": "secrets"})

    importlib.import_module("secrets")
    stdlib_obj = make_class()()
    stdlib_obj.s = bc.State(0.0)
    assert keys(graph.states(stdlib_obj)) == []  # the real `secrets` module is the standard library's
    user_module = types.ModuleType("secrets")
    user_module.__file__ = str(tmp_path / "secrets.py")
    monkeypatch.setitem(sys.modules, "secrets", user_module)
    user_obj = make_class()()
    user_obj.s = bc.State(0.0)
    assert keys(graph.states(user_obj)) == [("s",)]


def test_subclasses_of_containers_and_namedtuples_are_searched():
    Pair = collections.namedtuple("Pair", "first second")
    s1, s2, s3 = bc.State(1.0), bc.State(2.0), bc.State(3.0)
    tree = collections.OrderedDict(p=Pair(s1, s2), d=collections.defaultdict(list, {"k": s3}))
    assert keys(graph.states(tree)) == [("d", "k"), ("p", 0), ("p", 1)]


def test_private_attributes_and_slots_are_searched():
    obj = SlottedChild(bc.State(1.0), bc.State(2.0), bc.State(3.0))
    obj_dict = Plain(_hidden=bc.State(4.0))
    assert keys(graph.states(obj)) == [("_Slotted__private",), ("a",), ("b",)]
    assert keys(graph.states(obj_dict)) == [("_hidden",)]


def test_graph_skip_hides_attributes():
    class Child(Node):
        _graph_skip = ("parent", "cache")

        def __init__(self, parent):
            self.parent = parent
            self.cache = {"w": bc.State(0.0)}
            self.own = bc.State(1.0)

    root = Plain(w=bc.State(2.0))
    root.child = Child(root)
    assert keys(graph.states(root.child)) == [("own",)]
    assert keys(graph.states(root)) == [("child", "own"), ("w",)]


def test_graph_skip_may_be_a_single_name_and_applies_to_plain_classes():
    class Holder:
        _graph_skip = "cache"

        def __init__(self):
            self.cache = bc.State(0.0)
            self.cached = bc.State(1.0)

    assert keys(graph.states(Holder())) == [("cached",)]


def test_flatted_dict_inside_a_tree_splices_its_paths():
    inner = graph.states(MLP(1))
    tree = {"model": inner, "extra": [bc.State(0.0)]}
    assert keys(graph.states(tree)) == [
        ("extra", 0),
        ("model", "h"),
        ("model", "layers", 0, "bias"),
        ("model", "layers", 0, "weight"),
    ]
    assert graph.states(inner) == inner


@pytest.mark.parametrize("root, expected", [(3.0, []), (None, []), ([], []), (jnp.ones(2), [])])
def test_roots_without_states(root, expected):
    assert keys(graph.states(root)) == expected


def test_a_state_as_root_is_under_the_empty_path():
    s = bc.State(0.0)
    assert graph.states(s) == {(): s}
    assert keys(graph.nodes(s)) == []


def test_states_does_not_read_values():
    model = MLP()
    with bc.StateTrace(restore=False) as trace:
        graph.states(model)
    assert trace.states == []


# -- nodes -------------------------------------------------------------------------------------
def test_nodes_lists_node_objects_with_the_root_first():
    model = MLP(2)
    found = graph.nodes(model)
    assert keys(found) == [(), ("layers", 0), ("layers", 1)]
    assert found[()] is model and found[("layers", 1)] is model.layers[1]
    assert keys(graph.nodes(model, Linear)) == [("layers", 0), ("layers", 1)]
    mlps, linears = graph.nodes(model, MLP, Linear)
    assert keys(mlps) == [()] and len(linears) == 2


def test_nodes_searches_through_plain_objects_but_lists_only_nodes():
    lin = Linear(1, 1)
    tree = {"p": Plain(inner=lin, again=lin), "q": [Plain()]}
    assert keys(graph.nodes(tree)) == [("p", "again")]


def test_node_methods_delegate():
    model = MLP(1)
    assert model.states() == graph.states(model)
    assert model.states(bc.ParamState) == graph.states(model, bc.ParamState)
    assert keys(model.nodes(Linear)) == [("layers", 0)]
    params, rest = model.states(bc.ParamState, ...)
    assert len(params) == 2 and len(rest) == 1


def test_node_has_no_instance_dict_of_its_own_and_no_init():
    assert Node.__slots__ == () and "__init__" not in Node.__dict__
    assert graph.states(Node()) == {}


# -- treefy_split / treefy_merge ---------------------------------------------------------------
def test_split_merge_round_trip_gives_an_independent_copy():
    model = MLP(2)
    model.const = np.arange(3.0)
    model.fn = jnp.tanh
    model.mod = jnp
    model.tied = model.layers[0]
    graphdef, values = graph.treefy_split(model)
    assert type(values) is FlattedDict and keys(values) == keys(graph.states(model))
    assert values[("h",)] is model.h.value
    copy = graph.treefy_merge(graphdef, values)
    assert type(copy) is MLP and copy is not model and copy.layers is not model.layers
    assert copy.tied is copy.layers[0]  # sharing is preserved inside the copy
    new_states, old_states = graph.states(copy), graph.states(model)
    assert keys(new_states) == keys(old_states)
    for path, new in new_states.items():
        old = old_states[path]
        assert new is not old and type(new) is type(old)
        assert new.value is old.value  # values are shared, not copied
        assert new.tag == old.tag and new.source_info == old.source_info and new.name == old.name
    assert copy.h.tag == "hidden"
    assert copy.mod is jnp and copy.fn is jnp.tanh and copy.scale == 0.5
    assert copy.const is not model.const and np.array_equal(copy.const, model.const)  # numpy arrays copied
    copy.h.value = jnp.ones(2)
    assert float(model.h.value.sum()) == 0.0


def test_split_with_filters_and_merge_with_several_value_dicts():
    model = MLP(2)
    graphdef, params, rest = graph.treefy_split(model, bc.ParamState, ...)
    assert len(params) == 4 and keys(rest) == [("h",)]
    new_params = jax.tree.map(lambda x: x + 1, params)
    copy = graph.treefy_merge(graphdef, rest, new_params.to_nest())
    np.testing.assert_array_equal(copy.layers[1].weight.value, 2 * jnp.ones((2, 2)))
    np.testing.assert_array_equal(model.layers[1].weight.value, jnp.ones((2, 2)))


def test_merge_reports_missing_and_unknown_paths():
    graphdef, params, rest = graph.treefy_split(MLP(1), bc.ParamState, ...)
    with pytest.raises(
        bc.StateShapeError,
        match=r"(?s)Cannot merge values into GraphDef\(MLP, 3 states\).*"
        r"\('bogus',\): unknown path.*\('h',\): missing, no value was given.*Fix:",
    ):
        graph.treefy_merge(graphdef, params, {("bogus",): 1.0})


def test_merge_twice_gives_two_independent_objects():
    graphdef, values = graph.treefy_split(MLP(1))
    a, b = graph.treefy_merge(graphdef, values), graph.treefy_merge(graphdef, values)
    assert a.layers[0].weight is not b.layers[0].weight
    assert graph.treefy_split(a)[0] == graphdef


def test_merged_states_are_new_states_of_the_current_trace():
    graphdef, values = graph.treefy_split({"w": bc.ParamState(jnp.zeros(2))})
    with bc.catch_new_states() as caught:
        copy = graph.treefy_merge(graphdef, values)
    assert caught.states == [copy["w"]]


def test_graphdef_equality_follows_structure():
    a, b = MLP(2), MLP(2)
    gd_a, gd_b = graph.treefy_split(a)[0], graph.treefy_split(b)[0]
    assert gd_a == gd_b and hash(gd_a) == hash(gd_b) and len({gd_a, gd_b}) == 1
    assert gd_a == graph.treefy_split(a, bc.ParamState, ...)[0]  # filters do not change the structure
    b.scale = 0.25  # a different hyper-parameter
    assert graph.treefy_split(b)[0] != gd_a
    assert graph.treefy_split(MLP(3))[0] != gd_a
    c = MLP(2)
    c.h.tag = "other"  # different state metadata
    assert graph.treefy_split(c)[0] != gd_a
    d = MLP(2)
    d.layers[1] = d.layers[0]  # different sharing
    assert graph.treefy_split(d)[0] != gd_a
    e, f = MLP(2), MLP(2)
    e.mask, f.mask = jnp.ones(2), jnp.ones(2)  # unhashable leaves compare by identity
    assert graph.treefy_split(e)[0] != graph.treefy_split(f)[0]
    assert graph.treefy_split(e)[0] == graph.treefy_split(e)[0]
    assert gd_a != "not a graphdef"


def test_graphdef_tells_which_object_is_shared():
    def tree(alias):
        x, y = [bc.State(0.0)], [bc.State(1.0)]
        return {"x": x, "y": y, "z": x if alias == "x" else y}

    assert graph.treefy_split(tree("x"))[0] == graph.treefy_split(tree("x"))[0]
    assert graph.treefy_split(tree("x"))[0] != graph.treefy_split(tree("y"))[0]


def test_graphdef_repr_and_paths():
    graphdef, _ = graph.treefy_split(MLP(1))
    assert repr(graphdef) == "GraphDef(MLP, 3 states)"
    assert graphdef.paths == (("h",), ("layers", 0, "bias"), ("layers", 0, "weight"))


def test_graphdef_keeps_no_state_values():
    model = {"w": bc.ParamState(jnp.ones(1000))}
    graphdef, _ = graph.treefy_split(model)
    assert all(t._value is None for t in graphdef._states)
    assert model["w"].value.shape == (1000,)


def test_graphdef_as_a_static_jit_argument():
    model = MLP(1)
    graphdef, values = graph.treefy_split(model)
    calls = []

    @functools.partial(jax.jit, static_argnums=0)
    def forward(gd, vals, x):
        calls.append(1)
        with bc.StateTrace():  # what brainstate transformations do: states may hold tracers inside
            m = graph.treefy_merge(gd, vals)
            for layer in m.layers:
                x = x @ layer.weight.value + layer.bias.value
        return x

    x = jnp.ones(2)
    np.testing.assert_allclose(forward(graphdef, values, x), [2.0, 2.0])
    forward(graph.treefy_split(model)[0], values, x)
    assert len(calls) == 1  # an equal graphdef hits the cache


# -- update_states and clone -------------------------------------------------------------------
def test_update_states_restores_a_snapshot_in_place():
    model = MLP(2)
    _, snapshot = graph.treefy_split(model)
    for s in graph.states(model).values():
        s.value = s.value + 1
    with bc.StateTrace(restore=False) as trace:
        graph.update_states(model, snapshot)
    assert all(trace.written) and len(trace.states) == 5
    assert all(s.value is snapshot[p] for p, s in graph.states(model).items())


def test_update_states_accepts_subsets_and_several_dicts():
    model = MLP(1)
    graph.update_states(
        model, {("h",): jnp.ones(2)}, NestedDict({"layers": NestedDict({0: NestedDict({"bias": jnp.full(2, 3.0)})})})
    )
    assert float(model.h.value.sum()) == 2.0 and float(model.layers[0].bias.value[0]) == 3.0


def test_update_states_is_atomic():
    model = MLP(1)
    before = graph.states(model).to_dict_values()
    bad = {("h",): jnp.ones(2), ("layers", 0, "weight"): jnp.ones(3), ("nope",): 1.0}
    with pytest.raises(
        bc.StateShapeError,
        match=r"(?s)\('layers', 0, 'weight'\): ParamState.*shape \(3,\) given.*"
        r"\('nope',\): unknown path",
    ):
        graph.update_states(model, bad)
    assert all(s.value is before[p] for p, s in graph.states(model).items())


def test_clone_is_independent_and_keeps_structure():
    model = MLP(2)
    model.tied = model.layers[1].weight
    model.loop = model
    twin = graph.clone(model)
    assert type(twin) is MLP and twin.loop is twin and twin.tied is twin.layers[1].weight
    assert keys(graph.states(twin)) == keys(graph.states(model))
    twin.layers[0].weight.value = jnp.zeros((2, 2))
    twin.tied.value = jnp.full((2, 2), 5.0)
    np.testing.assert_array_equal(model.layers[0].weight.value, jnp.ones((2, 2)))
    np.testing.assert_array_equal(model.layers[1].weight.value, jnp.ones((2, 2)))
    assert twin.h.value is model.h.value
    assert twin.h.source_info == model.h.source_info


def test_clone_of_slotted_objects_and_plain_containers():
    obj = SlottedChild(bc.State(1.0), [bc.State(2.0)], {"k": bc.State(3.0)})
    twin = graph.clone(obj)
    assert keys(graph.states(twin)) == keys(graph.states(obj))
    assert twin.a is not obj.a and twin.a.value == 1.0
    assert not hasattr(twin, "unset")
