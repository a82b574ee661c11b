"""A seccomp deny-list for the sandbox, compiled to classic BPF by hand (no libseccomp needed).

bubblewrap loads it with `--seccomp FD` just before it executes the harness. Denied calls fail
with EPERM instead of killing the process, so learner code sees an ordinary OSError.
What it blocks: new namespaces (unshare, setns, clone with CLONE_NEW*), mounts, ptrace and
cross-process memory access, kernel keyrings, bpf, perf, module and kexec loading, io_uring,
and identity changes. The network namespace, not this filter, is what cuts the network.

It also guards the harness's events fd (its number is compiled into each spare's filter): no
close(), dup2()/dup3() onto it or close_range() over it, and no further seccomp filters. Learner
code could otherwise swap the channel for a pipe of its own and relay the harness's lines minus
the tamper evidence; writing forged lines to it stays possible and is caught by the line token.
"""

import errno
import os
import platform
import struct

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16
_LD_W_ABS, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x15, 0x45, 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_X32_BIT = 0x40000000
_CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080

# Numbers from the kernel's uapi headers (asm/unistd_64.h on x86_64, asm-generic/unistd.h on arm64).
_DENY = [
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "open_by_handle_at",
    "name_to_handle_at",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "vhangup",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "syslog",
    "lookup_dcookie",
]
_TABLES = {
    "x86_64": (
        0xC000003E,
        {
            "clone": 56,
            "ptrace": 101,
            "syslog": 103,
            "setuid": 105,
            "setgid": 106,
            "setreuid": 113,
            "setregid": 114,
            "setgroups": 116,
            "setresuid": 117,
            "setresgid": 119,
            "setfsuid": 122,
            "setfsgid": 123,
            "vhangup": 153,
            "pivot_root": 155,
            "adjtimex": 159,
            "chroot": 161,
            "acct": 163,
            "settimeofday": 164,
            "mount": 165,
            "umount2": 166,
            "swapon": 167,
            "swapoff": 168,
            "reboot": 169,
            "init_module": 175,
            "delete_module": 176,
            "quotactl": 179,
            "lookup_dcookie": 212,
            "clock_settime": 227,
            "kexec_load": 246,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "unshare": 272,
            "perf_event_open": 298,
            "name_to_handle_at": 303,
            "open_by_handle_at": 304,
            "setns": 308,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "kcmp": 312,
            "finit_module": 313,
            "kexec_file_load": 320,
            "bpf": 321,
            "userfaultfd": 323,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "clone3": 435,
            "pidfd_getfd": 438,
            "mount_setattr": 442,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "lookup_dcookie": 18,
            "umount2": 39,
            "mount": 40,
            "pivot_root": 41,
            "chroot": 51,
            "vhangup": 58,
            "quotactl": 60,
            "acct": 89,
            "unshare": 97,
            "kexec_load": 104,
            "init_module": 105,
            "delete_module": 106,
            "clock_settime": 112,
            "syslog": 116,
            "ptrace": 117,
            "reboot": 142,
            "setregid": 143,
            "setgid": 144,
            "setreuid": 145,
            "setuid": 146,
            "setresuid": 147,
            "setresgid": 149,
            "setfsuid": 151,
            "setfsgid": 152,
            "setgroups": 159,
            "settimeofday": 170,
            "adjtimex": 171,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "clone": 220,
            "swapon": 224,
            "swapoff": 225,
            "perf_event_open": 241,
            "name_to_handle_at": 264,
            "open_by_handle_at": 265,
            "setns": 268,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "kcmp": 272,
            "finit_module": 273,
            "bpf": 280,
            "userfaultfd": 282,
            "kexec_file_load": 294,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "clone3": 435,
            "pidfd_getfd": 438,
            "mount_setattr": 442,
        },
    ),
}


