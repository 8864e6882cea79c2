"""brainstate-nn: modules, layers, initialisers, optimisers and checkpoints for brainstate.

Example:
    >>> import brainstate_nn as nn, jax.numpy as jnp
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    >>> model(jnp.ones((8, 4))).shape, nn.count_parameters(model)
    ((8, 2), 114)
"""

from types import FunctionType as _FunctionType

from . import init as init
from . import optim as optim
from ._activation_modules import CELU as CELU
from ._activation_modules import ELU as ELU
from ._activation_modules import GELU as GELU
from ._activation_modules import GLU as GLU
from ._activation_modules import SELU as SELU
from ._activation_modules import Hardshrink as Hardshrink
from ._activation_modules import Hardsigmoid as Hardsigmoid
from ._activation_modules import HardSiLU as HardSiLU
from ._activation_modules import Hardswish as Hardswish
from ._activation_modules import Hardtanh as Hardtanh
from ._activation_modules import Identity as Identity
from ._activation_modules import LeakyReLU as LeakyReLU
from ._activation_modules import LogSigmoid as LogSigmoid
from ._activation_modules import LogSoftmax as LogSoftmax
from ._activation_modules import Mish as Mish
from ._activation_modules import PReLU as PReLU
from ._activation_modules import ReLU as ReLU
from ._activation_modules import ReLU6 as ReLU6
from ._activation_modules import Sigmoid as Sigmoid
from ._activation_modules import SiLU as SiLU
from ._activation_modules import Softmax as Softmax
from ._activation_modules import Softmin as Softmin
from ._activation_modules import Softplus as Softplus
from ._activation_modules import Softshrink as Softshrink
from ._activation_modules import Softsign as Softsign
from ._activation_modules import Swish as Swish
from ._activation_modules import Tanh as Tanh
from ._activation_modules import Tanhshrink as Tanhshrink
from ._activation_modules import Threshold as Threshold
from ._activations import celu as celu
from ._activations import elu as elu
from ._activations import gelu as gelu
from ._activations import glu as glu
from ._activations import hard_shrink as hard_shrink
from ._activations import hard_sigmoid as hard_sigmoid
from ._activations import hard_silu as hard_silu
from ._activations import hard_swish as hard_swish
from ._activations import hard_tanh as hard_tanh
from ._activations import identity as identity
from ._activations import leaky_relu as leaky_relu
from ._activations import log_sigmoid as log_sigmoid
from ._activations import log_softmax as log_softmax
from ._activations import mish as mish
from ._activations import prelu as prelu
from ._activations import relu as relu
from ._activations import relu6 as relu6
from ._activations import selu as selu
from ._activations import sigmoid as sigmoid
from ._activations import silu as silu
from ._activations import soft_shrink as soft_shrink
from ._activations import softmax as softmax
from ._activations import softmin as softmin
from ._activations import softplus as softplus
from ._activations import softsign as softsign
from ._activations import swish as swish
from ._activations import tanh as tanh
from ._activations import tanh_shrink as tanh_shrink
from ._attention import MultiHeadAttention as MultiHeadAttention
from ._attention import dot_product_attention as dot_product_attention
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._conv import Conv as Conv
from ._conv import Conv1d as Conv1d
from ._conv import Conv2d as Conv2d
from ._conv import Conv3d as Conv3d
from ._conv import ConvTranspose as ConvTranspose
from ._conv import ConvTranspose1d as ConvTranspose1d
from ._conv import ConvTranspose2d as ConvTranspose2d
from ._conv import ConvTranspose3d as ConvTranspose3d
from ._currents import constant_input as constant_input
from ._currents import ou_process as ou_process
from ._currents import ramp_input as ramp_input
from ._currents import section_input as section_input
from ._currents import sinusoidal_input as sinusoidal_input
from ._currents import spike_input as spike_input
from ._currents import square_input as square_input
from ._currents import step_input as step_input
from ._currents import wiener_process as wiener_process
from ._dropout import Dropout as Dropout
from ._dropout import is_training as is_training
from ._dynamics import DelayedRead as DelayedRead
from ._dynamics import Dynamics as Dynamics
from ._dynamics import Prefetch as Prefetch
from ._dynamics import PrefetchDelay as PrefetchDelay
from ._embedding import Embedding as Embedding
from ._integrators import euler_step as euler_step
from ._integrators import exp_euler_step as exp_euler_step
from ._integrators import rk2_step as rk2_step
from ._integrators import rk4_step as rk4_step
from ._linear import Linear as Linear
from ._module import Module as Module
from ._module import Sequential as Sequential
from ._module import count_parameters as count_parameters
from ._module import init_all_states as init_all_states
from ._module import reset_all_states as reset_all_states
from ._module import vmap_init_all_states as vmap_init_all_states
from ._neurons import ALIF as ALIF
from ._neurons import IF as IF
from ._neurons import LIF as LIF
from ._neurons import LIFRef as LIFRef
from ._neurons import Neuron as Neuron
from ._normalization import BatchNorm0d as BatchNorm0d
from ._normalization import BatchNorm1d as BatchNorm1d
from ._normalization import BatchNorm2d as BatchNorm2d
from ._normalization import BatchNorm3d as BatchNorm3d
from ._normalization import GroupNorm as GroupNorm
from ._normalization import LayerNorm as LayerNorm
from ._normalization import RMSNorm as RMSNorm
from ._plasticity import STD as STD
from ._plasticity import STDP as STDP
from ._plasticity import STP as STP
from ._pooling import AdaptiveAvgPool1d as AdaptiveAvgPool1d
from ._pooling import AdaptiveAvgPool2d as AdaptiveAvgPool2d
from ._pooling import AdaptiveAvgPool3d as AdaptiveAvgPool3d
from ._pooling import AdaptiveMaxPool1d as AdaptiveMaxPool1d
from ._pooling import AdaptiveMaxPool2d as AdaptiveMaxPool2d
from ._pooling import AdaptiveMaxPool3d as AdaptiveMaxPool3d
from ._pooling import AvgPool1d as AvgPool1d
from ._pooling import AvgPool2d as AvgPool2d
from ._pooling import AvgPool3d as AvgPool3d
from ._pooling import MaxPool1d as MaxPool1d
from ._pooling import MaxPool2d as MaxPool2d
from ._pooling import MaxPool3d as MaxPool3d
from ._recording import Recording as Recording
from ._recording import SpikeRecord as SpikeRecord
from ._recording import cv_isi as cv_isi
from ._recording import fano_factor as fano_factor
from ._recording import firing_rate as firing_rate
from ._recording import mean_firing_rate as mean_firing_rate
from ._recording import run as run
from ._rnn import GRUCell as GRUCell
from ._rnn import LSTMCell as LSTMCell
from ._rnn import MGUCell as MGUCell
from ._rnn import RNNCell as RNNCell
from ._rnn import URLSTMCell as URLSTMCell
from ._rnn import ValinaRNNCell as ValinaRNNCell
from ._rnn import VanillaRNNCell as VanillaRNNCell
from ._shape import Flatten as Flatten
from ._shape import Unflatten as Unflatten
from ._spike_fn import ReluGrad as ReluGrad
from ._spike_fn import Surrogate as Surrogate
from ._spike_fn import heaviside as heaviside
from ._synapses import AMPA as AMPA
from ._synapses import NMDA as NMDA
from ._synapses import Alpha as Alpha
from ._synapses import DualExpon as DualExpon
from ._synapses import Expon as Expon
from ._synapses import GABAa as GABAa
from ._synapses import Synapse as Synapse
from ._synouts import COBA as COBA
from ._synouts import CUBA as CUBA
from ._synouts import MgBlock as MgBlock
from ._synouts import SynOut as SynOut

# Show the public home in reprs, tracebacks and docs (``brainstate_nn.X``, not ``brainstate_nn._x.X``).
for _obj in list(globals().values()):
    if isinstance(_obj, (type, _FunctionType)) and _obj.__module__.startswith("brainstate_nn._"):
        _obj.__module__ = __name__
del _obj

__version__ = "0.1.0"
