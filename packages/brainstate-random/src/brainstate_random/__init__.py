"""brainstate-random: a key-splitting ``RandomState`` and NumPy-style samplers.

Every sampler is a method of :class:`RandomState` and, under the same name, a module-level function
that draws from the default generator :data:`DEFAULT`. Each takes NumPy's arguments (``size=``,
array parameters that broadcast, ``dtype=``) and ``key=`` to draw with an explicit key instead.

Transformations. The generator is a State, so the ``brainstate.transform`` functions thread its
key: under ``jit`` a program reads and advances it (and draws exactly what the same code draws
eagerly); under ``vmap`` every lane gets its own key (:meth:`RandomState.to_lanes`) and the
generator keeps one that no lane used; under ``scan``, ``for_loop``, ``while_loop``, ``cond`` and
``grad`` it is carried like any other state. A ``seed()`` inside a ``vmap`` body is discarded with
the lanes' keys.

Bad input. Parameters are checked when they are concrete: an invalid one (a negative scale, a
probability outside [0, 1] or not summing to 1, a sample without replacement larger than its
population, a non-integer size) raises :class:`RandomParameterError`, a ``ValueError``, before the
key is advanced. Parameters that are tracers (arguments of a jitted function) cannot be checked in
Python; the samplers then return NaN (float samplers) or -1 (count samplers) in the entries whose
parameters are invalid. ``randint`` (gives ``low``), ``bernoulli`` (``p`` acts as clipped to
[0, 1]), ``categorical``, ``choice`` and ``multivariate_normal`` return what ``jax.random`` gives.
Shapes (``size``, an integer ``a`` of ``choice``) must always be static.

Cost. An eager draw is one dispatch of a sampler compiled once per shape and dtype: nothing is
compiled per call, and no check runs on the device.

Example:
    >>> import brainstate
    >>> brainstate.random.seed(0)
    >>> brainstate.random.randn(32, 3).shape
    (32, 3)
"""

from brainstate_core.internal import set_public_home as _set_public_home

from ._common import RandomParameterError as RandomParameterError
from ._module_api import DEFAULT as DEFAULT
from ._module_api import backup_key as backup_key
from ._module_api import bernoulli as bernoulli
from ._module_api import beta as beta
from ._module_api import binomial as binomial
from ._module_api import categorical as categorical
from ._module_api import cauchy as cauchy
from ._module_api import chisquare as chisquare
from ._module_api import choice as choice
from ._module_api import clone_rng as clone_rng
from ._module_api import default_rng as default_rng
from ._module_api import dirichlet as dirichlet
from ._module_api import exponential as exponential
from ._module_api import f as f
from ._module_api import gamma as gamma
from ._module_api import geometric as geometric
from ._module_api import get_key as get_key
from ._module_api import get_key_data as get_key_data
from ._module_api import gumbel as gumbel
from ._module_api import hypergeometric as hypergeometric
from ._module_api import laplace as laplace
from ._module_api import loggamma as loggamma
from ._module_api import logistic as logistic
from ._module_api import lognormal as lognormal
from ._module_api import logseries as logseries
from ._module_api import maxwell as maxwell
from ._module_api import multinomial as multinomial
from ._module_api import multivariate_normal as multivariate_normal
from ._module_api import negative_binomial as negative_binomial
from ._module_api import noncentral_chisquare as noncentral_chisquare
from ._module_api import noncentral_f as noncentral_f
from ._module_api import normal as normal
from ._module_api import orthogonal as orthogonal
from ._module_api import pareto as pareto
from ._module_api import permutation as permutation
from ._module_api import poisson as poisson
from ._module_api import power as power
from ._module_api import rand as rand
from ._module_api import rand_like as rand_like
from ._module_api import randint as randint
from ._module_api import randint_like as randint_like
from ._module_api import randn as randn
from ._module_api import randn_like as randn_like
from ._module_api import random as random
from ._module_api import random_integers as random_integers
from ._module_api import random_sample as random_sample
from ._module_api import ranf as ranf
from ._module_api import rayleigh as rayleigh
from ._module_api import restore_key as restore_key
from ._module_api import sample as sample
from ._module_api import seed as seed
from ._module_api import seed_context as seed_context
from ._module_api import self_assign_multi_keys as self_assign_multi_keys
from ._module_api import set_key as set_key
from ._module_api import shuffle as shuffle
from ._module_api import split_key as split_key
from ._module_api import split_keys as split_keys
from ._module_api import standard_cauchy as standard_cauchy
from ._module_api import standard_exponential as standard_exponential
from ._module_api import standard_gamma as standard_gamma
from ._module_api import standard_normal as standard_normal
from ._module_api import standard_t as standard_t
from ._module_api import t as t
from ._module_api import triangular as triangular
from ._module_api import truncated_normal as truncated_normal
from ._module_api import uniform as uniform
from ._module_api import vonmises as vonmises
from ._module_api import wald as wald
from ._module_api import weibull as weibull
from ._module_api import weibull_min as weibull_min
from ._module_api import zipf as zipf
from ._rng import RandomState as RandomState

__all__ = [
    "RandomState",
    "RandomParameterError",
    "DEFAULT",
    "seed",
    "seed_context",
    "default_rng",
    "clone_rng",
    "get_key",
    "get_key_data",
    "set_key",
    "split_key",
    "split_keys",
    "self_assign_multi_keys",
    "backup_key",
    "restore_key",
    "rand",
    "randn",
    "random",
    "random_sample",
    "ranf",
    "sample",
    "uniform",
    "normal",
    "standard_normal",
    "truncated_normal",
    "exponential",
    "standard_exponential",
    "gamma",
    "standard_gamma",
    "beta",
    "chisquare",
    "noncentral_chisquare",
    "f",
    "noncentral_f",
    "standard_t",
    "t",
    "rand_like",
    "randn_like",
    "standard_cauchy",
    "cauchy",
    "laplace",
    "logistic",
    "gumbel",
    "lognormal",
    "loggamma",
    "pareto",
    "power",
    "weibull",
    "weibull_min",
    "rayleigh",
    "triangular",
    "vonmises",
    "wald",
    "maxwell",
    "randint",
    "random_integers",
    "randint_like",
    "bernoulli",
    "binomial",
    "poisson",
    "geometric",
    "hypergeometric",
    "negative_binomial",
    "logseries",
    "zipf",
    "multinomial",
    "categorical",
    "dirichlet",
    "multivariate_normal",
    "orthogonal",
    "choice",
    "permutation",
    "shuffle",
]

_set_public_home(globals(), __name__)  # brainstate_random.RandomState, not brainstate_random._rng.RandomState
del _set_public_home

__version__ = "0.6.0"
