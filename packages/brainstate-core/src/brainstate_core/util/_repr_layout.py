"""The layout engine behind pretty reprs: :func:`pretty_format` turns a value into a document
(leaves and bracketed groups), then prints each group on one line if it fits in
``ReprOptions.width`` and one item per line (with trailing commas) if not.

Arrays are summarised as ``dtype[shape]`` (:func:`format_array_like`); options live in a
process-wide default (:func:`set_repr_options`) that a thread can override for a block
(:func:`repr_options`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import jax
import jax.core
import numpy as np

from ._pretty_repr import PrettyAttr, PrettyRepr, PrettyType

__all__ = [
    "ReprOptions",
    "get_repr_options",
    "set_repr_options",
    "repr_options",
    "ReprSummary",
    "format_bytes",
    "format_array_like",
    "pretty_format",
    "pretty_repr_object",
]


@dataclasses.dataclass(frozen=True)
class ReprOptions:
    """How pretty reprs are laid out.

    Args:
        width: the target line width; a group that fits in what is left of its line is
            printed on it, otherwise one item per line.
        max_depth: how many levels of nested pretty objects below the root are expanded;
            deeper ones show as ``Type(...)``. None: no limit.
        max_items: the most items shown per group; the rest are counted as ``... (+N more)``.
            None: no limit.
        summary: show the ``__pretty_repr_summary__`` of objects that have one, as ``# ...``
            comments.
        short_dtypes: show arrays as ``f32[3]`` rather than ``float32[3]``.

    Raises:
        ValueError: an option is out of range.

    Example:
        >>> from brainstate_core.util import ReprOptions
        >>> ReprOptions(width=60).width
        60
        >>> ReprOptions(max_items=0)
        Traceback (most recent call last):
        ...
        ValueError: ReprOptions: max_items must be None or an int >= 1, got 0.
    """

    width: int = 88
    max_depth: int | None = None
    max_items: int | None = 64
    summary: bool = True
    short_dtypes: bool = True

    def __post_init__(self) -> None:
        for name, low, optional in (("width", 1, False), ("max_depth", 0, True), ("max_items", 1, True)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                kind = "None or an int" if optional else "an int"
                raise ValueError(f"ReprOptions: {name} must be {kind} >= {low}, got {value!r}.")


class _Local(threading.local):
    options: ReprOptions | None = None


_LOCAL = _Local()
_DEFAULT = [ReprOptions()]


def get_repr_options() -> ReprOptions:
    """The options in effect in this thread: the innermost :func:`repr_options`, else the default.

    Example:
        >>> from brainstate_core.util import get_repr_options, repr_options
        >>> with repr_options(width=40):
        ...     get_repr_options().width
        40
    """
    return _LOCAL.options or _DEFAULT[0]


def set_repr_options(**changes: Any) -> ReprOptions:
    """Change the process-wide default options; returns the previous default.

    Raises:
        TypeError: an unknown option name.
        ValueError: an option out of range.

    Example:
        >>> import dataclasses
        >>> from brainstate_core.util import get_repr_options, set_repr_options
        >>> previous = set_repr_options(width=100)
        >>> get_repr_options().width
        100
        >>> _ = set_repr_options(**dataclasses.asdict(previous))
    """
    previous = _DEFAULT[0]
    _DEFAULT[0] = dataclasses.replace(previous, **changes)
    return previous


@contextlib.contextmanager
def repr_options(**changes: Any) -> Iterator[ReprOptions]:
    """Override options in this thread for the ``with`` block (blocks nest; restored on exit).

    Raises:
        TypeError: an unknown option name.
        ValueError: an option out of range.

    Example:
        >>> from brainstate_core.util import PrettyMapping, repr_options
        >>> m = PrettyMapping({'a': 1, 'b': 2})
        >>> m
        {'a': 1, 'b': 2}
        >>> with repr_options(width=8):
        ...     m
        {
          'a': 1,
          'b': 2,
        }
    """
    previous = _LOCAL.options
    new = dataclasses.replace(get_repr_options(), **changes)
    _LOCAL.options = new
    try:
        yield new
    finally:
        _LOCAL.options = previous


def format_bytes(n: int) -> str:
    """A byte count with binary units: ``'104 B'``, ``'1.5 KiB'``, up to GiB.

    Example:
        >>> from brainstate_core.util import format_bytes
        >>> format_bytes(104), format_bytes(1536), format_bytes(3 * 1024**3)
        ('104 B', '1.5 KiB', '3.0 GiB')
    """
    if n < 1024:
        return f"{int(n)} B"
    size, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}"


@dataclasses.dataclass(frozen=True)
class ReprSummary:
    """Sizes of an object, shown after its pretty repr when it defines ``__pretty_repr_summary__``.

    Args:
        n_params: the number of parameter elements.
        param_bytes: their size in bytes.
        n_state_values: the number of elements of the other states.
        state_bytes: their size in bytes.

    Example:
        >>> from brainstate_core.util import ReprSummary
        >>> s = ReprSummary(n_params=26, param_bytes=104)
        >>> s.footer(), s.comment()
        ('26 params (104 B)', '26 params')
    """

    n_params: int = 0
    param_bytes: int = 0
    n_state_values: int = 0
    state_bytes: int = 0

    def footer(self) -> str:
        """The long form, shown after the root object (empty when everything is zero)."""
        parts = []
        if self.n_params:
            parts.append(f"{_count(self.n_params, 'param')} ({format_bytes(self.param_bytes)})")
        if self.n_state_values:
            parts.append(f"{_count(self.n_state_values, 'state value')} ({format_bytes(self.state_bytes)})")
        return ", ".join(parts)

    def comment(self) -> str:
        """The short form, shown after a nested object (empty when everything is zero)."""
        if self.n_params:
            return _count(self.n_params, "param")
        if self.n_state_values:
            return _count(self.n_state_values, "state value")
        return ""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def format_array_like(x: Any, short_dtypes: bool | None = None) -> str | None:
    """``dtype[shape]`` for an array, tracer, ``ShapeDtypeStruct`` or NumPy scalar; None otherwise.

    A concrete 0-d NumPy value shows its value: ``f32(0.5)``.

    Args:
        x: the value.
        short_dtypes: ``f32`` rather than ``float32``; None uses the active :class:`ReprOptions`.

    Example:
        >>> import numpy as np
        >>> from brainstate_core.util import format_array_like
        >>> format_array_like(np.zeros((3, 4), np.float32)), format_array_like(np.float32(0.5))
        ('f32[3,4]', 'f32(0.5)')
        >>> format_array_like(np.zeros(2, np.int32), short_dtypes=False), format_array_like([1, 2])
        ('int32[2]', None)
    """
    if not isinstance(x, (np.ndarray, np.generic, jax.Array, jax.ShapeDtypeStruct, jax.core.ShapedArray)):
        return None
    from .._state import _short_dtype  # here, so that _state may use the pretty reprs without a cycle

    short = get_repr_options().short_dtypes if short_dtypes is None else short_dtypes
    dtype = _short_dtype(x.dtype) if short else str(x.dtype)
    if isinstance(x, (np.ndarray, np.generic)) and x.ndim == 0 and x.dtype.kind in "biufc":
        return f"{dtype}({np.asarray(x)[()]})"
    return f"{dtype}[{','.join(map(str, x.shape))}]"


@dataclasses.dataclass
class _Group:
    head: str
    open: str
    close: str
    items: list[tuple[str, Any, str, str]]  # (prefix, document, end, comment)
    empty: str = ""


class _Builder:
    def __init__(self, options: ReprOptions) -> None:
        self.options = options
        self.active: set[int] = set()

    def build(self, value: Any, depth: int) -> str | _Group:
        if isinstance(value, PrettyRepr):
            return self._pretty(value, depth)
        if isinstance(value, type):
            return value.__name__
        if type(value) in (list, tuple, dict):
            if id(value) in self.active:
                return "[...]" if type(value) is list else "(...)" if type(value) is tuple else "{...}"
            self.active.add(id(value))
            try:
                if type(value) is dict:
                    group = _Group("", "{", "}", [])
                    self._fill(group, [(f"{k!r}: ", v, "", False) for k, v in value.items()], depth)
                else:
                    group = _Group("", "[", "]", []) if type(value) is list else _Group("", "(", ")", [])
                    self._fill(group, [("", v, "", False) for v in value], depth)
                    if type(value) is tuple and len(value) == 1:
                        group.close = ",)"
                return group
            finally:
                self.active.discard(id(value))
        text = format_array_like(value, self.options.short_dtypes)
        return repr(value) if text is None else text

    def _pretty(self, obj: PrettyRepr, depth: int) -> str | _Group:
        items = iter(obj.__pretty_repr__())
        try:  # read the items first, closing the generator, so its own bookkeeping ends here
            header = next(items, None)
            if not isinstance(header, PrettyType):
                raise TypeError(
                    f"The first item yielded by {type(obj).__name__}.__pretty_repr__ must be a PrettyType, "
                    f"got {header!r}."
                )
            name = header.type if isinstance(header.type, str) else header.type.__name__
            limit = self.options.max_depth
            if id(obj) in self.active or (limit is not None and name and depth > limit):
                return f"{name}{header.start}...{header.end}"
            entries = []
            for attr in items:
                if not isinstance(attr, PrettyAttr):
                    raise TypeError(
                        f"{type(obj).__name__}.__pretty_repr__ yielded {attr!r} after its header; "
                        "every item after the first must be a PrettyAttr."
                    )
                sep = header.value_sep if attr.key else ""
                entries.append((f"{attr.start}{attr.key}{sep}", attr.value, attr.end, True))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        self.active.add(id(obj))
        try:
            group = _Group(name, header.start, header.end, [], header.empty_repr)
            self._fill(group, entries, depth + 1 if name else depth)
            return group
        finally:
            self.active.discard(id(obj))

    def _fill(self, group: _Group, entries: list, depth: int) -> None:
        limit = self.options.max_items
        for i, (prefix, value, end, verbatim) in enumerate(entries):
            if limit is not None and i >= limit:
                group.items.append(("", f"... (+{len(entries) - limit} more)", "", ""))
                break
            # A PrettyAttr's string value is shown as written; a string inside a container by its repr.
            doc = value if verbatim and isinstance(value, str) else self.build(value, depth)
            comment = _summary(value).comment() if self.options.summary and isinstance(doc, _Group) else ""
            group.items.append((prefix, doc, end, comment))


def _summary(obj: Any) -> ReprSummary:
    method = getattr(obj, "__pretty_repr_summary__", None)
    summary = method() if method is not None else None
    return summary if isinstance(summary, ReprSummary) else ReprSummary()


def _flat(doc: str | _Group) -> str:
    if isinstance(doc, str):
        return doc
    if not doc.items:
        return f"{doc.head}{doc.open}{doc.empty}{doc.close}"
    return f"{doc.head}{doc.open}{', '.join(p + _flat(d) + e for p, d, e, _ in doc.items)}{doc.close}"


def _has_comment(doc: str | _Group) -> bool:
    return isinstance(doc, _Group) and any(comment or _has_comment(child) for _, child, _, comment in doc.items)


def _fits(doc: str | _Group, avail: float) -> bool:
    """Whether ``doc`` goes on one line: short enough, and no ``# comment`` inside that would be lost."""
    text = _flat(doc)
    return "\n" not in text and len(text) <= avail and not _has_comment(doc)


