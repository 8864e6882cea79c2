"""Metrics: each against scikit-learn or NumPy over several random batches, eagerly and compiled."""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

N_CLASSES = 4


def _batches(seed, n_batches=4, size=16, n_classes=N_CLASSES):
    """Random (predictions, labels) batches; class ``n_classes - 1`` is rare, so some batches lack it."""
    rng = np.random.default_rng(seed)
    p = np.r_[np.ones(n_classes - 1), 0.2]
    p /= p.sum()
    return [(rng.choice(n_classes, size, p=p), rng.choice(n_classes, size, p=p)) for _ in range(n_batches)]


def _feed(metric, batches, compiled, **names):
    """Update ``metric`` with every batch, through one compiled function when ``compiled``."""
    traces = []

    def step(*arrays):
        traces.append(1)
        metric.update(**dict(zip(names, arrays)))

    run = T.jit(step) if compiled else step
    for batch in batches:
        run(*(jnp.asarray(a) for a in batch))
    return len(traces)


# --- MetricState and Metric ------------------------------------------------------------------------

def test_metric_state_is_a_long_term_state_found_by_filter():
    f1 = nn.F1ScoreMetric(num_classes=3)
    assert issubclass(nn.MetricState, bc.LongTermState)
    found = f1.states(nn.MetricState)
    assert sorted(found) == [("precision_metric", "false_positives"), ("precision_metric", "support"),
                             ("precision_metric", "true_positives"), ("recall_metric", "false_negatives"),
                             ("recall_metric", "true_positives")]
    assert all(s.value.shape == (3,) and s.value.dtype == jnp.int32 for s in found.values())
    assert dict(nn.WelfordMetric().states(bc.ParamState)) == {}


def test_metric_is_abstract_and_a_subclass_works_compiled():
    class NoCompute(nn.Metric):
        def reset(self):
            pass

        def update(self, **kwargs):
            pass

    with pytest.raises(TypeError, match=r"abstract.*compute"):
        NoCompute()

    class Total(nn.Metric):
        def __init__(self):
            self.sum = nn.MetricState(jnp.zeros(()))

        def reset(self):
            self.sum.value = jnp.zeros(())

        def update(self, *, x, **_):
            self.sum.value = self.sum.value + x.sum()

        def compute(self):
            return self.sum.value

    m = Total()
    assert _feed(m, [(np.arange(3.0),), (np.ones(3),)], compiled=True, x=None) == 1
    assert float(m.compute()) == 6.0 and repr(m) == "Total()"


# --- AverageMetric and WelfordMetric ---------------------------------------------------------------

def _float_batches(seed, shapes, loc=0.0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(loc, 2.0, s).astype(np.float32),) for s in shapes]


@pytest.mark.parametrize("compiled", [False, True])
def test_average_matches_numpy_mean(compiled):
    shapes = [(8, 3)] * 4 if compiled else [(5,), (2, 3), (), (7,)]
    batches = _float_batches(1, shapes)
    m = nn.AverageMetric("loss")
    assert np.isnan(m.compute())
    traces = _feed(m, batches, compiled, loss=None)
    everything = np.concatenate([b[0].ravel() for b in batches])
    np.testing.assert_allclose(m.compute(), everything.mean(), rtol=1e-5)
    assert int(m.count.value) == everything.size
    if compiled:
        assert traces == 1  # one compilation serves every batch of the same shape
    m.reset()
    assert np.isnan(m.compute()) and int(m.count.value) == 0


def test_average_takes_python_scalars_lists_and_empty_batches():
    m = nn.AverageMetric()
    m.update(values=3)
    m.update(values=[1.0, 2.0])
    m.update(values=np.zeros((0, 4)))
    assert float(m.compute()) == 2.0 and int(m.count.value) == 3
    assert m.total.value.dtype == jnp.float32 and m.count.value.dtype == jnp.int32


