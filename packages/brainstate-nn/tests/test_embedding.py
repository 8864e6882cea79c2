"""Embedding: lookup against NumPy indexing, gradients reach only the used rows."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

RNG = np.random.default_rng(0)


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


def test_padding_idx_row_starts_at_zero_and_gets_no_gradient(param_grads):
    emb = nn.Embedding(5, 2, padding_idx=3)
    np.testing.assert_array_equal(emb.weight.value[3], [0, 0])
    g = np.asarray(param_grads(emb, lambda: jnp.sum(emb(jnp.array([3, 1, 3, 0]))))[("weight",)])
    np.testing.assert_array_equal(g, [[1, 1], [1, 1], [0, 0], [0, 0], [0, 0]])


def test_scale_grad_by_freq_divides_each_row_by_its_count(param_grads):
    emb = nn.Embedding(5, 2, scale_grad_by_freq=True)
    g = np.asarray(param_grads(emb, lambda: jnp.sum(emb(jnp.array([[1, 1, 4], [1, 2, 2]])) * 2.0))[("weight",)])
    np.testing.assert_allclose(g, [[0, 0], [2, 2], [2, 2], [0, 0], [2, 2]])  # PyTorch: 2 * count / count


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_renormalises_the_rows_looked_up(norm_type):
    table = RNG.normal(size=(6, 3)).astype(np.float32) * 3
    emb = nn.Embedding(6, 3, embedding_init=jnp.asarray(table), max_norm=1.5, norm_type=norm_type)
    ids = np.array([0, 2, 2, 5])
    norms = np.linalg.norm(table, ord=norm_type, axis=1, keepdims=True)
    scaled = np.where(norms > 1.5, table * 1.5 / (norms + 1e-7), table)  # PyTorch's embedding_renorm_
    np.testing.assert_allclose(emb(jnp.asarray(ids)), scaled[ids], rtol=1e-5)
    expected_table = table.copy()
    expected_table[[0, 2, 5]] = scaled[[0, 2, 5]]  # only the rows used are renormalised (eagerly, in place)
    np.testing.assert_allclose(emb.weight.value, expected_table, rtol=1e-5)


def test_max_norm_gradient_passes_as_if_unscaled(param_grads):
    emb = nn.Embedding(3, 2, embedding_init=jnp.full((3, 2), 10.0), max_norm=1.0)
    g = np.asarray(param_grads(emb, lambda: jnp.sum(emb(jnp.array([1]))))[("weight",)])
    np.testing.assert_array_equal(g, [[0, 0], [1, 1], [0, 0]])


def test_freeze_and_from_pretrained(param_grads):
    table = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(table, padding_idx=0)
    assert emb.freeze and emb.padding_idx == 0
    np.testing.assert_array_equal(emb(jnp.array([0, 2])), table[[0, 2]])  # the pretrained pad row is kept
    g = np.asarray(param_grads(emb, lambda: jnp.sum(emb(jnp.array([1, 2]))))[("weight",)])
    assert not g.any()


def test_multi_dimensional_embeddings_param_type_and_sizes():
    class Table(bc.ParamState):
        pass

    emb = nn.Embedding(4, (2, 3), param_type=Table, in_size=(5,))
    assert type(emb.weight) is Table and emb.weight.value.shape == (4, 2, 3)
    assert emb(jnp.zeros((7, 5), int)).shape == (7, 5, 2, 3) and emb.out_size == (5, 2, 3)
    assert nn.Embedding(4, 3).out_size == (3,)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Embedding(4, 3, padding_idx=4), r"padding_idx=4 is not an id in \[0, 4\)"),
    (lambda: nn.Embedding(4, 3, max_norm=0.0), r"max_norm=0.0 must be positive"),
    (lambda: nn.Embedding.from_pretrained(np.ones(3)), r"needs a table of at least 2 dimensions"),
])
def test_bad_options(make, match):
    with pytest.raises(bc.ConfigError, match=match):
        make()
