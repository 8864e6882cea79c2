"""The State hierarchy: mutable containers whose ``.value`` the transformations thread through JAX."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import jax
import numpy as np

from . import _hooks
from ._errors import BatchAxisError, ConfigError, StateArgumentError, TraceContextError
from ._state_hooks import StateHookMethods
from ._trace import _ABSENT, LOCAL, SWITCH, _contains_tracer, _note_raw_owner, _raw_owner_is_current, peek

__all__ = [
    "State",
    "ShortTermState",
    "LongTermState",
    "ParamState",
    "HiddenState",
    "BatchState",
    "DelayState",
    "maybe_state",
]

S = TypeVar("S", bound="State")

_INTERNAL_MODULES = ("brainstate.", "brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn")


def _creation_site() -> tuple[str, int]:
    """File and line of the first caller outside the brainstate packages."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name == "brainstate" or name.startswith(_INTERNAL_MODULES)):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


_DTYPE_SHORT = {"float": "f", "int": "i", "uint": "u", "complex": "c", "bfloat": "bf"}


def _short_dtype(dtype: Any) -> str:
    name = str(dtype)
    for long, short in _DTYPE_SHORT.items():
        if name.startswith(long) and name[len(long):].isdigit():
            return short + name[len(long):]
    return name


class _Short:
    """A leaf placeholder whose repr is its compact description."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _format_leaf(value: Any) -> str:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{_short_dtype(dtype)}[{','.join(map(str, shape))}]"
    return repr(value)


def format_value(value: Any) -> str:
    """Compact description of a pytree of arrays: ``f32[3,2]``, ``{'w': f32[2], 'b': f32[]}``.

    Containers keep their own repr (a NamedTuple shows its field names) with every array leaf
    replaced by its dtype and shape.

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_core._state import format_value
        >>> format_value({'w': jnp.ones((2, 3)), 'b': (jnp.zeros(2), 1.0)})
        "{'w': f32[2,3], 'b': (f32[2], 1.0)}"
    """
    if isinstance(value, dict) and type(value) is dict:
        return "{" + ", ".join(f"{k!r}: {format_value(v)}" for k, v in value.items()) + "}"
    leaves, treedef = jax.tree.flatten(value)
    if treedef.num_nodes == 1:  # a single leaf
        return _format_leaf(value)
    return repr(jax.tree.unflatten(treedef, [_Short(_format_leaf(leaf)) for leaf in leaves]))


def _refuse_flatten(state: Any) -> NoReturn:  # a State subclass registered by _register_refusal
    raise StateArgumentError(state._as_value_message())


def _register_refusal(cls: type) -> None:
    jax.tree_util.register_pytree_node(cls, _refuse_flatten, lambda aux, children: None)


_MISSING = object()

# Metadata keys that may share the name of a State attribute (the attribute reads them).
_METADATA_ATTRIBUTES = frozenset({"tag", "tags"})


class _MetadataAttribute:
    """Reads metadata key ``key`` as an attribute (``State(x, unit='mV').unit``).

    One is installed on :class:`State` for each metadata key ever used. A class-level descriptor,
    not ``__getattr__``: defining ``__getattr__`` would make every attribute access of every State
    (``_value`` included) take CPython's slow path.
    """

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        try:
            return obj._metadata[self.key]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute or metadata key {self.key!r}") from None


def _check_metadata(cls: type, metadata: dict[str, Any]) -> None:
    for key in metadata:
        if key in _METADATA_ATTRIBUTES:
            continue
        attribute = getattr(cls, key, _MISSING)
        if attribute is _MISSING and not (key.startswith("__") and key.endswith("__")):
            setattr(State, key, _MetadataAttribute(key))
        elif not isinstance(attribute, _MetadataAttribute):
            raise ConfigError(
                f"{cls.__name__}(..., {key}=...): the metadata key {key!r} is the name of a {cls.__name__} "
                f"attribute, so `state.{key}` could not read it. Fix: choose another key."
            )


class State(StateHookMethods):
    """A mutable variable that brainstate transformations find and thread through JAX.

    Read and write it through :attr:`value`; the value can be any pytree of arrays. Two States are
    equal only if they are the same object, and they hash by identity, so they can key dicts.
    A State is deliberately not a JAX pytree: handing one to a raw JAX transformation raises
    :class:`StateArgumentError` instead of silently freezing its value.

    Metadata keyword arguments are stored in :attr:`metadata`, read as attributes
    (``State(x, unit='mV').unit``) and kept by :meth:`copy` and :meth:`replace`; change them
    through ``state.metadata[key] = ...``. A key may not be the name of a State attribute (nor a
    ``__dunder__`` name): :class:`ConfigError`.

    Args:
        value: the initial value, a pytree of arrays (or scalars).
        name: optional display name.
        **metadata: free-form metadata; ``tag=`` gives the state a tag that filters can select.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.ones((3, 2)))
        >>> w
        ParamState(f32[3,2])
        >>> w.value = w.value * 2
        >>> float(w.value.sum()), w.numel()
        (12.0, 6)
    """

    __slots__ = ("_value", "_name", "_metadata", "_source", "_dead", "_hooks", "__weakref__")
    #: False in a subclass that overrides :meth:`_store`: a transformation's write-back then goes through it.
    _plain_store = True

    def __init__(self, value: Any, name: str | None = None, **metadata: Any) -> None:
        if isinstance(value, State):
            raise StateArgumentError(
                f"A State cannot hold another State ({value!r}). Pass `other.value` to copy its value."
            )
        if metadata:
            _check_metadata(type(self), metadata)
        self._source = _creation_site()
        self._name = name
        self._metadata = metadata
        self._dead = False
        self._hooks = None
        traces = LOCAL.traces
        if not traces and not _note_raw_owner(self) and _contains_tracer(value):
            raise TraceContextError(self._tracer_message())
        self._value = value
        if traces:
            traces[-1].record_new(self)
        for catcher in LOCAL.catchers:
            catcher.append(self)
        if SWITCH.on:
            _hooks.on_init(self, value, name, metadata)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # JAX registers pytree nodes per exact type, so every subclass must refuse flattening too.
        super().__init_subclass__(**kwargs)
        _register_refusal(cls)

    # -- value -------------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The current value. Reads and writes are recorded by the active state trace, and run hooks."""
        traces = LOCAL.traces
        if traces:
            value = self._traced_read(traces[-1])
        elif self._dead:
            raise TraceContextError(self._dead_message())
        else:
            value = self._value
        if SWITCH.on:
            _hooks.after_read(self, value)
        return value

    @value.setter
    def value(self, value: Any) -> None:
        if isinstance(value, State):
            raise StateArgumentError(
                f"Cannot assign the State {value!r} as the value of {self!r} (created at "
                f"{self.source_info}). Assign `other.value` instead."
            )
        hooked = SWITCH.on
        if hooked:
            value, old, after = _hooks.before_write(self, value)
            if after:
                return self._write_then_hooks(value, old, after)
        self._store(value)

    def _store(self, value: Any) -> None:
        """The write itself: into the innermost trace, or (outside traces) into the state."""
        traces = LOCAL.traces
        if traces:
            traces[-1].write(self, value)
        elif _contains_tracer(value) and not _raw_owner_is_current(self):
            raise TraceContextError(self._tracer_message())
        else:
            self._value = value
            self._dead = False

    def _write_then_hooks(self, value: Any, old: Any, after: Any) -> None:
        """A write followed by write_after hooks; if a hook raises, the write is undone (nothing is lost)."""
        before = self._value, self._dead
        self._store(value)
        try:
            _hooks.after_write(self, value, old, after)
        except BaseException:
            if LOCAL.traces:
                LOCAL.traces[-1].write(self, old)
            else:
                self._value, self._dead = before
            raise

    def _traced_read(self, trace: Any) -> Any:
        overlay = LOCAL.overlay
        if trace.lift is not None and (not self._dead or self in overlay):
            return trace.lifted_read(self)
        value = overlay.get(self, _ABSENT) if overlay else _ABSENT
        if value is _ABSENT:
            if self._dead:
                raise TraceContextError(self._dead_message())
            value = self._value
        trace.record_read(self)
        return value

    def _dead_message(self) -> str:
        return (
            f"{type(self).__name__} created at {self.source_info} was created inside a brainstate "
            "transformation and still holds a tracer of that finished trace. Fix: create the state "
            "outside the transformed function, or return its `.value` from the function."
        )

    def _tracer_message(self) -> str:
        return (
            f"A JAX tracer was written into {type(self).__name__} (created at {self.source_info}) outside "
            "any brainstate transformation, probably inside a raw jax.jit / jax.grad / jax.vmap that the state "
            "was not created in. The state would keep a tracer that is invalid once that trace ends. Fix: use "
            "brainstate.transform.jit (or the matching brainstate.transform function), which threads states "
            "through JAX, or create the states inside the traced function (graph.treefy_merge does)."
        )

    def restore_value(self, value: Any) -> None:
        """Put ``value`` back without recording a write (used to undo changes); runs the restore hooks.

        Inside a transformation that already wrote this state, the value this thread sees is replaced.
        """
        hooked = SWITCH.on
        if hooked:
            old = None if self._dead and self not in LOCAL.overlay else peek(self)
        overlay = LOCAL.overlay
        if overlay and self in overlay:
            overlay[self] = value
        else:
            self._value = value
            self._dead = False
        if hooked:
            _hooks.on_restore(self, value, old)

    def value_call(self, fn: Callable[[Any], Any]) -> Any:
        """Apply ``fn`` to every leaf of the value and return the resulting pytree.

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.State({'a': jnp.ones(2)}).value_call(lambda x: x.shape)
            {'a': (2,)}
        """
        return jax.tree.map(fn, self.value)

    def numel(self) -> int:
        """Total number of elements over all leaves of the value."""
        return sum(math.prod(np.shape(leaf)) for leaf in jax.tree.leaves(peek(self)))

    def copy(self: S) -> S:
        """A new State of the same type holding the same value, name and metadata (not its hooks)."""
        return self._clone(peek(self), self._name, dict(self._metadata))

    def replace(self: S, value: Any = _MISSING, **changes: Any) -> S:
        """A new State of the same type with ``value`` and the given name or metadata changed.

        Everything not given is kept: the value, the name, the other metadata (the new state has
        no hooks of its own, like a :meth:`copy`).

        Example:
            >>> import brainstate
            >>> s = brainstate.ParamState(1.0, name='w', unit='mV')
            >>> r = s.replace(2.0, name='w2')
            >>> r, r.unit, s
            (ParamState(2.0, name='w2'), 'mV', ParamState(1.0, name='w'))
        """
        name = changes.pop("name", self._name)
        value = peek(self) if value is _MISSING else value
        return self._clone(value, name, {**self._metadata, **changes})

    def _clone(self: S, value: Any, name: str | None, metadata: dict[str, Any]) -> S:
        new = type(self).__new__(type(self))
        State.__init__(new, value, name, **metadata)
        for key, val in getattr(self, "__dict__", {}).items():
            setattr(new, key, val)
        return new

    def to_state_ref(self) -> Any:
        """A :class:`TreefyState`: the type, value, name and metadata, as a JAX pytree.

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> ref = brainstate.ParamState(jnp.ones(2), name='w').to_state_ref()
            >>> ref
            TreefyState(ParamState, f32[2], name='w')
        """
        from ._treefy import TreefyState

        return TreefyState(type(self), self.value, self._name, **self._metadata)

    def update_from_ref(self, state_ref: Any) -> None:
        """Take the value (as a write), the name and the metadata of a :class:`TreefyState`."""
        self._check_ref_type(state_ref)
        self.value = state_ref.value
        self._name = state_ref.name
        self._metadata = dict(state_ref.metadata)

    def _check_ref_type(self, state_ref: Any) -> None:
        if not isinstance(self, state_ref.type):
            raise StateArgumentError(
                f"{self!r} (created at {self.source_info}) cannot take the value of a TreefyState of "
                f"{state_ref.type.__name__}. Fix: update a state of that type, or call ref.to_state()."
            )

    # -- metadata ----------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name

    @property
    def tag(self) -> str | None:
        """The state's tag (``State(x, tag='hidden')``), or ``None``."""
        return self._metadata.get("tag")

    @tag.setter
    def tag(self, tag: str | None) -> None:
        self._metadata["tag"] = tag

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag of the state: :attr:`tag` first, then those added by :meth:`add_tag`."""
        tag = self._metadata.get("tag")
        extra = self._metadata.get("tags", ())
        return extra if tag is None else (tag, *extra)

    def add_tag(self, *tags: str) -> None:
        """Give the state more tags.

        The first tag a state gets is its :attr:`tag`, which string filters (``graph.states(obj,
        'hidden')``) match; further ones are found by :meth:`has_tag` and
        ``catch_new_states.get_by_tag``. Adding a tag the state has changes nothing.

        Example:
            >>> import brainstate
            >>> s = brainstate.State(0.0)
            >>> s.add_tag('hidden', 'fast'); s.add_tag('hidden')
            >>> s.tag, s.tags, s.has_tag('fast'), s.has_tag('slow')
            ('hidden', ('hidden', 'fast'), True, False)
        """
        for tag in tags:
            if not isinstance(tag, str):
                raise ConfigError(f"add_tag takes strings; got {type(tag).__name__} {tag!r} for {self!r}.")
            if tag in self.tags:
                continue
            if self._metadata.get("tag") is None:
                self._metadata["tag"] = tag
            else:
                self._metadata["tags"] = (*self._metadata.get("tags", ()), tag)

    def has_tag(self, tag: str) -> bool:
        """Whether ``tag`` is one of :attr:`tags`."""
        return tag in self.tags

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata keyword arguments (also readable as attributes)."""
        return self._metadata

    def __getstate__(self) -> Any:
        # Copies (copy.copy, pickling, graph clones) share neither this state's hook manager nor its
        # metadata dict (editing one copy's metadata must not change another's).
        state = super().__getstate__()
        if isinstance(state, tuple) and state[1]:
            slots = state[1]
            slots["_hooks"] = None
            if "_metadata" in slots:
                slots["_metadata"] = dict(slots["_metadata"])
        return state

    @property
    def source_info(self) -> str:
        """``file:line`` where this state was created."""
        return f"{self._source[0]}:{self._source[1]}"

    # -- the vmap batching hook --------------------------------------------------------------
    def to_lanes(self, axis_size: int) -> tuple[Any, int | None]:
        """Give this state's value to ``axis_size`` vmap lanes.

        ``brainstate.transform.vmap`` calls this for every state the function uses that was not
        declared in ``in_states``. It returns ``(value, in_axis)``: the default broadcasts the
        current value to all lanes (``in_axis=None``). Subclasses override it to give each lane
        its own value; ``RandomState`` splits its key so that every lane draws different numbers.
        """
        return read_without_hooks(self), None

    def from_lanes(self, value: Any, batched: bool, axis_size: int) -> None:
        """Take back the value the vmap lanes wrote (the other half of :meth:`to_lanes`).

        ``batched`` tells whether ``value`` carries a leading axis of size ``axis_size`` (the lanes
        wrote different values). The default keeps an unbatched value and refuses a batched one
        with :class:`BatchAxisError`, because one State cannot hold several lanes' values unless
        it was declared batched.
        """
        if batched:
            raise BatchAxisError(
                f"{self!r} (created at {self.source_info}) was written with a value that differs per "
                f"vmap lane (axis size {axis_size}), but it was not declared batched. Fix: declare it with "
                "`out_states=` (and `in_states=` if its input is batched too) so the stacked value is kept, "
                "or write a value that does not depend on the batched inputs."
            )
        write_without_hooks(self, value)

    # -- Python protocol ---------------------------------------------------------------------
    def __repr__(self) -> str:
        if self._dead:
            body = "<tracer of a finished trace>"
        else:
            body = format_value(peek(self))
        name = f", name={self._name!r}" if self._name is not None else ""
        tag = self._metadata.get("tag")
        tag = f", tag={tag!r}" if tag is not None else ""
        return f"{type(self).__name__}({body}{name}{tag})"

    def __treescope_repr__(self, path: str | None, subtree_renderer: Any) -> Any:
        """Treescope rendering (used when treescope is installed): the value and the metadata."""
        from treescope import repr_lib

        attributes = {"value": peek(self), **({"name": self._name} if self._name is not None else {}), **self._metadata}
        return repr_lib.render_object_constructor(type(self), attributes, path, subtree_renderer)

    def _repr_html_(self) -> str:
        """The notebook view: treescope's rendering when treescope is installed, else a built-in HTML view."""
        from ._html import notebook_html, state_html

        return notebook_html(self, state_html)

    def __jax_array__(self):
        raise StateArgumentError(self._as_value_message())

    def __bool__(self) -> bool:
        return True

    def _as_value_message(self) -> str:
        return (
            f"{self!r} (created at {self.source_info}) was used where an array was expected: it was "
            "passed to or returned from a JAX transformation, or used in arithmetic. JAX cannot track a "
            "State object there. Fix: use `state.value`, or let the function read the state directly and "
            "transform it with brainstate.transform, which threads states automatically."
        )