@pytest.mark.parametrize("compiled", [False, True])
def test_welford_matches_numpy_over_batches(compiled):
    shapes = [(6, 4)] * 5 if compiled else [(3,), (), (10, 2)]
    batches = _float_batches(2, shapes, loc=500.0)  # a large mean: naive sum-of-squares would lose digits
    w = nn.WelfordMetric("x")
    _feed(w, batches, compiled, x=None)
    data = np.concatenate([b[0].ravel() for b in batches]).astype(np.float64)
    s = w.compute()
    np.testing.assert_allclose(s.mean, data.mean(), rtol=1e-6)
    np.testing.assert_allclose(s.variance, data.var(), rtol=1e-3)
    np.testing.assert_allclose(s.standard_deviation, data.std(), rtol=1e-3)
    np.testing.assert_allclose(s.standard_error_of_mean, data.std() / np.sqrt(data.size), rtol=1e-3)
    assert int(w.count.value) == data.size


def test_welford_without_data_is_nan_and_empty_batch_adds_nothing():
    w = nn.WelfordMetric()
    s = w.compute()
    assert all(np.isnan(v) for v in (s.mean, s.standard_error_of_mean, s.standard_deviation))
    w.update(values=jnp.array([2.0, 4.0]))
    w.update(values=jnp.zeros((0,)))
    s = w.compute()
    assert (float(s.mean), float(s.standard_deviation), int(w.count.value)) == (3.0, 1.0, 2)
    w.reset()
    assert np.isnan(w.compute().mean)


def test_welford_statistics_leave_compiled_code():
    w = nn.WelfordMetric()
    w.update(values=jnp.array([1.0, 3.0]))
    s = T.jit(w.compute)()
    assert type(s).__name__ == "Statistics" and float(s.mean) == 2.0 and float(s.variance) == 1.0


@pytest.mark.parametrize("cls", [nn.AverageMetric, nn.WelfordMetric])
def test_missing_keyword_and_bad_argname(cls):
    m = cls("loss")
    with pytest.raises(bc.InputError, match=rf"{cls.__name__}\(argname='loss'\)\.update needs the keyword argument "
                                            r"'loss', got \['values'\]\. Fix: call update\(loss=\.\.\.\)"):
        m.update(values=jnp.ones(2))
    with pytest.raises(bc.ConfigError, match=rf"{cls.__name__}: argname must be a keyword name .* got 3\. Fix:"):
        cls(3)


# --- AccuracyMetric ---------------------------------------------------------------------------------

@pytest.mark.parametrize("compiled", [False, True])
def test_accuracy_matches_sklearn(compiled):
    rng = np.random.default_rng(3)
    batches = [(rng.normal(size=(12, N_CLASSES)), rng.integers(0, N_CLASSES, 12)) for _ in range(4)]
    acc = nn.AccuracyMetric()
    assert np.isnan(acc.compute())
    _feed(acc, batches, compiled, logits=None, labels=None)
    y_true = np.concatenate([b[1] for b in batches])
    y_pred = np.concatenate([b[0].argmax(-1) for b in batches])
    np.testing.assert_allclose(acc.compute(), skm.accuracy_score(y_true, y_pred), rtol=1e-6)
    acc.reset()
    assert np.isnan(acc.compute())


def test_accuracy_with_extra_axes():
    logits = jnp.zeros((2, 3, 5)).at[:, :, 1].set(1.0)
    labels = jnp.array([[1, 1, 0], [1, 4, 1]])
    acc = nn.AccuracyMetric()
    acc.update(logits=logits, labels=labels, unused=jnp.ones(7))
    np.testing.assert_allclose(acc.compute(), 4 / 6, rtol=1e-6)


