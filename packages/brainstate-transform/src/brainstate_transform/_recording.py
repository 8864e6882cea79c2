"""jit's recorded first trace: the user's function traced once, states it did not know read as inputs.

``jit`` has to learn which states a function touches before it can compile it with their values as
inputs. Instead of a discovery trace followed by the real one, :func:`record` traces the function once
into a jaxpr in which each unknown state reads as a marker (``brainstate_state_input``). The marker is
then rewritten into an input of the jaxpr, and the next trace (with the states now known) evaluates
that jaxpr (:meth:`Recording.replay`) instead of calling the user's code again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
from jax.extend.core import ClosedJaxpr, Literal, Primitive, jaxpr_as_fun

from brainstate_core import State
from brainstate_core.internal import is_tracer

if TYPE_CHECKING:
    from ._stateful import Known, StatefulFunction

__all__ = ["Recording", "record"]

# A state a recording trace did not know reads as ``_state_input_p(value, slot=k)``: an identity that
# marks the place where the state's k-th leaf enters. Recordings are always rewritten (the marker
# becomes an input of the jaxpr) before they are evaluated, so the marker is never lowered.
_state_input_p = Primitive("brainstate_state_input")
_state_input_p.def_abstract_eval(lambda x, *, slot: x)
_state_input_p.def_impl(lambda x, *, slot: x)


_TEMPLATES: dict[tuple, tuple[Any, dict] | None] = {}


# How an equation is marked to be inlined into the enclosing jaxpr at trace time: an ``Inline`` member
# since ``jax.Inline`` exists (where ``inline=True`` means inlining only when lowering), else ``True``.
_INLINE_EARLY: Any = jax.Inline.JAX_EARLY if hasattr(jax, "Inline") else True


def _template(closed: ClosedJaxpr, inputs: list) -> tuple[Any, dict] | None:
    """``(jit primitive, parameters)`` of a ``jit`` equation of this arity, marked inline, or ``None``.

    Read off a ``jax.jit`` of a stand-in with as many inputs and outputs, traced once per arity and
    context mesh, so the parameters are whatever this JAX version's ``jit`` uses. ``None`` where the
    equation does not look like one (another JAX).
    """
    key = (len(inputs), len(closed.out_avals), jax.sharding.get_abstract_mesh())
    if key in _TEMPLATES:
        return _TEMPLATES[key]

    def stand_in(*xs: Any) -> tuple:
        return tuple(jax.numpy.zeros(a.shape, a.dtype) for a in closed.out_avals)

    template = None
    try:
        (eqn,) = jax.make_jaxpr(jax.jit(stand_in))(*inputs).jaxpr.eqns
        if len(eqn.outvars) == len(closed.out_avals) and {"jaxpr", "inline", "name"} <= set(eqn.params):
            template = (eqn.primitive, dict(eqn.params, inline=_INLINE_EARLY))
    except Exception:  # noqa: BLE001, S110 - a JAX whose jit cannot be read this way: evaluate op by op
        pass
    if len(_TEMPLATES) > 256:
        _TEMPLATES.clear()
    _TEMPLATES[key] = template
    return template


def _call(closed: ClosedJaxpr, inputs: list, name: str) -> list:
    """Evaluate ``closed`` in the current trace, its equations inlined into it.

    The recording is bound as a ``jit`` equation marked inline (:func:`_template`), which JAX copies
    into the enclosing jaxpr equation by equation: the lowered program has no nested function, and
    nothing is bound again op by op. Without a template the recording is evaluated op by op
    (``jaxpr_as_fun``), which gives the same program more slowly.
    """
    template = _template(closed, inputs)
    if template is None:
        return jaxpr_as_fun(closed)(*inputs)
    primitive, params = template
    return primitive.bind(*inputs, **dict(params, jaxpr=closed, name=name))


class Recording:
    """One trace of a stateful function as a jaxpr whose inputs are (known state values, new states, args).

    Attributes:
        known: what is known once the recorded trace is counted (the states it met, appended).
        found_new: whether the trace met states (or ``environ`` keys) it did not know.
    """

    __slots__ = ("known", "found_new", "_closed", "_dyn", "_in_tree", "_out_tree", "_lifted", "_n_known", "_name")

    def __init__(self, closed: ClosedJaxpr, n_markers: int, known_before: Known, known: Known, found_new: bool,
                 dyn: list[int], in_tree: Any, out_tree: Any, lifted: list[tuple[State, Any, int]], name: str) -> None:
        jaxpr = closed.jaxpr
        markers = [e for e in jaxpr.eqns if e.primitive is _state_input_p]
        assert len(markers) == n_markers, "a recorded state input was lost"
        marker_out = sorted(((e.params["slot"], e.outvars[0]) for e in markers), key=lambda p: p[0])
        eqns = [e for e in jaxpr.eqns if e.primitive is not _state_input_p]
        used = {v for e in eqns for v in e.invars if not isinstance(v, Literal)}
        used.update(v for v in jaxpr.outvars if not isinstance(v, Literal))
        keep = [i for i, v in enumerate(jaxpr.constvars) if v in used]
        invars = [v for _, v in marker_out] + list(jaxpr.invars)
        debug = jaxpr.debug_info
        if debug is not None and debug.arg_names is not None:
            debug = debug._replace(arg_names=tuple(f"state{k}" for k in range(len(marker_out))) + tuple(debug.arg_names))
        rewritten = jaxpr.replace(constvars=[jaxpr.constvars[i] for i in keep], invars=invars, eqns=eqns,
                                  debug_info=debug)
        self._closed = ClosedJaxpr(rewritten, [closed.consts[i] for i in keep])
        self.known, self.found_new = known, found_new
        self._n_known = len(known_before.states)
        self._dyn, self._in_tree, self._out_tree, self._lifted = dyn, in_tree, out_tree, lifted
        self._name = name

    def replay(self, known: Known, values: Sequence[Any], args: tuple, kwargs: dict) -> Any:
        """Evaluate the recording on ``known``'s state values and the arguments: ``(out, new values)``.

        Returns ``None`` when the inputs do not match what was recorded (the caller then runs the
        function itself).
        """
        leaves, tree = jax.tree.flatten((list(values[: self._n_known]), args, kwargs))
        if tree != self._in_tree:
            return None
        inputs = []
        for state, vtree, _ in self._lifted:
            sub, sub_tree = jax.tree.flatten(values[known.index[state]])
            if sub_tree != vtree:
                return None
            inputs.extend(sub)
        inputs.extend(leaves[i] for i in self._dyn)
        expected = self._closed.in_avals
        if len(inputs) != len(expected) or any(jax.typeof(x) != a for x, a in zip(inputs, expected)):
            return None
        return jax.tree.unflatten(self._out_tree, _call(self._closed, inputs, self._name))


def record(sf: StatefulFunction, known: Known, values: Sequence[Any], args: tuple, kwargs: dict) -> Recording:
    """Trace the function once into a jaxpr; every state ``known`` lacks becomes a fresh input.

    The tracers among ``values``, ``args`` and ``kwargs`` (those of the enclosing JAX trace) are the
    jaxpr's other inputs; everything else is a constant of the recording.
    """
    leaves, in_tree = jax.tree.flatten((list(values), args, kwargs))
    dyn = [i for i, x in enumerate(leaves) if is_tracer(x)]
    lifted: list[tuple[State, Any, int]] = []
    slots = [0]
    box: dict[str, Any] = {}

    def lift(state: State, value: Any) -> Any:
        sub, sub_tree = jax.tree.flatten(value)
        first = slots[0]
        slots[0] += len(sub)
        lifted.append((state, sub_tree, first))
        return jax.tree.unflatten(sub_tree, [_state_input_p.bind(x, slot=first + k) for k, x in enumerate(sub)])

    def traced(*dyn_leaves: Any) -> Any:
        full = list(leaves)
        for i, x in zip(dyn, dyn_leaves):
            full[i] = x
        v, a, kw = jax.tree.unflatten(in_tree, full)
        result = sf._run(known.states, v, a, kw, lift)
        wider = known if known.covers(result, writes=False) else known.widen(result)
        box["known"], box["found_new"] = wider, wider is not known
        out = (result.out, {wider.index[s]: x for s, x in result.new_values.items()})
        flat, box["out_tree"] = jax.tree.flatten(out)
        return flat

    closed = jax.make_jaxpr(traced)(*[leaves[i] for i in dyn])
    name = getattr(sf.fun, "__name__", None) or "recorded"
    return Recording(closed, slots[0], known, box["known"], box["found_new"], dyn, in_tree, box["out_tree"], lifted,
                     name)
