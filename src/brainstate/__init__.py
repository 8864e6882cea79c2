"""brainstate: a State-based transformation system on top of JAX.

``brainstate`` is a meta-package. It owns no implementation: the top-level names are those of
:mod:`brainstate_core`, re-exported one by one below, and every submodule (``brainstate.environ``,
``brainstate.graph``, ``brainstate.util``) is the implementing wheel's module object itself,
registered under its public name (see ``_alias.py`` and ``docs/packaging.md``).

Example:
    >>> import brainstate, brainstate_core
    >>> brainstate.State is brainstate_core.State
    True
    >>> brainstate.environ is brainstate_core.environ
    True
"""

from brainstate_core import BatchAxisError as BatchAxisError
from brainstate_core import BatchState as BatchState
from brainstate_core import BrainStateError as BrainStateError
from brainstate_core import ConfigError as ConfigError
from brainstate_core import EnvironKeyError as EnvironKeyError
from brainstate_core import EnvironValueError as EnvironValueError
from brainstate_core import FilterError as FilterError
from brainstate_core import HiddenState as HiddenState
from brainstate_core import InputError as InputError
from brainstate_core import JitErrorIf as JitErrorIf
from brainstate_core import LongTermState as LongTermState
from brainstate_core import Node as Node
from brainstate_core import ParamState as ParamState
from brainstate_core import RandomParameterError as RandomParameterError
from brainstate_core import ShortTermState as ShortTermState
from brainstate_core import State as State
from brainstate_core import StateArgumentError as StateArgumentError
from brainstate_core import StateShapeError as StateShapeError
from brainstate_core import StateTrace as StateTrace
from brainstate_core import StateUsageError as StateUsageError
from brainstate_core import TraceContextError as TraceContextError
from brainstate_core import catch_new_states as catch_new_states
from brainstate_core import current_trace as current_trace

from . import environ as environ
from . import graph as graph
from . import mixin as mixin
from . import nn as nn
from . import random as random
from . import surrogate as surrogate
from . import transform as transform
from . import typing as typing
from . import util as util

__version__ = "0.1.0"