def read_without_hooks(state: State) -> Any:
    """``state.value`` (recorded by the active trace as usual) without running hooks.

    For a transformation's own reads: handing values to JAX is not a read by the user's code.
    """
    if not SWITCH.on:
        return state.value
    with _hooks.QUIET:
        return state.value


def write_without_hooks(state: State, value: Any) -> None:
    """``state.value = value`` (recorded by the active trace as usual) without running hooks.

    For a transformation's write-back: the hooks already ran when the user's code made the write.
    """
    if not SWITCH.on:
        state.value = value
        return
    with _hooks.QUIET:
        state.value = value


class ShortTermState(State):
    """A State whose value is transient: it is reset between trials or sequences."""

    __slots__ = ()


class LongTermState(State):
    """A State whose value persists across trials (parameters, running statistics)."""

    __slots__ = ()


class ParamState(LongTermState):
    """A trainable parameter."""

    __slots__ = ()


class HiddenState(ShortTermState):
    """The hidden state of a dynamical system (membrane potential, recurrent activation)."""

    __slots__ = ()

    @property
    def varshape(self) -> tuple[int, ...]:
        """The shape of the value (an array)."""
        return tuple(np.shape(peek(self)))

    @property
    def num_state(self) -> int:
        """How many hidden variables the state holds: 1 (see :class:`HiddenGroupState`)."""
        return 1


class BatchState(LongTermState):
    """Statistics accumulated over batches, such as BatchNorm's running mean and variance."""

    __slots__ = ()


class DelayState(ShortTermState):
    """The buffer of a delay (past values kept for delayed reads).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> isinstance(brainstate.DelayState(jnp.zeros((5, 3))), brainstate.ShortTermState)
        True
    """

    __slots__ = ()


def maybe_state(val: Any) -> Any:
    """``val.value`` if ``val`` is a :class:`State`, else ``val`` itself.

    Example:
        >>> import brainstate
        >>> brainstate.maybe_state(brainstate.State(3.0)), brainstate.maybe_state(4.0)
        (3.0, 4.0)
    """
    return val.value if isinstance(val, State) else val


_register_refusal(State)
