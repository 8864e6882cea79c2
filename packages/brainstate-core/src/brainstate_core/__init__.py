"""brainstate-core: States, the state trace, the object graph and the environment."""

from . import environ as environ
from . import graph as graph
from . import mixin as mixin
from . import typing as typing
from . import util as util
from ._errors import BatchAxisError as BatchAxisError
from ._errors import BrainStateError as BrainStateError
from ._errors import ConfigError as ConfigError
from ._errors import EnvironKeyError as EnvironKeyError
from ._errors import EnvironValueError as EnvironValueError
from ._errors import FilterError as FilterError
from ._errors import InputError as InputError
from ._errors import JitErrorIf as JitErrorIf
from ._errors import RandomParameterError as RandomParameterError
from ._errors import StateArgumentError as StateArgumentError
from ._errors import StateShapeError as StateShapeError
from ._errors import StateUsageError as StateUsageError
from ._errors import TraceContextError as TraceContextError
from ._fake_state import FakeState as FakeState
from ._hidden import HiddenGroupState as HiddenGroupState
from ._hidden import HiddenTreeState as HiddenTreeState
from ._hooks import GlobalHookRegistry as GlobalHookRegistry
from ._hooks import Hook as Hook
from ._hooks import HookCancellationError as HookCancellationError
from ._hooks import HookConfig as HookConfig
from ._hooks import HookContext as HookContext
from ._hooks import HookError as HookError
from ._hooks import HookExecutionError as HookExecutionError
from ._hooks import HookHandle as HookHandle
from ._hooks import HookManager as HookManager
from ._hooks import HookRegistrationError as HookRegistrationError
from ._hooks import HookWarning as HookWarning
from ._hooks import InitHookContext as InitHookContext
from ._hooks import MutableWriteHookContext as MutableWriteHookContext
from ._hooks import ReadHookContext as ReadHookContext
from ._hooks import RestoreHookContext as RestoreHookContext
from ._hooks import WriteHookContext as WriteHookContext
from ._hooks import clear_state_hooks as clear_state_hooks
from ._hooks import has_state_hooks as has_state_hooks
from ._hooks import list_state_hooks as list_state_hooks
from ._hooks import register_state_hook as register_state_hook
from ._hooks import unregister_state_hook as unregister_state_hook
from ._node import Node as Node
from ._state import BatchState as BatchState
from ._state import DelayState as DelayState
from ._state import HiddenState as HiddenState
from ._state import LongTermState as LongTermState
from ._state import ParamState as ParamState
from ._state import ShortTermState as ShortTermState
from ._state import State as State
from ._state import maybe_state as maybe_state
from ._trace import StateTrace as StateTrace
from ._trace import StateTraceStack as StateTraceStack
from ._trace import catch_new_states as catch_new_states
from ._trace import check_state_jax_tracer as check_state_jax_tracer
from ._trace import check_state_value_tree as check_state_value_tree
from ._trace import current_trace as current_trace
from ._treefy import StateDictManager as StateDictManager
from ._treefy import TreefyState as TreefyState
from .internal import set_public_home as _set_public_home

_set_public_home(globals(), __name__)  # brainstate_core.State, not brainstate_core._state.State
del _set_public_home

__version__ = "0.6.0"
