"""Scenario 6: Python-side cost of building a 100-layer model and of collecting its states.

* build: brainstate ``nn.Sequential`` of 100 ``nn.Linear(64, 64)`` layers (He-normal weights
  drawn from ``brainstate.random``, zero biases) against the plain-JAX equivalent: a dict of the
  same arrays made with ``jax.random.split`` and ``jax.nn.initializers.he_normal``. Two more rows,
  for information: the plain arrays wrapped in ParamStates (the cost of creating States alone),
  and a plain dict of untruncated normals (the cheapest plain-JAX way, another distribution).
* collect: ``graph.states(model)`` and ``model.states(ParamState)`` against ``jax.tree.leaves``
  of the plain dict.

Flax NNX and Equinox, when importable, get a row each in both tables (see ``_anchors.py``): a stack
of ``nnx.Linear`` / ``eqx.nn.Linear`` built and its parameters collected the library's way.

Targets: build at most 1.5x the plain dict; ``states()`` at most 10x ``jax.tree.leaves``.

    python benchmarks/bench_build.py [--quick] [--layers 100] [--width 64]
"""

from __future__ import annotations

from typing import Any

import _anchors
import _common as C
import jax
import jax.numpy as jnp

from brainstate_core import ParamState, graph
from brainstate_core._node import Node

try:
    import brainstate_nn as nn
except ImportError:
    nn = None


def plain_build(layers: int, width: int, key: jax.Array) -> dict:
    init = jax.nn.initializers.he_normal()
    params = {}
    for i in range(layers):
        key, sub = jax.random.split(key)
        params[i] = {"weight": init(sub, (width, width)), "bias": jnp.zeros((width,))}
    return params


def plain_build_normal(layers: int, width: int, key: jax.Array) -> dict:
    """The quickest plain-JAX way: an untruncated normal scaled by hand (another distribution)."""
    params = {}
    for i in range(layers):
        key, sub = jax.random.split(key)
        params[i] = {"weight": jax.random.normal(sub, (width, width)) * (2.0 / width) ** 0.5,
                     "bias": jnp.zeros((width,))}
    return params


class Wrapped(Node):
    """The plain arrays, each in a ParamState."""

    def __init__(self, params: dict) -> None:
        self.layers = [{k: ParamState(v) for k, v in layer.items()} for layer in params.values()]


def nn_build(layers: int, width: int) -> Any:
    return nn.Sequential(*(nn.Linear(width, width) for _ in range(layers)))


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=None, help="number of layers (default 100)")
    p.add_argument("--width", type=int, default=64, help="layer width (default 64)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 30)
    layers = args.layers or (10 if args.quick else 100)
    width = args.width
    key = jax.random.PRNGKey(0)
    reps = 5 if args.quick else 50

    build = [C.Variant("plain jax dict", lambda: C.block(plain_build(layers, width, key)), baseline=True,
                       note="jax.random.split + he_normal + zeros"),
             C.Variant("plain jax dict, normal", lambda: C.block(plain_build_normal(layers, width, key)),
                       note="jax.random.normal * std: cheaper, not truncated"),
             C.Variant("brainstate ParamStates", lambda: C.block(
                 [s.value for s in graph.states(Wrapped(plain_build(layers, width, key))).values()]),
                 note="the plain arrays, each wrapped in a ParamState")]
    notes = []
    if nn is not None:
        build.append(C.Variant("brainstate nn.Linear", lambda: C.block(
            [s.value for s in graph.states(nn_build(layers, width)).values()]),
            note="nn.Sequential of nn.Linear, brainstate.random He-normal"))
    else:
        notes.append("brainstate_nn not importable: no nn.Linear row")
    build += [C.Variant(name, lambda f=f: C.block(f()), note=note) for name, f, note in _anchors.builders(layers, width)]
    notes += _anchors.missing()
    build_sec = C.section(f"build a {layers}-layer model ({width}x{width} weights + biases)", build,
                          C.measure(build, args.repeats, warmup=2), notes=notes)

    plain_params = plain_build(layers, width, key)
    model = nn_build(layers, width) if nn is not None else Wrapped(plain_params)
    n_states = len(graph.states(model))

    def repeat(f):
        def run():
            for _ in range(reps):
                f()
        return run

    collect = [
        C.Variant("plain jax.tree.leaves", repeat(lambda: jax.tree.leaves(plain_params)), baseline=True, per=reps,
                  note=f"{len(jax.tree.leaves(plain_params))} arrays"),
        C.Variant("brainstate graph.states", repeat(lambda: graph.states(model)), per=reps,
                  note=f"{n_states} States by path"),
        C.Variant("brainstate states(ParamState)", repeat(lambda: graph.states(model, ParamState)), per=reps,
                  note="with a type filter"),
    ]
    collect += [C.Variant(name, repeat(f), per=reps, note=note) for name, f, note in _anchors.collectors(layers, width)]
    collect_sec = C.section(f"collect the states of the {layers}-layer model", collect,
                            C.measure(collect, args.repeats, warmup=2), notes=_anchors.missing())

    main_build = "brainstate nn.Linear" if nn is not None else "brainstate ParamStates"
    targets = [
        C.Target(f"build: {main_build} / plain dict time", build_sec.row(main_build).ratio, 1.5),
        C.Target("states(): graph.states / jax.tree.leaves time", collect_sec.row("brainstate graph.states").ratio,
                 10.0),
    ]
    config = {"layers": layers, "width": width, "repeats": args.repeats, "collect_calls_per_sample": reps}
    C.finish(C.report("build", [build_sec, collect_sec], targets, args, config), args)


if __name__ == "__main__":
    jnp.zeros(())
    main()
