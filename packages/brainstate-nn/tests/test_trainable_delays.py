"""Per-neuron and trainable synaptic delays of the projections: values, gradients against central finite
differences (float64), learning a delay, and the errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

N, STEPS = 3, 12
DELAYS = [0.4, 1.3, 2.6]  # ms with dt = 1: all between whole steps (the derivative is one-sided at those)


def signal(i):
    """A smooth presynaptic drive, different per neuron, so that every delay changes what arrives."""
    return 1.0 + jnp.sin(0.7 * i + jnp.arange(N))


def smooth_spike(x):
    return jax.nn.sigmoid(4.0 * x)


def wrap(kind, values):
    values = jnp.asarray(values)
    if kind == "ParamState":
        return bc.ParamState(values)
    if kind == "Param":
        return nn.Param(values, t=nn.SoftplusT(0.0))
    return values


def project(proj_kind, post, delay, **kw):
    comm = nn.OneToOne(N, jnp.array([1.5, 2.0, 2.5]))
    if proj_kind == "AlignPostProj":
        return nn.AlignPostProj(comm=comm, syn=nn.Expon.desc(N, tau=3.0), out=nn.CUBA.desc(), post=post,
                                delay=delay, **kw)
    if proj_kind == "CurrentProj":
        return nn.CurrentProj(comm=comm, out=nn.CUBA.desc(), post=post, delay=delay, **kw)
    return nn.DeltaProj(comm=comm, post=post, delay=delay, **kw)


def network(proj_kind, delay, **kw):
    post = nn.LIF(N, tau=4.0, V_th=1.0, spk_fun=smooth_spike)
    proj = project(proj_kind, post, delay, **kw)
    net = nn.init_all_states([post, proj])

    def loss():
        nn.reset_all_states(net)

        def step(i):
            proj(signal(i))
            return post()

        spikes = T.for_loop(step, jnp.arange(STEPS))
        return jnp.sum(jnp.linspace(1.0, 2.0, STEPS)[:, None] * spikes) + 0.1 * jnp.sum(post.V.value ** 2)

    return proj, loss


@pytest.mark.parametrize("wrapper", ["ParamState", "Param"])
@pytest.mark.parametrize("proj_kind", ["AlignPostProj", "CurrentProj", "DeltaProj"])
def test_delay_gradients_match_central_finite_differences(proj_kind, wrapper):
    with bc.environ.context(dt=1.0, precision=64):
        delay = wrap(wrapper, DELAYS)
        proj, loss = network(proj_kind, delay, max_delay=4.0)
        state = delay if isinstance(delay, bc.State) else delay.val
        grads = T.jit(T.grad(loss, grad_states={"d": state}))()["d"]
        assert grads.dtype == jnp.float64
        loss = T.jit(loss)
        base, eps, fd = state.value, 1e-5, np.zeros(N)
        for i in range(N):
            state.value = base.at[i].add(eps)
            up = float(loss())
            state.value = base.at[i].add(-eps)
            down = float(loss())
            fd[i] = (up - down) / (2 * eps)
        state.value = base
        assert np.all(np.abs(fd) > 1e-3), fd   # every neuron's delay matters
        np.testing.assert_allclose(np.asarray(grads), fd, rtol=1e-5, atol=1e-8)


def run_inputs(proj, post, xs):
    out = []
    for x in xs:
        proj(x)
        post()
        out.append(post.V.value)
    return jnp.diff(jnp.stack(out), axis=0, prepend=0.0)


def delta_net(delay, **kw):
    post = nn.IF(N, tau=1e9, V_th=1e9)
    proj = nn.DeltaProj(comm=nn.OneToOne(N, 1.0), post=post, delay=delay, **kw)
    nn.init_all_states([post, proj])
    return proj, post


XS = [jnp.full(N, float(k) ** 2) for k in range(8)]


@pytest.mark.parametrize("interp, delays, expected_steps", [
    (None, [0.0, 1.0, 3.0], [0, 1, 3]),
    ("round", [0.4, 1.6, 2.5], [0, 2, 2]),           # ties to even
    ("linear_interp", [0.5, 1.25, 3.0], [0.5, 1.25, 3.0]),
])
def test_per_neuron_delays_read_the_input_that_many_steps_back(interp, delays, expected_steps):
    with bc.environ.context(dt=1.0):
        proj, post = delta_net(jnp.array(delays), interp_method=interp)
        got = np.asarray(run_inputs(proj, post, XS))
    n = np.arange(8)[:, None]
    s = np.asarray(expected_steps, float)[None, :]
    low, frac = np.floor(s), s - np.floor(s)
    value = lambda k: np.where(n - k >= 0, (n - k) ** 2, 0.0)  # noqa: E731
    np.testing.assert_allclose(got, (1 - frac) * value(low) + frac * value(low + 1), rtol=1e-6)


def test_a_per_neuron_array_equals_one_projection_per_neuron_with_a_scalar_delay():
    with bc.environ.context(dt=0.5):
        proj, post = delta_net(jnp.array([0.5, 1.0, 2.0]))
        together = np.asarray(run_inputs(proj, post, XS))
        for lane, d in enumerate([0.5, 1.0, 2.0]):
            single, single_post = delta_net(d)
            np.testing.assert_array_equal(together[:, lane], np.asarray(run_inputs(single, single_post, XS))[:, lane])


def test_a_trainable_delay_is_a_weight_like_any_other_and_learns_the_target_delay():
    with bc.environ.context(dt=1.0):
        delay = nn.Param(jnp.array([1.4, 3.5, 3.3]), t=nn.SoftplusT(0.0))
        post = nn.IF(N, tau=1e9, V_th=1e9)
        proj = nn.DeltaProj(comm=nn.OneToOne(N, 1.0), post=post, delay=delay, max_delay=6.0)
        net = nn.init_all_states([post, proj])
        params = proj.states(bc.ParamState)
        assert set(params) == {("comm", "weight"), ("delay_time", "val")}, list(params)
        target_steps = jnp.array([2.0, 3.0, 4.0])
        ts = jnp.arange(30.0)
        wave = lambda t: jnp.sin(0.3 * t)  # noqa: E731
        want = jnp.where(ts[:, None] >= target_steps, wave(ts[:, None] - target_steps), 0.0)
        opt = nn.optim.Adam(optax.linear_schedule(0.1, 0.005, 60), params={"d": delay.val})

        @T.jit
        def train():
            def loss():
                nn.reset_all_states(net)

                def step(t):
                    proj(jnp.full(N, wave(t)))
                    post()
                    return post.V.value

                got = jnp.diff(T.for_loop(step, ts), axis=0, prepend=0.0)
                return jnp.mean((got - want) ** 2)

            g, value = T.grad(loss, grad_states=opt.param_states, return_value=True)()
            opt.update(g)
            return value

        losses = [float(train()) for _ in range(60)]
        assert losses[-1] < 0.05 * losses[0], losses[::10]
        np.testing.assert_allclose(np.asarray(delay.value()), np.asarray(target_steps), atol=0.05)


def test_a_trainable_delay_is_clipped_to_max_delay_and_read_positive():
    with bc.environ.context(dt=1.0):
        d = bc.ParamState(jnp.array([1.0, 1.0, 1.0]))
        proj, post = delta_net(d, max_delay=2.0)
        d.value = jnp.array([-1.0, 9.0, 2.0])   # an optimiser went through 0 and past max_delay
        got = np.asarray(run_inputs(proj, post, XS))
    np.testing.assert_allclose(got[:, 0], [max(n - 1, 0) ** 2 if n >= 1 else 0.0 for n in range(8)])  # |-1| = 1
    np.testing.assert_allclose(got[:, 1], got[:, 2])                                                   # clipped at 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(delay=bc.ParamState(jnp.ones(N))), r"DeltaProj: a trainable delay needs max_delay.*Fix"),
    (dict(delay=bc.ParamState(jnp.full(N, 3.0)), max_delay=2.0), r"delay reaches 3 ms, beyond max_delay = 2 ms"),
    (dict(delay=bc.ParamState(jnp.ones(N)), max_delay=2.0, interp_method="round"),
     r"a trainable delay cannot be rounded.*Fix"),
    (dict(delay=jnp.array([1.0, -1.0, 2.0])), r"DeltaProj delay must be >= 0.*Fix"),
    (dict(delay=jnp.ones(2)), r"DeltaProj delay has shape \(2,\), which does not broadcast.*\(3,\)"),
    (dict(delay=jnp.array([0.5, 1.0, 1.0])), r"the delays \[0.5, 1.0, 1.0\] ms are not all multiples of dt = 1"),
    (dict(delay=jnp.ones(N), interp_method="cubic"), r"reads linearly between steps.*got interp_method='cubic'"),
    (dict(max_delay=2.0), r"got max_delay=2.0 without a delay"),
    (dict(delay=1.0, max_delay=2.0), r"max_delay=2.0 with the single fixed delay 1.0"),
])
def test_delay_errors_name_the_projection_and_the_fix(kwargs, message):
    with bc.environ.context(dt=1.0):
        with pytest.raises(bc.ConfigError, match=message):
            nn.DeltaProj(comm=nn.OneToOne(N, 1.0), post=nn.IF(N), **kwargs)


def test_a_changed_dt_is_refused_by_a_per_neuron_delay():
    with bc.environ.context(dt=1.0):
        proj, post = delta_net(bc.ParamState(jnp.ones(N)), max_delay=2.0)
    with bc.environ.context(dt=0.5):
        with pytest.raises(bc.ConfigError, match=r"converted with dt = 1.0 ms, but environ dt is now 0.5 ms"):
            proj(jnp.ones(N))


def test_input_modules_do_not_shadow_the_modules_method():
    with bc.environ.context(dt=1.0):
        pre = nn.init_all_states(nn.IF(N))
        post = nn.IF(N)
        proj = nn.DeltaProj(pre.prefetch("spike"), comm=nn.OneToOne(N, 1.0), post=post, delay=jnp.ones(N))
    assert len(proj.input_modules) == 1
    assert proj in list(proj.modules()) and proj.delay in list(proj.modules())


@pytest.mark.parametrize("jit", [False, True])
def test_one_trainable_delay_for_all_neurons_reads_like_the_fixed_delay(jit):
    with bc.environ.context(dt=0.5):
        proj, post = delta_net(bc.ParamState(jnp.asarray(1.5)), max_delay=3.0)
        fixed, fixed_post = delta_net(1.5)
        if jit:
            step = T.jit(lambda x: (proj(x), post()))
            got = []
            for x in XS:
                step(x)
                got.append(post.V.value)
            got = np.diff(np.stack(got), axis=0, prepend=0.0)
        else:
            got = np.asarray(run_inputs(proj, post, XS))
        np.testing.assert_allclose(got, np.asarray(run_inputs(fixed, fixed_post, XS)), rtol=1e-6)
