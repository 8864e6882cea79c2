"""The conversion walk, shared by every framework: leaves through the registry, ``Sequential`` by recursion.

A node is resolved in this order: a registered mapping (by type, subclasses included when they
add no method), a deliberate refusal (the message says why), a ``Sequential`` stack (converted
child by child), a parameter-free function such as an activation (kept as is: it computes the
same thing in every framework), and otherwise an error. Nothing converts silently into a
different computation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax
import jax.numpy as jnp

import brainstate_random
from brainstate_core import graph

from .._module import Module, Sequential
from ._errors import MissingShapeError, UnmappedLayerError, UnsupportedLayerError, UnsupportedStructureError
from ._registry import _same_forward, export_refusal, find_export, find_import, import_refusal

__all__ = ["Context", "Adapter", "to_bst", "to_foreign", "is_stateless_callable", "shape_of"]


@dataclasses.dataclass
class Context:
    """The options and running state of one conversion call (handed to every mapping as ``ctx``).

    Attributes:
        sample_input: the shape of one unbatched example given by the user, or ``None``.
        cur_size: the shape of one unbatched input of the layer being imported, when known; the
            walk moves it along a ``Sequential`` (to each built layer's ``out_size``, and through
            functions by evaluating their output shape).
        rngs: the ``flax.nnx.Rngs`` used to build nnx layers (one per call).
        key: the PRNG key that :meth:`next_key` splits, or ``None`` for brainstate's default generator.
    """

    sample_input: tuple[int, ...] | None = None
    cur_size: tuple[int, ...] | None = None
    rngs: Any = None
    key: Any = None

    def next_key(self) -> jax.Array:
        """A fresh PRNG key: split from ``key`` when one was given, else from ``brainstate.random``."""
        if self.key is None:
            return brainstate_random.split_key()
        self.key, sub = jax.random.split(self.key)
        return sub

    def require_size(self, what: str, ndim: int | None = None) -> tuple[int, ...]:
        """``cur_size``, checked to have ``ndim`` axes; raises :class:`MissingShapeError` when unknown."""
        if self.cur_size is None:
            raise MissingShapeError(
                f"Importing {what} needs the shape of its input (brainstate's {what} is built for one input shape), "
                "and it is not known here. Fix: pass `sample_input=` (one unbatched example, channels last, or its "
                "shape) to the conversion function."
            )
        if ndim is not None and len(self.cur_size) != ndim:
            raise MissingShapeError(
                f"Importing {what} needs an input of {ndim} axes (spatial axes then channels, no batch axis), but the "
                f"input shape known here is {self.cur_size}. Fix: pass a `sample_input=` of {ndim} axes, channels last."
            )
        return self.cur_size


class Adapter(Protocol):
    """What the walk needs to know about one framework's containers (its layers go through the registry)."""

    name: str
    model_kind: str

    def is_model(self, obj: Any) -> bool: ...
    def layer_type(self, node: Any) -> type: ...
    def is_sequential(self, node: Any) -> bool: ...
    def children(self, node: Any) -> list: ...
    def has_child_modules(self, node: Any) -> bool: ...
    def as_function(self, node: Any) -> Any: ...
    def build_sequential(self, children: list) -> Any: ...
    def wrap_function(self, fn: Any) -> Any: ...


def shape_of(sample_input: Any) -> tuple[int, ...] | None:
    """The shape of ``sample_input`` (an array, or already a shape), as a tuple of ints."""
    if sample_input is None:
        return None
    shape = sample_input.shape if hasattr(sample_input, "shape") else sample_input
    if isinstance(shape, int):
        shape = (shape,)
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise MissingShapeError(f"sample_input must be an array or a shape (a tuple of ints), got {sample_input!r}. "
                                "Fix: pass one unbatched example or its shape.") from None


def is_stateless_callable(obj: Any) -> bool:
    """A function, or a brainstate module without any State: the same computation whatever framework calls it."""
    if isinstance(obj, type) or not callable(obj):
        return False
    if isinstance(obj, graph.Node):
        return isinstance(obj, Module) and len(graph.states(obj)) == 0
    return True


def _advance(ctx: Context, layer: Any) -> None:
    out = getattr(layer, "out_size", None)
    if isinstance(out, tuple) and out:
        ctx.cur_size = tuple(int(d) for d in out)


