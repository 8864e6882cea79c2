"""SpikeBitwise: the truth tables of the four operations, input dtypes, broadcasting, gradients and errors."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

TABLES = {  # g(x, y) for (x, y) = (0, 0), (0, 1), (1, 0), (1, 1)
    "add": [0, 1, 1, 2],
    "and": [0, 0, 0, 1],
    "iand": [0, 1, 0, 0],
    "or": [0, 1, 1, 1],
}
PAIRS = list(itertools.product([0, 1], repeat=2))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bool_, jnp.int32])
@pytest.mark.parametrize("op", list(TABLES))
def test_truth_tables(op, dtype):
    x = jnp.array([p[0] for p in PAIRS], dtype)
    y = jnp.array([p[1] for p in PAIRS], dtype)
    out = nn.SpikeBitwise(op)(x, y)
    assert jnp.issubdtype(out.dtype, jnp.floating)   # booleans are counted, not OR-ed
    assert out.tolist() == TABLES[op]


def test_default_is_add_broadcasting_and_jit():
    m = nn.SpikeBitwise()
    assert m.op == "add" and isinstance(m, nn.ElementWiseBlock) and "op='add'" in repr(m)
    x = jnp.array([[0.0, 1.0, 1.0]])
    y = jnp.array([[1.0], [0.0]])
    np.testing.assert_array_equal(T.jit(nn.SpikeBitwise("or"))(x, y), [[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize("op, dx, dy", [
    ("add", lambda x, y: 1.0, lambda x, y: 1.0),
    ("and", lambda x, y: y, lambda x, y: x),
    ("iand", lambda x, y: -y, lambda x, y: 1.0 - x),
    ("or", lambda x, y: 1.0 - y, lambda x, y: 1.0 - x),
])
def test_gradients_are_those_of_the_polynomials(op, dx, dy):
    m = nn.SpikeBitwise(op)
    x = jnp.array([0.0, 0.0, 1.0, 1.0, 0.3])
    y = jnp.array([0.0, 1.0, 0.0, 1.0, 0.8])
    gx, gy = jax.grad(lambda a, b: m(a, b).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.broadcast_to(dx(x, y), x.shape), rtol=1e-6)
    np.testing.assert_allclose(gy, np.broadcast_to(dy(x, y), y.shape), rtol=1e-6)


def test_the_gradient_reaches_a_surrogate_spike():
    spike = nn.surrogate.Sigmoid()
    m = nn.SpikeBitwise("and")
    v = jnp.array([0.2, -0.1])
    g = jax.grad(lambda v: m(spike(v), jnp.ones(2)).sum())(v)
    assert bool(jnp.all(g > 0))


@pytest.mark.parametrize("op", ["xor", "ADD", None, ["and"]])
def test_unknown_op_raises(op):
    with pytest.raises(bc.ConfigError, match=r"SpikeBitwise op must be one of \['add', 'and', 'iand', 'or'\].*Fix"):
        nn.SpikeBitwise(op)
