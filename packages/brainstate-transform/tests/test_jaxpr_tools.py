"""The jaxpr tools: building jaxprs from equations, the optimisation passes, code generation, drawing."""

import random
import sys
import types

import jax
import jax.extend.core as jc
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
from brainstate.transform import (
    algebraic_simplification,
    common_subexpression_elimination,
    constant_fold,
    copy_propagation,
    dead_code_elimination,
    draw,
    draw_dot_graph,
    eqns_to_closed_jaxpr,
    eqns_to_jaxpr,
    fn_to_python_code,
    inline_jit,
    jaxpr_to_python_code,
    optimize_jaxpr,
    register_prim_handler,
    view_pydot,
)

PASSES = {
    "constant_fold": constant_fold,
    "algebraic_simplification": algebraic_simplification,
    "copy_propagation": copy_propagation,
    "cse": common_subexpression_elimination,
    "dce": dead_code_elimination,
    "inline_jit": inline_jit,
    "optimize_jaxpr": optimize_jaxpr,
    "optimize_all_and_inline": lambda j: optimize_jaxpr(
        j, max_iterations=4, optimizations=["inline_jit", "constant_fold", "algebraic_simplification",
                                            "copy_propagation", "cse", "dce"]),
}
UNIFIED = jc.ClosedJaxpr is jc.Jaxpr  # JAX >= 0.12: one Jaxpr type, carrying its constants


def evaluate(j, *args, consts=()):
    if isinstance(j, jc.ClosedJaxpr):
        return jax.core.eval_jaxpr(j.jaxpr, j.consts, *args)
    return jax.core.eval_jaxpr(j, list(consts), *args)


def primitives(j):
    return [str(e.primitive) for e in j.eqns]


# --- random programs -------------------------------------------------------------------------------

UNARY = [jnp.sin, jnp.cos, jnp.tanh, jnp.negative, jnp.abs, jnp.square,
         lambda a: jnp.array(a, copy=True), lambda a: a.astype(a.dtype), lambda a: a * 1.0,
         lambda a: a - 0.0, lambda a: a + 0.0, lambda a: a / 1.0, lambda a: a * 0.0]
BINARY = [jnp.add, jnp.subtract, jnp.multiply, jnp.maximum, lambda a, b: a * b + a]