def test_accuracy_refuses_bad_input():
    acc = nn.AccuracyMetric()
    with pytest.raises(bc.InputError, match=r"AccuracyMetric\(\)\.update: labels must have the shape of logits "
                                            r"without its last \(class\) axis, got logits \(5, 2\) and labels \(1,\)"):
        acc.update(logits=jnp.zeros((5, 2)), labels=jnp.zeros((1,), int))  # upstream broadcast this
    with pytest.raises(bc.InputError, match=r"got logits \(5, 2\) and labels \(5, 2\)"):
        acc.update(logits=jnp.zeros((5, 2)), labels=jnp.zeros((5, 2), int))
    with pytest.raises(bc.InputError, match=r"labels must be integer class indices, got dtype float32\. Fix: cast"):
        acc.update(logits=jnp.zeros((3, 2)), labels=jnp.zeros(3))
    with pytest.raises(bc.InputError, match=r"labels must be class indices in \[0, 2\), got -1 \(1 of 3 outside\)"):
        acc.update(logits=jnp.zeros((3, 2)), labels=jnp.array([0, -1, 1]))
    assert int(acc.count.value) == 0


def test_accuracy_counts_out_of_range_labels_as_wrong_when_compiled():
    acc = nn.AccuracyMetric()
    T.jit(lambda lo, la: acc.update(logits=lo, labels=la))(jnp.eye(3)[:, :2], jnp.array([0, 1, 7]))
    np.testing.assert_allclose(acc.compute(), 2 / 3, rtol=1e-6)


# --- Precision, recall, F1 --------------------------------------------------------------------------

_SKLEARN = {nn.PrecisionMetric: skm.precision_score, nn.RecallMetric: skm.recall_score, nn.F1ScoreMetric: skm.f1_score}
_MODES = [(None, "macro"), (N_CLASSES, "macro"), (N_CLASSES, "micro"), (N_CLASSES, "weighted")]


def _scores(num_classes=None, average="macro"):
    """One metric of each kind, as a MultiMetric (one compilation checks all three)."""
    return nn.MultiMetric(**{cls.__name__: cls(num_classes=num_classes, average=average) for cls in _SKLEARN})


def _expected(y_true, y_pred, **kwargs):
    return {cls.__name__: fn(y_true, y_pred, zero_division=0, **kwargs) for cls, fn in _SKLEARN.items()}


def _assert_scores(got, expected):
    assert list(got) == list(expected)
    for name in got:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize(("num_classes", "average"), _MODES)
def test_scores_match_sklearn(num_classes, average):
    n = 2 if num_classes is None else num_classes
    batches = _batches(10 + n, n_classes=n)
    m = _scores(num_classes, average)
    assert all(float(v) == 0.0 for v in m.compute().values())  # no data: every denominator is zero
    assert _feed(m, batches, compiled=True, predictions=None, labels=None) == 1
    y_pred = np.concatenate([b[0] for b in batches])
    y_true = np.concatenate([b[1] for b in batches])
    kwargs = {} if num_classes is None else {"labels": range(n), "average": average}
    _assert_scores(m.compute(), _expected(y_true, y_pred, **kwargs))
    m.reset()
    assert all(float(v) == 0.0 for v in m.compute().values())


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_scores_of_an_absent_class_count_as_zero(average):
    y_true, y_pred = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0])  # class 2 never appears
    m = _scores(3, average)
    m.update(predictions=y_pred.reshape(5, 1), labels=y_true.reshape(5, 1))  # any shape, flattened
    _assert_scores(m.compute(), _expected(y_true, y_pred, labels=[0, 1, 2], average=average))


def test_binary_scores_take_bool_arrays():
    y_pred, y_true = np.array([True, False, True, True]), np.array([True, True, False, True])
    m = _scores()
    m.update(predictions=y_pred, labels=y_true)
    _assert_scores(m.compute(), _expected(y_true, y_pred))


