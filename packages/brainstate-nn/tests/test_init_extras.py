"""calculate_init_gain, Identity and DeltaOrthogonal against their definitions."""

import math
import re

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
from brainstate_nn import init

# torch.nn.init.calculate_gain, as documented by PyTorch.
TORCH_GAINS = [
    ("linear", None, 1.0), ("identity", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0),
    ("conv3d", None, 1.0), ("conv_transpose1d", None, 1.0), ("conv_transpose2d", None, 1.0),
    ("conv_transpose3d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ("leaky_relu", 1, 1.0), ("leaky_relu", np.float32(0.5), math.sqrt(2 / 1.25)), ("selu", None, 0.75),
]


@pytest.mark.parametrize("name, param, gain", TORCH_GAINS)
def test_calculate_init_gain_matches_the_pytorch_table(name, param, gain):
    assert init.calculate_init_gain(name, param) == pytest.approx(gain, rel=1e-7)


def test_calculate_init_gain_ignores_param_of_other_nonlinearities():
    assert init.calculate_init_gain("relu", 0.3) == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("name, param, match", [
    ("swish", None, r"does not know the nonlinearity 'swish'.*Fix: pass one of"),
    ("leaky_relu", True, r"takes a number as the negative slope, got True"),
    ("leaky_relu", "0.1", r"takes a number as the negative slope, got '0.1'"),
])
def test_calculate_init_gain_errors(name, param, match):
    with pytest.raises(bc.ConfigError, match=match):
        init.calculate_init_gain(name, param)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
@pytest.mark.parametrize("value", [1.0, -0.5])
def test_identity_is_a_scaled_eye(shape, value):
    w = init.Identity(value)(shape)
    assert w.shape == shape and w.dtype == jnp.float32
    np.testing.assert_array_equal(w, value * np.eye(*shape))


def test_identity_dtype_and_use_as_a_linear_initialiser():
    assert init.Identity()((2, 2), dtype=jnp.float16).dtype == jnp.float16
    layer = nn.Linear(4, 4, w_init=init.Identity(), b_init=None)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x, rtol=1e-6)
    assert repr(init.Identity(2.0)) == "Identity(value=2.0)"


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_identity_needs_a_matrix_shape(shape):
    with pytest.raises(bc.ConfigError, match=r"Identity needs a 2-d weight shape \(n_in, n_out\), got " + re.escape(str(shape))):
        init.Identity()(shape)


@pytest.mark.parametrize("shape", [(3, 4, 4), (5, 3, 6), (3, 3, 4, 4), (2, 4, 3, 5), (3, 3, 3, 2, 2), (1, 2, 2, 3, 3)])
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_delta_orthogonal_centre_tap_and_zeros(shape, scale):
    w = np.asarray(init.DeltaOrthogonal(scale=scale)(shape))
    assert w.shape == shape
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    tap = w[centre] / scale
    n_in, n_out = shape[-2:]
    np.testing.assert_allclose(tap @ tap.T, np.eye(n_in), atol=1e-5)  # orthonormal rows
    if n_in == n_out:
        np.testing.assert_allclose(tap.T @ tap, np.eye(n_out), atol=1e-5)
    rest = w.copy()
    rest[centre] = 0.0
    assert not rest.any()


def test_delta_orthogonal_axis_reproducibility_and_repr():
    a = init.DeltaOrthogonal(rng=R.RandomState(3))((3, 4, 4))
    b = init.DeltaOrthogonal(rng=R.RandomState(3))((3, 4, 4))
    np.testing.assert_array_equal(a, b)
    tap = np.asarray(init.DeltaOrthogonal(axis=-2)((3, 2, 5)))[1]
    np.testing.assert_allclose(tap @ tap.T, np.eye(2), atol=1e-5)
    assert repr(init.DeltaOrthogonal(scale=0.5)) == "DeltaOrthogonal(scale=0.5, axis=-1)"


def test_delta_orthogonal_convolution_keeps_the_norm_at_every_position():
    conv = nn.Conv1d((7, 4), 4, kernel_size=3, w_init=init.DeltaOrthogonal())
    x = np.random.default_rng(1).normal(size=(2, 7, 4)).astype(np.float32)
    y = np.asarray(conv(x))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)


@pytest.mark.parametrize("kwargs, shape, match", [
    ({}, (4, 4), r"DeltaOrthogonal needs a convolution kernel shape .* with 1 to 3 spatial axes, got \(4, 4\)"),
    ({}, (2, 2, 2, 2, 2, 2), r"1 to 3 spatial axes, got \(2, 2, 2, 2, 2, 2\)"),
    ({}, (3, 5, 2), r"DeltaOrthogonal needs in_channels <= out_channels, got the kernel shape \(3, 5, 2\)"),
])
def test_delta_orthogonal_shape_errors(kwargs, shape, match):
    with pytest.raises(bc.ConfigError, match=match):
        init.DeltaOrthogonal(**kwargs)(shape)


def test_delta_orthogonal_axis_error():
    with pytest.raises(bc.ConfigError, match=r"DeltaOrthogonal axis is an axis of the 2-d centre tap.*got 2"):
        init.DeltaOrthogonal(axis=2)
