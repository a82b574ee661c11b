"""Scalar autograd.

Every node keeps a list of (input, local derivative) pairs, worked out when the node is built.
Backprop is then the same loop for every operation: input.grad += local * node.grad.
"""


def as_value(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        # _children holds (input, d this / d input) pairs
        self.edges = list(_children)
        self._prev = tuple(node for node, _ in self.edges)
        self._op = _op

    def _backward(self):
        for node, local in self.edges:
            node.grad += local * self.grad

    # core operations
    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, [(self, 1.0), (other, 1.0)], "+")

    def __mul__(self, other):
        other = as_value(other)
        return Value(self.data * other.data, [(self, other.data), (other, self.data)], "*")

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "exponent must be a number"
        slope = n * self.data ** (n - 1)
        return Value(self.data**n, [(self, slope)], f"pow{n}")

    def relu(self):
        if self.data > 0:
            return Value(self.data, [(self, 1.0)], "relu")
        return Value(0.0, [(self, 0.0)], "relu")

    # built from the core operations
    def __neg__(self):
        return -1 * self

    def __sub__(self, other):
        return self + -1 * as_value(other)

    def __truediv__(self, other):
        return self * as_value(other) ** -1

    def __radd__(self, other):
        return as_value(other) + self

    def __rsub__(self, other):
        return -self + other

    def __rmul__(self, other):
        return as_value(other) * self

    def __rtruediv__(self, other):
        return as_value(other) / self

    def backward(self):
        # How many times each node is used as an input somewhere below self.
        uses = {}
        seen = {self}
        pending = [self]
        while pending:
            node = pending.pop()
            for child in node._prev:
                uses[child] = uses.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    pending.append(child)

        # A node is ready once every node that used it has pushed its gradient back.
        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for child in node._prev:
                uses[child] -= 1
                if uses[child] == 0:
                    ready.append(child)

    def __repr__(self):
        return f"Value({self.data!r}, grad={self.grad!r})"
