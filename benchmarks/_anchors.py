"""Flax NNX and Equinox versions of the benchmark programs: the libraries users would pick instead.

Each library gives two rows wherever a scenario times a jitted program:

* its everyday transform: ``nnx.jit`` on a function of the module, ``eqx.filter_jit`` on a
  function of the model pytree;
* the pattern its own documentation gives for cutting that transform's per-call overhead:
  Flax's "functional training loop" (NNX guide "Performance considerations": ``nnx.split`` once,
  plain ``jax.jit`` over ``(graphdef, state, ...)``, ``nnx.merge`` inside, ``nnx.state`` out),
  and Equinox's "low-overhead training loops" trick (docs "Tricks": flatten the model once and
  pass its leaves in and out), here with plain ``jax.jit`` over the array part that
  ``eqx.partition`` splits off.

The models are the library layers users reach for (``nnx.Linear``, ``eqx.nn.Linear``) loaded with
the same arrays as the plain-JAX rows, and the step is the same loss and SGD update, so the
scripts can check that every row computes the same numbers. A library that is not importable gives
no rows, only a note.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_WHY_NOT: dict[str, str] = {}  # library -> why it could not be imported


def _load(lib: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception as err:  # noqa: BLE001 - an incompatible install must not break the benchmark either
        _WHY_NOT[lib] = "" if isinstance(err, ModuleNotFoundError) else f" ({type(err).__name__}: {err})"
        return None


nnx = _load("flax", "flax.nnx")
eqx = _load("equinox", "equinox")


def missing() -> list[str]:
    """One note per library that is not importable (its rows are skipped)."""
    return [f"{lib} not importable{why}: no {lib} rows" for lib, why in _WHY_NOT.items()]


@dataclass
class Program:
    """One library's jitted program, usable for a first call and for repeated calls.

    Attributes:
        name: the row label.
        make: returns a fresh jitted function and its arguments; ``fn(*args)`` runs the program.
        carry: the index of the argument that the first output replaces before the next call
            (``fn`` then returns ``(new state, out)``); ``None`` when the state is updated in place
            and ``fn`` returns ``out`` alone.
        note: shown in the table.
    """

    name: str
    make: Callable[[], tuple[Callable, tuple]]
    carry: int | None = None
    note: str = ""


def stepper(program: Program) -> Callable[[], Any]:
    """``call()``: one call of the program on its own state, returning ``out`` (the loss, say).

    Blocking on ``out`` waits for the whole call: all outputs of one XLA execution are ready together.
    """
    fn, args = program.make()
    args = list(args)
    if program.carry is None:
        return lambda: fn(*args)
    i = program.carry

    def call():
        args[i], out = fn(*args)
        return out

    return call


def max_diff(program: Program, reference: Sequence[Any]) -> float:
    """Largest difference between the program's outputs over ``len(reference)`` calls and ``reference``."""
    call = stepper(program)
    return max(float(np.max(np.abs(np.asarray(call()) - np.asarray(ref)))) for ref in reference)


def check(programs: Sequence[Program], reference: Sequence[Any], tol: float) -> float | None:
    """The largest :func:`max_diff` over ``programs`` (``None`` if there are none); exits naming the
    first program that is further than ``tol`` from ``reference``."""
    worst = None
    for program in programs:
        diff = max_diff(program, reference)
        if not diff <= tol:  # NaN too
            raise SystemExit(f"{program.name} and plain jax disagree by {diff} over {len(reference)} calls")
        worst = diff if worst is None else max(worst, diff)
    return worst


def _fresh(f: Callable) -> Callable:
    """A new function object per jit, so no cache of an earlier ``make()`` is reused."""
    return lambda *a: f(*a)


# -- the two patterns of each library, for any program ---------------------------------------
def flax_programs(build: Callable[[], Any], method: Callable, inputs: tuple) -> list[Program]:
    """``method(module, *inputs) -> out`` updates the module's Variables in place; each program
    gets its own module from ``build()``."""
    module, other = build(), build()

    def with_nnx_jit():
        return nnx.jit(_fresh(method)), (module, *inputs)

    def functional():
        graphdef, state = nnx.split(other)

        def pure(graphdef, state, *inputs):
            m = nnx.merge(graphdef, state)
            out = method(m, *inputs)
            return nnx.state(m), out

        return jax.jit(pure), (graphdef, state, *inputs)

    return [Program("flax nnx.jit", with_nnx_jit, note="nnx.jit on the module"),
            Program("flax split/merge + jax.jit", functional, carry=1,
                    note="nnx.split once, jax.jit, nnx.merge inside (NNX performance guide)")]


def equinox_programs(model: Any, method: Callable, inputs: tuple) -> list[Program]:
    """``method(model, *inputs) -> (new model, out)`` is pure."""

    def with_filter_jit():
        return eqx.filter_jit(_fresh(method)), (model, *inputs)

    def partitioned():
        dynamic, static = eqx.partition(model, eqx.is_array)
        leaves, treedef = jax.tree.flatten(dynamic)

        def pure(leaves, *inputs):
            new, out = method(eqx.combine(jax.tree.unflatten(treedef, leaves), static), *inputs)
            return jax.tree.leaves(eqx.filter(new, eqx.is_array)), out

        return jax.jit(pure), (leaves, *inputs)

    return [Program("equinox filter_jit", with_filter_jit, carry=0, note="eqx.filter_jit on the model"),
            Program("equinox partition + jax.jit", partitioned, carry=0,
                    note="eqx.partition once, jax.jit over flat leaves (Equinox low-overhead loop)")]


# -- the MLP train step ----------------------------------------------------------------------
def _mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((pred - y) ** 2)