def random_program(seed):
    """A function of two f32[3] arrays built from a small vocabulary, with duplicates, dead code, constants
    (literals and closed-over arrays) and nested jits; and arguments to call it with."""
    rng = random.Random(seed)
    const = jnp.asarray(np.random.default_rng(seed).normal(size=3), dtype=jnp.float32)
    steps = []
    for _ in range(rng.randint(3, 14)):
        kind = rng.choice(["unary", "binary", "binary", "const", "dup", "jit"])
        steps.append((kind, rng.randrange(1 << 30), rng.choice(UNARY), rng.choice(BINARY)))
    n_out = rng.randint(1, 3)

    def f(x, y):
        pool = [x, y, jnp.float32(2.0) * x]
        for kind, pick, unary, binary in steps:
            a, b = pool[pick % len(pool)], pool[(pick // 7) % len(pool)]
            if kind == "unary":
                pool.append(unary(a))
            elif kind == "binary":
                pool.append(binary(a, b))
            elif kind == "const":
                pool.append(binary(a, jnp.sin(const) * 2.0))
            elif kind == "dup":
                pool.append(unary(a) + unary(a))
            else:
                pool.append(jax.jit(lambda u, v, f=unary, g=binary: g(f(u), v) + const)(a, b))
        return tuple(pool[-1 - k] for k in range(min(n_out, len(pool))))

    args = tuple(jnp.asarray(np.random.default_rng(seed + 1).normal(size=(2, 3)), dtype=jnp.float32))
    return f, args


@pytest.mark.parametrize("name", sorted(PASSES))
@pytest.mark.parametrize("seed", range(20))
def test_passes_preserve_results_of_random_programs(name, seed):
    f, args = random_program(seed)
    closed = jax.make_jaxpr(f)(*args)
    expected = evaluate(closed, *args)
    out = PASSES[name](closed)
    assert isinstance(out, jc.ClosedJaxpr)
    assert len(out.eqns) <= len(closed.eqns) or name in ("inline_jit", "optimize_all_and_inline")
    assert list(out.jaxpr.invars) == list(closed.jaxpr.invars)
    for got, want in zip(evaluate(out, *args), expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    if name.startswith("optimize"):  # the result also compiles
        again = jax.jit(jc.jaxpr_as_fun(out))(*args)
        for got, want in zip(again, expected, strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(UNIFIED, reason="JAX >= 0.12 has no open jaxpr with constants")
@pytest.mark.parametrize("name", sorted(PASSES))
@pytest.mark.parametrize("seed", range(0, 25, 3))
def test_passes_on_an_open_jaxpr_keep_its_constvars(name, seed):
    f, args = random_program(seed)
    closed = jax.make_jaxpr(f)(*args)
    out = PASSES[name](closed.jaxpr)
    assert not isinstance(out, jc.ClosedJaxpr)
    assert list(out.constvars) == list(closed.jaxpr.constvars)
    for got, want in zip(evaluate(out, *args, consts=closed.consts), evaluate(closed, *args), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_optimize_jaxpr_shrinks_random_programs():
    shrunk = 0
    for seed in range(25):
        f, args = random_program(seed)
        closed = jax.make_jaxpr(f)(*args)
        shrunk += len(optimize_jaxpr(closed).eqns) < len(closed.eqns)
    assert shrunk >= 20


# --- each pass does its job ------------------------------------------------------------------------

def test_cse_removes_a_duplicated_operation():
    closed = jax.make_jaxpr(lambda x, y: (jnp.sin(x) * y, jnp.sin(x) * y))(jnp.ones(3), jnp.ones(3))
    assert primitives(common_subexpression_elimination(closed)) == ["sin", "mul"]


def test_cse_merges_equal_literals_but_not_different_ones():
    closed = jax.make_jaxpr(lambda x: (x * 2.0, x * 2.0, x * 3.0))(jnp.float32(1.0))
    assert primitives(common_subexpression_elimination(closed)) == ["mul", "mul"]


@pytest.mark.parametrize("fn", [dead_code_elimination, common_subexpression_elimination, constant_fold])
def test_equations_with_effects_are_kept(fn, capsys):
    def f(x):
        jax.debug.print("seen {}", 1.0)
        jax.debug.print("seen {}", 1.0)
        return x

    closed = jax.make_jaxpr(f)(1.0)
    out = fn(closed)
    assert len([e for e in out.eqns if e.effects]) == 2
    jax.block_until_ready(jc.jaxpr_as_fun(out)(1.0))
    jax.effects_barrier()
    assert capsys.readouterr().out.count("seen") == 2


def test_dce_removes_unused_operations_and_constants():
    c = jnp.arange(3.0)

    def f(x):
        jnp.cos(x) * c
        return jnp.sin(x)

    closed = jax.make_jaxpr(f)(jnp.ones(3))
    out = dead_code_elimination(closed)
    assert primitives(out) == ["sin"]
    assert len(out.consts) == 0


def test_constant_fold_folds_a_constant_subexpression():
    closed = jax.make_jaxpr(lambda x: x + jnp.sin(jnp.float32(0.5)) * jnp.float32(2.0))(jnp.float32(1.0))
    out = constant_fold(closed)
    assert primitives(out) == ["add"]
    np.testing.assert_allclose(evaluate(out, jnp.float32(1.0))[0], 1.0 + np.sin(0.5) * 2.0, rtol=1e-6)


def test_constant_fold_turns_array_results_into_constants_and_leaves_broadcasts():
    c = jnp.arange(3.0)
    closed = jax.make_jaxpr(lambda x: (x + jnp.exp(c), jnp.zeros((50, 50)) + x))(jnp.float32(1.0))
    out = constant_fold(closed)
    assert "exp" not in primitives(out) and "broadcast_in_dim" in primitives(out)
    np.testing.assert_allclose(evaluate(out, jnp.float32(1.0))[0], 1.0 + np.exp(np.arange(3.0)), rtol=1e-6)


def test_copy_propagation_removes_copies_but_not_conversions():
    closed = jax.make_jaxpr(lambda x: (jnp.array(x, copy=True) + 1.0, x.astype(jnp.int32)))(jnp.ones(2))
    assert primitives(copy_propagation(closed)) == ["add", "convert_element_type"]


@pytest.mark.parametrize(("fn", "x", "kept"), [
    (lambda x: x * 1.0, 3.0, False),
    (lambda x: 1.0 * x, 3.0, False),
    (lambda x: x / 1.0, 3.0, False),
    (lambda x: x - 0.0, -0.0, False),
    (lambda x: x + 0.0, -0.0, True),  # -0.0 + 0.0 is +0.0
    (lambda x: x * 0.0, np.inf, True),  # inf * 0.0 is nan
    (lambda x: x * 0, 7, False),
    (lambda x: x + 0, 7, False),
    (lambda x: x - x, 7, False),
    (lambda x: x - x, np.inf, True),  # inf - inf is nan
])
def test_algebraic_simplification_applies_only_exact_identities(fn, x, kept):
    x = jnp.asarray(x, dtype=jnp.int32 if isinstance(x, int) else jnp.float32)
    closed = jax.make_jaxpr(fn)(x)
    out = algebraic_simplification(closed)
    assert (len(out.eqns) == len(closed.eqns)) == kept
    got, want = np.asarray(evaluate(out, x)[0]), np.asarray(fn(x))
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got) == np.signbit(want)


def test_algebraic_simplification_keeps_a_broadcasting_identity():
    closed = jax.make_jaxpr(lambda s, v: s * jnp.ones(3) * v)(jnp.float32(2.0), jnp.ones(3))
    out = algebraic_simplification(closed)
    assert evaluate(out, jnp.float32(2.0), jnp.ones(3))[0].shape == (3,)


def test_inline_jit_removes_nesting_at_every_depth():
    c = jnp.arange(3.0)
    inner = jax.jit(lambda x: jnp.sin(x) + c)
    middle = jax.jit(lambda x: inner(x) * inner(x + 1.0))
    closed = jax.make_jaxpr(lambda x: middle(x) - 1.0)(jnp.ones(3))
    out = inline_jit(closed)
    assert not {"jit", "pjit"} & set(primitives(out))
    np.testing.assert_allclose(evaluate(out, jnp.ones(3))[0], middle(jnp.ones(3)) - 1.0, rtol=1e-6)


def test_inline_jit_asks_the_predicate():
    small = jax.jit(lambda x: x + 1.0)
    big = jax.jit(lambda x: jnp.sin(jnp.cos(jnp.tanh(x))))
    closed = jax.make_jaxpr(lambda x: small(x) * big(x))(1.0)
    out = inline_jit(closed, lambda eqn: len(eqn.params["jaxpr"].eqns) <= 1)
    assert primitives(out).count("add") == 1 and len([p for p in primitives(out) if "jit" in p]) == 1


@pytest.mark.skipif(UNIFIED, reason="JAX >= 0.12 has no open jaxpr")
def test_inline_jit_keeps_a_jit_with_constants_in_an_open_jaxpr():
    c = jnp.arange(3.0)
    closed = jax.make_jaxpr(lambda x: jax.jit(lambda y: y * c)(x))(jnp.ones(3))
    assert len(closed.jaxpr.eqns[0].params["jaxpr"].consts) == 1
    assert primitives(inline_jit(closed.jaxpr)) == primitives(closed)
    assert primitives(inline_jit(closed)) == ["mul"]


def test_optimize_jaxpr_verbose_reports_counts(capsys):
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) + jnp.sin(x))(1.0)
    optimize_jaxpr(closed, optimizations="cse", verbose=True)
    assert "cse" in capsys.readouterr().out


# --- building jaxprs --------------------------------------------------------------------------------

def test_eqns_to_jaxpr_infers_inputs_and_outputs():
    closed = jax.make_jaxpr(lambda x, y: jnp.sin(x) * y + 1.0)(jnp.float32(1.0), jnp.float32(2.0))
    j = closed.jaxpr
    sub = eqns_to_jaxpr(j.eqns[1:])  # starts from sin's output, which becomes an input
    assert list(sub.invars) == [j.eqns[0].outvars[0], j.invars[1]]
    assert list(sub.outvars) == list(j.outvars)
    got = jax.core.eval_jaxpr(sub, [], jnp.float32(0.5), jnp.float32(2.0))
    np.testing.assert_allclose(got[0], 2.0, rtol=1e-6)


def test_eqns_to_closed_jaxpr_binds_constants():
    c = jnp.arange(3.0)
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) * c)(jnp.ones(3))
    j = closed.jaxpr
    again = eqns_to_closed_jaxpr(j.eqns, invars=j.invars, consts=closed.consts)
    assert list(again.jaxpr.constvars) == list(j.constvars)
    np.testing.assert_allclose(evaluate(again, jnp.ones(3))[0], np.sin(1.0) * np.arange(3.0), rtol=1e-6)


