"""Tamper detection inside the sandbox: a PEP 578 audit hook and a snapshot of what tests rely on.

Defence in depth only. The verdict holds without this module, because every graded check is a
value compared on the trusted side with the reference's, whose values never enter the sandbox
(docs/architecture.md, "Why a forged grade needs the reference's values"). What this adds is
*evidence* for staff: a learner who patches the grader gets that test failed and the submission
flagged, with the reason, instead of a wrong grade that merely does not help them.

Two mechanisms:

1. The audit hook (installed before any learner code is imported, and irremovable: CPython has
   no way to take an audit hook off) sees introspection as it happens and reports it at once on
   the events channel: gc scans, frame access, tracers, ctypes, code replacement, opening the
   process's memory or the harness's files, importing the harness. torch, logging and typing
   make some of these calls honestly, so an event counts only when the code that made it is the
   learner's (the nearest frame, skipping thin wrappers such as `inspect` and `ctypes`), and it
   is *evidence* only when harness or test state was reached or altered; lesser cases are
   *recorded* for staff without failing anything. CPython 3.11 raises no audit event for
   `frame.f_back`, `f_locals`, closure cells or plain attribute writes on classes and modules,
   hence the second mechanism.
2. The snapshot: identities of builtins, of public torch/math/json/random callables, of
   `torch.Tensor`'s and `torch.nn.Module`'s attributes, of the harness's own classes and of their
   `sys.modules` entries (the job-independent part taken before the spare reports ready, the
   job's own classes just before the first learner import), compared when a test
   records its first value and when it ends (once per value cost a third of a pure-Python job's
   time; a patch undone between two comparisons evades any sampling, and the verdict does not
   rest on this anyway). A replaced `torch.allclose` or `Check.true` is evidence.
"""

import sys
from itertools import repeat as _repeat
from operator import is_ as _is

WRAPPERS = ("/inspect.py", "/traceback.py", "/functools.py", "/contextlib.py", "/ctypes/__init__.py", "/linecache.py")
EVIDENCE_ALWAYS = {
    "gc.get_objects": "scanned every object in the interpreter (gc.get_objects)",
    "gc.get_referrers": "searched the interpreter's objects for references (gc.get_referrers)",
    "sys._current_frames": "read the stack frames of every thread (sys._current_frames)",
    "sys._current_exceptions": "read the exceptions of every thread (sys._current_exceptions)",
}
FRAME_ATTRS = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
WATCHED_MODULES = (
    "builtins",
    "math",
    "json",
    "random",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.testing",
    "numpy",
)
WATCHED_TYPES = (("torch", "Tensor"), ("torch.nn", "Module"))
MAX_REPORTS = 40
# ctypes calls that read or write memory or call native code; loading ctypes itself is only recorded.
CTYPES_POKES = frozenset(
    ["ctypes.cdata", "ctypes.cdata/buffer", "ctypes.string_at", "ctypes.wstring_at", "ctypes.call_function"]
    + ["ctypes.PyObj_FromPtr", "ctypes.set_errno", "ctypes.get_errno"]
)


