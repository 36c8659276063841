"""Linux confinement by hand, through ctypes: prctl, namespaces, Landlock, and killing a process tree.

Standard library only: the checker copies this file into the learner's private folder for `stub.py`, and
imports it itself for `kill_tree`. Every function degrades gracefully: on another system, in a container
whose seccomp filter refuses `unshare`, or on a kernel without Landlock, it returns False (or applies
less) and the caller records what did not apply, so a grade always says how confined it was.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
LINUX = sys.platform.startswith("linux")

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def prctl(option: int, arg: int) -> bool:
    if not LINUX:
        return False
    try:
        return libc().prctl(option, ctypes.c_ulong(arg), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int) -> bool:
    """SIGKILL this process when its parent dies; exit now if the parent already died (the race between
    fork and prctl). `parent_pid` 0: a namespace's first process, whose parent it cannot see."""
    if not prctl(PR_SET_PDEATHSIG, signal.SIGKILL):
        return False
    if parent_pid and os.getppid() != parent_pid:
        os._exit(70)
    return True


def become_subreaper() -> bool:
    """Orphaned descendants (a double fork, setsid) are re-parented to this process, not to init, so
    `kill_tree` still finds them."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def not_dumpable() -> bool:
    """Other processes of the same user may no longer read this one's memory, fds or environment."""
    return prctl(PR_SET_DUMPABLE, 0)


def no_new_privs() -> bool:
    return prctl(PR_SET_NO_NEW_PRIVS, 1)


# -- namespaces ------------------------------------------------------------------------------------------
def enter_namespaces() -> dict[str, bool]:
    """A new user namespace (unprivileged), network namespace (no interface but a down loopback) and,
    when allowed, PID namespace: the first child forked after this is its init, and when that init dies
    the kernel kills every process left in it. Returns which of "network" and "pid" applied."""
    if not LINUX:
        return {"network": False, "pid": False}
    uid, gid = os.getuid(), os.getgid()
    for flags, got in ((CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID, {"network": True, "pid": True}),
                       (CLONE_NEWUSER | CLONE_NEWNET, {"network": True, "pid": False})):
        try:
            if libc().unshare(flags) == 0:
                _map_ids(uid, gid)
                return got
        except (OSError, AttributeError):
            break
    return {"network": False, "pid": False}


def _map_ids(uid: int, gid: int) -> None:
    """Keep our own uid and gid inside the new user namespace (files created stay the user's)."""
    for name, text in (("uid_map", f"{uid} {uid} 1"), ("setgroups", "deny"), ("gid_map", f"{gid} {gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError:
            pass


# -- Landlock (ABI detected; rights the running kernel does not know are left out) -------------------------
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on x86_64 and arm64
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
WRITES_V1 = sum(1 << b for b in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    if not LINUX:
        return 0
    try:
        abi = libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(abi))


def landlock(writable: list[str], readable: list[str]) -> dict[str, bool]:
    """Restrict this process and its future children: write only beneath `writable`, read only beneath
    `writable` and `readable`, no TCP bind or connect (ABI 4), no signals or abstract sockets to
    processes outside (ABI 6). Needs no_new_privs first. Returns which of these applied."""
    out = {"writes": False, "reads": False, "tcp": False, "signals": False}
    abi = landlock_abi()
    if abi < 1:
        return out
    fs = EXECUTE | WRITE_FILE | READ_FILE | READ_DIR | WRITES_V1
    fs |= (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if abi >= 6 else 0
    fields = [fs] + ([net] if abi >= 4 else []) + ([scoped] if abi >= 6 else [])
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    lib = libc()
    ruleset = lib.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                          ctypes.c_uint32(0))
    if ruleset < 0:
        return out
    try:
        read = EXECUTE | READ_FILE | READ_DIR
        rules = [(p, fs) for p in writable] + [(p, read) for p in readable]
        rules.append(("/dev/null", READ_FILE | WRITE_FILE))
        for path, access in rules:
            _add_rule(lib, ruleset, path, access)
        if lib.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return out
    finally:
        os.close(ruleset)
    return {"writes": True, "reads": True, "tcp": bool(net), "signals": bool(scoped)}


def _add_rule(lib, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this system does not have
    try:
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        rule = _PathBeneath(allowed_access=access, parent_fd=fd)
        lib.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)


# -- every descendant, setsid or not -----------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every live (not zombie) process in /proc."""
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat[0] != b"Z":
            out.setdefault(int(stat[1]), []).append(int(name))
    return out


def descendants(pid: int) -> list[int]:
    if not os.path.isdir("/proc/self"):
        return []
    children, found, todo = _children(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def kill_tree(pid: int, *, include_root: bool) -> None:
    """SIGKILL every descendant of `pid` (and `pid` itself if `include_root`). Each is stopped first and
    the tree is walked again until nothing new appears, so a process forking as fast as it can cannot
    slip a child past the walk. Descendants that called setsid are found as long as `pid` is their
    subreaper (or an ancestor of it); on a system without /proc only the process group is killed."""
    if not os.path.isdir("/proc/self"):
        _signal_group(pid)
        return
    if include_root:
        _signal(pid, signal.SIGSTOP)
    seen: set[int] = set()
    for _ in range(100):
        new = [p for p in descendants(pid) if p not in seen]
        if not new:
            break
        for p in new:
            _signal(p, signal.SIGSTOP)
        seen.update(new)
    for p in seen:
        _signal(p, signal.SIGKILL)
    if include_root:
        _signal(pid, signal.SIGKILL)
        _signal_group(pid)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
