"""My micrograd engine, following along with the lecture."""


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    @staticmethod
    def _wrap(x):
        if isinstance(x, Value):
            return x
        return Value(x)

    def __add__(self, other):
        other = Value._wrap(other)
        result = Value(self.data + other.data, (self, other), "+")

        def backprop():
            self.grad += result.grad
            other.grad += result.grad

        result._backward = backprop
        return result

    def __mul__(self, other):
        other = Value._wrap(other)
        result = Value(self.data * other.data, (self, other), "*")

        def backprop():
            self.grad += result.grad * other.data
            other.grad += result.grad * self.data

        result._backward = backprop
        return result

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError("only int/float powers are supported")
        result = Value(self.data**k, (self,), f"**{k}")

        def backprop():
            self.grad += result.grad * k * self.data ** (k - 1)

        result._backward = backprop
        return result

    def relu(self):
        result = Value(max(0.0, self.data), (self,), "relu")

        def backprop():
            self.grad += result.grad

        result._backward = backprop
        return result

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v in visited:
                return
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for v in topo[::-1]:
            v._backward()

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value._wrap(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value._wrap(other) * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
