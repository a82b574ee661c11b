from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def _no_inputs(g):
    return ()


@dataclass(eq=False)
class Value:
    data: float
    _children: tuple = ()
    _op: str = ""
    grad: float = field(default=0.0, init=False)
    # grad_fn(g) -> one gradient per input, given g = d(output)/d(this node)
    grad_fn: Callable = field(default_factory=lambda: _no_inputs, init=False, repr=False)

    def __post_init__(self):
        self._prev = tuple(self._children)

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def _backward(self):
        grads = self.grad_fn(self.grad)
        for parent, g in zip(self._prev, grads, strict=True):
            parent.grad += g

    def __add__(self, other: Value | float) -> Value:
        other = to_value(other)
        out = Value(self.data + other.data, (self, other), "+")
        out.grad_fn = lambda g: (g, g)
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = to_value(other)
        a, b = self.data, other.data
        out = Value(a * b, (self, other), "*")
        out.grad_fn = lambda g: (g * b, g * a)
        return out

    def __pow__(self, n: float) -> Value:
        if not isinstance(n, (int, float)):
            raise TypeError(f"unsupported exponent {n!r}")
        x = self.data
        out = Value(x**n, (self,), f"^{n}")
        out.grad_fn = lambda g: (g * n * x ** (n - 1),)
        return out

    def relu(self) -> Value:
        x = self.data
        out = Value(x if x > 0 else 0.0, (self,), "ReLU")
        out.grad_fn = lambda g: (g if x > 0 else 0.0,)
        return out

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | float) -> Value:
        return self + -to_value(other)

    def __truediv__(self, other: Value | float) -> Value:
        return self * to_value(other) ** -1

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rsub__(self, other: float) -> Value:
        return self.__sub__(other)

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rtruediv__(self, other: float) -> Value:
        return to_value(other) * self**-1

    def backward(self) -> None:
        nodes = list(_post_order(self, set()))
        self.grad = 1.0
        for node in reversed(nodes):
            node._backward()


def to_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _post_order(node: Value, visited: set):
    """Yield node's inputs (recursively) before node itself, each node only once."""
    if id(node) in visited:
        return
    visited.add(id(node))
    for parent in node._prev:
        yield from _post_order(parent, visited)
    yield node
