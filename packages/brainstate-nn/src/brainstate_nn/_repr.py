"""Text and HTML views of a module tree: sub-modules, States (shape, dtype) and parameter counts."""

from __future__ import annotations

from typing import Any

import jax

from brainstate_core import ParamState, State, graph
from brainstate_core.internal import HTML_BOX_STYLE as BOX_STYLE
from brainstate_core.internal import html_escape as esc
from brainstate_core.internal import is_dead, peek, state_html

__all__ = ["module_repr", "module_html", "path_str"]


def path_str(path: tuple) -> str:
    """``('layers', 0, 'weight')`` -> ``'layers[0].weight'``."""
    out = ""
    for key in path:
        if isinstance(key, str) and key.isidentifier():
            out += f".{key}" if out else key
        elif isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f"[{key!r}]"
    return out


def _plain(value: Any, budget: list) -> bool:
    """Whether ``value`` is a few arrays in plain dicts / lists / tuples (which ``repr(state)`` shows compactly)."""
    if isinstance(value, dict) and type(value) is dict or type(value) in (list, tuple):
        items = value.values() if isinstance(value, dict) else value
        return all(_plain(v, budget) for v in items)
    budget[0] -= 1
    return budget[0] >= 0 and hasattr(value, "shape") and hasattr(value, "dtype")


def state_repr(state: State) -> str:
    """``repr(state)`` for simple values; a summary (leaf and element counts) for large or custom pytrees."""
    value = peek(state)
    if is_dead(state) or _plain(value, [6]):
        return repr(state)
    leaves = jax.tree.leaves(value)
    return f"{type(state).__name__}({len(leaves)} arrays, {_plural(state.numel(), 'element')})"


def _plural(n: int, what: str = "param") -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _layout(root: Any) -> tuple[dict, dict, dict]:
    """``(modules, owned, counts)``: modules by path; for each module path, the States and
    sub-modules it holds directly (in path order); the parameter count under each module."""
    from ._module import Module

    modules = graph.nodes(root, Module)
    found = graph.states(root)
    entries = list(found.items()) + [(p, m) for p, m in modules.items() if p]
    owned: dict = {p: [] for p in modules}
    counts: dict = {p: 0 for p in modules}
    for path, obj in entries:
        owner = next(path[:k] for k in range(len(path) - 1, -1, -1) if path[:k] in modules)
        owned[owner].append((path, obj))
        if isinstance(obj, ParamState):
            n = obj.numel()
            for k in range(len(path)):
                if path[:k] in counts:
                    counts[path[:k]] += n
    for items in owned.values():
        items.sort(key=lambda item: _sort_key(item[0]))
    return modules, owned, counts


def _sort_key(path: tuple) -> tuple:
    return tuple((type(k).__name__, k if isinstance(k, (int, str)) else repr(k)) for k in path)


def module_repr(root: Any) -> str:
    """The multi-line repr of a module: its hyper-parameters, sub-modules and States.

    Example:
        >>> import brainstate_nn as nn
        >>> print(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
        Sequential()  # 16 params
          layers[0]: Linear(in_size=(3,), out_size=(4,), bias=True)  # 16 params
            weight: ParamState({'weight': f32[3,4], 'bias': f32[4]})
          layers[1]: ReLU()
    """
    modules, owned, counts = _layout(root)
    lines: list[str] = []

    def render(path: tuple, module: Any, prefix: str, depth: int) -> None:
        head = f"{type(module).__name__}({module.extra_repr()})"
        if counts[path]:
            head += f"  # {_plural(counts[path])}"
        lines.append(prefix + head)
        pad = "  " * (depth + 1)
        for sub, obj in owned[path]:
            rel = path_str(sub[len(path):])
            if isinstance(obj, State):
                lines.append(f"{pad}{rel}: {state_repr(obj)}")
            else:
                render(sub, obj, f"{pad}{rel}: ", depth + 1)

    render((), root, "", 0)
    return "\n".join(lines)


def module_html(root: Any, open_depth: int = 2) -> str:
    """The built-in HTML view of a module (for notebooks without treescope): a collapsible tree.

    Each module is a ``<details>`` element (those deeper than ``open_depth`` start closed) whose
    summary shows its path, type, hyper-parameters and parameter count, and which lists its States
    (each opening to its arrays' shapes and value summaries) and its sub-modules.

    Example:
        >>> import brainstate_nn as nn
        >>> page = module_html(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
        >>> page.count('<details'), 'layers[0]' in page, 'f32[3,4]' in page
        (3, True, True)
    """
    modules, owned, counts = _layout(root)

    def head(path: tuple, module: Any, label: str) -> str:
        kind = type(module)
        text = f"<code>{esc(label)}</code>: " if label else ""
        text += f"<b title=\"{esc(kind.__module__ + '.' + kind.__qualname__)}\">{esc(kind.__name__)}</b>"
        text += f"({esc(module.extra_repr())})"
        if counts[path]:
            text += f" <span style=\"opacity:0.7\">{esc(_plural(counts[path]))}</span>"
        return text

    def render(path: tuple, module: Any, label: str, depth: int) -> str:
        items = []
        for sub, obj in owned[path]:
            rel = path_str(sub[len(path):])
            if isinstance(obj, State):
                items.append(f"<li>{state_html(obj, rel, open_=False, boxed=False)}</li>")
            else:
                items.append(f"<li>{render(sub, obj, rel, depth + 1)}</li>")
        if not items:
            return f"<div style=\"padding-left:1.1em\">{head(path, module, label)}</div>"
        listing = "<ul style=\"list-style:none;margin:0;padding-left:1.2em\">" + "".join(items) + "</ul>"
        opened = " open" if depth < open_depth else ""
        return f"<details{opened}><summary>{head(path, module, label)}</summary>{listing}</details>"

    return f"<div class=\"brainstate-html\" style=\"{BOX_STYLE}\">{render((), root, '', 0)}</div>"