@pytest.mark.parametrize(("call", "message"), [
    (lambda j: eqns_to_jaxpr(j.eqns, invars=[1.0]), r"invars must hold jaxpr variables \(Var\), got float"),
    (lambda j: eqns_to_jaxpr(j.eqns, invars=[], constvars=[]), r"read 1 variable\(s\) that no equation produces"),
    (lambda j: eqns_to_closed_jaxpr(j.eqns, invars=[], consts=[1.0, 2.0]),
     r"got 2 constant value\(s\) for 1 constvar\(s\)"),
    (lambda j: optimize_jaxpr(j, optimizations=["cse", "fast"]), r"unknown optimisation\(s\) \['fast'\]"),
    (lambda j: optimize_jaxpr(j, max_iterations=0), r"max_iterations must be a positive integer, got 0"),
    (lambda j: dead_code_elimination(lambda x: x), r"dead_code_elimination expects a Jaxpr or ClosedJaxpr"),
    (lambda j: inline_jit("jaxpr"), r"inline_jit expects a Jaxpr or ClosedJaxpr .* got str"),
])
def test_misuse_raises_input_error(call, message):
    closed = jax.make_jaxpr(lambda x: jnp.sin(x))(1.0)
    with pytest.raises(brainstate.InputError, match=message):
        call(closed.jaxpr)


