"""Autodiff with respect to States: structure of results, options, errors, composition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T
from brainstate_core import graph


def tree_close(a, b):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), a, b)


@pytest.fixture
def setup():
    w = bc.ParamState(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    b = bc.ParamState(jnp.array([0.5, -0.5]))
    s = bc.State(jnp.array([1.0, 2.0, 3.0]))

    def loss(x):
        pred = s.value @ w.value + b.value
        return jnp.sum((pred - x) ** 2)

    def pure(wv, bv, sv, x):
        return jnp.sum((sv @ wv + bv - x) ** 2)

    return w, b, s, loss, pure


def test_seed_section_3(setup):
    w, b, s, loss, pure = setup
    target = jnp.array([1.0, 2.0])
    grads = T.grad(loss, grad_states=w)(target)
    tree_close(grads, jax.grad(pure)(w.value, b.value, s.value, target))
    w.value = w.value - 0.01 * grads


@pytest.mark.parametrize("structure", ["single", "list", "tuple", "dict", "nested"])
def test_gradient_mirrors_grad_states_structure(setup, structure):
    w, b, s, loss, pure = setup
    x = jnp.array([1.0, 2.0])
    gw, gb = jax.grad(pure, argnums=(0, 1))(w.value, b.value, s.value, x)
    spec, expected = {
        "single": (w, gw),
        "list": ([w, b], [gw, gb]),
        "tuple": ((w, b), (gw, gb)),
        "dict": ({"w": w, "b": b}, {"w": gw, "b": gb}),
        "nested": ({"layer": {"w": w}, "bias": [b]}, {"layer": {"w": gw}, "bias": [gb]}),
    }[structure]
    grads = T.grad(loss, grad_states=spec)(x)
    assert jax.tree.structure(grads) == jax.tree.structure(expected)
    tree_close(grads, expected)


def test_gradient_of_module_states_mapping_has_path_keys(setup):
    w, b, s, loss, pure = setup

    class Model:
        def __init__(self):
            self.w, self.b, self.s = w, b, s

    params = graph.states(Model(), bc.ParamState)
    grads = T.grad(loss, grad_states=params)(jnp.zeros(2))
    assert set(grads.keys()) == {("w",), ("b",)}
    for key in params.keys():
        assert grads[key].shape == params[key].value.shape


@pytest.mark.parametrize("argnums", [0, (0,), (0, 1)])
def test_states_and_argnums(setup, argnums):
    w, b, s, loss, pure = setup

    def loss2(x, scale):
        return loss(x) * scale

    x, scale = jnp.array([1.0, 2.0]), jnp.array(3.0)
    state_grads, arg_grads = T.grad(loss2, grad_states=w, argnums=argnums)(x, scale)
    tree_close(state_grads, jax.grad(lambda wv: pure(wv, b.value, s.value, x) * scale)(w.value))
    expected = jax.grad(lambda x_, sc: pure(w.value, b.value, s.value, x_) * sc, argnums=argnums)(x, scale)
    tree_close(arg_grads, expected)


def test_argnums_only_default_is_first_argument():
    f = T.grad(lambda x, y: jnp.sum(x * y))
    tree_close(f(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])), jnp.array([3.0, 4.0]))


@pytest.mark.parametrize("return_value,has_aux", [(True, False), (False, True), (True, True)])
def test_return_value_and_aux(setup, return_value, has_aux):
    w, b, s, loss, pure = setup
    fn = (lambda x: (loss(x), {"note": x * 2})) if has_aux else loss
    out = T.grad(fn, grad_states=w, return_value=return_value, has_aux=has_aux)(jnp.ones(2))
    assert isinstance(out, tuple) and len(out) == 1 + return_value + has_aux
    if return_value:
        np.testing.assert_allclose(out[1], pure(w.value, b.value, s.value, jnp.ones(2)), rtol=1e-6)
    if has_aux:
        np.testing.assert_allclose(out[-1]["note"], [2.0, 2.0])


def test_writes_to_other_states_persist(setup):
    w, b, s, loss, pure = setup
    calls = bc.State(jnp.array(0))

    def f(x):
        calls.value = calls.value + 1
        return loss(x)

    T.grad(f, grad_states=w)(jnp.ones(2))
    T.grad(f, grad_states=w)(jnp.ones(2))
    assert int(calls.value) == 2


def test_unused_grad_state_is_an_error_naming_it(setup):
    w, b, s, loss, pure = setup
    unused = bc.ParamState(jnp.ones(4))
    with pytest.raises(bc.StateUsageError, match=r"(?s)\['unused'\]: ParamState\(f32\[4\]\) created at .*test_autograd.py:\d+.*check_states=False"):
        T.grad(loss, grad_states={"w": w, "unused": unused})(jnp.ones(2))
    grads = T.grad(loss, grad_states={"w": w, "unused": unused}, check_states=False)(jnp.ones(2))
    np.testing.assert_array_equal(grads["unused"], jnp.zeros(4))


def test_grad_states_must_be_states(setup):
    w = setup[0]
    with pytest.raises(bc.StateUsageError, match=r"only State objects.*\['x'\]"):
        T.grad(lambda: 0.0, grad_states={"x": w.value})


def test_grad_inside_jit_matches_eager(setup):
    w, b, s, loss, pure = setup
    x = jnp.array([1.0, -1.0])
    eager = T.grad(loss, grad_states=[w, b])(x)
    jitted = T.jit(lambda x: T.grad(loss, grad_states=[w, b])(x))(x)
    tree_close(eager, jitted)


def test_grad_of_grad_composes():
    w = bc.ParamState(jnp.array(2.0))

    def f(x):
        return w.value * x**3

    d2 = T.grad(T.grad(f, argnums=0), argnums=0)(3.0)
    np.testing.assert_allclose(d2, 2.0 * 6 * 3.0)
    mixed = T.grad(lambda x: T.grad(f, grad_states=w)(x))(3.0)
    np.testing.assert_allclose(mixed, 3 * 3.0**2)


def test_per_example_gradients_with_vmap():
    w = bc.ParamState(jnp.array([1.0, 2.0]))

    def loss(x):
        return jnp.sum(w.value * x) ** 2

    xs = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    per_example = T.vmap(T.grad(loss, grad_states=w))(xs)
    expected = jax.vmap(jax.grad(lambda wv, x: jnp.sum(wv * x) ** 2), in_axes=(None, 0))(w.value, xs)
    tree_close(per_example, expected)


def test_grad_inside_scan_accumulates():
    w = bc.ParamState(jnp.array(1.0))
    acc = bc.State(jnp.array(0.0))

    def step(x):
        acc.value = acc.value + T.grad(lambda: w.value * x, grad_states=w)()
        return x

    T.for_loop(step, jnp.arange(4.0))
    np.testing.assert_allclose(acc.value, 6.0)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd", "jacobian"])
def test_jacobians(name):
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    fn = getattr(T, name)

    def f(x):
        return w.value * x

    jac = fn(f, grad_states=w)(jnp.array([3.0, 4.0]))
    np.testing.assert_allclose(jac, jnp.diag(jnp.array([3.0, 4.0])))
    jac_s, jac_x = fn(f, grad_states=w, argnums=0)(jnp.array([3.0, 4.0]))
    np.testing.assert_allclose(jac_x, jnp.diag(w.value))


def test_hessian_and_vector_grad():
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    h = T.hessian(lambda: jnp.sum(w.value**3), grad_states=w)()
    np.testing.assert_allclose(h, jnp.diag(6 * w.value))
    a = bc.ParamState(jnp.array(1.0))
    hs = T.hessian(lambda: jnp.sum(w.value**2) * a.value, grad_states={"w": w, "a": a})()
    np.testing.assert_allclose(hs["w"]["w"], 2 * jnp.eye(2))
    np.testing.assert_allclose(hs["w"]["a"], 2 * w.value)
    hx = T.hessian(lambda x: jnp.sum(x**3))(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(hx, jnp.diag(jnp.array([6.0, 12.0])))
    vg = T.vector_grad(lambda: w.value**2, grad_states=w)()
    np.testing.assert_allclose(vg, 2 * w.value)


def test_vjp_and_jvp():
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    value, pullback = T.vjp(lambda x: w.value * x, jnp.array([3.0, 4.0]), grad_states=w, argnums=0)
    gw, gx = pullback(jnp.ones(2))
    np.testing.assert_allclose(value, [3.0, 8.0])
    np.testing.assert_allclose(gw, [3.0, 4.0])
    np.testing.assert_allclose(gx, [1.0, 2.0])
    out, tangent = T.jvp(lambda x: w.value * x, (jnp.array([3.0, 4.0]),), (jnp.ones(2),), grad_states=w,
                         state_tangents=jnp.ones(2))
    np.testing.assert_allclose(tangent, [1.0 + 3.0, 2.0 + 4.0])


def test_failed_grad_trace_restores_states():
    w = bc.ParamState(jnp.array(1.0))
    other = bc.State(jnp.array(5.0))

    def f():
        other.value = other.value + 1
        raise ValueError("inside loss")

    with pytest.raises(ValueError, match="inside loss"):
        T.grad(f, grad_states=w, check_states=False)()
    assert float(other.value) == 5.0 and float(w.value) == 1.0


@pytest.mark.parametrize("transform", ["grad", "vmap"])
def test_eager_transform_allows_python_control_flow_on_concrete_state_values(transform):
    flag = bc.State(jnp.array(1.0))
    w = bc.ParamState(jnp.array(2.0))

    def f(x):
        scale = 3.0 if flag.value > 0 else -3.0  # concrete eagerly, as in plain jax.grad / jax.vmap
        return w.value * x * scale

    if transform == "grad":
        np.testing.assert_allclose(T.grad(f, grad_states=w)(2.0), 6.0)
    else:
        np.testing.assert_allclose(T.vmap(f)(jnp.ones(2)), [6.0, 6.0])