def _layers(arrays: dict) -> list[tuple[jax.Array, jax.Array]]:
    n = sum(1 for k in arrays if k.startswith("w"))
    return [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(n)]


def nnx_mlp(arrays: dict) -> Any:
    """``nnx.Sequential`` of ``nnx.Linear`` layers holding the arrays, ReLU between them."""
    layers: list = []
    for w, b in _layers(arrays):
        linear = nnx.Linear(w.shape[0], w.shape[1], rngs=nnx.Rngs(0))
        linear.kernel[...], linear.bias[...] = w, b
        layers += [linear, nnx.relu]
    return nnx.Sequential(*layers[:-1])


def eqx_mlp(arrays: dict) -> Any:
    """``eqx.nn.Sequential`` of ``eqx.nn.Linear`` layers holding the arrays (weights transposed)."""
    layers: list = []
    key = jax.random.PRNGKey(0)
    for w, b in _layers(arrays):
        linear = eqx.nn.Linear(w.shape[0], w.shape[1], key=key)
        layers += [eqx.tree_at(lambda m: (m.weight, m.bias), linear, (w.T, b)), eqx.nn.Lambda(jax.nn.relu)]
    return eqx.nn.Sequential(layers[:-1])


def mlp_programs(arrays: dict, x: jax.Array, y: jax.Array, lr: float) -> list[Program]:
    """The SGD train step of the ``_mlp`` MLP in every installed library's two patterns; out = loss."""
    programs: list[Program] = []
    if nnx is not None:
        def nnx_step(model, x, y):
            loss, grads = nnx.value_and_grad(lambda m: _mse(m(x), y))(model)
            params = nnx.state(model, nnx.Param)
            nnx.update(model, jax.tree.map(lambda p, g: p - lr * g, params, grads))
            return loss

        programs += flax_programs(lambda: nnx_mlp(arrays), nnx_step, (x, y))
    if eqx is not None:
        def eqx_step(model, x, y):
            loss, grads = eqx.filter_value_and_grad(lambda m: _mse(jax.vmap(m)(x), y))(model)
            return eqx.apply_updates(model, jax.tree.map(lambda g: -lr * g, grads)), loss

        programs += equinox_programs(eqx_mlp(arrays), eqx_step, (x, y))
    return programs


# -- the recurrent scan h = tanh(h @ W + x_t) --------------------------------------------------
def _scan(h: jax.Array, w: jax.Array, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    def body(h, x):
        h = jnp.tanh(h @ w + x)
        return h, h

    return jax.lax.scan(body, h, xs)


def scan_programs(h0: jax.Array, w0: jax.Array, xs: jax.Array) -> list[Program]:
    """``W`` a parameter, ``h`` a hidden state carried across calls; out = the hidden trajectory."""
    programs: list[Program] = []
    if nnx is not None:
        class NnxCell(nnx.Module):
            def __init__(self):
                self.w, self.h = nnx.Param(w0), nnx.Variable(h0)

        def nnx_run(cell, xs):
            cell.h[...], hs = _scan(cell.h[...], cell.w[...], xs)
            return hs

        programs += flax_programs(NnxCell, nnx_run, (xs,))
    if eqx is not None:
        class EqxCell(eqx.Module):
            w: jax.Array
            h: jax.Array

        def eqx_run(cell, xs):
            h, hs = _scan(cell.h, cell.w, xs)
            return EqxCell(cell.w, h), hs

        programs += equinox_programs(EqxCell(w0, h0), eqx_run, (xs,))
    return programs


# -- building a model and collecting its parameters ------------------------------------------
def builders(layers: int, width: int) -> list[tuple[str, Callable[[], Any], str]]:
    """``[(name, build, note)]``: ``build()`` makes a fresh ``layers``-deep stack of Linear(width, width)
    and returns its parameter arrays."""
    out = []
    if nnx is not None:
        def flax_build():
            rngs = nnx.Rngs(0)
            init = nnx.initializers.he_normal()
            model = nnx.Sequential(*(nnx.Linear(width, width, kernel_init=init, rngs=rngs) for _ in range(layers)))
            return jax.tree.leaves(nnx.state(model, nnx.Param))

        out.append(("flax nnx.Linear", flax_build, "nnx.Sequential of nnx.Linear, he_normal kernels, nnx.Rngs"))
    if eqx is not None:
        def eqx_build():
            keys = jax.random.split(jax.random.PRNGKey(0), layers)
            model = eqx.nn.Sequential([eqx.nn.Linear(width, width, key=k) for k in keys])
            return jax.tree.leaves(eqx.filter(model, eqx.is_array))

        out.append(("equinox eqx.nn.Linear", eqx_build, "eqx.nn.Sequential of eqx.nn.Linear, its default uniform init"))
    return out


def collectors(layers: int, width: int) -> list[tuple[str, Callable[[], Any], str]]:
    """``[(name, collect, note)]``: each library's way of getting the parameters of a built model."""
    out = []
    if nnx is not None:
        model = nnx.Sequential(*(nnx.Linear(width, width, rngs=nnx.Rngs(i)) for i in range(layers)))
        out.append(("flax nnx.state(Param)", lambda: nnx.state(model, nnx.Param), "nnx.Sequential of nnx.Linear"))
    if eqx is not None:
        keys = jax.random.split(jax.random.PRNGKey(0), layers)
        emodel = eqx.nn.Sequential([eqx.nn.Linear(width, width, key=k) for k in keys])
        out.append(("equinox eqx.filter(is_array)", lambda: eqx.filter(emodel, eqx.is_array),
                    "eqx.nn.Sequential of eqx.nn.Linear"))
    return out
