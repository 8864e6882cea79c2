"""Notebook views of States (``State._repr_html_``) and the pieces module trees are drawn with.

A notebook shows an object through its ``_repr_html_``. Ours renders with treescope when treescope is
importable (:func:`notebook_html`), and otherwise with the small HTML written here: escaped text,
no scripts, a ``<details>`` element per State that opens to one row per array (path, dtype and
shape, a summary of the values) and the State's metadata.

Example:
    >>> import jax.numpy as jnp
    >>> import brainstate_core as bc
    >>> from brainstate_core._html import state_html
    >>> page = state_html(bc.ParamState({'w': jnp.ones((2, 3))}, name='w<1>'))
    >>> 'w&lt;1&gt;' in page, 'f32[2,3]' in page
    (True, True)
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .internal import format_value, is_dead, is_tracer, peek

__all__ = ["notebook_html", "treescope_html", "state_html", "value_rows", "leaf_summary", "esc", "BOX_STYLE"]

# The outer box of every built-in view: the notebook's code font, compact lines.
BOX_STYLE = "font-family:var(--jp-code-font-family,monospace);font-size:0.85em;line-height:1.45"
_TABLE = "border-collapse:collapse;margin:0.2em 0 0.3em 1.2em"
_CELL = "padding:0 0.8em 0 0;text-align:left;border:none"
_MUTED = "opacity:0.7"
_STATS_LIMIT = 10_000_000  # arrays with more elements show dtype and shape only
_SHOWN = 8  # arrays with at most this many elements show their values
_TEXT_LIMIT = 80


def esc(text: Any) -> str:
    """``str(text)`` with ``&``, ``<``, ``>`` and quotes escaped for HTML."""
    return html.escape(str(text), quote=True)


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def treescope_html(obj: Any) -> str | None:
    """``obj`` rendered by treescope, or ``None`` when treescope is not installed.

    Treescope's default renderer appends an object's own ``_repr_html_`` to its rendering; for the
    object being rendered here that would be this rendering again, so the hook is left out.
    """
    try:
        import treescope
    except ImportError:
        return None
    renderer = treescope.active_renderer.get()
    hooks = [h for h in renderer.wrapper_hooks if h is not treescope.handlers.append_repr_html_when_present]
    with treescope.active_renderer.set_scoped(dataclasses.replace(renderer, wrapper_hooks=hooks)):
        return treescope.render_to_html(obj, roundtrip_mode=False, ignore_exceptions=True)


def notebook_html(obj: Any, builtin: Callable[[Any], str]) -> str:
    """The notebook view of ``obj``: treescope's when treescope is installed, else ``builtin(obj)``."""
    rendered = treescope_html(obj)
    return builtin(obj) if rendered is None else rendered