def _insn(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


# Per-architecture numbers of the calls the events-fd guard filters by argument.
_FD_CALLS = {
    "x86_64": {"close": 3, "dup2": 33, "dup3": 292, "close_range": 436, "seccomp": 317, "prctl": 157},
    "aarch64": {"close": 57, "dup3": 24, "close_range": 436, "seccomp": 277, "prctl": 167},
}
_OFF_ARG1 = _OFF_ARG0 + 8
_JGT_K, _JGE_K = 0x25, 0x35
_PR_SET_SECCOMP = 22


def _fd_guard(machine: str, fd: int, eperm: int, enosys: int) -> list[bytes]:
    """Instructions that refuse calls which would close or replace `fd` (nr is in A on entry and
    on every fall-through exit)."""
    calls, out = _FD_CALLS[machine], []

    def reload():
        return _insn(_LD_W_ABS, 0, 0, _OFF_NR)

    # close(fd) and dup2/dup3(old, fd): compare the fd argument's low 32 bits (fds are ints).
    out += [_insn(_JEQ_K, 0, 3, calls["close"]), _insn(_LD_W_ABS, 0, 0, _OFF_ARG0), _insn(_JEQ_K, 0, 1, fd)]
    out += [_insn(_RET_K, 0, 0, eperm), reload()]
    for name in ("dup2", "dup3"):
        if name in calls:
            out += [_insn(_JEQ_K, 0, 3, calls[name]), _insn(_LD_W_ABS, 0, 0, _OFF_ARG1), _insn(_JEQ_K, 0, 1, fd)]
            out += [_insn(_RET_K, 0, 0, eperm), reload()]
    # close_range(first, last): refuse with ENOSYS when first <= fd <= last, so libc and CPython
    # fall back to closing fds one by one (and close(fd) is refused above).
    out += [
        _insn(_JEQ_K, 0, 5, calls["close_range"]),
        _insn(_LD_W_ABS, 0, 0, _OFF_ARG0),
        _insn(_JGT_K, 3, 0, fd),  # first > fd: allowed
        _insn(_LD_W_ABS, 0, 0, _OFF_ARG1),
        _insn(_JGE_K, 0, 1, fd),  # last >= fd: covers it
        _insn(_RET_K, 0, 0, enosys),
        reload(),
    ]
    # No new seccomp filters: one could make the harness's own writes fail.
    out += [_insn(_JEQ_K, 0, 1, calls["seccomp"]), _insn(_RET_K, 0, 0, eperm)]
    out += [
        _insn(_JEQ_K, 0, 3, calls["prctl"]),
        _insn(_LD_W_ABS, 0, 0, _OFF_ARG0),
        _insn(_JEQ_K, 0, 1, _PR_SET_SECCOMP),
    ]
    out += [_insn(_RET_K, 0, 0, eperm), reload()]
    return out


def program(machine: str | None = None, *, events_fd: int | None = None) -> bytes:
    """The filter as `struct sock_filter[]` bytes for this machine's architecture."""
    machine = machine or platform.machine()
    if machine not in _TABLES:
        raise RuntimeError(f"no seccomp syscall table for {machine}")
    audit_arch, numbers = _TABLES[machine]
    eperm = 0x00050000 | errno.EPERM
    enosys = 0x00050000 | errno.ENOSYS
    denied = sorted({numbers[name] for name in _DENY})
    out = [
        _insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
        _insn(_JEQ_K, 1, 0, audit_arch),  # foreign ABI (e.g. i386 int 0x80): kill
        _insn(_RET_K, 0, 0, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    if machine == "x86_64":
        out += [_insn(_JSET_K, 0, 1, _X32_BIT), _insn(_RET_K, 0, 0, eperm)]
    # clone3 passes its flags in memory a filter cannot read: make libc fall back to clone.
    out += [_insn(_JEQ_K, 0, 1, numbers["clone3"]), _insn(_RET_K, 0, 0, enosys)]
    # clone: allow threads and fork, refuse new namespaces.
    out += [
        _insn(_JEQ_K, 0, 3, numbers["clone"]),
        _insn(_LD_W_ABS, 0, 0, _OFF_ARG0),
        _insn(_JSET_K, 0, 1, _CLONE_NEW_MASK),
        _insn(_RET_K, 0, 0, eperm),
        _insn(_LD_W_ABS, 0, 0, _OFF_NR),  # reached by both clone paths: reload nr
    ]
    if events_fd is not None:
        out += _fd_guard(machine, events_fd, eperm, enosys)
    for nr in denied:
        out += [_insn(_JEQ_K, 0, 1, nr), _insn(_RET_K, 0, 0, eperm)]
    out.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
    return b"".join(out)


def memfd(*, events_fd: int | None = None) -> int:
    """An fd holding the compiled filter, positioned at 0, for bwrap's --seccomp."""
    fd = os.memfd_create("fromscratch-seccomp", 0)
    os.write(fd, program(events_fd=events_fd))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
