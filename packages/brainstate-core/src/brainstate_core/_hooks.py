"""State hooks: Python callbacks run when a State is read, written, restored or created.

A hook is registered either on one state (:meth:`State.register_hook`) or for every state
(:func:`register_state_hook`, the :class:`GlobalHookRegistry`). Global hooks run before the
state's own hooks; within each group, higher ``priority`` runs first, then registration order.

Hooks run where the user's code touches ``State.value``, with the value that code sees: concrete
arrays when it runs eagerly, JAX tracers while a brainstate transformation traces it. So under
``transform.jit`` a hook runs when the function is traced, not on every compiled call (use
``jax.debug.callback`` inside a hook for a per-call effect), and it may run more than once for one
call when a transformation traces the function more than once. A ``write_before`` hook that
transforms the value under a trace is compiled into the program. The transformations' own
plumbing (handing state values to JAX, writing the results back, undoing a trace's writes) runs no
hooks: it is not a read or write by the user's code, and re-running a transforming hook there
would apply it twice.

While a state's hooks run, operations on that same state run no hooks (a ``write_after`` hook may
read the state it watches without recursing).

When no hook is registered anywhere, ``State.value`` pays for one flag check and nothing else.
"""

from __future__ import annotations

import itertools
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import jax

from ._errors import BrainStateError, StateShapeError
from ._trace import LOCAL, SWITCH, peek

if TYPE_CHECKING:
    from ._state import State

__all__ = [
    "HookError",
    "HookExecutionError",
    "HookRegistrationError",
    "HookCancellationError",
    "HookWarning",
    "HookContext",
    "ReadHookContext",
    "WriteHookContext",
    "MutableWriteHookContext",
    "RestoreHookContext",
    "InitHookContext",
    "Hook",
    "HookHandle",
    "HookConfig",
    "HookManager",
    "GlobalHookRegistry",
    "register_state_hook",
    "unregister_state_hook",
    "clear_state_hooks",
    "has_state_hooks",
    "list_state_hooks",
]

HookType = Literal["read", "write_before", "write_after", "restore", "init"]
HOOK_TYPES: tuple[str, ...] = ("read", "write_before", "write_after", "restore", "init")


# -- errors --------------------------------------------------------------------------------------
class HookError(BrainStateError):
    """Base class of the errors of the hook system (a :class:`BrainStateError`).

    >>> import brainstate
    >>> issubclass(brainstate.HookCancellationError, brainstate.HookError)
    True
    """


class HookExecutionError(HookError):
    """A hook callback raised; the original exception is the ``__cause__``.

    >>> import brainstate
    >>> s = brainstate.State(0.0)
    >>> h = s.register_hook('read', lambda ctx: 1 / 0)
    >>> try:
    ...     s.value
    ... except brainstate.HookExecutionError as e:
    ...     type(e.__cause__).__name__
    'ZeroDivisionError'
    """


class HookRegistrationError(HookError, ValueError):
    """A hook could not be registered (unknown hook type, callback not callable, removed handle).

    >>> import brainstate
    >>> brainstate.State(0.0).register_hook('reed', print)
    Traceback (most recent call last):
    ...
    brainstate_core.HookRegistrationError: Unknown hook type 'reed'; expected one of 'read', ...
    """


class HookCancellationError(HookError):
    """A ``write_before`` hook cancelled the write (``ctx.cancel = True``); the state keeps its value.

    >>> import brainstate
    >>> s = brainstate.State(1.0)
    >>> h = s.register_hook('write_before', lambda ctx: setattr(ctx, 'cancel', True), name='frozen')
    >>> s.value = 2.0
    Traceback (most recent call last):
    ...
    brainstate_core.HookCancellationError: Hook 'frozen' cancelled the write of State(1.0) ...
    >>> s.value
    1.0
    """


