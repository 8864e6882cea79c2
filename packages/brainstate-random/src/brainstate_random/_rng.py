"""``RandomState``: a State holding a PRNG key that is split on every draw."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

import jax
import numpy as np

from brainstate_core import State, StateUsageError
from brainstate_core.internal import is_dead, is_tracer, peek, read_without_hooks, write_without_hooks

from ._common import Kernel, RandomParameterError, as_raw_key, check_key, seed_to_key
from ._continuous import ContinuousSamplers
from ._discrete import DiscreteSamplers
from ._multivariate import MultivariateSamplers
from ._univariate import UnivariateSamplers

__all__ = ["RandomState"]


@jax.jit
def _split_one(key):
    keys = jax.random.split(key)
    return keys[0], keys[1]


@partial(jax.jit, static_argnames="n")
def _split_many(key, n):
    keys = jax.random.split(key, n + 1)
    return keys[0], keys[1:]


@partial(jax.jit, static_argnames="n")
def _split_only(key, n):
    return jax.random.split(key, n)


def _mesh_of(value: Any) -> Any:
    """The (non-empty) mesh a concrete array is laid out on, else None."""
    if is_tracer(value):
        return None
    mesh = getattr(getattr(value, "sharding", None), "mesh", None)
    return None if mesh is None or mesh.empty else mesh


def _count(n: Any, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise RandomParameterError(f"{where}: n must be a positive int, got {n!r}. Fix: pass n >= 1.")
    return int(n)


class RandomState(ContinuousSamplers, UnivariateSamplers, DiscreteSamplers, MultivariateSamplers, State):
    """A random number generator that is a State: its value is a JAX PRNG key.

    Every draw splits the key, keeps one half as the new value and draws with the other, so
    successive draws differ. Because the key is a State, brainstate transformations thread it
    like any other state: under ``jit`` a compiled program reads and advances it (and gives
    the same numbers as running eagerly), under ``vmap`` each lane gets its own key, and under
    ``scan``/``for_loop`` each step draws fresh numbers.

    The samplers follow NumPy's names and signatures (``normal(loc, scale, size)``, ...), and
    each also accepts ``key=`` to draw with a given key instead, leaving the generator alone.

    Args:
        seed_or_key: an integer seed (any 64-bit signed int, as ``jax.random.PRNGKey`` takes), a
            PRNG key (typed ``jax.random.key`` or raw ``jax.random.PRNGKey``), or ``None`` for a
            seed drawn from NumPy's global generator (so :func:`brainstate.random.seed` makes it
            reproducible).
        name: optional display name.
        **metadata: State metadata.

    Example:
        >>> import brainstate
        >>> rng = brainstate.random.RandomState(42)
        >>> a, b = rng.normal(size=3), rng.normal(size=3)
        >>> bool((a != b).all())
        True
        >>> rng.seed(42)
        >>> bool((rng.normal(size=3) == a).all())
        True
    """

    __slots__ = ("_backup",)
    _plain_store = False  # see _store

    def __init__(self, seed_or_key: Any = None, *, name: str | None = None, **metadata: Any) -> None:
        if seed_or_key is None:
            seed_or_key = int(np.random.randint(0, 2**32, dtype=np.uint64))
        super().__init__(seed_to_key(seed_or_key, "RandomState()"), name=name, **metadata)
        self._backup = None

    # -- the key ---------------------------------------------------------------------------------
    def seed(self, seed_or_key: Any = None) -> None:
        """Reset the key from an integer seed or a key; ``None`` takes a fresh seed from OS entropy.

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState()
            >>> rng.seed(0); x = rng.rand(2)
            >>> rng.seed(0); bool((rng.rand(2) == x).all())
            True
        """
        if seed_or_key is None:
            seed_or_key = secrets.randbits(32)
        self.value = seed_to_key(seed_or_key, f"{type(self).__name__}.seed()")

    def get_key(self) -> jax.Array:
        """The current key (a raw ``uint32`` key), without advancing it."""
        return self.value

    def set_key(self, key: Any) -> None:
        """Replace the key with ``key`` (typed or raw; stored raw).

        Example:
            >>> import brainstate, jax
            >>> rng = brainstate.random.RandomState(0)
            >>> rng.set_key(jax.random.key(7))
            >>> rng.get_key().tolist()
            [0, 7]
        """
        self.value = as_raw_key(key, f"{type(self).__name__}.set_key()")

    def split_key(self, n: int | None = None, backup: bool = False) -> jax.Array:
        """Advance the generator and return a fresh key, or ``n`` fresh keys stacked.

        Args:
            n: how many keys (``None``: one key, unstacked).
            backup: remember the key before the split, for :meth:`restore_key`.

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState(0)
            >>> rng.split_key().shape, rng.split_key(4).shape
            ((2,), (4, 2))
        """
        if n is not None:
            n = _count(n, "split_key()")
        if backup:
            self.backup_key()
        if n is None:
            new, sub = _split_one(self.value)
        else:
            new, sub = _split_many(self.value, n=n)
        self.value = new
        return sub

    def self_assign_multi_keys(self, n: int, backup: bool = True) -> None:
        """Replace the key by ``n`` keys split from it (a value of shape ``(n, 2)``), one per lane.

        The generator then holds a batch of keys, for a ``vmap`` or ``pmap`` that maps this state
        along axis 0 (``in_states``), so that every lane draws with its own key. A generator holding
        several keys cannot draw outside such a map; :meth:`restore_key` (with ``backup=True``, the
        default) puts the single key back.

        Args:
            n: how many keys.
            backup: remember the single key, for :meth:`restore_key`.

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState(0)
            >>> rng.self_assign_multi_keys(3)
            >>> rng.value.shape
            (3, 2)
            >>> rng.restore_key(); rng.value.shape
            (2,)
        """
        n = _count(n, "self_assign_multi_keys()")
        if backup:
            self.backup_key()
        self.value = _split_only(self.value, n=n)

    def clone(self) -> RandomState:
        """A new, independent generator seeded with a key split from this one (which advances).

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState(0)
            >>> other = rng.clone()
            >>> bool((other.rand(3) != rng.rand(3)).all())
            True
        """
        return type(self)(self.split_key())

    def backup_key(self) -> None:
        """Remember the current key so that :meth:`restore_key` can put it back.

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState(1)
            >>> rng.backup_key(); x = rng.rand()
            >>> rng.restore_key(); bool(rng.rand() == x)
            True
        """
        self._backup = self.value

    def restore_key(self) -> None:
        """Put back the key saved by :meth:`backup_key` (each backup restores once)."""
        backup = getattr(self, "_backup", None)
        if backup is None:
            raise StateUsageError(
                f"{self!r} (created at {self.source_info}): restore_key() was called without a matching "
                "backup_key(). Fix: call backup_key() first."
            )
        self.value = backup
        self._backup = None

    def _store(self, value: Any) -> None:
        """Store a key where the previous one was: off any mesh if it was on none, when the new one is
        on the mesh of ``jax.set_mesh`` only because it was computed there.

        A draw under ``jax.set_mesh`` (eager, or a jit whose write-back lands here) computes on that
        mesh, so the advanced key comes back committed to it; every later draw under another mesh would
        then fail with JAX's "context mesh should match the aval mesh". The generator's key is the
        library's bookkeeping, not a value the user placed, so such a key goes back off the mesh (a host
        copy of two integers). A key already on a mesh, or assigned one outside that mesh's context,
        stays where it is.
        """
        mesh = _mesh_of(value)
        if (
            mesh is not None
            and _mesh_of(self._value) is None
            and mesh.abstract_mesh == jax.sharding.get_abstract_mesh()
        ):
            value = np.asarray(value)
        super()._store(value)

    # -- drawing ---------------------------------------------------------------------------------
    def _draw(self, kern: Kernel, key: Any, *args: Any, **static: Any) -> jax.Array:
        """Run a sampler kernel with this generator's key (advancing it) or with an explicit ``key``."""
        args = tuple(np.asarray(a) if isinstance(a, (list, tuple)) else a for a in args)
        if key is None:
            new, out = kern.split(self.value, *args, **static)
            self.value = new
            return out
        return kern.keyed(check_key(key, f"{type(self).__name__} sampler key="), *args, **static)

    # -- the vmap batching hook --------------------------------------------------------------
    def to_lanes(self, axis_size: int) -> tuple[Any, int | None]:
        """Give each of ``axis_size`` vmap lanes its own key, and keep one that no lane uses."""
        # vmap's own bookkeeping, not the user's code: no state hooks run (as for the other states)
        new, lanes = _split_many(read_without_hooks(self), n=int(axis_size))
        write_without_hooks(self, new)
        return lanes, 0

    def from_lanes(self, value: Any, batched: bool, axis_size: int) -> None:
        """Discard the lanes' keys: the generator keeps the key reserved in :meth:`to_lanes`."""

    # -- Python protocol ---------------------------------------------------------------------
    def __repr__(self) -> str:
        value = peek(self)
        if is_dead(self) or is_tracer(value) or getattr(value, "ndim", None) != 1:
            return super().__repr__()
        name = f", name={self._name!r}" if self._name is not None else ""
        return f"{type(self).__name__}(key={np.asarray(value).tolist()}{name})"
