"""Shared helpers of the brainstate-nn tests."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_random as R
import brainstate_transform as T


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same default random key."""
    R.seed(0)


def _param_grads(module, loss):
    """Gradients of ``loss()`` with respect to every ParamState of ``module``, by path."""
    params = module.states(bc.ParamState)
    return T.jit(T.grad(loss, grad_states=params))()  # one compilation instead of one per eager op


def _assert_grads_flow(module, x, *, fit=None):
    """Every parameter leaf of ``module`` receives a finite, non-zero gradient from ``sum(module(x)**2)``."""

    def loss():
        if fit is None:
            return jnp.sum(module(x) ** 2)
        with bc.environ.context(fit=fit):
            return jnp.sum(module(x) ** 2)

    grads = _param_grads(module, loss)
    assert grads, "the module has no parameters"
    for path, g in grads.items():
        for leaf in jax.tree.leaves(g):
            arr = np.asarray(leaf)
            assert np.isfinite(arr).all(), path
            assert np.abs(arr).sum() > 0, f"no gradient reaches {path}"


@pytest.fixture
def param_grads():
    """``param_grads(module, loss)``: gradients of ``loss()`` w.r.t. the module's ParamStates, by path."""
    return _param_grads


@pytest.fixture
def assert_grads_flow():
    """``assert_grads_flow(module, x, fit=None)``: every parameter gets a finite non-zero gradient."""
    return _assert_grads_flow
