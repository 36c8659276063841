"""The from-scratch NumPy network library: layers, losses, optimisers, models and a gradient checker."""

from labs.nn.core import Layer, Parameter
from labs.nn.gradcheck import GradCheckEntry, GradCheckReport, gradcheck_fn, gradcheck_layer, gradcheck_model
from labs.nn.layers import GELU, Dropout, Flatten, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from labs.nn.losses import MSELoss, SequenceCrossEntropy, SoftmaxCrossEntropy
