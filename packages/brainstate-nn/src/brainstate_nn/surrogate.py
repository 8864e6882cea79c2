"""``brainstate.nn.surrogate``: spike functions, a Heaviside step with a surrogate gradient.

A spiking neuron calls its ``spk_fun`` on the distance to the threshold: the forward value is
``1.0`` where the argument is ``>= 0``, the backward pass uses the surrogate's smooth
pseudo-derivative instead of the step's zero one. Upstream's family is here, each class with a
lowercase function twin (``sigmoid(x, alpha=4.0)`` is ``Sigmoid(alpha=4.0)(x)``); new surrogates
subclass :class:`Surrogate` and implement :meth:`Surrogate.surrogate_grad`.

Example:
    >>> import jax
    >>> from brainstate_nn import surrogate
    >>> fn = surrogate.ReluGrad(alpha=1.0, width=0.5)
    >>> float(fn(0.2)), float(jax.grad(fn)(0.2))
    (1.0, 0.3)
"""

from brainstate_core.internal import set_public_home as _set_public_home

from ._spike_fn import ReluGrad as ReluGrad
from ._spike_fn import Surrogate as Surrogate
from ._spike_fn import heaviside as heaviside
from ._surrogate_fns import arctan as arctan
from ._surrogate_fns import erf as erf
from ._surrogate_fns import gaussian_grad as gaussian_grad
from ._surrogate_fns import inv_square_grad as inv_square_grad
from ._surrogate_fns import leaky_relu as leaky_relu
from ._surrogate_fns import log_tailed_relu as log_tailed_relu
from ._surrogate_fns import multi_gaussian_grad as multi_gaussian_grad
from ._surrogate_fns import nonzero_sign_log as nonzero_sign_log
from ._surrogate_fns import piecewise_exp as piecewise_exp
from ._surrogate_fns import piecewise_leaky_relu as piecewise_leaky_relu
from ._surrogate_fns import piecewise_quadratic as piecewise_quadratic
from ._surrogate_fns import q_pseudo_spike as q_pseudo_spike
from ._surrogate_fns import relu_grad as relu_grad
from ._surrogate_fns import s2nn as s2nn
from ._surrogate_fns import sigmoid as sigmoid
from ._surrogate_fns import slayer_grad as slayer_grad
from ._surrogate_fns import soft_sign as soft_sign
from ._surrogate_fns import squarewave_fourier_series as squarewave_fourier_series
from ._surrogates import ERF as ERF
from ._surrogates import S2NN as S2NN
from ._surrogates import Arctan as Arctan
from ._surrogates import GaussianGrad as GaussianGrad
from ._surrogates import InvSquareGrad as InvSquareGrad
from ._surrogates import LeakyRelu as LeakyRelu
from ._surrogates import LogTailedRelu as LogTailedRelu
from ._surrogates import MultiGaussianGrad as MultiGaussianGrad
from ._surrogates import NonzeroSignLog as NonzeroSignLog
from ._surrogates import PiecewiseExp as PiecewiseExp
from ._surrogates import PiecewiseLeakyRelu as PiecewiseLeakyRelu
from ._surrogates import PiecewiseQuadratic as PiecewiseQuadratic
from ._surrogates import QPseudoSpike as QPseudoSpike
from ._surrogates import Sigmoid as Sigmoid
from ._surrogates import SlayerGrad as SlayerGrad
from ._surrogates import SoftSign as SoftSign
from ._surrogates import SquarewaveFourierSeries as SquarewaveFourierSeries

# Show the public home in reprs, tracebacks and docs (``brainstate_nn.surrogate.X``).
_set_public_home(globals(), __name__)
del _set_public_home
