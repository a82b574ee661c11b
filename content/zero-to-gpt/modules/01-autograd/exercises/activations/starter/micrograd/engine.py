"""A scalar autograd engine, with tanh() and exp() still to add.

You start from your own engine from "A scalar autograd engine" once you have passed it; this
file only holds the parts that exercise gave you (the other TODOs are still yours to fill in).
"""

import math


class Value:
    """One number in a computation, plus the gradient of the final output with respect to it."""

    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None  # pushes out.grad into the inputs' .grad; set by each op
        self._prev = set(_children)    # the Values this one was computed from
        self._op = _op                 # a label for the operation, handy when debugging

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            # the local derivative of a + b is 1 for both inputs
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        # TODO: like __add__, but the local derivatives of a * b are b (for a) and a (for b)
        raise NotImplementedError("Value.__mul__")

    def __pow__(self, exponent):
        # TODO: exponent is a plain int or float (not a Value); d(a ** n)/da = n * a ** (n - 1)
        raise NotImplementedError("Value.__pow__")

    def relu(self):
        # TODO: max(0, a); the gradient flows only where the input was positive
        raise NotImplementedError("Value.relu")

    def backward(self):
        # TODO: 1. list every node this one depends on in topological order (each node after
        #          all of its inputs; visit each node once)
        #       2. set self.grad = 1.0
        #       3. call _backward() on each node, from the output back to the inputs
        raise NotImplementedError("Value.backward")

    # TODO: the rest can be written with the operations above (no new _backward needed)
    def __neg__(self):             # -a
        raise NotImplementedError("Value.__neg__")

    def __sub__(self, other):      # a - b
        raise NotImplementedError("Value.__sub__")

    def __truediv__(self, other):  # a / b
        raise NotImplementedError("Value.__truediv__")

    def __radd__(self, other):     # 3 + a (Python calls a.__radd__(3))
        raise NotImplementedError("Value.__radd__")

    def __rsub__(self, other):     # 3 - a
        raise NotImplementedError("Value.__rsub__")

    def __rmul__(self, other):     # 3 * a
        raise NotImplementedError("Value.__rmul__")

    def __rtruediv__(self, other):  # 3 / a
        raise NotImplementedError("Value.__rtruediv__")

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def tanh(self):
        # TODO: a new Value holding tanh(self.data) (math.tanh), with a _backward that adds
        # the local derivative 1 - tanh(a)**2, times out.grad, to self.grad
        raise NotImplementedError("Value.tanh")

    def exp(self):
        # TODO: a new Value holding e**self.data (math.exp), with a _backward that adds
        # the local derivative e**a, times out.grad, to self.grad
        raise NotImplementedError("Value.exp")
