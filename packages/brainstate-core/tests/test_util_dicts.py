"""Tests of DotDict, merge_dicts, flatten_dict / unflatten_dict and flat_mapping / nest_mapping."""

import copy
import pickle

import jax
import jax.numpy as jnp
import pytest

from brainstate_core.util import (
    DictManager,
    DotDict,
    FlattedDict,
    FrozenDict,
    NestedDict,
    flat_mapping,
    flatten_dict,
    merge_dicts,
    nest_mapping,
    unflatten_dict,
)


# -- DotDict -------------------------------------------------------------------------------------
def test_dot_dict_reads_and_writes_keys_as_attributes_all_the_way_down():
    cfg = DotDict({"model": {"width": 64, "layers": [{"act": "relu"}]}}, lr=0.1)
    assert cfg.model.width == 64 and cfg.lr == 0.1
    assert isinstance(cfg.model, DotDict) and isinstance(cfg.model.layers[0], DotDict)
    cfg.model.depth = 3
    cfg["extra"] = {"a": 1}
    assert cfg.extra.a == 1 and cfg["model"]["depth"] == 3
    del cfg.lr
    assert "lr" not in cfg
    assert cfg.to_dict() == {"model": {"width": 64, "layers": [{"act": "relu"}], "depth": 3}, "extra": {"a": 1}}
    assert type(cfg.to_dict()["model"]) is dict and type(cfg.to_dict()["model"]["layers"][0]) is dict


@pytest.mark.parametrize("op", [lambda d: d.missing, lambda d: delattr(d, "missing")])
def test_dot_dict_missing_key_is_an_attribute_error(op):
    with pytest.raises(AttributeError, match=r"DotDict has no key 'missing'"):
        op(DotDict(a=1))


def test_dot_dict_refuses_attributes_named_like_its_methods():
    d = DotDict()
    with pytest.raises(AttributeError, match=r"Cannot set 'items' as an attribute: it is a method of DotDict"):
        d.items = 1
    d["items"] = 1  # item assignment still works
    assert d["items"] == 1 and callable(d.items)


def test_dot_dict_update_merges_nested_dicts():
    d = DotDict({"opt": {"lr": 0.1, "wd": 0.0}})
    d.update({"opt": {"lr": 0.01}}, seed=1)
    assert d.to_dict() == {"opt": {"lr": 0.01, "wd": 0.0}, "seed": 1}
    merged = d | {"opt": {"wd": 1.0}}
    assert isinstance(merged, DotDict) and merged.opt.wd == 1.0 and d.opt.wd == 0.0


def test_dot_dict_is_a_pytree_and_copies_deeply_and_pickles():
    d = DotDict({"w": jnp.ones(2), "sub": {"b": jnp.zeros(2)}})
    out = jax.jit(lambda t: jax.tree.map(lambda v: v + 1, t))(d)
    assert isinstance(out, DotDict) and isinstance(out.sub, DotDict)
    assert jnp.allclose(out.sub.b, 1.0)
    deep = copy.deepcopy(d)
    assert deep.sub is not d.sub and isinstance(deep.sub, DotDict)
    plain = DotDict({"a": {"b": 1}})
    assert pickle.loads(pickle.dumps(plain)) == plain


# -- merge_dicts ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dicts, recursive, expected",
    [
        (({"a": 1}, {"b": 2}), True, {"a": 1, "b": 2}),
        (({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}), True, {"a": {"x": 1, "y": 3}}),
        (({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}), False, {"a": {"y": 3}}),
        (({"a": {"x": 1}}, {"a": 5}, {"a": {"z": 0}}), True, {"a": {"z": 0}}),
        ((), True, {}),
    ],
)
def test_merge_dicts(dicts, recursive, expected):
    originals = copy.deepcopy(dicts)
    assert merge_dicts(*dicts, recursive=recursive) == expected
    assert dicts == originals  # inputs untouched


def test_merge_dicts_refuses_non_mappings():
    with pytest.raises(TypeError, match=r"merge_dicts merges mappings; argument 1 is a list"):
        merge_dicts({}, [1])


# -- flatten_dict / unflatten_dict ---------------------------------------------------------------
@pytest.mark.parametrize(
    "nested, sep, flat",
    [
        ({"a": 1}, ".", {"a": 1}),
        ({"a": 1, "b": {"c": 2, "d": {"e": 3}}}, ".", {"a": 1, "b.c": 2, "b.d.e": 3}),
        ({"opt": {"betas": {}}, "x": None}, ".", {"opt.betas": {}, "x": None}),
        ({"a": {"b": 1}}, "/", {"a/b": 1}),
        ({}, ".", {}),
    ],
)
def test_flatten_and_unflatten_are_inverse(nested, sep, flat):
    assert flatten_dict(nested, sep=sep) == flat
    assert unflatten_dict(flat, sep=sep) == nested


def test_flatten_dict_prefix():
    assert flatten_dict({"a": {"b": 1}}, parent_key="cfg") == {"cfg.a.b": 1}


