"""brainstate.interop: conversions to and from Flax NNX, Flax Linen and Equinox.

Every layer is checked by output against the framework's own layer (both directions), every
conversion by a round trip of the weights, and training by comparison with the same SGD run done
natively in the other framework. Tests of a framework are skipped when it is not installed.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T
from brainstate_nn.interop import _registry

interop = brainstate.interop
X_SEED = 0


@pytest.fixture
def nnx():
    return pytest.importorskip("flax.nnx")


@pytest.fixture
def linen():
    return pytest.importorskip("flax.linen")


@pytest.fixture
def eqx():
    return pytest.importorskip("equinox")


@pytest.fixture
def restore_registry():
    """Undo the mappings a test registers."""
    saved = {name: {fw: dict(t) for fw, t in getattr(_registry, name).items()}
             for name in ("_IMPORT", "_EXPORT", "_NO_IMPORT", "_NO_EXPORT")}
    yield
    for name, tables in saved.items():
        table = getattr(_registry, name)
        table.clear()
        table.update(tables)


def rand(*shape, seed=X_SEED):
    # NumPy draws: jax.random would compile a sampler for every shape
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def fill(tree, seed=3):
    """Every float leaf (array or ShapeDtypeStruct) replaced by random values; variances stay positive."""
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        if not (hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating)):
            return leaf
        positive = "var" in jax.tree_util.keystr(path)
        values = rng.uniform(0.5, 1.5, leaf.shape) if positive else rng.normal(0.3, 0.6, leaf.shape)
        return jnp.asarray(values, leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, tree)


def new_nnx(nnx, factory, seed=3):
    """An nnx model with random weights, built without running its initialisers (faster)."""
    graphdef, state = nnx.split(nnx.eval_shape(lambda: factory(nnx.Rngs(0))))
    return nnx.merge(graphdef, fill(state, seed))


def new_eqx(eqx, factory, seed=5):
    return fill(eqx.filter_eval_shape(factory), seed)


def new_linen(module, x, seed=3):
    return fill(jax.eval_shape(module.init, jax.random.key(0), x), seed)


def lin(n_in, n_out, seed=0):
    """A brainstate Linear with NumPy-drawn weights (random initialisers would compile a sampler per shape)."""
    return nn.Linear(n_in, n_out, w_init=0.5 * rand(n_in, n_out, seed=seed), b_init=0.1 * rand(n_out, seed=seed + 1))


ZERO = nn.init.ZeroInit()


def run(fn, *args):
    """``fn(*args)`` compiled as one program (eager calls would compile every primitive separately)."""
    return jax.jit(lambda *a: fn(*a))(*args)


def close(a, b, atol=1e-4):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=atol)


def same_states(a, b, exact=True):
    """Two brainstate models hold equal ParamState values (bit for bit, or to float tolerance), path by path."""
    sa, sb = a.states(bc.ParamState), b.states(bc.ParamState)
    assert list(sa) == list(sb)
    for path in sa:
        assert jax.tree.structure(sa[path].value) == jax.tree.structure(sb[path].value), path
        for x, y in zip(jax.tree.leaves(sa[path].value), jax.tree.leaves(sb[path].value)):
            assert x.dtype == y.dtype, path
            if exact:
                assert np.array_equal(np.asarray(x), np.asarray(y)), path
            else:
                np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6, err_msg=str(path))


def in_eval(fn, *args):
    with bc.environ.context(fit=False):
        return run(fn, *args)


# -- layers, Flax NNX ----------------------------------------------------------------------------

NNX_LAYERS = {
    "linear": (lambda nnx, r: nnx.Linear(3, 4, rngs=r), (5, 3), None),
    "linear_nobias": (lambda nnx, r: nnx.Linear(3, 4, use_bias=False, rngs=r), (5, 3), None),
    "layernorm": (lambda nnx, r: nnx.LayerNorm(4, epsilon=1e-3, rngs=r), (5, 4), None),
    "layernorm_scale_only": (lambda nnx, r: nnx.LayerNorm(4, use_bias=False, rngs=r), (5, 4), None),
    "layernorm_no_affine": (lambda nnx, r: nnx.LayerNorm(4, use_bias=False, use_scale=False, rngs=r), (5, 4), None),
    "rmsnorm": (lambda nnx, r: nnx.RMSNorm(4, rngs=r), (5, 4), None),
    "groupnorm": (lambda nnx, r: nnx.GroupNorm(6, num_groups=3, rngs=r), (5, 6), None),
    "groupnorm_spatial": (lambda nnx, r: nnx.GroupNorm(6, num_groups=2, rngs=r), (2, 4, 4, 6), (4, 4, 6)),
    "conv1d": (lambda nnx, r: nnx.Conv(3, 4, 3, rngs=r), (2, 9, 3), (9, 3)),
    "conv2d": (lambda nnx, r: nnx.Conv(4, 6, (3, 2), strides=2, padding="VALID", feature_group_count=2, rngs=r),
               (2, 8, 7, 4), (8, 7, 4)),
    "conv2d_dilated": (lambda nnx, r: nnx.Conv(2, 3, (3, 3), kernel_dilation=2, padding=((1, 2), (0, 1)), rngs=r),
                       (2, 8, 8, 2), (8, 8, 2)),
    "conv3d_nobias": (lambda nnx, r: nnx.Conv(2, 2, (2, 2, 2), use_bias=False, rngs=r), (1, 4, 4, 4, 2),
                      (4, 4, 4, 2)),
}


@pytest.mark.parametrize("case", list(NNX_LAYERS))
def test_nnx_layer_both_directions(nnx, case):
    make, x_shape, sample = NNX_LAYERS[case]
    src = new_nnx(nnx, lambda r: make(nnx, r))
    x = rand(*x_shape)
    expected = run(src, x)
    layer = interop.from_nnx(src, sample_input=sample)
    close(run(layer, x), expected)
    back = interop.to_nnx(layer)
    assert type(back) is type(src)
    close(run(back, x), expected)
    for a, b in zip(jax.tree.leaves(nnx.state(back, nnx.Param)), jax.tree.leaves(nnx.state(src, nnx.Param))):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    same_states(interop.from_nnx(back, sample_input=sample), layer)


def test_nnx_embedding(nnx):
    src = new_nnx(nnx, lambda r: nnx.Embed(10, 4, rngs=r))
    ids = jnp.array([[1, 2, 9], [0, 0, 3]])
    layer = interop.from_nnx(src)
    assert isinstance(layer, nn.Embedding)
    close(layer(ids), src(ids))
    close(interop.to_nnx(layer)(ids), src(ids))


def test_nnx_batchnorm_eval_and_train(nnx):
    src = new_nnx(nnx, lambda r: nnx.BatchNorm(3, momentum=0.9, rngs=r))
    x = rand(6, 4, 3)
    layer = interop.from_nnx(src, sample_input=(4, 3))
    assert isinstance(layer, nn.BatchNorm1d)
    src.use_running_average = True
    close(in_eval(layer, x), run(src, x))
    src.use_running_average = False
    with bc.environ.context(fit=True):
        y = T.jit(layer)(x)
    close(y, nnx.jit(lambda m, v: m(v))(src, x))
    close(layer.running_mean.value, src.mean[...])  # the running statistics moved the same way
    close(layer.running_var.value, src.var[...])
    back = interop.to_nnx(layer)
    assert back.use_running_average is True
    close(run(back, x), in_eval(layer, x))


def test_nnx_bias_only_batchnorm_keeps_one_parameter(nnx):
    src = new_nnx(nnx, lambda r: nnx.BatchNorm(3, use_scale=False, use_running_average=True, rngs=r))
    layer = interop.from_nnx(src, sample_input=(3,))
    assert sorted(layer.weight.value) == ["bias"]
    close(in_eval(layer, rand(4, 3)), run(src, rand(4, 3)))
    assert interop.to_nnx(layer).scale is None


def test_nnx_dropout_rate_and_modes(nnx):
    layer = interop.from_nnx(nnx.Dropout(0.25, rngs=nnx.Rngs(0)))
    assert isinstance(layer, nn.Dropout) and layer.prob == pytest.approx(0.75)
    back = interop.to_nnx(nn.Dropout(0.9))
    assert back.rate == pytest.approx(0.1) and back.deterministic is True
    x = jnp.ones(100)
    close(back(x), x)
    back.train()
    y = np.asarray(back(x))
    assert np.all(np.isclose(y, 0.0) | np.isclose(y, 1 / 0.9)) and 0 < np.count_nonzero(y) < 100


def test_nnx_lstm_step(nnx):
    src = new_nnx(nnx, lambda r: nnx.LSTMCell(3, 4, rngs=r))
    x, h0, c0 = rand(2, 3), rand(2, 4, seed=1), rand(2, 4, seed=2)
    (c1, h1), _ = run(src, (c0, h0), x)
    cell = nn.init_all_states(interop.from_nnx(src), batch_size=2)
    cell.h.value, cell.c.value = h0, c0
    close(T.jit(cell)(x), h1)
    close(cell.c.value, c1)
    (c2, h2), _ = run(interop.to_nnx(cell), (c0, h0), x)
    close(h2, h1)
    close(c2, c1)


def test_nnx_sequential_keeps_functions_and_tracks_shapes(nnx):
    def flatten(y):
        return y.reshape(y.shape[0], -1)

    src = new_nnx(nnx, lambda r: nnx.Sequential(nnx.Conv(2, 3, (3, 3), rngs=r), nnx.relu,
                                                nnx.GroupNorm(3, num_groups=3, rngs=r), flatten,
                                                nnx.Linear(48, 5, rngs=r), nnx.LayerNorm(5, rngs=r)))
    net = interop.from_nnx(src, sample_input=jnp.zeros((4, 4, 2)))
    assert net.layers[1] is nnx.relu and net.layers[3] is flatten
    assert net.layers[2].in_size == (4, 4, 3)  # the shape after the conv
    assert net.layers[5].in_size == (5,)  # the shape after flatten and the Linear
    x = rand(2, 4, 4, 2)
    close(run(net, x), run(src, x))
    close(run(interop.to_nnx(net), x), run(src, x))


# -- layers, Flax Linen --------------------------------------------------------------------------

LINEN_LAYERS = {
    "dense": (lambda ln: ln.Dense(4), (5, 3), None),
    "dense_nobias": (lambda ln: ln.Dense(4, use_bias=False), (5, 3), None),
    "layernorm": (lambda ln: ln.LayerNorm(), (5, 4), None),
    "layernorm_bias_only": (lambda ln: ln.LayerNorm(use_scale=False), (5, 4), None),
    "rmsnorm": (lambda ln: ln.RMSNorm(epsilon=1e-3), (5, 4), None),
    "groupnorm": (lambda ln: ln.GroupNorm(num_groups=None, group_size=2), (5, 6), None),
    "conv2d": (lambda ln: ln.Conv(6, (3, 3), strides=(1, 2), padding=1, feature_group_count=2), (2, 6, 6, 4),
               (6, 6, 4)),
    "batchnorm": (lambda ln: ln.BatchNorm(use_running_average=True, momentum=0.8), (4, 5, 3), (5, 3)),
    "sequential": (lambda ln: ln.Sequential([ln.Dense(6), jax.nn.gelu, ln.LayerNorm(), ln.Dense(2)]), (5, 3), None),
}


@pytest.mark.parametrize("case", list(LINEN_LAYERS))
def test_linen_layer_both_directions(linen, case):
    make, x_shape, sample = LINEN_LAYERS[case]
    module, x = make(linen), rand(*x_shape)
    variables = new_linen(module, x)
    expected = run(module.apply, variables, x)
    net = interop.from_linen(module, variables, sample_input=sample)
    close(in_eval(net, x), expected)
    module2, variables2 = interop.to_linen(net)
    assert type(module2) is type(module)
    assert jax.tree.structure(variables2) == jax.tree.structure(variables)
    for a, b in zip(jax.tree.leaves(variables2), jax.tree.leaves(variables)):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    close(run(module2.apply, variables2, x), expected)


def test_linen_embedding_dropout_and_lstm(linen):
    emb = linen.Embed(7, 3)
    ids = jnp.array([0, 6, 2])
    v = new_linen(emb, ids)
    close(interop.from_linen(emb, v)(ids), emb.apply(v, ids))
    assert interop.from_linen(linen.Dropout(rate=0.4), {}).prob == pytest.approx(0.6)
    drop, _ = interop.to_linen(nn.Dropout(0.5))
    assert drop.deterministic is True and drop.rate == pytest.approx(0.5)

    cell = linen.LSTMCell(4)
    x, h0, c0 = rand(2, 3), rand(2, 4, seed=1), rand(2, 4, seed=2)
    v = fill(jax.eval_shape(cell.init, jax.random.key(0), (c0, h0), x))
    (c1, h1), _ = run(cell.apply, v, (c0, h0), x)
    bst = nn.init_all_states(interop.from_linen(cell, v), batch_size=2)
    bst.h.value, bst.c.value = h0, c0
    close(T.jit(bst)(x), h1)
    module, v2 = interop.to_linen(bst)
    (c2, h2), _ = run(module.apply, v2, (c0, h0), x)
    close(h2, h1)
    close(c2, c1)


# -- layers, Equinox ---------------------------------------------------------------------------

K = jax.random.key(11)
EQX_LAYERS = {
    "linear": (lambda eqx: eqx.nn.Linear(3, 4, key=K), (3,), None, False),
    "linear_nobias": (lambda eqx: eqx.nn.Linear(3, 4, use_bias=False, key=K), (3,), None, False),
    "layernorm": (lambda eqx: eqx.nn.LayerNorm(4, eps=1e-3), (4,), None, False),
    "layernorm_no_affine": (lambda eqx: eqx.nn.LayerNorm(4, use_weight=False, use_bias=False), (4,), None, False),
    "rmsnorm": (lambda eqx: eqx.nn.RMSNorm(4, use_bias=False), (4,), None, False),
    "groupnorm": (lambda eqx: eqx.nn.GroupNorm(2, 6), (6,), None, False),
    "groupnorm_spatial": (lambda eqx: eqx.nn.GroupNorm(3, 6), (6, 3, 3), (3, 3, 6), True),
    "conv1d": (lambda eqx: eqx.nn.Conv1d(3, 4, 3, padding="SAME", key=K), (3, 9), (9, 3), True),
    "conv2d": (lambda eqx: eqx.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, key=K), (4, 8, 7), (8, 7, 4),
               True),
    "conv2d_dilated_nobias": (lambda eqx: eqx.nn.Conv2d(2, 3, 3, dilation=2, use_bias=False, key=K), (2, 8, 8),
                              (8, 8, 2), True),
    "sequential": (lambda eqx: eqx.nn.Sequential([eqx.nn.Linear(3, 5, key=K), eqx.nn.Lambda(jax.nn.tanh),
                                                  eqx.nn.Linear(5, 2, key=K)]), (3,), None, False),
}


@pytest.mark.parametrize("case", list(EQX_LAYERS))
def test_equinox_layer_both_directions(eqx, case):
    make, x_shape, sample, channels_first = EQX_LAYERS[case]
    src = new_eqx(eqx, lambda: make(eqx))
    xs = rand(2, *x_shape)  # a batch of unbatched equinox examples
    expected = run(jax.vmap(src), xs)
    layer = interop.from_equinox(src, sample_input=sample)
    if channels_first:  # brainstate is channels last
        close(run(layer, jnp.moveaxis(xs, 1, -1)), jnp.moveaxis(expected, 1, -1))
    else:
        close(run(layer, xs), expected)
    back = interop.to_equinox(layer)
    assert type(back) is type(src)
    close(run(jax.vmap(back), xs), expected)
    for a, b in zip(jax.tree.leaves(eqx.filter(back, eqx.is_array)), jax.tree.leaves(eqx.filter(src, eqx.is_array))):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_equinox_embedding_dropout_lstm(eqx):
    emb = new_eqx(eqx, lambda: eqx.nn.Embedding(6, 3, key=K))
    ids = jnp.array([5, 0, 2])
    close(interop.from_equinox(emb)(ids), jax.vmap(emb)(ids))
    assert interop.from_equinox(eqx.nn.Dropout(0.2)).prob == pytest.approx(0.8)
    back = interop.to_equinox(nn.Dropout(0.7))
    assert back.inference is True and back.p == pytest.approx(0.3)

    src = new_eqx(eqx, lambda: eqx.nn.LSTMCell(3, 4, key=K))
    x, h0, c0 = rand(3), rand(4, seed=1), rand(4, seed=2)
    h1, c1 = run(src, x, (h0, c0))
    cell = nn.init_all_states(interop.from_equinox(src))
    cell.h.value, cell.c.value = h0, c0
    close(T.jit(cell)(x), h1)
    close(cell.c.value, c1)
    h2, c2 = run(interop.to_equinox(cell), x, (h0, c0))
    close(h2, h1)
    close(c2, c1)


def test_equinox_zero_bias_rmsnorm_converts(eqx):
    src = eqx.nn.RMSNorm(4)  # use_bias=True with a zero bias
    close(run(interop.from_equinox(src), rand(2, 4)), run(jax.vmap(src), rand(2, 4)))


def test_brainstate_functions_cross_as_is(eqx, nnx):
    relu = nn.ReLU()
    net = nn.Sequential(lin(3, 4), relu, jnp.tanh, lin(4, 2))
    x = rand(5, 3)
    expected = run(net, x)
    e = interop.to_equinox(net)
    assert isinstance(e.layers[1], eqx.nn.Lambda) and e.layers[1].fn is relu
    close(run(jax.vmap(e), x), expected)
    again = interop.from_equinox(e)
    assert again.layers[1] is relu and again.layers[2] is jnp.tanh
    n = interop.to_nnx(net)
    assert n.layers[1] is relu
    close(run(n, x), expected)


# -- training: the converted model trains in brainstate as the original does natively -----------

LR, STEPS = 0.1, 5
XS, YS = rand(16, 3), rand(16, 2, seed=1)


def _bst_train(net, optimiser=False):
    """SGD on ``net`` with brainstate.transform.grad under jit; returns (losses, traces)."""
    params = net.states(bc.ParamState)
    traces = []
    opt = nn.optim.SGD(LR).register_trainable_weights(params) if optimiser else None

    @T.jit
    def step(x, y):
        traces.append(1)
        grads, loss = T.grad(lambda: jnp.mean((net(x) - y) ** 2), grad_states=params, return_value=True)()
        if opt is not None:
            opt.update(grads)
        else:
            for path, state in params.items():
                state.value = jax.tree.map(lambda p, g: p - LR * g, state.value, grads[path])
        return loss

    losses = [float(step(XS, YS)) for _ in range(STEPS)]
    return losses, len(traces)


@pytest.mark.parametrize("optimiser", [False, True])
def test_from_nnx_trains_like_nnx(nnx, optimiser):
    if optimiser:
        pytest.importorskip("optax")
    src = new_nnx(nnx, lambda r: nnx.Sequential(nnx.Linear(3, 8, rngs=r), nnx.relu, nnx.LayerNorm(8, rngs=r),
                                                nnx.Linear(8, 2, rngs=r)))
    net = interop.from_nnx(src)
    losses, traces = _bst_train(net, optimiser)
    assert losses[-1] < losses[0] and traces == 1

    native_traces = []

    @nnx.jit
    def native_step(model, x, y):
        native_traces.append(1)
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        params = nnx.state(model, nnx.Param)
        nnx.update(model, jax.tree.map(lambda p, g: p - LR * g, params, grads))
        return loss

    native = [float(native_step(src, XS, YS)) for _ in range(STEPS)]
    assert native_traces == [1]
    close(losses, native, atol=1e-5)
    same_states(net, interop.from_nnx(src), exact=False)  # same parameters after the same training


def test_to_nnx_model_trains_like_brainstate(nnx):
    net = nn.Sequential(lin(3, 6), nn.ReLU(), lin(6, 2, seed=2))
    dst = interop.to_nnx(net)
    losses, _ = _bst_train(net)

    @nnx.jit
    def native_step(model):
        grads = nnx.grad(lambda m: jnp.mean((m(XS) - YS) ** 2))(model)
        nnx.update(model, jax.tree.map(lambda p, g: p - LR * g, nnx.state(model, nnx.Param), grads))

    for _ in range(STEPS):
        native_step(dst)
    assert losses[-1] < losses[0]
    close(run(dst, XS), run(net, XS))
    for a, b in zip(jax.tree.leaves(nnx.state(interop.to_nnx(net), nnx.Param)),
                    jax.tree.leaves(nnx.state(dst, nnx.Param))):
        close(a, b)


def test_from_equinox_trains_like_equinox(eqx):
    src = new_eqx(eqx, lambda: eqx.nn.Sequential([eqx.nn.Linear(3, 8, key=K), eqx.nn.Lambda(jax.nn.relu),
                                                  eqx.nn.Linear(8, 2, key=K)]))
    net = interop.from_equinox(src)
    losses, traces = _bst_train(net)
    assert losses[-1] < losses[0] and traces == 1

    @eqx.filter_jit
    def native_step(model):
        loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((jax.vmap(m)(XS) - YS) ** 2))(model)
        return eqx.apply_updates(model, jax.tree.map(lambda g: -LR * g, grads)), loss

    native = []
    for _ in range(STEPS):
        src, loss = native_step(src)
        native.append(float(loss))
    close(losses, native)
    same_states(net, interop.from_equinox(src), exact=False)


def test_to_equinox_model_trains_like_brainstate(eqx):
    net = nn.Sequential(lin(3, 6), jax.nn.relu, lin(6, 2, seed=2))
    dst = interop.to_equinox(net)
    _bst_train(net)

    @eqx.filter_jit
    def native_step(model):
        grads = eqx.filter_grad(lambda m: jnp.mean((jax.vmap(m)(XS) - YS) ** 2))(model)
        return eqx.apply_updates(model, jax.tree.map(lambda g: -LR * g, grads))

    for _ in range(STEPS):
        dst = native_step(dst)
    close(run(jax.vmap(dst), XS), run(net, XS))
    ref = interop.to_equinox(net)
    for a, b in zip(jax.tree.leaves(eqx.filter(ref, eqx.is_array)), jax.tree.leaves(eqx.filter(dst, eqx.is_array))):
        close(a, b)


def test_from_linen_trains_like_linen(linen):
    module = linen.Sequential([linen.Dense(8), jax.nn.relu, linen.Dense(2)])
    variables = new_linen(module, XS)
    net = interop.from_linen(module, variables)
    losses, _ = _bst_train(net)
    grad = jax.jit(jax.value_and_grad(lambda v: jnp.mean((module.apply(v, XS) - YS) ** 2)))
    native = []
    for _ in range(STEPS):
        loss, g = grad(variables)
        variables = jax.tree.map(lambda p, d: p - LR * d, variables, g)
        native.append(float(loss))
    assert losses[-1] < losses[0]
    close(losses, native)
    same_states(net, interop.from_linen(module, variables), exact=False)


def test_conversion_copies_weights(nnx):
    src = new_nnx(nnx, lambda r: nnx.Linear(2, 2, rngs=r))
    before = np.asarray(src.kernel[...])
    net = interop.from_nnx(src)
    net.weight.value = {"weight": net.weight.value["weight"] + 1.0, "bias": net.weight.value["bias"]}
    assert np.array_equal(np.asarray(src.kernel[...]), before)  # the models are independent


def test_dtypes_survive_round_trips(nnx, eqx):
    layer = nn.Linear(3, 2, w_init=jnp.ones((3, 2), jnp.bfloat16), b_init=jnp.zeros(2, jnp.bfloat16))
    for there, back in ((interop.to_nnx, interop.from_nnx), (interop.to_equinox, interop.from_equinox)):
        again = back(there(layer))
        assert again.weight.value["weight"].dtype == jnp.bfloat16
        same_states(again, layer)


# -- registry -------------------------------------------------------------------------------------

def test_supported_layers_lists_frameworks(nnx, eqx):
    every = interop.supported_layers()
    assert {"nnx", "linen", "equinox"} <= set(every)
    assert {"Linear", "Conv2d", "LSTMCell", "BatchNorm2d"} <= set(every["nnx"])
    assert "BatchNorm2d" not in interop.supported_layers("equinox")["equinox"]
    with pytest.raises(bc.ConfigError, match=r"Unknown interop framework 'torch'.*\['equinox', 'linen', 'nnx'\]"):
        interop.supported_layers("torch")


def test_register_layer_mapping_adds_a_custom_layer(nnx, restore_registry):
    class Scale(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.s = bc.ParamState(jnp.ones(n))

        def update(self, x):
            return x * self.s.value

    class NScale(nnx.Module):
        def __init__(self, s):
            self.s = nnx.Param(s)

        def __call__(self, x):
            return x * self.s[...]

    def to_bst(m, ctx):
        layer = Scale(m.s[...].shape[0])
        layer.s.value = m.s[...]
        return layer

    interop.register_layer_mapping(interop.LayerMapping(Scale, "nnx", NScale, to_bst, lambda b, ctx: NScale(b.s.value)))
    src = new_nnx(nnx, lambda r: nnx.Sequential(NScale(jnp.arange(3.0)), nnx.Linear(3, 1, rngs=r)))
    net = interop.from_nnx(src)
    assert isinstance(net.layers[0], Scale)
    close(net(rand(4, 3)), src(rand(4, 3)))
    assert isinstance(interop.to_nnx(net).layers[0], NScale)
    assert "Scale" in interop.supported_layers("nnx")["nnx"]


def test_register_layer_mapping_overrides_a_builtin_and_refusal(nnx, restore_registry):
    calls = []

    def to_bst(m, ctx):
        calls.append(m)
        return nn.GRUCell(1, 1, w_init=ZERO)

    interop.register_layer_mapping(interop.LayerMapping(nn.GRUCell, "nnx", nnx.GRUCell, to_bst, lambda b, c: b))
    interop.from_nnx(new_nnx(nnx, lambda r: nnx.GRUCell(1, 1, rngs=r)))  # no longer refused
    assert len(calls) == 1


@pytest.mark.parametrize("bad, match", [
    ("mapping", r"expects a brainstate.interop.LayerMapping, got str"),
    (interop.LayerMapping(nn.Linear, "torch", object, print, print), r"Unknown interop framework 'torch'"),
    (interop.LayerMapping(nn.Identity(), "nnx", object, print, print), r"bst_type must be a class"),
    (interop.LayerMapping(nn.Linear, "nnx", object, 3, print), r"to_bst must be a function"),
])
def test_register_layer_mapping_rejects_bad_input(nnx, restore_registry, bad, match):
    with pytest.raises(bc.ConfigError, match=match):
        interop.register_layer_mapping(bad)


def test_subclasses_use_a_mapping_only_if_they_keep_the_computation(nnx):
    class Renamed(nnx.Linear):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)

    class Doubled(nnx.Linear):
        def __call__(self, x):
            return 2 * super().__call__(x)

    assert isinstance(interop.from_nnx(new_nnx(nnx, lambda r: Renamed(2, 3, rngs=r))), nn.Linear)
    with pytest.raises(interop.UnmappedLayerError, match=r"No nnx conversion is registered for .*Doubled"):
        interop.from_nnx(new_nnx(nnx, lambda r: Doubled(2, 3, rngs=r)))
    with pytest.raises(interop.UnmappedLayerError, match=r"ScaledWSConv2d"):
        interop.to_nnx(nn.ScaledWSConv2d((4, 4, 1), 2, kernel_size=3, w_init=ZERO))


# -- errors ---------------------------------------------------------------------------------------

def test_wrong_object_types(nnx, eqx, linen):
    with pytest.raises(interop.UnmappedLayerError, match=r"from_nnx converts a flax.nnx.Module, got .*Linear.*to_nnx"):
        interop.from_nnx(lin(2, 2))
    with pytest.raises(interop.UnmappedLayerError, match=r"to_nnx converts a brainstate.nn.Module, got .*use from_nnx"):
        interop.to_nnx(new_nnx(nnx, lambda r: nnx.Linear(2, 2, rngs=r)))
    with pytest.raises(interop.UnmappedLayerError, match=r"from_equinox converts a equinox.Module, got builtins.str"):
        interop.from_equinox("model")
    with pytest.raises(interop.UnmappedLayerError, match=r"to_equinox converts a brainstate.nn.Module"):
        interop.to_equinox(jnp.tanh)
    with pytest.raises(interop.UnmappedLayerError, match=r"from_linen converts a flax.linen.Module"):
        interop.from_linen(new_nnx(nnx, lambda r: nnx.Linear(2, 2, rngs=r)), {})
    with pytest.raises(interop.ConversionError, match=r"looks like the parameters alone.*\{'params': params\}"):
        module = linen.Dense(2)
        interop.from_linen(module, new_linen(module, jnp.ones((1, 2)))["params"])
    with pytest.raises(interop.ConversionError, match=r"expects the variables of the module"):
        interop.from_linen(linen.Dense(2), [1, 2])


def test_unsupported_layers_say_why(nnx, eqx, linen):
    with pytest.raises(interop.UnsupportedLayerError, match=r"GRUCell does not convert.*Cho et al"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.GRUCell(2, 3, rngs=r)))
    with pytest.raises(interop.UnsupportedLayerError, match=r"GRUCell does not convert"):
        interop.to_equinox(nn.GRUCell(2, 3, w_init=ZERO))
    with pytest.raises(interop.UnsupportedLayerError, match=r"MGUCell does not convert"):
        interop.to_linen(nn.MGUCell(2, 3, w_init=ZERO))
    with pytest.raises(interop.UnsupportedLayerError, match=r"BatchNorm does not convert to or from equinox"):
        interop.to_equinox(nn.BatchNorm2d((4, 4, 3)))
    with pytest.raises(interop.UnsupportedLayerError, match=r"eqx.nn.State"):
        interop.from_equinox(eqx.nn.BatchNorm(3, axis_name="batch", mode="batch"))


def test_structures_that_cannot_be_rebuilt(nnx, eqx):
    class Residual(nnx.Module):
        def __init__(self):
            self.lin = nnx.Linear(2, 2, rngs=nnx.Rngs(0))  # built under eval_shape below

        def __call__(self, x):
            return x + self.lin(x)

    with pytest.raises(interop.UnsupportedStructureError, match=r"Cannot convert .*Residual: it holds sub-modules"):
        interop.from_nnx(new_nnx(nnx, lambda r: Residual()))

    class BstResidual(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin(2, 2)

        def update(self, x):
            return x + self.lin(x)

    with pytest.raises(interop.UnsupportedStructureError, match=r"BstResidual: it holds sub-modules"):
        interop.to_equinox(nn.Sequential(lin(2, 2), BstResidual()))
    with pytest.raises(interop.UnsupportedStructureError, match=r"empty Sequential"):
        interop.to_nnx(nn.Sequential())
    with pytest.raises(interop.UnsupportedStructureError, match=r"empty Sequential"):
        interop.from_equinox(eqx.nn.Sequential([]))

    class Stateful(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = bc.ParamState(jnp.ones(2))

    with pytest.raises(interop.UnmappedLayerError, match=r"No nnx conversion is registered for .*Stateful.*"
                                                          r"register_layer_mapping"):
        interop.to_nnx(Stateful())


def test_shapes_and_options_that_do_not_convert(nnx, eqx):
    conv = new_nnx(nnx, lambda r: nnx.Conv(2, 3, (3, 3), rngs=r))
    with pytest.raises(interop.MissingShapeError, match=r"Importing Conv2d needs the shape.*sample_input="):
        interop.from_nnx(conv)
    with pytest.raises(interop.MissingShapeError, match=r"needs an input of 3 axes.*\(5,\)"):
        interop.from_nnx(conv, sample_input=(5,))
    with pytest.raises(interop.ConversionError, match=r"takes 2 input channels.*\(8, 8, 3\)"):
        interop.from_nnx(conv, sample_input=(8, 8, 3))
    with pytest.raises(interop.ConversionError, match=r"Linear takes 4 features.*\(3,\)"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.Linear(4, 2, rngs=r)), sample_input=(3,))
    with pytest.raises(interop.MissingShapeError, match=r"Importing BatchNorm needs"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.BatchNorm(3, rngs=r)))
    with pytest.raises(interop.ConversionError, match=r"padding='CIRCULAR'.*pad with zeros"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.Conv(2, 3, (3, 3), padding="CIRCULAR", rngs=r)),
                         sample_input=(8, 8, 2))
    with pytest.raises(interop.ConversionError, match=r"reduction_axes=\(1,\)"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.RMSNorm(3, reduction_axes=(1,), rngs=r)))
    with pytest.raises(interop.ConversionError, match=r"has a w_mask.*Fix: fold it"):
        interop.to_nnx(nn.Linear(2, 2, w_init=ZERO, w_mask=jnp.eye(2)))
    with pytest.raises(interop.ConversionError, match=r"uses the activation.*tanh"):
        interop.to_nnx(nn.LSTMCell(2, 3, w_init=ZERO, activation="relu"))
    with pytest.raises(interop.ConversionError, match=r"track_running_stats=False"):
        interop.to_nnx(nn.BatchNorm1d((4, 3), track_running_stats=False))
    with pytest.raises(interop.ConversionError, match=r"non-zero bias"):
        interop.from_equinox(new_eqx(eqx, lambda: eqx.nn.RMSNorm(3)))
    with pytest.raises(interop.ConversionError, match=r"padding_mode='REFLECT'"):
        interop.from_equinox(new_eqx(eqx, lambda: eqx.nn.Conv2d(2, 2, 3, padding_mode="REFLECT", key=K)),
                             sample_input=(5, 5, 2))
    with pytest.raises(interop.ConversionError, match=r"lhs_dilation=\(2, 2\)"):
        interop.to_equinox(nn.Conv2d((5, 5, 1), 1, 3, lhs_dilation=2, w_init=ZERO))
    with pytest.raises(interop.ConversionError, match=r"normalises over 2 axes"):
        interop.from_equinox(eqx.nn.LayerNorm((3, 4)))
    with pytest.raises(interop.ConversionError, match=r"broadcast_dims=\(0,\)"):
        interop.to_equinox(nn.Dropout(0.5, broadcast_dims=(0,)))


# Normalisation options the other side cannot express are refused, naming the layer, the option and the fix.
NORM_REFUSED = [
    ("to_nnx", lambda: nn.LayerNorm((3, 4), feature_axes=0), r"LayerNorm\(feature_axes=\(-2,\)\) does not convert to "
     r"flax.nnx.LayerNorm, which cannot express it.*Fix: convert a LayerNorm built with feature_axes=\(-1,\)"),
    ("to_linen", lambda: nn.LayerNorm(4, axis_name="batch"), r"LayerNorm\(axis_name='batch'\).*flax.linen.LayerNorm"),
    ("to_nnx", lambda: nn.RMSNorm((3, 4), reduction_axes=(-2, -1)), r"RMSNorm\(reduction_axes=\(-2, -1\)\)"),
    ("to_linen", lambda: nn.GroupNorm((4, 6), feature_axis=0, num_groups=2), r"GroupNorm\(feature_axes=\(-2,\)\)"),
    ("to_nnx", lambda: nn.GroupNorm(6, num_groups=2, reduction_axes=(0,)), r"GroupNorm\(reduction_axes=\(0,\)\)"),
    ("to_nnx", lambda: nn.BatchNorm2d((3, 4, 4), feature_axis=0), r"BatchNorm2d\(feature_axes=\(-3,\)\).*flax's "
     r"BatchNorm"),
    ("to_nnx", lambda: nn.RMSNorm(4, dtype=jnp.float16), r"RMSNorm\(dtype=.*float16.*\) does not convert to "
     r"flax.nnx.RMSNorm"),
    ("to_equinox", lambda: nn.LayerNorm((3, 4), feature_axes=0), r"LayerNorm\(feature_axes=\(-2,\)\).*eqx.nn.LayerNorm"),
    ("to_equinox", lambda: nn.LayerNorm(4, dtype=jnp.bfloat16), r"LayerNorm\(dtype=<class 'jax.numpy.bfloat16'>\)"),
    ("to_equinox", lambda: nn.RMSNorm(4, axis_name="b"), r"RMSNorm\(axis_name='b'\).*eqx.nn.RMSNorm"),
    ("to_equinox", lambda: nn.GroupNorm(6, num_groups=2, axis_name="b", axis_index_groups=[[0, 1]]),
     r"GroupNorm\(axis_name='b'\)"),
    ("to_equinox", lambda: nn.GroupNorm(6, num_groups=2, reduction_axes=(0,)), r"GroupNorm\(reduction_axes=\(0,\)\)"),
]


@pytest.mark.parametrize("convert, make, match", NORM_REFUSED)
def test_normalisation_options_without_counterpart_are_refused(nnx, eqx, linen, convert, make, match):
    with pytest.raises(interop.ConversionError, match=match):
        getattr(interop, convert)(make())


def test_half_precision_statistics_of_linen_are_refused(linen):
    module = linen.LayerNorm(force_float32_reductions=False)
    with pytest.raises(interop.ConversionError, match=r"linen.LayerNorm has force_float32_reductions=False"):
        interop.from_linen(module, new_linen(module, rand(2, 4)))


BIG = 1e4 + rand(3, 6)  # where the one-pass variance E[x^2] - E[x]^2 cancels in float32


@pytest.mark.parametrize("make", [lambda **kw: nn.LayerNorm(6, use_fast_variance=False, **kw),
                                  lambda **kw: nn.GroupNorm(6, num_groups=2, use_fast_variance=False, **kw)])
def test_flax_keeps_the_two_pass_variance_and_linen_the_dtype(nnx, linen, make):
    def check(layer, out, back):
        assert out.use_fast_variance is False and back.use_fast_variance is False and back.dtype == layer.dtype

    layer = make()
    layer.weight.value = {"scale": 1.0 + rand(6), "bias": rand(6, seed=1)}
    expected = run(layer, BIG)
    to = interop.to_nnx(layer)
    close(run(to, BIG), expected, atol=1e-3)
    check(layer, to, interop.from_nnx(to))
    half = make(dtype=jnp.bfloat16)  # linen's dtype is the result's, as brainstate's; nnx's also rounds the input
    half.weight.value = layer.weight.value
    module, variables = interop.to_linen(half)
    assert module.dtype == jnp.bfloat16
    close(run(module.apply, variables, BIG), run(half, BIG), atol=1e-2)
    check(half, module, interop.from_linen(module, variables))
    with pytest.raises(interop.ConversionError, match=r"dtype=<class 'jax.numpy.bfloat16'>\) does not convert to "
                                                      r"flax.nnx"):
        interop.to_nnx(half)
    with pytest.raises(interop.ConversionError, match=r"nnx.LayerNorm has dtype=.*bfloat16"):
        interop.from_nnx(new_nnx(nnx, lambda r: nnx.LayerNorm(6, dtype=jnp.bfloat16, rngs=r)))


def test_flax_batchnorm_keeps_its_statistics_options(nnx, linen):
    bn = nn.BatchNorm0d(3, axis_name="b", axis_index_groups=[[0, 1]], use_fast_variance=False, dtype=jnp.bfloat16)
    module, variables = interop.to_linen(bn)
    assert (module.axis_index_groups, module.use_fast_variance, module.dtype) == (((0, 1),), False, jnp.bfloat16)
    back = interop.from_linen(module, variables, sample_input=(3,))
    assert (back.axis_index_groups, back.use_fast_variance, back.dtype) == (((0, 1),), False, jnp.bfloat16)
    with pytest.raises(interop.ConversionError, match=r"BatchNorm0d\(dtype=.*flax.nnx.BatchNorm"):
        interop.to_nnx(bn)
    bn = nn.BatchNorm0d(3, axis_name="b", axis_index_groups=[[0, 1]], use_fast_variance=False)
    back = interop.from_nnx(interop.to_nnx(bn), sample_input=(3,))
    assert (back.axis_index_groups, back.use_fast_variance) == (((0, 1),), False)


@pytest.mark.parametrize("make", [lambda eqx: eqx.nn.LayerNorm(6), lambda eqx: eqx.nn.GroupNorm(2, 6)])
def test_equinox_imports_take_the_variance_in_two_passes_as_equinox(eqx, make):
    src = new_eqx(eqx, lambda: make(eqx))
    layer = interop.from_equinox(src)
    assert layer.use_fast_variance is False
    close(run(layer, BIG), run(jax.vmap(src), BIG), atol=3e-3)


def test_missing_framework_names_the_extra(monkeypatch, restore_registry):
    monkeypatch.setattr(_registry, "_LOADED", {})
    monkeypatch.setitem(sys.modules, "equinox", None)  # as if it were not installed
    with pytest.raises(interop.MissingDependencyError, match=r"'equinox'.*pip install 'brainstate-nn\[equinox\]'") as e:
        interop.to_equinox(lin(2, 2))
    assert e.value.package == "equinox"
    assert isinstance(e.value, ImportError) and isinstance(e.value, brainstate.transform.MissingDependencyError)
    assert "equinox" not in interop.supported_layers()  # the listing leaves uninstalled frameworks out


def test_broken_framework_import_is_reported(monkeypatch, restore_registry):
    real = _registry.importlib.import_module

    def broken(name, *args):
        if name.startswith("flax"):
            raise AttributeError("module 'jax' has no attribute 'something_new'")
        return real(name, *args)

    monkeypatch.setattr(_registry, "_LOADED", {})
    monkeypatch.setattr(_registry.importlib, "import_module", broken)
    with pytest.raises(interop.InteropError, match=r"'flax' is installed but importing 'flax.nnx' failed.*"
                                                   r"AttributeError.*does not match the installed jax"):
        interop.to_nnx(lin(2, 2))


def test_importing_brainstate_does_not_import_the_frameworks():
    import subprocess

    code = ("import sys, brainstate; brainstate.interop.LayerMapping; "
            "print('flax' in sys.modules, 'equinox' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_public_homes():
    assert brainstate.interop is sys.modules["brainstate_nn.interop"]
    assert interop.from_nnx.__module__ == "brainstate.interop"
    assert repr(interop.ConversionError) == "<class 'brainstate.interop.ConversionError'>"
