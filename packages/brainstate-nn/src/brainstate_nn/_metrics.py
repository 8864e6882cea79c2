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
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, LongTermState, Node
from brainstate_core.internal import is_tracer

__all__ = ["MetricState", "Metric", "AverageMetric", "Statistics", "WelfordMetric", "AccuracyMetric", "MultiMetric",
           "PrecisionMetric", "RecallMetric", "F1ScoreMetric", "ConfusionMatrix"]

_AVERAGES = ("micro", "macro", "weighted")


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


def _check_num_classes(cls: type, num_classes: Any, optional: bool) -> int | None:
    if num_classes is None and optional:
        return None
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        allowed = "a positive integer or None (binary)" if optional else "a positive integer"
        raise ConfigError(f"{cls.__name__}: num_classes must be {allowed}, got {num_classes!r}. "
                          "Fix: pass the number of classes, e.g. num_classes=10.")
    return int(num_classes)


def _check_average(cls: type, average: Any) -> str:
    if average not in _AVERAGES:
        raise ConfigError(f"{cls.__name__}: unknown average {average!r}; expected one of {', '.join(_AVERAGES)}. "
                          "Fix: pass average='macro' (mean over classes), 'micro' (global counts) or 'weighted' "
                          "(mean weighted by class support).")
    return average


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


def _batch_confusion(metric: Metric, num_classes: int | None, predictions: Any, labels: Any) -> jax.Array:
    """The confusion matrix of one batch, checked (integer or bool dtype, one shape, in range when known).

    Binary mode (``num_classes=None``) has the two classes 0 and 1.
    """
    n = 2 if num_classes is None else num_classes
    pred, lab = jnp.asarray(predictions), jnp.asarray(labels)
    for name, arr in (("predictions", pred), ("labels", lab)):
        if not (jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == jnp.bool_):
            raise InputError(f"{metric!r}.update: {name} must be class indices (an integer or bool dtype), got "
                             f"dtype {arr.dtype}. Fix: pass scores.argmax(-1), or cast with .astype(int).")
    if pred.shape != lab.shape:
        raise InputError(f"{metric!r}.update: predictions and labels must have the same shape, got {pred.shape} "
                         f"and {lab.shape}. Fix: pass one predicted class per label.")
    _check_range(metric, "predictions", pred, n)
    _check_range(metric, "labels", lab, n)
    return _confusion(pred, lab, n)


# The pure arithmetic of the class metrics is compiled once per shape, so that eager updates do not dispatch (and
# compile) op by op; inside a brainstate transformation it is simply inlined.
@functools.partial(jax.jit, static_argnums=2)
def _confusion(pred: jax.Array, lab: jax.Array, n: int) -> jax.Array:
    """``(n, n)`` int32 counts, rows = labels, columns = predictions; pairs with an index outside [0, n) dropped."""
    pred, lab = pred.reshape(-1).astype(jnp.int32), lab.reshape(-1).astype(jnp.int32)
    valid = (pred >= 0) & (pred < n) & (lab >= 0) & (lab < n)
    return jnp.zeros((n, n), jnp.int32).at[jnp.where(valid, lab, n), pred].add(1, mode="drop")


@functools.partial(jax.jit, static_argnums=1)
def _class_counts(cm: jax.Array, binary: bool) -> dict[str, jax.Array]:
    """Per-class counts of a confusion matrix (of class 1 alone when ``binary``)."""
    tp = jnp.diagonal(cm)
    counts = {"true_positives": tp, "false_positives": cm.sum(0) - tp, "false_negatives": cm.sum(1) - tp,
              "support": cm.sum(1)}
    return {k: v[1] for k, v in counts.items()} if binary else counts


def _ratio(num: Any, den: Any) -> jax.Array:
    """``num / den`` where ``den > 0``, else 0 (as scikit-learn with ``zero_division=0``)."""
    num, den = jnp.asarray(num, jnp.float32), jnp.asarray(den, jnp.float32)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)


def _reduce(per_class: jax.Array, weights: jax.Array, average: str) -> jax.Array:
    """The mean of per-class scores (``'macro'``), or their mean weighted by ``weights`` (``'weighted'``)."""
    return per_class.mean() if average == "macro" else _ratio((per_class * weights).sum(), weights.sum())


