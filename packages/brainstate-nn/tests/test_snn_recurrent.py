"""examples/snn_recurrent.py: in its small configuration the ALIF network remembers the cue, by BPTT and by
e-prop, and the LIF network of the same size does not."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = [
    pytest.mark.skipif(not (EXAMPLES / "snn_recurrent.py").is_file(),
                       reason="examples/ lives in the repository, not in the sdist"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def example():
    """examples/snn_recurrent.py imported as a fresh module."""
    brainstate = pytest.importorskip("brainstate")
    if not hasattr(brainstate, "nn"):
        pytest.skip("the brainstate meta-package does not re-export brainstate.nn yet")
    spec = importlib.util.spec_from_file_location("example_snn_recurrent", EXAMPLES / "snn_recurrent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_task_needs_memory(example):
    n, g = 400, example.GROUP
    task = dict(n_cues=3, cue=10, gap=5, delay=30, recall=10)
    xs, labels = example.make_trials(n, **task, rng=np.random.default_rng(0))
    assert xs.shape == (85, n, 4 * g) and xs.dtype == np.float32 and set(np.unique(labels)) == {0, 1}
    pops = xs.reshape(85, n, 4, g)
    counts = np.stack([pops[c * 15:c * 15 + 10, :, :2].sum(axis=(0, 3)) for c in range(3)])  # (cue, trial, side)
    right = (counts[..., 1] > counts[..., 0]).sum(0)  # each cue is on one side, with ~20 spikes
    np.testing.assert_array_equal(labels, (right >= 2).astype(int))
    assert np.all(counts.sum(-1) > 5) and np.all(pops[10:15, :, :2] == 0)  # nothing between the cues
    # after the cues nothing in the input tells the classes apart: no cue spikes, the same go and noise
    late = pops[45:]
    assert np.all(late[:, :, :2] == 0)
    rate = late.mean(axis=(0, 3))
    np.testing.assert_allclose(rate[labels == 0].mean(0), rate[labels == 1].mean(0), atol=0.01)
    assert late[-10:, :, 2].mean() > 0.3 and late[:-10, :, 2].sum() == 0
    mask = example.recall_mask(**task)
    assert mask.shape == (85,) and mask.sum() == 10 and mask[-10:].all()


def test_fast_configuration(example, tmp_path):
    result = example.main(**example.FAST, out_dir=tmp_path, progress=False)
    # chance is 0.5: a broken gradient (or a network that forgets) stays near it
    assert result["alif_bptt_acc"] >= 0.78 and result["alif_eprop_acc"] >= 0.78
    assert result["alif_bptt_acc"] - result["lif_bptt_acc"] >= 0.05  # the adaptation carries the count
    assert all(0.005 < result[f"{name}_rate"] < 0.5 for name in ("lif_bptt", "alif_bptt", "alif_eprop"))
    fast = example.FAST
    assert result["steps"] == fast["n_cues"] * (fast["cue"] + fast["gap"]) + fast["delay"] + fast["recall"]
    pytest.importorskip("matplotlib")
    for name in ("snn_recurrent_curve.png", "snn_recurrent_raster.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_command_line(example):
    assert example.parse_args(["--fast", "--seed", "3"]) == {**example.FAST, "seed": 3, "out_dir": example.OUTPUT}
    assert example.parse_args(["--delay", "80"])["delay"] == 80
