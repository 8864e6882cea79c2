"""Metrics accumulated over batches: averages, Welford statistics, accuracy, precision, recall, F1, confusion.

A metric keeps its running totals in :class:`MetricState` objects and has three methods:
``update(**batch)`` adds a batch, ``compute()`` returns the value over every batch since the last
``reset()``. Because the totals are States, ``update`` and ``compute`` work eagerly and inside
``brainstate.transform.jit`` and the loops alike: the compiled function writes the new totals
back like any other State, and a later call sees them.

Names, keyword arguments and results follow upstream brainstate. Where upstream was unsound this
module differs, and says so on the class: inputs whose shapes do not match are refused instead of
broadcast, class indices outside ``[0, num_classes)`` are refused when the values are known (and
never counted inside compiled code), an empty batch adds nothing, and Welford's mean with no data
is NaN. Errors are :class:`brainstate.InputError` (bad ``update`` input) and
:class:`brainstate.ConfigError` (bad constructor argument), both ``ValueError`` subclasses.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, LongTermState, Node
from brainstate_core.internal import is_tracer

__all__ = ["MetricState", "Metric", "AverageMetric", "Statistics", "WelfordMetric", "AccuracyMetric", "MultiMetric"]

class MetricState(LongTermState):
    """A State holding a running total of a :class:`Metric` (a sum, a count, a confusion matrix).

    Select them with a filter, e.g. to save or restore the totals of a model's metrics.

    Example:
        >>> import brainstate_nn as nn
        >>> list(nn.AverageMetric().states(nn.MetricState))
        [('count',), ('total',)]
    """

    __slots__ = ()


class Metric(Node, abc.ABC):
    """Base class of metrics: ``reset()``, ``update(**batch)`` and ``compute()``.

    A subclass keeps its totals in :class:`MetricState` attributes, so ``update`` can run inside
    compiled code. Unlike upstream (which raised ``NotImplementedError`` when called), the three
    methods are abstract: a subclass that forgets one cannot be built.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> class Maximum(nn.Metric):
        ...     def __init__(self):
        ...         self.best = nn.MetricState(jnp.array(-jnp.inf))
        ...     def reset(self):
        ...         self.best.value = jnp.array(-jnp.inf)
        ...     def update(self, *, values, **_):
        ...         self.best.value = jnp.maximum(self.best.value, jnp.max(values))
        ...     def compute(self):
        ...         return self.best.value
        >>> m = Maximum(); m.update(values=jnp.array([1.0, 5.0])); m.update(values=jnp.array([3.0]))
        >>> m.compute()
        Array(5., dtype=float32)
    """

    @abc.abstractmethod
    def reset(self) -> None:
        """Set the totals back to their values before any ``update``."""

    @abc.abstractmethod
    def update(self, **kwargs: Any) -> None:
        """Add one batch, given by keyword; keywords the metric does not use are ignored."""

    @abc.abstractmethod
    def compute(self) -> Any:
        """The metric over every batch since construction or the last ``reset``."""

    def _args(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._args().items())})"


def _check_argname(cls: type, argname: Any) -> str:
    if not isinstance(argname, str) or not argname.isidentifier():
        raise ConfigError(f"{cls.__name__}: argname must be a keyword name (a str), got {argname!r}. "
                          "Fix: pass the keyword that update() will receive, e.g. argname='loss'.")
    return argname


def _keyword(metric: Metric, argname: str, kwargs: dict[str, Any]) -> jax.Array:
    if argname not in kwargs:
        raise InputError(f"{metric!r}.update needs the keyword argument {argname!r}, got {sorted(kwargs)}. "
                         f"Fix: call update({argname}=...), or build the metric with argname= naming the keyword "
                         "you pass.")
    return jnp.asarray(kwargs[argname], jnp.float32)


def _check_range(metric: Metric, name: str, values: jax.Array, n: int) -> None:
    """Refuse class indices outside [0, n) when the values are known (not inside a trace)."""
    if is_tracer(values):
        return
    arr = np.asarray(values)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise InputError(f"{metric!r}.update: {name} must be class indices in [0, {n}), got {arr[bad][0].item()!r} "
                         f"({int(bad.sum())} of {arr.size} outside). Fix: map the labels to 0..{n - 1}, or build the "
                         "metric with more classes.")


class AverageMetric(Metric):
    """The mean of every element passed as ``update(<argname>=values)``.

    Args:
        argname: the keyword ``update`` reads the values from.

    ``compute`` is NaN before any value arrives. The totals are a float32 sum and an int32 count.
    A missing keyword raises :class:`brainstate.InputError` (upstream raised ``TypeError``).

    Example:
        >>> import brainstate_nn as nn, brainstate_transform as T, jax.numpy as jnp
        >>> loss = nn.AverageMetric('loss')
        >>> step = T.jit(lambda x: loss.update(loss=x))
        >>> step(jnp.array([1.0, 2.0])); step(jnp.array([6.0, 3.0]))
        >>> loss.compute()
        Array(3., dtype=float32)
        >>> loss.reset(); loss.compute()
        Array(nan, dtype=float32)
    """

    def __init__(self, argname: str = "values"):
        self.argname = _check_argname(type(self), argname)
        self.total = MetricState(jnp.zeros((), jnp.float32))
        self.count = MetricState(jnp.zeros((), jnp.int32))

    def _args(self) -> dict[str, Any]:
        return {"argname": self.argname}

    def reset(self) -> None:
        """Zero the sum and the count."""
        self.total.value = jnp.zeros((), jnp.float32)
        self.count.value = jnp.zeros((), jnp.int32)

    def _add(self, values: jax.Array) -> None:
        self.total.value = self.total.value + jnp.sum(values, dtype=jnp.float32)
        self.count.value = self.count.value + jnp.int32(values.size)

    def update(self, **kwargs: Any) -> None:
        """Add the elements of ``kwargs[argname]`` (a scalar or an array of any shape)."""
        self._add(_keyword(self, self.argname, kwargs))

    def compute(self) -> jax.Array:
        """The mean of the values so far (float32 scalar), NaN when there were none."""
        count = self.count.value
        return jnp.where(count > 0, self.total.value / jnp.maximum(count, 1), jnp.nan)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Statistics:
    """What :meth:`WelfordMetric.compute` returns (a pytree, so it can leave compiled code).

    Attributes:
        mean: the mean of the values.
        standard_error_of_mean: ``standard_deviation / sqrt(count)``.
        standard_deviation: the population standard deviation (``ddof=0``, as ``np.std``).
    """

    mean: jax.Array
    standard_error_of_mean: jax.Array
    standard_deviation: jax.Array

    @property
    def variance(self) -> jax.Array:
        """The population variance (``standard_deviation ** 2``, as ``np.var``)."""
        return self.standard_deviation**2


class WelfordMetric(Metric):
    """Streaming mean, standard deviation and standard error of ``update(<argname>=values)``.

    Batches are merged with the parallel form of Welford's algorithm (Chan et al.): each batch adds
    its mean and its sum of squared deviations, so no cancellation of large sums occurs. The
    standard deviation is the population one (``ddof=0``) and the standard error is
    ``std / sqrt(n)``, as upstream. Differences from upstream: with no data every field is NaN
    (upstream gave a mean of 0), and an empty batch adds nothing (upstream turned the totals NaN).

    Args:
        argname: the keyword ``update`` reads the values from.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> w = nn.WelfordMetric()
        >>> w.update(values=jnp.array([1.0, 2.0, 3.0, 4.0])); w.update(values=jnp.array([3.0, 2.0, 1.0, 0.0]))
        >>> s = w.compute()
        >>> s.mean, s.standard_deviation, s.variance
        (Array(2., dtype=float32), Array(1.2247449, dtype=float32), Array(1.5, dtype=float32))
    """

    def __init__(self, argname: str = "values"):
        self.argname = _check_argname(type(self), argname)
        self.count = MetricState(jnp.zeros((), jnp.int32))
        self.mean = MetricState(jnp.zeros((), jnp.float32))
        self.m2 = MetricState(jnp.zeros((), jnp.float32))

    def _args(self) -> dict[str, Any]:
        return {"argname": self.argname}

    def reset(self) -> None:
        """Zero the count, the mean and the sum of squared deviations."""
        self.count.value = jnp.zeros((), jnp.int32)
        self.mean.value = jnp.zeros((), jnp.float32)
        self.m2.value = jnp.zeros((), jnp.float32)

    def update(self, **kwargs: Any) -> None:
        """Merge the elements of ``kwargs[argname]`` (a scalar or an array of any shape)."""
        values = _keyword(self, self.argname, kwargs)
        if values.size == 0:
            return
        self.count.value, self.mean.value, self.m2.value = _welford_merge(
            self.count.value, self.mean.value, self.m2.value, values)

    def compute(self) -> Statistics:
        """:class:`Statistics` of the values so far; every field NaN when there were none."""
        return _welford_stats(self.count.value, self.mean.value, self.m2.value)


@jax.jit
def _welford_merge(count: jax.Array, mean: jax.Array, m2: jax.Array, values: jax.Array) -> tuple[jax.Array, ...]:
    """Merge a non-empty batch into (count, mean, sum of squared deviations) (Chan et al.'s update)."""
    n = values.size
    batch_mean = jnp.mean(values)
    old = count.astype(jnp.float32)
    total = old + n
    delta = batch_mean - mean
    m2 = m2 + jnp.sum((values - batch_mean) ** 2) + delta**2 * (old * n / total)
    return count + jnp.int32(n), mean + delta * (n / total), m2


@jax.jit
def _welford_stats(count: jax.Array, mean: jax.Array, m2: jax.Array) -> Statistics:
    n = count.astype(jnp.float32)
    safe = jnp.maximum(n, 1.0)
    std = jnp.where(n > 0, jnp.sqrt(m2 / safe), jnp.nan)
    return Statistics(mean=jnp.where(n > 0, mean, jnp.nan), standard_error_of_mean=std / jnp.sqrt(safe),
                      standard_deviation=std)


class AccuracyMetric(AverageMetric):
    """The fraction of samples whose ``argmax`` of ``logits`` equals the integer label.

    ``update(logits=(..., C), labels=(...))``; NaN before any update. ``labels`` must have exactly
    the shape of ``logits`` without its last axis (upstream checked only the number of axes and
    broadcast the rest), and labels outside ``[0, C)`` are refused when known (upstream counted
    them as wrong; inside compiled code they still count as wrong).

    Args:
        argname: accepted for compatibility with upstream, and unused.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> acc = nn.AccuracyMetric()
        >>> acc.update(logits=jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), labels=jnp.array([1, 0, 0]))
        >>> acc.compute()
        Array(0.6666667, dtype=float32)
    """

    def _args(self) -> dict[str, Any]:
        return {}

    def update(self, *, logits: Any, labels: Any, **_: Any) -> None:
        """Add a batch of ``logits`` (class scores on the last axis) and integer ``labels``."""
        logits, labels = jnp.asarray(logits), jnp.asarray(labels)
        if logits.ndim < 1 or logits.shape[:-1] != labels.shape:
            raise InputError(f"{self!r}.update: labels must have the shape of logits without its last (class) axis, "
                             f"got logits {logits.shape} and labels {labels.shape}. Fix: pass logits of shape "
                             "(..., num_classes) and one label per row.")
        if not jnp.issubdtype(labels.dtype, jnp.integer):
            raise InputError(f"{self!r}.update: labels must be integer class indices, got dtype {labels.dtype}. "
                             "Fix: cast with .astype(int), or take argmax of one-hot labels.")
        _check_range(self, "labels", labels, logits.shape[-1])
        self._add(jnp.argmax(logits, axis=-1) == labels)


class MultiMetric(Metric):
    """Several named metrics updated together: ``update(**batch)`` passes every keyword to each.

    Args:
        **metrics: ``name=Metric``; each is reachable as an attribute of that name. A name must not
            start with ``_`` nor be an attribute of the class (``update``, ``states``, ...).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> ms = nn.MultiMetric(accuracy=nn.AccuracyMetric(), loss=nn.AverageMetric('loss'))
        >>> ms.update(logits=jnp.array([[0.2, 0.8], [0.9, 0.1]]), labels=jnp.array([1, 1]), loss=jnp.array(0.5))
        >>> ms.compute()
        {'accuracy': Array(0.5, dtype=float32), 'loss': Array(0.5, dtype=float32)}
        >>> ms.loss
        AverageMetric(argname='loss')
    """

    def __init__(self, **metrics: Metric):
        for name, metric in metrics.items():
            if name.startswith("_") or hasattr(type(self), name):
                raise ConfigError(f"MultiMetric: the name {name!r} is reserved (it starts with '_' or is an attribute "
                                  "of MultiMetric). Fix: give that metric another name, e.g. "
                                  f"{name.strip('_')}_metric=....")
            if not isinstance(metric, Metric):
                raise ConfigError(f"MultiMetric: {name!r} must be a brainstate.nn.Metric, got "
                                  f"{type(metric).__name__}. Fix: wrap it in a Metric subclass or leave it out.")
        self._metric_names = list(metrics)
        vars(self).update(metrics)

    def _args(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._metric_names}

    def reset(self) -> None:
        """Reset every metric."""
        for name in self._metric_names:
            getattr(self, name).reset()

    def update(self, **updates: Any) -> None:
        """Update every metric with all of ``updates``; each takes the keywords it needs."""
        for name in self._metric_names:
            getattr(self, name).update(**updates)

    def compute(self) -> dict[str, Any]:
        """``{name: metric.compute()}`` in the order the metrics were given."""
        return {name: getattr(self, name).compute() for name in self._metric_names}