class HookWarning(UserWarning):
    """Issued for a failing hook when its manager's :class:`HookConfig` says ``on_error='log'``.

    >>> import brainstate
    >>> issubclass(brainstate.HookWarning, UserWarning)
    True
    """


# -- contexts ------------------------------------------------------------------------------------
@dataclass(slots=True)
class HookContext:
    """What a hook callback receives: the operation, the state (weakly referenced) and metadata.

    Attributes:
        operation: ``'read'``, ``'write_before'``, ``'write_after'``, ``'restore'`` or ``'init'``.
        state_ref: a weak reference to the state.
        timestamp: ``time.time()`` when the context was made.
        metadata: a free dict a hook may use to pass information to the hooks after it.

    Example:
        >>> import brainstate
        >>> s = brainstate.State(1.0, name='v')
        >>> seen = []
        >>> h = s.register_hook('read', lambda ctx: seen.append((ctx.operation, ctx.state_name, ctx.value)))
        >>> _ = s.value
        >>> seen
        [('read', 'v', 1.0)]
    """

    operation: str
    state_ref: weakref.ref
    timestamp: float = field(default_factory=time.time)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> State | None:
        """The state, or ``None`` if it no longer exists."""
        return self.state_ref()

    @property
    def state_name(self) -> str | None:
        """The state's name (``None`` if it has none or no longer exists)."""
        state = self.state_ref()
        return None if state is None else state.name


@dataclass(slots=True)
class ReadHookContext(HookContext):
    """Context of a ``read`` hook: ``value`` is the value being read (a tracer under a trace).

    Example:
        >>> import brainstate
        >>> s = brainstate.State(2.0)
        >>> h = s.register_hook('read', lambda ctx: print(type(ctx).__name__, ctx.value))
        >>> _ = s.value
        ReadHookContext 2.0
    """

    value: Any = None


@dataclass(slots=True)
class WriteHookContext(HookContext):
    """Context of a ``write_after`` hook: the new ``value`` and the ``old_value`` it replaced.

    Example:
        >>> import brainstate
        >>> s = brainstate.State(1.0)
        >>> h = s.register_hook('write_after', lambda ctx: print(ctx.old_value, '->', ctx.value))
        >>> s.value = 2.0
        1.0 -> 2.0
    """

    value: Any = None
    old_value: Any = None


@dataclass(slots=True)
class MutableWriteHookContext(WriteHookContext):
    """Context of a ``write_before`` hook, which may change or cancel the write.

    ``value`` is always the value the code assigned; ``transformed_value`` starts as the result of
    the hooks that ran before (the assigned value for the first). Set ``transformed_value`` to write
    something else, or ``cancel = True`` (with an optional ``cancel_reason``) to refuse the write
    with :class:`HookCancellationError`.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.State(jnp.zeros(2))
        >>> def clip(ctx):
        ...     ctx.transformed_value = jnp.clip(ctx.transformed_value, -1.0, 1.0)
        >>> h = s.register_hook('write_before', clip)
        >>> s.value = jnp.array([3.0, -0.5])
        >>> s.value
        Array([ 1. , -0.5], dtype=float32)
    """

    transformed_value: Any = None
    cancel: bool = False
    cancel_reason: str | None = None


@dataclass(slots=True)
class RestoreHookContext(WriteHookContext):
    """Context of a ``restore`` hook (``State.restore_value``): the restored ``value`` and the ``old_value``.

    Example:
        >>> import brainstate
        >>> s = brainstate.State(1.0)
        >>> h = s.register_hook('restore', lambda ctx: print('restored', ctx.value))
        >>> s.restore_value(0.0)
        restored 0.0
    """


@dataclass(slots=True)
class InitHookContext(HookContext):
    """Context of an ``init`` hook (a state was created): its ``value`` and ``init_metadata``.

    ``init_metadata`` holds the name and the metadata keyword arguments the state was given.

    Example:
        >>> import brainstate
        >>> h = brainstate.register_state_hook('init', lambda ctx: print(ctx.init_metadata))
        >>> _ = brainstate.State(0.0, name='v', unit='mV')
        {'name': 'v', 'unit': 'mV'}
        >>> brainstate.unregister_state_hook(h)
        True
    """

    value: Any = None
    init_metadata: dict[str, Any] = field(default_factory=dict)