def _number(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else f"{x:,}"


def leaf_summary(leaf: Any) -> str:
    """A short text about one leaf's values: the values of a small array, statistics of a larger one.

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_core._html import leaf_summary
        >>> leaf_summary(jnp.arange(3.0)), leaf_summary(jnp.arange(100.0))
        ('[0, 1, 2]', 'mean 49.5, std 28.87, min 0, max 99')
    """
    unit = ""
    if hasattr(leaf, "mantissa") and hasattr(leaf, "unit"):  # a brainunit Quantity
        unit, leaf = f" {leaf.unit}", leaf.mantissa
    if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
        return _clip(repr(leaf))
    if is_tracer(leaf):
        return "traced (no value outside the transformation)"
    dtype = leaf.dtype
    size = int(np.prod(leaf.shape, dtype=np.int64))
    numeric = any(jnp.issubdtype(dtype, kind) for kind in (jnp.bool_, jnp.integer, jnp.floating))
    if not numeric or size > _STATS_LIMIT:
        return ""
    if size == 0:
        return "empty"
    values = np.asarray(leaf)
    if jnp.issubdtype(dtype, jnp.floating):
        values = values.astype(np.float64)
    if size <= _SHOWN:
        flat = values.reshape(-1)
        if values.dtype == np.bool_:
            shown = [str(bool(v)) for v in flat]
        elif values.dtype.kind == "f":
            shown = [f"{float(v):.4g}" for v in flat]
        else:
            shown = [str(int(v)) for v in flat]
        return _clip("[" + ", ".join(shown) + "]") + unit
    if values.dtype == np.bool_:
        return f"{int(values.sum()):,} true of {size:,}"
    if values.dtype.kind in "iu":
        return f"min {_number(int(values.min()))}, max {_number(int(values.max()))}{unit}"
    finite = values[np.isfinite(values)]
    bad = size - finite.size
    if finite.size == 0:
        return f"all {size:,} values non-finite"
    parts = [f"mean {_number(float(finite.mean()))}", f"std {_number(float(finite.std()))}",
             f"min {_number(float(finite.min()))}", f"max {_number(float(finite.max()))}"]
    text = ", ".join(parts) + unit
    return text + (f", {bad:,} non-finite" if bad else "")


def _is_quantity(x: Any) -> bool:
    return hasattr(x, "mantissa") and hasattr(x, "unit")


def value_rows(value: Any) -> list[tuple[str, str, str]]:
    """``(path, dtype[shape], summary)`` for every leaf of the pytree ``value`` (a Quantity is one leaf).

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_core._html import value_rows
        >>> value_rows({'b': jnp.zeros(2), 'n': (3, None)})
        [('b', 'f32[2]', '[0, 0]'), ('n[0]', '3', '')]
    """
    flat, _ = jax.tree_util.tree_flatten_with_path(value, is_leaf=_is_quantity)
    rows = [(_keys(path), format_value(leaf), leaf_summary(leaf)) for path, leaf in flat]
    return [(path, spec, "" if summary == spec else summary) for path, spec, summary in rows]


def _keys(path: tuple) -> str:
    """A pytree key path as users write it: ``('layers', 0, 'w')`` keys -> ``'layers[0].w'``."""
    out = ""
    for key in path:
        if isinstance(key, jax.tree_util.DictKey) and isinstance(key.key, str) and key.key.isidentifier():
            out += f".{key.key}" if out else key.key
        elif isinstance(key, jax.tree_util.GetAttrKey):
            out += f".{key.name}" if out else key.name
        else:
            out += str(key)
    return out


def _metadata_text(state: Any) -> str:
    items = [f"{key}={_clip(repr(val), 40)}" for key, val in state.metadata.items() if val is not None]
    return ", ".join(items)


def state_html(state: Any, label: str | None = None, *, open_: bool = True, boxed: bool = True) -> str:
    """The built-in HTML view of ``state``: a ``<details>`` element whose summary line shows
    ``label`` (a path, in a module tree), the type, the name and the compact value, and which opens
    to a table of the value's arrays and the metadata. ``boxed`` wraps it in the outer box."""
    kind = type(state)
    title = esc(f"{kind.__module__}.{kind.__qualname__}, created at {state.source_info}")
    head = f"<code>{esc(label)}</code>: " if label else ""
    head += f"<b title=\"{title}\">{esc(kind.__name__)}</b>"
    if state.name is not None:
        head += f" <span style=\"{_MUTED}\">name={esc(repr(state.name))}</span>"
    if is_dead(state):
        head += f" <code>{esc('<tracer of a finished trace>')}</code>"
        body = ""
    else:
        value = peek(state)
        head += f" <code>{esc(_clip(format_value(value), 120))}</code>"
        rows = value_rows(value)
        size = state.numel()
        head += f" <span style=\"{_MUTED}\">{size:,} element{'' if size == 1 else 's'}</span>"
        if len(rows) == 1 and not rows[0][0]:  # a single array: its summary fits on the line
            head += f" {esc(rows.pop()[2])}"
        cells = "".join(
            f"<tr><td style=\"{_CELL}\"><code>{esc(path)}</code></td>"
            f"<td style=\"{_CELL}\"><code>{esc(spec)}</code></td><td style=\"{_CELL}\">{esc(summary)}</td></tr>"
            for path, spec, summary in rows
        )
        body = f"<table style=\"{_TABLE}\"><tbody>{cells}</tbody></table>" if cells else ""
    meta = _metadata_text(state)
    if meta:
        body += f"<div style=\"margin-left:1.2em;{_MUTED}\">{esc(meta)}</div>"
    if body:
        out = f"<details{' open' if open_ else ''}><summary>{head}</summary>{body}</details>"
    else:  # nothing to open: a plain line, indented like a summary
        out = f"<div style=\"padding-left:1.1em\">{head}</div>"
    return f"<div class=\"brainstate-html\" style=\"{BOX_STYLE}\">{out}</div>" if boxed else out
