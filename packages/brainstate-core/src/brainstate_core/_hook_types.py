"""The pieces of the hook system: its errors, the contexts hooks receive, hooks, handles, config.

The managers that hold and run hooks, and the global registry, are in ``_hooks.py``.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import jax

from ._errors import BrainStateError

if TYPE_CHECKING:
    from ._hooks import HookManager
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
    brainstate.HookRegistrationError: Unknown hook type 'reed'; expected one of 'read', ...
    """


class HookCancellationError(HookError):
    """A ``write_before`` hook cancelled the write (``ctx.cancel = True``); the state keeps its value.

    >>> import brainstate
    >>> s = brainstate.State(1.0)
    >>> h = s.register_hook('write_before', lambda ctx: setattr(ctx, 'cancel', True), name='frozen')
    >>> s.value = 2.0
    Traceback (most recent call last):
    ...
    brainstate.HookCancellationError: Hook 'frozen' cancelled the write of State(1.0) ...
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
