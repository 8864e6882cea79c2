"""Upstream brainstate's call forms of the transformations, pinned against plain JAX references."""

import inspect

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T


def _close(a, b):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), a, b)


# -- vjp / jvp: the forms of jax.vjp / jax.jvp ----------------------------------------------------
def test_vjp_without_states_is_jax_vjp():
    f = lambda x, y: jnp.sin(x) * y  # noqa: E731
    x, y = jnp.array([0.3, 1.2]), jnp.array([2.0, -1.0])
    value, pullback = T.vjp(f, x, y)
    ref_value, ref_pullback = jax.vjp(f, x, y)
    _close(value, ref_value)
    _close(pullback(jnp.ones(2)), ref_pullback(jnp.ones(2))[0])  # argnums=0: unwrapped
    _, pullback = T.vjp(f, x, y, argnums=(0, 1))
    _close(pullback(jnp.ones(2)), ref_pullback(jnp.ones(2)))
    _, pullback = T.vjp(f, x, y, argnums=-1)
    _close(pullback(jnp.ones(2)), ref_pullback(jnp.ones(2))[1])


@pytest.mark.parametrize("container", ["state", "list", "dict"])
def test_vjp_with_grad_states_mirrors_their_structure(container):
    w = bc.ParamState(jnp.array([1.0, 2.0]))
    b = bc.ParamState(jnp.array(0.5))
    grad_states = {"state": w, "list": [w, b], "dict": {"w": w, "b": b}}[container]
    f = lambda x: jnp.sum(jnp.tanh(w.value * x) + b.value)  # noqa: E731
    pure = lambda wv, bv, x: jnp.sum(jnp.tanh(wv * x) + bv)  # noqa: E731
    x = jnp.array([0.4, -0.7])
    gw, gb, gx = jax.grad(pure, argnums=(0, 1, 2))(w.value, b.value, x)
    expected = {"state": gw, "list": [gw, gb], "dict": {"w": gw, "b": gb}}[container]

    value, pullback = T.vjp(f, x, grad_states=grad_states)
    _close(value, pure(w.value, b.value, x))
    state_ct, arg_ct = pullback(1.0)
    _close(state_ct, expected)
    _close(arg_ct, gx)
    _, pullback = T.vjp(f, x, grad_states=grad_states, argnums=None)
    _close(pullback(1.0), expected)
    _, pullback = T.vjp(lambda: f(x), grad_states=grad_states)  # no primals: the states only
    _close(pullback(1.0), expected)


def test_vjp_has_aux_and_writes_persist():
    n = bc.State(jnp.array(0.0))

    def f(x):
        n.value = n.value + 1
        return jnp.sum(x ** 2), {"mean": jnp.mean(x)}

    value, pullback, aux = T.vjp(f, jnp.array([1.0, 2.0]), has_aux=True)
    assert float(value) == 5.0 and float(aux["mean"]) == 1.5
    _close(pullback(1.0), [2.0, 4.0])
    assert float(n.value) == 1.0


def test_vjp_misuse_is_reported():
    w = bc.ParamState(jnp.array(1.0))
    unused = bc.ParamState(jnp.array(1.0))
    with pytest.raises(bc.InputError, match="nothing to differentiate"):
        T.vjp(lambda: w.value)
    with pytest.raises(bc.InputError, match="out of range"):
        T.vjp(lambda x: x, 1.0, argnums=1)
    with pytest.raises(bc.InputError, match="same argument twice"):
        T.vjp(lambda x, y: x * y, 1.0, 2.0, argnums=(0, -2))
    with pytest.raises(bc.StateUsageError, match="never used"):
        T.vjp(lambda x: w.value * x, 1.0, grad_states=[w, unused])