def _shape_after(fn: Any, size: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The shape of one example after ``fn`` (a function of a batch), or ``None`` when it cannot be told."""
    if size is None:
        return None
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((1,) + size, jnp.float32))
    except Exception:  # not a function of one float array: the shape after it is unknown
        return None
    shape = getattr(out, "shape", None)
    return tuple(shape[1:]) if isinstance(shape, tuple) and shape[:1] == (1,) else None


def to_bst(node: Any, adapter: Adapter, ctx: Context) -> Any:
    """The brainstate module (or function) computing what the foreign ``node`` computes."""
    cls = adapter.layer_type(node)
    mapping = find_import(adapter.name, cls)
    if mapping is not None:
        layer = mapping.to_bst(node, ctx)
        _advance(ctx, layer)
        return layer
    reason = import_refusal(adapter.name, cls)
    if reason is not None:
        raise UnsupportedLayerError(reason)
    if adapter.is_sequential(node):
        children = adapter.children(node)
        if not children:
            raise UnsupportedStructureError(f"Cannot convert an empty {cls.__name__}: it has no layer to convert. "
                                            "Fix: convert a Sequential with at least one layer.")
        return Sequential(*[to_bst(child, adapter, ctx) for child in children])
    fn = adapter.as_function(node)
    if fn is not None:
        ctx.cur_size = _shape_after(fn, ctx.cur_size)
        return fn
    if adapter.has_child_modules(node):
        raise UnsupportedStructureError(
            f"Cannot convert {cls.__qualname__}: it holds sub-modules and its own forward computation, which cannot "
            "be rebuilt from its attributes. Only single layers and Sequential stacks of them convert. Fix: convert "
            "its layers one by one (or its Sequential parts) and compose them by hand."
        )
    raise UnmappedLayerError(cls, adapter.name)


def to_foreign(node: Any, adapter: Adapter, ctx: Context) -> Any:
    """The ``adapter`` framework's layer computing what the brainstate ``node`` computes."""
    if not isinstance(node, Module):
        if is_stateless_callable(node):
            return adapter.wrap_function(node)
        raise UnmappedLayerError(type(node), adapter.name,
                                 f"Cannot convert {node!r} to {adapter.name}: it is neither a brainstate module nor "
                                 "a function. Fix: put only brainstate layers and functions in the model.")
    cls = type(node)
    mapping = find_export(adapter.name, cls)
    if mapping is not None:
        return mapping.to_foreign(node, ctx)
    reason = export_refusal(adapter.name, cls)
    if reason is not None:
        raise UnsupportedLayerError(reason)
    if isinstance(node, Sequential) and _same_forward(cls, Sequential):
        if not node.layers:
            raise UnsupportedStructureError("Cannot convert an empty Sequential: it has no layer to convert. "
                                            "Fix: convert a Sequential with at least one layer.")
        return adapter.build_sequential([to_foreign(layer, adapter, ctx) for layer in node.layers])
    if is_stateless_callable(node):
        return adapter.wrap_function(node)
    if any(True for _ in node.children()):
        raise UnsupportedStructureError(
            f"Cannot convert {cls.__qualname__}: it holds sub-modules and its own `update`, which cannot be rebuilt "
            f"in {adapter.name} from its attributes. Only single layers and Sequential stacks of them convert. Fix: "
            "convert its layers one by one and compose them by hand."
        )
    raise UnmappedLayerError(cls, adapter.name)


def check_model(obj: Any, adapter: Adapter, caller: str, other: str) -> None:
    """Raise :class:`UnmappedLayerError` unless ``obj`` is a model of ``adapter``'s framework."""
    if not adapter.is_model(obj):
        raise UnmappedLayerError(
            type(obj), adapter.name,
            f"{caller} converts a {adapter.model_kind}, got {type(obj).__module__}.{type(obj).__qualname__}. "
            f"Fix: pass a {adapter.model_kind}" + (f" (to convert a brainstate module, use {other})." if
                                                   isinstance(obj, Module) else "."),
        )


def check_bst_model(obj: Any, framework: str, caller: str, other: str) -> None:
    """Raise :class:`UnmappedLayerError` unless ``obj`` is a brainstate module."""
    if not isinstance(obj, Module):
        raise UnmappedLayerError(
            type(obj), framework,
            f"{caller} converts a brainstate.nn.Module, got {type(obj).__module__}.{type(obj).__qualname__}. "
            f"Fix: pass a brainstate module (to convert a {framework} model into brainstate, use {other}).",
        )
