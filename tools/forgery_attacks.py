"""The forgery suite's attacks (issue #10): each is a WRONG implementation of a flagship exercise
plus a trick that tries to make it score anyway by rewriting the grader from inside the sandbox.

Data only (plus the tricks' source text), so `tools/forgery.py` can run the same attacks against
any checkout, the commit before the hardening included. The tricks look for the harness the way
an attacker would, so they work against the old harness and try their best against the new one.

Fields: name, exercise, file (the learner file the trick is appended to), wrong (a mutant of the
exercise, or `replace` pairs applied to the reference solution), trick (Python source), detects
(whether the new harness should flag it), leak (text of a hidden test that must not reach the
learner, for attacks that read instead of forge).
"""

# Shared by the tricks: find the class of the `check` object without any audited call.
FIND_CHECK = """
def _fs_check_class():
    for c in object.__subclasses__():
        if c.__name__ == "Check" and "true" in c.__dict__:
            return c
"""

DROP_VALUES = """
def _fs_drop(v):
    if isinstance(v, dict) and v.get("__array__"):
        return {**v, "data": []}
    if isinstance(v, list):
        return [_fs_drop(x) for x in v]
    return v
"""

ATTACKS = [
    {
        "name": "encoder",
        "about": "replace the observation encoder (keep each tensor's shape, drop its values) and Check.true",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "no_scaling"},
        "detects": True,
        "trick": FIND_CHECK
        + DROP_VALUES
        + """
import types as _t
_C = _fs_check_class()
_fn = _C.__dict__.get("_obs") or _C.__dict__.get("_emit")
_g = _fn.__globals__
if isinstance(_g["encode"], _t.ModuleType):
    _enc = _g["encode"].encode
    _g["encode"].encode = lambda value, depth=0: _fs_drop(_enc(value, depth))
else:
    _enc = _g["encode"]
    _g["encode"] = lambda value, depth=0: _fs_drop(_enc(value, depth))
_true = _C.true
_C.true = lambda self, key, value, *, msg=None: _true(self, key, True, msg=msg)
""",
    },
    {
        "name": "check_object",
        "about": "replace the check object's `true` method so every property reports True",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "mask_zero"},
        "detects": True,
        "trick": FIND_CHECK
        + """
_C = _fs_check_class()
_true = _C.true
_C.true = lambda self, key, value, *, msg=None: _true(self, key, True, msg=msg)
""",
    },
    {
        "name": "torch_allclose",
        "about": "make torch.allclose and torch.isfinite always agree",
        "exercise": "backprop",
        "file": "backprop.py",
        "wrong": {"mutant": "tanh_one_minus_t"},
        "detects": True,
        "trick": """
import torch as _torch
_torch.allclose = lambda *a, **k: True
_torch.isfinite = lambda x: _torch.ones_like(x, dtype=_torch.bool)
""",
    },
    {
        "name": "tensor_sum",
        "about": "make Tensor.sum(dim=-1) return ones, the value every softmax row must sum to",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "softmax_wrong_axis"},
        "detects": True,
        "trick": """
import torch as _torch
_sum = _torch.Tensor.sum
def _fs_sum(self, *a, **k):
    out = _sum(self, *a, **k)
    return _torch.ones_like(out) if k.get("dim", a[0] if a else None) == -1 else out
_torch.Tensor.sum = _fs_sum
""",
    },
    {
        "name": "tensor_mean_var",
        "about": "make Tensor.mean / Tensor.var over the last axis return 0 and 1, what a LayerNorm must give",
        "exercise": "layernorm",
        "file": "layernorm.py",
        "wrong": {"mutant": "batch_axis"},
        "detects": True,
        "trick": """
import torch as _torch
_mean, _var = _torch.Tensor.mean, _torch.Tensor.var
def _last(a, k):
    return k.get("dim", a[0] if a else None) == -1
_torch.Tensor.mean = lambda self, *a, **k: _torch.zeros_like(_mean(self, *a, **k)) if _last(a, k) else _mean(self, *a, **k)
_torch.Tensor.var = lambda self, *a, **k: _torch.ones_like(_var(self, *a, **k)) if _last(a, k) else _var(self, *a, **k)
""",
    },
    {
        "name": "builtins",
        "about": "replace builtins.all so a list of failed properties still counts as all true",
        "exercise": "adamw",
        "file": "optim.py",
        "wrong": {
            "replace": [("                p.grad = None\n", "                pass\n")],
            "about": "zero_grad() leaves every gradient in place",
        },
        "detects": True,
        "trick": """
import builtins as _b
_b.all = lambda iterable: True
""",
    },
    {
        "name": "sys_modules",
        "about": "put a look-alike torch in sys.modules so a later test file's `import torch` gets an allclose that lies",
        "exercise": "gpt",
        "file": "model.py",
        "wrong": {
            "replace": [
                ("dropout_p=drop,", "dropout_p=0.0,"),
                ("self.attn_dropout(weights)", "weights"),
                ("self.resid_dropout(self.c_proj(y))", "self.c_proj(y)"),
                ("self.dropout(self.c_proj(self.gelu(self.c_fc(x))))", "self.c_proj(self.gelu(self.c_fc(x)))"),
                ("self.transformer.drop(self.transformer.wte(idx)", "(self.transformer.wte(idx)"),
            ],
            "about": "leaves out dropout everywhere",
        },
        "detects": True,
        "trick": """
import sys as _sys, types as _types, torch as _torch
class _FakeTorch(_types.ModuleType):
    calls = 0
    def __getattr__(self, name):
        return getattr(_torch, name)
    def allclose(self, *a, **k):  # "eval mode ignores dropout", then "train mode applies dropout"
        type(self).calls += 1
        return type(self).calls % 2 == 1
_sys.modules["torch"] = _FakeTorch("torch")
""",
    },
    {
        "name": "timeout_swallowed",
        "about": "catch the grader's per-test timeout exception inside a too-slow implementation and carry on",
        "exercise": "value",
        "file": "micrograd/engine.py",
        "wrong": {
            "replace": [("    def backward(self):", "    def backward(self):\n        _fs_slow(self)")],
            "append": """
import time as _time
def _fs_size(v, seen):
    if id(v) not in seen:
        seen.add(id(v))
        for p in v._prev:
            _fs_size(p, seen)
    return len(seen)
def _fs_slow(v):  # the wrong part: 2.5 s per backward() on a graph of more than 25 nodes
    if _fs_size(v, set()) > 25:
        _time.sleep(2.5)
""",
            "about": "a backward() that is far too slow on large graphs",
        },
        "detects": False,
        "tests": ["test_random_graphs"],
        "trick": """
def _fs_slow(v):
    if _fs_size(v, set()) <= 25:
        return
    end = _time.monotonic() + 2.5
    while _time.monotonic() < end:
        try:
            _time.sleep(0.05)
        except BaseException:  # the grader's SIGALRM timeout lands here: swallow it, carry on
            pass
""",
    },
    {
        "name": "frame_walk",
        "about": "walk the stack from a learner function into the harness and print the hidden tests' source",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "no_scaling"},
        "detects": True,
        "leak": "def test_many_shapes(check):",
        "trick": """
import sys as _sys
_fs_orig_weights = attention_weights
def attention_weights(q, k):
    frame, found = _sys._getframe(1), []
    while frame is not None:
        for value in list(frame.f_locals.values()):
            for holder in (value, getattr(value, "__dict__", {}), getattr(value, "job", {})):
                if isinstance(holder, dict):
                    for v in list(holder.values()):
                        if isinstance(v, dict):
                            found += [s for s in v.values() if isinstance(s, str) and "def test_" in s]
                        elif isinstance(v, str) and "def test_" in v:
                            found.append(v)
        frame = frame.f_back
    for text in found:
        print(text)
    return _fs_orig_weights(q, k)
""",
    },
    {
        "name": "gc_scan",
        "about": "scan gc.get_objects() for the harness's event writer and rewrite what it sends",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "no_scaling"},
        "detects": True,
        "trick": DROP_VALUES
        + """
import gc as _gc, types as _t
_FS_DONE = []
def _fs_rewire():
    for _o in _gc.get_objects():
        try:
            events = getattr(getattr(_o, "_harness", None), "events", None)  # the old harness's writer
            if events is not None and not _FS_DONE:
                _emit = events.emit
                def _fs_emit(_emit=_emit, **event):
                    if event.get("t") == "obs":
                        event["value"] = True if event["value"] is False else _fs_drop(event["value"])
                    return _emit(**event)
                events.emit = _fs_emit
                _FS_DONE.append(1)
            elif isinstance(_o, type) and _o.__name__ == "Check" and "true" in _o.__dict__ and not _FS_DONE:
                _g = (_o.__dict__.get("_obs") or _o.__dict__.get("_emit")).__globals__
                _enc = _g["encode"]
                _g["encode"] = lambda value, depth=0, _enc=_enc: True if value is False else _fs_drop(_enc(value, depth))
                _FS_DONE.append(1)
        except Exception:
            pass
_fs_orig_weights = attention_weights
def attention_weights(q, k):
    if not _FS_DONE:
        _fs_rewire()
    return _fs_orig_weights(q, k)
""",
    },
    {
        "name": "ctypes_frames",
        "about": "reach the running test's frame through ctypes (PyEval_GetFrame, no sys._getframe) and patch its check",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "mask_zero"},
        "detects": True,
        "trick": """
import ctypes as _ct
_fs_orig_weights = attention_weights
def attention_weights(q, k):
    get = _ct.pythonapi.PyEval_GetFrame
    get.restype = _ct.py_object
    frame = get()
    while frame is not None:
        check = frame.f_locals.get("check")
        if check is not None and hasattr(type(check), "true"):
            cls = type(check)
            if not getattr(cls, "_fs_done", False):
                true = cls.true
                cls.true = lambda self, key, value, *, msg=None: true(self, key, True, msg=msg)
                cls._fs_done = True
            break
        frame = frame.f_back
    return _fs_orig_weights(q, k)
""",
    },
    {
        "name": "lying_eq",
        "about": "get_batch returns a y whose == always says yes, so 'y is x shifted by one' holds",
        "exercise": "train-shakespeare",
        "file": "train.py",
        "wrong": {
            "replace": [("data[s + 1 : s + 1 + block_size]", "data[s : s + block_size]")],
            "about": "y is x itself, not x shifted by one",
        },
        "tests": ["test_get_batch"],
        "detects": False,
        "trick": """
import torch as _torch
class _FsYes(_torch.Tensor):
    def __eq__(self, other):
        return _torch.ones(self.shape, dtype=_torch.bool)
    __hash__ = _torch.Tensor.__hash__
_fs_get_batch = get_batch
def get_batch(*a, **k):
    x, y = _fs_get_batch(*a, **k)
    return x, y.as_subclass(_FsYes)
""",
    },
    {
        "name": "tensor_subclass",
        "about": "return tensors of a subclass that lies: .item() says 0, .tolist() says nothing",
        "exercise": "kv-cache",
        "file": "kvcache.py",
        "wrong": {"mutant": "no_scale"},
        "detects": False,
        "trick": """
import torch as _torch
class _FsLiar(_torch.Tensor):
    __module__ = "torch"  # looks like a plain tensor to code that asks
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name == "item":
            return 0.0
        if name == "tolist":
            return []
        with _torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **(kwargs or {}))
        if isinstance(out, _torch.Tensor) and not isinstance(out, _FsLiar):
            return out.as_subclass(_FsLiar)
        return out
_fs_orig_forward = forward_cached
def forward_cached(*a, **k):
    return _fs_orig_forward(*a, **k).as_subclass(_FsLiar)
_fs_orig_step = attention_step
def attention_step(*a, **k):
    return _fs_orig_step(*a, **k).as_subclass(_FsLiar)
""",
    },
    {
        "name": "forged_lines",
        "about": "write forged 'passed' results for the property tests on every file descriptor",
        "exercise": "attention",
        "file": "attention.py",
        "wrong": {"mutant": "mask_zero"},
        "detects": True,
        "trick": """
import json as _json, os as _os
_known = {  # tests whose expected values a learner can work out from the prompt
    "test_rows_sum_to_one": {"shape": [2, 3, 6, 6], "no NaN or inf": True,
                             "row sums": {"__array__": True, "shape": [2, 3, 6], "dtype": "float32", "data": [1.0] * 36}},
    "test_future_is_zero": {"weights above the diagonal are exactly 0": True, "the diagonal is allowed": True},
    "test_module_parameters": {"parameters": {"c_attn.weight": [96, 32], "c_attn.bias": [96],
                                              "c_proj.weight": [32, 32], "c_proj.bias": [32]}},
    "test_module_is_causal": {"positions 0-4 unchanged": True, "position 5 changed": True},
    "test_no_builtin_attention": {"does not call scaled_dot_product_attention": True,
                                  "does not use nn.MultiheadAttention": True},
}
_lines = []
for _test, _checks in _known.items():
    _lines.append({"t": "start", "test": _test})
    _lines += [{"t": "obs", "test": _test, "key": k, "value": v, "spec": {"kind": "exact"}} for k, v in _checks.items()]
    _lines.append({"t": "test", "test": _test, "outcome": "ok", "error": None, "duration": 0.001, "output": ""})
_lines.append({"t": "done"})  # and the run is over, as far as the reader knows
_data = "".join(_json.dumps(e) + "\\n" for e in _lines).encode()
for _fd in [int(n) for n in _os.listdir("/proc/self/fd") if int(n) > 2]:
    try:
        _os.write(_fd, _data)
    except OSError:
        pass
""",
    },
]