def test_jvp_is_jax_jvp_and_grad_states_get_tangents():
    w = bc.ParamState(jnp.array(2.0))
    f = lambda x: jnp.sin(w.value * x)  # noqa: E731
    value, tangent = T.jvp(f, (0.3,), (1.0,))
    ref = jax.jvp(lambda x: jnp.sin(2.0 * x), (0.3,), (1.0,))
    _close((value, tangent), ref)
    value, tangent = T.jvp(f, [0.3], [1.0], grad_states=w, state_tangents=0.5)
    _close(tangent, jax.jvp(lambda wv, x: jnp.sin(wv * x), (2.0, 0.3), (0.5, 1.0))[1])
    value, tangent, aux = T.jvp(lambda x: (x * 3, "aux"), (1.0,), (1.0,), has_aux=True)
    assert (float(value), float(tangent), aux) == (3.0, 3.0, "aux")
    with pytest.raises(TypeError, match="primals must be a tuple or list"):
        T.jvp(f, 0.3, (1.0,))


# -- the grad family: upstream's positional order -------------------------------------------------
UPSTREAM_ORDER = {
    "grad": ["fun", "grad_states", "argnums", "holomorphic", "allow_int", "has_aux", "return_value", "unit_aware",
             "check_states"],
    "vector_grad": ["fun", "grad_states", "argnums", "return_value", "has_aux", "unit_aware", "check_states"],
    "jacrev": ["fun", "grad_states", "argnums", "has_aux", "return_value", "holomorphic", "allow_int", "unit_aware",
               "check_states"],
    "jacfwd": ["fun", "grad_states", "argnums", "has_aux", "return_value", "holomorphic", "unit_aware",
               "check_states"],
    "hessian": ["fun", "grad_states", "argnums", "return_value", "holomorphic", "has_aux", "unit_aware",
                "check_states"],
    "fwd_grad": ["fun", "grad_states", "argnums", "return_value", "has_aux", "tangent_size", "drct_der_clip", "key"],
}


@pytest.mark.parametrize("name", UPSTREAM_ORDER)
def test_grad_family_signatures_follow_upstream_order(name):
    params = [p for p in inspect.signature(getattr(T, name)).parameters.values() if p.kind is not p.VAR_KEYWORD]
    assert [p.name for p in params] == UPSTREAM_ORDER[name]


def _positional(name, fun, **given):
    order = UPSTREAM_ORDER[name][1:]
    last = max(order.index(k) for k in given)
    defaults = {"grad_states": None, "argnums": None, "has_aux": False, "return_value": False, "holomorphic": False,
                "allow_int": False, "unit_aware": False, "check_states": True}
    return getattr(T, name)(fun, *[given.get(k, defaults[k]) for k in order[:last + 1]])


@pytest.mark.parametrize("name,ref", [("grad", jax.grad), ("vector_grad", jax.grad), ("jacrev", jax.jacrev),
                                      ("jacfwd", jax.jacfwd), ("hessian", jax.hessian)])
def test_grad_family_positional_has_aux_and_return_value(name, ref):
    w = bc.ParamState(jnp.array([0.5, -1.0]))
    loss = lambda x: jnp.sum(jnp.sin(w.value * x) ** 2)  # noqa: E731
    pure = lambda wv, x: jnp.sum(jnp.sin(wv * x) ** 2)  # noqa: E731
    x = jnp.array([1.0, 2.0])
    expected = ref(pure)(w.value, x)
    grads, aux = _positional(name, lambda x: (loss(x), x * 7), grad_states=w, has_aux=True)(x)
    _close(grads, expected)
    _close(aux, x * 7)
    grads, value = _positional(name, loss, grad_states=w, return_value=True)(x)
    _close((grads, value), (expected, pure(w.value, x)))
    grads = getattr(T, name)(loss, w, has_aux=None)(x)  # upstream's default has_aux=None means False
    _close(grads, expected)


def test_grad_family_positional_misuse():
    with pytest.raises(TypeError, match="multiple values for argument 'argnums'"):
        T.grad(lambda x: x, None, 0, argnums=0)
    with pytest.raises(TypeError, match="at most 9 positional arguments"):
        T.grad(lambda x: x, *([None] * 10))
    T.grad(lambda x: x, unit_aware=False)


