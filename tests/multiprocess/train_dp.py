"""Data-parallel training of a small MLP with brainstate, in one process or as one of several.

Run by tests/test_multiprocess.py (``nox -s tests_multiprocess``). Every process builds the same
model from the same seed, places its states replicated on a 1-D mesh over every device of every
process, and trains for a few steps on the same global batches, each process feeding only its own
rows (``global_batch``). It then saves a checkpoint (every process, one path), restores it into a
model placed the same way and into one on this process's first device only, and writes what it
found to ``OUT/process<i>.npz``: the final parameters (gathered whole), the losses, the restored
values and the addresses of its open sockets.

    python tests/multiprocess/train_dp.py OUT                          # one process, all its devices
    python tests/multiprocess/train_dp.py OUT --process-id 0 --num-processes 2 --port 8476
"""

from __future__ import annotations

import argparse
import faulthandler
import inspect
import ipaddress
import socket
import sys
from pathlib import Path

import numpy as np

GLOBAL_BATCH = 32
STEPS = 12
SIZES = (5, 16, 3)  # inputs, hidden units, outputs


def _gloo_on_loopback() -> None:
    """Keep gloo, JAX's CPU collectives, on 127.0.0.1.

    ``jax.distributed.initialize`` binds its coordinator where ``coordinator_bind_address`` says,
    but gloo's TCP transport listens on the address the host name resolves to, and JAX has no public
    option for it (jax 0.8 to 0.10). So the CPU backend is created with gloo told
    ``hostname='127.0.0.1'``, through JAX internals; where those are not there, the host name must
    resolve to a loopback address, or the run stops rather than use another address.
    """
    try:
        from jax._src import distributed, xla_bridge
        from jax._src.lib import _jax, xla_client

        make = getattr(_jax, "make_gloo_tcp_collectives", None) or xla_client._xla.make_gloo_tcp_collectives
        assert "collectives" in inspect.signature(xla_bridge.make_cpu_client).parameters
    except (ImportError, AttributeError, AssertionError) as err:
        if not ipaddress.ip_address(socket.gethostbyname(socket.gethostname())).is_loopback:
            sys.exit(f"The host name {socket.gethostname()} does not resolve to a loopback address, and this jax "
                     f"offers no way to keep gloo on 127.0.0.1 ({err!r}); not starting.")
        return

    def cpu_client():
        gloo = make(distributed_client=distributed.global_state.client, hostname="127.0.0.1")
        return xla_bridge.make_cpu_client(collectives=gloo)

    xla_bridge.register_backend_factory("cpu", cpu_client, priority=0, fail_quietly=False)


def batches(steps: int = STEPS):
    """The global batches ``(x, y)``, the same in every process: a noisy linear map to learn."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=SIZES[::2]).astype(np.float32)
    for _ in range(steps):
        x = rng.normal(size=(GLOBAL_BATCH, SIZES[0])).astype(np.float32)
        yield x, np.tanh(x @ w) + 0.01 * rng.normal(size=(GLOBAL_BATCH, SIZES[2])).astype(np.float32)


def build(seed: int = 0):
    """The model and its optimiser, as a ``{'model', 'optim'}`` tree."""
    import brainstate

    nn = brainstate.nn
    brainstate.random.seed(seed)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.Tanh(), nn.Linear(SIZES[1], SIZES[2]))
    optim = nn.optim.Adam(1e-2, params=model.states(brainstate.ParamState))
    return {"model": model, "optim": optim}


def replicate(target, mesh) -> None:
    """Place every state of ``target`` whole on every device of ``mesh``."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    import brainstate

    everywhere = NamedSharding(mesh, PartitionSpec())
    for state in brainstate.graph.states(target).values():
        state.value = jax.tree.map(lambda x: jax.device_put(x, everywhere), state.value)


