"""The class metrics: precision, recall, F1 and the confusion matrix, from per-batch confusion counts.

Each batch is reduced to its confusion matrix (rows = true labels, columns = predictions) by one
compiled function, and the metrics keep the per-class counts they need as :class:`MetricState`
objects, so ``update`` works eagerly and inside compiled code alike. See :mod:`._metrics` for the
conventions (errors, differences from upstream).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError

from ._metrics import Metric, MetricState, _check_range

__all__ = ["PrecisionMetric", "RecallMetric", "F1ScoreMetric", "ConfusionMatrix"]

_AVERAGES = ("micro", "macro", "weighted")


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
    true_positives: MetricState
    false_positives: MetricState
    support: MetricState  # multi-class mode only

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
    true_positives: MetricState
    false_negatives: MetricState

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
