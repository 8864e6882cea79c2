"""Train one MLP on scikit-learn's digits three ways: on one device, data-parallel and tensor-parallel.

The same model, seed and batches; only the layout differs. Data-parallel: the batch is split over 8
devices, the weights replicated. Tensor-parallel: a (2, 4) mesh, the batch split over 'data' and
each hidden layer's units over 'model' (the first layer's weight by columns, the second's by rows,
as in Megatron-LM). The layouts are declared by the layers (``nn.Linear(..., sharding=...)``), and
``jit`` keeps every weight and every Adam moment in its declared layout through training. The
script prints each run's test accuracy, the largest difference of its weights from the one-device
run, and the layouts after training. Without an accelerator, 8 CPU devices are made:

    python examples/distributed_mlp.py --steps 200
"""

from __future__ import annotations

import argparse
import os
import sys

if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _digits import load_digits_split
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import brainstate
from brainstate import nn, sharding

HIDDEN = 256


def make_model() -> nn.Module:
    # Where each weight goes, declared by the layers: logical names, mapped to mesh axes by the
    # rules of each run. A parameter left out (the second layer's bias) is replicated.
    return nn.Sequential(
        nn.Linear(64, HIDDEN, sharding={"weight": (None, "hidden"), "bias": ("hidden",)}),  # column-parallel
        nn.ReLU(),
        nn.Linear(HIDDEN, 10, sharding={"weight": ("hidden", None)}),                       # row-parallel
    )


def train(mode: str, steps: int, batch: int = 128, seed: int = 0) -> dict:
    """Train for ``steps`` Adam steps; ``mode`` is 'single', 'data' or 'tensor'."""
    x_train, y_train, x_test, y_test = load_digits_split(seed=seed)
    n = jax.device_count()
    if mode == "single":
        mesh, rules = None, {}
    elif mode == "data":
        mesh, rules = jax.make_mesh((n,), ("data",), axis_types=(AxisType.Auto,)), {"hidden": None}
    else:
        mesh = jax.make_mesh((2, n // 2), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
        rules = {"hidden": "model"}
    brainstate.random.seed(seed)
    model = make_model()
    optimizer = nn.optim.Adam(1e-3, params=model.states(brainstate.ParamState))

    @brainstate.transform.jit
    def step(x, y):
        def loss_fn():
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        grads, loss = brainstate.transform.grad(loss_fn, optimizer.param_states, return_value=True)()
        optimizer.update(grads)
        return loss

    rng = np.random.default_rng(seed)
    context = [sharding.use_mesh(mesh), sharding.axis_rules(rules)] if mesh is not None else []
    for c in context:
        c.__enter__()
    try:
        if mesh is not None:
            sharding.place(model)
            sharding.place(optimizer)
            batch_layout = NamedSharding(mesh, P("data"))
        for _ in range(steps):
            idx = rng.choice(len(x_train), batch, replace=False)
            xb, yb = jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx])
            if mesh is not None:
                xb, yb = jax.device_put(xb, batch_layout), jax.device_put(yb, batch_layout)
            step(xb, yb)
        logits = brainstate.transform.jit(model)(jnp.asarray(x_test))
        accuracy = float((np.asarray(logits).argmax(-1) == y_test).mean())
        layouts = {path: jax.tree.map(lambda a: a.sharding.spec if mesh is not None else None, s.value)
                   for path, s in model.states(brainstate.ParamState).items()}
        expected = {path: sharding.partition_spec(s) for path, s in model.states(brainstate.ParamState).items()}
        moments = optimizer.opt_state.value
        # every weight and every Adam moment is still laid out as declared
        kept = mesh is None or all(
            a.sharding.is_equivalent_to(want, a.ndim)
            for s in [*model.states(brainstate.ParamState).values(), optimizer.opt_state]
            for a, want in zip(jax.tree.leaves(s.value), jax.tree.leaves(sharding.named_sharding(s))))
    finally:
        for c in reversed(context):
            c.__exit__(None, None, None)
    weights = {path: jax.tree.map(np.asarray, s.value) for path, s in model.states(brainstate.ParamState).items()}
    return {"accuracy": accuracy, "weights": weights, "layouts": layouts, "expected": expected, "moments": moments,
            "layouts_kept": kept,
            "mesh": None if mesh is None else dict(mesh.shape)}


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def main(steps: int = 200) -> dict:
    runs = {mode: train(mode, steps) for mode in ("single", "data", "tensor")}
    for mode, run in runs.items():
        diff = max_difference(run["weights"], runs["single"]["weights"])
        print(f"{mode:>6}: mesh {run['mesh']}, test accuracy {run['accuracy']:.3f}, "
              f"largest weight difference from one device {diff:.2e}, layouts kept: {run['layouts_kept']}")
    print("tensor-parallel layouts after training:")
    for path, layout in runs["tensor"]["layouts"].items():
        print(f"  {'.'.join(map(str, path))}: {layout}")
    return runs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    main(parser.parse_args().steps)
