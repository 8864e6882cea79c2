"""Tests of fwd_grad, GradientTransform, bounded_while_loop and the unknown-keyword rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T


# -- unknown keywords are refused when the transformation is built ---------------------------------
@pytest.mark.parametrize("build, name, message", [
    (lambda: T.grad(lambda x: x, debug_nans=True), "grad", "its other options are holomorphic, allow_int"),
    (lambda: T.vector_grad(lambda x: x, holomorphic=True), "vector_grad", "it takes no other options"),
    (lambda: T.jacrev(lambda x: x, foo=1), "jacrev", "holomorphic, allow_int"),
    (lambda: T.jacfwd(lambda x: x, allow_int=True), "jacfwd", "holomorphic"),
    (lambda: T.hessian(lambda x: x, allow_int=True), "hessian", "holomorphic"),
    (lambda: T.fwd_grad(lambda x: x, key=0, seed=1), "fwd_grad", "tangent_size, drct_der_clip, key"),
    (lambda: T.pmap(lambda x: x, donate=0), "pmap", "devices"),
    (lambda: T.GradientTransform(lambda x: x, jax.grad, transform_params={"bad": 1}), "GradientTransform",
     "holomorphic"),
])
def test_unknown_keywords_are_a_type_error_naming_them(build, name, message):
    with pytest.raises(TypeError, match=rf"brainstate\.transform\.{name}\(\) got an unexpected keyword argument "
                                        rf"'\w+'; .*{message}"):
        build()


def test_jit_and_vmap_refuse_unknown_keywords_at_construction():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        T.jit(lambda x: x, foo=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        T.vmap(lambda x: x, foo=1)


def test_known_jax_options_are_passed_on():
    g = T.grad(lambda x: jnp.real(x * jnp.conj(x)) + 0j, holomorphic=True)
    assert g(jnp.array(1.0 + 1.0j)).dtype == jnp.complex64
    assert T.grad(lambda i: 1.0, allow_int=True)(3).dtype == jax.dtypes.float0


# -- fwd_grad -------------------------------------------------------------------------------------
def test_fwd_grad_is_an_unbiased_estimate_with_states_and_arguments():
    w = bc.ParamState(jnp.array([1.0, -2.0]))
    g = T.fwd_grad(lambda x: jnp.sum(w.value ** 2 * x), grad_states=w, argnums=0, key=1, tangent_size=40000)
    gw, gx = g(jnp.array(2.0))
    np.testing.assert_allclose(gw, [4.0, -8.0], atol=0.25)
    np.testing.assert_allclose(gx, 5.0, atol=0.25)


def test_fwd_grad_single_tangent_is_v_times_the_directional_derivative():
    key = jax.random.PRNGKey(3)
    x = jnp.array([1.0, 2.0, 3.0])
    v = jax.random.normal(jax.random.split(key, 1)[0], x.shape)
    got = T.fwd_grad(lambda x: jnp.sum(x ** 2), key=key)(x)
    np.testing.assert_allclose(got, v * jnp.dot(2 * x, v), rtol=1e-5)
    clipped = T.fwd_grad(lambda x: jnp.sum(x ** 2), key=key, drct_der_clip=0.1)(x)
    np.testing.assert_allclose(jnp.abs(clipped), jnp.abs(v) * 0.1, rtol=1e-5)


def test_fwd_grad_return_value_aux_and_state_writes():
    count = bc.State(jnp.array(0))

    def f(x):
        count.value = count.value + 1
        return jnp.sum(x ** 2), x[0]

    grads, value, aux = T.fwd_grad(f, key=0, has_aux=True, return_value=True, tangent_size=4)(jnp.ones(2))
    assert grads.shape == (2,) and float(value) == 2.0 and float(aux) == 1.0
    assert int(count.value) == 1


def test_fwd_grad_with_a_generator_draws_fresh_tangents_each_call():
    class Generator(bc.State):  # what brainstate.random.RandomState offers: a State with split_key()
        def split_key(self):
            self.value, sub = jax.random.split(self.value)
            return sub

    gen = Generator(jax.random.PRNGKey(0))
    g = T.fwd_grad(lambda x: jnp.sum(x ** 2), key=gen)
    assert not np.allclose(g(jnp.ones(3)), g(jnp.ones(3)))
    jitted = T.jit(g)
    assert not np.allclose(jitted(jnp.ones(3)), jitted(jnp.ones(3)))
    fixed = T.fwd_grad(lambda x: jnp.sum(x ** 2), key=0)
    np.testing.assert_allclose(fixed(jnp.ones(3)), fixed(jnp.ones(3)))


def test_fwd_grad_under_jit():
    g = T.jit(T.fwd_grad(lambda x: jnp.sum(x ** 2), key=0, tangent_size=8))
    assert g(jnp.ones(3)).shape == (3,)


@pytest.mark.parametrize("build, error, message", [
    (lambda: T.fwd_grad(lambda x: x), bc.ConfigError, "needs key="),
    (lambda: T.fwd_grad(lambda x: x, key=0, tangent_size=0), bc.ConfigError, "positive int"),
])
def test_fwd_grad_option_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("fun, x, message", [
    (lambda x: x * 2.0, jnp.ones(2), "needs a scalar function"),
    (lambda i: 1.0 * i, jnp.array(1), "floating values only"),
])
def test_fwd_grad_input_errors(fun, x, message):
    with pytest.raises(bc.InputError, match=message):
        T.fwd_grad(fun, key=0)(x)


# -- GradientTransform ----------------------------------------------------------------------------
def test_gradient_transform_over_a_jax_transform_writes_back_states():
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    n = bc.State(jnp.array(0))

    def f(x):
        n.value = n.value + 1
        return w.value * x, x + 1

    g = T.GradientTransform(f, jax.jacfwd, grad_states={"w": w}, argnums=0, has_aux=True, return_value=True)
    (gw, gx), value, aux = g(3.0)
    np.testing.assert_allclose(gw["w"], 3.0 * jnp.eye(2))
    np.testing.assert_allclose(gx, [1.0, 2.0])
    np.testing.assert_allclose(value, [3.0, 6.0])
    assert float(aux) == 4.0 and int(n.value) == 1
    assert isinstance(g, T.GradientTransform) and "GradientTransform(" in repr(g)


def test_gradient_transform_passes_transform_params_and_debug_nan():
    g = T.GradientTransform(lambda x: jnp.sqrt(x), jax.grad, transform_params={"holomorphic": False}, debug_nan=True)
    assert float(g(4.0)) == 0.25
    with pytest.raises(T.DebugNanError):
        g(0.0)


# -- bounded_while_loop ---------------------------------------------------------------------------
@pytest.mark.parametrize("max_steps, base, expected", [(0, 16, 1.0), (1, 16, 2.0), (3, 2, 8.0), (100, 3, 16.0),
                                                       (100, 16, 16.0), (16, 16, 16.0)])
def test_bounded_while_loop_matches_a_python_loop(max_steps, base, expected):
    n = bc.State(jnp.array(0))

    def body(x):
        n.value = n.value + 1
        return x * 2.0

    out = T.bounded_while_loop(lambda x: x < 10, body, 1.0, max_steps=max_steps, base=base)
    assert float(out) == expected
    assert int(n.value) == int(np.log2(expected))


def test_bounded_while_loop_traces_the_body_once_per_call_and_compiles_once_in_jit():
    calls = []

    def body(x):
        calls.append(1)
        return x + 1.0

    T.bounded_while_loop(lambda x: x < 5, body, 0.0, max_steps=50, base=4)
    assert len(calls) == 2  # a discovery run and one trace: the nested scans trace the body once
    step = T.jit(lambda x: T.bounded_while_loop(lambda v: v < 5, body, x, max_steps=50, base=4))
    assert float(step(0.0)) == 5.0
    assert len(calls) == 3
    assert float(step(3.0)) == 5.0
    assert len(calls) == 3


def test_bounded_while_loop_is_differentiable_and_vmaps_per_lane():
    f = lambda x: T.bounded_while_loop(lambda v: v < 10, lambda v: v * 3, x, max_steps=8)  # noqa: E731
    assert float(T.grad(f)(1.0)) == 27.0
    np.testing.assert_allclose(T.vmap(f)(jnp.array([1.0, 4.0, 20.0])), [27.0, 12.0, 20.0])


def test_bounded_while_loop_errors():
    with pytest.raises(bc.ConfigError, match="max_steps must be a non-negative int"):
        T.bounded_while_loop(lambda x: x < 1, lambda x: x, 0.0, max_steps=-1)
    with pytest.raises(bc.ConfigError, match="base must be an int >= 2"):
        T.bounded_while_loop(lambda x: x < 1, lambda x: x, 0.0, max_steps=3, base=1)
    s = bc.State(jnp.array(0.0))

    def writes(x):
        s.value = x
        return x < 1

    with pytest.raises(bc.StateUsageError, match="condition .* wrote .*those writes would be lost"):
        T.bounded_while_loop(writes, lambda x: x + 1, 0.0, max_steps=3)
    assert float(s.value) == 0.0


def test_a_failing_trace_leaves_the_states_unchanged():
    s = bc.State(jnp.zeros(()))

    def body(x):
        s.value = s.value + 1.0
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        T.bounded_while_loop(lambda x: x < 3, body, 0.0, max_steps=4)
    with pytest.raises(ValueError, match="boom"):
        T.fwd_grad(lambda x: body(x) + x, key=0)(1.0)
    assert float(s.value) == 0.0
