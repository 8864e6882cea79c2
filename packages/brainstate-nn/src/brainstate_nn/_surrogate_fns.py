"""The function twins of the surrogate classes: ``fn(x, **params)`` is ``Class(**params)(x)``.

Each builds its class (validating the parameters) and applies it, so ``fn(x)`` is the Heaviside step
``1.0 where x >= 0`` and ``jax.grad(fn)`` is the class's surrogate derivative.
"""

from __future__ import annotations

import jax
from jax.typing import ArrayLike

from ._spike_fn import ReluGrad
from ._surrogates import (
    ERF,
    S2NN,
    Arctan,
    GaussianGrad,
    InvSquareGrad,
    LeakyRelu,
    LogTailedRelu,
    MultiGaussianGrad,
    NonzeroSignLog,
    PiecewiseExp,
    PiecewiseLeakyRelu,
    PiecewiseQuadratic,
    QPseudoSpike,
    Sigmoid,
    SlayerGrad,
    SoftSign,
    SquarewaveFourierSeries,
)

__all__ = [
    "sigmoid",
    "piecewise_quadratic",
    "piecewise_exp",
    "soft_sign",
    "arctan",
    "nonzero_sign_log",
    "erf",
    "piecewise_leaky_relu",
    "squarewave_fourier_series",
    "s2nn",
    "q_pseudo_spike",
    "leaky_relu",
    "log_tailed_relu",
    "relu_grad",
    "gaussian_grad",
    "multi_gaussian_grad",
    "inv_square_grad",
    "slayer_grad",
]


def sigmoid(x: ArrayLike, alpha: float = 4.0) -> jax.Array:
    """The step with a sigmoid-shaped surrogate gradient: ``Sigmoid(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import sigmoid
        >>> sigmoid([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return Sigmoid(alpha=alpha)(x)


def piecewise_quadratic(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with a piecewise-quadratic surrogate gradient: ``PiecewiseQuadratic(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import piecewise_quadratic
        >>> piecewise_quadratic([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return PiecewiseQuadratic(alpha=alpha)(x)


def piecewise_exp(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with a piecewise-exponential surrogate gradient: ``PiecewiseExp(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import piecewise_exp
        >>> piecewise_exp([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return PiecewiseExp(alpha=alpha)(x)


def soft_sign(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with a soft-sign surrogate gradient: ``SoftSign(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import soft_sign
        >>> soft_sign([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return SoftSign(alpha=alpha)(x)


def arctan(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with an arctangent surrogate gradient: ``Arctan(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import arctan
        >>> arctan([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return Arctan(alpha=alpha)(x)


def nonzero_sign_log(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with a sign-log surrogate gradient: ``NonzeroSignLog(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import nonzero_sign_log
        >>> nonzero_sign_log([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return NonzeroSignLog(alpha=alpha)(x)


def erf(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with an erf surrogate gradient: ``ERF(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import erf
        >>> erf([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return ERF(alpha=alpha)(x)


def piecewise_leaky_relu(x: ArrayLike, c: float = 0.01, w: float = 1.0) -> jax.Array:
    """The step with a piecewise leaky-ReLU surrogate gradient: ``PiecewiseLeakyRelu(c=c, w=w)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import piecewise_leaky_relu
        >>> piecewise_leaky_relu([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return PiecewiseLeakyRelu(c=c, w=w)(x)


def squarewave_fourier_series(x: ArrayLike, n: int = 2, t_period: float = 8.0) -> jax.Array:
    """The step with a square-wave Fourier surrogate gradient: ``SquarewaveFourierSeries(n=n, t_period=t_period)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import squarewave_fourier_series
        >>> squarewave_fourier_series([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return SquarewaveFourierSeries(n=n, t_period=t_period)(x)


def s2nn(x: ArrayLike, alpha: float = 4.0, beta: float = 1.0, epsilon: float = 1e-8) -> jax.Array:
    """The step with the S2NN surrogate gradient: ``S2NN(alpha=alpha, beta=beta, epsilon=epsilon)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import s2nn
        >>> s2nn([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return S2NN(alpha=alpha, beta=beta, epsilon=epsilon)(x)


def q_pseudo_spike(x: ArrayLike, alpha: float = 2.0) -> jax.Array:
    """The step with the q-PseudoSpike surrogate gradient: ``QPseudoSpike(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import q_pseudo_spike
        >>> q_pseudo_spike([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return QPseudoSpike(alpha=alpha)(x)


def leaky_relu(x: ArrayLike, alpha: float = 0.1, beta: float = 1.0) -> jax.Array:
    """The step with a leaky-ReLU surrogate gradient: ``LeakyRelu(alpha=alpha, beta=beta)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import leaky_relu
        >>> leaky_relu([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return LeakyRelu(alpha=alpha, beta=beta)(x)


def log_tailed_relu(x: ArrayLike, alpha: float = 0.0) -> jax.Array:
    """The step with the log-tailed ReLU surrogate gradient: ``LogTailedRelu(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import log_tailed_relu
        >>> log_tailed_relu([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return LogTailedRelu(alpha=alpha)(x)


def relu_grad(x: ArrayLike, alpha: float = 0.3, width: float = 1.0) -> jax.Array:
    """The step with a triangular surrogate gradient: ``ReluGrad(alpha=alpha, width=width)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import relu_grad
        >>> relu_grad([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return ReluGrad(alpha=alpha, width=width)(x)


def gaussian_grad(x: ArrayLike, sigma: float = 0.5, alpha: float = 0.5) -> jax.Array:
    """The step with a Gaussian surrogate gradient: ``GaussianGrad(sigma=sigma, alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import gaussian_grad
        >>> gaussian_grad([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return GaussianGrad(sigma=sigma, alpha=alpha)(x)


def multi_gaussian_grad(
    x: ArrayLike,
    h: float = 0.15,
    s: float = 6.0,
    sigma: float = 0.5,
    scale: float = 0.5,
) -> jax.Array:
    """The step with a multi-Gaussian surrogate gradient: ``MultiGaussianGrad(h=h, s=s, sigma=sigma, scale=scale)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import multi_gaussian_grad
        >>> multi_gaussian_grad([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return MultiGaussianGrad(h=h, s=s, sigma=sigma, scale=scale)(x)


def inv_square_grad(x: ArrayLike, alpha: float = 100.0) -> jax.Array:
    """The step with an inverse-square surrogate gradient: ``InvSquareGrad(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import inv_square_grad
        >>> inv_square_grad([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return InvSquareGrad(alpha=alpha)(x)


def slayer_grad(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """The step with the SLAYER surrogate gradient: ``SlayerGrad(alpha=alpha)(x)``.

    Example:
        >>> from brainstate_nn.surrogate import slayer_grad
        >>> slayer_grad([-1.0, 0.0, 1.0])
        Array([0., 1., 1.], dtype=float32)
    """
    return SlayerGrad(alpha=alpha)(x)
