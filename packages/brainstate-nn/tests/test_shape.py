"""Flatten and Unflatten against NumPy reshape."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

X = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("start, end, shape", [(0, -1, (120,)), (1, -1, (2, 60)), (1, 2, (2, 12, 5)), (-2, -1, (2, 3, 20))])
def test_flatten(start, end, shape):
    np.testing.assert_array_equal(nn.Flatten(start, end)(jnp.asarray(X)), X.reshape(shape))


def test_flatten_with_in_size_skips_batch_axes():
    f = nn.Flatten(in_size=(4, 5))
    assert f(jnp.asarray(X)).shape == (2, 3, 20) and f(jnp.asarray(X[0, 0])).shape == (20,)
    with pytest.raises(bc.InputError, match=r"Flatten\(in_size=\(4, 5\)\) got an input of shape \(2, 3\)"):
        f(jnp.ones((2, 3)))
    with pytest.raises(bc.InputError, match=r"start_axis=2 comes after end_axis=1"):
        nn.Flatten(2, 1)(jnp.asarray(X))


def test_unflatten_inverts_flatten():
    y = nn.Unflatten(1, (4, 5))(nn.Flatten(1)(jnp.asarray(X[:, 0])))
    np.testing.assert_array_equal(y, X[:, 0])
    with pytest.raises(bc.InputError, match=r"Unflatten cannot split axis -1 of size 5 into \(2, 2\)"):
        nn.Unflatten(-1, (2, 2))(jnp.asarray(X))
