"""The notebook views of States: treescope when installed, the built-in HTML otherwise."""

from __future__ import annotations

import html.parser
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
from brainstate_core import _html

VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr"}


class _Checker(html.parser.HTMLParser):
    """Records the text and fails on an end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]} in the view"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Checker:
    """Parse ``page``; assert that every element is closed in order."""
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed elements {checker.stack}"
    return checker


@pytest.fixture
def no_treescope(monkeypatch):
    monkeypatch.setitem(sys.modules, "treescope", None)  # `import treescope` raises ImportError


def _dead_state() -> bc.State:
    made = []

    def f(x):
        with bc.StateTrace():
            made.append(bc.State(x * 2))
        return x

    jax.make_jaxpr(f)(1.0)
    return made[0]


STATES = {
    "array": (lambda: bc.ParamState(jnp.arange(12.0).reshape(3, 4), name="w<1>"), ["f32[3,4]", "name='w<1>'"]),
    "dict": (lambda: bc.ParamState({"weight": jnp.ones((2, 3)), "bias": jnp.zeros(3)}),
             ["weight", "f32[2,3]", "bias", "f32[3]"]),
    "tagged": (lambda: bc.HiddenState(jnp.zeros((2, 5)), tag="hid<den>"), ["HiddenState", "tag='hid<den>'"]),
    "scalar": (lambda: bc.State(3.5), ["State", "3.5"]),
    "dead": (_dead_state, ["<tracer of a finished trace>"]),
}


@pytest.mark.usefixtures("no_treescope")
@pytest.mark.parametrize("name", list(STATES))
def test_builtin_view_is_well_formed_escaped_and_shows_shapes(name):
    make, shown = STATES[name]
    state = make()
    page = state._repr_html_()
    assert page == _html.state_html(state)
    found = parse(page)
    text = "".join(found.text)
    for part in shown:
        assert part in text, f"{part!r} missing from the view of {state!r}"
    assert "<script" not in page and "<1>" not in page and "<den>" not in page  # escaped, not markup
    assert type(state).__name__ in text and set(found.tags) <= {"div", "details", "summary", "b", "span", "code",
                                                                 "table", "tbody", "tr", "td"}


@pytest.mark.usefixtures("no_treescope")
def test_builtin_view_of_a_pytree_opens_to_one_row_per_array():
    state = bc.State({"a": jnp.ones((4, 4)), "b": [jnp.arange(3), None]})
    found = parse(state._repr_html_())
    text = "".join(found.text)
    assert found.tags.count("tr") == 2 and found.tags.count("details") == 1
    assert "mean 1, std 0, min 1, max 1" in text and "[0, 1, 2]" in text and "b[0]" in text
    assert "19 elements" in text


@pytest.mark.usefixtures("no_treescope")
def test_builtin_view_names_the_public_home_and_creation_site():
    state = bc.ParamState(jnp.ones(2))
    page = state._repr_html_()
    assert "brainstate.ParamState, created at " in page and "test_html.py:" in page


@pytest.mark.parametrize(("leaf", "summary"), [
    (jnp.array([1.0, 2.5, -3.0]), "[1, 2.5, -3]"),
    (jnp.arange(100.0), "mean 49.5, std 28.87, min 0, max 99"),
    (jnp.arange(-5, 20, dtype=jnp.int32), "min -5, max 19"),
    (jnp.arange(20) % 3 == 0, "7 true of 20"),
    (jnp.array([True, False]), "[True, False]"),
    (jnp.zeros((0, 3)), "empty"),
    (jnp.array([1.0, jnp.nan, 3.0, jnp.inf] + [2.0] * 8), "mean 2, std 0.4472, min 1, max 3, 2 non-finite"),
    (jnp.full(9, jnp.nan), "all 9 values non-finite"),
    (jnp.ones(3, jnp.bfloat16), "[1, 1, 1]"),
    (jnp.ones(3, jnp.complex64), ""),
    ("a" * 200, "'" + "a" * 76 + "..."),
])
def test_leaf_summary(leaf, summary):
    assert _html.leaf_summary(leaf) == summary


def test_leaf_summary_skips_statistics_of_huge_arrays(monkeypatch):
    monkeypatch.setattr(_html, "_STATS_LIMIT", 10)
    assert _html.leaf_summary(np.ones(11)) == "" and _html.leaf_summary(np.ones(10)) == "mean 1, std 0, min 1, max 1"


def test_leaf_summary_of_a_tracer_says_traced():
    seen = []
    jax.make_jaxpr(lambda x: seen.append(_html.leaf_summary(x)) or x)(jnp.ones(3))
    assert seen == ["traced (no value outside the transformation)"]


def test_quantity_leaves_keep_their_unit():
    u = pytest.importorskip("brainunit")
    rows = _html.value_rows({"v": jnp.arange(10.0) * u.mV})
    assert rows[0][0] == "v" and rows[0][2].endswith("mV") and rows[0][2].startswith("mean 4.5")


def test_treescope_renders_the_state_when_installed():
    pytest.importorskip("treescope")
    calls = []

    class Counted(bc.State):
        def _repr_html_(self):
            calls.append(1)
            return super()._repr_html_()

    state = Counted(jnp.ones(3), name="w")
    page = state._repr_html_()
    assert "treescope" in page and page != _html.state_html(state)
    # treescope's hook that appends an object's own _repr_html_ is off for the object rendered,
    # so rendering does not call the view again (that would recurse)
    assert calls == [1]


def test_treescope_view_renders_dead_states():
    pytest.importorskip("treescope")
    assert "treescope" in _dead_state()._repr_html_()
