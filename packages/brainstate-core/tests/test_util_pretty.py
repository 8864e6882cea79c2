"""Tests of the pretty reprs and their layout (brainstate_core.util._pretty_repr / _repr_layout)."""

import dataclasses
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_core import util
from brainstate_core.util import (
    PrettyAttr,
    PrettyDict,
    PrettyList,
    PrettyMapping,
    PrettyObject,
    PrettyRepr,
    PrettyType,
    ReprSummary,
    format_array_like,
    pretty_format,
    repr_options,
)


class Linear(PrettyObject):
    def __init__(self, n_in, n_out, name="linear"):
        self.weight = jnp.zeros((n_in, n_out))
        self.name = name
        self._cache = {"hidden": True}


class Seq(PrettyObject):
    def __init__(self, *layers):
        self.layers = list(layers)


def test_short_objects_stay_on_one_line_with_arrays_summarised():
    assert repr(Linear(2, 3)) == "Linear(weight=f32[2,3], name='linear')"


def test_too_wide_objects_break_one_item_per_line_with_nested_indentation():
    model = Seq(Linear(2, 3, name="a" * 30), Linear(3, 1))
    with repr_options(width=70):
        text = repr(model)
    assert text == (
        "Seq(\n"
        "  layers=[\n"
        "    Linear(weight=f32[2,3], name='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),\n"
        "    Linear(weight=f32[3,1], name='linear'),\n"
        "  ],\n"
        ")"
    )
    assert max(len(line) for line in text.splitlines()) <= 70


@pytest.mark.parametrize("width", [20, 40, 88, 200])
def test_every_line_fits_when_leaves_are_short(width):
    data = {"a": list(range(8)), "b": {"c": (1, 2, 3), "d": "text"}}
    with repr_options(width=width):
        text = pretty_format(data)
    assert all(len(line) <= width for line in text.splitlines())
    assert eval(text) == data  # the layout of plain containers is still valid Python


def test_max_items_and_max_depth():
    with repr_options(max_items=3):
        assert pretty_format(list(range(10))) == "[0, 1, 2, ... (+7 more)]"
    model = Seq(Seq(Linear(1, 1)))
    with repr_options(max_depth=1):
        assert repr(model) == "Seq(layers=[Seq(layers=[Linear(...)])])"
    with repr_options(max_depth=0):
        assert repr(model) == "Seq(layers=[Seq(...)])"


def test_options_nest_restore_on_error_and_are_per_thread():
    before = util.get_repr_options()
    with pytest.raises(RuntimeError):
        with repr_options(width=10):
            with repr_options(max_items=2) as inner:
                assert (inner.width, inner.max_items) == (10, 2)
            assert util.get_repr_options().max_items == before.max_items
            raise RuntimeError
    assert util.get_repr_options() == before
    seen = []
    with repr_options(width=11):
        worker = threading.Thread(target=lambda: seen.append(util.get_repr_options().width))
        worker.start()
        worker.join()
    assert seen == [before.width]


def test_set_repr_options_changes_the_default_and_rejects_bad_options():
    previous = util.set_repr_options(width=30)
    try:
        assert util.get_repr_options().width == 30
    finally:
        util.set_repr_options(**dataclasses.asdict(previous))
    assert util.get_repr_options() == previous
    with pytest.raises(TypeError, match="colour"):
        util.set_repr_options(colour=True)
    with pytest.raises(ValueError, match=r"ReprOptions: width must be an int >= 1, got 0"):
        util.ReprOptions(width=0)
    with pytest.raises(ValueError, match=r"max_depth must be None or an int >= 0, got -1"):
        repr_options(max_depth=-1).__enter__()


def test_cycles_show_as_ellipsis():
    a = Seq()
    a.layers.append(a)
    assert repr(a) == "Seq(layers=[Seq(...)])"
    lst = [1]
    lst.append(lst)
    assert pretty_format(lst) == "[1, [...]]"


def test_pretty_repr_item_hides_or_renames_attributes():
    class Neuron(PrettyObject):
        def __init__(self):
            self.v = 1.0
            self.tau = 2.0

        def __pretty_repr_item__(self, key, value):
            return None if key == "v" else ("time_constant", value)

    assert repr(Neuron()) == "Neuron(time_constant=2.0)"


