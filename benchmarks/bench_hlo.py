"""Scenario 7: program identity: our jitted train step compiles to the same XLA program as plain JAX.

Compares brainstate's ``transform.jit`` train step (scenario 1's, with ``transform.grad`` over
ParamStates and ``params[k].value -= lr * grads[k]``) with the hand-threaded pure function
``(params, x, y) -> (new params, loss)`` under ``jax.jit``. Two views:

* the lowered StableHLO module (``.lower(...).as_text()``): every ``stablehlo.*`` / ``call`` op
  in every function: what JAX emits before XLA touches it;
* the optimised HLO (``.lower(...).compile().as_text()``): every instruction of every
  computation, fused computations included, leaving out ``parameter``, ``tuple`` and
  ``get-tuple-element``: these are bookkeeping whose number follows from how the inputs and
  outputs are grouped (our program returns ``(loss, {index: new value})``, the plain one
  ``(new params, loss)``), not from the computation.

It also compares the 1,000-step loop of the spiking network (scenario 4) the same way, as
information (no target). The target: identical optimised op counts, opcode by opcode.

    python benchmarks/bench_hlo.py [--quick]
"""

from __future__ import annotations

import collections
import re
from typing import Any

import _common as C
import _mlp
import jax
import jax.numpy as jnp

BOOKKEEPING = {"parameter", "tuple", "get-tuple-element"}
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*(.*)$")


def _skip_shape(text: str) -> str:
    """``text`` after the leading result shape (which may be a parenthesised tuple)."""
    text = text.lstrip()
    if text.startswith("("):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                return text[i + 1:].lstrip()
    return text.split(" ", 1)[1] if " " in text else ""


def hlo_ops(text: str) -> collections.Counter:
    """Opcode histogram of an optimised HLO module's text (all computations)."""
    ops: collections.Counter = collections.Counter()
    for line in text.splitlines():
        m = _INSTR.match(line)
        if not m or line.lstrip().startswith(("HloModule", "ENTRY")):
            continue
        rest = _skip_shape(m.group(1))
        op = re.match(r"([a-z][\w\-]*)\(", rest)
        if op:
            ops[op.group(1)] += 1
    return ops


def stablehlo_ops(text: str) -> collections.Counter:
    """Opcode histogram of a lowered StableHLO module's text (pretty and generic ``"op"(...)`` forms)."""
    ops: collections.Counter = collections.Counter()
    for m in re.finditer(r"(?:=\s*|^\s*)\"?(stablehlo\.[\w.]+|call|func\.call)\b", text, re.M):
        ops[m.group(1)] += 1
    return ops


def compare(plain_lowered: Any, ours_lowered: Any) -> dict:
    p_opt = hlo_ops(plain_lowered.compile().as_text())
    o_opt = hlo_ops(ours_lowered.compile().as_text())
    p_low, o_low = stablehlo_ops(plain_lowered.as_text()), stablehlo_ops(ours_lowered.as_text())
    count = lambda c: sum(v for k, v in c.items() if k not in BOOKKEEPING)  # noqa: E731
    diff = {k: (p_opt.get(k, 0), o_opt.get(k, 0)) for k in sorted(set(p_opt) | set(o_opt))
            if p_opt.get(k, 0) != o_opt.get(k, 0)}
    return {
        "stablehlo_plain": sum(p_low.values()), "stablehlo_ours": sum(o_low.values()),
        "hlo_plain": count(p_opt), "hlo_ours": count(o_opt),
        "hlo_plain_all": sum(p_opt.values()), "hlo_ours_all": sum(o_opt.values()),
        "opcode_differences": diff,
        "hlo_histogram_plain": dict(sorted(p_opt.items())), "hlo_histogram_ours": dict(sorted(o_opt.items())),
    }


def train_step_programs(sizes: list[int], batch: int) -> tuple[Any, Any]:
    arrays = _mlp.mlp_arrays(0, sizes)
    x, y = jnp.ones((batch, sizes[0])), jnp.ones((batch, sizes[-1]))
    plain = jax.jit(_mlp.plain_step_fn(0.01)).lower(arrays, x, y)
    ours, _ = _mlp.ours_step(_mlp.StateMLP(arrays), 0.01)
    return plain, ours.lower(x, y)


def snn_programs(n: int, steps: int) -> tuple[Any, Any]:
    import _coba

    net = _coba.Network(n, seed=0)
    plain = jax.jit(_coba.plain_run, static_argnums=(2,)).lower(net.plain_state(), net.conn, steps)
    ours = _coba.ours_model(net)
    return plain, _coba.ours_runner(ours, steps).lower()


def _rows(title: str, result: dict) -> C.Section:
    rows = [
        C.Row("plain jax: StableHLO ops", result["stablehlo_plain"], result["stablehlo_plain"],
              result["stablehlo_plain"], 1, 1.0, "lowered module, all functions"),
        C.Row("brainstate: StableHLO ops", result["stablehlo_ours"], result["stablehlo_ours"],
              result["stablehlo_ours"], 1, result["stablehlo_ours"] / result["stablehlo_plain"], ""),
        C.Row("plain jax: optimised HLO ops", result["hlo_plain"], result["hlo_plain"], result["hlo_plain"], 1, 1.0,
              f"excl. {', '.join(sorted(BOOKKEEPING))} ({result['hlo_plain_all']} with them)"),
        C.Row("brainstate: optimised HLO ops", result["hlo_ours"], result["hlo_ours"], result["hlo_ours"], 1,
              result["hlo_ours"] / result["hlo_plain"], f"({result['hlo_ours_all']} with them)"),
    ]
    notes = [f"opcodes whose counts differ (plain, ours): {result['opcode_differences'] or 'none'}"]
    return C.Section(title, rows, unit="ops", notes=notes)


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    sizes, batch = [32, 32, 32, 32, 10], 8
    n, steps = (200, 20) if args.quick else (4000, 1000)
    step = compare(*train_step_programs(sizes, batch))
    snn = compare(*snn_programs(n, steps))
    sections = [_rows(f"train step {'-'.join(map(str, sizes))}, batch {batch}", step),
                _rows(f"COBA network loop, N={n}, {steps} steps (information)", snn)]
    targets = [C.Target("train step: optimised HLO op count, brainstate / plain", step["hlo_ours"] / step["hlo_plain"],
                        1.0),
               C.Target("train step: opcodes with different counts", len(step["opcode_differences"]), 0)]
    config = {"sizes": "-".join(map(str, sizes)), "batch": batch, "snn_n": n, "snn_steps": steps}
    args.no_plot = True  # op counts are a table, not a chart
    C.finish(C.report("hlo", sections, targets, args, config, extra={"train_step": step, "snn": snn}), args)


if __name__ == "__main__":
    main()
