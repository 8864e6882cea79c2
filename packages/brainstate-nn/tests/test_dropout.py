"""Dropout and the `fit` switch between training and evaluation."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T


def test_training_keeps_about_prob_and_rescales():
    drop = nn.Dropout(0.8)
    with bc.environ.context(fit=True):
        y = np.asarray(drop(jnp.ones((100, 100))))
    assert set(np.unique(y).round(5)) == {0.0, 1.25}
    assert abs((y > 0).mean() - 0.8) < 0.02 and abs(y.mean() - 1.0) < 0.03


def test_evaluation_is_identity_and_missing_fit_raises():
    drop = nn.Dropout(0.5)
    x = jnp.arange(4.0)
    with bc.environ.context(fit=False):
        np.testing.assert_array_equal(drop(x), x)
    with pytest.raises(bc.EnvironKeyError, match=r"'fit'.*whether the model is being trained.*environ.context\(fit"):
        drop(x)


def test_broadcast_dims_share_the_mask():
    drop = nn.Dropout(0.5, broadcast_dims=(0,))
    with bc.environ.context(fit=True):
        y = np.asarray(drop(jnp.ones((8, 50))))
    assert (y == y[0]).all()


def test_jit_retraces_when_fit_changes_and_draws_fresh_masks():
    drop = nn.Dropout(0.5, rng=R.RandomState(0))
    f = T.jit(lambda x: drop(x))
    x = jnp.ones(64)
    with bc.environ.context(fit=True):
        a, b = np.asarray(f(x)), np.asarray(f(x))
    assert not np.array_equal(a, b) and set(np.unique(a)) == {0.0, 2.0}
    with bc.environ.context(fit=False):
        np.testing.assert_array_equal(f(x), x)


def test_gradient_is_masked(param_grads):
    layer = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.5))
    x = jnp.ones((1, 4))

    def loss():
        with bc.environ.context(fit=True):
            return jnp.sum(layer(x))

    g = np.asarray(param_grads(layer, loss)[("layers", 0, "weight")]["bias"])
    assert set(np.unique(g)) == {0.0, 2.0}


@pytest.mark.parametrize("prob", [0.0, 1.5, -0.1])
def test_bad_prob(prob):
    with pytest.raises(bc.ConfigError, match=r"Dropout prob is the probability to keep an element and must be in \(0, 1\]"):
        nn.Dropout(prob)
