"""Tests of the state filters (brainstate_core._filter, public in brainstate_core.graph)."""

import jax.numpy as jnp
import pytest

import brainstate_core as bc
from brainstate_core import graph
from brainstate_core._errors import FilterError

P = bc.ParamState(jnp.ones(2), tag="fast")
H = bc.HiddenState(jnp.zeros(2))
S = bc.State(0.0, tag="slow")


def is_hidden(path, value):
    return isinstance(value, bc.HiddenState)


@pytest.mark.parametrize(
    "filter_, expected",
    [
        (bc.ParamState, graph.OfType(bc.ParamState)),
        ("fast", graph.WithTag("fast")),
        (..., graph.Everything()),
        ((bc.ParamState, "slow"), graph.Any(bc.ParamState, "slow")),
        ([bc.ParamState, "slow"], graph.Any(graph.OfType(bc.ParamState), graph.WithTag("slow"))),
        (graph.Nothing(), graph.Nothing()),
    ],
)
def test_to_predicate_normalises(filter_, expected):
    assert graph.to_predicate(filter_) == expected


def test_to_predicate_keeps_plain_callables():
    assert graph.to_predicate(is_hidden) is is_hidden


@pytest.mark.parametrize("bad", [3, None, 2.5, b"tag", object()])
def test_bad_filter_raises_filter_error(bad):
    with pytest.raises(FilterError, match=r"Cannot use .* as a filter\. A filter is a class"):
        graph.to_predicate(bad)


def test_filter_error_is_a_type_error_and_a_brainstate_error():
    assert issubclass(FilterError, TypeError) and issubclass(FilterError, bc.BrainStateError)
    with pytest.raises(TypeError, match="as a filter"):
        graph.Any(bc.ParamState, 42)


def test_of_type_needs_a_class():
    with pytest.raises(FilterError, match=r"OfType needs a class, got 'ParamState'"):
        graph.OfType("ParamState")


@pytest.mark.parametrize(
    "filter_, path, value, expected",
    [
        (graph.OfType(bc.LongTermState), (), P, True),
        (graph.OfType(bc.LongTermState), (), H, False),
        (graph.OfType(bc.State), (), H, True),
        (graph.WithTag("fast"), (), P, True),
        (graph.WithTag("fast"), (), S, False),
        (graph.WithTag("fast"), (), 1.0, False),  # objects without a tag never match
        (graph.PathContains("bias"), ("layers", 0, "bias"), None, True),
        (graph.PathContains(0), ("layers", 0, "bias"), None, True),
        (graph.PathContains(1), ("layers", 0, "bias"), None, False),
        (graph.Any(bc.ParamState, "slow"), (), S, True),
        (graph.Any(bc.ParamState, "slow"), (), H, False),
        (graph.Any(), (), P, False),
        (graph.All(bc.ParamState, "fast"), (), P, True),
        (graph.All(bc.ParamState, "slow"), (), P, False),
        (graph.All(), (), P, True),
        (graph.Not(bc.ParamState), (), H, True),
        (graph.Not(graph.Not(bc.ParamState)), (), P, True),
        (graph.Everything(), (), None, True),
        (graph.Nothing(), (), P, False),
        (graph.All(graph.PathContains("enc"), graph.Not("fast")), ("enc", "w"), S, True),
        (graph.All(graph.PathContains("enc"), graph.Not("fast")), ("enc", "w"), P, False),
    ],
)
def test_filter_objects_select(filter_, path, value, expected):
    assert filter_(path, value) is expected


def test_filters_compare_and_hash_by_what_they_select():
    assert graph.OfType(bc.ParamState) == graph.OfType(bc.ParamState)
    assert graph.OfType(bc.ParamState) != graph.OfType(bc.State)
    assert graph.WithTag("a") != graph.PathContains("a")
    assert len({graph.Any(bc.ParamState, "x"), graph.Any((bc.ParamState, "x")).filters[0], graph.Nothing()}) == 2
    assert graph.Not(bc.ParamState) == graph.Not(graph.OfType(bc.ParamState))


@pytest.mark.parametrize(
    "filter_, text",
    [
        (graph.OfType(bc.ParamState), "OfType(ParamState)"),
        (graph.WithTag("fast"), "WithTag('fast')"),
        (graph.PathContains(0), "PathContains(0)"),
        (graph.Not(graph.Any(bc.ParamState, "x")), "Not(Any(OfType(ParamState), WithTag('x')))"),
        (graph.All(is_hidden), "All(is_hidden)"),
        (graph.Everything(), "Everything()"),
    ],
)
def test_filter_repr(filter_, text):
    assert repr(filter_) == text


PAIRS = [(("a",), P), (("b",), H), (("c",), S), (("d",), bc.ParamState(1.0))]


def paths(groups):
    return [[p for p, _ in g] for g in groups]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ((), [[("a",), ("b",), ("c",), ("d",)]]),
        ((bc.ParamState,), [[("a",), ("d",)]]),
        ((...,), [[("a",), ("b",), ("c",), ("d",)]]),
        (("slow",), [[("c",)]]),
        ((is_hidden,), [[("b",)]]),
        ((bc.ParamState, ...), [[("a",), ("d",)], [("b",), ("c",)]]),
        # First match wins: P is tagged "fast" but goes to the ParamState group listed first.
        ((bc.ParamState, "fast", ...), [[("a",), ("d",)], [], [("b",), ("c",)]]),
        (("fast", bc.ParamState), [[("a",)], [("d",)]]),  # unmatched pairs are dropped
        ((graph.Nothing(), graph.Everything()), [[], [("a",), ("b",), ("c",), ("d",)]]),
    ],
)
def test_partition_first_match_wins(filters, expected):
    assert paths(graph.partition(PAIRS, filters)) == expected


@pytest.mark.parametrize("filters", [(..., bc.ParamState), (graph.Everything(), "x", ...)])
def test_partition_rejects_ellipsis_before_the_end(filters):
    with pytest.raises(FilterError, match=r"is filter 1 of \d.*Fix: put `\.\.\.` last"):
        graph.partition(PAIRS, filters)


def test_partition_accepts_any_iterable_once():
    groups = graph.partition(iter(PAIRS), (bc.ParamState, ...))
    assert paths(groups) == [[("a",), ("d",)], [("b",), ("c",)]]
