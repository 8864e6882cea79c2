"""A recurrent network of LIF neurons split across 8 devices, checked against the same network on one.

4,096 LIF neurons with a dense random recurrent weight matrix and a noisy constant drive run for
200 ms. Sharded, every neuron's state (membrane potential, spikes) lives on the device that owns its
slice of the population, and the weight matrix is split by postsynaptic neuron (by columns), so each
device computes the input of its own neurons from all spikes. The layouts are declared on the states;
``jit`` keeps them through the ``for_loop``. The script prints the spike counts of both runs and the
fraction of identical spikes (sums in another order may move a neuron that sits exactly at threshold
by a step). Without an accelerator, 8 CPU devices are made:

    python examples/snn_sharded.py
"""

from __future__ import annotations

import os
import sys

if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType

import brainstate
from brainstate import nn, sharding

N, STEPS, DT = 4096, 2000, 0.1  # neurons, steps, ms


class Network(nn.Module):
    """LIF population with dense recurrent weights: I = drive + noise + W^T s."""

    def __init__(self, n: int = N):
        super().__init__()
        self.lif = nn.LIF(n, tau=10.0, V_th=1.0, V_reset=0.0, V_rest=0.0, spk_reset="hard")
        self.w = brainstate.ParamState(brainstate.random.normal(0.0, 0.5 / np.sqrt(n), (n, n)))
        self.spikes = brainstate.HiddenState(jnp.zeros(n))

    def update(self, drive):
        current = drive + self.spikes.value @ self.w.value
        self.spikes.value = self.lif(current)
        return self.spikes.value


def simulate(mesh=None, n: int = N, steps: int = STEPS, seed: int = 0) -> tuple[np.ndarray, Network]:
    """The (steps, neurons) spike raster and the network; on ``mesh`` (axis 'neurons') when given."""
    brainstate.random.seed(seed)
    with brainstate.environ.context(dt=DT):
        net = nn.init_all_states(Network(n))
        sharding.declare(net, {brainstate.HiddenState: ("neurons",), ("w",): (None, "neurons")})
        drive = 1.2 + 0.3 * brainstate.random.randn(steps, n)
        if mesh is not None:
            with sharding.use_mesh(mesh):
                sharding.place(net)
                return np.asarray(_run(net, drive)), net
        return np.asarray(_run(net, drive)), net


def _run(net: Network, drive) -> jax.Array:
    return brainstate.transform.jit(lambda d: brainstate.transform.for_loop(net, d))(drive)


def main(n: int = N, steps: int = STEPS) -> tuple[int, int, float]:
    mesh = jax.make_mesh((jax.device_count(),), ("neurons",), axis_types=(AxisType.Auto,))
    (one, _), (split, net) = simulate(None, n, steps), simulate(mesh, n, steps)
    same = float((one == split).mean())
    shards = {s.data.shape for s in net.lif.V.value.addressable_shards}
    print(f"membrane potentials: {len(net.lif.V.value.addressable_shards)} shards of shape {shards.pop()}")
    print(f"{n} neurons, {steps * DT:.0f} ms: {int(one.sum())} spikes on one device, "
          f"{int(split.sum())} on {jax.device_count()} devices; identical spikes {same:.4%}")
    return int(one.sum()), int(split.sum()), same


if __name__ == "__main__":
    main()