def _render(doc: str | _Group, indent: int, avail: int, width: int) -> str:
    """``doc`` with ``avail`` columns left on its first line; its later lines start at ``indent``."""
    if isinstance(doc, str):
        return doc.replace("\n", "\n" + " " * indent)
    if not doc.items or _fits(doc, avail):
        return _flat(doc)
    pad = " " * (indent + 2)
    lines = [doc.head + doc.open]
    for prefix, child, end, comment in doc.items:
        used = indent + 2 + len(prefix) + len(end) + 1
        line = f"{pad}{prefix}{_render(child, indent + 2, width - used, width)}{end},"
        lines.append(line + (f"  # {comment}" if comment else ""))
    lines.append(" " * indent + doc.close.lstrip(","))
    return "\n".join(lines)


def pretty_format(value: Any) -> str:
    """Lay out any value the way pretty reprs are: containers, pretty objects and arrays.

    Example:
        >>> import numpy as np
        >>> from brainstate_core.util import pretty_format, repr_options
        >>> pretty_format({'w': np.zeros((2, 3), np.float32), 'n': 3})
        "{'w': f32[2,3], 'n': 3}"
        >>> with repr_options(max_items=2):
        ...     pretty_format(list(range(5)))
        '[0, 1, ... (+3 more)]'
    """
    options = get_repr_options()
    doc = _Builder(options).build(value, 0)
    text = _render(doc, 0, options.width, options.width)
    if options.summary and isinstance(doc, _Group):
        footer = _summary(value).footer()
        if footer:
            text += f"  # {footer}"
    return text


def pretty_repr_object(obj: PrettyRepr) -> str:
    """The repr of a :class:`PrettyRepr` object: :func:`pretty_format` of it.

    Raises:
        TypeError: ``obj`` is not a PrettyRepr, or its ``__pretty_repr__`` yields something
            other than one :class:`PrettyType` followed by :class:`PrettyAttr` items.

    Example:
        >>> from brainstate_core.util import PrettyMapping, pretty_repr_object, repr_options
        >>> with repr_options(width=10):
        ...     print(pretty_repr_object(PrettyMapping({'a': 1}, type_name='Config')))
        Config{
          'a': 1,
        }
    """
    if not isinstance(obj, PrettyRepr):
        raise TypeError(f"pretty_repr_object needs a PrettyRepr object, got {type(obj).__name__}.")
    return pretty_format(obj)
