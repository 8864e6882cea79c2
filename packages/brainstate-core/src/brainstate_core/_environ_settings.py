"""The process-wide settings of :mod:`brainstate_core.environ` (platform, host devices, precision),
its registered behaviours, ``reset`` and ``tolerance``. Public through ``environ``, not this module."""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from ._errors import EnvironValueError
from .environ import (
    _ENV,
    _INITIAL_PRECISION,
    _LOCK,
    _TOLERANCES,
    HOST_DEVICE_COUNT,
    PLATFORM,
    PRECISION,
    SUPPORTED_PLATFORMS,
    EnvironmentState,
    _env,
    _run_behaviors,
    get,
    set,  # noqa: A004 - environ's own name
)

__all__ = [
    "tolerance",
    "set_precision",
    "reset",
    "get_platform",
    "set_platform",
    "get_host_device_count",
    "set_host_device_count",
    "register_default_behavior",
    "unregister_default_behavior",
    "list_registered_behaviors",
]



def tolerance(*, env: EnvironmentState | None = None) -> np.floating:
    """A comparison tolerance for the current precision: 1e-12 at 64 bits, 1e-5 at 32, 1e-2 below.

    It is a NumPy scalar of the precision's float type (float16 below 32 bits).

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(precision=32):
        ...     environ.tolerance()
        np.float32(1e-05)
    """
    return _TOLERANCES.get(get(PRECISION, env=env), np.float16(1e-2))


def set_precision(precision: int | str, *, env: EnvironmentState | None = None) -> None:
    """Set the default precision (64, 32, 16, 8 or ``'bf16'``): ``set(precision=...)``.

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState()
        >>> environ.set_precision(16, env=mine)
        >>> environ.get_precision(env=mine), environ.dftype(env=mine).__name__
        (16, 'float16')
    """
    set(precision=precision, env=env)


def reset(*, env: EnvironmentState | None = None) -> None:
    """Forget every value and registered behaviour: only ``precision`` stays, at its initial value.

    The initial precision is the one of the import (64 if JAX ran in x64 mode then, else 32), and
    JAX's x64 mode follows it. Contexts open on the calling thread keep their values until their
    blocks end. (Upstream brainstate also warns here; a reset that was asked for is not warned about.)

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState(dt=0.1)
        >>> environ.reset(env=mine)
        >>> environ.get('dt', default=None, env=mine) is None
        True
    """
    env = _env(env)
    with _LOCK:
        env.settings.clear()
        env.settings[PRECISION] = _INITIAL_PRECISION
        env.functions.clear()
        if env is _ENV:
            jax.config.update("jax_enable_x64", _INITIAL_PRECISION == 64)


def get_platform() -> str:
    """The platform computations run on by default: ``'cpu'``, ``'gpu'`` or ``'tpu'`` (starts JAX's backend).

    Example:
        >>> from brainstate_core import environ
        >>> environ.get_platform() in environ.SUPPORTED_PLATFORMS
        True
    """
    device = jax.config.jax_default_device  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
    if device is None or isinstance(device, str):
        device = jax.devices(device)[0]
    return device.platform


def set_platform(platform: str) -> None:
    """Run computations on ``platform`` (``'cpu'``, ``'gpu'`` or ``'tpu'``) by default, then run its behaviour.

    It makes the platform's first device JAX's default device (``jax_default_device``), which takes
    effect also after JAX's backend has started.

    Raises:
        EnvironValueError: if ``platform`` is not supported or this machine has no device of it.

    Example:
        >>> from brainstate_core import environ
        >>> environ.set_platform(environ.get_platform())   # e.g. 'cpu'
        >>> environ.set_platform('abacus')
        Traceback (most recent call last):
        ...
        brainstate.EnvironValueError: platform='abacus' is not supported. Fix: use one of ('cpu', 'gpu', 'tpu').
    """
    if platform not in SUPPORTED_PLATFORMS:
        raise EnvironValueError(f"platform={platform!r} is not supported. Fix: use one of {SUPPORTED_PLATFORMS}.")
    try:
        device = jax.devices(platform)[0]
    except RuntimeError as err:
        raise EnvironValueError(
            f"set_platform({platform!r}): JAX finds no {platform} device here ({err}). "
            "Fix: install the matching extra (brainstate[cuda12], brainstate[tpu]) or pick another platform."
        ) from err
    jax.config.update("jax_default_device", device)
    _run_behaviors(_ENV, {PLATFORM: platform})


