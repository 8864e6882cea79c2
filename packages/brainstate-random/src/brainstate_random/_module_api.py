"""The module-level API: the default generator ``DEFAULT`` and functions that draw from it.

Each sampling function here is *derived* from the :class:`RandomState` method of the same name: it
calls that method on ``DEFAULT`` and takes its signature and argument docs from it. Nothing is
written twice.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._common import is_tracer, seed_to_key
from ._rng import RandomState

__all__ = ["DEFAULT", "seed", "seed_context", "default_rng", "clone_rng", "split_keys", "get_key_data"]

DEFAULT = RandomState(name="DEFAULT")
"""The default generator, used by every module-level sampling function."""


def _derive(name: str) -> Callable[..., Any]:
    """The module-level form of ``RandomState.<name>``, drawing from :data:`DEFAULT`."""
    method = getattr(RandomState, name)
    signature = inspect.signature(method)

    @functools.wraps(method)
    def function(*args: Any, **kwargs: Any) -> Any:
        return method(DEFAULT, *args, **kwargs)

    summary, _, details = (method.__doc__ or "").partition("\n")
    details = details.split("\n        Example:")[0].rstrip()
    function.__doc__ = (
        f"{summary}\n\n        Uses the default generator ``brainstate.random.DEFAULT``: the same as "
        f"``DEFAULT.{name}(...)``; see :meth:`RandomState.{name}`.\n{details}\n"
    )
    function.__name__ = function.__qualname__ = name
    function.__module__ = "brainstate_random"
    function.__signature__ = signature.replace(  # pyright: ignore[reportAttributeAccessIssue]  # a function attribute
        parameters=list(signature.parameters.values())[1:])
    del function.__wrapped__  # the signature and doc are set here; do not follow the method
    return function


# -- key management --------------------------------------------------------------------------
get_key = _derive("get_key")
set_key = _derive("set_key")
split_key = _derive("split_key")
self_assign_multi_keys = _derive("self_assign_multi_keys")
backup_key = _derive("backup_key")
restore_key = _derive("restore_key")

# -- continuous --------------------------------------------------------------------------------
rand = _derive("rand")
randn = _derive("randn")
random = _derive("random")
random_sample = _derive("random_sample")
ranf = _derive("ranf")
sample = _derive("sample")
uniform = _derive("uniform")
normal = _derive("normal")
standard_normal = _derive("standard_normal")
truncated_normal = _derive("truncated_normal")
exponential = _derive("exponential")
standard_exponential = _derive("standard_exponential")
gamma = _derive("gamma")
standard_gamma = _derive("standard_gamma")
beta = _derive("beta")
chisquare = _derive("chisquare")
noncentral_chisquare = _derive("noncentral_chisquare")
f = _derive("f")
noncentral_f = _derive("noncentral_f")
standard_t = _derive("standard_t")
t = _derive("t")
rand_like = _derive("rand_like")
randn_like = _derive("randn_like")
standard_cauchy = _derive("standard_cauchy")
cauchy = _derive("cauchy")
laplace = _derive("laplace")
logistic = _derive("logistic")
gumbel = _derive("gumbel")
lognormal = _derive("lognormal")
loggamma = _derive("loggamma")
pareto = _derive("pareto")
power = _derive("power")
weibull = _derive("weibull")
weibull_min = _derive("weibull_min")
rayleigh = _derive("rayleigh")
triangular = _derive("triangular")
vonmises = _derive("vonmises")
wald = _derive("wald")
maxwell = _derive("maxwell")

# -- discrete ----------------------------------------------------------------------------------
randint = _derive("randint")
random_integers = _derive("random_integers")
randint_like = _derive("randint_like")
bernoulli = _derive("bernoulli")
binomial = _derive("binomial")
poisson = _derive("poisson")
geometric = _derive("geometric")
hypergeometric = _derive("hypergeometric")
negative_binomial = _derive("negative_binomial")
logseries = _derive("logseries")
zipf = _derive("zipf")

# -- multivariate and populations --------------------------------------------------------------
multinomial = _derive("multinomial")
categorical = _derive("categorical")
dirichlet = _derive("dirichlet")
multivariate_normal = _derive("multivariate_normal")
orthogonal = _derive("orthogonal")
choice = _derive("choice")
permutation = _derive("permutation")
shuffle = _derive("shuffle")


# -- seeding -----------------------------------------------------------------------------------
def seed(seed_or_key: Any = None) -> None:
    """Seed the default generator, and NumPy's global generator with it.

    Args:
        seed_or_key: an integer seed (any 64-bit signed int), a PRNG key, or ``None`` for a fresh
            seed from OS entropy. NumPy is seeded with the key's last word (``seed % 2**32`` for
            an integer seed).

    Example:
        >>> import brainstate
        >>> brainstate.random.seed(0); a = brainstate.random.rand(3)
        >>> brainstate.random.seed(0); bool((brainstate.random.rand(3) == a).all())
        True
    """
    if seed_or_key is None:
        seed_or_key = secrets.randbits(32)
    key = seed_to_key(seed_or_key, "seed()")
    DEFAULT.value = key
    if not is_tracer(key):
        np.random.seed(int(np.asarray(key)[-1]))  # the last word of PRNGKey(n) is n


@contextlib.contextmanager
def seed_context(seed_or_key: Any) -> Iterator[None]:
    """Seed the default generator (and NumPy) for the duration of a ``with`` block, then restore both.

    Example:
        >>> import brainstate
        >>> with brainstate.random.seed_context(42):
        ...     a = brainstate.random.rand(2)
        >>> with brainstate.random.seed_context(42):
        ...     b = brainstate.random.rand(2)
        >>> bool((a == b).all())
        True
    """
    key, numpy_state = DEFAULT.value, np.random.get_state()
    seed(seed_or_key)
    try:
        yield
    finally:
        DEFAULT.value = key
        np.random.set_state(numpy_state)


def default_rng(seed_or_key: Any | None = None) -> RandomState:
    """The default generator :data:`DEFAULT`, or a new :class:`RandomState` from a seed or key.

    As in upstream brainstate, ``default_rng()`` is the generator the module-level functions draw
    from (not a fresh one, as NumPy's ``default_rng()`` would be); a ``RandomState`` is returned as is.

    Args:
        seed_or_key: ``None`` (the default generator), an integer seed, a PRNG key or a ``RandomState``.

    Example:
        >>> import brainstate
        >>> brainstate.random.default_rng() is brainstate.random.DEFAULT
        True
        >>> rng = brainstate.random.default_rng(3)
        >>> bool((rng.rand(2) == brainstate.random.default_rng(3).rand(2)).all())
        True
    """
    if seed_or_key is None:
        return DEFAULT
    if isinstance(seed_or_key, RandomState):
        return seed_or_key
    return RandomState(seed_or_key)


def clone_rng(seed_or_key: Any | None = None, clone: bool = True) -> RandomState:
    """An independent generator: a clone of :data:`DEFAULT` (seeded from a key split from it), or a
    new one from ``seed_or_key``.

    Args:
        seed_or_key: ``None`` to clone the default generator, else an integer seed or a PRNG key.
        clone: with ``seed_or_key=None``, ``False`` returns :data:`DEFAULT` itself.

    Example:
        >>> import brainstate
        >>> rng = brainstate.random.clone_rng()
        >>> rng is brainstate.random.DEFAULT
        False
        >>> bool((brainstate.random.clone_rng(5).rand(2) == brainstate.random.clone_rng(5).rand(2)).all())
        True
    """
    if seed_or_key is None:
        return DEFAULT.clone() if clone else DEFAULT
    return RandomState(seed_or_key)


def split_keys(n: int, backup: bool = False) -> Any:
    """``n`` fresh keys from the default generator (which advances), stacked: ``split_key(n)``.

    Args:
        n: how many keys (a positive int).
        backup: remember the key before the split, for :func:`restore_key`.

    Example:
        >>> import brainstate
        >>> brainstate.random.split_keys(4).shape
        (4, 2)
    """
    return DEFAULT.split_key(n, backup=backup)


def get_key_data() -> Any:
    """The default generator's key as raw ``uint32`` data (shape ``(2,)`` for the default PRNG).

    The generator stores raw keys, so this is :func:`get_key`; upstream brainstate stores typed keys,
    where the two differ.

    Example:
        >>> import brainstate
        >>> brainstate.random.seed(11)
        >>> brainstate.random.get_key_data().tolist()
        [0, 11]
    """
    return DEFAULT.get_key()
