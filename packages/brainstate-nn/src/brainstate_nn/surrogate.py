"""``brainstate.nn.surrogate``: spike functions, a Heaviside step with a surrogate gradient.

A spiking neuron calls its ``spk_fun`` on the distance to the threshold: the forward value is
``1.0`` where the argument is ``>= 0``, the backward pass uses the surrogate's smooth
pseudo-derivative instead of the step's zero one. New surrogates subclass :class:`Surrogate`.

Example:
    >>> import jax
    >>> from brainstate_nn import surrogate
    >>> fn = surrogate.ReluGrad(alpha=1.0, width=0.5)
    >>> float(fn(0.2)), float(jax.grad(fn)(0.2))
    (1.0, 0.3)
"""

from types import FunctionType as _FunctionType

from ._spike_fn import ReluGrad as ReluGrad
from ._spike_fn import Surrogate as Surrogate
from ._spike_fn import heaviside as heaviside

# Show the public home in reprs, tracebacks and docs (``brainstate_nn.surrogate.X``).
for _obj in list(globals().values()):
    if isinstance(_obj, (type, _FunctionType)) and _obj.__module__.startswith("brainstate_nn._"):
        _obj.__module__ = __name__
del _obj
