"""The exception hierarchy: every error the library raises on purpose derives from one base class."""

from __future__ import annotations

__all__ = [
    "BrainStateError",
    "TraceContextError",
    "BatchAxisError",
    "StateArgumentError",
    "StateShapeError",
    "StateUsageError",
    "EnvironKeyError",
    "JitErrorIf",
    "FilterError",
    "EnvironValueError",
    "RandomParameterError",
    "ConfigError",
    "InputError",
    "ShardingError",
]


class BrainStateError(Exception):
    """Base class of every error raised by brainstate on purpose.

    Catch this to handle any misuse reported by the library:

    >>> import brainstate
    >>> issubclass(brainstate.TraceContextError, brainstate.BrainStateError)
    True
    """


class TraceContextError(BrainStateError):
    """A JAX tracer escaped into, or out of, the place where it was valid.

    Raised when a tracer is written into a State outside a brainstate transformation (for
    example inside a raw ``jax.jit``), or when a State created inside a finished trace is read.
    """


class BatchAxisError(BrainStateError, ValueError):
    """A State was given a batch axis by ``vmap`` that it was not declared to have."""


class StateArgumentError(BrainStateError, TypeError):
    """A State object was passed to, or returned from, a JAX transformation as a value."""


class StateShapeError(BrainStateError, ValueError):
    """A State received a value whose structure, shape or dtype does not match what is required."""


class StateUsageError(BrainStateError):
    """A State was used in a way a transformation cannot honour (for example an unused grad state)."""


class FilterError(BrainStateError, TypeError):
    """An object was used as a state filter that is not one (see ``brainstate.graph.to_predicate``)."""


class RandomParameterError(BrainStateError, ValueError):
    """A random sampler was given an invalid parameter (a negative scale, a probability outside [0, 1], ...)."""


class ConfigError(BrainStateError, ValueError):
    """An argument given when building something is invalid.

    Raised for layer sizes that are not positive, initialiser options that do not exist, a padding,
    ``groups`` or ``momentum`` that does not fit, a dropout probability outside (0, 1], a
    ``ProgressBar`` frequency that is not a positive integer, an unknown activation name, ...

    >>> import brainstate
    >>> issubclass(brainstate.ConfigError, ValueError)
    True
    """


class InputError(BrainStateError, ValueError):
    """A module or function got an input it cannot take.

    Raised for an input of the wrong shape, the wrong number of spatial axes, or the wrong dtype (for
    example float ids given to ``Embedding``).

    >>> import brainstate
    >>> issubclass(brainstate.InputError, brainstate.BrainStateError)
    True
    """


class EnvironKeyError(BrainStateError, KeyError):
    """An ``environ`` key was read that has not been set."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as written.
        return str(self.args[0]) if self.args else ""


class EnvironValueError(BrainStateError, ValueError):
    """An ``environ`` key was given a value it cannot take (for example an unknown precision)."""


class JitErrorIf(BrainStateError):
    """A runtime check written with ``brainstate.transform.jit_error_if`` failed."""


class ShardingError(BrainStateError, ValueError):
    """A state's sharding declaration cannot be honoured.

    Raised for a ``sharding=`` declaration that is not a partition spec, names a logical axis the
    rules do not map or a mesh axis the mesh lacks, or has more entries than the value has axes; for a
    state read by ``jit`` whose value is laid out differently from its declaration; and for a state
    declared replicated that ``shard_map`` writes with a value that differs per shard.

    >>> import brainstate
    >>> issubclass(brainstate.ShardingError, ValueError)
    True
    """
