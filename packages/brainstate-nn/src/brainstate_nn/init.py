"""``brainstate.nn.init``: parameter initialisers, callables ``(shape, dtype=None) -> array``.

Example:
    >>> from brainstate_nn import init
    >>> init.KaimingNormal()((64, 32)).shape
    (64, 32)
"""

from brainstate_core.internal import set_public_home as _set_public_home

from ._init import Constant as Constant
from ._init import DeltaOrthogonal as DeltaOrthogonal
from ._init import Identity as Identity
from ._init import Initializer as Initializer
from ._init import KaimingNormal as KaimingNormal
from ._init import KaimingUniform as KaimingUniform
from ._init import LecunNormal as LecunNormal
from ._init import LecunUniform as LecunUniform
from ._init import Normal as Normal
from ._init import Orthogonal as Orthogonal
from ._init import TruncatedNormal as TruncatedNormal
from ._init import Uniform as Uniform
from ._init import VarianceScaling as VarianceScaling
from ._init import XavierNormal as XavierNormal
from ._init import XavierUniform as XavierUniform
from ._init import ZeroInit as ZeroInit
from ._init import calculate_init_gain as calculate_init_gain
from ._init import param as param

# Show the public home in reprs, tracebacks and docs (``brainstate_nn.init.X``, not ``brainstate_nn._x.X``).
_set_public_home(globals(), __name__)
del _set_public_home
