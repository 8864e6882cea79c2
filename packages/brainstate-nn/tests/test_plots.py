"""Plots: a smoke test with the Agg backend, and the error naming the extra when matplotlib is missing."""

import builtins

import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def spikes():
    rng = np.random.default_rng(0)
    return rng.random((200, 20)) < 0.05


def test_all_plots_draw_and_save(spikes, tmp_path):
    record = nn.SpikeRecord.from_dense(spikes, dt=0.1, t0=5.0)
    fig, axes = plt.subplots(3, 1)
    ax = nn.raster_plot(record, ax=axes[0], title="raster")
    times, sources = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert len(times) == spikes.sum() and times.min() >= 5.0 and sources.max() < 20
    nn.rate_plot(record, width=2.0, ax=axes[1])
    assert len(axes[1].lines[0].get_ydata()) == 200
    V = np.cumsum(np.ones((200, 20)), axis=0)
    nn.membrane_plot(np.arange(200) * 0.1, V, neurons=[1, 2, 3], ax=axes[2])
    assert len(axes[2].lines) == 3 and axes[2].get_legend() is not None
    fig.savefig(tmp_path / "plots.png")
    plt.close(fig)
    assert (tmp_path / "plots.png").stat().st_size > 0


def test_dense_raster_uses_the_given_times(spikes):
    ax = nn.raster_plot(spikes, ts=np.arange(200) * 0.5)
    steps, _ = np.nonzero(spikes)
    np.testing.assert_allclose(np.sort(ax.lines[0].get_xdata()), np.sort(steps * 0.5))
    plt.close(ax.figure)


def test_raster_accepts_brainpys_argument_order(spikes):
    ts = np.arange(200) * 0.5
    a, b = nn.raster_plot(spikes, ts), nn.raster_plot(ts, spikes)
    np.testing.assert_array_equal(a.lines[0].get_xdata(), b.lines[0].get_xdata())
    plt.close("all")


def test_plots_with_a_new_figure_and_environ_dt(spikes):
    with bc.environ.context(dt=0.1):
        ax = nn.rate_plot(spikes, width=1.0)
    np.testing.assert_allclose(ax.lines[0].get_xdata()[-1], 199 * 0.1)
    plt.close(ax.figure)


def test_missing_matplotlib_names_the_extra(monkeypatch, spikes):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for draw in (lambda: nn.raster_plot(spikes), lambda: nn.rate_plot(spikes, dt=0.1),
                 lambda: nn.membrane_plot(np.arange(200), spikes)):
        with pytest.raises(ImportError, match=r"need matplotlib.*pip install 'brainstate-nn\[plot\]'"):
            draw()


@pytest.mark.parametrize("draw, pattern", [
    (lambda: nn.raster_plot(np.zeros(5)), r"raster_plot needs spikes of shape \(time, neurons\)"),
    (lambda: nn.raster_plot(np.zeros((5, 2)), ts=np.arange(4)), r"4 times for 5 steps"),
    (lambda: nn.membrane_plot(np.arange(3), np.zeros((4, 2))), r"3 times for 4 samples"),
    (lambda: nn.membrane_plot(np.arange(4), np.zeros((4, 2)), neurons=[5]), r"neurons \[5\] are out of range"),
])
def test_bad_inputs_raise_input_errors(draw, pattern):
    with pytest.raises(bc.InputError, match=pattern):
        draw()
