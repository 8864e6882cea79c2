"""Embedding: lookup against NumPy indexing, gradients reach only the used rows."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn


def test_lookup_matches_numpy_indexing():
    emb = nn.Embedding(10, 3)
    ids = np.array([[0, 9, 3], [3, 3, 1]])
    out = emb(jnp.asarray(ids))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, np.asarray(emb.weight.value)[ids])
    assert nn.count_parameters(emb) == 30 and repr(emb).startswith("Embedding(num_embeddings=10, embedding_size=3)")


def test_gradient_reaches_only_used_rows(param_grads):
    emb = nn.Embedding(5, 2, embedding_init=jnp.ones((5, 2)))
    g = np.asarray(param_grads(emb, lambda: jnp.sum(emb(jnp.array([1, 1, 4]))))[("weight",)])
    np.testing.assert_array_equal(g, [[0, 0], [2, 2], [0, 0], [0, 0], [1, 1]])


def test_float_ids_are_refused():
    with pytest.raises(bc.InputError, match=r"Embedding\(num_embeddings=5, embedding_size=2\) expects integer ids, got dtype float32. Fix: cast"):
        nn.Embedding(5, 2)(jnp.array([1.0]))