def install(emit, *, harness_dir: str, work_dir: str, events_fd: int):
    """Install the audit hook now; returns the `Guard` controls the runner uses."""
    getframe, ident = sys._getframe, _thread_ident()
    busy, seen = set(), set()
    st = {
        "armed": False,  # True from the first learner import on
        "test": None,
        "file": None,
        "tests": frozenset(),  # visible test paths under work_dir, and "<hidden test N>" names
        "reports": 0,
    }
    harness_prefix = harness_dir.rstrip("/") + "/"
    work_prefix = work_dir.rstrip("/") + "/"
    protected_open = (harness_prefix, "/proc/self/mem", "/proc/thread-self/mem")
    fd_paths = (f"/proc/self/fd/{events_fd}", f"/dev/fd/{events_fd}", "/proc/self/fd/0", "/dev/stdin")
    disguise = (harness_prefix, *_LIBRARY_PREFIXES)

    def kind_of(filename) -> str:
        if type(filename) is not str:
            return "library"
        if filename.startswith(harness_prefix):
            return "harness"
        if filename in st["tests"]:
            return "test"
        # The installed libraries before /tmp: outside the sandbox (`fromscratch test`, unsafe
        # local) an environment may live under /tmp, and torch's own frames are not the
        # learner's. Inside it they are /venv/lib/, read-only; a learner file compiled under such
        # a name is reported by the audit hook ("disguise") before it can run.
        if filename.startswith(_LIBRARY_PREFIXES):
            return "library"
        if filename.startswith(work_prefix) or filename.startswith("/tmp/"):
            return "learner"
        return "library"

    def origin(frame) -> str:
        """Who made the call: the nearest frame that is not a thin wrapper or generated code."""
        depth = 0
        while frame is not None and depth < 64:
            name = frame.f_code.co_filename
            if not (name.startswith("<") or name.endswith(WRAPPERS)):
                return kind_of(name)
            frame, depth = frame.f_back, depth + 1
        return "library"

    def owner(frame) -> str:
        """The nearest learner, test or harness frame (library frames are passed over)."""
        depth = 0
        while frame is not None and depth < 64:
            kind = kind_of(frame.f_code.co_filename)
            if kind != "library":
                return kind
            frame, depth = frame.f_back, depth + 1
        return "library"

    def report(level, what, detail):
        key = (level, what, detail, st["test"], st["file"])
        if key in seen or st["reports"] >= MAX_REPORTS:
            return
        seen.add(key)
        st["reports"] += 1
        emit({"t": "integrity", "level": level, "kind": what, "detail": detail, "test": st["test"], "file": st["file"]})

    def frame_kind(frame) -> str:
        code = getattr(frame, "f_code", None)
        return kind_of(getattr(code, "co_filename", None))

    def judge(event, args, caller):
        # Checks that do not depend on who called: no honest code does these after the learner's
        # import (a tracer sees every frame of the harness and the tests).
        if event == "sys.settrace" or event == "sys.setprofile":
            return report("evidence", event, f"installed a trace or profile function ({event})")
        if event == "open":
            if owner(caller) == "harness":  # the harness's tracebacks read its own source lines
                return None
            path = args[0] if args else None
            if type(path) is bytes:
                path = path.decode("utf-8", "replace")
            if type(path) is str and (path.startswith(protected_open) or path in fd_paths or _is_proc_mem(path)):
                return report("evidence", "open", f"opened {path}")
            return None
        if event == "import":
            name = args[0] if args else None
            if type(name) is str and (name == "fsharness" or name.startswith("fsharness.")):
                return report("evidence", "import", f"imported the grading harness ({name})")
            return None
        if origin(caller) != "learner":
            return None
        if event in EVIDENCE_ALWAYS:
            return report("evidence", event, EVIDENCE_ALWAYS[event])
        if event.startswith("ctypes."):
            level = "evidence" if event in CTYPES_POKES else "recorded"
            return report(level, "ctypes", f"used raw memory or foreign functions ({event})")
        if event == "sys._getframe":
            if frame_kind(args[0] if args else None) in ("test", "harness"):
                return report("evidence", event, "reached the grader's stack frames (sys._getframe)")
            return report("recorded", event, "inspected the call stack (sys._getframe)")
        if event == "object.__getattr__" and len(args) >= 2 and type(args[1]) is str:
            return _attribute_read(args[0], args[1])
        if event in ("object.__setattr__", "object.__delattr__") and len(args) >= 2 and type(args[1]) is str:
            return _attribute_write(args[0], args[1])
        if event in ("compile", "code.__new__") and len(args) >= 2:
            filename = args[1]
            if type(filename) is str and (filename.startswith(disguise) or filename in st["tests"]):
                return report("evidence", event, f"compiled code disguised as {filename}")
            return None
        if event == "gc.get_referents":
            return report("recorded", event, "followed references between objects (gc.get_referents)")
        if event == "sys.addaudithook":
            return report("recorded", event, "added an audit hook of its own")
        return None

    def _attribute_read(obj, name):
        # These reads are audited because they lead to frames and code: the frames of a test or
        # of the harness hold the `check` object, the test's inputs and the harness's state.
        if name in FRAME_ATTRS:
            target = getattr(obj, name, None)
        elif name == "f_code":
            target = obj
        elif name in ("__code__", "gi_code"):
            code = getattr(obj, name, None)
            if kind_of(getattr(code, "co_filename", None)) in ("test", "harness"):
                return report("evidence", name, "read the code of a test or of the grader")
            return None
        else:
            return None
        if frame_kind(target) in ("test", "harness"):
            return report("evidence", name, f"reached the grader's stack frames ({name})")
        return report("recorded", name, f"inspected frames ({name})")

    def _attribute_write(obj, name):
        if name in ("__code__", "__defaults__", "__kwdefaults__"):
            code = getattr(obj, "__code__", None)
            if name == "__code__" or kind_of(getattr(code, "co_filename", None)) != "learner":
                qual = getattr(obj, "__qualname__", "?")
                qual = qual if type(qual) is str else "?"
                return report("evidence", "code", f"replaced part of a function it did not write ({qual}.{name})")
            return None
        if name in ("__class__", "__bases__"):
            return report("recorded", "class", f"changed an object's class ({name})")
        return None

    watched = frozenset(
        ["sys.settrace", "sys.setprofile", "open", "import", "gc.get_referents", "sys._getframe", "object.__getattr__"]
        + ["object.__setattr__", "object.__delattr__", "compile", "code.__new__", "sys.addaudithook"]
        + list(EVIDENCE_ALWAYS)
    )

    def hook(event, args):
        if not st["armed"] or (event not in watched and not event.startswith("ctypes.")):
            return
        me = ident()
        if me in busy:  # our own getattr/getframe below raise audit events too
            return
        busy.add(me)
        try:
            judge(event, args, getframe(1))
        except Exception:
            pass
        finally:
            busy.discard(me)

    sys.addaudithook(hook)
    return Guard(st)


