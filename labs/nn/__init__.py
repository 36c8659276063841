"""The from-scratch NumPy network library: layers, losses, optimisers, models and a gradient checker."""

from labs.nn.attention import CausalSelfAttention, TransformerBlock
from labs.nn.batchnorm import BatchNorm1d, BatchNorm2d
from labs.nn.conv import AvgPool2D, Conv2D, MaxPool2D
from labs.nn.core import Layer, Parameter
from labs.nn.embedding import Embedding
from labs.nn.gradcheck import GradCheckEntry, GradCheckReport, gradcheck_fn, gradcheck_layer, gradcheck_model
from labs.nn.language_models import CharRNN, TinyGPT
from labs.nn.layers import GELU, Dropout, Flatten, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from labs.nn.losses import MSELoss, SequenceCrossEntropy, SoftmaxCrossEntropy
from labs.nn.models import MLP, ConvNet
from labs.nn.normalization import LayerNorm
from labs.nn.optim import SGD, Adam, AdamW, ConstantLR, StepDecay, WarmupCosine, clip_grad_norm
from labs.nn.recurrent import GRU, LSTM, RNN, make_recurrent
from labs.nn.residual import ResidualConvBlock, ResidualMLPBlock, deep_mlp
