"""Synaptic outputs: turn a synaptic variable ``g`` into the current that enters the neuron.

An output is a small :class:`~brainstate_nn.Module` with ``update(g, V)``. The upstream protocol
works too: ``out.bind_cond(g)`` stores this step's ``g`` and ``out(V)`` computes the current, so an
output can be registered as a neuron's current input, which the neuron calls with its ``V``:

>>> import brainstate_nn as nn
>>> out = nn.COBA(E=0.0)
>>> out.bind_cond(2.0)        # nS
>>> float(out(-60.0))         # nS * mV = pA
120.0

Units: ``g`` in nS and ``V``, ``E`` in mV give pA.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from brainstate_core import ConfigError, StateUsageError

from ._dynamics import param, read
from ._module import Module

__all__ = ["SynOut", "COBA", "CUBA", "MgBlock"]


class SynOut(Module):
    """Base class of the synaptic outputs: ``update(conductance, potential)`` gives the current."""

    _graph_skip = ("_conductance",)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self._conductance: Any = None


    def _param(self, value: Any, name: str, kind: str | None, positive: bool = False) -> Any:
        # outputs have no population shape of their own: any broadcastable array is allowed
        shape = tuple(jnp.shape(value.value if hasattr(value, "value") else value))
        return param(value, name, kind, shape, positive=positive, owner=type(self).__name__)

    def bind_cond(self, conductance: Any) -> None:
        """Store this step's synaptic variable for the next ``out(V)`` call."""
        self._conductance = conductance

    def unbind_cond(self, *_: Any) -> None:
        """Forget the stored conductance (a projection does it after its target's step, so a value
        traced in one compiled step is never held, or read, after that trace)."""
        self._conductance = None

    def update(self, conductance: Any, potential: Any = None) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._conductance is None:
            raise StateUsageError(
                f"{type(self).__name__} has no conductance for this step. Fix: call `out.bind_cond(g)` before "
                "`out(V)`, or call `out.update(g, V)` directly."
            )
        return self.update(self._conductance, *args, **kwargs)


class COBA(SynOut):
    r"""Conductance-based output: :math:`I = g\,(E - V)`.

    Args:
        E: the reversal potential (mV), e.g. 0 for excitatory and -80 for inhibitory synapses.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.COBA(E=-80.0).update(1.5, -60.0))   # pA
        -30.0
    """

    def __init__(self, E: Any, name: str | None = None) -> None:
        super().__init__(name=name)
        self.E = self._param(E, "E", "voltage")

    def update(self, conductance: Any, potential: Any) -> Any:
        return conductance * (read(self.E) - potential)

    def extra_repr(self) -> str:
        return f"E={self.E!r}"


class CUBA(SynOut):
    r"""Current-based output: :math:`I = \mathrm{scale}\cdot g` (the potential is ignored).

    Args:
        scale: the factor from the synaptic variable to the current (default 1).
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.CUBA(scale=2.0).update(3.0, -60.0))
        6.0
    """

    def __init__(self, scale: Any = 1.0, name: str | None = None) -> None:
        super().__init__(name=name)
        self.scale = self._param(scale, "scale", None)

    def update(self, conductance: Any, potential: Any = None) -> Any:
        return conductance * read(self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale!r}"


class MgBlock(SynOut):
    r"""Conductance-based output with the voltage-dependent Mg2+ block of NMDA receptors.

    .. math::

        I = g\,(E - V)\,B(V), \qquad
        B(V) = \frac{1}{1 + \frac{[\mathrm{Mg}^{2+}]_o}{\beta} e^{-\alpha (V - V_{offset})}}

    With the defaults this is the fit of Jahr & Stevens (1990):
    :math:`B(V) = 1 / (1 + [\mathrm{Mg}^{2+}]_o / 3.57\; e^{-0.062 V})`, ``V`` in mV.

    Args:
        E: the reversal potential (mV).
        cc_Mg: the extracellular Mg2+ concentration (mM).
        alpha: the voltage sensitivity (1 / mV).
        beta: the dissociation constant (mM).
        V_offset: a shift of the voltage dependence (mV).
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn
        >>> out = nn.MgBlock(E=0.0, cc_Mg=1.0)
        >>> round(float(out.block(0.0)), 4), round(float(out.block(-70.0)), 4)   # fraction unblocked
        (0.7812, 0.0445)
    """

    def __init__(self, E: Any = 0.0, cc_Mg: Any = 1.2, alpha: Any = 0.062, beta: Any = 3.57, V_offset: Any = 0.0,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.E = self._param(E, "E", "voltage")
        self.cc_Mg = self._param(cc_Mg, "cc_Mg", None)
        self.alpha = self._param(alpha, "alpha", None)
        self.beta = self._param(beta, "beta", None, positive=True)
        self.V_offset = self._param(V_offset, "V_offset", "voltage")
        if isinstance(self.cc_Mg, float) and self.cc_Mg < 0:
            raise ConfigError(f"MgBlock cc_Mg must be >= 0 mM, got {self.cc_Mg}. Fix: pass the Mg2+ concentration "
                              "in mM (1 to 2 in physiological solutions).")

    def block(self, potential: Any) -> Any:
        """The unblocked fraction ``B(V)`` at the potential ``V`` (mV)."""
        shift = read(self.alpha) * (potential - read(self.V_offset))
        return 1.0 / (1.0 + read(self.cc_Mg) / read(self.beta, True) * jnp.exp(-shift))

    def update(self, conductance: Any, potential: Any) -> Any:
        return conductance * (read(self.E) - potential) * self.block(potential)
