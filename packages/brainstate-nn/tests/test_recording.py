"""run(): recording every k-th step, bit-packed spikes, the clock; spike statistics against known trains."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.1


class Counter(nn.Dynamics):
    """x counts steps; fires when x hits a multiple of its period (per neuron)."""

    def __init__(self, periods):
        super().__init__(len(periods))
        self.periods = jnp.asarray(periods)

    def init_state(self, batch_size=None, **kw):
        self.init_hidden("x", 0.0, batch_size)

    def update(self):
        self.x.value = self.x.value + 1
        return (self.x.value % self.periods) == 0


def test_every_kth_step_gives_the_right_shapes_and_values():
    model = nn.init_all_states(Counter([2, 3, 5]))
    rec = nn.run(lambda i: {"spike": model()}, 60, record={"x": model.x}, spikes=["spike"], every=4, dt=DT)
    assert rec["x"].shape == (15, 3)
    # sample j is read after step 4 j + 3, when x = 4 (j + 1)
    np.testing.assert_allclose(rec["x"][:, 0], 4 * np.arange(1, 16))
    np.testing.assert_allclose(rec.steps, 4 * np.arange(15) + 3)
    np.testing.assert_allclose(rec.times, (4 * np.arange(15) + 3) * DT, rtol=1e-6)
    spikes = rec["spike"]
    assert isinstance(spikes, nn.SpikeRecord) and spikes.packed.dtype == np.uint8
    assert spikes.packed.shape == (60, 1)  # 3 neurons in one byte per step
    dense = spikes.to_dense()
    x = np.arange(1, 61)[:, None]
    np.testing.assert_array_equal(dense, x % np.array([2, 3, 5]) == 0)


def test_clock_is_set_for_each_step_and_continues_with_i0_and_t0():
    seen = bc.State(jnp.zeros((2,)))

    def step(i):
        seen.value = jnp.stack([bc.environ.get("i") * 1.0, bc.environ.get("t")])
        return {"i": i}

    rec = nn.run(step, 10, record={"seen": seen}, every=5, dt=0.5, t0=100.0, i0=20)
    np.testing.assert_allclose(rec["seen"], [[24, 100.0 + 24 * 0.5], [29, 100.0 + 29 * 0.5]])
    np.testing.assert_array_equal(rec["i"], [24, 29])
    np.testing.assert_allclose(rec.times, [112.0, 114.5])


def test_spikes_of_a_lif_population_inside_jit_match_an_eager_loop():
    with bc.environ.context(dt=DT):
        lif = nn.init_all_states(nn.LIF(4, tau=10.0, spk_reset="hard"))
        drive = jnp.array([1.2, 1.5, 2.0, 0.5])
        rec = nn.run(lambda i: {"spike": lif(drive)}, 300, record={"V": lif.V}, spikes=["spike"], every=10)
        nn.init_all_states(lif)
        eager = np.array([np.asarray(lif(drive)) for _ in range(300)]) > 0
    np.testing.assert_array_equal(rec["spike"].to_dense(), eager)
    assert rec["V"].shape == (30, 4)
    assert rec["spike"].count()[3] == 0 and rec["spike"].count()[2] > rec["spike"].count()[0] > 0


def test_batched_spikes_keep_their_shape_and_spike_sources_can_be_states():
    model = nn.init_all_states(Counter([2, 3]), batch_size=3)
    spike_state = bc.State(jnp.zeros((3, 2), bool))

    def step(i):
        spike_state.value = model()

    rec = nn.run(step, 12, spikes={"s": spike_state}, dt=DT)
    assert rec["s"].shape == (3, 2) and rec["s"].to_dense().shape == (12, 3, 2)
    assert rec["s"].count().tolist() == [[6, 4]] * 3
    steps, sources = rec["s"].indices()
    assert steps[0] == 1 and sources.max() == 5


def test_run_with_a_progress_bar_and_without_jit(capsys):
    model = nn.init_all_states(Counter([2]))
    bar = T.ProgressBar(freq=1, desc="sim")
    rec = nn.run(lambda i: {"spike": model()}, 20, spikes=["spike"], every=5, pbar=bar, dt=DT)
    assert bar.count == 4 and rec["spike"].count().tolist() == [10]

    @T.jit
    def inside():
        return nn.run(lambda i: {"spike": model()}, 10, spikes=["spike"], dt=DT, jit=False)["spike"].packed

    assert np.asarray(inside()).shape == (10, 1)


def test_a_single_output_is_recorded_as_out():
    model = nn.init_all_states(Counter([3]))
    def step(i):
        model()
        return model.x.value * 2

    rec = nn.run(step, 6, every=3, dt=DT, jit=False)
    np.testing.assert_allclose(rec["out"][:, 0], [6.0, 12.0])


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(n_steps=10, every=3), r"every=3 must be a positive int dividing n_steps=10"),
    (dict(n_steps=0), r"n_steps must be a positive int"),
    (dict(n_steps=4, spikes=["nope"]), r"spikes names 'nope'.*Fix"),
    (dict(n_steps=4, record={"x": 3.0}), r"record\['x'\] is 3.0.*neither a State nor a function"),
])
def test_bad_run_arguments_raise_config_errors(kwargs, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        nn.run(lambda i: {"s": jnp.zeros(2)}, dt=DT, **kwargs)


# -- statistics ----------------------------------------------------------------------------------
def test_cv_isi_of_poisson_is_one_and_of_regular_is_zero():
    rng = np.random.default_rng(0)
    poisson = rng.random((200_000, 20)) < 0.01
    regular = np.zeros((1000, 3), bool)
    regular[::25, :] = True
    np.testing.assert_allclose(nn.cv_isi(poisson, dt=DT), 1.0, atol=0.05)
    np.testing.assert_allclose(nn.cv_isi(regular, dt=DT), 0.0, atol=1e-12)
    assert np.isnan(nn.cv_isi(np.zeros((10, 2)), dt=DT)).all()


def test_fano_factor_of_poisson_is_about_one():
    rng = np.random.default_rng(1)
    poisson = rng.random((100_000, 20)) < 0.01
    fano = nn.fano_factor(poisson, window=10.0, dt=DT)  # 1000 bins: each estimate within ~0.05 of 1 - p
    np.testing.assert_allclose(fano.mean(), 0.99, atol=0.03)
    np.testing.assert_allclose(fano, 0.99, atol=0.25)
    regular = np.zeros((1000, 2), bool)
    regular[::10] = True
    np.testing.assert_allclose(nn.fano_factor(regular, window=1.0, dt=DT), 0.0)


def test_rates_from_a_spike_record_and_a_dense_array_agree():
    rng = np.random.default_rng(2)
    dense = rng.random((5000, 7)) < 0.02
    record = nn.SpikeRecord.from_dense(dense, dt=DT)
    np.testing.assert_allclose(nn.mean_firing_rate(record), dense.sum(0) / 0.5)
    np.testing.assert_allclose(nn.firing_rate(record, 2.0), nn.firing_rate(dense, 2.0, dt=DT))
    np.testing.assert_allclose(nn.firing_rate(dense, 10.0, dt=DT)[1000:4000].mean(), 200.0, rtol=0.05)


def test_statistics_reject_bad_input():
    with pytest.raises(bc.InputError, match=r"need a \(time, \.\.\.\) array.*got shape \(\)"):
        nn.cv_isi(np.array(1.0), dt=DT)
    with pytest.raises(bc.ConfigError, match=r"window=0.01 ms is shorter than one step"):
        nn.fano_factor(np.zeros((10, 2)), window=0.01, dt=DT)
    with pytest.raises(bc.ConfigError, match=r"firing_rate: width must be > 0 ms"):
        nn.firing_rate(np.zeros((10, 2)), width=0.0, dt=DT)


def test_docs_spiking_examples_run(tmp_path, monkeypatch):
    """Every ```python block of docs/spiking.md runs as written (in order, each in a fresh namespace)."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[3] / "docs" / "spiking.md"
    if not page.exists():
        pytest.skip("docs/ lives in the repository, not in the sdist")
    pytest.importorskip("matplotlib")
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    try:
        for code in blocks:
            exec(compile(code, str(page), "exec"), {"__name__": "docs_spiking"})
    finally:
        bc.environ.pop("dt", None)
