"""Differential fuzzing: random stateful programs give the same results three ways.

Hypothesis draws programs (``tests/_fuzz_generator.py``; the programs and their interpreters are in
``tests/_fuzz_programs.py`` and ``tests/_fuzz_autodiff.py``): a few states of several State types
and shapes, a counter and a ``RandomState``; reads, writes, arithmetic, random draws and changes of
a state's shape between calls, nested under ``jit``, ``checkpoint``, ``cond``, ``switch``,
``for_loop``, ``scan``, ``while_loop``, ``fori_loop``, ``vmap``, ``vmap2``, ``pmap`` (one lane per local
device), ``vmap`` with a batched state in ``in_states`` / ``out_states``, and ``grad``,
``jacrev``, ``jacfwd`` and ``hessian`` (with respect to a state, the input or both). Each program
runs with the brainstate transformations, with the transformations replaced by their eager meaning,
and as a pure JAX function with the states
(and the PRNG key) threaded by hand. Outputs and final state values must agree: floats to float32
round-off, the counter and the PRNG key exactly (so a draw under ``jit`` or in a loop gives the
numbers the same draw gives eagerly).

``BRAINSTATE_FUZZ_EXAMPLES`` sets the number of random programs (default 144: a fixed set replayed
on every run, about 0.8 s each on one core, most of it XLA compiling each program; fewer than the
200 of the smaller generator, so that the file costs about the same); when it is set,
as ``nox -s fuzz`` does, Hypothesis draws new programs on each run. The programs are split over
:data:`SHARDS` tests so that pytest-xdist spreads them over the cores.
"""

from __future__ import annotations

import os

import _fuzz_generator as G
import _fuzz_programs as F
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, seed, settings

import brainstate

EXAMPLES_ENV = "BRAINSTATE_FUZZ_EXAMPLES"
EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "144"))
SHARDS = 8
RTOL, ATOL = 2e-4, 2e-5


@pytest.fixture(autouse=True, scope="module")
def _quick_compiles():
    """Compile with XLA's optimisations off: each program is compiled once and run a few times,
    and compiling is most of the cost (about 40% less with this). Caches are cleared afterwards
    so that no executable compiled this way is reused by later tests."""
    before = jax.config.values["jax_disable_most_optimizations"]
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", before)
    jax.clear_caches()


def assert_same(got: tuple, want: tuple, what: str) -> None:
    """Outputs and states agree: floats to round-off, integers and PRNG keys exactly."""
    (outs_a, states_a), (outs_b, states_b) = got, want
    assert len(outs_a) == len(outs_b)
    for rep, (a, b) in enumerate(zip(outs_a, outs_b)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), RTOL, ATOL, err_msg=f"{what}: output of call {rep + 1}")
    assert states_a.keys() == states_b.keys()
    for name in states_a:
        leaves_a, leaves_b = jax.tree.leaves(states_a[name]), jax.tree.leaves(states_b[name])
        assert jax.tree.structure(states_a[name]) == jax.tree.structure(states_b[name]), f"{what}: state {name}"
        for a, b in zip(leaves_a, leaves_b):
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: state {name}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
            if np.issubdtype(a.dtype, np.floating):
                np.testing.assert_allclose(a, b, RTOL, ATOL, err_msg=f"{what}: state {name}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{what}: state {name}")


def check_program(prog: F.Program) -> None:
    got = F.run_brainstate(prog)
    try:
        assert_same(got, F.run_eager(prog), "brainstate vs eager")
        assert_same(got, F.run_pure(prog), "brainstate vs pure JAX")
    except AssertionError as err:
        raise AssertionError(f"{err}\nThe program (states {prog.states}):\n{F.describe(prog.body)}") from None


# -- hand-written programs: every construct is run on every test run ---------------------------------
S = (F.StateSpec("s0", "ParamState", "vec"), F.StateSpec("s1", "HiddenState", "tree"), F.StateSpec("s2", "State", "scalar"))
WORK = (F.Update("s0", "s1", "tanh", 0.5, 1.0, 0.5), F.Draw("s1", "normal", 0.1), F.Count(), F.Mix("s2", 1.0))
LANE_WORK = (F.Update("s2", "s0", "sin", 0.5, 1.0, 0.0), F.Count(), F.Mix("s1", -0.5), F.Scale())
DEEP = (F.Block("scan", (F.Block("cond", WORK, other=((F.Draw("s2", "uniform", 0.5),),)),), 2),
        F.Block("vmap", (F.Block("fori_loop", LANE_WORK, 2),), 3))


