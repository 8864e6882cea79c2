"""Fit a constrained, regularised model with ``brainstate.nn.Param``: each parameter lives in its range.

The data are responses ``y = amplitude * exp(-t / tau) + x @ w + noise`` of a decaying signal plus
a linear effect of four inputs, of which only two matter. The model keeps

* ``amplitude`` in ``(0, 5)`` with ``SigmoidT(0, 5)``,
* ``tau`` positive with ``SoftplusT(0)``, and a Gaussian prior ``N(1, 1)`` on it (``GaussianReg``),
* the weights ``w`` non-negative with ``SoftplusT(0)``, and an L1 penalty (``L1Reg``) that pushes the
  two useless ones towards zero.

Adam (``brainstate.nn.optim``) trains the unconstrained ``ParamState`` of each ``Param`` (``param.val``);
the model only ever sees the constrained values (``param.value()``), so every step stays inside the
constraints. The loss is the mean squared error plus ``model.reg_loss() / n``, the negative log-prior
per observation. The script prints the fitted values against the truth.

    python examples/param_constrained.py --steps 600
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np

import brainstate

nn = brainstate.nn
TRUTH = {"amplitude": 2.5, "tau": 0.7, "w": np.array([1.5, 0.0, 0.8, 0.0])}


def make_data(n: int = 400, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t, x, y)``: times in [0, 3], inputs ``(n, 4)`` in [0, 1] and the noisy responses."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 3.0, n)
    x = rng.uniform(0.0, 1.0, (n, 4))
    y = TRUTH["amplitude"] * np.exp(-t / TRUTH["tau"]) + x @ TRUTH["w"] + noise * rng.normal(size=n)
    return t.astype(np.float32), x.astype(np.float32), y.astype(np.float32)


class DecayPlusLinear(nn.Module):
    """``amplitude * exp(-t / tau) + x @ w`` with bounded, positive and non-negative parameters."""

    def __init__(self):
        super().__init__()
        self.amplitude = nn.Param(1.0, t=nn.SigmoidT(0.0, 5.0))
        self.tau = nn.Param(2.0, t=nn.SoftplusT(0.0), reg=nn.GaussianReg(mean=1.0, std=1.0))
        self.w = nn.Param(jnp.full(4, 0.5), t=nn.SoftplusT(0.0), reg=nn.L1Reg(2.0))

    def update(self, t, x):
        return self.amplitude.value() * jnp.exp(-t / self.tau.value()) + x @ self.w.value()


def fitted(model: DecayPlusLinear) -> dict[str, np.ndarray]:
    """The constrained values of the model's parameters."""
    return {name: np.asarray(getattr(model, name).value()) for name in TRUTH}


def main(steps: int = 600, lr: float = 0.05, seed: int = 0, verbose: bool = True) -> dict[str, np.ndarray]:
    """Train and return the fitted constrained values."""
    t, x, y = make_data(seed=seed)
    model = DecayPlusLinear()
    optimizer = nn.optim.Adam(lr, params=model.states(brainstate.ParamState))

    def loss_fn():
        return jnp.mean((model(t, x) - y) ** 2) + model.reg_loss() / len(y)

    @brainstate.transform.jit
    def train_step():
        grads, loss = brainstate.transform.grad(loss_fn, grad_states=optimizer.param_states, return_value=True)()
        optimizer.update(grads)
        return loss

    for step in range(steps):
        loss = train_step()
        if verbose and (step % (steps // 5) == 0 or step == steps - 1):
            print(f"step {step:4d}  loss {float(loss):.5f}")
    values = fitted(model)
    if verbose:
        print(f"{'parameter':<10} {'constraint':<12} {'truth':<28} fitted")
        for name, constraint in (("amplitude", "(0, 5)"), ("tau", "> 0"), ("w", ">= 0")):
            print(f"{name:<10} {constraint:<12} {np.array2string(np.asarray(TRUTH[name]), precision=3):<28} "
                  f"{np.array2string(values[name], precision=3)}")
    return values


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    main(**vars(parser.parse_args()))
