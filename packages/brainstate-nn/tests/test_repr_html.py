"""The notebook view of modules: treescope when installed, else a collapsible HTML tree."""

from __future__ import annotations

import html.parser
import sys

import jax.numpy as jnp
import pytest

import brainstate_core as bc
import brainstate_nn as nn
from brainstate_nn._repr import module_html


class _Tree(html.parser.HTMLParser):
    """The nesting of ``<details>`` elements and the text; fails on an end tag out of order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.details: list[list] = []  # [depth among details, open, the type name in its summary]
        self._bold = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "details":
            self.details.append([self.stack.count("details"), "open" in dict(attrs), None])
        self.stack.append(tag)
        self._bold = tag == "b" and self.stack[-2:-1] == ["summary"]

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._bold and self.details[-1][2] is None:
            self.details[-1][2] = data


def parse(page: str) -> _Tree:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    assert tree.stack == [], f"unclosed elements {tree.stack}"
    return tree


class Evil(nn.Module):
    """A module whose hyper-parameters and child keys contain markup."""

    def __init__(self):
        super().__init__()
        self.layers = {"<b>": nn.Linear(3, 4), "x": nn.Sequential(nn.Linear(4, 2), nn.ReLU())}
        self.count = bc.State(jnp.zeros(()), name="</details>")

    def extra_repr(self):
        return "label='<script>alert(1)</script>'"


@pytest.fixture
def no_treescope(monkeypatch):
    monkeypatch.setitem(sys.modules, "treescope", None)


@pytest.mark.usefixtures("no_treescope")
def test_builtin_tree_is_well_formed_escaped_and_shows_shapes():
    model = Evil()
    page = model._repr_html_()
    assert page == module_html(model)
    tree = parse(page)
    text = "".join(tree.text)
    assert "<script>" not in page and "<b>:" not in page and "name='</details>'" not in page
    assert "label='<script>alert(1)</script>'" in text and "layers['<b>']" in text
    for shape in ("f32[3,4]", "f32[4,2]", "f32[]"):
        assert shape in text
    assert "Evil(" in text and "26 params" in text and "Sequential" in text and "ReLU()" in text


@pytest.mark.parametrize("open_depth", [0, 1, 2, 9])
def test_builtin_tree_nests_modules_and_opens_the_top_levels(open_depth):
    tree = parse(module_html(Evil(), open_depth=open_depth))
    # a <details> per module with children and per State with arrays to list (the scalar count is a line)
    expected = [(0, "Evil"), (1, "Linear"), (2, "ParamState"), (1, "Sequential"), (2, "Linear"), (3, "ParamState")]
    assert [(depth, name) for depth, _, name in tree.details] == expected
    for depth, is_open, name in tree.details:
        assert is_open == (name != "ParamState" and depth < open_depth)


@pytest.mark.usefixtures("no_treescope")
def test_builtin_tree_lists_each_state_with_its_path_and_summary():
    model = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    text = "".join(parse(model._repr_html_()).text)
    assert "layers[0]: Linear(" in text and "weight: ParamState" in text
    assert "f32[2,3]" in text and "bias" in text and "scalef32[3][1, 1, 1]" in text  # LayerNorm's scale row


def test_treescope_renders_the_module_when_installed():
    pytest.importorskip("treescope")
    calls = []

    class Counted(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def _repr_html_(self):
            calls.append(1)
            return super()._repr_html_()

    page = Counted()._repr_html_()
    assert "treescope" in page and "<details" not in page.split("<script")[0]
    assert calls == [1]  # treescope did not call the view again (which would recurse)