# -- hooks and handles ---------------------------------------------------------------------------
_IDS = itertools.count()


class Hook:
    """A callback with a priority (higher runs first), a name and an enabled flag.

    Args:
        callback: called with the :class:`HookContext`; its return value is ignored.
        priority: execution order, higher first; equal priorities run in registration order.
        name: a name for reprs and error messages (default ``hook_<id>``).
        enabled: whether the hook runs.

    Example:
        >>> import brainstate
        >>> h = brainstate.Hook(print, priority=5, name='log')
        >>> h
        Hook(name='log', priority=5, enabled)
    """

    __slots__ = ("callback", "priority", "name", "enabled", "hook_id", "error_count")

    def __init__(self, callback: Callable[[HookContext], Any], priority: int = 0, name: str | None = None,
                 enabled: bool = True) -> None:
        if not callable(callback):
            raise HookRegistrationError(f"A hook callback must be callable, got {type(callback).__name__} {callback!r}.")
        self.callback = callback
        self.priority = priority
        self.hook_id = next(_IDS)
        self.name = name if name is not None else f"hook_{self.hook_id}"
        self.enabled = enabled
        self.error_count = 0

    def execute(self, context: HookContext) -> Any:
        """Call the callback with ``context`` (nothing if disabled); a failure raises :class:`HookExecutionError`."""
        if not self.enabled:
            return None
        try:
            return self.callback(context)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            raise HookExecutionError(_failure_message(self, context, exc)) from exc

    def _order(self) -> tuple[int, int]:
        return (-self.priority, self.hook_id)

    def __lt__(self, other: Hook) -> bool:
        return self._order() < other._order()

    def __repr__(self) -> str:
        return f"Hook(name={self.name!r}, priority={self.priority}, {'enabled' if self.enabled else 'disabled'})"


# Errors a hook may raise that are not the hook's fault and keep their type: JAX refusing a Python
# branch on a tracer (``if ctx.value > 0`` under jit) is what brainstate's eager transformations
# catch to fall back to running the function concretely, and a cancellation is already a HookError.
_PASS_THROUGH = (jax.errors.JAXTypeError, jax.errors.ConcretizationTypeError, HookCancellationError)


def _failure_message(hook: Hook, context: HookContext, exc: BaseException) -> str:
    state = context.state_ref()
    where = "" if state is None else f" on {state!r} (created at {state.source_info})"
    return (f"Hook {hook.name!r} ({context.operation}){where} raised {type(exc).__name__}: {exc}. Fix the hook, "
            "or give its manager HookConfig(on_error='log') to turn hook failures into HookWarning.")