@functools.partial(jax.jit, static_argnums=3)
def _score(tp: jax.Array, den: jax.Array, weights: jax.Array, average: str | None) -> jax.Array:
    """``tp / den`` from counts summed over classes (binary: ``average`` None, or ``'micro'``), else reduced."""
    if average in (None, "micro"):
        return _ratio(tp.sum(), den.sum())
    return _reduce(_ratio(tp, den), weights, average)


@functools.partial(jax.jit, static_argnums=3)
def _f1_score(tp: jax.Array, fp: jax.Array, fn: jax.Array, average: str | None) -> jax.Array:
    """F1 from counts: ``2 TP / (2 TP + FP + FN)``, which is ``2 P R / (P + R)`` and 0 when ``TP = 0``."""
    if average in (None, "micro"):
        return _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())
    return _reduce(_ratio(2 * tp, 2 * tp + fp + fn), tp + fn, average)


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


class _ClassCounts(Metric):
    """Per-class counts taken from the confusion matrix of each batch (see the subclasses)."""

    _kinds: tuple[str, ...] = ()

    def __init__(self, num_classes: int | None = None, average: str = "macro"):
        self.num_classes = _check_num_classes(type(self), num_classes, optional=True)
        self.average = _check_average(type(self), average)
        for name in self._names():
            setattr(self, name, MetricState(self._zeros()))

    def _args(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "average": self.average}

    def _names(self) -> tuple[str, ...]:
        # Upstream keeps a per-class support only in multi-class mode.
        return tuple(k for k in self._kinds if k != "support" or self.num_classes is not None)

    def _zeros(self) -> jax.Array:
        return jnp.zeros(() if self.num_classes is None else (self.num_classes,), jnp.int32)

    def reset(self) -> None:
        """Zero every count."""
        for name in self._names():
            getattr(self, name).value = self._zeros()

    def _mode(self) -> str | None:
        """``average``, or None in binary mode (where it is ignored)."""
        return None if self.num_classes is None else self.average

    def _add(self, cm: jax.Array) -> None:
        counts = _class_counts(cm, self.num_classes is None)  # binary: the counts of class 1
        for name in self._names():
            getattr(self, name).value = getattr(self, name).value + counts[name]

    def update(self, *, predictions: Any, labels: Any, **_: Any) -> None:
        """Add a batch of predicted classes and true ``labels`` (integer arrays of one shape)."""
        self._add(_batch_confusion(self, self.num_classes, predictions, labels))


_COUNTS_DOC = """
    Binary mode (``num_classes=None``): class 1 is the positive class and a scalar is returned.
    With ``num_classes=C`` the per-class scores are reduced by ``average``: ``'macro'`` (their mean
    over all C classes, absent ones included), ``'micro'`` (from the counts summed over classes) or
    ``'weighted'`` (their mean weighted by each class's number of true labels). A score with a zero
    denominator is 0, as scikit-learn's ``zero_division=0`` with ``labels=range(C)``. Inputs of
    different shapes, non-integer dtypes and (when known) class indices outside the range raise
    :class:`brainstate.InputError`; upstream broadcast them or counted them silently. Inside
    compiled code out-of-range indices are not counted.

    Args:
        num_classes: the number of classes, or None for binary 0/1 labels.
        average: ``'macro'``, ``'micro'`` or ``'weighted'``; ignored in binary mode.
"""


class PrecisionMetric(_ClassCounts):
    __doc__ = """Precision, ``TP / (TP + FP)``: the fraction of predictions of a class that are right.
""" + _COUNTS_DOC + """
    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> m = nn.PrecisionMetric()
        >>> m.update(predictions=jnp.array([1, 0, 1, 1, 0]), labels=jnp.array([1, 0, 0, 1, 0]))
        >>> m.compute()
        Array(0.6666667, dtype=float32)
    """

    _kinds = ("true_positives", "false_positives", "support")

    def compute(self) -> jax.Array:
        """The precision (float32 scalar)."""
        tp = self.true_positives.value
        support = tp if self.num_classes is None else self.support.value  # unused in binary mode
        return _score(tp, tp + self.false_positives.value, support, self._mode())


