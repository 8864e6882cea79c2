"""Activation functions against NumPy formulas, and their Module wrappers."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

import brainstate_core as bc
import brainstate_nn as nn

X = np.linspace(-4, 4, 17).astype(np.float32)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.exp(x) - 1),
    "gelu": lambda x: x * 0.5 * (1 + erf(x / np.sqrt(2))),
    "silu": lambda x: x * _sig(x),
    "swish": lambda x: x * _sig(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "sigmoid": _sig,
    "log_sigmoid": lambda x: np.log(_sig(x)),
    "tanh": np.tanh,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum()),
    "softmin": lambda x: np.exp(-x) / np.exp(-x).sum(),
    "glu": lambda x: x[: len(x) // 2] * _sig(x[len(x) // 2:]),
    "identity": lambda x: x,
}


def test_every_function_has_a_reference():
    assert set(REFERENCES) == set(nn._activations.__all__) - {"prelu"}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_function_matches_numpy(name):
    x = X[:16] if name == "glu" else X
    np.testing.assert_allclose(getattr(nn, name)(jnp.asarray(x)), REFERENCES[name](x.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_gradients_are_finite_everywhere():
    names = sorted(REFERENCES)

    def grad_of(name, x):
        fn, n = getattr(nn, name), 16 if name == "glu" else 17
        return jax.grad(lambda v: jnp.sum(fn(v[:n])))(x)

    @jax.jit  # one compilation for all the functions
    def grads(x):
        return [grad_of(name, x) for name in names]

    for name, g in zip(names, grads(jnp.asarray(X))):
        assert np.isfinite(np.asarray(g)).all(), name


@pytest.mark.parametrize("module, function", [
    (nn.ReLU(), nn.relu),
    (nn.LeakyReLU(0.2), lambda x: nn.leaky_relu(x, 0.2)),
    (nn.ELU(alpha=0.5), lambda x: nn.elu(x, 0.5)),
    (nn.GELU(approximate=True), lambda x: nn.gelu(x, approximate=True)),
    (nn.Softplus(beta=2.0), lambda x: nn.softplus(x, beta=2.0)),
    (nn.Hardtanh(-2.0, 2.0), lambda x: nn.hard_tanh(x, -2.0, 2.0)),
    (nn.Softmax(dim=0), lambda x: nn.softmax(x, axis=0)),
    (nn.GLU(), nn.glu),
    (nn.Threshold(1.0, -5.0), lambda x: jnp.where(x > 1.0, x, -5.0)),
    (nn.Identity(), lambda x: x),
])
def test_module_wrappers(module, function):
    x = jnp.asarray(X[:16]).reshape(4, 4)
    np.testing.assert_allclose(module(x), function(x), rtol=1e-6)


def test_wrapper_arguments_and_repr():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax()) == "Softmax(dim=None)" and repr(nn.Softmax(dim=0)) == "Softmax(dim=0)"
    assert nn.Swish is nn.SiLU and nn.HardSiLU is nn.Hardswish
    with pytest.raises(TypeError, match=r"LeakyReLU.__init__\(\) got an unexpected keyword argument 'slope'"):
        nn.LeakyReLU(slope=0.1)
    with pytest.raises(TypeError, match=r"takes 1 positional argument but 2 were given"):
        nn.ReLU(1.0)


@pytest.mark.parametrize("cls, params", [
    (nn.ReLU, []), (nn.LeakyReLU, ["negative_slope"]), (nn.ELU, ["alpha"]), (nn.CELU, ["alpha"]),
    (nn.GELU, ["approximate"]), (nn.Softplus, ["beta", "threshold"]), (nn.Hardtanh, ["min_val", "max_val"]),
    (nn.Hardshrink, ["lambd"]), (nn.Softshrink, ["lambd"]), (nn.Softmax, ["dim"]), (nn.LogSoftmax, ["dim"]),
    (nn.Softmin, ["dim"]), (nn.GLU, ["dim"]), (nn.Threshold, ["threshold", "value"]),
])
def test_wrapper_signatures_name_the_hyper_parameters(cls, params):
    assert list(inspect.signature(cls).parameters) == params + ["in_size"]
    assert cls.__doc__ and cls.__name__ == cls.__qualname__


def test_prelu_learns_its_slope(param_grads):
    layer = nn.PReLU(num_parameters=3, init=0.1)
    x = -jnp.ones((2, 3))
    np.testing.assert_allclose(layer(x), -0.1 * np.ones((2, 3)), rtol=1e-6)
    grads = param_grads(layer, lambda: jnp.sum(layer(x)))
    np.testing.assert_allclose(grads[("weight",)], [-2.0, -2.0, -2.0])


def test_glu_needs_even_axis():
    with pytest.raises(bc.InputError, match=r"glu needs an even size along axis -1"):
        nn.glu(jnp.ones(3))
