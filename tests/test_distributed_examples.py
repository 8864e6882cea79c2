"""The distributed examples, small, on 8 CPU devices in a subprocess (the suite's own process has one).

``examples/distributed_mlp.py``: data- and tensor-parallel training give the one-device weights, and
every weight and Adam moment ends in its declared layout. ``examples/snn_sharded.py``: the network
split over 8 devices spikes as on one, each device holding its slice of the neurons.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

MLP = """
import json, jax, numpy as np, distributed_mlp as ex
runs = {m: ex.train(m, steps=15) for m in ("single", "data", "tensor")}
tensor = runs["tensor"]
out = {
    "devices": jax.device_count(),
    "diff": {m: ex.max_difference(r["weights"], runs["single"]["weights"]) for m, r in runs.items()},
    "layouts_kept": [r["layouts_kept"] for r in runs.values()],
    "layout": str(tensor["layouts"][("layers", 0, "weight")]["weight"]),
    "moment_layouts": sorted({str(a.sharding.spec) for a in jax.tree.leaves(tensor["moments"][0].mu)}),
}
print("RESULT" + json.dumps(out))
"""

SNN = """
import json, distributed_mlp, snn_sharded as ex
one, split, same = ex.main(n=512, steps=300)
print("RESULT" + json.dumps({"one": one, "split": split, "same": same}))
"""


def _run(code: str) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()}
    done = subprocess.run([sys.executable, "-c", code], cwd=EXAMPLES, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def test_data_and_tensor_parallel_training_match_one_device():
    out = _run(MLP)
    assert out["devices"] == 8
    assert out["diff"]["data"] < 1e-5 and out["diff"]["tensor"] < 1e-5, out["diff"]
    assert out["layouts_kept"] == [True, True, True], out
    assert out["layout"] == str(__import__("jax").sharding.PartitionSpec(None, "model"))
    # Adam's moments follow their weights: column-, row-split and replicated layouts, nothing else
    assert len(out["moment_layouts"]) >= 3, out["moment_layouts"]


def test_sharded_spiking_network_spikes_as_on_one_device():
    out = _run(SNN)
    assert out["one"] > 100
    assert abs(out["one"] - out["split"]) <= 0.01 * out["one"]
    assert out["same"] > 0.99
