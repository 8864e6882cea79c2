"""Projections: the synapse each one drives (shared for equal descriptions), delays, and the arithmetic of a step."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.1


def run(net, inputs):
    """Call ``net(x)`` for each x under dt, in one compiled loop; returns the stacked outputs."""
    with bc.environ.context(dt=DT):
        return T.jit(lambda xs: T.for_loop(net, xs))(jnp.asarray(inputs))


class Pair(nn.Module):
    """A pre population of spike sources driving post through one projection type."""

    def __init__(self, make_proj, n=3):
        super().__init__()
        self.post = nn.LIF(n, R=1.0, tau=10.0, V_th=1e9, V_rest=0.0)
        self.proj = make_proj(self.post)

    def __call__(self, spikes):
        self.proj(spikes)
        self.post()
        return self.post.V.value


def test_align_post_expon_cuba_is_the_convolution_of_the_analytic_kernels():
    """One spike at step 0 through Expon(tau_s) and CUBA into LIF(tau): V is the exact solution on the grid."""
    tau_s, tau, w = 5.0, 10.0, 2.0
    with bc.environ.context(dt=DT):
        net = nn.init_all_states(Pair(lambda post: nn.AlignPostProj(
            comm=nn.OneToOne(3, w), syn=nn.Expon.desc(3, tau=tau_s), out=nn.CUBA.desc(), post=post)))
    spikes = np.zeros((200, 3), np.float32)
    spikes[0, 0] = 1.0
    out = np.asarray(run(net, spikes))
    V = out[:, 0]
    assert (out[:, 1:] == 0).all()
    # exponential Euler holds g over each step: V_k = V_{k-1} e^{-dt/tau} + g_k (1 - e^{-dt/tau}), g_k = w e^{-k dt / tau_s}
    a = math.exp(-DT / tau)
    ref, v = [], 0.0
    for k in range(200):
        v = v * a + w * math.exp(-k * DT / tau_s) * (1 - a)
        ref.append(v)
    np.testing.assert_allclose(V, ref, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("delay", [0.1, 0.5, 1.0])
def test_delay_shifts_the_arrival_by_whole_steps(delay):
    with bc.environ.context(dt=DT):
        net = nn.init_all_states(Pair(lambda post: nn.DeltaProj(comm=nn.OneToOne(3, 1.0), post=post, delay=delay)))
    spikes = np.zeros((30, 3), np.float32)
    spikes[2, 1] = 1.0
    V = np.asarray(run(net, spikes))[:, 1]
    first = int(np.argmax(V > 0))
    assert first == 2 + round(delay / DT)
    assert V[first] == pytest.approx(1.0)


def test_projections_with_equal_descriptions_share_one_synapse():
    with bc.environ.context(dt=DT):
        post = nn.LIF(4, tau=10.0, V_th=1e9)
        make = lambda w, tau, E: nn.AlignPostProj(comm=nn.OneToOne(4, w), syn=nn.Expon.desc(4, tau=tau),  # noqa: E731
                                                  out=nn.COBA.desc(E=E), post=post)
        a, b, c, d = make(1.0, 5.0, 0.0), make(2.0, 5.0, 0.0), make(1.0, 10.0, 0.0), make(1.0, 5.0, -80.0)
        own = nn.AlignPostProj(comm=nn.OneToOne(4, 1.0), syn=nn.Expon(4, tau=5.0), out=nn.COBA(E=0.0), post=post)
        nn.init_all_states([post, a, b, c, d, own])
        assert a.syn is b.syn and a.out is b.out
        assert len({id(p.syn) for p in (a, c, d, own)}) == 4
        assert len(post.before_updates) == 4 and len(post.current_inputs) == 4
        for proj in (a, b, c, d, own):
            proj(jnp.ones(4))
        post()
    np.testing.assert_allclose(a.syn.g.value, 3.0)  # 1 + 2 arrived in the same step
    np.testing.assert_allclose(own.syn.g.value, 1.0)


def test_current_proj_and_prefetch_input():
    """CurrentProj reads the pre population through its prefetch: COBA current g (E - V) with g = w * spike."""
    with bc.environ.context(dt=DT):
        pre = nn.SpikeTime(2, indices=[0, 1], times=[0.0, 0.3])
        post = nn.LIF(2, tau=10.0, V_th=1e9, V_rest=-60.0, V_initializer=-60.0, R=0.1)
        proj = nn.CurrentProj(pre, comm=nn.OneToOne(2, 5.0), out=nn.COBA.desc(E=0.0), post=post)
        nn.init_all_states([pre, post, proj])
        vs = []
        for k in range(5):
            with bc.environ.context(t=k * DT):
                proj()
                post()
            vs.append(np.asarray(post.V.value))
    vs = np.array(vs)
    # a step with g: V -> V_inf + (V - V_inf) e^{-dt (1 + R g) / tau}, V_inf = (V_rest + R g E) / (1 + R g)
    g, R, tau = 5.0, 0.1, 10.0
    v_inf = (-60.0 + R * g * 0.0) / (1 + R * g)
    expected = v_inf + (-60.0 - v_inf) * math.exp(-DT * (1 + R * g) / tau)
    np.testing.assert_allclose(vs[0], [expected, -60.0], rtol=1e-5)
    np.testing.assert_allclose(vs[3, 1], expected, rtol=1e-5)


@pytest.mark.parametrize("make, error, match", [
    (lambda post: nn.DeltaProj(comm=nn.OneToOne(3), post="neurons"), bc.ConfigError, r"post must be a Dynamics"),
    (lambda post: nn.DeltaProj(comm=3, post=post), bc.ConfigError, r"comm must be callable"),
    (lambda post: nn.DeltaProj(comm=nn.OneToOne(3), post=post, delay=0.25), bc.ConfigError,
     r"not a multiple of dt"),
    (lambda post: nn.AlignPostProj(comm=nn.OneToOne(3), syn=nn.Expon.desc(4), out=nn.CUBA.desc(), post=post),
     bc.ConfigError, r"syn has shape \(4,\), the target \(3,\)"),
    (lambda post: nn.AlignPostProj(comm=nn.OneToOne(3), syn=nn.Expon.desc(3), out=nn.Expon.desc(3), post=post),
     bc.ConfigError, r"out must be a synaptic output"),
    (lambda post: nn.CurrentProj(comm=nn.OneToOne(3), out=nn.Expon(3), post=post), bc.ConfigError,
     r"out must be a synaptic output"),
])
def test_bad_configuration_raises(make, error, match):
    with bc.environ.context(dt=DT), pytest.raises(error, match=match):
        make(nn.LIF(3))


def test_update_without_input_raises():
    with bc.environ.context(dt=DT):
        proj = nn.DeltaProj(comm=nn.OneToOne(3), post=nn.LIF(3))
        with pytest.raises(bc.ConfigError, match=r"got no input.*prefetch"):
            proj()


class Recurrent(nn.Module):
    """A recurrent LIF population through one AlignPostProj (CUBA), with a delay; comm is given."""

    def __init__(self, comm, n):
        super().__init__()
        self.N = nn.LIF(n, R=1.0, tau=10.0, V_th=1.0, spk_reset="soft")
        self.proj = nn.AlignPostProj(comm=comm, syn=nn.Expon.desc(n, tau=5.0), out=nn.CUBA.desc(), post=self.N,
                                     delay=1.0)

    def __call__(self, x):
        self.proj(self.N.spike)
        self.N(x)
        return self.N.V.value


def test_gradient_through_a_recurrent_network_equals_the_dense_one():
    """BPTT through 100 steps of surrogate spikes: event-driven synapses give the dense network's gradient."""
    n = 40
    conn = nn.EventFixedProb(n, n, 0.3, include_self=False, seed=4)
    w = np.random.default_rng(1).uniform(0.0, 0.4, conn.n_synapses)
    sparse = nn.SparseConn(n, n, conn.pre, conn.post, conn_weight=w)
    dense = nn.Linear(n, n, w_init=np.asarray(sparse.to_dense()), b_init=None)
    drive = jnp.asarray(np.random.default_rng(2).uniform(1.0, 4.0, (100, n)), jnp.float32)
    grads = {}
    for name, comm in (("sparse", sparse), ("dense", dense)):
        with bc.environ.context(dt=0.5):
            net = nn.init_all_states(Recurrent(comm, n))

            def loss(net=net):
                return T.for_loop(net, drive)[-1].sum()

            grads[name] = T.grad(loss, grad_states=comm.weight)()
    g_sparse = np.asarray(grads["sparse"])[sparse.pre, sparse._slot]
    g_dense = np.asarray(grads["dense"]["weight"])[sparse.pre, sparse.post]
    assert np.abs(g_dense).max() > 0
    np.testing.assert_allclose(g_sparse, g_dense, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("kind", ["AlignPostProj", "CurrentProj"])
def test_a_compiled_step_leaves_no_traced_conductance_behind(kind):
    """The output's per-step conductance is released after the target's step, so no tracer outlives a
    compiled loop (JAX's leak checker) and a later call cannot read a stale one."""
    import jax

    with bc.environ.context(dt=0.1):
        post = nn.LIF(2, tau=10.0, V_th=100.0)
        if kind == "AlignPostProj":
            proj = nn.AlignPostProj(comm=nn.OneToOne(2, 1.0), syn=nn.Expon.desc(2, tau=5.0), out=nn.CUBA.desc(),
                                    post=post)
        else:
            proj = nn.CurrentProj(comm=nn.OneToOne(2, 1.0), out=nn.CUBA.desc(), post=post)
        nn.init_all_states([post, proj])

        def step(i):
            proj(jnp.ones(2))
            return post()

        with jax.checking_leaks():
            T.for_loop(step, jnp.arange(3))
        assert proj.out._conductance is None
        with pytest.raises(bc.StateUsageError, match=r"no conductance for this step.*bind_cond"):
            proj.out(post.V.value)