def _hand_written() -> dict[str, F.Program]:
    bodies = {
        "branches and jit": (F.Block("jit", WORK), F.Block("checkpoint", WORK),
                             F.Block("cond", WORK, other=((F.Count(), F.Count()),)),
                             F.Block("switch", WORK, other=((F.Count(),), (F.Draw("s0", "uniform", 0.5),)))),
        "loops": (F.Block("for_loop", WORK, 3), F.Block("scan", WORK, 3), F.Block("while_loop", WORK, 3),
                  F.Block("fori_loop", WORK, 2)),
        "vmap and grad": (F.Block("vmap", LANE_WORK, 3), F.Block("grad", WORK, param="s0"),
                          F.Block("grad", (F.Block("scan", WORK, 2), F.Mix("s1", 1.0)), param="s1")),
        "nested": (F.Block("jit", DEEP), F.Block("grad", (F.Block("checkpoint", DEEP[:1]), DEEP[1]), param="s0")),
        "jacobians and hessians": (F.Block("jacrev", WORK, param="s1", mode="both"),
                                   F.Block("jacfwd", (F.Block("while_loop", WORK, 2),), param="s0"),
                                   F.Block("hessian", WORK, param="s0"), F.Block("hessian", WORK[:2], param="s1", mode="args"),
                                   F.Block("grad", WORK, param="b", mode="both")),
        "pmap and batched states": (F.Block("pmap", (F.Mix("s1", 0.5), F.Block("vmap", (F.Mix("b", 1.0), F.Scale()), 2))),
                                    F.Block("vmap_states", (F.Update("b", "s0", "tanh", 0.5, 1.0, 0.0),), 3, mode="vmap2", axis=1),
                                    F.Block("vmap_states", (*LANE_WORK, F.Update("b", "s0", "tanh", 0.5, 1.0, 0.0)), 2, mode="state"),
                                    F.Block("vmap_states", (F.Block("scan", LANE_WORK, 2),), 3, mode="in_out", axis=1)),
        # a state resized outside a jitted block and inside one: each call must follow the new shapes
        "shapes between calls": (F.Reshape("s0"), F.Block("jit", (F.Update("s2", "s0", "tanh", 0.5, 1.0, 0.5), F.Reshape("s1"))),
                                 F.Block("grad", WORK, param="s1"), F.Block("vmap", (F.Reshape("s2"), F.Mix("s2", 1.0)), 2)),
    }
    eager_top = {"branches and jit", "nested", "shapes between calls"}  # the others run in one top-level jit
    return {name: F.Program(S, (F.Count(), *body), seed=3, reps=2, top_jit=name not in eager_top, lane_kind="HiddenState")
            for name, body in bodies.items()}


HAND_WRITTEN = _hand_written()


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_program(name: str) -> None:
    check_program(HAND_WRITTEN[name])


