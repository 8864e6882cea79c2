"""Drawing jaxprs as Graphviz graphs (with pydot, an optional dependency: the ``graph`` extra)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend.core as jc
import numpy as np

from brainstate_core import BrainStateError
from brainstate_core.internal import set_home

from ._jaxpr_build import is_var, split

__all__ = ["draw", "draw_dot_graph", "view_pydot", "MissingDependencyError"]

_INSTALL = "`pip install 'brainstate-transform[graph]'` (or `pip install pydot`)"
_CALLS = frozenset({"pjit", "jit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call", "checkpoint",
                    "remat2"})
_STYLE = {
    "input": dict(shape="ellipse", style="filled", fillcolor="palegreen"),
    "const": dict(shape="ellipse", style="filled", fillcolor="lightgrey"),
    "literal": dict(shape="plaintext"),
    "eqn": dict(shape="box", style="rounded"),
    "call": dict(shape="box", style="rounded,filled", fillcolor="lightblue"),
    "output": dict(shape="ellipse", style="filled", fillcolor="lightcoral"),
}


class MissingDependencyError(BrainStateError, ImportError):
    """An optional dependency of the feature used is not installed; the message names what to install."""


set_home(MissingDependencyError, "brainstate_transform")


def _pydot() -> Any:
    try:
        import pydot
    except ImportError as err:
        raise MissingDependencyError(
            f"Drawing jaxprs needs pydot, which is not installed. Fix: {_INSTALL}; rendering the graph "
            "to an image also needs the Graphviz `dot` program (https://graphviz.org/download/)."
        ) from err
    return pydot


def _quote(*lines: str) -> str:
    """A DOT string of these lines (quoted, so names such as ``<lambda>`` or ``-1.0`` stay text)."""
    return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'


def _bodies(eqn: jc.JaxprEqn) -> list:
    """The jaxprs in an equation's parameters (a jit's body, a cond's branches, ...)."""
    found = []
    for value in eqn.params.values():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, (jc.Jaxpr, jc.ClosedJaxpr)):
                found.append(v)
    return found


def _body(eqn: jc.JaxprEqn) -> Any:
    """The body of a call-like equation, which takes exactly the equation's inputs; ``None`` otherwise."""
    if str(eqn.primitive) not in _CALLS:
        return None
    bodies = _bodies(eqn)
    return bodies[0] if len(bodies) == 1 else None