class HookHandle:
    """The handle :meth:`HookManager.register_hook` returns: enable, disable or remove that hook.

    Example:
        >>> import brainstate
        >>> s = brainstate.State(0.0)
        >>> calls = []
        >>> h = s.register_hook('read', lambda ctx: calls.append(1))
        >>> h.disable(); _ = s.value
        >>> h.enable(); _ = s.value
        >>> h.remove(), h.is_removed(), len(calls)
        (True, True, 1)
    """

    __slots__ = ("_manager_ref", "_hook", "_hook_type", "_removed")

    def __init__(self, manager_ref: weakref.ref, hook: Hook, hook_type: str) -> None:
        self._manager_ref = manager_ref
        self._hook = hook
        self._hook_type = hook_type
        self._removed = False

    def _live_manager(self, action: str) -> HookManager:
        if self._removed:
            raise HookRegistrationError(f"Cannot {action} hook {self.name!r}: it was removed.")
        manager = self._manager_ref()
        if manager is None:
            raise HookRegistrationError(f"Cannot {action} hook {self.name!r}: its state no longer exists.")
        return manager

    def enable(self) -> None:
        """Make the hook run again."""
        self._live_manager("enable")
        self._hook.enabled = True

    def disable(self) -> None:
        """Stop the hook from running (it stays registered)."""
        self._live_manager("disable")
        self._hook.enabled = False

    def remove(self) -> bool:
        """Unregister the hook; ``False`` if it was already removed (or its manager is gone)."""
        manager = self._manager_ref()
        if self._removed or manager is None:
            return False
        return manager.unregister_hook(self)

    def is_enabled(self) -> bool:
        """Whether the hook is registered and enabled."""
        return not self._removed and self._hook.enabled

    def is_removed(self) -> bool:
        """Whether the hook was removed."""
        return self._removed

    @property
    def hook(self) -> Hook:
        """The :class:`Hook` this handle manages."""
        return self._hook

    @property
    def hook_type(self) -> str:
        """The hook type it was registered for."""
        return self._hook_type

    @property
    def name(self) -> str:
        return self._hook.name

    @property
    def priority(self) -> int:
        return self._hook.priority

    def __repr__(self) -> str:
        if self._removed:
            return f"HookHandle(name={self.name!r}, removed)"
        return f"HookHandle(name={self.name!r}, priority={self.priority}, {'enabled' if self._hook.enabled else 'disabled'})"


@dataclass
class HookConfig:
    """How a :class:`HookManager` treats a hook whose callback raises.

    Attributes:
        on_error: ``'raise'`` (default): the operation fails with :class:`HookExecutionError`;
            ``'log'``: a :class:`HookWarning` is issued (or ``error_logger`` called) and the
            remaining hooks and the operation go on; ``'ignore'``: the failure is dropped.
        error_logger: ``(message, exception, hook, context) -> None``, used instead of the warning
            when ``on_error='log'``.
        max_errors_per_hook: with ``disable_on_error``, failures after which a hook is disabled.
        disable_on_error: whether a hook that failed ``max_errors_per_hook`` times is disabled.

    Example:
        >>> import warnings, brainstate
        >>> s = brainstate.State(0.0)
        >>> s.hooks.config = brainstate.HookConfig(on_error='log')
        >>> h = s.register_hook('read', lambda ctx: 1 / 0, name='bad')
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter('always')
        ...     value = s.value
        >>> value, caught[0].category.__name__
        (0.0, 'HookWarning')
    """

    on_error: Literal["raise", "log", "ignore"] = "raise"
    error_logger: Callable[[str, Exception, Hook, HookContext], None] | None = None
    max_errors_per_hook: int = 10
    disable_on_error: bool = False

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "log", "ignore"):
            raise HookRegistrationError(f"HookConfig(on_error={self.on_error!r}): expected 'raise', 'log' or 'ignore'.")


# -- managers ------------------------------------------------------------------------------------
class _Active:
    """Managers holding at least one hook; ``SWITCH.hooks`` is true while there is one."""

    lock = threading.RLock()
    managers: weakref.WeakSet = weakref.WeakSet()

    @classmethod
    def update(cls, manager: HookManager | None, has_hooks: bool) -> None:
        with cls.lock:
            if manager is not None:
                if has_hooks:
                    cls.managers.add(manager)
                else:
                    cls.managers.discard(manager)
            # Iterating skips managers being collected (their references are already dead).
            SWITCH.set_hooks(any(True for _ in cls.managers))


def _forget(ref: weakref.ref) -> None:  # a manager with hooks was collected
    _Active.update(None, False)


