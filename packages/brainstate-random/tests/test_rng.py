"""RandomState core: seeding, keys, the default generator and the derived module functions."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_random as random
from brainstate_core import BrainStateError, State, StateUsageError
from brainstate_random import RandomParameterError, RandomState


def test_random_state_is_a_state_holding_a_raw_key():
    rng = RandomState(5)
    assert isinstance(rng, State)
    assert rng.value.dtype == jnp.uint32 and rng.value.shape == (2,)
    assert rng.value.tolist() == jax.random.PRNGKey(5).tolist()
    assert repr(rng) == "RandomState(key=[0, 5])"


def test_successive_draws_differ_and_same_seed_repeats():
    rng = RandomState(0)
    a, b = rng.normal(size=4), rng.normal(size=4)
    assert not np.allclose(a, b)
    rng.seed(0)
    np.testing.assert_array_equal(rng.normal(size=4), a)
    np.testing.assert_array_equal(rng.normal(size=4), b)


@pytest.mark.parametrize("make", [jax.random.key, jax.random.PRNGKey], ids=["typed", "raw"])
def test_typed_and_raw_keys_are_accepted_everywhere(make):
    key = make(3)
    assert RandomState(key).get_key().tolist() == [0, 3]
    rng = RandomState(0)
    rng.set_key(key)
    assert rng.get_key().tolist() == [0, 3]
    rng = RandomState(0)
    rng.seed(key)
    assert rng.get_key().tolist() == [0, 3]
    x = rng.normal(size=3, key=make(9))
    np.testing.assert_array_equal(x, RandomState(1).normal(size=3, key=jax.random.PRNGKey(9)))


def test_explicit_key_does_not_advance_the_generator():
    rng = RandomState(0)
    before = rng.get_key()
    a = rng.uniform(size=3, key=jax.random.key(1))
    b = rng.uniform(size=3, key=jax.random.key(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(rng.get_key(), before)


def test_split_key_single_and_many():
    rng = RandomState(0)
    before = rng.get_key()
    sub = rng.split_key()
    assert sub.shape == (2,)
    expected_new, expected_sub = jax.random.split(before)
    np.testing.assert_array_equal(sub, expected_sub)
    np.testing.assert_array_equal(rng.get_key(), expected_new)
    keys = rng.split_key(3)
    assert keys.shape == (3, 2)
    assert len({tuple(k) for k in np.asarray(keys).tolist()}) == 3


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_split_key_rejects_bad_counts(n):
    with pytest.raises(RandomParameterError, match=r"split_key\(\): n must be a positive int"):
        RandomState(0).split_key(n)


def test_sampler_draw_uses_the_split_half():
    # A draw advances the key exactly as split_key() does, and samples with the split-off key.
    rng, twin = RandomState(7), RandomState(7)
    x = rng.normal(size=3)
    sub = twin.split_key()
    np.testing.assert_array_equal(rng.get_key(), twin.get_key())
    np.testing.assert_allclose(x, jax.random.normal(sub, (3,)), rtol=1e-6)


def test_backup_and_restore_key():
    rng = RandomState(1)
    rng.backup_key()
    a = rng.rand(3)
    rng.restore_key()
    np.testing.assert_array_equal(rng.rand(3), a)
    with pytest.raises(StateUsageError, match=r"restore_key\(\) was called without a matching backup_key\(\)"):
        rng.restore_key()


@pytest.mark.parametrize(
    "seed, match",
    [(2**63, r"fit in a 64-bit signed integer"), (-(2**63) - 1, r"fit in a 64-bit signed integer"),
     (True, "a seed must be an integer"),
     (1.5, "expected an integer seed or a PRNG key"), (np.zeros(3, np.float32), "expected an integer seed or a PRNG key")],
)
def test_bad_seeds_raise(seed, match):
    with pytest.raises(RandomParameterError, match=match):
        RandomState(seed)


def test_bad_explicit_key_raises():
    with pytest.raises(RandomParameterError, match=r"expected one PRNG key"):
        RandomState(0).normal(key=jnp.zeros(2, jnp.float32))
    with pytest.raises(RandomParameterError, match=r"expected one PRNG key"):
        RandomState(0).normal(key=jax.random.split(jax.random.key(0), 2))


def test_random_parameter_error_is_a_value_error():
    assert issubclass(RandomParameterError, ValueError)
    assert issubclass(RandomParameterError, BrainStateError)


def test_unseeded_generators_follow_numpys_global_seed():
    np.random.seed(11)
    a = RandomState().rand(2)
    np.random.seed(11)
    np.testing.assert_array_equal(RandomState().rand(2), a)


def test_seed_without_argument_takes_fresh_entropy():
    rng = RandomState(0)
    rng.seed()
    first = rng.get_key().tolist()
    rng.seed()
    assert rng.get_key().tolist() != first


def test_module_seed_seeds_default_and_numpy():
    random.seed(123)
    a, na = random.rand(3), np.random.rand(2)
    random.seed(123)
    np.testing.assert_array_equal(random.rand(3), a)
    np.testing.assert_array_equal(np.random.rand(2), na)
    random.seed(jax.random.key(123))
    np.testing.assert_array_equal(random.rand(3), a)


def test_seed_context_restores_default_and_numpy():
    random.seed(5)
    key, numpy_next = random.get_key(), np.random.rand()
    random.seed(5)
    with random.seed_context(99):
        inside = random.rand(2)
        np.random.rand(5)
    np.testing.assert_array_equal(random.get_key(), key)
    assert np.random.rand() == numpy_next
    with random.seed_context(99):
        np.testing.assert_array_equal(random.rand(2), inside)


def test_default_rng():
    a = random.default_rng(4)
    assert isinstance(a, RandomState) and a is not random.DEFAULT
    np.testing.assert_array_equal(a.rand(2), random.default_rng(4).rand(2))
    assert random.default_rng(a) is a
    assert random.default_rng() is random.DEFAULT  # upstream's meaning, not NumPy's fresh generator


def test_module_key_functions_act_on_default():
    random.set_key(jax.random.key(8))
    assert random.get_key().tolist() == [0, 8]
    random.backup_key()
    assert random.split_key(2).shape == (2, 2)
    random.restore_key()
    assert random.DEFAULT.get_key().tolist() == [0, 8]


def test_randn_shape_of_the_seed():
    assert random.randn(32, 3).shape == (32, 3)


SAMPLERS = [
    "rand", "randn", "random", "random_sample", "ranf", "sample", "randint", "random_integers", "uniform", "normal",
    "standard_normal", "truncated_normal", "bernoulli", "binomial", "multinomial", "poisson", "exponential",
    "standard_exponential", "gamma", "standard_gamma", "beta", "dirichlet", "chisquare", "noncentral_chisquare", "f",
    "noncentral_f", "standard_t", "t", "standard_cauchy", "cauchy", "laplace", "logistic", "lognormal", "pareto",
    "power", "weibull", "weibull_min", "rayleigh", "triangular", "gumbel", "geometric", "hypergeometric",
    "negative_binomial", "logseries", "zipf", "vonmises", "wald", "maxwell", "loggamma", "categorical", "choice",
    "permutation", "shuffle", "orthogonal", "multivariate_normal", "rand_like", "randn_like", "randint_like",
]


@pytest.mark.parametrize("name", SAMPLERS)
def test_module_functions_are_derived_from_methods(name):
    method, function = getattr(RandomState, name), getattr(random, name)
    assert name in random.__all__
    assert "key" in inspect.signature(method).parameters
    method_params = list(inspect.signature(method).parameters.values())[1:]
    assert list(inspect.signature(function).parameters.values()) == method_params
    assert function.__name__ == name
    assert function.__doc__.splitlines()[0] == method.__doc__.splitlines()[0]
    assert f"DEFAULT.{name}(...)" in function.__doc__
    assert "{size}" not in method.__doc__ and "{key}" not in method.__doc__


def test_module_function_draws_from_default():
    random.seed(0)
    a = random.normal(size=3)
    rng = RandomState(0)
    np.testing.assert_array_equal(a, rng.normal(size=3))
    np.testing.assert_array_equal(random.DEFAULT.get_key(), rng.get_key())


def test_eager_draws_compile_once_per_signature(count_compiles):
    rng = RandomState(0)
    rng.truncated_normal(-1.0, 1.0, size=5)
    rng.normal(0.0, 1.0, size=5)
    with count_compiles() as counter:
        for i in range(5):
            rng.truncated_normal(-1.0 - i, 1.0 + i, size=5, loc=0.1 * i, scale=1.0 + i)
            rng.normal(float(i), 2.0, size=5)
            random.truncated_normal(-2.0, 2.0, size=5)
    assert counter.count == 0


def test_copy_keeps_the_key():
    rng = RandomState(3)
    twin = rng.copy()
    assert isinstance(twin, RandomState) and twin is not rng
    np.testing.assert_array_equal(twin.rand(2), rng.rand(2))


# -- upstream brainstate's key API -------------------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 2**32, 2**32 + 5, 2**63 - 1, -(2**63), np.int64(-7), np.array([9])])
@pytest.mark.parametrize("x64", [False, True])
def test_every_64_bit_seed_gives_the_key_jax_gives(seed, x64):
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", x64)
    try:
        want = jax.random.PRNGKey(int(np.asarray(seed).reshape(())))
        np.testing.assert_array_equal(RandomState(seed).value, want)
    finally:
        jax.config.update("jax_enable_x64", before)


def test_seed_seeds_numpy_with_the_low_word():
    random.seed(2**32 + 5)
    got = np.random.rand()
    np.random.seed(5)
    assert got == np.random.rand()


@pytest.mark.parametrize("seed", [0, 7, np.int32(3), jnp.array(4)])
def test_sampler_key_may_be_an_integer_seed(seed):
    rng = RandomState(1)
    before = rng.value
    got = rng.normal(size=3, key=seed)
    np.testing.assert_array_equal(got, rng.normal(size=3, key=jax.random.PRNGKey(int(seed))))
    np.testing.assert_array_equal(random.uniform(size=2, key=seed), random.uniform(size=2, key=jax.random.key(int(seed))))
    np.testing.assert_array_equal(rng.value, before)  # an explicit key leaves the generator alone


def test_split_key_backup_and_split_keys():
    random.seed(3)
    before = random.get_key()
    keys = random.split_keys(3, backup=True)
    assert keys.shape == (3, 2) and len({tuple(k) for k in keys.tolist()}) == 3
    assert random.get_key().tolist() != before.tolist()
    random.restore_key()
    np.testing.assert_array_equal(random.get_key(), before)
    np.testing.assert_array_equal(random.split_keys(3), keys)  # the same split, replayed
    for bad in (0, -2, 1.5, True):
        with pytest.raises(RandomParameterError, match=r"n must be a positive int"):
            random.split_keys(bad)


def test_get_key_data_is_the_raw_key():
    random.set_key(jax.random.key(11))
    data = random.get_key_data()
    assert data.dtype == jnp.uint32 and data.tolist() == [0, 11]


def test_self_assign_multi_keys_gives_each_vmap_lane_its_own_key():
    import brainstate

    rng = RandomState(0)
    single = rng.value
    rng.self_assign_multi_keys(4)
    assert rng.value.shape == (4, 2)
    np.testing.assert_array_equal(rng.value, jax.random.split(single, 4))
    draws = brainstate.transform.vmap(lambda: rng.normal(), in_states={0: rng}, out_states={0: rng})()
    assert draws.shape == (4,) and len(set(np.asarray(draws).tolist())) == 4
    assert rng.value.shape == (4, 2)  # each lane advanced its own key
    rng.restore_key()
    np.testing.assert_array_equal(rng.value, single)
    with pytest.raises(RandomParameterError, match=r"self_assign_multi_keys\(\): n must be a positive int"):
        rng.self_assign_multi_keys(0)


def test_clone_rng():
    random.seed(0)
    a = random.clone_rng()
    assert isinstance(a, RandomState) and a is not random.DEFAULT
    assert random.clone_rng(clone=False) is random.DEFAULT
    b = random.clone_rng()
    assert a.value.tolist() != b.value.tolist()  # each clone takes a fresh split
    np.testing.assert_array_equal(random.clone_rng(4).rand(3), RandomState(4).rand(3))