# --- Python code from jaxprs ----------------------------------------------------------------------------

def run_source(source, name, *args, **kwargs):
    namespace = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[name](*args, **kwargs)


def assert_same(got, want):
    got, want = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


X, Y = jnp.array([0.5, -1.0, 2.0]), jnp.array([3.0, 4.0, -5.0])
CODE_CASES = {
    "arithmetic": lambda x, y: (jnp.sin(x) * y + 1.0, x / y - x ** 3, jnp.maximum(x, y)),
    "constants": lambda x, y: x + jnp.array([1.0, -0.0, np.inf]) + jnp.arange(30.0).reshape(10, 3).sum(0),
    "cond": lambda x, y: jax.lax.cond(x.sum() > 0, lambda a: a * 2, lambda a: -a, y),
    "while": lambda x, y: jax.lax.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * x), (0, y)),
    "nested_jit": lambda x, y: jax.jit(lambda a: jax.jit(jnp.cos)(a) * 2)(x) + y,
    "custom_jvp": lambda x, y: jax.nn.relu(x) + jax.nn.softplus(y),
    "reductions": lambda x, y: (jnp.sum(x), jnp.max(y), jnp.argmax(x), jnp.cumsum(y), jnp.all(x > 0)),
    "shapes": lambda x, y: (jnp.concatenate([x, y]).reshape(2, 3).T, x[1:], jnp.where(x > 0, x, y), x @ y,
                            jnp.outer(x, y)[::-1], jnp.expand_dims(x, 0).squeeze(0)),
    "indexing": lambda x, y: (jax.lax.dynamic_slice(x, (1,), (2,)), jax.lax.dynamic_update_slice(x, y[:1], (2,)),
                              jnp.pad(x, 1), jnp.clip(x, 0, 1)),
    "dtypes": lambda x, y: ((x * 3).astype(jnp.int32) & 6, x.astype(jnp.bfloat16) * 2, jnp.round(y * 0.3),
                            (x.astype(jnp.int32) << 2) ^ 1, ~(x > 0)),
    "checkpoint": lambda x, y: jax.checkpoint(lambda a: jnp.sin(a) * a)(x) + y,
    "scan": lambda x, y: jax.lax.scan(lambda c, v: (c * 0.5 + v * x.sum(), (c, v * 2)), y, jnp.outer(x, y)),
    "scan_reverse_no_xs": lambda x, y: jax.lax.scan(lambda c, _: (jnp.tanh(c + x), c.sum()), y, None, length=4,
                                                    reverse=True),
}


@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_jaxpr_to_python_code_reproduces_the_function(case):
    f = CODE_CASES[case]
    source = jaxpr_to_python_code(jax.make_jaxpr(f)(X, Y), "generated")
    want = f(X, Y)
    assert_same(run_source(source, "generated", X, Y), want)
    assert_same(run_source(source, "generated", X, Y), want)  # twice: nothing is left over from a run


@pytest.mark.parametrize("seed", range(10))
def test_fn_to_python_code_reproduces_random_programs(seed):
    f, args = random_program(seed)
    source = fn_to_python_code(f, *args)
    got = run_source(source, "f", *args)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(f(*args)), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_fn_to_python_code_takes_pytree_arguments_like_the_function():
    def loss(params, x, *, scale):
        return jnp.sum(params["w"] * x + params["b"]) * scale

    params = {"w": jnp.ones(3), "b": jnp.zeros(3)}
    source = fn_to_python_code(loss, params, X, scale=2.0)
    np.testing.assert_allclose(run_source(source, "loss", params, X, scale=2.0), loss(params, X, scale=2.0))


