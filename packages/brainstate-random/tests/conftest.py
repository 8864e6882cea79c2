"""Shared fixtures of the brainstate-random tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import pytest

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class CompileCounter:
    """Counts XLA compilations while active (``with counter: ...``)."""

    def __init__(self) -> None:
        self.count = 0

    def _listener(self, event: str, duration: float, **kwargs) -> None:
        if event == _COMPILE_EVENT:
            self.count += 1

    @contextlib.contextmanager
    def __call__(self) -> Iterator[CompileCounter]:
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        try:
            yield self
        finally:
            jax.monitoring.unregister_event_duration_listener(self._listener)


@pytest.fixture
def count_compiles() -> CompileCounter:
    return CompileCounter()
