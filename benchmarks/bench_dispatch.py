"""Scenario 1: per-call dispatch cost of a tiny MLP SGD train step (3 hidden layers of 32, batch 8).

The compiled program is microscopic, so the time per call is almost all Python-side dispatch:
argument flattening, the compiled-program cache lookup and, for brainstate, reading the state
values and writing the new ones back. Two regimes:

* pipelined: N calls back to back, one ``jax.block_until_ready`` at the end (training loops);
* latency: ``jax.block_until_ready`` after every call (interactive use, per-step host logic).

Reference: ``jax.jit`` of ``(params, x, y) -> (new params, loss)`` with ``jax.value_and_grad``.
Flax NNX and Equinox, when importable, get two rows each: their everyday jit and the pattern their
docs give for less per-call overhead (see ``_anchors.py``).

    python benchmarks/bench_dispatch.py [--quick] [--repeats 300] [--calls 20]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import _anchors
import _common as C
import _mlp
import jax
import jax.numpy as jnp
import numpy as np

LR = 0.01
TOL = 1e-4  # largest loss difference to plain JAX accepted before timing


def build_calls(arrays: dict, x: jax.Array, y: jax.Array) -> tuple[list[tuple[str, Callable, Callable, str]], list[str]]:
    """``[(name, call, result, note)]``: ``call()`` runs one train step, ``result()`` gives what to block on.

    Every variant keeps its own parameters across calls; the list is built once and shared by
    both regimes, so each program compiles once.
    """
    calls: list[tuple[str, Callable, Callable, str]] = []
    notes: list[str] = []

    step = _mlp.plain_step(LR)
    box = {"p": dict(arrays), "loss": None}

    def plain_call():
        box["p"], box["loss"] = step(box["p"], x, y)
        return box["loss"]

    calls.append(("plain jax", plain_call, lambda: (box["p"], box["loss"]), "jax.jit + value_and_grad over a params dict"))

    def stateful(model: Any, name: str, note: str) -> None:
        ours, params = _mlp.ours_step(model, LR)
        last = {"loss": None}

        def call():
            last["loss"] = ours(x, y)
            return last["loss"]

        calls.append((name, call, lambda: (last["loss"], [s.value for s in params.values()]),
                      note.format(n=len(params))))

    def anchor(program: _anchors.Program) -> None:
        step = _anchors.stepper(program)
        last = {"loss": None}

        def call():
            last["loss"] = step()
            return last["loss"]

        calls.append((program.name, call, lambda: last["loss"], program.note))

    stateful(_mlp.StateMLP(arrays), "brainstate", "{n} ParamStates, transform.jit + transform.grad")
    nn_model = _mlp.nn_mlp(arrays)
    if nn_model is not None:
        stateful(nn_model, "brainstate nn.Linear", "nn.Sequential of nn.Linear ({n} ParamStates)")
    else:
        notes.append("brainstate_nn not importable: no nn.Linear row")

    for program in _anchors.mlp_programs(arrays, x, y, LR):
        anchor(program)
    notes += _anchors.missing()
    return calls, notes


def variants(calls: list, n: int, latency: bool) -> list[C.Variant]:
    """One variant per program: ``n`` calls per sample, blocking after each call (latency) or at the end."""
    out = []
    for name, call, result, note in calls:
        if latency:
            def run(call=call):
                for _ in range(n):
                    C.block(call())
        else:
            def run(call=call, result=result):
                for _ in range(n):
                    call()
                C.block(result())
        out.append(C.Variant(name, run, baseline=name == "plain jax", per=n, note=note))
    return out


def check_agreement(arrays: dict, x: jax.Array, y: jax.Array, steps: int = 3) -> tuple[float, float | None]:
    """Run the plain, brainstate and Flax / Equinox steps from the same arrays.

    Returns:
        the largest loss difference of brainstate to plain, and of the Flax / Equinox rows
        (``None`` when neither is installed); exits if one is over the tolerance.
    """
    step = _mlp.plain_step(LR)
    p = dict(arrays)
    ours, _ = _mlp.ours_step(_mlp.StateMLP(arrays), LR)
    diffs, reference = [], []
    for _ in range(steps):
        p, lp = step(p, x, y)
        reference.append(lp)
        diffs.append(abs(float(lp) - float(ours(x, y))))
    diff = max(diffs)
    if not np.isfinite(diff) or diff > TOL:
        raise SystemExit(f"brainstate and plain losses disagree by {diff}")
    return diff, _anchors.check(_anchors.mlp_programs(arrays, x, y, LR), reference, TOL)


def run(name: str, title: str, sizes: list[int], batch: int, calls: int, args: argparse.Namespace,
        limit: float, stretch: float | None = None) -> bool:
    arrays = _mlp.mlp_arrays(0, sizes)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((batch, sizes[0]), np.float32))
    y = jnp.asarray(rng.standard_normal((batch, sizes[-1]), np.float32))
    diff, anchor_diff = check_agreement(arrays, x, y)
    config = {"sizes": "-".join(map(str, sizes)), "batch": batch, "calls_per_sample": calls,
              "repeats": args.repeats, "loss_agreement": f"{diff:.2e}"}
    if anchor_diff is not None:
        config["flax_equinox_loss_agreement"] = f"{anchor_diff:.2e}"
    programs, notes = build_calls(arrays, x, y)
    sections, targets = [], []
    for regime, latency in (("pipelined", False), ("latency", True)):
        vs = variants(programs, calls, latency)
        samples = C.measure(vs, args.repeats, warmup=2)
        sec = C.section(f"{title}, {regime} (time per call)", vs, samples, notes=notes)
        sections.append(sec)
        targets.append(C.Target(f"{regime}: brainstate / plain jax time", sec.row("brainstate").ratio, limit,
                                stretch=stretch))
    return C.report(name, sections, targets, args, config)


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=None, help="train steps per timed sample (default 20)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 300)
    calls = args.calls or (10 if args.quick else 20)
    passed = run("dispatch", "tiny MLP 32-32-32-32-10, batch 8", [32, 32, 32, 32, 10], 8, calls, args,
                 limit=1.1)
    C.finish(passed, args)


if __name__ == "__main__":
    jnp.zeros(())  # initialise the backend before timing anything
    main()