_DEVICE_COUNT_FLAG = re.compile(r"--xla_force_host_platform_device_count=(\d+)")


def get_host_device_count() -> int:
    """How many CPU devices JAX makes (or will make): :func:`set_host_device_count`'s value, else that
    of ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``, else 1.

    Example:
        >>> from brainstate_core import environ
        >>> environ.get_host_device_count() >= 1
        True
    """
    configured = jax.config.jax_num_cpu_devices  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
    if configured is not None and configured > 0:
        return int(configured)
    match = _DEVICE_COUNT_FLAG.search(os.environ.get("XLA_FLAGS", ""))
    return int(match.group(1)) if match else 1


def set_host_device_count(n: int) -> None:
    """Make JAX create ``n`` CPU devices (to test multi-device code on one machine), then run the behaviour.

    It must be called before JAX starts its backend (before any array is created): JAX fixes the
    device count then. Afterwards this raises instead of doing nothing (upstream brainstate edits
    ``XLA_FLAGS``, which a running backend ignores).

    Raises:
        EnvironValueError: if ``n`` is not a positive int, or JAX's backend is already running.

    Example:
        >>> import subprocess, sys
        >>> code = "import brainstate, jax; brainstate.environ.set_host_device_count(2); print(jax.device_count())"
        >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
        ['2']
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise EnvironValueError(f"host_device_count={n!r}: expected a positive int. Fix: e.g. set_host_device_count(8).")
    try:
        jax.config.update("jax_num_cpu_devices", int(n))
    except RuntimeError as err:
        raise EnvironValueError(
            f"set_host_device_count({n}) came after JAX started its backend, which has fixed the device "
            "count. Fix: call it right after the imports, before any array is created (or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n} before starting Python)."
        ) from err
    _run_behaviors(_ENV, {HOST_DEVICE_COUNT: int(n)})


def register_default_behavior(key: str, behavior: Callable[[Any], Any], replace_if_exist: bool = False,
                              *, env: EnvironmentState | None = None) -> None:
    """Run ``behavior(value)`` whenever ``key`` changes (see the module docs for when that is).

    Args:
        key: the environment key (or ``PLATFORM`` / ``HOST_DEVICE_COUNT``).
        behavior: a callable of one argument, the new value.
        replace_if_exist: replace a behaviour already registered for ``key`` instead of raising.
        env: an :class:`EnvironmentState` instead of the process-wide environment.

    Raises:
        EnvironValueError: if ``key`` is not a string, ``behavior`` is not callable, or ``key`` has a
            behaviour and ``replace_if_exist`` is false.

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState()
        >>> environ.register_default_behavior('dt', lambda v: print('dt is now', v), env=mine)
        >>> environ.set(dt=0.1, env=mine)
        dt is now 0.1
        >>> with environ.context(dt=0.01, env=mine):
        ...     pass
        dt is now 0.01
        dt is now 0.1
        >>> environ.list_registered_behaviors(env=mine)
        ['dt']
        >>> environ.unregister_default_behavior('dt', env=mine)
        True
    """
    if not isinstance(key, str):
        raise EnvironValueError(f"register_default_behavior(): key must be a str, got {key!r}.")
    if not callable(behavior):
        raise EnvironValueError(f"register_default_behavior({key!r}): behavior must be callable, got {behavior!r}.")
    env = _env(env)
    with _LOCK:
        if key in env.functions and not replace_if_exist:
            raise EnvironValueError(
                f"A behaviour is already registered for {key!r}: {env.functions[key]!r}. "
                "Fix: pass replace_if_exist=True, or unregister_default_behavior() it first."
            )
        env.functions[key] = behavior


def unregister_default_behavior(key: str, *, env: EnvironmentState | None = None) -> bool:
    """Remove the behaviour of ``key``; ``True`` if there was one.

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState()
        >>> environ.register_default_behavior('fit', print, env=mine)
        >>> environ.unregister_default_behavior('fit', env=mine), environ.unregister_default_behavior('fit', env=mine)
        (True, False)
    """
    with _LOCK:
        return _env(env).functions.pop(key, None) is not None


def list_registered_behaviors(*, env: EnvironmentState | None = None) -> list[str]:
    """The keys that have a registered behaviour.

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState()
        >>> environ.register_default_behavior('dt', print, env=mine)
        >>> environ.list_registered_behaviors(env=mine)
        ['dt']
    """
    return list(_env(env).functions)
