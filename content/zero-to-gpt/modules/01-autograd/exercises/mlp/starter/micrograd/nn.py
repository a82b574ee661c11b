"""Neural networks made of Values: a neuron, a layer of neurons, and a multi-layer perceptron.
Fill in the TODOs. Your engine from the first exercise is in micrograd/engine.py."""

import random

from micrograd.engine import Value


class Module:
    """Anything with parameters: it can list them and reset their gradients."""

    def parameters(self):
        return []

    def zero_grad(self):
        # TODO: set the .grad of every parameter to 0
        pass


class Neuron(Module):
    """relu(w . x + b), or just w . x + b when nonlin is False."""

    def __init__(self, nin, nonlin=True):
        # TODO: nin weights, each Value(random.uniform(-1, 1)), drawn in order;
        #       a bias Value(0.0) (no random draw); remember nonlin
        self.w = []
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        # TODO: w . x + b, then relu() if self.nonlin
        raise NotImplementedError("Neuron.__call__")

    def parameters(self):
        # TODO: the weights, then the bias, in one list
        return []


class Layer(Module):
    """nout neurons that all read the same inputs."""

    def __init__(self, nin, nout, **kwargs):
        # TODO: nout Neurons with nin inputs each (pass **kwargs on, e.g. nonlin=False)
        self.neurons = []

    def __call__(self, x):
        # TODO: every neuron's output; a single Value when the layer has one neuron, else a list
        raise NotImplementedError("Layer.__call__")

    def parameters(self):
        # TODO: every neuron's parameters, in one flat list
        return []


class MLP(Module):
    """Layers of sizes nouts, one after the other; the last one is linear (no relu)."""

    def __init__(self, nin, nouts):
        # TODO: Layer(nin, nouts[0]), Layer(nouts[0], nouts[1]), ...; nonlin=False on the last one
        self.layers = []

    def __call__(self, x):
        # TODO: feed x through the layers in order
        raise NotImplementedError("MLP.__call__")

    def parameters(self):
        # TODO: every layer's parameters, in one flat list
        return []
