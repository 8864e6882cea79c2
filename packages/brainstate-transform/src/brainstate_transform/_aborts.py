"""Aborted JAX traces: what a discovery trace that ends with a signal leaves behind, and how it is freed."""

from __future__ import annotations

__all__ = ["note_traces", "release_traces"]


def _jax_traces() -> list:
    """The JAX traces active in this thread, innermost first."""
    from jax._src import core

    trace, chain = core.trace_ctx.trace, []
    while trace is not None and not isinstance(trace, core.EvalTrace):
        chain.append(trace)
        trace = getattr(trace, "parent_trace", None)
    return chain


def note_traces(exc: BaseException) -> None:
    """Remember on ``exc`` the JAX traces it is about to abort (see :func:`release_traces`)."""
    if getattr(exc, "_brainstate_traces", None) is None:
        try:
            exc._brainstate_traces = _jax_traces()  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without a __dict__
            pass


def release_traces(exc: BaseException) -> None:
    """Free the JAX traces that ``exc`` aborted and that are no longer active.

    JAX (0.8 to 0.12 at least) keeps a jaxpr trace that ended with an exception alive for good, with
    every constant it captured (a ``weakref.finalize`` on each constant refers back to the trace).
    Discovery traces end that way by design, and their constants are the values of the states they
    met, so without this every new jitted model would stay in memory. Clearing the trace's tables
    (what JAX does for a trace that ends normally) lets both go.
    """
    traces = getattr(exc, "_brainstate_traces", None)
    if not traces:
        return
    from jax._src.interpreters.partial_eval import DynamicJaxprTrace

    active = {id(t) for t in _jax_traces()}
    for trace in traces:
        if id(trace) not in active and isinstance(trace, DynamicJaxprTrace):
            try:
                trace.invalidate()
            except Exception:  # noqa: BLE001 - a JAX version whose trace cannot be cleared this way
                pass
    exc._brainstate_traces = [t for t in traces if id(t) in active]  # type: ignore[attr-defined]
