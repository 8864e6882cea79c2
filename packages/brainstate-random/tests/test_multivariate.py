"""choice, permutation, shuffle and the vector-valued samplers: set properties, moments and bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_random as random
from brainstate_random import RandomParameterError, RandomState

stats = pytest.importorskip("scipy.stats")

A = jnp.arange(12).reshape(3, 4)
P = jnp.array([0.5, 0.0, 0.3, 0.2])
MEAN, COV = jnp.array([1.0, -2.0]), jnp.array([[2.0, 0.6], [0.6, 1.0]])


def _repeat(n, draw):
    """``n`` independent draws (stacked), each with its own key."""
    return lambda r, k: jax.vmap(lambda kk: draw(r, kk))(jax.random.split(k, n))


# Every draw the tests below inspect, made by one compiled program (one XLA compilation).
DRAWS = {
    "choice": lambda r, k: r.choice(10, size=3000, key=k),
    "choice_no_replace": _repeat(20, lambda r, k: r.choice(10, size=(2, 5), replace=False, key=k)),
    "choice_array_no_replace": lambda r, k: r.choice(jnp.arange(100, 120), size=7, replace=False, key=k),
    "choice_rows": lambda r, k: r.choice(A, size=5, key=k),
    "choice_columns": lambda r, k: r.choice(A, size=2, replace=False, axis=1, key=k),
    "choice_p": lambda r, k: r.choice(4, size=3000, p=P, key=k),
    "choice_p_no_replace": _repeat(20, lambda r, k: r.choice(4, size=3, replace=False, p=P, key=k)),
    "choice_one": lambda r, k: r.choice(5, key=k),
    "permutation": _repeat(300, lambda r, k: r.permutation(5, key=k)),
    "permutation_rows": lambda r, k: r.permutation(A, key=k),
    "permutation_columns": lambda r, k: r.permutation(A, axis=1, key=k),
    "permutation_independent": lambda r, k: r.permutation(A, axis=1, independent=True, key=k),
    "shuffle": lambda r, k: r.shuffle(jnp.arange(50), key=k),
    "shuffle_columns": lambda r, k: r.shuffle(jnp.arange(50).reshape(5, 10), axis=1, key=k),
    "multinomial": lambda r, k: r.multinomial(jnp.array([5, 50]), [0.2, 0.3, 0.5], key=k),
    "categorical_axis0": lambda r, k: r.categorical(jnp.log(jnp.array([[0.9, 0.1], [0.1, 0.9]])), axis=0, size=(500, 2), key=k),
    "dirichlet": lambda r, k: r.dirichlet(jnp.array([0.5, 1.0, 2.0]), size=100, key=k),
    "multivariate_normal": lambda r, k: r.multivariate_normal(MEAN, COV, size=3000, key=k),
    "multivariate_normal_singular": lambda r, k: r.multivariate_normal(jnp.zeros(2), jnp.ones((2, 2)), size=10, method="svd", key=k),
}


@pytest.fixture(scope="module")
def draws() -> dict:
    rng = RandomState(0)
    keys = jax.random.split(jax.random.key(5), len(DRAWS))
    out = jax.jit(lambda keys: {name: draw(rng, key) for (name, draw), key in zip(DRAWS.items(), keys)})(keys)
    return {name: np.asarray(x) for name, x in out.items()}


def _rows(x) -> set:
    return {tuple(r) for r in np.asarray(x).tolist()}


def test_choice_with_replacement_covers_the_population_uniformly(draws):
    x = draws["choice"]
    assert x.shape == (3000,) and set(x.tolist()) == set(range(10))
    assert stats.chisquare(np.bincount(x, minlength=10)).pvalue > 1e-3


def test_choice_without_replacement_gives_distinct_items(draws):
    x = draws["choice_no_replace"]
    assert x.shape == (20, 2, 5)
    assert all(sorted(sample.ravel().tolist()) == list(range(10)) for sample in x)
    y = draws["choice_array_no_replace"]
    assert len(set(y.tolist())) == 7 and set(y.tolist()) <= set(range(100, 120))


def test_choice_from_an_array_along_an_axis(draws):
    assert draws["choice_rows"].shape == (5, 4) and _rows(draws["choice_rows"]) <= _rows(A)
    cols = draws["choice_columns"]
    assert cols.shape == (3, 2) and _rows(cols.T) <= _rows(A.T) and len(_rows(cols.T)) == 2


def test_choice_with_probabilities(draws):
    counts = np.bincount(draws["choice_p"], minlength=4)
    p = np.array([0.5, 0.0, 0.3, 0.2])
    assert counts[1] == 0
    assert stats.chisquare(counts[[0, 2, 3]], 3000 * p[[0, 2, 3]]).pvalue > 1e-3
    assert all(sorted(sample.tolist()) == [0, 2, 3] for sample in draws["choice_p_no_replace"])


def test_choice_without_size_draws_one_item(draws):
    assert draws["choice_one"].shape == () and 0 <= int(draws["choice_one"]) < 5
    assert jax.eval_shape(lambda: random.choice(jnp.array([3.0, 4.0]), key=jax.random.key(0))).shape == ()


def test_permutation_of_an_int_is_a_uniform_permutation(draws):
    perms = draws["permutation"]
    assert all(sorted(p.tolist()) == [0, 1, 2, 3, 4] for p in perms)
    assert stats.chisquare(np.bincount(perms[:, 0], minlength=5)).pvalue > 1e-3


def test_permutation_of_an_array_along_an_axis(draws):
    assert _rows(draws["permutation_rows"]) == _rows(A)
    assert _rows(draws["permutation_columns"].T) == _rows(A.T)
    for row, original in zip(draws["permutation_independent"], np.asarray(A)):
        assert sorted(row.tolist()) == original.tolist()


def test_shuffle_returns_a_shuffled_copy(draws):
    y = draws["shuffle"]
    assert sorted(y.tolist()) == list(range(50)) and y.tolist() != list(range(50))
    z = draws["shuffle_columns"]
    assert z.shape == (5, 10) and all(sorted(row.tolist()) == list(range(10 * i, 10 * i + 10)) for i, row in enumerate(z))


def test_shuffle_eagerly_leaves_its_input_alone():
    x = jnp.arange(6)
    y = RandomState(0).shuffle(x)
    assert x.tolist() == list(range(6)) and sorted(y.tolist()) == list(range(6))


def test_multinomial_counts_sum_to_n(draws):
    assert draws["multinomial"].shape == (2, 3) and draws["multinomial"].sum(-1).tolist() == [5, 50]


def test_vector_sampler_shapes():
    key = jax.random.key(0)
    rng = RandomState(0)
    assert jax.eval_shape(lambda: rng.multinomial(7, jnp.full((4, 2), 0.5), size=(3, 4), key=key)).shape == (3, 4, 2)
    assert jax.eval_shape(lambda: rng.categorical(jnp.zeros((2, 5)), axis=0, key=key)).shape == (5,)
    assert jax.eval_shape(lambda: rng.dirichlet(jnp.ones((2, 3)), size=(4, 2), key=key)).shape == (4, 2, 3)
    assert jax.eval_shape(lambda: rng.multivariate_normal(jnp.zeros((4, 2)), jnp.eye(2), key=key)).shape == (4, 2)
    assert jax.eval_shape(lambda: rng.orthogonal(3, size=2, key=key)).shape == (2, 3, 3)


def test_categorical_along_an_axis(draws):
    x = draws["categorical_axis0"]
    assert x.shape == (500, 2)
    assert x[:, 0].mean() < 0.2 and x[:, 1].mean() > 0.8


def test_dirichlet_rows_sum_to_one(draws):
    np.testing.assert_allclose(draws["dirichlet"].sum(-1), 1.0, rtol=1e-5)
    assert (draws["dirichlet"] >= 0).all()


def test_multivariate_normal_mean_and_covariance(draws):
    x = draws["multivariate_normal"].astype(np.float64)
    np.testing.assert_allclose(x.mean(0), MEAN, atol=0.15)
    np.testing.assert_allclose(np.cov(x.T), COV, rtol=0.15)
    y = draws["multivariate_normal_singular"]
    np.testing.assert_allclose(y[:, 0], y[:, 1], atol=2e-3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r: r.choice(5, size=6, replace=False), r"cannot take 6 samples without replacement from a population of 5"),
        (lambda r: r.choice(jnp.arange(3), size=(2, 2), replace=False), r"cannot take 4 samples without replacement"),
        (lambda r: r.choice(3, p=[0.5, 0.2, 0.2]), r"choice\(\): the probabilities `p` must sum to 1"),
        (lambda r: r.choice(3, p=[1.5, -0.5, 0.0]), r"choice\(\): `p` must be in \[0, 1\]"),
        (lambda r: r.choice(3, p=[0.5, 0.5]), r"`p` must be a vector of length 3"),
        (lambda r: r.choice(3, size=3, replace=False, p=[0.5, 0.5, 0.0]), r"fewer non-zero entries"),
        (lambda r: r.choice(0), r"cannot sample from an empty population"),
        (lambda r: r.choice(jnp.array(3.0)), r"`a` must be an int or an array of at least 1 dimension"),
        (lambda r: r.choice(4, size=1.5), r"size entries must be integers"),
        (lambda r: r.multinomial(5, [0.5, 0.6]), r"multinomial\(\): the probabilities `pvals` must sum to 1"),
        (lambda r: r.multinomial(-5, [0.5, 0.5]), r"multinomial\(\): `n` must be a non-negative integer"),
        (lambda r: r.multinomial(5, 0.5), r"`pvals` must have at least 1 dimension"),
        (lambda r: r.multinomial(jnp.array([1, 2, 3]), [0.5, 0.5], size=(2,)), r"cannot be broadcast to size=\(2,\)"),
        (lambda r: r.categorical(jnp.array(0.0)), r"`logits` must have at least 1 dimension"),
        (lambda r: r.permutation(-2), r"permutation\(\): `x` must be >= 0"),
        (lambda r: r.permutation(jnp.array(2.0)), r"`x` must be an int or an array of at least 1 dimension"),
        (lambda r: r.shuffle(jnp.array(2.0)), r"shuffle\(\): `x` must be an array of at least 1 dimension"),
    ],
)
def test_invalid_parameters_raise_value_errors(call, match):
    with pytest.raises(RandomParameterError, match=match):
        call(RandomState(0))


def test_traced_integer_population_is_refused():
    rng = RandomState(0)
    with pytest.raises(RandomParameterError, match=r"an integer `a` sets the output shape, so it must be static"):
        jax.jit(lambda n: rng.choice(n, key=jax.random.key(0)))(5)
