"""brainstate-core: States, the state trace, the object graph and the environment."""

from . import environ as environ
from . import graph as graph
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
from ._node import Node as Node
from ._state import BatchState as BatchState
from ._state import HiddenState as HiddenState
from ._state import LongTermState as LongTermState
from ._state import ParamState as ParamState
from ._state import ShortTermState as ShortTermState
from ._state import State as State
from ._trace import StateTrace as StateTrace
from ._trace import catch_new_states as catch_new_states
from ._trace import current_trace as current_trace

__version__ = "0.1.0"
