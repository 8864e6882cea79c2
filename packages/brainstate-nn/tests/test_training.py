"""make_train_step / TrainStep: the four gradient modes against each other, e-prop against a NumPy
reimplementation of its equations (step by step) and against BPTT where the two coincide, and the errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

N_IN, N_REC, N_OUT, STEPS, BATCH = 3, 5, 2, 12, 2
DT = 1.0


@pytest.fixture(autouse=True)
def _dt():
    with bc.environ.context(dt=DT):
        yield


def mse(ys, targets):
    return jnp.mean((ys - targets) ** 2)


def data(steps=STEPS, seed=0):
    kx, ky = jax.random.split(jax.random.PRNGKey(seed))
    return 3.0 * jax.random.uniform(kx, (steps, BATCH, N_IN)), jax.random.normal(ky, (steps, BATCH, N_OUT))


def network(kind="ALIF", reset="soft", seed=0, **kw):
    neuron = (nn.LIF(N_REC, tau=8.0, spk_reset=reset) if kind == "LIF"
              else nn.ALIF(N_REC, tau=8.0, tau_a=40.0, beta=0.3, spk_reset=reset))
    net = nn.SpikingRNN(N_IN, N_REC, N_OUT, neuron=neuron, tau_out=6.0, **kw)
    key = jax.random.PRNGKey(seed + 10)
    k1, k2, k3 = jax.random.split(key, 3)
    net.w_in.value = jax.random.normal(k1, (N_IN, N_REC))
    net.w_rec.value = 0.5 * jax.random.normal(k2, (N_REC, N_REC))
    net.readout.weight.value = jax.random.normal(k3, (N_REC, N_OUT))
    return net


def sgd(model):
    return nn.optim.SGD(0.1, params=model.states(bc.ParamState))


def assert_same(a, b, **tol):
    assert set(a) == set(b)
    for p in a:
        for x, y in zip(jax.tree.leaves(a[p]), jax.tree.leaves(b[p]), strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), err_msg=str(p), **tol)


# -- the BPTT modes --------------------------------------------------------------------------------
def gru_model():
    return nn.Sequential(nn.GRUCell(N_IN, 4), nn.Linear(4, N_OUT))


@pytest.mark.parametrize("make_model,base", [(lambda: network("LIF"), None), (lambda: network("ALIF", "hard"), 3),
                                             (gru_model, 4)], ids=["LIF-sqrtT", "ALIF-hard-3", "GRU-4"])
def test_checkpointed_gradients_equal_bptt(make_model, base):
    model = make_model()
    xs, ys = data()
    full, loss = nn.make_train_step(model, mse, sgd(model), "bptt").gradients(xs, ys)
    ckpt, loss_c = nn.make_train_step(model, mse, sgd(model), "checkpointed", base=base).gradients(xs, ys)
    assert len(full) == len(model.states(bc.ParamState))
    assert all(np.abs(g).max() > 0 for g in jax.tree.leaves(dict(full)))
    assert_same(full, ckpt, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, loss_c, rtol=1e-6)


def test_truncated_with_the_whole_sequence_is_bptt():
    model = network("ALIF")
    xs, ys = data()
    full, loss = nn.make_train_step(model, mse, sgd(model), "bptt").gradients(xs, ys)
    for window in (STEPS, STEPS + 5):
        trunc, loss_t = nn.make_train_step(model, mse, sgd(model), "truncated", window=window).gradients(xs, ys)
        assert_same(full, trunc, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(loss, loss_t, rtol=1e-6)


def test_truncated_windows_carry_the_state_and_cut_the_gradient():
    window = 5  # two windows of 5 steps (scanned), then a remainder of 2
    model = network("ALIF")
    xs, ys = data()
    params = model.states(bc.ParamState)
    trunc, loss = nn.make_train_step(model, mse, sgd(model), "truncated", window=window).gradients(xs, ys)

    @T.jit
    def by_hand():
        nn.reset_all_states(model, batch_size=BATCH)
        total, value = {p: 0.0 for p in params}, 0.0
        for start in range(0, STEPS, window):
            xw, yw = xs[start:start + window], ys[start:start + window]
            scale = xw.shape[0] / STEPS
            g, v = T.grad(lambda s=scale, x=xw, y=yw: s * mse(T.for_loop(model, x), y), grad_states=params,
                          return_value=True)()
            total = {p: total[p] + g[p] for p in params}
            value = value + v
        return total, value

    expected, expected_loss = by_hand()
    assert_same(trunc, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    full, full_loss = nn.make_train_step(model, mse, sgd(model), "bptt").gradients(xs, ys)
    np.testing.assert_allclose(loss, full_loss, rtol=1e-5)  # the same objective (MSE is a mean over steps) ...
    assert not np.allclose(np.asarray(trunc[("w_rec",)]), np.asarray(full[("w_rec",)]), rtol=1e-3)  # ... cut


def test_a_step_updates_the_weights_and_lowers_the_loss():
    model = network("LIF")
    opt = nn.optim.Adam(2e-2, params=model.states(bc.ParamState))
    step = nn.make_train_step(model, mse, opt, "checkpointed")
    xs, ys = data()
    before = np.asarray(model.w_in.value)
    losses = [float(step(xs, ys)) for _ in range(30)]
    assert int(opt.step.value) == 30 and not np.allclose(before, model.w_in.value)
    assert losses[-1] < 0.8 * losses[0]
    step(xs[:, :1], ys[:, :1])  # another batch size: the states are re-initialised
    assert model.neuron.V.value.shape == (1, N_REC)
    assert repr(step).startswith("TrainStep(mode='checkpointed', base=sqrt(T)")


# -- e-prop ----------------------------------------------------------------------------------------
def numpy_eprop(net, xs, ys, feedback=None, reset_grad=False):
    """The e-prop equations (see brainstate_nn._eprop) written out in NumPy; the gradients after each step."""
    neuron, alif = net.neuron, isinstance(net.neuron, nn.ALIF)
    w_in, w_rec = np.asarray(net.w_in.value, np.float64), np.asarray(net.w_rec.value, np.float64)
    w_rec = w_rec * (1 - np.eye(N_REC))
    w_out = np.asarray(net.readout.weight.value, np.float64)
    fb = w_out if feedback is None else np.asarray(feedback, np.float64)
    alpha, kappa = np.exp(-DT / 8.0), np.exp(-DT / 6.0)
    rho, beta = (np.exp(-DT / 40.0), 0.3) if alif else (0.0, 0.0)
    th, hard = 1.0, neuron.spk_reset == "hard"
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    n_steps = xs.shape[0]

    def slope(v, a):  # ReluGrad(0.3, 1) of (V - V_th - beta a) / (V_th - V_reset), by V
        u = v - th - beta * a
        return (u >= 0).astype(float), 0.3 * np.maximum(1 - np.abs(u), 0.0)

    v, a, y = np.zeros((BATCH, N_REC)), np.zeros((BATCH, N_REC)), np.zeros((BATCH, N_OUT))
    z, zbar = np.zeros((BATCH, N_REC)), np.zeros((BATCH, N_REC))
    traces = {name: [np.zeros((BATCH, n, N_REC)) for _ in range(3)] for name, n in (("in", N_IN), ("rec", N_REC))}
    g = {"w_in": np.zeros_like(w_in), "w_rec": np.zeros_like(w_rec), "w_out": np.zeros_like(w_out)}
    history = []
    for t in range(n_steps):
        z_prev, psi_prev = z, slope(v, a)[1]
        r = (v - 0.0) if hard else th
        current = xs[t] @ w_in + z_prev @ w_rec
        v = alpha * (v - r * z_prev) + (1 - alpha) * current
        a = rho * (a + z_prev)
        z, psi = slope(v, a)
        y = kappa * y + z @ w_out
        j_vv = alpha * (1 - r * psi_prev) if reset_grad else alpha * np.ones_like(v)
        j_va = alpha * r * beta * psi_prev if reset_grad else np.zeros_like(v)
        j_av, j_aa = rho * psi_prev, rho * (1 - beta * psi_prev)
        for name, pre in (("in", xs[t]), ("rec", z_prev)):
            eps_v, eps_a, ebar = traces[name]
            new_v = j_vv[:, None] * eps_v + j_va[:, None] * eps_a + (1 - alpha) * pre[:, :, None]
            new_a = j_av[:, None] * eps_v + j_aa[:, None] * eps_a
            e = psi[:, None] * (new_v - beta * new_a)
            traces[name] = [new_v, new_a, kappa * ebar + e]
        dy = 2 * (y - ys[t]) / (BATCH * N_OUT) / n_steps   # d/dy of mean_t mean((y - target)^2)
        signal = dy @ fb.T
        zbar = kappa * zbar + z
        g["w_in"] += np.einsum("bij,bj->ij", traces["in"][2], signal)
        g["w_rec"] += np.einsum("bij,bj->ij", traces["rec"][2], signal) * (1 - np.eye(N_REC))
        g["w_out"] += zbar.T @ dy
        history.append({k: val.copy() for k, val in g.items()})
    return history, v, a


@pytest.mark.parametrize("kind,reset,reset_grad,feedback", [
    ("ALIF", "soft", False, None), ("ALIF", "hard", True, "random"), ("LIF", "hard", False, "random")])
def test_eprop_matches_numpy_step_by_step(kind, reset, reset_grad, feedback):
    net = network(kind, reset)
    xs, ys = data(steps=4)
    # the objective is a mean over steps, so a prefix of t steps is scored with weight 1/t: compare the
    # gradient accumulated after each step t with NumPy's over the same prefix
    step = nn.make_train_step(net, mse, sgd(net), "eprop", feedback=feedback, reset_grad=reset_grad)
    fb = None if step.feedback is None else np.asarray(step.feedback)
    assert (fb is None) == (feedback is None)
    nn.init_all_states(net, batch_size=BATCH)

    @T.jit
    def prefixes():
        out = []
        for t in range(1, xs.shape[0] + 1):
            nn.reset_all_states(net, batch_size=BATCH)
            out.append(nn.eprop_gradients(net, mse, xs[:t], ys[:t], step.feedback, reset_grad)[0])
        return out, net.neuron.V.value

    ours, v_final = prefixes()
    for t, got in enumerate(ours, start=1):
        expected = numpy_eprop(net, xs[:t], ys[:t], fb, reset_grad)[0][-1]
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=f"step {t} {name}")
    _, v_np, _ = numpy_eprop(net, xs, ys, fb, reset_grad)
    np.testing.assert_allclose(v_final, v_np, rtol=1e-5, atol=1e-6)
    assert np.abs(expected["w_rec"]).max() > 0 and np.abs(expected["w_in"]).max() > 0  # spikes happened


@pytest.mark.parametrize("kind,reset", [("LIF", "soft"), ("ALIF", "hard")])
def test_eprop_without_recurrence_is_exactly_bptt(kind, reset):
    # with W_rec = 0 no gradient path runs through another neuron, so e-prop with the reset
    # differentiated (reset_grad=True) and symmetric feedback is the exact gradient
    net = network(kind, reset)
    net.w_rec.value = jnp.zeros((N_REC, N_REC))
    xs, ys = data(steps=15)
    full, loss = nn.make_train_step(net, mse, sgd(net), "bptt").gradients(xs, ys)
    eprop, loss_e = nn.make_train_step(net, mse, sgd(net), "eprop", reset_grad=True).gradients(xs, ys)
    assert_same(full, eprop, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(loss, loss_e, rtol=1e-5)
    paper, _ = nn.make_train_step(net, mse, sgd(net), "eprop").gradients(xs, ys)  # the reset not differentiated
    assert not np.allclose(np.asarray(paper[("w_in",)]), np.asarray(full[("w_in",)]), rtol=1e-3)


def test_eprop_trains_and_its_memory_does_not_grow_with_time():
    net = network("ALIF")
    opt = nn.optim.Adam(2e-2, params=net.weights())
    step = nn.make_train_step(net, mse, opt, "eprop", feedback="random", feedback_seed=3)
    xs, ys = data()
    losses = [float(step(xs, ys)) for _ in range(30)]
    assert losses[-1] < 0.8 * losses[0]
    sizes = {steps: step.lower(*data(steps)).compile().memory_analysis().temp_size_in_bytes for steps in (20, 80)}
    assert sizes[20] == sizes[80]


# -- the model and the errors ----------------------------------------------------------------------
def test_spiking_rnn_masks_self_connections_and_names_its_weights():
    net = network("LIF")
    assert list(net.weights()) == list(net.states(bc.ParamState))
    np.testing.assert_allclose(np.diag(net.rec_weight()), 0.0)
    keep = network("LIF", self_connections=True)
    np.testing.assert_allclose(keep.rec_weight(), keep.w_rec.value)
    assert "neuron=LIF" in repr(net)
    with pytest.raises(bc.InputError, match=r"SpikingRNN expects inputs whose last axis has 3 features"):
        nn.init_all_states(net, batch_size=2)(jnp.ones((2, 4)))
    with pytest.raises(bc.ConfigError, match=r"SpikingRNN n_rec must be a positive int, got 0"):
        nn.SpikingRNN(2, 0, 1)
    with pytest.raises(bc.ConfigError, match=r"neuron must be a spiking neuron of size 4.*Fix"):
        nn.SpikingRNN(2, 4, 1, neuron=nn.LIF(3))


def test_bad_mode_names_the_options():
    model = network()
    with pytest.raises(bc.ConfigError, match=r"mode='bpt'; the modes are 'bptt', 'checkpointed', 'truncated', "
                                             r"'eprop'\. Fix"):
        nn.make_train_step(model, mse, sgd(model), mode="bpt")
    assert nn.TrainStep.modes == ("bptt", "checkpointed", "truncated", "eprop")


@pytest.mark.parametrize("mode,kwargs,message", [
    ("bptt", {"window": 4}, r"window=4 with mode='bptt', but window belongs to mode='truncated'"),
    ("truncated", {}, r"mode='truncated' needs window=K"),
    ("truncated", {"window": 0}, r"window must be an int >= 1, got 0"),
    ("checkpointed", {"base": 1}, r"base must be an int >= 2, got 1"),
    ("eprop", {"base": 4}, r"base=4 with mode='eprop', but base belongs to mode='checkpointed'"),
    ("truncated", {"feedback": "random", "window": 2}, r"feedback='random' with mode='truncated'"),
    ("eprop", {"feedback": "mirror"}, r"feedback must be 'symmetric', 'random' or an array, got 'mirror'"),
    ("eprop", {"feedback": jnp.ones((2, 2))}, r"feedback must have shape \(n_rec, n_out\) = \(5, 2\), got \(2, 2\)"),
    ("eprop", {"feedback_seed": 1}, r"feedback_seed=1 with feedback=None.*Fix: pass feedback='random'"),
])
def test_options_are_checked(mode, kwargs, message):
    model = network()
    with pytest.raises(bc.ConfigError, match=message):
        nn.make_train_step(model, mse, sgd(model), mode, **kwargs)


def test_eprop_refuses_what_it_cannot_train():
    gru = gru_model()
    with pytest.raises(bc.ConfigError, match=r"mode='eprop' trains a brainstate.nn.SpikingRNN, got Sequential"):
        nn.make_train_step(gru, mse, sgd(gru), "eprop")
    ref = nn.SpikingRNN(N_IN, N_REC, N_OUT, neuron=nn.LIFRef(N_REC))
    with pytest.raises(bc.ConfigError, match=r"supports LIF and ALIF layers, got LIFRef"):
        nn.make_train_step(ref, mse, sgd(ref), "eprop")
    tau = nn.SpikingRNN(N_IN, N_REC, N_OUT, neuron=nn.LIF(N_REC, tau=bc.ParamState(jnp.full(N_REC, 9.0))))
    with pytest.raises(bc.ConfigError, match=r"the optimiser also trains \['neuron.tau'\].*model.weights\(\)"):
        nn.make_train_step(tau, mse, sgd(tau), "eprop")
    assert nn.make_train_step(tau, mse, nn.optim.SGD(0.1, params=tau.weights()), "eprop").mode == "eprop"
    vec = nn.SpikingRNN(N_IN, N_REC, N_OUT, tau_out=jnp.array([5.0, 9.0]))
    with pytest.raises(bc.ConfigError, match=r"one read-out time constant.*shape \(2,\)"):
        nn.make_train_step(vec, mse, sgd(vec), "eprop")
    with pytest.raises(bc.ConfigError, match=r"optimizer must be a brainstate.nn.optim optimiser"):
        nn.make_train_step(vec, mse, object())
    with pytest.raises(bc.ConfigError, match=r"loss_fn must be callable"):
        nn.make_train_step(vec, "mse", sgd(vec))


def test_inputs_and_targets_are_checked():
    model = network()
    xs, ys = data()
    with pytest.raises(bc.InputError, match=r"expects time-major inputs \(T, batch, \.\.\.\)"):
        nn.make_train_step(model, mse, sgd(model)).gradients(jnp.ones(5), ys)
    with pytest.raises(bc.InputError, match=r"every target needs a leading axis of T = 12.*broadcast"):
        nn.make_train_step(model, mse, sgd(model), "eprop").gradients(xs, jnp.zeros(BATCH))
    with pytest.raises(bc.InputError, match=r"e-prop expects inputs of shape \(T, batch, 3\)"):
        nn.eprop_gradients(model, mse, jnp.ones((4, 2)), jnp.ones((4, 2)))