@pytest.mark.parametrize("cls", list(_SKLEARN))
def test_scores_refuse_bad_configuration(cls):
    name = cls.__name__
    with pytest.raises(bc.ConfigError, match=rf"{name}: unknown average 'samples'; expected one of micro, macro, "
                                             r"weighted\. Fix: pass average='macro'"):
        cls(num_classes=3, average="samples")
    with pytest.raises(bc.ConfigError, match=rf"{name}: unknown average 'binary'"):
        cls(average="binary")
    for bad in (0, -2, 2.5, True):
        with pytest.raises(bc.ConfigError, match=rf"{name}: num_classes must be a positive integer or None \(binary\)"
                                                 rf", got {bad!r}\. Fix:"):
            cls(num_classes=bad)


@pytest.mark.parametrize("cls", list(_SKLEARN) + [nn.ConfusionMatrix])
def test_class_metrics_refuse_bad_input(cls):
    m = cls(num_classes=3)
    head = rf"{cls.__name__}\(num_classes=3(, average='macro')?\)\.update: "
    with pytest.raises(bc.InputError, match=head + r"predictions and labels must have the same shape, got \(4,\) and "
                                                   r"\(2, 2\)\. Fix:"):
        m.update(predictions=jnp.zeros(4, int), labels=jnp.zeros((2, 2), int))
    with pytest.raises(bc.InputError, match=head + r"predictions must be class indices \(an integer or bool dtype\), "
                                                   r"got dtype float32\. Fix: pass scores\.argmax\(-1\)"):
        m.update(predictions=jnp.array([0.0, 1.0]), labels=jnp.array([0, 1]))
    with pytest.raises(bc.InputError, match=head + r"labels must be class indices in \[0, 3\), got 3 \(2 of 4 "
                                                   r"outside\)\. Fix: map the labels to 0\.\.2"):
        m.update(predictions=jnp.array([0, 1, 2, 0]), labels=jnp.array([3, 1, 5, 0]))
    with pytest.raises(bc.InputError, match=head + r"predictions must be class indices in \[0, 3\), got -1"):
        m.update(predictions=jnp.array([-1, 1]), labels=jnp.array([0, 1]))
    assert all(not np.asarray(s.value).any() for s in m.states(nn.MetricState).values())  # nothing was counted


def test_binary_scores_refuse_labels_other_than_0_and_1():
    with pytest.raises(bc.InputError, match=r"PrecisionMetric\(num_classes=None, average='macro'\)\.update: labels "
                                            r"must be class indices in \[0, 2\), got 2"):
        nn.PrecisionMetric().update(predictions=jnp.array([0, 1]), labels=jnp.array([2, 1]))


def test_f1_components_stay_consistent():
    f1 = nn.F1ScoreMetric(num_classes=3, average="micro")
    y_pred, y_true = np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 1, 1])
    f1.update(predictions=y_pred, labels=y_true)
    np.testing.assert_allclose(f1.precision_metric.compute(), skm.precision_score(y_true, y_pred, average="micro"))
    np.testing.assert_allclose(f1.recall_metric.compute(), skm.recall_score(y_true, y_pred, average="micro"))
    np.testing.assert_allclose(f1.compute(), skm.f1_score(y_true, y_pred, average="micro"), rtol=1e-6)
    assert repr(f1) == "F1ScoreMetric(num_classes=3, average='micro')"


# --- ConfusionMatrix --------------------------------------------------------------------------------

@pytest.mark.parametrize("compiled", [False, True])
def test_confusion_matrix_matches_sklearn(compiled):
    batches = _batches(5)
    cm = nn.ConfusionMatrix(num_classes=N_CLASSES)
    np.testing.assert_array_equal(cm.compute(), np.zeros((N_CLASSES, N_CLASSES)))
    _feed(cm, batches, compiled, predictions=None, labels=None)
    y_pred = np.concatenate([b[0] for b in batches])
    y_true = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(cm.compute(), skm.confusion_matrix(y_true, y_pred, labels=range(N_CLASSES)))
    assert cm.compute().dtype == jnp.int32
    cm.reset()
    assert int(cm.compute().sum()) == 0