@pytest.mark.parametrize("name", ["grad", "vector_grad", "jacrev", "jacfwd"])
def test_unit_aware_derivatives_carry_units(name):
    u = pytest.importorskip("brainunit")
    w = bc.ParamState(jnp.array([1.0, 2.0]) * u.mV)
    elementwise = name in ("vector_grad", "jacrev", "jacfwd")

    def loss():
        return w.value ** 2 if elementwise else u.math.sum(w.value ** 2)
    got = getattr(T, name)(loss, w, unit_aware=True)()
    assert u.get_unit(got) == u.mV
    with pytest.raises(bc.ConfigError, match=r"hessian\(unit_aware=True\) is not supported yet"):
        T.hessian(loss, w, unit_aware=True)()


def test_unit_aware_needs_brainunit(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_brainunit(name, *args, **kwargs):
        if name.startswith("brainunit"):
            raise ImportError("no brainunit")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_brainunit)
    with pytest.raises(ImportError, match=r"unit_aware=True\) needs brainunit.*pip install brainunit"):
        T.grad(lambda x: x, unit_aware=True)


def test_grad_states_dict_of_states_and_dict_of_arrays():
    a, b = bc.ParamState(jnp.array(2.0)), bc.ParamState(jnp.array([1.0, 3.0]))
    g = T.grad(lambda: a.value * jnp.sum(b.value), {"a": a, "b": b})()
    _close(g, {"a": 4.0, "b": [2.0, 2.0]})
    with pytest.raises(bc.StateUsageError, match=r"grad_states must hold only State objects.*\['a'\]"):
        T.grad(lambda: a.value, {"a": a.value})


# -- checkpointed loops: base ---------------------------------------------------------------------
def _body(w, counter):
    def body(c, x):
        counter.value = counter.value + 1
        c = jnp.tanh(c * w.value + x)
        return c, c * x

    return body


def _reference(wv, xs):
    return jax.lax.scan(lambda c, x: (jnp.tanh(c * wv + x), jnp.tanh(c * wv + x) * x), 0.1, xs)


@pytest.mark.parametrize("n", [1, 5, 16, 17, 37])
@pytest.mark.parametrize("base", [2, 3, 16])
def test_checkpointed_scan_with_base_equals_scan_values_and_gradients(n, base):
    w, counter = bc.ParamState(jnp.array(0.8)), bc.State(jnp.array(0))
    xs = jnp.linspace(-1.0, 1.0, n)
    carry, ys = T.checkpointed_scan(_body(w, counter), 0.1, xs, None, base)  # upstream's positions
    _close((carry, ys), _reference(w.value, xs))
    assert int(counter.value) == n  # every step ran once: no padding steps

    def loss():
        c, y = T.checkpointed_scan(_body(w, counter), 0.1, xs, base=base)
        return c + jnp.sum(y)

    expected = jax.grad(lambda wv: (lambda c, y: c + jnp.sum(y))(*_reference(wv, xs)))(w.value)
    _close(T.grad(loss, grad_states=w)(), expected)


def test_checkpointed_loops_nest_checkpoints_only_beyond_one_block():
    w, counter = bc.ParamState(jnp.array(0.8)), bc.State(jnp.array(0))

    def subjaxprs(params):  # jax.extend.core.jaxprs_in_params, which jax 0.8 lacks
        for v in params.values():
            for item in v if isinstance(v, (tuple, list)) else (v,):
                if isinstance(item, jax.extend.core.ClosedJaxpr):
                    yield item.jaxpr
                elif isinstance(item, jax.extend.core.Jaxpr):
                    yield item

    def primitives(jaxpr):
        for eqn in jaxpr.eqns:
            yield eqn.primitive.name
            for sub in subjaxprs(eqn.params):
                yield from primitives(sub)

    for n, base, nested in [(8, 8, False), (9, 8, True), (9, 2, True)]:
        jaxpr, _ = T.make_jaxpr(lambda xs, b=base: T.checkpointed_scan(_body(w, counter), 0.1, xs, base=b))(jnp.ones(n))
        assert any("remat" in p or "checkpoint" in p for p in primitives(jaxpr.jaxpr)) == nested


