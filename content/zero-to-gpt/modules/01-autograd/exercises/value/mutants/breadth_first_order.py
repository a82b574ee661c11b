"""A scalar autograd engine: every Value remembers the Values it was computed from and how to
send a gradient back to them."""


class Value:
    """One number in a computation, plus the gradient of the final output with respect to it."""

    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None  # pushes out.grad into the inputs' .grad; set by each op
        self._prev = set(_children)    # the Values this one was computed from
        self._op = _op                 # a label for the operation, handy when debugging

    # --- the core operations: each one builds a node and knows its local derivative -----------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            # d(a + b)/da = 1 and d(a + b)/db = 1: the gradient passes through unchanged
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            # d(a * b)/da = b and d(a * b)/db = a: each input gets the *other* input's value
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        assert isinstance(exponent, (int, float)), "Value ** x needs x to be an int or a float"
        out = Value(self.data ** exponent, (self,), f'**{exponent}')

        def _backward():
            # d(a ** n)/da = n * a ** (n - 1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), 'ReLU')

        def _backward():
            # slope 1 where the input was positive, 0 elsewhere
            if self.data > 0:
                self.grad += out.grad

        out._backward = _backward
        return out

    # --- backpropagation -------------------------------------------------------------------------
    def backward(self):
        """Fill in .grad of every Value this one depends on (d self / d node)."""
        # breadth-first from the output: each node once, but not in topological order, so a
        # node can pass its gradient on before it has received all of it
        self.grad = 1.0
        queue, seen = [self], {self}
        while queue:
            node = queue.pop(0)
            node._backward()
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)

    # --- everything else is built from the operations above --------------------------------------
    def __neg__(self):            # -a
        return self * -1

    def __sub__(self, other):     # a - b
        return self + (-other)

    def __truediv__(self, other):  # a / b
        return self * other ** -1

    def __radd__(self, other):    # 3 + a
        return self + other

    def __rsub__(self, other):    # 3 - a
        return (-self) + other

    def __rmul__(self, other):    # 3 * a
        return self * other

    def __rtruediv__(self, other):  # 3 / a
        return self ** -1 * other

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
