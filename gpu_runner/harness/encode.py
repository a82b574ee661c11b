"""Turn what a test observed into JSON the trusted side can compare.

Numbers stay numbers (NaN and infinities become tagged strings, since JSON has none); tensors and
arrays become {"__array__": ..., "shape", "dtype", "data"} with their values flattened.
"""

import math

MAX_ELEMENTS = 250_000


class ObservationError(ValueError):
    pass


def _float(x):
    x = float(x)
    if math.isnan(x):
        return {"__float__": "nan"}
    if math.isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return x


def _array(flat, shape, dtype):
    if len(flat) > MAX_ELEMENTS:
        raise ObservationError(f"observed array has {len(flat)} elements; the limit is {MAX_ELEMENTS}")
    if dtype.startswith(("float", "complex", "bfloat")):
        data = [_float(v) for v in flat]
    elif dtype == "bool":
        data = [bool(v) for v in flat]
    else:
        data = [int(v) for v in flat]
    return {"__array__": True, "shape": list(shape), "dtype": dtype, "data": data}


def encode(value, depth=0):
    if depth > 20:
        raise ObservationError("observed value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float(value)
    module = type(value).__module__
    if module.startswith("torch") and hasattr(value, "detach"):
        t = value.detach().cpu()
        dtype = str(t.dtype).replace("torch.", "")
        if t.dtype.is_floating_point:
            t = t.double()
        return _array(t.reshape(-1).tolist(), tuple(t.shape), dtype)
    if module.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.ndarray):
            return _array(value.reshape(-1).tolist(), value.shape, str(value.dtype))
        if isinstance(value, np.generic):
            return encode(value.item(), depth + 1)
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v, depth + 1) for k, v in value.items()}
    if hasattr(value, "__float__"):
        return _float(value)
    raise ObservationError(
        f"cannot observe a value of type {type(value).__name__}; pass numbers, lists, tensors or strings"
    )
