"""global_batch and gather in one process (tests/test_multiprocess.py runs them over two processes)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from brainstate_core import ShardingError, sharding
from brainstate_core._multiprocess import gather, global_batch


def _mesh(*shape, names=("data",)):
    n = int(np.prod(shape))
    return Mesh(np.asarray(jax.devices()[:n]).reshape(shape), names)


@pytest.mark.parametrize("kind", ["numpy", "jax"])
def test_one_process_gets_its_rows_laid_out_over_the_axis(kind):
    n = jax.device_count()
    x = np.arange(4.0 * n * 3).reshape(2 * n, 2, 3)
    tree = {"x": x if kind == "numpy" else jnp.asarray(x), "y": [np.arange(2 * n)]}
    batch = global_batch(tree)
    assert batch["x"].sharding == NamedSharding(batch["x"].sharding.mesh, P("data"))
    assert batch["x"].sharding.mesh.axis_names == ("data",) and len(batch["x"].sharding.device_set) == n
    np.testing.assert_array_equal(batch["x"], x)
    np.testing.assert_array_equal(batch["y"][0], np.arange(2 * n))


def test_the_axis_of_a_given_mesh_or_of_the_mesh_in_use():
    mesh = _mesh(1, 1, names=("data", "model"))
    assert global_batch(np.ones((2, 3)), mesh, "model").sharding.spec == P("model")
    assert global_batch(np.ones((2, 3)), mesh, ("data", "model")).sharding.spec == P(("data", "model"))
    with sharding.use_mesh(_mesh(1, names=("batch",))):
        assert global_batch(np.ones((2, 3)), axis="batch").sharding.mesh.axis_names == ("batch",)


@pytest.mark.parametrize("mesh, axis, tree, pattern", [
    (_mesh(1), "model", np.ones(2), r"splits the batch over the mesh axis 'model', but the mesh has the axes "
                                    r"\('data',\)\. Fix: pass axis="),
    (None, ("data", "model"), np.ones(2), r"got the mesh axes \('data', 'model'\) and no mesh\. Fix: pass mesh="),
    (None, "data", {"lr": np.float32(0.1)}, r"got a scalar at \['lr'\]: every leaf needs a batch axis.*Fix: pass arrays"),
])
def test_misuse_names_the_axis_or_the_leaf(mesh, axis, tree, pattern):
    with pytest.raises(ShardingError, match=pattern):
        global_batch(tree, mesh, axis)


def test_gather_returns_numpy_values_of_every_leaf():
    batch = global_batch(np.arange(2.0 * jax.device_count()))
    out = gather({"batch": batch, "local": jnp.ones(2), "n": 3})
    assert all(isinstance(v, np.ndarray) for v in out.values())
    np.testing.assert_array_equal(out["batch"], np.arange(2.0 * jax.device_count()))
    assert out["n"].tolist() == 3
