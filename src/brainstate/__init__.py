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
from brainstate_core import DelayState as DelayState
from brainstate_core import EnvironKeyError as EnvironKeyError
from brainstate_core import EnvironValueError as EnvironValueError
from brainstate_core import FakeState as FakeState
from brainstate_core import FilterError as FilterError
from brainstate_core import GlobalHookRegistry as GlobalHookRegistry
from brainstate_core import HiddenGroupState as HiddenGroupState
from brainstate_core import HiddenState as HiddenState
from brainstate_core import HiddenTreeState as HiddenTreeState
from brainstate_core import Hook as Hook
from brainstate_core import HookCancellationError as HookCancellationError
from brainstate_core import HookConfig as HookConfig
from brainstate_core import HookContext as HookContext
from brainstate_core import HookError as HookError
from brainstate_core import HookExecutionError as HookExecutionError
from brainstate_core import HookHandle as HookHandle
from brainstate_core import HookManager as HookManager
from brainstate_core import HookRegistrationError as HookRegistrationError
from brainstate_core import HookWarning as HookWarning
from brainstate_core import InitHookContext as InitHookContext
from brainstate_core import InputError as InputError
from brainstate_core import JitErrorIf as JitErrorIf
from brainstate_core import LongTermState as LongTermState
from brainstate_core import MutableWriteHookContext as MutableWriteHookContext
from brainstate_core import Node as Node
from brainstate_core import ParamState as ParamState
from brainstate_core import RandomParameterError as RandomParameterError
from brainstate_core import ReadHookContext as ReadHookContext
from brainstate_core import RestoreHookContext as RestoreHookContext
from brainstate_core import ShardingError as ShardingError
from brainstate_core import ShortTermState as ShortTermState
from brainstate_core import State as State
from brainstate_core import StateArgumentError as StateArgumentError
from brainstate_core import StateDictManager as StateDictManager
from brainstate_core import StateShapeError as StateShapeError
from brainstate_core import StateTrace as StateTrace
from brainstate_core import StateTraceStack as StateTraceStack
from brainstate_core import StateUsageError as StateUsageError
from brainstate_core import TraceContextError as TraceContextError
from brainstate_core import TreefyState as TreefyState
from brainstate_core import WriteHookContext as WriteHookContext
from brainstate_core import catch_new_states as catch_new_states
from brainstate_core import check_state_jax_tracer as check_state_jax_tracer
from brainstate_core import check_state_value_tree as check_state_value_tree
from brainstate_core import clear_state_hooks as clear_state_hooks
from brainstate_core import current_trace as current_trace
from brainstate_core import has_state_hooks as has_state_hooks
from brainstate_core import list_state_hooks as list_state_hooks
from brainstate_core import maybe_state as maybe_state
from brainstate_core import register_state_hook as register_state_hook
from brainstate_core import unregister_state_hook as unregister_state_hook

from . import environ as environ
from . import graph as graph
from . import interop as interop
from . import mixin as mixin
from . import nn as nn
from . import random as random
from . import sharding as sharding
from . import surrogate as surrogate
from . import transform as transform
from . import typing as typing
from . import util as util
from ._alias import show_public_homes as _show_public_homes
from ._deprecated import install as _install_deprecated

# upstream's old module names, importable and warning once per name (see _deprecated.py)
_old = _install_deprecated(__name__)
compile, augment, functional = _old["compile"], _old["augment"], _old["functional"]  # noqa: A001 - upstream's names
del _install_deprecated, _old

_show_public_homes()  # brainstate.nn.Linear, not brainstate_nn._linear.Linear
del _show_public_homes

__version__ = "0.6.0"