def test_generated_names_are_identifiers():
    source = fn_to_python_code(lambda x: x + 1.0, X)
    assert "def generated_function(v0):" in source
    assert "def class_(" not in jaxpr_to_python_code(jax.make_jaxpr(jnp.sin)(X), "class")


def test_register_prim_handler_adds_a_rule():
    closed = jax.make_jaxpr(lambda x: jax.lax.top_k(x, 2))(X)
    with pytest.raises(brainstate.InputError, match=r"no rule for the primitive 'top_k'.*register_prim_handler"):
        jaxpr_to_python_code(closed)
    register_prim_handler("top_k", lambda eqn, args: f"lax.top_k({args[0]}, {eqn.params['k']})")
    assert_same(run_source(jaxpr_to_python_code(closed, "f"), "f", X), jax.lax.top_k(X, 2))


def test_register_prim_handler_checks_the_handler():
    with pytest.raises(brainstate.InputError, match=r"handler for 'sin' must be callable, got str"):
        register_prim_handler("sin", "jnp.sin")


@pytest.mark.skipif(UNIFIED, reason="JAX >= 0.12 has no open jaxpr with constants")
def test_jaxpr_to_python_code_refuses_unbound_constants():
    c = jnp.asarray(np.random.default_rng(0).normal(size=3), dtype=jnp.float32)
    closed = jax.make_jaxpr(lambda x: x * c)(X)
    with pytest.raises(brainstate.InputError, match=r"open Jaxpr with 1 constvar\(s\).*pass the ClosedJaxpr"):
        jaxpr_to_python_code(closed.jaxpr)


# --- drawing ----------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's parser on new pyparsing
@pytest.mark.parametrize(("collapse", "clusters", "boxes", "edges"), [(True, 0, 2, 4), (False, 1, 3, 6)])
def test_draw_builds_a_graph_of_the_computation(collapse, clusters, boxes, edges):
    pydot = pytest.importorskip("pydot")
    inner = jax.jit(lambda x: jnp.sin(x) - 1.0)
    graph = draw(lambda x, y: inner(x * y), collapse_primitives=collapse)(X, Y)
    parsed = pydot.graph_from_dot_data(graph.to_string())[0]  # valid DOT
    assert len(parsed.get_subgraph_list()) == clusters
    nodes = graph.get_nodes() + [n for c in graph.get_subgraph_list() for n in c.get_nodes()]
    labels = [n.get_label() for n in nodes]
    assert sum(n.get("shape") == "box" for n in nodes) == boxes
    assert '"in0\\nf32[3]"' in labels and '"out0"' in labels
    assert len(graph.get_edges()) + sum(len(c.get_edges()) for c in graph.get_subgraph_list()) == edges


def test_draw_dot_graph_without_avals():
    pytest.importorskip("pydot")
    graph = draw_dot_graph(jax.make_jaxpr(lambda x: (x, jnp.cos(x)))(X), show_avals=False)
    assert [n.get_label() for n in graph.get_nodes()] == ['"in0"', '"cos"', '"out0"', '"out1"']


MISSING = r"needs pydot, which is not installed\. Fix: `pip install 'brainstate-transform\[graph\]'`"


@pytest.mark.parametrize("call", [lambda: draw(jnp.sin), lambda: draw_dot_graph(jax.make_jaxpr(jnp.sin)(X))])
def test_drawing_without_pydot_names_the_extra(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "pydot", None)  # import pydot now raises ImportError
    with pytest.raises(brainstate.BrainStateError, match=MISSING) as info:
        call()
    assert isinstance(info.value, ImportError)


class _Graph:
    def __init__(self, error=None):
        self.error = error

    def create_png(self):
        if self.error:
            raise self.error
        return b"png"


def _fake_ipython(monkeypatch, shown):
    display = types.ModuleType("IPython.display")
    display.Image = lambda data: ("image", data)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)


def test_view_pydot_shows_the_png(monkeypatch):
    shown = []
    _fake_ipython(monkeypatch, shown)
    view_pydot(_Graph())
    assert shown == [("image", b"png")]


def test_view_pydot_names_what_is_missing(monkeypatch):
    _fake_ipython(monkeypatch, [])
    with pytest.raises(brainstate.BrainStateError, match=r"needs the Graphviz `dot` program.*graphviz"):
        view_pydot(_Graph(FileNotFoundError("dot")))
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    with pytest.raises(brainstate.BrainStateError, match=r"needs IPython\. Fix: `pip install ipython`"):
        view_pydot(_Graph())