class _Drawer:
    def __init__(self, pydot: Any, collapse_primitives: bool, show_avals: bool) -> None:
        self.pydot = pydot
        self.collapse = collapse_primitives
        self.show_avals = show_avals
        self.count = 0

    def _new(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def node(self, graph: Any, kind: str, label: str, avals: Sequence = ()) -> str:
        lines = [label]
        if self.show_avals and avals:
            lines.append(" ".join(a.str_short(short_dtypes=True) for a in avals))
        name = self._new("n")
        graph.add_node(self.pydot.Node(name, label=_quote(*lines), **_STYLE[kind]))
        return name

    def source(self, graph: Any, atom: Any, env: dict) -> str:
        if is_var(atom):
            return env[atom]
        value = np.asarray(atom.val)
        return self.node(graph, "literal", str(value.item() if value.shape == () else value))

    def jaxpr(self, graph: Any, jaxpr: Any, sources: list | None) -> list[str]:
        """Draw ``jaxpr`` into ``graph``; ``sources`` are the nodes feeding its inputs (new nodes if ``None``)."""
        program = split(jaxpr, "draw_dot_graph")
        env: dict = {}
        for i, var in enumerate(program.invars):
            env[var] = sources[i] if sources is not None else self.node(graph, "input", f"in{i}", [var.aval])
        for i, var in enumerate(program.constvars):
            env[var] = self.node(graph, "const", f"const{i}", [var.aval])
        for eqn in program.eqns:
            inputs = [self.source(graph, v, env) for v in eqn.invars]
            body = _body(eqn)
            name = str(eqn.params.get("name", eqn.primitive))
            if body is not None and not (self.collapse and not any(_bodies(e) for e in split(body, "draw").eqns)):
                cluster = self.pydot.Cluster(self._new("c"), label=_quote(name), style="dashed")
                graph.add_subgraph(cluster)
                env.update(zip(eqn.outvars, self.jaxpr(cluster, body, inputs)))
                continue
            kind = "call" if body is not None or _bodies(eqn) else "eqn"
            node = self.node(graph, kind, name if body is not None else str(eqn.primitive),
                             [v.aval for v in eqn.outvars])
            for src in inputs:
                graph.add_edge(self.pydot.Edge(src, node))
            env.update(dict.fromkeys(eqn.outvars, node))
        return [self.source(graph, v, env) for v in program.outvars]


def draw_dot_graph(fn: Any, collapse_primitives: bool = True, show_avals: bool = True) -> Any:
    r"""A Graphviz graph of a jaxpr: inputs, one node per equation, outputs, with an edge per data flow.

    Inputs are green, constants grey, outputs red, and equations with nested jaxprs blue. A nested
    ``jit`` (or other call) is drawn as a dashed cluster holding its equations; with
    ``collapse_primitives``, one whose body holds only primitive equations is drawn as one node named
    after the function. Loops and branches are drawn as one node.

    Args:
        fn: a ``Jaxpr`` or ``ClosedJaxpr``.
        collapse_primitives: draw calls of primitive-only functions as single nodes.
        show_avals: write the shape and dtype of each value in its node.

    Returns:
        A ``pydot.Dot`` graph (``.to_string()`` for DOT source, ``.create_svg()`` to render it).

    Raises:
        MissingDependencyError: pydot is not installed (the message names the extra to install).

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3))
        >>> graph = brainstate.transform.draw_dot_graph(closed)
        >>> print(graph.to_string())
        digraph G {
        n1 [label="in0\nf32[3]", shape=ellipse, style=filled, fillcolor=palegreen];
        n2 [label="sin\nf32[3]", shape=box, style=rounded];
        n1 -> n2;
        n3 [label="2.0", shape=plaintext];
        n4 [label="mul\nf32[3]", shape=box, style=rounded];
        n2 -> n4;
        n3 -> n4;
        n5 [label="out0", shape=ellipse, style=filled, fillcolor=lightcoral];
        n4 -> n5;
        }
        <BLANKLINE>
    """
    graph = _pydot().Dot(graph_type="digraph")
    drawer = _Drawer(_pydot(), collapse_primitives, show_avals)
    outputs = drawer.jaxpr(graph, fn, None)
    for i, src in enumerate(outputs):
        node = drawer.node(graph, "output", f"out{i}")
        graph.add_edge(drawer.pydot.Edge(src, node))
    return graph


def draw(f: Callable, collapse_primitives: bool = True, show_avals: bool = True) -> Callable[..., Any]:
    """Wrap ``f`` so that calling it draws its computation instead of running it.

    The wrapper traces ``f(*args, **kwargs)`` with ``jax.make_jaxpr`` and returns
    :func:`draw_dot_graph` of the result.

    Args:
        f: the function to draw.
        collapse_primitives: as in :func:`draw_dot_graph`.
        show_avals: as in :func:`draw_dot_graph`.

    Returns:
        A function of ``f``'s arguments returning a ``pydot.Dot`` graph.

    Raises:
        MissingDependencyError: pydot is not installed (the message names the extra to install).

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> inner = jax.jit(lambda x: x - 1.0)
        >>> graph = brainstate.transform.draw(lambda x: inner(2.0 * x))(jnp.arange(3.0))
        >>> len(graph.get_nodes())  # in0, 2.0, mul, the jit as one node, out0
        5
    """
    _pydot()

    def drawn(*args: Any, **kwargs: Any) -> Any:
        return draw_dot_graph(jax.make_jaxpr(f)(*args, **kwargs), collapse_primitives, show_avals)

    return drawn


def view_pydot(dot_graph: Any) -> None:
    """Show a graph from :func:`draw` or :func:`draw_dot_graph` in a Jupyter notebook, as a PNG image.

    Args:
        dot_graph: the ``pydot.Dot`` graph.

    Raises:
        MissingDependencyError: IPython, or the Graphviz ``dot`` program, is not installed.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> graph = brainstate.transform.draw(jnp.sin)(1.0)  # doctest: +SKIP
        >>> brainstate.transform.view_pydot(graph)  # doctest: +SKIP
    """
    try:
        from IPython.display import Image, display  # pyright: ignore[reportMissingImports]  # optional
    except ImportError as err:
        raise MissingDependencyError("view_pydot shows graphs in Jupyter and needs IPython. Fix: "
                                     "`pip install ipython` (or save the graph with graph.write_svg).") from err
    try:
        png = dot_graph.create_png()
    except FileNotFoundError as err:
        raise MissingDependencyError(
            "Rendering the graph needs the Graphviz `dot` program, which was not found. Fix: install "
            "Graphviz (https://graphviz.org/download/, e.g. `apt install graphviz`)."
        ) from err
    display(Image(png))