class RecallMetric(_ClassCounts):
    __doc__ = """Recall, ``TP / (TP + FN)``: the fraction of the true labels of a class that are found.
""" + _COUNTS_DOC + """
    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> m = nn.RecallMetric(num_classes=3, average='macro')
        >>> m.update(predictions=jnp.array([0, 2, 1, 1]), labels=jnp.array([0, 1, 1, 2]))
        >>> m.compute()
        Array(0.5, dtype=float32)
    """

    _kinds = ("true_positives", "false_negatives")

    def compute(self) -> jax.Array:
        """The recall (float32 scalar)."""
        tp = self.true_positives.value
        support = tp + self.false_negatives.value
        return _score(tp, support, support, self._mode())


class F1ScoreMetric(Metric):
    __doc__ = """F1 score, the harmonic mean ``2 P R / (P + R)`` of precision and recall.
""" + _COUNTS_DOC + """
    ``'macro'`` and ``'weighted'`` average the per-class F1 scores; ``'micro'`` is the F1 of the
    micro precision and recall. The counts live in ``precision_metric`` and ``recall_metric``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> m = nn.F1ScoreMetric()
        >>> m.update(predictions=jnp.array([1, 0, 1, 1, 0]), labels=jnp.array([1, 0, 0, 1, 0]))
        >>> m.compute()
        Array(0.8, dtype=float32)
    """

    def __init__(self, num_classes: int | None = None, average: str = "macro"):
        num_classes = _check_num_classes(type(self), num_classes, optional=True)
        average = _check_average(type(self), average)
        self.precision_metric = PrecisionMetric(num_classes, average)
        self.recall_metric = RecallMetric(num_classes, average)

    def _args(self) -> dict[str, Any]:
        return self.precision_metric._args()

    def reset(self) -> None:
        """Zero every count."""
        self.precision_metric.reset()
        self.recall_metric.reset()

    def update(self, *, predictions: Any, labels: Any, **_: Any) -> None:
        """Add a batch of predicted classes and true ``labels`` (integer arrays of one shape)."""
        cm = _batch_confusion(self, self.precision_metric.num_classes, predictions, labels)
        self.precision_metric._add(cm)
        self.recall_metric._add(cm)

    def compute(self) -> jax.Array:
        """The F1 score (float32 scalar)."""
        prec = self.precision_metric
        return _f1_score(prec.true_positives.value, prec.false_positives.value,
                         self.recall_metric.false_negatives.value, prec._mode())


class ConfusionMatrix(Metric):
    """Counts of (true label, predicted class) pairs: ``compute()[i, j]`` is how often class i was predicted as j.

    Args:
        num_classes: the number of classes C; the matrix is ``(C, C)`` int32.

    ``update(predictions=..., labels=...)`` takes integer arrays of one shape (any number of axes).
    Indices outside ``[0, C)`` raise :class:`brainstate.InputError` when the values are known, and
    are not counted inside compiled code. Unlike upstream, arrays of different shapes are refused.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cm = nn.ConfusionMatrix(num_classes=3)
        >>> cm.update(predictions=jnp.array([0, 1, 2, 1, 0]), labels=jnp.array([0, 1, 1, 1, 2]))
        >>> cm.compute()
        Array([[1, 0, 0],
               [0, 2, 1],
               [1, 0, 0]], dtype=int32)
    """

    def __init__(self, num_classes: int):
        self.num_classes = _check_num_classes(type(self), num_classes, optional=False)
        self.matrix = MetricState(jnp.zeros((self.num_classes,) * 2, jnp.int32))

    def _args(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes}

    def reset(self) -> None:
        """Zero the matrix."""
        self.matrix.value = jnp.zeros((self.num_classes,) * 2, jnp.int32)

    def update(self, *, predictions: Any, labels: Any, **_: Any) -> None:
        """Count the pairs of a batch."""
        self.matrix.value = self.matrix.value + _batch_confusion(self, self.num_classes, predictions, labels)

    def compute(self) -> jax.Array:
        """The ``(C, C)`` matrix, rows = true labels, columns = predictions."""
        return self.matrix.value


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
