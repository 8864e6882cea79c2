"""``Module``: the base class of layers and models, built on core's object graph."""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any, TypeVar

from brainstate_core import ConfigError, HiddenState, InputError, ParamState, State, catch_new_states, graph
from brainstate_core.internal import FilterLike, notebook_html
from brainstate_core.mixin import ParamDesc, ParamDescriber

from ._repr import module_html, module_repr
from ._utils import Size, as_size

__all__ = [
    "Module",
    "ElementWiseBlock",
    "Sequential",
    "init_all_states",
    "reset_all_states",
    "count_parameters",
]

S = TypeVar("S", bound=State)
M = TypeVar("M", bound="Module")


class _Local(threading.local):
    def __init__(self) -> None:
        # While not None, ``set_state`` creates fresh States and logs ``(module, name) -> old_state``
        # here, so that ``vmap_init_all_states`` can move the batched values into the old objects.
        # The first old state is kept: a transformation may run the body (and set_state) twice.
        self.replaced: dict[tuple[int, str], tuple[Module, str, State]] | None = None


_LOCAL = _Local()


def _dotted(path: tuple) -> str:
    return ".".join(str(k) for k in path)


class Module(graph.Node, ParamDesc):
    """Base class of every layer and model.

    A Module finds its States and sub-modules by looking at its attributes (and inside lists,
    tuples and dicts held by them), so there is nothing to register: assign a State or a Module
    to an attribute and it belongs to the model. Calling a module calls :meth:`update`.

    Override :meth:`init_state` to create the States that depend on the batch (hidden states of
    recurrent cells and neurons) and :meth:`reset_state` to reset them between sequences; create
    them with :meth:`set_state`, which reuses the existing State object when called again.

    Args:
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, brainstate_core as bc, jax.numpy as jnp
        >>> class Affine(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.w = bc.ParamState(jnp.ones((n, n)))
        ...         self.b = bc.ParamState(jnp.zeros(n))
        ...     def update(self, x):
        ...         return x @ self.w.value + self.b.value
        >>> model = Affine(2)
        >>> model(jnp.ones(2))
        Array([2., 2.], dtype=float32)
        >>> model.states(bc.ParamState)
        FlattedDict({('b',): ParamState(f32[2]), ('w',): ParamState(f32[2,2])})
        >>> nn.count_parameters(model)
        6

        States that depend on the batch are made with :meth:`set_state`; a second call reuses
        the State object, so compiled functions holding it see the new value:

        >>> h = model.set_state('h', jnp.zeros((2, 3)))
        >>> model.set_state('h', jnp.zeros((5, 3))) is h, h.value.shape
        (True, (5, 3))

        ``Cls.desc(...)`` records constructor arguments without building (a
        :class:`~brainstate.mixin.ParamDescriber`); :class:`Sequential` builds it with
        ``in_size=`` the ``out_size`` of the layer before:

        >>> d = nn.Linear.desc(out_size=2)
        >>> d(in_size=3).weight.value['weight'].shape
        (3, 2)
    """

    name: str | None = None
    #: The shape of one example in and out (without batch axes), where the layer knows it; else None.
    in_size: Any = None
    out_size: Any = None

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name

    # -- computation -------------------------------------------------------------------------
    def update(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; ``module(*args)`` calls it."""
        raise NotImplementedError(
            f"{type(self).__name__} defines no computation. Fix: override `update(self, ...)` (or "
            "`__call__`) in the subclass."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.update(*args, **kwargs)

    # -- batch-dependent states --------------------------------------------------------------
    def init_state(self, *args: Any, **kwargs: Any) -> None:
        """Create the States that depend on the batch size (called by :func:`init_all_states`)."""

    def reset_state(self, *args: Any, **kwargs: Any) -> None:
        """Reset the short-term States (called by :func:`reset_all_states`)."""

    def init_all_states(self, *args: Any, state_tag: str | None = None, **kwargs: Any) -> Any:
        """:func:`init_all_states` of this module, as a method (upstream's spelling); returns the
        :func:`~brainstate.catch_new_states` catcher of the States it created (tagged ``state_tag``).

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> class Counter(brainstate.nn.Module):
            ...     def init_state(self):
            ...         self.count = brainstate.ShortTermState(jnp.zeros(2))
            >>> len(Counter().init_all_states().get_states())
            1
        """
        with catch_new_states(state_tag) as catcher:
            init_all_states(self, *args, **kwargs)
        return catcher

    def reset_all_states(self, *args: Any, **kwargs: Any) -> None:
        """:func:`reset_all_states` of this module, as a method (upstream's spelling)."""
        reset_all_states(self, *args, **kwargs)

    def set_state(self, name: str, value: Any, state_type: type[S] = HiddenState, **metadata: Any) -> S:
        """Put ``value`` in the State attribute ``name``, creating it only if needed.

        If the attribute already holds a State of exactly ``state_type``, the value is assigned
        into that object (any shape), so functions compiled earlier keep seeing this State and
        retrace on a shape change; otherwise a new ``state_type(value, **metadata)`` is stored.
        Use it in :meth:`init_state` so that a second call (another batch size) updates the
        model in place (see the example of :class:`Module`).
        """
        existing: Any = self.__dict__.get(name)
        replaced = _LOCAL.replaced
        if type(existing) is state_type and replaced is None:
            existing.value = value
            return existing
        new = state_type(value, **metadata)
        if isinstance(existing, State) and replaced is not None and type(existing) is state_type:
            replaced.setdefault((id(self), name), (self, name, existing))
        setattr(self, name, new)
        return new

    # -- PyTorch-style views of the graph ----------------------------------------------------
    def parameters(self) -> Iterator[ParamState]:
        """The ParamStates of this module and its sub-modules, each once."""
        return iter(graph.states(self, ParamState).values())

    def named_parameters(self) -> Iterator[tuple[str, ParamState]]:
        """``(dotted path, ParamState)`` pairs, e.g. ``('layers.0.weight', ...)``."""
        return ((_dotted(p), s) for p, s in graph.states(self, ParamState).items())

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """``(dotted path, module)`` for this module (path ``''``) and every sub-module."""
        return ((_dotted(p), m) for p, m in graph.nodes(self, Module).items())

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first."""
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules: those reached without passing through another module."""
        found = graph.nodes(self, Module)
        paths = [p for p in found if p]
        for path in paths:
            if not any(path[: len(q)] == q for q in paths if len(q) < len(path)):
                yield _dotted(path), found[path]

    def children(self) -> Iterator[Module]:
        """The direct sub-modules (see :meth:`named_children`)."""
        return (m for _, m in self.named_children())

    # -- Param modules (brainstate.nn.Param) -------------------------------------------------
    def named_param_modules(self, allowed_hierarchy: tuple[int, int] = (0, sys.maxsize)) -> Iterator[tuple[str, Any]]:
        """``(dotted path, Param)`` for every :class:`~brainstate.nn.Param` of this module (itself
        included), whose depth (path length) lies in ``allowed_hierarchy`` (inclusive).

        Example:
            >>> import brainstate
            >>> class Cell(brainstate.nn.Module):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.tau = brainstate.nn.Param(10.0, t=brainstate.nn.PositiveT(), reg=brainstate.nn.L1Reg(0.1))
            ...         self.v_th = brainstate.nn.Const(1.0)
            >>> [name for name, _ in Cell().named_param_modules()]
            ['tau', 'v_th']
            >>> round(float(Cell().reg_loss()), 4)
            1.0
        """
        from ._param import Param

        low, high = allowed_hierarchy
        for path, param in graph.nodes(self, Param).items():
            if low <= len(path) <= high:
                yield _dotted(path), param

    def param_modules(self, allowed_hierarchy: tuple[int, int] = (0, sys.maxsize)) -> Iterator[Any]:
        """The :class:`~brainstate.nn.Param` modules of :meth:`named_param_modules`."""
        return (p for _, p in self.named_param_modules(allowed_hierarchy))

    def reg_loss(self) -> Any:
        """The sum of the :meth:`~brainstate.nn.Param.reg_loss` of every Param (``0.0`` without any)."""
        total: Any = 0.0
        for param in self.param_modules():
            total = total + param.reg_loss()
        return total

    @contextlib.contextmanager
    def param_precompute(self, allowed_hierarchy: tuple[int, int] = (0, sys.maxsize)) -> Iterator[None]:
        """Within the block, each Param's constrained value is computed once (:meth:`~brainstate.nn.Param.cache`);
        the caches are cleared on exit."""
        params = list(self.param_modules(allowed_hierarchy))
        for param in params:
            param.cache()
        try:
            yield
        finally:
            for param in params:
                param.clear_cache()

    # -- display -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The hyper-parameters shown in the repr, e.g. ``'in_size=3, out_size=4'``."""
        return ""

    def __repr__(self) -> str:
        return module_repr(self)

    def _repr_html_(self) -> str:
        """The notebook view: treescope's rendering when treescope is installed, else a collapsible HTML tree."""
        return notebook_html(self, module_html)

    def __treescope_repr__(self, path: str | None, subtree_renderer: Any) -> Any:
        """Treescope rendering (used when treescope is installed): the module's public attributes."""
        from treescope import repr_lib

        attributes = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return repr_lib.render_object_constructor(type(self), attributes, path, subtree_renderer)


def _walk(target: Any, exclude: FilterLike | None) -> tuple[list, list]:
    """``(to call, inside)``: the ``(path, module)`` pairs of ``target`` not matched by ``exclude``.

    ``to call`` lists every child before its parent; ``inside`` holds the modules below a module whose
    class sets ``_calls_children = True`` (a :class:`~brainstate.nn.Map` runs its wrapped module's
    ``init_state`` and ``reset_state`` per lane itself), which a collective call leaves to it.
    """
    found = graph.nodes(target, Module)
    if exclude is not None:
        skip = graph.to_predicate(exclude)
        found = {p: m for p, m in found.items() if not skip(p, m)}
    owners = [p for p, m in found.items() if getattr(type(m), "_calls_children", False)]
    inside = [(p, m) for p, m in found.items() if any(len(q) < len(p) and p[: len(q)] == q for q in owners)]
    hidden = {p for p, _ in inside}
    return [(p, m) for p, m in _post_order({p: m for p, m in found.items() if p not in hidden})], inside


def _post_order(found: dict) -> list:
    """The ``(path, module)`` pairs of ``found`` (sorted by path) with every child before its parent."""
    out: list = []
    stack: list = []
    for path, module in found.items():
        while stack and stack[-1][0] != path[: len(stack[-1][0])]:
            out.append(stack.pop())
        stack.append((path, module))
    out.extend(reversed(stack))
    return out


_MISSING = object()
_IF_NOT_EXIST = ("raise", "pass", "none", "warn")


def _call_all(target: Any, fn_name: str, args: tuple, kwargs: dict, exclude: FilterLike | None,
              if_not_exist: str = "raise") -> None:
    """Call ``fn_name(*args, **kwargs)`` on the modules of ``target`` (see :func:`brainstate.nn.call_all_fns`)."""
    calls = []
    for path, module in _walk(target, exclude)[0]:
        fn = getattr(module, fn_name, _MISSING)
        if fn is _MISSING:
            if if_not_exist == "raise":
                raise InputError(f"{type(module).__name__} at path {_dotted(path) or '(the root)'!r} has no method "
                                 f"{fn_name!r}. Fix: define it, or pass fn_if_not_exist='pass' (or 'warn') to skip "
                                 "such modules.")
            if if_not_exist == "warn":
                warnings.warn(f"{type(module).__name__} at path {_dotted(path) or '(the root)'!r} has no method "
                              f"{fn_name!r}; skipped.", UserWarning, stacklevel=3)
            continue
        if not callable(fn):
            raise InputError(f"{type(module).__name__}.{fn_name} at path {_dotted(path) or '(the root)'!r} is "
                             f"{type(fn).__name__}, not a method. Fix: call a method name.")
        calls.append((getattr(fn, "call_order", -1), fn))
    for _, fn in sorted(calls, key=lambda c: c[0]):  # stable: same level keeps children before parents
        fn(*args, **kwargs)


def _exclusion(caller: str, exclude: FilterLike | None, node_to_exclude: FilterLike | None) -> FilterLike | None:
    if exclude is not None and node_to_exclude is not None:
        raise InputError(f"{caller}() got both exclude= and node_to_exclude=, which are the same option. "
                         "Fix: pass one of them.")
    return node_to_exclude if exclude is None else exclude


def _from_library(fn: Any) -> bool:
    return (getattr(fn, "__module__", None) or "").split(".")[0] == "brainstate_nn"


def _check_keywords(caller: str, target: Any, exclude: FilterLike | None, kwargs: dict) -> None:
    """Refuse a keyword that no ``init_state`` / ``reset_state`` of ``target``'s modules can take.

    Known keywords: ``batch_size``, and every parameter named in the signature of one of those
    methods. A method defined outside brainstate.nn that takes ``**kwargs`` may read any keyword, so
    then every keyword is forwarded (the library's own ``**kwargs`` only absorb unused keywords).
    """
    if not kwargs:
        return
    known = {"batch_size"}
    to_call, inside = _walk(target, exclude)
    for _, module in to_call + inside:
        for name in ("init_state", "reset_state"):
            fn: Any = getattr(module, name, None)
            try:
                parameters = inspect.signature(fn).parameters.values()
            except (TypeError, ValueError):  # no signature to read: trust the method
                return
            for p in parameters:
                if p.kind is p.VAR_KEYWORD and not _from_library(fn):
                    return
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                    known.add(p.name)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise InputError(f"{caller}() got the keyword(s) {unknown}, which no init_state or reset_state of the modules "
                         f"of {type(target).__name__} takes (known: {sorted(known)}). Fix: check the spelling; "
                         "modules are left out with exclude= (alias node_to_exclude=).")


def init_all_states(target: M, *args: Any, exclude: FilterLike | None = None,
                    node_to_exclude: FilterLike | None = None, **kwargs: Any) -> M:
    """Call ``init_state(*args, **kwargs)`` on every module of ``target``, children first, root last.

    Methods decorated with :func:`~brainstate.nn.call_order` run after the others, by increasing
    level (modules of one level keep the children-first order).

    Args:
        target: a module (or any object tree holding modules).
        *args: passed to every ``init_state``, typically the batch size.
        exclude: a filter of modules (by type, tag, path predicate ...) to leave out.
        node_to_exclude: upstream's name of ``exclude`` (pass one of the two).
        **kwargs: passed to every ``init_state``: ``batch_size``, or a keyword one of the modules'
            ``init_state`` (or ``reset_state``) names; any other raises :class:`InputError`, naming it.

    Returns:
        ``target``.

    Example:
        >>> import brainstate_nn as nn
        >>> cell = nn.init_all_states(nn.GRUCell(3, 4), batch_size=2)
        >>> cell.h.value.shape
        (2, 4)
        >>> try:
        ...     nn.init_all_states(cell, batch_sise=2)
        ... except ValueError as err:
        ...     print(str(err).split(',')[0])
        init_all_states() got the keyword(s) ['batch_sise']
    """
    exclude = _exclusion("init_all_states", exclude, node_to_exclude)
    _check_keywords("init_all_states", target, exclude, kwargs)
    _call_all(target, "init_state", args, kwargs, exclude)
    return target


def reset_all_states(target: M, *args: Any, exclude: FilterLike | None = None,
                     node_to_exclude: FilterLike | None = None, **kwargs: Any) -> M:
    """Call ``reset_state(*args, **kwargs)`` on every module of ``target``, children first, root last.

    Arguments, order and errors as for :func:`init_all_states`.

    Example:
        >>> import brainstate_nn as nn
        >>> cell = nn.init_all_states(nn.GRUCell(3, 4), batch_size=2)
        >>> cell.h.value = cell.h.value + 1.0
        >>> float(nn.reset_all_states(cell, batch_size=2).h.value.sum())
        0.0
    """
    exclude = _exclusion("reset_all_states", exclude, node_to_exclude)
    _check_keywords("reset_all_states", target, exclude, kwargs)
    _call_all(target, "reset_state", args, kwargs, exclude)
    return target


def count_parameters(target: Any, *filters: FilterLike) -> int:
    """The number of scalar parameters of ``target``: the elements of its ParamStates.

    Args:
        target: a module or any object tree.
        *filters: count the States matching any of these instead (default ``ParamState``).

    Example:
        >>> import brainstate_nn as nn
        >>> nn.count_parameters(nn.Linear(3, 4))
        16
    """
    selected = graph.states(target, tuple(filters) if filters else ParamState)
    return sum(state.numel() for state in selected.values())


class ElementWiseBlock(Module):
    """Base class of modules that act element by element (activations, dropout): ``out_size == in_size``.

    It adds no computation; ``isinstance`` recognises such modules, and :class:`Sequential` passes
    the input size through them. ``in_size`` (optional, the shape of one example) sets both sizes.

    Args:
        in_size: optional shape of one example.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> class Square(nn.ElementWiseBlock):
        ...     def update(self, x):
        ...         return x * x
        >>> Square()(jnp.array([2.0, -3.0])), Square(in_size=3).out_size
        (Array([4., 9.], dtype=float32), (3,))
    """

    def __init__(self, in_size: Size | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        if in_size is not None:
            self.in_size = self.out_size = as_size(in_size, f"{type(self).__name__} in_size")


def _build(layer: Any, in_size: Any, index: int) -> tuple[Any, Any]:
    """``(layer, its out_size)``: a :class:`~brainstate.mixin.ParamDescriber` is built with ``in_size=``."""
    if isinstance(layer, ParamDescriber):
        if in_size is None:
            raise ConfigError(f"Sequential layer {index} is the description {layer!r}, which needs the output size "
                              "of the layer before it, and that is unknown. Fix: give the layer before it an in_size "
                              "(or an out_size), or build this layer yourself.")
        layer = layer(in_size=in_size)
    if not callable(layer):
        raise TypeError(f"Sequential layer {index} is {layer!r}, which is not callable. Fix: pass modules or functions.")
    if isinstance(layer, ElementWiseBlock) or not isinstance(layer, Module):
        return layer, in_size  # element-wise: the size passes through
    return layer, layer.out_size


class Sequential(Module):
    """Apply layers one after another; each layer is a module or any callable.

    Indexing gives a layer, slicing a new ``Sequential`` sharing the layers. A layer may also be a
    description ``Cls.desc(...)``: it is built with ``in_size=`` the ``out_size`` of the layer before
    (element-wise modules and plain functions pass the size on). ``in_size`` is the first layer's,
    ``out_size`` the last known one.

    Args:
        first: the first layer (upstream's name; the layers may also all be given positionally).
        *layers: the other layers.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> net(jnp.ones((4, 3))).shape, len(net), type(net[1]).__name__
        ((4, 2), 3, 'ReLU')
        >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear.desc(out_size=2), nn.Dropout.desc(0.5))
        >>> net.in_size, net[2].in_size, net.out_size
        ((3,), (8,), (2,))
    """

    def __init__(self, first: Any = None, *layers: Any, name: str | None = None) -> None:
        super().__init__(name=name)
        self.layers: list[Any] = []
        if first is None and not layers:
            return
        self.in_size = first.in_size if isinstance(first, Module) else None
        for layer in (first, *layers):
            self.append(layer)

    def update(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, layer: Any) -> Sequential:
        """Add ``layer`` (a callable, or a description built with ``in_size=self.out_size``) at the end; returns ``self``."""
        layer, self.out_size = _build(layer, self.out_size if self.layers else self.in_size, len(self.layers))
        self.layers.append(layer)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)