class HookManager:
    """The hooks of one State (``state.hooks``), or of all of them (:class:`GlobalHookRegistry`).

    Registration is thread-safe; running takes a snapshot of the hooks, so a hook may register or
    remove hooks while it runs.

    Args:
        config: how failing hooks are treated (:class:`HookConfig`; default: they raise).

    Example:
        >>> import brainstate
        >>> manager = brainstate.HookManager()
        >>> h = manager.register_hook('read', lambda ctx: None, priority=10, name='reader')
        >>> manager.has_hooks('read'), manager.has_hooks('write_before'), manager.get_hooks()
        (True, False, [Hook(name='reader', priority=10, enabled)])
        >>> manager.clear_hooks(); manager.has_hooks()
        False
    """

    def __init__(self, config: HookConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._hooks: dict[str, tuple[Hook, ...]] = {t: () for t in HOOK_TYPES}
        self._finalizer: weakref.finalize | None = None
        self.config = config if config is not None else HookConfig()

    # -- registration ------------------------------------------------------------------------------
    def register_hook(self, hook_type: HookType, callback: Callable[[HookContext], Any], priority: int = 0,
                      name: str | None = None, enabled: bool = True) -> HookHandle:
        """Register ``callback`` for ``hook_type``; return its :class:`HookHandle`.

        Raises:
            HookRegistrationError: ``hook_type`` is not one of ``'read'``, ``'write_before'``,
                ``'write_after'``, ``'restore'``, ``'init'``, or ``callback`` is not callable.
        """
        if hook_type not in HOOK_TYPES:
            raise HookRegistrationError(f"Unknown hook type {hook_type!r}; expected one of {', '.join(map(repr, HOOK_TYPES))}.")
        hook = Hook(callback, priority, name, enabled)
        with self._lock:
            self._hooks[hook_type] = tuple(sorted(self._hooks[hook_type] + (hook,)))
            self._changed()
        return HookHandle(weakref.ref(self), hook, hook_type)

    def unregister_hook(self, handle: HookHandle) -> bool:
        """Remove the hook of ``handle``; ``False`` if this manager does not hold it."""
        with self._lock:
            hooks = self._hooks.get(handle._hook_type, ())
            if handle._hook not in hooks:
                return False
            self._hooks[handle._hook_type] = tuple(h for h in hooks if h is not handle._hook)
            handle._removed = True
            self._changed()
        return True

    def clear_hooks(self, hook_type: HookType | None = None) -> None:
        """Remove every hook (of ``hook_type`` only, if given)."""
        with self._lock:
            for t in HOOK_TYPES if hook_type is None else (self._check_type(hook_type),):
                self._hooks[t] = ()
            self._changed()

    def _changed(self) -> None:
        holds = any(self._hooks.values())
        if holds and self._finalizer is None:
            self._finalizer = weakref.finalize(self, _forget, None)
        _Active.update(self, holds)

    @staticmethod
    def _check_type(hook_type: str) -> str:
        if hook_type not in HOOK_TYPES:
            raise HookRegistrationError(f"Unknown hook type {hook_type!r}; expected one of {', '.join(map(repr, HOOK_TYPES))}.")
        return hook_type

    # -- queries ---------------------------------------------------------------------------------
    def get_hooks(self, hook_type: HookType | None = None) -> list[Hook]:
        """The registered hooks (of ``hook_type``, if given), in execution order within each type."""
        if hook_type is not None:
            return list(self._hooks[self._check_type(hook_type)])
        return [h for t in HOOK_TYPES for h in self._hooks[t]]

    def has_hooks(self, hook_type: HookType | None = None) -> bool:
        """Whether an enabled hook is registered (for ``hook_type``, if given)."""
        types = HOOK_TYPES if hook_type is None else (self._check_type(hook_type),)
        return any(h.enabled for t in types for h in self._hooks[t])

    # -- execution -------------------------------------------------------------------------------
    def _run(self, hooks: tuple[Hook, ...], context: HookContext) -> None:
        for hook in hooks:
            if hook.enabled:
                try:
                    hook.execute(context)
                except HookExecutionError as exc:
                    self._handle_error(hook, exc, context)

    def _handle_error(self, hook: Hook, error: HookExecutionError, context: HookContext) -> None:
        config = self.config
        hook.error_count += 1
        if config.disable_on_error and hook.error_count >= config.max_errors_per_hook:
            hook.enabled = False
        if config.on_error == "raise":
            raise error
        if config.on_error == "log":
            cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
            if config.error_logger is not None:
                config.error_logger(str(error), cause, hook, context)
            else:
                warnings.warn(str(error), HookWarning, stacklevel=4)

    def execute_read_hooks(self, value: Any, state_ref: weakref.ref) -> None:
        """Run the ``read`` hooks with a :class:`ReadHookContext`."""
        if self._hooks["read"]:
            self._run(self._hooks["read"], ReadHookContext("read", state_ref, value=value))

    def execute_write_before_hooks(self, new_value: Any, old_value: Any, state_ref: weakref.ref) -> Any:
        """Run the ``write_before`` hooks, each seeing the previous one's result; return the value to write.

        Raises:
            HookCancellationError: a hook set ``ctx.cancel``.
        """
        value = new_value
        for hook in self._hooks["write_before"]:
            if not hook.enabled:
                continue
            context = MutableWriteHookContext("write_before", state_ref, value=new_value, old_value=old_value,
                                              transformed_value=value)
            try:
                hook.execute(context)
            except HookExecutionError as exc:
                self._handle_error(hook, exc, context)
                continue
            if context.cancel:
                raise HookCancellationError(_cancel_message(hook, context))
            if context.transformed_value is not None:
                value = context.transformed_value
        return value

    def execute_write_after_hooks(self, new_value: Any, old_value: Any, state_ref: weakref.ref) -> None:
        """Run the ``write_after`` hooks with a :class:`WriteHookContext`."""
        if self._hooks["write_after"]:
            self._run(self._hooks["write_after"], WriteHookContext("write_after", state_ref, value=new_value,
                                                                    old_value=old_value))

    def execute_restore_hooks(self, new_value: Any, old_value: Any, state_ref: weakref.ref) -> None:
        """Run the ``restore`` hooks with a :class:`RestoreHookContext`."""
        if self._hooks["restore"]:
            self._run(self._hooks["restore"], RestoreHookContext("restore", state_ref, value=new_value,
                                                                  old_value=old_value))

    def execute_init_hooks(self, value: Any, state_ref: weakref.ref, init_metadata: dict[str, Any] | None = None) -> None:
        """Run the ``init`` hooks with an :class:`InitHookContext`."""
        if self._hooks["init"]:
            self._run(self._hooks["init"], InitHookContext("init", state_ref, value=value,
                                                            init_metadata=dict(init_metadata or {})))

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={len(h)}" for t, h in self._hooks.items() if h)
        return f"{type(self).__name__}({counts})"


def _cancel_message(hook: Hook, context: MutableWriteHookContext) -> str:
    state = context.state_ref()
    where = "" if state is None else f" of {state!r} (created at {state.source_info})"
    reason = context.cancel_reason or "no reason given"
    return f"Hook {hook.name!r} cancelled the write{where}: {reason}. The state keeps its value."


class GlobalHookRegistry(HookManager):
    """The one registry of hooks that run for every State, before each state's own hooks.

    ``GlobalHookRegistry()`` and :meth:`instance` return the same object. The module functions
    :func:`register_state_hook` and friends act on it.

    Example:
        >>> import brainstate
        >>> brainstate.GlobalHookRegistry() is brainstate.GlobalHookRegistry.instance()
        True
    """

    _instance: GlobalHookRegistry | None = None

    def __new__(cls, config: HookConfig | None = None) -> GlobalHookRegistry:
        if GlobalHookRegistry._instance is None:
            instance = super().__new__(cls)
            HookManager.__init__(instance, config)
            GlobalHookRegistry._instance = instance
        return GlobalHookRegistry._instance

    def __init__(self, config: HookConfig | None = None) -> None:  # the state lives in the singleton
        if config is not None:
            self.config = config

    @classmethod
    def instance(cls) -> GlobalHookRegistry:
        """The registry."""
        return cls()

    @classmethod
    def reset(cls) -> None:
        """Remove every global hook and restore the default :class:`HookConfig` (for tests)."""
        registry = cls()
        registry.clear_hooks()
        registry.config = HookConfig()


REGISTRY = GlobalHookRegistry()


def register_state_hook(hook_type: HookType, callback: Callable[[HookContext], Any], priority: int = 0,
                        name: str | None = None, enabled: bool = True) -> HookHandle:
    """Register a hook that runs for every State (before each state's own hooks).

    Args:
        hook_type: ``'read'``, ``'write_before'``, ``'write_after'``, ``'restore'`` or ``'init'``.
        callback: called with the :class:`HookContext` of the operation.
        priority: higher runs first.
        name: a name for reprs and error messages.
        enabled: whether the hook runs from the start.

    Returns:
        The :class:`HookHandle` of the hook.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> writes = []
        >>> h = brainstate.register_state_hook('write_after', lambda ctx: writes.append(ctx.state_name))
        >>> a, b = brainstate.State(0.0, name='a'), brainstate.State(0.0, name='b')
        >>> a.value, b.value = 1.0, 2.0
        >>> brainstate.unregister_state_hook(h), writes
        (True, ['a', 'b'])
    """
    return REGISTRY.register_hook(hook_type, callback, priority, name, enabled)


def unregister_state_hook(handle: HookHandle) -> bool:
    """Remove a global hook; ``False`` if it is not registered (see :func:`register_state_hook`).

    Example:
        >>> import brainstate
        >>> h = brainstate.register_state_hook('read', lambda ctx: None)
        >>> brainstate.unregister_state_hook(h), brainstate.unregister_state_hook(h)
        (True, False)
    """
    return REGISTRY.unregister_hook(handle)


def clear_state_hooks(hook_type: HookType | None = None) -> None:
    """Remove every global hook (of ``hook_type`` only, if given).

    Example:
        >>> import brainstate
        >>> _ = brainstate.register_state_hook('read', lambda ctx: None)
        >>> brainstate.clear_state_hooks(); brainstate.has_state_hooks()
        False
    """
    REGISTRY.clear_hooks(hook_type)


def has_state_hooks(hook_type: HookType | None = None) -> bool:
    """Whether an enabled global hook is registered (for ``hook_type``, if given).

    Example:
        >>> import brainstate
        >>> h = brainstate.register_state_hook('init', lambda ctx: None)
        >>> brainstate.has_state_hooks('init'), brainstate.has_state_hooks('read')
        (True, False)
        >>> h.remove()
        True
    """
    return REGISTRY.has_hooks(hook_type)


def list_state_hooks(hook_type: HookType | None = None) -> list[Hook]:
    """The global hooks (of ``hook_type``, if given), in execution order within each type.

    Example:
        >>> import brainstate
        >>> h = brainstate.register_state_hook('read', lambda ctx: None, name='watch')
        >>> brainstate.list_state_hooks('read')
        [Hook(name='watch', priority=0, enabled)]
        >>> h.remove()
        True
    """
    return REGISTRY.get_hooks(hook_type)


# -- running hooks for a state operation (only reached while SWITCH.on) ---------------------------
class _Running(threading.local):
    def __init__(self) -> None:
        self.states: set[int] = set()  # the states whose hooks are running in this thread
        self.quiet = 0  # > 0 inside QUIET: a transformation's own reads and writes


_RUNNING = _Running()


class _Quiet:
    """Inside ``with QUIET:``, state operations of this thread run no hooks (transformation plumbing)."""

    __slots__ = ()

    def __enter__(self) -> None:
        _RUNNING.quiet += 1

    def __exit__(self, *exc: Any) -> None:
        _RUNNING.quiet -= 1


QUIET = _Quiet()


def _managers(state: State, hook_type: str) -> tuple[HookManager, ...]:
    """The managers with hooks of ``hook_type`` for ``state`` (global first), or ``()`` while its hooks run."""
    own = state._hooks
    has_global = bool(REGISTRY._hooks[hook_type])
    has_own = own is not None and bool(own._hooks[hook_type])
    if not (has_global or has_own) or _RUNNING.quiet or id(state) in _RUNNING.states:
        return ()
    if has_global and has_own:
        return (REGISTRY, own)
    return (REGISTRY,) if has_global else (own,)


class _Guard:
    """Operations on ``state`` run no hooks inside this block (its own hooks are running)."""

    __slots__ = ("sid",)

    def __init__(self, state: State) -> None:
        self.sid = id(state)

    def __enter__(self) -> None:
        _RUNNING.states.add(self.sid)

    def __exit__(self, *exc: Any) -> None:
        _RUNNING.states.discard(self.sid)


def after_read(state: State, value: Any) -> None:
    """Run the read hooks of ``state`` for ``value``."""
    managers = _managers(state, "read")
    if managers:
        ref = weakref.ref(state)
        with _Guard(state):
            for manager in managers:
                manager.execute_read_hooks(value, ref)


def _old_value(state: State) -> Any:
    """The value a write replaces, as the writing code would read it (``None`` for a dead state)."""
    if state._dead and state not in LOCAL.overlay:
        return None
    with _Guard(state):
        return state.value


def before_write(state: State, value: Any) -> tuple[Any, Any, tuple[HookManager, ...]]:
    """Check and transform a write: ``(value to write, old value, managers of the after-write hooks)``."""
    checks = LOCAL.tree_checks
    if checks and checks[-1] and not state._dead:
        _check_tree(state, value)
    before = _managers(state, "write_before")
    after = _managers(state, "write_after")
    if not (before or after):
        return value, None, ()
    old = _old_value(state)
    if before:
        ref = weakref.ref(state)
        with _Guard(state):
            for manager in before:
                value = manager.execute_write_before_hooks(value, old, ref)
    return value, old, after


def after_write(state: State, value: Any, old: Any, managers: tuple[HookManager, ...]) -> None:
    """Run the write_after hooks (``managers`` from :func:`before_write`)."""
    ref = weakref.ref(state)
    with _Guard(state):
        for manager in managers:
            manager.execute_write_after_hooks(value, old, ref)


def on_restore(state: State, value: Any, old: Any) -> None:
    """Run the restore hooks of ``state``."""
    managers = _managers(state, "restore")
    if managers:
        ref = weakref.ref(state)
        with _Guard(state):
            for manager in managers:
                manager.execute_restore_hooks(value, old, ref)


def on_init(state: State, value: Any, name: str | None, metadata: dict[str, Any]) -> None:
    """Run the init hooks (the global ones: a new state has none of its own yet)."""
    managers = _managers(state, "init")
    if managers:
        ref = weakref.ref(state)
        init = {"name": name, **metadata} if name is not None else dict(metadata)
        with _Guard(state):
            for manager in managers:
                manager.execute_init_hooks(value, ref, init)


def _check_tree(state: State, value: Any) -> None:
    old = jax.tree.structure(peek(state))
    new = jax.tree.structure(value)
    if old != new:
        raise StateShapeError(
            f"{state!r} (created at {state.source_info}) was assigned a value whose tree structure {new} differs "
            f"from its current one {old}, inside check_state_value_tree(). Fix: assign a value of the same "
            "structure, or create a new State for the new structure."
        )


# Show the public home in tracebacks (``brainstate_core.HookCancellationError``).
for _cls in (HookError, HookExecutionError, HookRegistrationError, HookCancellationError, HookWarning):
    _cls.__module__ = "brainstate_core"
del _cls
