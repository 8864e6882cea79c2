"""Shared fixtures of the brainstate-random tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import pytest

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_ACTIVE: list[CompileCounter] = []


def _on_event(event: str, duration: float, **kwargs) -> None:
    if event == _COMPILE_EVENT:
        for counter in _ACTIVE:
            counter.count += 1


# Registered once: older jax has no way to unregister a listener.
jax.monitoring.register_event_duration_secs_listener(_on_event)


class CompileCounter:
    """Counts XLA compilations while active (``with counter(): ...``)."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[CompileCounter]:
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.remove(self)


@pytest.fixture
def count_compiles() -> CompileCounter:
    return CompileCounter()
