"""brainstate.util.filter: the graph's filters under upstream's module name, selecting states of a graph."""

import importlib

import jax.numpy as jnp
import pytest

import brainstate_core as bc
from brainstate_core import graph
from brainstate_core.util import filter as ufilter

NAMES = ["to_predicate", "WithTag", "PathContains", "OfType", "Any", "All", "Nothing", "Not", "Everything"]


@pytest.mark.parametrize("name", NAMES)
def test_util_filter_names_are_the_graph_filters(name):
    assert getattr(ufilter, name) is getattr(graph, name)
    assert getattr(importlib.import_module("brainstate_core.util"), name) is getattr(graph, name)


def test_meta_package_submodule_imports():
    import brainstate.util.filter
    from brainstate.util.filter import WithTag

    assert brainstate.util.filter is ufilter and WithTag is graph.WithTag


class Model:
    def __init__(self):
        self.enc = {"w": bc.ParamState(jnp.ones(2), tag="enc"), "b": bc.ParamState(jnp.zeros(2))}
        self.dec = [bc.ParamState(jnp.ones(3), tag="frozen")]
        self.h = bc.HiddenState(jnp.zeros(2), tag="enc")
        self.step = bc.State(0)


@pytest.mark.parametrize(
    "filter_, paths",
    [
        (ufilter.WithTag("enc"), [("enc", "w"), ("h",)]),
        (ufilter.PathContains("enc"), [("enc", "b"), ("enc", "w")]),
        (ufilter.PathContains(0), [("dec", 0)]),
        (ufilter.OfType(bc.ParamState), [("dec", 0), ("enc", "b"), ("enc", "w")]),
        (ufilter.All(bc.ParamState, ufilter.Not(ufilter.WithTag("frozen"))), [("enc", "b"), ("enc", "w")]),
        (ufilter.Any(ufilter.WithTag("frozen"), bc.HiddenState), [("dec", 0), ("h",)]),
        (ufilter.Not(bc.ParamState), [("h",), ("step",)]),
        (ufilter.Everything(), [("dec", 0), ("enc", "b"), ("enc", "w"), ("h",), ("step",)]),
        (ufilter.Nothing(), []),
        (ufilter.to_predicate((bc.HiddenState, "frozen")), [("dec", 0), ("h",)]),
    ],
)
def test_filters_select_the_right_states_of_a_graph(filter_, paths):
    assert sorted(graph.states(Model(), filter_), key=repr) == sorted(paths, key=repr)
