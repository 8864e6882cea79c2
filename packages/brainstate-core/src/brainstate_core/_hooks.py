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

import threading
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax

from ._errors import StateShapeError
from ._hook_types import (
    HOOK_TYPES,
    Hook,
    HookCancellationError,
    HookConfig,
    HookContext,
    HookError,
    HookExecutionError,
    HookHandle,
    HookRegistrationError,
    HookType,
    HookWarning,
    InitHookContext,
    MutableWriteHookContext,
    ReadHookContext,
    RestoreHookContext,
    WriteHookContext,
)
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


def _forget(ref: weakref.ref | None) -> None:  # a manager with hooks was collected
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
    if own is not None and not own._hooks[hook_type]:
        own = None
    has_global = bool(REGISTRY._hooks[hook_type])
    if not (has_global or own is not None) or _RUNNING.quiet or id(state) in _RUNNING.states:
        return ()
    if own is None:
        return (REGISTRY,)
    return (REGISTRY, own) if has_global else (own,)


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
