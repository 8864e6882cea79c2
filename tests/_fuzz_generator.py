"""The Hypothesis strategy for the fuzzer's programs (the AST and its interpreters: ``_fuzz_programs.py``).

:func:`programs` draws only valid programs; :class:`Ctx` says what a body may do where it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import _fuzz_programs as F
from hypothesis import strategies as st

AD, LANE, LANE_SHAPE = F.AD, F.LANE, F.LANE_SHAPE
Block, Count, Draw, Mix, Program, Reshape, Scale, StateSpec, Update = (
    F.Block, F.Count, F.Draw, F.Mix, F.Program, F.Reshape, F.Scale, F.StateSpec, F.Update)


# -- the generator -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ctx:
    """Where a body is generated, and so what its ops may do."""

    names: tuple[str, ...]  # the float states (with LANE when the program has it)
    vmap: bool = False  # under vmap / pmap: no state may depend on the lane (no draws, no x in updates, no derivatives)
    reverse: bool = False  # reverse-differentiated: no while_loop
    fixed: bool = False  # in a loop, branch or derivative: states keep their shapes (no Reshape)
    lane: bool = False  # under vmap_states: LANE is per lane, no other state may read it
    pmap: bool = False  # under pmap: no nested pmap


@functools.cache  # building strategies is slow: build each once
def _leaf_ops(ctx: Ctx) -> st.SearchStrategy:
    names = ctx.names
    floats, sources, coef = st.sampled_from(names), st.sampled_from([*names, "n"]), st.sampled_from(F.COEFS)
    mix = st.builds(Mix, sources, coef)
    update = st.builds(Update, floats, sources, st.sampled_from(sorted(F.FNS)), coef, coef,
                       st.just(0.0) if ctx.vmap else coef)
    if ctx.lane:
        update = update.filter(lambda u: u.src != LANE or u.dst == LANE)
    leaves = [update, mix, st.just(Count()), st.just(Scale())]
    if not ctx.vmap:  # a draw under vmap differs per lane (each lane has its own key)
        leaves.append(st.builds(Draw, floats, st.sampled_from(["normal", "uniform"]), st.sampled_from([0.1, 0.5])))
    resizable = [name for name in names if name != LANE]
    if not ctx.fixed and resizable:
        leaves.append(st.builds(Reshape, st.sampled_from(resizable)))
    return st.one_of(leaves)


@functools.cache
def _bodies(ctx: Ctx, depth: int, max_size: int = 2) -> st.SearchStrategy:
    return st.lists(_ops(ctx, depth), min_size=1, max_size=max_size).map(tuple)


def _lane_block(body: st.SearchStrategy) -> st.SearchStrategy:
    def block(choice):
        axis, mode, body = choice
        return Block("vmap_states", body, LANE_SHAPE[axis], mode=mode if axis == 0 or mode != "state" else "dict", axis=axis)

    return st.tuples(st.sampled_from([0, 1]), st.sampled_from(["state", "dict", "in_out", "vmap2"]), body).map(block)


@functools.cache
def _ops(ctx: Ctx, depth: int) -> st.SearchStrategy:
    leaf = _leaf_ops(ctx)
    if depth == 0:
        return leaf
    d, length = depth - 1, st.integers(1, 3)
    body, fixed = _bodies(ctx, d), _bodies(replace(ctx, fixed=True), d)
    blocks = [
        st.builds(Block, st.just("jit"), body),
        st.builds(Block, st.just("checkpoint"), body),
        st.builds(Block, st.just("cond"), fixed, other=st.tuples(fixed)),
        st.builds(Block, st.just("switch"), fixed, other=st.lists(fixed, min_size=1, max_size=2).map(tuple)),
        st.builds(Block, st.just("for_loop"), fixed, length),
        st.builds(Block, st.just("scan"), fixed, length),
        st.builds(Block, st.just("fori_loop"), fixed, length),
        st.builds(Block, st.just("vmap"), _bodies(replace(ctx, vmap=True), d), length),
    ]
    if not ctx.reverse:  # jax cannot reverse-differentiate a while_loop
        blocks.append(st.builds(Block, st.just("while_loop"), fixed, length))
    if not ctx.pmap:
        blocks.append(st.builds(Block, st.just("pmap"), _bodies(replace(ctx, vmap=True, pmap=True), d)))
    if not ctx.vmap:  # a derivative under vmap is per lane: the state update would be batched
        for kind in AD.KINDS:
            inner = _bodies(replace(ctx, fixed=True, reverse=ctx.reverse or kind != "jacfwd"), d)
            modes = []
            for mode in AD.MODES[kind]:
                params = ctx.names
                if params:
                    modes.append(st.tuples(st.just(mode), st.sampled_from(params)))
            blocks.append(st.builds(lambda kind, body, choice, lr: Block(kind, body, param=choice[1], lr=lr, mode=choice[0]),
                                    st.just(kind), inner, st.one_of(modes), st.sampled_from([0.1, 0.5])))
        if LANE in ctx.names:
            blocks.append(_lane_block(_bodies(replace(ctx, vmap=True, lane=True), d)))
    return st.one_of(leaf, *blocks)


@st.composite
def programs(draw: st.DrawFn, max_depth: int = 2) -> Program:
    """Hypothesis strategy: a random valid :class:`Program`."""
    count = draw(st.integers(1, 3))
    specs = tuple(
        StateSpec(f"s{i}", draw(st.sampled_from(F.KINDS)), draw(st.sampled_from(sorted(F.SHAPES)))) for i in range(count)
    )
    lane_kind = draw(st.sampled_from(["", *F.KINDS]))
    names = tuple(s.name for s in specs) + ((LANE,) if lane_kind else ())
    body = draw(_bodies(Ctx(names), max_depth, max_size=3))
    # Mostly one compiled program: each transformation run eagerly at the top compiles on its own.
    top_jit = draw(st.sampled_from([True, True, False]))
    return Program(specs, body, draw(st.integers(0, 2**16)), draw(st.integers(1, 2)), top_jit, lane_kind)
