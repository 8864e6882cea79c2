"""Tests of brainstate_core.typing: the aliases mean what they say, PyTree subscripts validate."""

import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
from brainstate_core import graph
from brainstate_core import typing as bt


@pytest.mark.parametrize(
    "value, alias, expected",
    [
        (jnp.ones(2), bt.ArrayLike, True),
        (np.ones(2), bt.ArrayLike, True),
        (np.float32(1), bt.ArrayLike, True),
        (3, bt.ArrayLike, True),
        (1 + 2j, bt.ArrayLike, True),
        ([1, 2], bt.ArrayLike, False),
        ("1", bt.ArrayLike, False),
        (3, bt.Size, True),
        (np.int64(3), bt.Size, True),
        (4, bt.Axes, True),
        (7, bt.SeedOrKey, True),
        (jax.random.key(0), bt.SeedOrKey, True),
        ("float32", bt.DTypeLike, True),
        (np.float32, bt.DTypeLike, True),
        (np.dtype("int8"), bt.DTypeLike, True),
        (jnp.ones(1), bt.DTypeLike, True),
        (3.0, bt.DTypeLike, False),
    ],
)
def test_unions_accept_what_they_describe(value, alias, expected):
    runtime = tuple(typing.get_origin(a) or a for a in typing.get_args(alias))
    assert isinstance(value, runtime) is expected


@pytest.mark.parametrize(
    "filter_",
    [bc.ParamState, "tag", ..., graph.WithTag("x"), lambda path, value: True, (bc.ParamState, "tag"), [bc.State]],
)
def test_every_kind_of_filter_literal_is_a_filter_graph_accepts(filter_):
    literal = tuple(typing.get_origin(a) or a for a in typing.get_args(bt.FilterLiteral))
    kinds = literal + (tuple, list)
    assert isinstance(filter_, kinds) or callable(filter_)
    graph.to_predicate(filter_)  # and the graph takes it


def test_key_and_supports_dtype_protocols():
    assert all(isinstance(k, bt.Key) for k in ("w", 0, 1.5, ("a", 1)))
    assert not isinstance([0], bt.Key) and not isinstance({}, bt.Key)
    assert isinstance(jax.ShapeDtypeStruct((1,), jnp.float32), bt.SupportsDType)
    assert not isinstance(1, bt.SupportsDType)


def test_pytree_subscripts_are_cached_classes():
    leaf = bt.PyTree[jax.Array]
    assert leaf is bt.PyTree[jax.Array] and issubclass(leaf, bt.PyTree)
    assert (leaf.leaftype, leaf.structure) == (jax.Array, None)
    named = bt.PyTree[int, "  S   T "]
    assert named is bt.PyTree[int, "S T"] and named.structure == "S T"
    assert bt.PyTree[int, "... T"].structure == "... T" and bt.PyTree[int, "T ..."].structure == "T ..."
    assert named.__name__ == "PyTree[int, 'S T']" and bt.PyTree.leaftype is typing.Any


@pytest.mark.parametrize(
    "subscript, error, message",
    [
        ((int, "T", "U"), TypeError, r"takes a leaf type, PyTree\[int\], or .* got 3 arguments"),
        ((int, 3), TypeError, r"structure in PyTree\[leaf, structure\] must be a string such as 'T', got 3"),
        ((int, ""), ValueError, r"one or more identifiers separated by spaces"),
        ((int, "..."), ValueError, r"one or more identifiers"),
        ((int, "a-b"), ValueError, r"one or more identifiers"),
        ((int, "S ... T"), ValueError, r"'\.\.\.' may appear once, first or last"),
        ((int, "... T ..."), ValueError, r"'\.\.\.' may appear once, first or last"),
        (([int],), TypeError, r"leaf type in PyTree\[leaf\] must be hashable, got a list"),
    ],
)
def test_bad_pytree_subscripts(subscript, error, message):
    with pytest.raises(error, match=message):
        bt.PyTree[subscript if len(subscript) > 1 else subscript[0]]


@pytest.mark.parametrize("make", [lambda: bt.PyTree(), lambda: bt.PyTree[int](), lambda: bt.Array()])
def test_annotations_cannot_be_instantiated(make):
    with pytest.raises(TypeError, match=r"is an annotation"):
        make()


def test_array_annotation_keeps_the_shape_text_as_metadata():
    hint = bt.Array["batch, features"]
    assert typing.get_origin(hint) is typing.Annotated
    assert typing.get_args(hint) == (jax.Array, "batch, features")

    shape = "n"  # a name, not a string literal, so linters do not read it as a forward reference

    def f(x: bt.Array[shape]) -> bt.Array[shape]:
        return x

    assert typing.get_type_hints(f, include_extras=True)["x"] == bt.Array["n"]


def test_missing_is_distinct_from_none():
    def f(x=bt.Missing):
        return x is bt.Missing

    assert f() and not f(None)


def test_meta_package_alias_and_upstream_names():
    import brainstate.typing
    from brainstate.typing import ArrayLike, PyTree, SeedOrKey  # what braintools imports

    assert brainstate.typing is bt and (ArrayLike, PyTree, SeedOrKey) == (bt.ArrayLike, bt.PyTree, bt.SeedOrKey)
    assert all(hasattr(bt, name) for name in bt.__all__)
