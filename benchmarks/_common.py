"""Shared machinery of the benchmarks: interleaved timing, tables, targets, JSON and PNG output.

Every scenario script builds a list of :class:`Variant` objects (one of them the plain-JAX
baseline), hands them to :func:`measure`, which warms each up and then times them round-robin
(the order rotates every round, so a slow spell on the shared machine hits every variant alike),
and reports medians and ratios to the baseline with :func:`report`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax

RESULTS = Path(__file__).parent / "results"


@dataclass
class Variant:
    """One implementation of the measured program.

    Attributes:
        name: the row label, e.g. ``"plain jax"`` or ``"brainstate"``.
        run: performs one measured unit of work and blocks until it is done
            (``jax.block_until_ready``); its wall time is one sample.
        baseline: whether this is the plain-JAX reference the ratios are taken against.
        per: the number of operations one call of ``run`` performs (calls, steps ...); medians are
            divided by it, so the table shows the cost of one operation.
        note: shown in the table (sizes, variant details).
    """

    name: str
    run: Callable[[], Any]
    baseline: bool = False
    per: int = 1
    note: str = ""


@dataclass
class Row:
    name: str
    median_s: float
    q1_s: float
    q3_s: float
    samples: int
    ratio: float | None
    note: str = ""
    best_s: float | None = None
    best_ratio: float | None = None
    median_ratio: float | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Target:
    """A goal on a ratio: ``value <= limit`` (``at_most=True``) or ``value >= limit``."""

    name: str
    value: float
    limit: float
    at_most: bool = True
    stretch: float | None = None

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        op = "<=" if self.at_most else ">="
        extra = ""
        if self.stretch is not None:
            met = self.value <= self.stretch if self.at_most else self.value >= self.stretch
            extra = f"  (stretch {op} {self.stretch:g}: {'met' if met else 'not met'})"
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.value:.3f} {op} {self.limit:g}{extra}"

    def as_dict(self) -> dict:
        return {**self.__dict__, "passed": self.passed}


@dataclass
class Section:
    """One table: rows measured together, with ratios to the baseline row."""

    title: str
    rows: list[Row]
    unit: str = "s"
    higher_is_better: bool = False
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r} in section {self.title!r}; rows: {[r.name for r in self.rows]}")


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every script shares; scripts add their own options to it."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats: a smoke run, not a measurement")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per variant (default: per script)")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and PNG results")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG chart")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    return p


def block(x: Any) -> Any:
    return jax.block_until_ready(x)


def measure(variants: Sequence[Variant], repeats: int, warmup: int = 2) -> dict[str, list[float]]:
    """Time each variant ``repeats`` times, interleaved, after ``warmup`` untimed calls each.

    After the warm-up, everything alive is frozen (:func:`freeze_heap`), so a collection during a
    sample walks only what the samples allocated, not the whole of JAX.

    Returns:
        ``{variant name: [seconds per operation, ...]}``.
    """
    for v in variants:
        for _ in range(warmup):
            v.run()
    freeze_heap()
    samples: dict[str, list[float]] = {v.name: [] for v in variants}
    n = len(variants)
    for r in range(repeats):
        for j in range(n):
            v = variants[(r + j) % n]
            start = time.perf_counter()
            v.run()
            samples[v.name].append((time.perf_counter() - start) / v.per)
    return samples


def freeze_heap() -> None:
    """Collect, then move every live object out of the collector's reach (``gc.freeze``).

    With JAX, its caches and the programs compiled so far, a full collection takes tens to hundreds
    of milliseconds; one that falls into a sample is noise as large as the differences measured.
    Frozen objects are still freed by reference counting; only cycles among them wait.
    """
    gc.collect()
    gc.freeze()


def _quartiles(xs: Sequence[float]) -> tuple[float, float, float]:
    xs = sorted(xs)
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def section(title: str, variants: Sequence[Variant], samples: dict[str, list[float]], *,
            unit: str = "s", higher_is_better: bool = False, notes: Sequence[str] = ()) -> Section:
    """Summarise interleaved samples, with three ratios to the baseline variant.

    * ``ratio`` (the headline, used by the targets): the median over rounds of the per-round
      ratio ``sample / baseline sample``. The samples of one round were taken back to back, so
      a burst of load from other processes mostly hits both sides of a ratio; this is far more
      stable on a shared machine than the ratio of the medians.
    * ``median_ratio``: median / baseline median.
    * ``best_ratio``: best sample / best baseline sample (min time or max throughput): the cost
      with the least interference.

    ``samples`` are seconds per operation, or throughputs when ``higher_is_better``.
    """
    best = max if higher_is_better else min
    base = [v for v in variants if v.baseline]
    base_samples = samples[base[0].name] if base else None
    rows = []
    for v in variants:
        xs = samples[v.name]
        q1, med, q3 = _quartiles(xs)
        ratio = best_ratio = median_ratio = None
        if base_samples:
            median_ratio = med / _quartiles(base_samples)[1]
            best_ratio = best(xs) / best(base_samples)
            if len(xs) == len(base_samples):
                ratio = statistics.median(x / b for x, b in zip(xs, base_samples))
            else:
                ratio = median_ratio
        rows.append(Row(v.name, med, q1, q3, len(xs), ratio, v.note, best(xs), best_ratio, median_ratio))
    return Section(title, rows, unit, higher_is_better, list(notes))


def _fmt_time(seconds: float) -> str:
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {suffix}"
    return f"{seconds / 1e-9:.3g} ns"


def format_section(sec: Section) -> str:
    what = "throughput" if sec.higher_is_better else ("time" if sec.unit == "s" else "")
    best_head = "best" if sec.higher_is_better else "min"
    header = ["variant", "median", "IQR", best_head, f"{what} ratio".strip(), "ratio of medians", f"ratio of {best_head}s",
              "note"]
    fmt_value = _fmt_time if sec.unit == "s" else (lambda v: f"{v:.4g}")
    ratio_fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    lines = []
    for r in sec.rows:
        med = fmt_value(r.median_s) + ("" if sec.unit == "s" else f" {sec.unit}")
        iqr = f"{fmt_value(r.q1_s)} - {fmt_value(r.q3_s)}"
        best = "-" if r.best_s is None else fmt_value(r.best_s)
        lines.append([r.name, med, iqr, best, ratio_fmt(r.ratio), ratio_fmt(r.median_ratio), ratio_fmt(r.best_ratio),
                      r.note])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [f"== {sec.title}", fmt(header), fmt(["-" * w for w in widths])]
    out += [fmt(line) for line in lines]
    out += [f"   {n}" for n in sec.notes]
    return "\n".join(out)


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        root = Path(__file__).parent.parent
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "packages", "src"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit = f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "commit": commit,
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


def report(name: str, sections: Sequence[Section], targets: Sequence[Target], args: argparse.Namespace,
           config: dict, extra: dict | None = None) -> bool:
    """Print the tables and PASS/FAIL lines; write ``<out>/<name>.json`` and ``<out>/<name>.png``.

    Returns:
        whether every target passed.
    """
    print(f"# {name}  (jax {jax.__version__}, {jax.default_backend()}, {os.cpu_count()} cpus"
          f"{', QUICK smoke run: numbers are not measurements' if args.quick else ''})")
    print("config: " + ", ".join(f"{k}={v}" for k, v in config.items()) + f"; code: {machine()['commit']}")
    for sec in sections:
        print(format_section(sec))
        print()
    for t in targets:
        print(t.line())
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "scenario": name,
        "quick": args.quick,
        "config": config,
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "sections": [{**{k: v for k, v in s.__dict__.items() if k != "rows"}, "rows": [r.as_dict() for r in s.rows]}
                     for s in sections],
        "targets": [t.as_dict() for t in targets],
        **(extra or {}),
    }
    (args.out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    if not args.no_plot:
        plot(name, sections, args.out / f"{name}.png")
    return all(t.passed for t in targets)


def plot(name: str, sections: Sequence[Section], path: Path) -> None:
    """One horizontal bar chart per section: medians with IQR whiskers, the min (or best) as a dot,
    and the headline (paired) ratio written at the right edge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(sections), 1, figsize=(8, 1.2 + 0.9 * sum(len(s.rows) for s in sections)),
                             squeeze=False)
    for ax, sec in zip(axes[:, 0], sections):
        rows = sec.rows[::-1]
        ys = range(len(rows))
        med = [r.median_s for r in rows]
        err = [[r.median_s - r.q1_s for r in rows], [r.q3_s - r.median_s for r in rows]]
        colors = ["tab:gray" if r.name.startswith("plain") else "tab:blue" for r in rows]
        ax.barh(list(ys), med, xerr=err, color=colors, capsize=3, tick_label=[r.name for r in rows])
        ax.plot([r.best_s for r in rows], list(ys), "ko", markersize=4, label="best" if sec.higher_is_better else "min")
        xmax = max(q3 for q3 in (r.q3_s for r in rows)) * 1.35 or 1.0
        ax.set_xlim(0, xmax)
        for y, r in zip(ys, rows):
            if r.ratio is not None:
                ax.text(xmax * 0.99, y, f"{r.ratio:.2f}x", va="center", ha="right", fontsize=9)
        ax.set_title(sec.title, fontsize=9)
        ax.set_xlabel("seconds per op (bar: median, whiskers: IQR)" if sec.unit == "s"
                      else f"{sec.unit} (bar: median, whiskers: IQR)")
        ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def finish(passed: bool, args: argparse.Namespace) -> None:
    """Exit status: 0 unless ``--strict`` was given and a target failed."""
    if getattr(args, "strict", False) and not passed:
        sys.exit(1)