def test_checkpointed_for_loop_base_and_reverse():
    xs = jnp.arange(11.0)
    _close(T.checkpointed_for_loop(lambda x: x ** 2, xs, base=3), xs ** 2)
    acc = bc.State(jnp.array(0.0))

    def body(c, x):
        acc.value = acc.value * 0.5 + x
        return c, acc.value

    _, ys = T.checkpointed_scan(body, None, xs, base=2, reverse=True)
    acc.value = jnp.array(0.0)
    _close(ys, T.scan(body, None, xs, reverse=True)[1])


@pytest.mark.parametrize("base", [1, 2.0, True])
def test_checkpointed_loop_base_is_checked(base):
    with pytest.raises(bc.ConfigError, match="base must be an int >= 2"):
        T.checkpointed_scan(lambda c, x: (c, x), 0, jnp.ones(3), base=base)


# -- make_jaxpr: upstream's arrangement of inputs and outputs -------------------------------------
def _two_states():
    read = bc.ParamState(jnp.array([1.0, 2.0]))
    written = bc.State({"a": jnp.array(0.0), "b": jnp.zeros(3)})

    def f(x, n, *, scale):
        v = written.value
        written.value = {"a": v["a"] + x, "b": v["b"] + jnp.sum(read.value) * scale}
        return x * n * scale

    return read, written, f


def test_make_jaxpr_inputs_are_args_kwargs_then_states_and_outputs_are_out_then_states():
    read, written, f = _two_states()
    jaxpr, states = T.make_jaxpr(f, static_argnums=1)(2.0, 3, scale=0.5)
    assert states == (written, read)  # order of first access
    assert len(jaxpr.jaxpr.invars) == 1 + 1 + 2 + 1  # x, scale, written's two leaves, read
    assert len(jaxpr.jaxpr.outvars) == 1 + 2 + 1  # out, then every touched state
    flat = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 2.0, 0.5, 1.0, jnp.ones(3), jnp.array([1.0, 2.0]))
    _close(flat, [3.0, 3.0, jnp.full(3, 2.5), [1.0, 2.0]])
    assert float(written.value["a"]) == 0.0  # nothing changed


def test_make_jaxpr_return_only_write_and_return_shape():
    read, written, f = _two_states()
    jaxpr, states, shapes = T.make_jaxpr(f, static_argnums=1, return_shape=True, return_only_write=True)(
        2.0, 3, scale=0.5)
    assert len(jaxpr.jaxpr.outvars) == 1 + 2
    assert (shapes.shape, shapes.dtype) == ((), jnp.float32)  # weak_type differs between jax versions
    sf = T.StatefulFunction(f, static_argnums=1)  # return_only_write=True, as upstream
    assert len(sf.make_jaxpr(2.0, 3, scale=0.5)[0].jaxpr.outvars) == 3
    sf = T.StatefulFunction(f, static_argnums=1, return_only_write=False, name="step")
    assert len(sf.get_jaxpr(2.0, 3, scale=0.5).jaxpr.outvars) == 4
    assert "name='step'" in repr(sf)


def test_make_jaxpr_axis_env_and_ir_optimizations():
    jaxpr, _ = T.make_jaxpr(lambda x: jax.lax.psum(x, "i"), axis_env=[("i", 4)])(1.0)
    assert "psum" in str(jaxpr)

    def wasteful(x):
        _ = jnp.sin(x) * 7.0  # dead
        return x + 1.0

    plain = T.StatefulFunction(wasteful).get_jaxpr(1.0)
    optimised = T.StatefulFunction(wasteful, ir_optimizations="dce").get_jaxpr(1.0)
    assert len(optimised.jaxpr.eqns) < len(plain.jaxpr.eqns)


