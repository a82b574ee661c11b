"""Value with a table of operations: each op is a forward rule plus its local derivatives."""

# op name -> (forward, derivatives)
# forward(x, y, k) gives the result; derivatives(x, y, k, out) gives d out / d input for each input.
OPS = {
    "add": (
        lambda x, y, k: x + y,
        lambda x, y, k, out: (1.0, 1.0),
    ),
    "mul": (
        lambda x, y, k: x * y,
        lambda x, y, k, out: (y, x),
    ),
    "pow": (
        lambda x, y, k: x**k,
        lambda x, y, k, out: (k * x ** (k - 1),),
    ),
    "relu": (
        lambda x, y, k: x if x > 0 else 0.0,
        lambda x, y, k, out: (1.0,),
    ),
}


def apply(op, inputs, k=None):
    forward, _ = OPS[op]
    xs = [v.data for v in inputs]
    if len(xs) == 1:
        xs.append(None)
    node = Value(forward(xs[0], xs[1], k), tuple(inputs), op)
    node.k = k
    return node


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._prev = _children
        self._op = _op
        self.k = None

    def _backward(self):
        if not self._op:
            return
        _, derivatives = OPS[self._op]
        xs = [v.data for v in self._prev] + [None]
        locals_ = derivatives(xs[0], xs[1], self.k, self.data)
        for inp, d in zip(self._prev, locals_, strict=True):
            inp.grad += d * self.grad

    @staticmethod
    def lift(x):
        if isinstance(x, Value):
            return x
        return Value(x)

    def __add__(self, other):
        return apply("add", [self, Value.lift(other)])

    def __mul__(self, other):
        return apply("mul", [self, Value.lift(other)])

    def __pow__(self, k):
        if type(k) not in (int, float):
            return NotImplemented
        return apply("pow", [self], k)

    def relu(self):
        return apply("relu", [self])

    def __neg__(self):
        return self * (-1.0)

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __truediv__(self, other):
        return self * Value.lift(other) ** (-1)

    def __radd__(self, other):
        return Value.lift(other) + self

    def __rsub__(self, other):
        return Value.lift(other) + (-self)

    def __rmul__(self, other):
        return Value.lift(other) * self

    def __rtruediv__(self, other):
        return Value.lift(other) * self ** (-1)

    def topo_order(self):
        """Every node below self, each one after all of its inputs (no recursion)."""
        order = []
        done = set()
        stack = [(self, iter(self._prev))]
        done.add(id(self))
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in done:
                    done.add(id(child))
                    stack.append((child, iter(child._prev)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self):
        order = self.topo_order()
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __repr__(self):
        return f"<Value data={self.data:.6g} grad={self.grad:.6g}>"