def test_confusion_matrix_drops_out_of_range_pairs_when_compiled():
    cm = nn.ConfusionMatrix(3)
    T.jit(lambda p, t: cm.update(predictions=p, labels=t))(jnp.array([0, 1, 2, -1, 1]), jnp.array([0, 5, 2, 1, 1]))
    np.testing.assert_array_equal(cm.compute(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize("bad", [None, 0, 2.0, "3"])
def test_confusion_matrix_needs_a_class_count(bad):
    with pytest.raises(bc.ConfigError, match=rf"ConfusionMatrix: num_classes must be a positive integer, got "
                                             rf"{bad!r}\. Fix: pass the number of classes"):
        nn.ConfusionMatrix(bad)


# --- MultiMetric and loops --------------------------------------------------------------------------

def _multi():
    return nn.MultiMetric(accuracy=nn.AccuracyMetric(), loss=nn.AverageMetric("loss"),
                          f1=nn.F1ScoreMetric(N_CLASSES, "weighted"), cm=nn.ConfusionMatrix(N_CLASSES))


def test_multi_metric_updates_every_metric_in_a_compiled_loop():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(5, 8, N_CLASSES)).astype(np.float32)
    labels = rng.integers(0, N_CLASSES, (5, 8))
    losses = rng.random((5, 8)).astype(np.float32)
    ms = _multi()
    assert list(ms.compute()) == ["accuracy", "loss", "f1", "cm"] and np.isnan(ms.compute()["loss"])

    @T.jit
    def epoch(lo, la, lv):
        T.for_loop(lambda a, b, c: ms.update(logits=a, labels=b, predictions=a.argmax(-1), loss=c), lo, la, lv)

    epoch(jnp.asarray(logits), jnp.asarray(labels), jnp.asarray(losses))
    y_pred, y_true = logits.argmax(-1).ravel(), labels.ravel()
    out = ms.compute()
    np.testing.assert_allclose(out["accuracy"], skm.accuracy_score(y_true, y_pred), rtol=1e-6)
    np.testing.assert_allclose(out["loss"], losses.mean(), rtol=1e-5)
    np.testing.assert_allclose(out["f1"], skm.f1_score(y_true, y_pred, average="weighted", labels=range(N_CLASSES),
                                                       zero_division=0), rtol=1e-5)
    np.testing.assert_array_equal(out["cm"], skm.confusion_matrix(y_true, y_pred, labels=range(N_CLASSES)))
    ms.reset()
    assert np.isnan(ms.compute()["accuracy"]) and int(ms.cm.compute().sum()) == 0


def test_multi_metric_repr_and_states():
    ms = nn.MultiMetric(acc=nn.AccuracyMetric(), loss=nn.AverageMetric())
    assert repr(ms) == "MultiMetric(acc=AccuracyMetric(), loss=AverageMetric(argname='values'))"
    assert sorted(ms.states(nn.MetricState)) == [("acc", "count"), ("acc", "total"), ("loss", "count"),
                                                 ("loss", "total")]
    with pytest.raises(bc.InputError, match=r"AverageMetric\(argname='values'\)\.update needs the keyword argument"):
        ms.update(logits=jnp.zeros((1, 2)), labels=jnp.zeros(1, int))


@pytest.mark.parametrize("name", ["update", "reset", "compute", "states", "_metric_names", "_x"])
def test_multi_metric_refuses_reserved_names(name):
    with pytest.raises(bc.ConfigError, match=rf"MultiMetric: the name '{name}' is reserved .* Fix: give that metric "
                                             "another name"):
        nn.MultiMetric(**{name: nn.AverageMetric()})


def test_multi_metric_refuses_non_metrics():
    with pytest.raises(bc.ConfigError, match=r"MultiMetric: 'acc' must be a brainstate.nn.Metric, got function\. "
                                             r"Fix:"):
        nn.MultiMetric(loss=nn.AverageMetric(), acc=skm.accuracy_score)