# -- cond / switch / ifelse under disable_jit -----------------------------------------------------
@pytest.mark.parametrize("how", ["cond", "switch", "ifelse"])
def test_branches_under_disable_jit_run_only_the_taken_one(how):
    taken, untaken = bc.State(jnp.array(0.0)), bc.State(jnp.array(0.0))
    calls = []

    def good(x):
        calls.append("good")
        taken.value = taken.value + x
        return x * 2

    def bad(x):
        calls.append("bad")
        untaken.value = untaken.value + 100.0
        return x * 3

    run = {"cond": lambda: T.cond(True, good, bad, 1.0),
           "switch": lambda: T.switch(1, [bad, good, bad], 1.0),
           "ifelse": lambda: T.ifelse([False, True], [bad, good, bad], 1.0)}[how]
    with jax.disable_jit():
        out = run()
    assert float(out) == 2.0 and calls == ["good"]
    assert (float(taken.value), float(untaken.value)) == (1.0, 0.0)
    calls.clear()
    out = run()  # compiled: every branch is traced, only the taken one's effect lands
    assert float(out) == 2.0 and set(calls) == {"good", "bad"}
    assert (float(taken.value), float(untaken.value)) == (2.0, 0.0)


# -- eval_shape(return_state_shapes=True) ---------------------------------------------------------
def test_eval_shape_return_state_shapes():
    read, written, f = _two_states()
    shapes, out = T.eval_shape(f, 2.0, 3, scale=0.5, return_state_shapes=True)
    assert out == jax.ShapeDtypeStruct((), jnp.float32, weak_type=True)
    assert set(shapes) == {read, written}
    assert shapes[read] == jax.ShapeDtypeStruct((2,), jnp.float32)
    assert shapes[written]["b"] == jax.ShapeDtypeStruct((3,), jnp.float32)


# -- unknown keywords -----------------------------------------------------------------------------
def _br():
    return 0.0


UNKNOWN = {
    "cond": lambda: T.cond(True, _br, _br, bogus=1),
    "switch": lambda: T.switch(0, [_br], bogus=1),
    "ifelse": lambda: T.ifelse([True], [_br], bogus=1),
    "scan": lambda: T.scan(lambda c, x: (c, x), 0, jnp.ones(2), bogus=1),
    "checkpointed_scan": lambda: T.checkpointed_scan(lambda c, x: (c, x), 0, jnp.ones(2), bogus=1),
    "for_loop": lambda: T.for_loop(lambda x: x, jnp.ones(2), bogus=1),
    "checkpointed_for_loop": lambda: T.checkpointed_for_loop(lambda x: x, jnp.ones(2), bogus=1),
    "while_loop": lambda: T.while_loop(lambda x: x < 1, lambda x: x + 1, 0, bogus=1),
    "fori_loop": lambda: T.fori_loop(0, 2, lambda i, x: x, 0, bogus=1),
    "bounded_while_loop": lambda: T.bounded_while_loop(lambda x: x < 1, lambda x: x + 1, 0, max_steps=2, bogus=1),
    "checkpoint": lambda: T.checkpoint(_br, bogus=1),
    "remat": lambda: T.remat(bogus=1),
    "make_jaxpr": lambda: T.make_jaxpr(_br, bogus=1),
    "StatefulFunction": lambda: T.StatefulFunction(_br, bogus=1),
    "grad": lambda: T.grad(_br, bogus=1),
    "jit": lambda: T.jit(_br, bogus=1),
}


@pytest.mark.parametrize("name", UNKNOWN)
def test_unknown_keywords_are_errors_that_name_them_and_list_the_options(name):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'bogus'; (its other options are \w|it takes no)"):
        UNKNOWN[name]()


def test_unknown_keyword_message_lists_the_real_options():
    with pytest.raises(TypeError, match=r"scan\(\) got .* 'bogus'; its other options are xs, length, reverse, unroll, "
                                        r"pbar\.(\n|$)"):
        UNKNOWN["scan"]()
    with pytest.raises(TypeError, match=r"cond\(\) got .* 'bogus'; it takes no other options\.(\n|$)"):
        UNKNOWN["cond"]()
    with pytest.raises(TypeError, match=r"StatefulFunction\(\) got .*'bogus'; its other options are static_argnums, "
                                        r"static_argnames, axis_env, name, return_only_write, ir_optimizations\.(\n|$)"):
        UNKNOWN["StatefulFunction"]()