def values(target) -> dict:
    """Every state's value, gathered whole, by path (``'model/layers/0/weight/bias'``)."""
    import jax

    import brainstate
    from brainstate_core._multiprocess import gather

    flat = {}
    for path, state in brainstate.graph.states(target).items():
        leaves = jax.tree_util.tree_flatten_with_path(state.value)[0]
        for key, leaf in leaves:
            flat["/".join(map(str, path)) + jax.tree_util.keystr(key)] = leaf
    return gather(flat)


def train(mesh, steps: int = STEPS):
    """Train a fresh model on ``mesh``; returns the ``{'model', 'optim'}`` tree and the losses."""
    import jax
    import jax.numpy as jnp

    import brainstate
    from brainstate_core._multiprocess import gather, global_batch

    target = build()
    replicate(target, mesh)
    model, optim = target["model"], target["optim"]

    @brainstate.transform.jit
    def step(x, y):
        loss_fn = lambda: jnp.mean((model(x) - y) ** 2)  # noqa: E731
        grads, loss = brainstate.transform.grad(loss_fn, grad_states=optim.param_states, return_value=True)()
        optim.update(grads)
        return loss

    rows = GLOBAL_BATCH // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)
    losses = [step(*global_batch((x[mine], y[mine]), mesh, "data")) for x, y in batches(steps)]
    return target, gather(losses)


def _sockets() -> list[str]:
    """The local and remote addresses of this process's internet sockets (psutil, where installed)."""
    try:
        import psutil
    except ImportError:
        return []
    found = []
    for conn in psutil.Process().net_connections(kind="inet"):
        found += [a.ip for a in (conn.laddr, conn.raddr) if a]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=120, help="seconds before a stuck run dumps its stack and exits")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    faulthandler.dump_traceback_later(args.timeout, exit=True)

    import jax

    if args.num_processes > 1:
        _gloo_on_loopback()
        address = f"127.0.0.1:{args.port}"
        jax.distributed.initialize(coordinator_address=address, coordinator_bind_address=address,
                                   num_processes=args.num_processes, process_id=args.process_id,
                                   initialization_timeout=args.timeout)
    from jax.sharding import Mesh

    import brainstate

    mesh = Mesh(np.asarray(jax.devices()), ("data",))
    trained, losses = train(mesh, args.steps)
    result = {f"param:{k}": v for k, v in values(trained["model"]).items()}
    result["losses"] = np.asarray(losses)

    # a checkpoint of states spread over the processes, restored onto the mesh and onto one local device
    brainstate.nn.save_checkpoint(args.out / "checkpoint", trained, metadata={"steps": args.steps})
    on_mesh, local = build(seed=1), build(seed=1)
    replicate(on_mesh, mesh)
    for name, target in [("mesh", on_mesh), ("local", local)]:
        assert brainstate.nn.load_checkpoint(args.out / "checkpoint", target) == {"steps": args.steps}
        result.update({f"{name}:{k}": v for k, v in values(target).items()})
        devices = {d for s in brainstate.graph.states(target).values() for x in jax.tree.leaves(s.value)
                   for d in x.sharding.device_set}
        result[f"{name}:devices"] = np.asarray(len(devices))
    try:  # one msgpack file needs every value whole in this process
        brainstate.nn.save_checkpoint(args.out / f"whole{args.process_id}.msgpack", trained, backend="msgpack")
        result["msgpack_refused"] = np.asarray("")
    except brainstate.ConfigError as err:
        result["msgpack_refused"] = np.asarray(str(err))
    result["sockets"] = np.asarray(_sockets(), dtype=str)
    result["device_count"] = np.asarray([jax.process_count(), jax.device_count(), jax.local_device_count()])
    np.savez(args.out / f"process{args.process_id}.npz", **result)
    print(f"process {args.process_id}/{args.num_processes}: {jax.device_count()} devices, final loss "
          f"{float(losses[-1]):.5f}", flush=True)


if __name__ == "__main__":
    main()