# -- random programs --------------------------------------------------------------------------------
def _random_programs(shard: int):
    """The property for one shard: its share of :data:`EXAMPLES` random programs."""
    count = EXAMPLES // SHARDS + (shard < EXAMPLES % SHARDS)

    @settings(
        max_examples=max(count, 1),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    @given(G.programs())
    @example(F.Program((F.StateSpec("s0", "State", "mat"),), (F.Block("vmap", (F.Update("s0", "s0", "id", -1.0, -1.0, 0.0),), 1),), 0, 1))
    def prop(prog: F.Program) -> None:
        check_program(prog)

    if EXAMPLES_ENV not in os.environ:  # the normal session replays a fixed set of programs
        prop = seed(20261126 + shard)(prop)
    return prop


@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_program(shard: int) -> None:
    _random_programs(shard)()


# -- the harness itself ------------------------------------------------------------------------------
def test_generator_reaches_every_construct_and_keeps_bodies_valid() -> None:
    seen: set[str] = set()
    loops = {"cond", "switch", "for_loop", "scan", "while_loop", "fori_loop", *F.AD.KINDS}

    def walk(body: tuple, ctx: dict) -> None:
        for op in body:
            if ctx["vmap"]:  # nothing may make a state differ between lanes
                assert not isinstance(op, F.Draw) and not (isinstance(op, F.Update) and op.c)
                assert not (isinstance(op, F.Block) and op.kind in (*F.AD.KINDS, "vmap_states"))
            if ctx["lane"] and isinstance(op, F.Update):  # only the lane state reads the lane state
                assert op.src != F.LANE or op.dst == F.LANE
            if ctx["pmap"]:  # no pmap nested
                assert not (isinstance(op, F.Block) and op.kind == "pmap")
            if ctx["fixed"]:  # carried states keep their shapes
                assert not isinstance(op, F.Reshape)
            if ctx["reverse"]:
                assert not (isinstance(op, F.Block) and op.kind == "while_loop")
            assert not isinstance(op, F.Reshape) or op.dst != F.LANE
            seen.add(op.kind if isinstance(op, F.Block) else type(op).__name__)
            if isinstance(op, F.Block):
                seen.add(f"{op.kind}/{op.mode}" if op.mode else op.kind)
                inner = {**ctx, "vmap": ctx["vmap"] or op.kind in ("vmap", "pmap", "vmap_states"),
                         "lane": ctx["lane"] or op.kind == "vmap_states", "pmap": ctx["pmap"] or op.kind == "pmap",
                         "fixed": ctx["fixed"] or op.kind in loops,
                         "reverse": ctx["reverse"] or op.kind in ("grad", "jacrev", "hessian")}
                for b in (op.body, *op.other):
                    walk(b, inner)

    @settings(max_examples=300, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(G.programs())
    def check(prog: F.Program) -> None:
        walk(prog.body, dict.fromkeys(("vmap", "lane", "pmap", "fixed", "reverse"), False))

    check()
    modes = {f"{kind}/{mode}" for kind in F.AD.KINDS for mode in F.AD.MODES[kind]}
    assert seen == {*F.BLOCKS, *modes, "vmap_states/state", "vmap_states/dict", "vmap_states/in_out",
                    "vmap_states/vmap2",
                    "Update", "Draw", "Mix", "Count", "Scale", "Reshape"}


@pytest.mark.parametrize("field", ["output", "state", "key"])
def test_comparison_detects_a_difference(field: str) -> None:
    prog = HAND_WRITTEN["branches and jit"]
    outs, states = F.run_eager(prog)
    if field == "output":
        outs = [outs[0] + 1e-3, *outs[1:]]
    elif field == "state":
        states = {**states, "s0": states["s0"] * (1 + 1e-3)}
    else:
        states = {**states, "rng": states["rng"] + 1}
    with pytest.raises(AssertionError):
        assert_same(F.run_eager(prog), (outs, states), "perturbed")


def test_programs_are_printable() -> None:
    text = F.describe(HAND_WRITTEN["nested"].body)
    assert "grad(param=s0, lr=0.1, mode=states):" in text and "vmap(length=3):" in text
    assert "        Update(dst='s2', src='s0', fn='sin'" in text  # nested bodies are indented


# -- found while writing the eager interpreter (fixed) --------------------------------------------------
# An eager grad/vmap discovers states with an abstract run first; a function that branches on
# concrete values, which jax.grad and jax.vmap accept, must still work.
@pytest.mark.parametrize("transform", ["grad", "vmap"])
def test_eager_transformations_accept_python_control_flow_on_concrete_values(transform: str) -> None:
    w = brainstate.State(jnp.array([1.0, 2.0]))
    if transform == "grad":
        out = brainstate.transform.grad(lambda x: jnp.sum(w.value) * x if x > 0 else -x)(1.0)
        assert float(out) == 3.0
    else:
        out = brainstate.transform.vmap(lambda x: x * 2 if float(jnp.sum(w.value)) > 0 else -x)(jnp.ones(2))
        assert out.tolist() == [2.0, 2.0]


# -- found by the fuzzer, fixed: regression tests ------------------------------------------------------
# pmap writes back a lane-independent value once, as vmap does (docs/transforms.md). jax.pmap runs each
# lane as its own program, so brainstate tells lane-independent writes apart by their values.
def test_pmap_writes_a_state_that_does_not_depend_on_the_lane() -> None:
    count = brainstate.State(jnp.asarray(0.0))

    def step(x):
        count.value = count.value + 1.0
        return x * 2.0

    n = jax.local_device_count()
    out = brainstate.transform.pmap(step)(jnp.arange(float(n)))
    assert out.tolist() == [2.0 * i for i in range(n)] and float(count.value) == 1.0


# hessian with grad_states nests the blocks of a pytree-valued State as jax.hessian nests them.
@pytest.mark.parametrize("container", [dict, tuple])
def test_hessian_of_a_state_holding_a_pytree(container) -> None:
    value = {"b": jnp.asarray(0.5), "w": jnp.ones(2)}
    p = brainstate.ParamState(value if container is dict else (value["b"], value["w"]))

    def as_dict(v):
        return v if container is dict else {"b": v[0], "w": v[1]}

    def loss(v):
        d = as_dict(v)
        return d["b"] ** 2 * jnp.sum(d["w"])

    got = brainstate.transform.hessian(lambda: loss(p.value), grad_states=p)()
    want = jax.hessian(loss)(p.value)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b)
