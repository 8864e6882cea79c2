"""Random stateful programs for differential fuzzing, and three interpreters of them.

A *program* is a small AST: a few named states (several State types; scalars, vectors, matrices
and dict pytrees), an integer counter ``n``, a random generator ``rng`` and a tuple of *ops*. Every op
maps the local value ``x`` (a float32 vector of length 3) to a new one and may read and write
states. Nested ops hold bodies (tuples of ops) run under a transformation. The same program is run

* by :func:`run_brainstate`, with real States and the ``brainstate.transform`` transformations;
* by :func:`run_eager`, with real States and each transformation replaced by its eager meaning
  (``jit`` and ``checkpoint``: a call; loops: Python loops; ``cond``/``switch``: Python ``if``;
  ``vmap``, ``pmap``: a Python loop over lanes, the lane state sliced and stacked). The
  differentiating blocks (``grad``, ``jacrev``, ``jacfwd``, ``hessian``: ``tests/_fuzz_autodiff.py``)
  have no eager meaning: their body is run by the pure-JAX interpreter on the current state values,
  which are then written back;
* by :func:`run_pure`, a pure function of a dict of state values threaded by hand through
  ``jax.lax``, ``jax.vmap``, ``jax.pmap``, ``jax.grad`` / ``jacrev`` / ``jacfwd`` / ``hessian``,
  ``jax.checkpoint`` and ``jax.jit``, with the PRNG key split as ``RandomState`` splits it (one
  ``jax.random.split`` per draw: the first half is kept).

A program is called ``reps`` times in a row, each call in another ``brainstate.environ`` context
(the :class:`Scale` op reads it), so a compiled program reused with a stale ``environ`` value
would show.

States may change shape between calls: :class:`Reshape` gives each leaf of a state another shape
(and back the next time), at the top level, in ``jit`` (which then writes a value of a new shape),
``checkpoint`` and ``vmap``; the next call must follow the new shapes. A program may have the *lane
state* :data:`LANE`, of shape ``(2, 3)``, which ``vmap_states`` blocks declare in ``in_states`` (and
``out_states``) on axis 0 or 1: each lane reads and writes its own slice.

:func:`programs` in ``tests/_fuzz_generator.py`` is the Hypothesis strategy that generates only
valid programs (see its ``Ctx``):
under ``vmap`` / ``pmap`` no op makes a state depend on the batched value (no draws, no ``x`` in
updates, no derivatives) and under ``vmap_states`` no state but the lane state reads it;
``while_loop`` is kept out of reverse-differentiated bodies (JAX cannot reverse-differentiate it);
shapes change nowhere in a loop, branch or derivative (carried states keep their shapes); ``pmap``
is not nested in ``pmap`` (the devices would not suffice).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import _fuzz_autodiff as AD
import jax
import jax.numpy as jnp
import numpy as np

import brainstate

T = brainstate.transform

KINDS = ("State", "ShortTermState", "LongTermState", "ParamState", "HiddenState", "BatchState")
SHAPES: dict[str, Any] = {"scalar": (), "vec": (3,), "mat": (2, 3), "tree": {"b": (), "w": (2,)}}
FNS = {"id": lambda v: v, "tanh": jnp.tanh, "sin": jnp.sin}
COEFS = (-1.0, -0.5, 0.0, 0.5, 1.0)
ENV_KEY, SCALES = "fuzz_scale", (0.9, 0.6)  # the environ value seen by each call of a program
X_DIM = 3
LANE, LANE_SHAPE = "b", (2, 3)  # the lane state: vmap_states maps over its axis 0 (2 lanes) or 1 (3 lanes)
RESHAPES = {(): (2,), (2,): (), (3,): (4,), (4,): (3,), (2, 3): (1, 3), (1, 3): (2, 3)}  # and back


def devices() -> int:
    """The size of every pmap axis: one lane per local device (1 unless XLA_FLAGS forces more)."""
    return jax.local_device_count()


# -- the AST -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StateSpec:
    name: str
    kind: str
    shape: str


@dataclass(frozen=True)
class Update:
    """``dst = a * fn(dst) + b * mean(src) + c * mean(x)``"""

    dst: str
    src: str
    fn: str
    a: float
    b: float
    c: float


@dataclass(frozen=True)
class Draw:
    """``dst = dst + scale * rng.<dist>(size=leaf shape)`` for each leaf of ``dst``."""

    dst: str
    dist: str
    scale: float


@dataclass(frozen=True)
class Mix:
    """``x = tanh(x + a * mean(src))`` (a read)."""

    src: str
    a: float


@dataclass(frozen=True)
class Count:
    """``n = n + 1``"""


@dataclass(frozen=True)
class Scale:
    """``x = x * environ.get('fuzz_scale')``: each call of the program runs in another context."""


@dataclass(frozen=True)
class Reshape:
    """Each leaf of ``dst`` resized (``0.9 * jnp.resize``) to another shape (:data:`RESHAPES`)."""

    dst: str


@dataclass(frozen=True)
class Block:
    """A body run under a transformation: ``kind`` is one of :data:`BLOCKS`."""

    kind: str
    body: tuple
    length: int = 1
    other: tuple = ()  # the else body of cond, the further branches of switch
    param: str = ""  # the differentiated state
    lr: float = 0.1
    mode: str = ""  # derivatives: "states", "args", "both" (""= "states"); vmap_states: "state", "dict", "in_out", "vmap2"
    axis: int = 0  # vmap_states: the lane state's mapped axis


BLOCKS = ("jit", "checkpoint", "cond", "switch", "for_loop", "scan", "while_loop", "fori_loop", "vmap", "pmap",
          "vmap_states", *AD.KINDS)


@dataclass(frozen=True)
class Program:
    """``states`` and ``body``; ``seed`` gives the initial values and the PRNG seed; the program is
    called ``reps`` times in a row; ``top_jit`` compiles the whole brainstate run in one ``jit``."""

    states: tuple[StateSpec, ...]
    body: tuple
    seed: int
    reps: int
    top_jit: bool = False
    lane_kind: str = ""  # the State type of the lane state LANE; "" for none


def describe(body: tuple, indent: str = "") -> str:
    """Readable pseudo-code of a body, for failure reports."""
    lines = []
    for op in body:
        if isinstance(op, Block):
            extra = f"(length={op.length})" if op.kind in ("for_loop", "scan", "while_loop", "fori_loop", "vmap") else ""
            extra = f"(param={op.param}, lr={op.lr}, mode={op.mode or 'states'})" if op.kind in AD.KINDS else extra
            extra = f"(axis={op.axis}, lanes={op.length}, mode={op.mode})" if op.kind == "vmap_states" else extra
            lines.append(f"{indent}{op.kind}{extra}:")
            lines.append(describe(op.body, indent + "    "))
            for i, branch in enumerate(op.other):
                lines.append(f"{indent}{'else' if op.kind == 'cond' else f'branch {i + 1}'}:")
                lines.append(describe(branch, indent + "    "))
        else:
            lines.append(f"{indent}{op}")
    return "\n".join(lines)


# -- shared arithmetic ---------------------------------------------------------------------------
def _mean(value: Any) -> jax.Array:
    leaves = jax.tree.leaves(value)
    return jnp.mean(jnp.stack([jnp.mean(jnp.asarray(leaf, jnp.float32)) for leaf in leaves]))


def _update(op: Update, dst: Any, src: Any, x: jax.Array) -> Any:
    fn = FNS[op.fn]
    shift = op.b * _mean(src)
    if op.c:  # no term at all when c == 0: under vmap the write must not depend on x
        shift = shift + op.c * jnp.mean(x)
    return jax.tree.map(lambda leaf: op.a * fn(leaf) + shift, dst)


def _mix(op: Mix, src: Any, x: jax.Array) -> jax.Array:
    return jnp.tanh(x + op.a * _mean(src))


def _lanes(x: jax.Array, n: int) -> jax.Array:
    if not isinstance(x, jax.core.Tracer) and len(x.sharding.device_set) > 1:
        # x came out of an earlier pmap, laid out over its devices: jax.pmap refuses such an input.
        x = jnp.asarray(np.asarray(x))
    return x[None, :] + 0.1 * jnp.arange(n, dtype=jnp.float32)[:, None]


def _reshape(value: Any) -> Any:
    return jax.tree.map(lambda leaf: 0.9 * jnp.resize(leaf, RESHAPES[jnp.shape(leaf)]), value)


def _steps(n: int) -> jax.Array:
    return 0.1 * jnp.arange(n, dtype=jnp.float32)


def _shape_value(shape: Any, rng: np.random.Generator) -> Any:
    if isinstance(shape, dict):
        return {k: _shape_value(v, rng) for k, v in shape.items()}
    return jnp.asarray(rng.uniform(-1.0, 1.0, shape).astype(np.float32))


def initial_values(prog: Program) -> tuple[dict[str, Any], jax.Array]:
    """The initial state values (floats, ``n`` and the raw key ``rng``) and the input ``x``."""
    rng = np.random.default_rng(prog.seed)
    values = {s.name: _shape_value(SHAPES[s.shape], rng) for s in prog.states}
    if prog.lane_kind:
        values[LANE] = _shape_value(LANE_SHAPE, rng)
    values["n"] = jnp.asarray(0, jnp.int32)
    values["rng"] = jax.random.PRNGKey(prog.seed)
    return values, jnp.asarray(rng.uniform(-1.0, 1.0, X_DIM).astype(np.float32))


# -- 1. brainstate transformations ----------------------------------------------------------------
def make_states(prog: Program) -> dict[str, brainstate.State]:
    values, _ = initial_values(prog)
    kinds = {s.name: s.kind for s in prog.states} | ({LANE: prog.lane_kind} if prog.lane_kind else {})
    states: dict[str, brainstate.State] = {name: getattr(brainstate, kind)(values[name]) for name, kind in kinds.items()}
    states["n"] = brainstate.State(values["n"])
    states["rng"] = brainstate.random.RandomState(prog.seed)
    return states


def _draw_stateful(op: Draw, states: dict) -> None:
    rng = states["rng"]
    sample = rng.normal if op.dist == "normal" else rng.uniform
    dst = states[op.dst]
    dst.value = jax.tree.map(lambda leaf: leaf + op.scale * sample(size=jnp.shape(leaf)), dst.value)


def _leaf_stateful(op: Any, states: dict, x: jax.Array) -> jax.Array:
    if isinstance(op, Update):
        states[op.dst].value = _update(op, states[op.dst].value, states[op.src].value, x)
    elif isinstance(op, Draw):
        _draw_stateful(op, states)
    elif isinstance(op, Mix):
        return _mix(op, states[op.src].value, x)
    elif isinstance(op, Scale):
        return x * brainstate.environ.get(ENV_KEY)
    elif isinstance(op, Reshape):
        states[op.dst].value = _reshape(states[op.dst].value)
    else:
        states["n"].value = states["n"].value + 1
    return x


def _build(body: tuple, states: dict) -> Callable[[jax.Array], jax.Array]:
    """Compile ``body`` once into a function ``x -> x``: every transformed callable is made here,
    so that calling the result again reuses their caches."""
    steps = [_build_block(op, states) if isinstance(op, Block) else _leaf_step(op, states) for op in body]

    def run(x):
        for step in steps:
            x = step(x)
        return x

    return run


def _leaf_step(op: Any, states: dict) -> Callable:
    return lambda x: _leaf_stateful(op, states, x)


def _build_block(op: Block, states: dict) -> Callable:
    run, n, kind = _build(op.body, states), states["n"], op.kind
    if kind == "jit":
        return T.jit(run)
    if kind == "checkpoint":
        return T.checkpoint(run)
    if kind in ("cond", "switch"):
        others = [_build(b, states) for b in op.other]
        if kind == "cond":
            return lambda x: T.cond(n.value % 2 == 0, run, others[0], x)
        return lambda x: T.switch(n.value % (1 + len(others)), [run, *others], x)
    if kind == "for_loop":
        def looped(x):
            ys = T.for_loop(lambda i: run(x + i), _steps(op.length))
            return jnp.tanh(x + jnp.mean(ys, axis=0))

        return looped
    if kind == "scan":
        def step(c, i):
            c = run(c + i)
            return c, jnp.mean(c)

        def scanned(x):
            c, ys = T.scan(step, x, _steps(op.length))
            return jnp.tanh(c + jnp.mean(ys))

        return scanned
    if kind == "while_loop":
        def cond(c):
            return (c[0] < op.length) & (n.value >= 0)

        def body(c):
            return c[0] + 1, run(c[1])

        return lambda x: T.while_loop(cond, body, (jnp.asarray(0, jnp.int32), x))[1]
    if kind == "fori_loop":
        def fori_body(i, v):
            return run(v + 0.01 * i)

        return lambda x: T.fori_loop(0, op.length, fori_body, x)
    if kind in ("vmap", "pmap"):
        mapped, lanes = (T.vmap(run), op.length) if kind == "vmap" else (T.pmap(run), devices())
        return lambda x: jnp.mean(mapped(_lanes(x, lanes)), axis=0)
    if kind == "vmap_states":
        lane = states[LANE]
        declared = {"state": dict(in_states=lane), "dict": dict(in_states={op.axis: lane}),
                    "in_out": dict(in_states={op.axis: lane}, out_states={op.axis: lane}),
                    "vmap2": dict(state_in_axes={op.axis: lane}, state_out_axes={op.axis: lane})}[op.mode]

        def per_lane(x):  # the lane state's slice is read and written in each lane
            lane.value = _lane_in(lane.value, x)
            return _lane_out(run(x + 0.5 * jnp.mean(lane.value)), lane.value)

        mapped = (T.vmap2 if op.mode == "vmap2" else T.vmap)(per_lane, **declared)  # vmap2: upstream's keywords
        return lambda x: jnp.mean(mapped(_lanes(x, op.length)), axis=0)
    return AD.build(op, states, run)


def _lane_in(value: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.tanh(0.5 * value + jnp.mean(x))


def _lane_out(y: jax.Array, value: jax.Array) -> jax.Array:
    return y + 0.1 * jnp.mean(value)


def _snapshot(states: dict) -> dict[str, Any]:
    return {name: s.value for name, s in states.items()}


def run_brainstate(prog: Program) -> tuple[list[jax.Array], dict[str, Any]]:
    """Outputs of each repetition and the final state values, with brainstate transformations."""
    states = make_states(prog)
    x = initial_values(prog)[1]
    program, outs = _build(prog.body, states), []
    if prog.top_jit:
        program = T.jit(program)
    for rep in range(prog.reps):  # the same transformed callables every time: later calls hit the caches
        with brainstate.environ.context(**{ENV_KEY: SCALES[rep]}):
            x = program(x)
        outs.append(x)
    return outs, _snapshot(states)


# -- 2. eager meaning ------------------------------------------------------------------------------
def _run_eager(body: tuple, states: dict, x: jax.Array) -> jax.Array:
    for op in body:
        x = _block_eager(op, states, x) if isinstance(op, Block) else _leaf_stateful(op, states, x)
    return x


def _block_eager(op: Block, states: dict, x: jax.Array) -> jax.Array:
    kind, n = op.kind, states["n"]
    if kind in ("jit", "checkpoint"):
        return _run_eager(op.body, states, x)
    if kind in ("cond", "switch"):
        branches = (op.other[0], op.body) if kind == "cond" else (op.body, *op.other)
        index = int(n.value % 2 == 0) if kind == "cond" else int(n.value % len(branches))
        return _run_eager(branches[index], states, x)
    if kind == "for_loop":
        ys = [_run_eager(op.body, states, x + i) for i in _steps(op.length)]
        return jnp.tanh(x + jnp.mean(jnp.stack(ys), axis=0))
    if kind == "scan":
        ys = []
        for i in _steps(op.length):
            x = _run_eager(op.body, states, x + i)
            ys.append(jnp.mean(x))
        return jnp.tanh(x + jnp.mean(jnp.stack(ys)))
    if kind == "while_loop":
        i = 0
        while i < op.length and int(n.value) >= 0:
            x, i = _run_eager(op.body, states, x), i + 1
        return x
    if kind == "fori_loop":
        for i in range(op.length):
            x = _run_eager(op.body, states, x + 0.01 * jnp.asarray(i, jnp.int32))
        return x
    if kind in ("vmap", "pmap", "vmap_states"):
        return _lanes_eager(op, states, x)
    # derivatives have no eager meaning: the pure interpreter runs them on the current values
    env = {**_snapshot(states), ENV_KEY: jnp.float32(brainstate.environ.get(ENV_KEY))}
    env, x = _pure_block_jit(op)(env, x)
    for name, state in states.items():
        state.value = env[name]
    return x


def _lanes_eager(op: Block, states: dict, x: jax.Array) -> jax.Array:
    """vmap / pmap / vmap_states as a Python loop over the lanes, each from the same states."""
    lanes = devices() if op.kind == "pmap" else op.length
    before, ys, afters = _snapshot(states), [], []
    for i, lane in enumerate(_lanes(x, lanes)):
        for name, value in before.items():
            states[name].value = value
        if op.kind == "vmap_states":
            lane_state = states[LANE]
            lane_state.value = _lane_in(jnp.take(before[LANE], i, axis=op.axis), lane)
            ys.append(_lane_out(_run_eager(op.body, states, lane + 0.5 * jnp.mean(lane_state.value)), lane_state.value))
        else:
            ys.append(_run_eager(op.body, states, lane))
        afters.append(_snapshot(states))
    for name in before:  # the generator keeps lane-dependent values out of states, but for the lane state
        if op.kind == "vmap_states" and name == LANE:
            states[name].value = jnp.stack([after[name] for after in afters], axis=op.axis)
            continue
        for after in afters[1:]:
            assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), after[name], afters[0][name])))
    return jnp.mean(jnp.stack(ys), axis=0)


@functools.lru_cache(maxsize=64)
def _pure_block_jit(op: Block) -> Callable:
    """One compiled pure version of ``op`` (ops are hashable), reused by every call of the eager program."""
    return jax.jit(lambda env, x: _block_pure(op, env, x))


def run_eager(prog: Program) -> tuple[list[jax.Array], dict[str, Any]]:
    """Outputs of each repetition and the final state values, with transformations run eagerly."""
    states = make_states(prog)
    x = initial_values(prog)[1]
    outs = []
    for rep in range(prog.reps):
        with brainstate.environ.context(**{ENV_KEY: SCALES[rep]}):
            x = _run_eager(prog.body, states, x)
        outs.append(x)
    return outs, _snapshot(states)


# -- 3. pure JAX, states threaded by hand -------------------------------------------------------------
def _leaf_pure(op: Any, env: dict, x: jax.Array) -> tuple[dict, jax.Array]:
    if isinstance(op, Update):
        return {**env, op.dst: _update(op, env[op.dst], env[op.src], x)}, x
    if isinstance(op, Mix):
        return env, _mix(op, env[op.src], x)
    if isinstance(op, Count):
        return {**env, "n": env["n"] + 1}, x
    if isinstance(op, Scale):
        return env, x * env[ENV_KEY]
    if isinstance(op, Reshape):
        return {**env, op.dst: _reshape(env[op.dst])}, x
    leaves, treedef = jax.tree.flatten(env[op.dst])
    key, new = env["rng"], []
    for leaf in leaves:  # RandomState: split, keep the first half, draw with the second
        keys = jax.random.split(key)
        key = keys[0]
        if op.dist == "normal":
            sample = jax.random.normal(keys[1], jnp.shape(leaf), jnp.float32)
        else:
            sample = jax.random.uniform(keys[1], jnp.shape(leaf), jnp.float32, 0.0, 1.0)
        new.append(leaf + op.scale * sample)
    return {**env, op.dst: jax.tree.unflatten(treedef, new), "rng": key}, x


def _run_pure(body: tuple, env: dict, x: jax.Array) -> tuple[dict, jax.Array]:
    for op in body:
        env, x = _block_pure(op, env, x) if isinstance(op, Block) else _leaf_pure(op, env, x)
    return env, x


def _block_pure(op: Block, env: dict, x: jax.Array) -> tuple[dict, jax.Array]:
    kind = op.kind

    def run(b):
        return lambda e, v: _run_pure(b, e, v)

    if kind == "jit":
        return jax.jit(run(op.body))(env, x)
    if kind == "checkpoint":
        return jax.checkpoint(run(op.body))(env, x)
    if kind == "cond":
        return jax.lax.cond(env["n"] % 2 == 0, run(op.body), run(op.other[0]), env, x)
    if kind == "switch":
        branches = [run(b) for b in (op.body, *op.other)]
        return jax.lax.switch(env["n"] % len(branches), branches, env, x)
    if kind == "for_loop":
        env, ys = jax.lax.scan(lambda e, i: _run_pure(op.body, e, x + i), env, _steps(op.length))
        return env, jnp.tanh(x + jnp.mean(ys, axis=0))
    if kind == "scan":
        def step(carry, i):
            e, c = _run_pure(op.body, carry[0], carry[1] + i)
            return (e, c), jnp.mean(c)

        (env, c), ys = jax.lax.scan(step, (env, x), _steps(op.length))
        return env, jnp.tanh(c + jnp.mean(ys))
    if kind == "while_loop":
        def cond(c):
            return (c[0] < op.length) & (c[1]["n"] >= 0)

        def body(c):
            return (c[0] + 1, *_run_pure(op.body, c[1], c[2]))

        _, env, x = jax.lax.while_loop(cond, body, (jnp.asarray(0, jnp.int32), env, x))
        return env, x
    if kind == "fori_loop":
        return jax.lax.fori_loop(0, op.length, lambda i, c: _run_pure(op.body, c[0], c[1] + 0.01 * i), (env, x))
    if kind == "vmap":
        env, ys = jax.vmap(lambda v: _run_pure(op.body, env, v), out_axes=(None, 0))(_lanes(x, op.length))
        return env, jnp.mean(ys, axis=0)
    if kind == "pmap":
        mapped = jax.pmap(run(op.body), in_axes=(None, 0), out_axes=(None, 0))
        env, ys = mapped(env, _lanes(x, devices()))
        return env, jnp.mean(ys, axis=0)
    if kind == "vmap_states":
        def per_lane(value, v):
            value = _lane_in(value, v)
            e, y = _run_pure(op.body, {**env, LANE: value}, v + 0.5 * jnp.mean(value))
            return {k: e[k] for k in e if k != LANE}, e[LANE], _lane_out(y, e[LANE])

        others, value, ys = jax.vmap(per_lane, in_axes=(op.axis, 0), out_axes=(None, op.axis, 0))(
            env[LANE], _lanes(x, op.length))
        return {**others, LANE: value}, jnp.mean(ys, axis=0)
    return AD.pure(op, env, x, run(op.body))


def run_pure(prog: Program) -> tuple[list[jax.Array], dict[str, Any]]:
    """Outputs of each repetition and the final state values, with the states threaded by hand."""
    env, x = initial_values(prog)

    @jax.jit
    def program(env, x, scale):  # the environ value is an explicit input, threaded with the states
        env, x = _run_pure(prog.body, {**env, ENV_KEY: scale}, x)
        return {k: v for k, v in env.items() if k != ENV_KEY}, x

    outs = []
    for rep in range(prog.reps):
        env, x = program(env, x, jnp.float32(SCALES[rep]))
        outs.append(x)
    return outs, env