def test_summaries_are_shown_after_the_root_and_nested_objects():
    class Block(PrettyObject):
        def __init__(self, n):
            self.w = np.zeros(n, np.float32)

        def __pretty_repr_summary__(self):
            return ReprSummary(n_params=self.w.size, param_bytes=self.w.nbytes)

    model = Seq(Block(3), Block(1000))
    text = repr(model)
    assert text == (  # a comment ends its line, so the groups around it are broken; Seq itself has none
        "Seq(\n  layers=[\n    Block(w=f32[3]),  # 3 params\n    Block(w=f32[1000]),  # 1,000 params\n  ],\n)"
    )
    assert repr(Block(2)) == "Block(w=f32[2])  # 2 params (8 B)"
    with repr_options(summary=False):
        assert repr(model) == "Seq(layers=[Block(w=f32[3]), Block(w=f32[1000])])"


@pytest.mark.parametrize(
    "x, short, expected",
    [
        (np.zeros((3, 4), np.float32), True, "f32[3,4]"),
        (np.zeros((3, 4), np.float32), False, "float32[3,4]"),
        (jnp.zeros((), jnp.int32), True, "i32[]"),
        (np.float32(0.5), True, "f32(0.5)"),
        (np.array(True), True, "bool(True)"),
        (jax.ShapeDtypeStruct((2,), jnp.bfloat16), True, "bf16[2]"),
        ([1, 2], True, None),
        ("text", True, None),
    ],
)
def test_format_array_like(x, short, expected):
    assert format_array_like(x, short_dtypes=short) == expected


def test_format_array_like_shows_tracers_by_shape():
    seen = []
    jax.jit(lambda x: seen.append(format_array_like(x)) or x)(jnp.ones((2, 5)))
    assert seen == ["f32[2,5]"]


@pytest.mark.parametrize(
    "n, text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB"), (2 * 1024**4, "2048.0 GiB")]
)
def test_format_bytes(n, text):
    assert util.format_bytes(n) == text


def test_pretty_containers_keep_their_type_through_tree_map():
    d = jax.tree.map(lambda v: v + 1, PrettyDict(a=1, b=PrettyList([1, 2])))
    assert type(d) is PrettyDict and type(d["b"]) is PrettyList and d.b == [2, 3]
    assert repr(d) == "PrettyDict{'a': 2, 'b': [2, 3]}"
    assert d.to_dict() == {"a": 2, "b": [2, 3]}
    with pytest.raises(AttributeError, match=r"PrettyDict has no key or attribute 'c'"):
        _ = d.c


def test_custom_pretty_repr_with_start_end_and_verbatim_strings():
    class Spec(PrettyRepr):
        def __pretty_repr__(self):
            yield PrettyType("Spec", start="<", end=">", value_sep=": ")
            yield PrettyAttr("shape", "(3, 4)")  # a string is shown as written
            yield PrettyAttr("tag", repr("x"), start="*", end="!")

    assert repr(Spec()) == "Spec<shape: (3, 4), *tag: 'x'!>"
    assert repr(PrettyMapping({}, type_name="Empty")) == "Empty{}"


@pytest.mark.parametrize(
    "items, message",
    [
        ([], r"first item yielded by Bad\.__pretty_repr__ must be a PrettyType, got None"),
        ([PrettyAttr("a", 1)], r"must be a PrettyType, got PrettyAttr"),
        (
            [PrettyType("Bad"), 3],
            r"Bad\.__pretty_repr__ yielded 3 after its header; every item after the first must be a PrettyAttr",
        ),
    ],
)
def test_malformed_pretty_repr_raises(items, message):
    class Bad(PrettyRepr):
        def __pretty_repr__(self):
            yield from items

    with pytest.raises(TypeError, match=message):
        repr(Bad())


def test_pretty_repr_object_refuses_other_objects():
    with pytest.raises(TypeError, match=r"pretty_repr_object needs a PrettyRepr object, got dict"):
        util.pretty_repr_object({})
