"""Upstream's graph API: flatten/unflatten, state mappings, pop_states, iteration, split/merge
contexts, graph <-> pytree, and the functional API inside raw JAX transformations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import brainstate_core as bc
from brainstate_core import graph
from brainstate_core.util import FlattedDict, NestedDict


class Layer(graph.Node):
    def __init__(self, w: bc.State) -> None:
        self.w = w
        self.b = bc.State(jnp.zeros(2))


class Net(graph.Node):
    def __init__(self) -> None:
        shared = bc.ParamState(jnp.ones(2))
        self.first = Layer(shared)
        self.second = Layer(shared)
        self.h = bc.HiddenState(jnp.zeros(2))


def _dict_model() -> dict:
    w = bc.ParamState(jnp.arange(2.0))
    return {"a": w, "b": {"w": w, "h": bc.HiddenState(jnp.zeros(()))}}


# -- flatten / unflatten / graphdef -----------------------------------------------------------------
@pytest.mark.parametrize("make", [_dict_model, Net], ids=["dict", "node"])
@pytest.mark.parametrize("treefy_state", [True, False])
def test_flatten_unflatten_round_trip_keeps_sharing(make, treefy_state):
    model = make()
    graphdef, mapping = graph.flatten(model, treefy_state=treefy_state)
    assert isinstance(mapping, NestedDict)
    original = graph.states(model)
    flat = mapping.to_flat()
    assert list(flat) == list(original)  # each State once, under its first path
    rebuilt = graph.unflatten(graphdef, mapping)
    again = graph.states(rebuilt)
    assert list(again) == list(original)
    for path, state in again.items():
        assert type(state) is type(original[path])
        assert (state is original[path]) == (not treefy_state)  # States in the mapping are reused
        assert jnp.array_equal(state.value, original[path].value)
    if make is Net:
        assert rebuilt.first.w is rebuilt.second.w
    else:
        assert rebuilt["a"] is rebuilt["b"]["w"]


def test_flatten_gives_treefy_states_that_jax_maps():
    graphdef, mapping = graph.flatten(_dict_model())
    doubled = jax.jit(lambda m: jax.tree.map(lambda x: x * 2, m))(mapping)
    rebuilt = graph.unflatten(graphdef, doubled)
    assert jnp.array_equal(rebuilt["a"].value, jnp.array([0.0, 2.0]))
    assert isinstance(rebuilt["b"]["h"], bc.HiddenState)


def test_flatten_refuses_a_bare_state():
    with pytest.raises(bc.StateArgumentError, match=r"got the State State\(1.0\) itself \(created at .*\).*Fix: pass a container"):
        graph.flatten(bc.State(1.0))


def test_unflatten_names_missing_and_unknown_paths():
    graphdef, mapping = graph.flatten(_dict_model())
    flat = mapping.to_flat()
    del flat[("a",)]
    flat[("zzz",)] = 1.0
    with pytest.raises(bc.StateShapeError, match=r"\('zzz',\): unknown path.*\n.*\('a',\): missing"):
        graph.unflatten(graphdef, flat)
    with pytest.raises(bc.StateArgumentError, match="Expected a GraphDef.*got dict"):
        graph.unflatten({}, flat)


def test_graphdef_is_the_structure_only():
    assert graph.graphdef(_dict_model()) == graph.graphdef(_dict_model())
    assert graph.graphdef(_dict_model()) != graph.graphdef({"a": bc.ParamState(1.0)})
    assert graph.graphdef(Net()).type is Net


# -- treefy_states / pop_states ----------------------------------------------------------------------
def test_treefy_states_filters():
    model = _dict_model()
    everything = graph.treefy_states(model)
    assert isinstance(everything["a"], bc.TreefyState) and everything["a"].type is bc.ParamState
    params, hidden = graph.treefy_states(model, bc.ParamState, bc.HiddenState)
    assert list(params.to_flat()) == [("a",)] and list(hidden.to_flat()) == [("b", "h")]


def test_pop_states_removes_every_reference_and_returns_each_state_once():
    net = Net()
    shared, h = net.first.w, net.h
    params, hidden = graph.pop_states(net, bc.ParamState, bc.HiddenState)
    assert params.to_flat() == {("first", "w"): shared}
    assert hidden.to_flat() == {("h",): h}
    assert not hasattr(net.first, "w") and not hasattr(net.second, "w") and not hasattr(net, "h")
    assert list(graph.states(net)) == [("first", "b"), ("second", "b")]


def test_pop_states_from_dicts():
    model = _dict_model()
    popped = graph.pop_states(model, bc.ParamState)
    assert list(popped.to_flat()) == [("a",)]
    assert list(model) == ["b"] and list(model["b"]) == ["h"]


def test_pop_states_refuses_sequences_and_changes_nothing():
    w = bc.ParamState(1.0)
    model = {"w": w, "ws": [w]}
    with pytest.raises(bc.StateUsageError, match=r"cannot remove ParamState\(1.0\) \(created at .*\) from the list at \('ws',\).*nothing was removed"):
        graph.pop_states(model, bc.ParamState)
    assert model["w"] is w and model["ws"] == [w]


def test_pop_states_needs_a_filter():
    with pytest.raises(bc.ConfigError, match="needs at least one filter"):
        graph.pop_states(_dict_model())


# -- iter_leaf / iter_node --------------------------------------------------------------------------
def test_iter_leaf_yields_each_state_once_and_other_leaves():
    net = Net()
    leaves = dict(graph.iter_leaf(net))
    assert list(leaves) == [("first", "b"), ("first", "w"), ("h",), ("second", "b")]
    assert leaves[("first", "w")] is net.first.w
    assert list(graph.iter_leaf({"x": [1, "s"]})) == [(("x", 0), 1), (("x", 1), "s")]
    assert list(graph.iter_leaf(3)) == [((), 3)]


@pytest.mark.parametrize(
    "hierarchy, leaf_paths, node_paths",
    [
        ((0, 0), [("h",)], [()]),
        ((1, 1), [("first", "b"), ("first", "w"), ("second", "b")], [("first",), ("second",)]),
        ((0, 5), [("first", "b"), ("first", "w"), ("h",), ("second", "b")], [("first",), ("second",), ()]),
    ],
)
def test_allowed_hierarchy_bounds_the_depth(hierarchy, leaf_paths, node_paths):
    net = Net()
    assert [p for p, _ in graph.iter_leaf(net, hierarchy)] == leaf_paths
    assert [p for p, _ in graph.iter_node(net, hierarchy)] == node_paths


@pytest.mark.parametrize("bad", [(2, 1), (-1, 3), (0.0, 1)])
def test_bad_hierarchy_is_refused(bad):
    with pytest.raises(bc.ConfigError, match=r"allowed_hierarchy must be \(low, high\)"):
        list(graph.iter_leaf(Net(), bad))


def test_iter_node_visits_shared_nodes_once_children_first():
    net = Net()
    net.second = net.first
    assert [p for p, _ in graph.iter_node(net)] == [("first",), ()]


# -- split_context / merge_context -------------------------------------------------------------------
def test_contexts_carry_sharing_between_objects():
    w = bc.ParamState(jnp.ones(2))
    sub = Layer(w)
    a, b = {"w": w, "sub": sub}, {"sub": sub, "own": bc.State(0.0)}
    with graph.split_context() as (ctx, ref_index):
        def_a, val_a = ctx.treefy_split(a)
        def_b, val_b = ctx.treefy_split(b)
    assert w in ref_index and len(ref_index) == 3  # w, sub.b and b's own state, each once
    assert list(val_b) == [("own",)]  # b's states that a did not own
    with graph.merge_context() as (ctx, index_ref):
        a2 = ctx.treefy_merge(def_a, val_a)
        b2 = ctx.treefy_merge(def_b, val_b)
    assert a2["sub"] is b2["sub"] and a2["w"] is b2["sub"].w and a2["w"] is not w
    assert index_ref[ref_index[w]] is a2["w"]


def test_a_referring_graphdef_needs_its_owner_in_a_merge_context():
    w = bc.ParamState(1.0)
    with graph.split_context() as (ctx, _):
        ctx.treefy_split({"w": w})
        def_b, val_b = ctx.treefy_split({"again": w})
    with pytest.raises(bc.StateUsageError, match=r"refers to States \(indices \[0\]\).*Fix: merge it inside a merge_context"):
        graph.treefy_merge(def_b, val_b)


def test_merging_a_graphdef_twice_in_one_context_is_refused():
    graphdef, values = graph.treefy_split({"w": bc.State(1.0)})
    with graph.merge_context() as (ctx, _):
        ctx.treefy_merge(graphdef, values)
        with pytest.raises(bc.StateUsageError, match="already merged in this merge_context"):
            ctx.treefy_merge(graphdef, values)


def test_contexts_cannot_be_used_after_the_block():
    with graph.split_context() as (split, _):
        pass
    with graph.merge_context() as (merge, _):
        pass
    with pytest.raises(bc.StateUsageError, match="split_context has ended"):
        split.treefy_split({})
    with pytest.raises(bc.StateUsageError, match="merge_context has ended"):
        merge.treefy_merge(graph.graphdef({}))


# -- graph_to_tree / tree_to_graph --------------------------------------------------------------------
def _shared_pair():
    w = bc.ParamState(jnp.ones(3))
    return w, [Layer(w), {"w": w, "n": 2}]


@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_graph_to_tree_through_raw_jax_keeps_sharing(transform):
    w, tree = _shared_pair()
    pure, found = graph.graph_to_tree(tree)
    assert [type(x).__name__ for x in pure] == ["NodeStates", "dict"]
    assert found[(0, "w")] is w and len(found) == 2  # w once, and the layer's b

    def f(pure):
        layer, d = graph.tree_to_graph(pure)
        assert layer.w is d["w"]
        layer.w.value = layer.w.value * 2  # a State merged inside the trace may hold its tracers
        return d["w"].value

    if transform == "jit":
        out = jax.jit(f)(pure)
    else:
        out = jax.vmap(f, in_axes=None, axis_size=2)(pure)[0]
    assert jnp.array_equal(out, 2 * jnp.ones(3))
    assert jnp.array_equal(w.value, jnp.ones(3))  # the original is untouched
    layer, d = graph.tree_to_graph(pure)
    assert layer.w is d["w"] and d["n"] == 2


def test_tree_to_graph_names_a_wrong_leaf():
    with pytest.raises(bc.StateUsageError, match=r"expected a NodeStates at \[0\], got int.*Fix"):
        graph.tree_to_graph([1], is_node_leaf=lambda x: True)


def test_node_states_accessors():
    ns = graph.NodeStates.from_states(FlattedDict({("a",): 1}), FlattedDict())
    with pytest.raises(bc.StateUsageError, match="no GraphDef.*from_split"):
        _ = ns.graphdef
    with pytest.raises(bc.StateUsageError, match="exactly one state mapping, but this one has 2"):
        _ = ns.state
    assert jax.tree.leaves(ns) == [1]


# -- the functional API inside raw JAX transformations -------------------------------------------------
def _loss_of(graphdef):
    def loss(params):
        model = graph.treefy_merge(graphdef, params)
        model["w"].value = model["w"].value * 3  # written inside the trace that made it
        return jnp.sum(model["w"].value ** 2)

    return loss


@pytest.mark.parametrize("wrap", [lambda f: f, jax.jit], ids=["grad", "jit(grad)"])
def test_merge_under_raw_grad_gives_the_gradient(wrap):
    model = {"w": bc.ParamState(jnp.array([1.0, 2.0]))}
    graphdef, params = graph.treefy_split(model)
    grads = wrap(jax.grad(_loss_of(graphdef)))(params)
    assert jnp.allclose(grads[("w",)], 18 * jnp.array([1.0, 2.0]))  # d/dw (3w)^2
    assert jnp.array_equal(model["w"].value, jnp.array([1.0, 2.0]))


def test_split_and_merge_under_raw_vmap():
    graphdef, params = graph.treefy_split({"w": bc.ParamState(jnp.ones(2))})
    stacked = jax.tree.map(lambda x: jnp.stack([x, 2 * x]), params)

    def f(p):
        model = graph.treefy_merge(graphdef, p)
        _, inner = graph.treefy_split(model)
        return inner[("w",)].sum()

    assert jnp.array_equal(jax.vmap(f)(stacked), jnp.array([2.0, 4.0]))


def test_a_tracer_still_cannot_reach_a_state_made_outside_the_trace():
    model = {"w": bc.ParamState(jnp.ones(2))}
    graphdef, params = graph.treefy_split(model)

    def leaky(p):
        graph.update_states(model, p)  # model lives outside the grad trace
        return jnp.sum(p[("w",)])

    with pytest.raises(bc.TraceContextError, match=r"tracer was written into ParamState \(created at .*test_graph_api.py:\d+\) outside any brainstate transformation.*Fix"):
        jax.grad(leaky)(params)
    assert jnp.array_equal(model["w"].value, jnp.ones(2))


def test_a_state_made_in_a_raw_trace_refuses_tracers_of_an_inner_trace():
    def f(x):
        s = bc.State(x)

        def inner(y):
            s.value = y
            return y

        return jax.vmap(inner)(jnp.ones(2))

    with pytest.raises(bc.TraceContextError, match="that the state was not created in"):
        jax.jit(f)(0.0)


@pytest.mark.skipif(bool(jax.config.values.get("jax_check_tracer_leaks")),
                    reason="the test leaks a tracer on purpose, which JAX's leak checker itself reports")
def test_a_leaked_tracer_cannot_make_a_state_at_top_level():
    leaked: list = []
    jax.jit(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(bc.TraceContextError, match="outside any brainstate transformation"):
        bc.State(leaked[0])


# -- RefMap, Static, the dict methods ------------------------------------------------------------------
def test_ref_map_is_keyed_by_identity():
    a, b = [1], [1]
    m = graph.RefMap()
    m[a] = 1
    m[b] = 2
    assert len(m) == 2 and m[a] == 1 and list(m) == [a, b]
    del m[a]
    assert a not in m and b in m


def test_static_is_structure_not_a_leaf():
    assert jax.tree.leaves(graph.Static(jnp.ones(2).shape)) == []
    assert jax.tree.structure(graph.Static(1)) != jax.tree.structure(graph.Static(2))


def test_flatted_and_nested_dict_methods():
    flat = FlattedDict({("a", "x"): 1, ("b",): 2})
    nested = flat.to_nest()
    assert flat.to_flat() == flat and flat.to_flat() is not flat
    assert NestedDict.from_flat(flat) == nested and FlattedDict.from_nest(nested) == flat
    assert FlattedDict.from_nest({"a": {"x": 1}, "b": 2}) == flat
    assert flat - FlattedDict({("b",): 0}) == {("a", "x"): 1}
    assert (nested - NestedDict({"b": 0})).to_flat() == {("a", "x"): 1}
    assert (nested | FlattedDict({("c",): 3})).to_flat() == {**flat, ("c",): 3}
    assert NestedDict.merge(nested, FlattedDict({("b",): 5}))["b"] == 5
    assert nested.to_pure_dict() == {"a": {"x": 1}, "b": 2} and type(nested.to_dict()["a"]) is dict
    states = NestedDict({"w": bc.ParamState(1.0), "h": bc.State(0.0)})
    assert list(states.filter(bc.ParamState)) == ["w"]


# -- register_graph_node_type -------------------------------------------------------------------------
class Bag:
    """Keeps its children in a private dict that the graph cannot see without registration."""

    __slots__ = ("_items", "label")

    def __init__(self, label: str = "bag") -> None:
        self._items: dict = {}
        self.label = label


graph.register_graph_node_type(
    Bag,
    flatten=lambda b: (sorted(b._items.items()), b.label),
    set_key=lambda b, k, v: b._items.__setitem__(k, v),
    pop_key=lambda b, k: b._items.pop(k),
    create_empty=lambda label: Bag(label),
    clear=lambda b: b._items.clear(),
)


def _bag_model():
    w = bc.ParamState(jnp.ones(2))
    inner = Bag("inner")
    inner._items.update(w=w, h=bc.HiddenState(jnp.zeros(())))
    outer = Bag("outer")
    outer._items.update(inner=inner, again=w, n=3)
    return outer, inner, w


def test_a_registered_type_is_searched_copied_and_edited_with_its_functions():
    outer, inner, w = _bag_model()
    assert list(graph.states(outer)) == [("again",), ("inner", "h")]  # w once, under its first path
    assert list(graph.nodes(outer)) == [(), ("inner",)]
    assert [p for p, _ in graph.iter_node(outer)] == [("inner",), ()]
    copy = graph.clone(outer)
    assert type(copy) is Bag and copy.label == "outer" and copy._items["inner"].label == "inner"
    assert copy._items["again"] is copy._items["inner"]._items["w"] and copy._items["again"] is not w
    graphdef, values = graph.treefy_split(outer)
    assert graphdef != graph.graphdef(Bag("other"))
    merged = graph.treefy_merge(graphdef, values)
    assert merged._items["again"] is merged._items["inner"]._items["w"] and merged._items["n"] == 3
    popped = graph.pop_states(outer, bc.ParamState)
    assert popped.to_flat() == {("again",): w}
    assert set(inner._items) == {"h"} and set(outer._items) == {"inner", "n"}


def test_registered_nodes_pass_through_graph_to_tree():
    outer, _, w = _bag_model()
    pure, found = graph.graph_to_tree([outer])
    assert found[(0, "again")] is w
    back = jax.jit(lambda t: graph.tree_to_graph(t)[0]._items["again"].value)(pure)
    assert jnp.array_equal(back, w.value)


def test_register_graph_node_type_checks_its_arguments():
    with pytest.raises(bc.ConfigError, match=r"needs a class and five functions; not callable: \['pop_key'\]"):
        graph.register_graph_node_type(Bag, len, len, None, len, len)


# -- the GraphDef parts ---------------------------------------------------------------------------------
def test_node_specs_show_sharing_and_cycles_by_index():
    net = Net()
    net.first.parent = net  # a cycle
    gd = graph.graphdef([net, net.first])
    assert gd.root == graph.PytreeEdge(list, ((0, graph.NodeEdge(0)), (1, graph.NodeEdge(1))))
    specs = gd.node_specs
    assert [(s.type, s.index, s.metadata) for s in specs] == [(Net, 0, (Net,)), (Layer, 1, (Layer,)), (Layer, 2, (Layer,))]
    first = dict(specs[1].fields)
    assert first["parent"] == graph.NodeEdge(0)
    assert first["w"] == graph.StateEdge(first["w"].index, (0, "first", "w"), bc.ParamState)
    second = dict(specs[2].fields)
    assert second["w"] == graph.StateEdge(first["w"].index, None, bc.ParamState)  # the shared State again
    paths = [e.path for s in specs for _, e in s.fields if isinstance(e, graph.StateEdge) and e.path is not None]
    assert sorted(paths) == sorted(gd.paths)


def test_node_specs_of_registered_types_leaves_and_context_references():
    outer, _, w = _bag_model()
    specs = graph.graphdef(outer).node_specs
    assert [(s.type, s.metadata) for s in specs] == [(Bag, "outer"), (Bag, "inner")]
    assert dict(specs[0].fields)["n"] == graph.StaticEdge(3)
    ref = bc.ParamState(0.0).to_state_ref()
    assert graph.graphdef({"r": ref}).root == graph.PytreeEdge(dict, (("r", graph.StateLeafEdge(("r",))),))
    with graph.split_context() as (ctx, ref_index):
        ctx.treefy_split({"w": w})
        later, _ = ctx.treefy_split({"again": w})
    assert later.root == graph.PytreeEdge(dict, (("again", graph.StateEdge(ref_index[w], None, bc.ParamState)),))
