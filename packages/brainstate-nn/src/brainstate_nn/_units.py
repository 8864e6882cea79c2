"""Physical units of the spiking kit: one convention for plain numbers, optional brainunit Quantities.

Plain numbers are read in these units (chosen so that the usual products need no factors:
``nS * mV = pA``, ``pA / pF = mV / ms``, ``GOhm * pA = mV``):

============================  ==================  =====================================
quantity                      unit                examples
============================  ==================  =====================================
time                          ms                  ``tau``, ``tau_ref``, ``environ`` ``dt``
voltage                       mV                  ``V_th``, ``V_reset``, ``E``
conductance                   nS                  ``g_max``
current                       pA                  inputs of the conductance models
capacitance                   pF                  ``C``
resistance                    GOhm (= mV / pA)    ``R``
frequency                     Hz                  rates
conductance density (HH)      mS / cm^2           ``gNa``, ``gK``, ``gL``
capacitance density (HH)      uF / cm^2           ``C`` of :class:`HH`
current density (HH)          uA / cm^2           the input of :class:`HH`
============================  ==================  =====================================

When the optional dependency ``brainunit`` is installed (``pip install brainstate-nn[units]``),
every parameter also accepts a Quantity, converted to the number in the unit above when the model
is built; a Quantity of another dimension raises :class:`~brainstate_core.ConfigError` naming the
parameter. ``brainunit`` is never imported here: a value can only be a Quantity if the user
imported it already, so the check costs nothing without it.
"""

from __future__ import annotations

import sys
from typing import Any

from brainstate_core import ConfigError

__all__ = ["UNITS", "is_quantity", "to_plain"]

# kind -> (brainunit expression, how it is written in messages)
UNITS: dict[str, str] = {
    "time": "ms",
    "voltage": "mV",
    "conductance": "nS",
    "current": "pA",
    "capacitance": "pF",
    "resistance": "Gohm",
    "frequency": "Hz",
    "rate": "1 / ms",
    "per_voltage": "1 / mV",
    "voltage_rate": "mV / ms",
    "conductance_density": "mS / cm**2",
    "capacitance_density": "uF / cm**2",
    "current_density": "uA / cm**2",
    "dimensionless": "1",
}


def _brainunit() -> Any:
    return sys.modules.get("brainunit")


def is_quantity(value: Any) -> bool:
    """Whether ``value`` is a brainunit Quantity (False when brainunit was never imported).

    Example:
        >>> from brainstate_nn._units import is_quantity
        >>> is_quantity(3.0)
        False
    """
    u = _brainunit()
    return u is not None and isinstance(value, u.Quantity)


def _target(u: Any, kind: str) -> Any:
    expr = UNITS[kind]
    if expr == "1":
        return None
    return eval(expr, {"__builtins__": {}}, vars(u))  # noqa: S307 - a fixed table of unit names


def to_plain(value: Any, kind: str | None, name: str) -> Any:
    """``value`` as a plain number or array in the unit of ``kind`` (see the table above).

    Args:
        value: a number, an array, a brainunit Quantity, or anything else (returned unchanged).
        kind: a key of :data:`UNITS`, or None for a parameter without a unit convention (a
            Quantity is then accepted only if dimensionless).
        name: the parameter's name, used in the error message.

    Raises:
        ConfigError: ``value`` is a Quantity whose dimension does not match ``kind``.

    Example:
        >>> from brainstate_nn._units import to_plain
        >>> to_plain(2.5, "time", "tau")
        2.5
    """
    if not is_quantity(value):
        return value
    u = _brainunit()
    target = _target(u, kind) if kind is not None else None
    if target is None:
        if u.get_dim(value) != u.get_dim(1.0):
            raise ConfigError(
                f"{name} must be dimensionless, got the Quantity {value}. Fix: pass a plain number "
                f"(or a dimensionless Quantity)."
            )
        return value.to_decimal()
    assert kind is not None  # a target unit comes from a kind
    if not u.have_same_dim(value, target):
        raise ConfigError(
            f"{name} must be a {kind.replace('_', ' ')}, got the Quantity {value}. Fix: pass a Quantity "
            f"convertible to {UNITS[kind]}, or a plain number, read in {UNITS[kind]}."
        )
    return value.to_decimal(target)
