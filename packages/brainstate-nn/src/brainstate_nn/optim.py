"""``brainstate.nn.optim``: optimisers backed by optax, whose state lives in States.

Example:
    >>> import brainstate_core as bc, brainstate_nn as nn
    >>> model = nn.Linear(3, 2)
    >>> opt = nn.optim.Adam(1e-3, params=model.states(bc.ParamState))
    >>> opt
    Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, 1 weights)
      opt_state: OptimState(5 arrays, 17 elements)
      step: OptimState(i32[])
"""

from brainstate_core.internal import set_public_home as _set_public_home

from ._optim import SGD as SGD
from ._optim import Adam as Adam
from ._optim import AdamW as AdamW
from ._optim import Momentum as Momentum
from ._optim import OptaxOptimizer as OptaxOptimizer
from ._optim import OptimState as OptimState
from ._optim import RMSprop as RMSprop
from ._optim import clip_grad_norm as clip_grad_norm

# Show the public home in reprs, tracebacks and docs (``brainstate_nn.optim.X``, not ``brainstate_nn._x.X``).
_set_public_home(globals(), __name__)
del _set_public_home