@pytest.mark.parametrize(
    "fn, arg, error, message",
    [
        (flatten_dict, [1], TypeError, r"flatten_dict needs a mapping, got list"),
        (flatten_dict, {"a": {1: 2}}, TypeError, r"flatten_dict joins string keys; 'a' has the key 1"),
        (flatten_dict, {"a.b": 1, "a": {"b": 2}}, ValueError, r"two paths join to the key 'a\.b'"),
        (unflatten_dict, {1: 2}, TypeError, r"unflatten_dict splits string keys; got the key 1"),
        (unflatten_dict, {"a..b": 1}, ValueError, r"the key 'a\.\.b' has an empty part"),
        (unflatten_dict, {"a": 1, "a.b": 2}, ValueError, r"'a' holds a value, so 'a\.b' cannot nest in it"),
        (unflatten_dict, {"a.b": 2, "a": 1}, ValueError, r"'a' holds a value and also nested keys"),
    ],
)
def test_flatten_unflatten_errors(fn, arg, error, message):
    with pytest.raises(error, match=message):
        fn(arg)


# -- flat_mapping / nest_mapping -----------------------------------------------------------------
@pytest.mark.parametrize(
    "nested",
    [
        {"a": 1},
        {"enc": {"w": 1, "b": 2}, "dec": {"layers": {0: {"w": 3}}}, "step": 0},
        NestedDict({"x": NestedDict({"y": 1})}),
        FrozenDict({"x": {"y": 1}, "z": 2}),
    ],
)
def test_flat_mapping_and_nest_mapping_are_inverse(nested):
    flat = flat_mapping(nested)
    assert isinstance(flat, FlattedDict) and all(isinstance(k, tuple) for k in flat)
    nest = nest_mapping(flat)
    assert isinstance(nest, NestedDict)
    assert nest.to_flat() == flat
    assert flat_mapping(nest) == flat


def test_flat_mapping_with_separator_and_is_leaf():
    xs = {"enc": {"w": 1, "meta": {"k": "v"}}}
    assert flat_mapping(xs, sep="/") == {"enc/w": 1, "enc/meta/k": "v"}
    assert nest_mapping(flat_mapping(xs, sep="/"), sep="/").to_flat() == flat_mapping(xs)
    kept = flat_mapping(xs, is_leaf=lambda path, m: path[-1] == "meta")
    assert kept == {("enc", "w"): 1, ("enc", "meta"): {"k": "v"}}


def test_flat_and_nest_mapping_errors():
    with pytest.raises(TypeError, match=r"flat_mapping needs a mapping, got int"):
        flat_mapping(1)
    with pytest.raises(TypeError, match=r"joins string keys only; path \('a', 0\) has the key 0"):
        flat_mapping({"a": {0: 1}}, sep="/")
    with pytest.raises(ValueError, match=r"passes through \('a',\), which holds a value"):
        nest_mapping({("a",): 1, ("a", "b"): 2})
    with pytest.raises(ValueError, match=r"is a prefix of another path"):
        nest_mapping({("a", "b"): 1, ("a",): 2})


# -- DictManager ---------------------------------------------------------------------------------
def make_manager():
    shared = [1]
    return DictManager(a=1, b=2.0, c="text", d=shared, e=shared), shared


def test_dict_manager_selections_return_new_managers():
    d, shared = make_manager()
    assert d.subset(int) == {"a": 1} and isinstance(d.subset(int), DictManager)
    assert d.subset((int, float)) == {"a": 1, "b": 2.0}
    assert d.subset(lambda v: v == "text") == {"c": "text"}
    assert d.not_subset((int, float, list)) == {"c": "text"}
    assert d.split(int, list) == ({"a": 1}, {"d": shared, "e": shared}, {"b": 2.0, "c": "text"})
    assert list(d.unique()) == ["a", "b", "c", "d"]
    assert d.filter_by_predicate(lambda k, v: k in "ab") == {"a": 1, "b": 2.0}
    assert d.difference_by_keys("abc") == {"d": shared, "e": shared} and d.intersection_by_keys(["a"]) == {"a": 1}
    assert list(d.intersection_by_values([shared])) == ["d", "e"]
    assert list(d.difference_by_values([[1]], by="value")) == ["a", "b", "c"]
    assert list(d.difference_by_values([[1]], by="id")) == list(d)  # an equal list is not the same object
    assert d.map_values(str)["a"] == "1" and list(d.map_keys(str.upper)) == list("ABCDE")
    assert (d + {"z": 0})["z"] == 0 and "z" not in d
    assert len(d) == 5  # nothing above changed d


def test_dict_manager_changes_in_place():
    d, shared = make_manager()
    assert d.add_unique_value("f", shared) is False and "f" not in d
    assert d.add_unique_value("f", [2]) is True
    d.add_unique_key("a", d["a"])  # the same object again is fine
    with pytest.raises(ValueError, match=r"The key 'a' already holds 1; cannot also register 5 under it"):
        d.add_unique_key("a", 5)
    d.unique_()
    assert "e" not in d
    d.pop_by_keys(["a", "zz"])
    d.pop_by_values(["text"], by="value")
    assert list(d) == ["b", "d", "f"]
    d.assign({"g": 1}, h=2)
    assert d["g"] == 1 and d["h"] == 2
    with pytest.raises(ValueError, match=r"by must be 'id' or 'value', got 'eq'"):
        d.pop_by_values([], by="eq")
    with pytest.raises(ValueError, match=r"map_keys maps two keys to 0"):
        d.map_keys(lambda k: 0)


def test_dict_manager_is_a_pytree():
    d = DictManager(w=jnp.ones(2), b=jnp.zeros(2))
    out = jax.jit(lambda t: jax.tree.map(lambda v: v * 3, t))(d)
    assert isinstance(out, DictManager) and list(out) == ["w", "b"] and jnp.allclose(out["w"], 3.0)
    assert isinstance(copy.deepcopy(d), DictManager) and isinstance(copy.copy(d), DictManager)
