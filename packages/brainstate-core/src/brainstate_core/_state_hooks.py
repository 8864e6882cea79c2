"""The per-state hook methods of :class:`~brainstate_core.State` (``register_hook``, ``temporary_hook``, ...).

A base class of ``State``, kept apart so that ``_state.py`` holds the value semantics alone; the
hook machinery itself is in ``_hooks.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from . import _hooks
from ._hook_types import HookType

__all__ = ["StateHookMethods"]


class StateHookMethods:
    """Hooks of one state: its :class:`HookManager` (``self._hooks``, made at the first use)."""

    __slots__ = ()
    _hooks: _hooks.HookManager | None

    @property
    def hooks(self) -> _hooks.HookManager:
        """This state's :class:`HookManager` (made at the first use)."""
        if self._hooks is None:
            self._hooks = _hooks.HookManager()
        return self._hooks

    def register_hook(self, hook_type: HookType, callback: Callable[[_hooks.HookContext], Any],
                      priority: int = 0, name: str | None = None, enabled: bool = True) -> _hooks.HookHandle:
        """Run ``callback`` on this state's ``hook_type`` operations; see :func:`register_state_hook`.

        Example:
            >>> import brainstate
            >>> s = brainstate.State(1.0)
            >>> h = s.register_hook('write_after', lambda ctx: print('now', ctx.value))
            >>> s.value = 2.0
            now 2.0
            >>> s.unregister_hook(h), s.has_hooks()
            (True, False)
        """
        return self.hooks.register_hook(hook_type, callback, priority, name, enabled)

    def unregister_hook(self, handle: _hooks.HookHandle) -> bool:
        """Remove one of this state's hooks; ``False`` if it is not registered here."""
        return self._hooks is not None and self._hooks.unregister_hook(handle)

    def list_hooks(self, hook_type: HookType | None = None) -> list[_hooks.Hook]:
        """This state's hooks (of ``hook_type``, if given)."""
        return [] if self._hooks is None else self._hooks.get_hooks(hook_type)

    def clear_hooks(self, hook_type: HookType | None = None) -> None:
        """Remove this state's hooks (of ``hook_type`` only, if given)."""
        if self._hooks is not None:
            self._hooks.clear_hooks(hook_type)

    def has_hooks(self, hook_type: HookType | None = None) -> bool:
        """Whether this state has an enabled hook of its own (for ``hook_type``, if given)."""
        return self._hooks is not None and self._hooks.has_hooks(hook_type)

    @contextlib.contextmanager
    def temporary_hook(self, hook_type: HookType, callback: Callable[[_hooks.HookContext], Any],
                       priority: int = 0) -> Iterator[_hooks.HookHandle]:
        """A hook registered for the duration of a ``with`` block.

        Example:
            >>> import brainstate
            >>> s = brainstate.State(1.0)
            >>> with s.temporary_hook('read', lambda ctx: print('read')):
            ...     _ = s.value
            read
            >>> _ = s.value
        """
        handle = self.register_hook(hook_type, callback, priority)
        try:
            yield handle
        finally:
            handle.remove()