def _thread_ident():
    import _thread

    return _thread.get_ident


def _is_proc_mem(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "proc" and parts[3] in ("mem", "pagemap") and parts[2].isdigit()


class Guard:
    """What the runner needs: arm the hook, say which test runs, and check the snapshot."""

    __slots__ = ("_st", "_snapshot", "_groups", "_base")

    def __init__(self, st):
        self._st = st
        self._snapshot = ()
        self._groups = ()
        self._base = None

    def prepare(self):
        """Snapshot what does not depend on the job (builtins, torch's and the other watched
        modules' callables, torch.Tensor's attributes) before the spare reports ready: with torch
        loaded that is ~2,800 entries and ~5 ms, which arm() would otherwise add to every
        submission. Nothing runs between this and arm() but the harness itself."""
        entries = tuple(_snapshot((), ()))
        self._base = (entries, _grouped(entries))

    def arm(self, *, test_files, extra_types=(), extra_namespaces=()):
        self._st["tests"] = frozenset(test_files)
        if self._base is None:
            self.prepare()
        base, base_groups = self._base
        extra = tuple(_extra_entries(extra_types, extra_namespaces))
        self._snapshot = base + extra
        self._groups = base_groups + _grouped(extra)
        self._st["armed"] = True

    def unchanged(self, _all=all, _map=map, _len=len, _is=_is, _repeat=_repeat) -> bool:
        # The builtins it uses are bound when the harness is imported: learner code that replaces
        # builtins.all (the snapshot's own subject) must not blind the check.
        for get, keys, expected in self._groups:
            if not _all(_map(_is, _map(get, keys, _repeat(_MISSING, _len(keys))), expected)):
                return False
        return True

    def at(self, *, test=None, file=None):
        self._st["test"], self._st["file"] = test, file

    def altered(self, _len=len) -> list[str]:
        """What learner code replaced since the snapshot (names like 'torch.allclose')."""
        if self.unchanged():
            return []
        changed = []
        for label, holder, key, expected in self._snapshot:
            current = holder.get(key, _MISSING)
            if current is not expected and not _library_wrapper(current, expected):
                changed.append(label)
                if _len(changed) >= 8:
                    break
        return changed


_MISSING = object()
# Where the interpreter's and the environment's libraries live (/venv/lib/ in the sandbox).
_LIBRARY_PREFIXES = tuple({f"{sys.prefix}/lib/", f"{sys.base_prefix}/lib/", "/usr/lib/python3"})


def _library_wrapper(current, expected, getattr=getattr, type=type, str=str) -> bool:
    """torch wraps some of its own functions when a submodule is first imported (importing
    torch._dynamo replaces torch.manual_seed with a functools.wraps wrapper of it). A replacement
    that wraps the original *and* whose code lives in the installed libraries is that, not
    tampering: learner code can only make a function with a library file name by compiling it
    under a disguised name, which the audit hook reports as evidence."""
    wrapped, depth = current, 0
    while depth < 4 and wrapped is not expected:
        wrapped, depth = getattr(wrapped, "__wrapped__", None), depth + 1
    if wrapped is not expected:
        return False
    code = getattr(current, "__code__", None)
    filename = getattr(code, "co_filename", "")
    return type(filename) is str and filename.startswith(_LIBRARY_PREFIXES)


def _public_callables(namespace: dict, label: str):
    for name, value in list(namespace.items()):
        if (not name.startswith("_") or name.startswith("__") and name.endswith("__")) and (
            callable(value) or type(value) is type(sys)
        ):
            yield (f"{label}.{name}", namespace, name, value)


def _grouped(entries) -> tuple:
    """The entries grouped by the dict that holds them, so the common case (nothing changed) is
    one C-level pass per dict: unchanged() runs before every recorded value."""
    groups = {}
    for _label, holder, key, expected in entries:
        groups.setdefault(id(holder), (holder, [], []))
        groups[id(holder)][1].append(key)
        groups[id(holder)][2].append(expected)
    return tuple((h.get, tuple(k), tuple(e)) for h, k, e in groups.values())


def _extra_entries(extra_types, extra_namespaces):
    """The job's own classes and the harness's module globals (made per job)."""
    for cls in extra_types:
        yield from _type_entries(cls, cls.__name__)
    for label, namespace in extra_namespaces:
        yield from ((f"{label}.{n}", namespace, n, v) for n, v in list(namespace.items()))


def _snapshot(extra_types, extra_namespaces):
    """(label, holder dict, key, object) for everything the snapshot protects."""
    import builtins

    entries = [(f"builtins.{n}", builtins.__dict__, n, v) for n, v in list(builtins.__dict__.items())]
    for module_name in WATCHED_MODULES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        entries.append((f"sys.modules[{module_name!r}]", sys.modules, module_name, module))
        if module_name != "builtins":
            entries.extend(_public_callables(module.__dict__, module_name))
    for module_name, type_name in WATCHED_TYPES:
        module = sys.modules.get(module_name)
        cls = getattr(module, type_name, None) if module is not None else None
        if cls is not None:
            entries.extend(_type_entries(cls, f"{module_name}.{type_name}"))
    entries.extend(_extra_entries(extra_types, extra_namespaces))
    return entries


def _type_entries(cls, label):
    # A class's __dict__ is a read-only proxy over the live dict: reading it later sees patches.
    # Names a base class defines are watched too: `torch.Tensor.sum = f` does not replace an
    # entry (sum lives on the C base, torch._C.TensorBase) but adds one that shadows it.
    proxy = cls.__dict__
    entries = [(f"{label}.{name}", proxy, name, value) for name, value in list(proxy.items())]
    inherited = {n for base in cls.__mro__[1:] for n in getattr(base, "__dict__", {}) if n not in proxy}
    entries += [(f"{label}.{name}", proxy, name, _MISSING) for name in sorted(inherited)]
    return entries
