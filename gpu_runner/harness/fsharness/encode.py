"""Turn what a test observed into JSON the trusted side can compare (gpu_runner/wire.py reads it).

Numbers stay numbers (NaN and infinities become {"__float__": "nan" | "inf" | "-inf"}, since JSON
has none); tensors and arrays become {"__array__": true, "shape", "dtype", "data"} with their
values flattened. This runs in the learner's process, so nothing here is trusted: the parent
re-checks every value's shape, counts and types (wire.check_value) before comparing it.
"""

import math
import sys

MAX_ELEMENTS = 250_000  # = gpu_runner.wire.MAX_ELEMENTS
MAX_DEPTH = 20
MAX_INT_DIGITS = 4000  # CPython refuses str(int) past 4,300 digits


class ObservationError(ValueError):
    pass


def _float(x, _isnan=math.isnan, _isinf=math.isinf, _f=float):
    x = _f(x)
    if _isnan(x):
        return {"__float__": "nan"}
    if _isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return x


def _int(x):
    x = int(x)
    if x.bit_length() > MAX_INT_DIGITS * 3.32:
        raise ObservationError(f"an integer of more than {MAX_INT_DIGITS} digits cannot be observed")
    return x


def _array(flat, shape, dtype):
    if len(flat) > MAX_ELEMENTS:
        raise ObservationError(f"observed array has {len(flat)} elements; the limit is {MAX_ELEMENTS}")
    if dtype.startswith(("float", "complex", "bfloat", "half")):
        data = [_float(v) for v in flat]
    elif dtype == "bool":
        data = [bool(v) for v in flat]
    else:
        data = [_int(v) for v in flat]
    return {"__array__": True, "shape": [int(s) for s in shape], "dtype": dtype, "data": data}


def encode(value, depth=0):
    if depth > MAX_DEPTH:
        raise ObservationError("observed value is nested too deeply")
    # Subclasses of str, int and float are read through the base type's own methods, so an
    # overridden __str__ / __int__ / __float__ cannot change what is reported.
    if value is None or isinstance(value, bool):
        return None if value is None else (value is True)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return _int(int.__int__(value))
    if isinstance(value, float):
        return _float(float.__float__(value))
    module = type(value).__module__ or ""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        # With subclass dispatch off, a tensor subclass's __torch_function__ cannot intercept
        # how its data is read (detach, tolist, shape).
        with torch._C.DisableTorchFunctionSubclass():
            t = torch.Tensor.detach(value).cpu()
            dtype = str(t.dtype).replace("torch.", "")
            if t.is_complex():
                raise ObservationError("complex tensors cannot be observed; check .real and .imag separately")
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
