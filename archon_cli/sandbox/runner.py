"""Run untrusted (model-written) Python in a separate, confined process.

Confinement, where bubblewrap (`bwrap`) works: no network (its own net namespace), its own PID
namespace (everything in it dies with it), and a filesystem that shows the code nothing of the
host but what the interpreter needs: the system's /usr (with /bin, /lib...) and the
interpreter's own installation, read-only; the job's files, read-only, at JOB_DIR; an empty
private home (the working dir) and /tmp, each a size-capped tmpfs. No /etc, no host /tmp, no
user home, no cache, no project files, no venv: not even the user's own files are visible when
the tool runs as a normal user. rlimits on CPU time, address space, processes and file size are
applied *inside* the sandbox with `prlimit`, plus a wall-clock timeout. When the tool runs as
root the code runs as `nobody`, because the kernel does not enforce the process limit for root.
Where bwrap cannot run, the code runs in a plain subprocess with the same rlimits, and a warning
says so once per process.

stdout and stderr are pipes of which only the tail is kept: the file-size limit does not apply
to them, so a correct solution that prints a lot is not failed by it.

Tests run through the harness (harness.py): the candidate is loaded as a module that is not
`__main__`, and the verdict travels on a pipe of its own with a per-run nonce, not on stdout.

Never `exec` in the tool's own process: every run is a fresh interpreter.
"""

from __future__ import annotations

import functools
import logging
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from archon_cli.errors import SandboxUnavailable

log = logging.getLogger(__name__)

NOBODY = 65534
TAIL_CHARS = 2000  # enough to show a traceback; keeps results small
REPORT_BYTES = 4096  # the harness writes two short lines; more is the candidate's noise
JOB_DIR = "/archon-sbx-job"  # the job's files inside the sandbox (the name marks its processes)
HOME = "/home/sandbox"
HARNESS = Path(__file__).with_name("harness.py")
# Top-level system paths the interpreter and its shared libraries may live under.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0  # HumanEval tests take well under a second; leaves room for a slow machine
    cpu_s: int = 10
    memory_mb: int = 512  # address space; a Python interpreter needs ~30 MB
    processes: int = 32  # counted per user namespace: a fork bomb hits it, `subprocess` still works
    file_mb: int = 16  # largest file the code may write (stdout/stderr are pipes, not capped by it)
    tmpfs_mb: int = 64  # size of each of the private home and /tmp (they live in memory)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ExecResult:
    passed: bool  # exited 0 within the limits; a test run: the harness reported that the tests passed
    timed_out: bool  # hit the wall-clock timeout (then killed)
    killed: bool  # ended by a signal: our timeout kill, SIGXCPU, SIGXFSZ, SIGKILL...
    exit_code: int | None  # None when ended by a signal
    stdout: str  # tails
    stderr: str
    duration_s: float
    sandboxed: bool  # False when it ran in the degraded plain-subprocess mode


def run_python(code: str, limits: Limits = DEFAULT_LIMITS, *, require_sandbox: bool = False) -> ExecResult:
    """Run `code` as a Python script in the sandbox and wait for it (at most `limits.wall_s`)."""
    result, _ = _execute({"main.py": code}, [], limits, require_sandbox=require_sandbox, report=False)
    return result


def test_program(tests: str, entry_point: str | None) -> str:
    """The tests, then `check(entry_point)` when they define `check` (HumanEval style); bare
    `assert` tests just run."""
    call = f"\n\ncheck({entry_point})\n" if entry_point and "def check(" in tests else "\n"
    return f"{tests}{call}"


def execute_tests(code: str, tests: str, entry_point: str | None,
                  limits: Limits = DEFAULT_LIMITS) -> ExecResult:
    """Run `tests` against `code` in the sandbox; `passed` only when the harness reports that the
    tests ran to the end. Module-level so callers (a scorer) can be tested with a substitute."""
    result, verdict = _run_harness("check", code, test_program(tests, entry_point), limits)
    return ExecResult(passed=verdict == "passed", timed_out=result.timed_out, killed=result.killed,
                      exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr,
                      duration_s=result.duration_s, sandboxed=result.sandboxed)


def count_passing(code: str, tests: list[str], limits: Limits = DEFAULT_LIMITS) -> int:
    """How many of `tests` (assert statements) pass against `code`, in one sandboxed run. Code
    that does not even load passes none."""
    if any("\0" in t for t in tests):  # not Python source; keeps the harness's separator unambiguous
        tests = [t for t in tests if "\0" not in t]
    _, verdict = _run_harness("count", code, "\0".join(tests), limits)
    return min(len(tests), int(verdict)) if verdict is not None and verdict.isdigit() else 0


def _run_harness(mode: str, program: str, tests: str, limits: Limits) -> tuple[ExecResult, str | None]:
    """Run the harness (`mode` check or count); the verdict it reported, or None when it reported none."""
    files = {"main.py": _harness_source(), "program.py": program, "tests.py": tests}
    result, report = _execute(files, [mode], limits, require_sandbox=False, report=True)
    return result, _verdict(report)


@functools.cache
def _harness_source() -> str:
    return HARNESS.read_text(encoding="utf-8")


def _verdict(report: bytes) -> str | None:
    """The result line of a harness report: the first line is the nonce, written before the
    candidate ran; only a later line that starts with it is the harness's own."""
    lines = report.decode("utf-8", "replace").splitlines()
    if not lines or len(lines[0]) < 32:
        return None
    nonce = lines[0]
    for line in lines[1:]:
        head, _, verdict = line.partition(" ")
        if head == nonce:
            return verdict
    return None


def _execute(files: dict[str, str], args: list[str], limits: Limits, *, require_sandbox: bool,
             report: bool) -> tuple[ExecResult, bytes]:
    """Run `main.py` of `files` (all in one directory) with `args`, plus the report pipe's fd
    when `report`."""
    bwrap = _bwrap_works()
    if bwrap is None:
        if require_sandbox:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed or cannot create namespaces")
        _warn_unsandboxed()
    with tempfile.TemporaryDirectory(prefix="archon-sbx-") as root:
        job, home = Path(root) / "job", Path(root) / "home"
        job.mkdir()
        home.mkdir()  # the working dir when unsandboxed; a tmpfs replaces it in the sandbox
        for name, text in files.items():
            (job / name).write_text(text, encoding="utf-8")
        python = _interpreter() if os.geteuid() == 0 else sys.executable
        drop = os.geteuid() == 0 and _other_can_exec(python)
        if drop:  # the unprivileged user must reach the job's files (and, unsandboxed, write its home)
            os.chmod(root, 0o711)
            os.chmod(job, 0o755)
            for path in job.iterdir():
                path.chmod(0o644)
            os.chown(home, NOBODY, NOBODY)
        where = JOB_DIR if bwrap is not None else str(job)
        pipes = [os.pipe() for _ in range(3 if report else 2)]
        extra = [str(pipes[2][1])] if report else []
        argv = _argv(bwrap, python, job, [f"{where}/main.py", *args, *extra], limits, drop)
        sinks = [_Tail(TAIL_CHARS * 4), _Tail(TAIL_CHARS * 4), _Head(REPORT_BYTES)][:len(pipes)]
        try:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=pipes[0][1], stderr=pipes[1][1],
                                    pass_fds=[w for _, w in pipes[2:]], cwd=home, env=_clean_env(str(home), bwrap),
                                    start_new_session=True,
                                    preexec_fn=None if _prlimit() else functools.partial(_set_rlimits, limits))
            for _, w in pipes:
                os.close(w)
            pipes = [(r, -1) for r, _ in pipes]
            returncode, timed_out = _collect(proc, [(r, sink) for (r, _), sink in zip(pipes, sinks, strict=True)],
                                             limits)
            duration = time.perf_counter() - start
        finally:
            for r, w in pipes:
                for fd in (r, w):
                    if fd >= 0:
                        os.close(fd)
        exit_code, sig = _decode(returncode, sandboxed=bwrap is not None)
        result = ExecResult(
            passed=not timed_out and exit_code == 0, timed_out=timed_out, killed=timed_out or sig is not None,
            exit_code=exit_code, stdout=sinks[0].text(), stderr=sinks[1].text(), duration_s=duration,
            sandboxed=bwrap is not None,
        )
        return result, (bytes(sinks[2].data) if report else b"")


class _Tail:
    """Keeps the last `limit` bytes written to a pipe."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data = limit, bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[:-self.limit]

    def text(self) -> str:
        return self.data[-self.limit:].decode("utf-8", "replace")[-TAIL_CHARS:]


class _Head(_Tail):
    """Keeps the first `limit` bytes written to a pipe (and drains the rest)."""

    def add(self, chunk: bytes) -> None:
        self.data += chunk[:max(0, self.limit - len(self.data))]


def _collect(proc: subprocess.Popen[bytes], pipes: list[tuple[int, _Tail]], limits: Limits) -> tuple[int, bool]:
    """Drain the pipes until they close or the wall-clock limit; wait for the process, killing
    its group at the limit. (return code, timed out)."""
    deadline = time.monotonic() + limits.wall_s
    with selectors.DefaultSelector() as selector:
        for fd, sink in pipes:
            selector.register(fd, selectors.EVENT_READ, sink)
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    selector.unregister(key.fd)
    try:
        return proc.wait(timeout=max(0.0, deadline - time.monotonic())), False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        return proc.wait(), True


def _argv(bwrap: str | None, python: str, job: Path, script_args: list[str], limits: Limits,
          drop: bool) -> list[str]:
    python = os.path.realpath(python)  # the installation itself, not a venv's link to it
    inner = [python, "-I", "-B", *script_args]
    prlimit = _prlimit()
    if prlimit:
        inner = [prlimit, f"--cpu={limits.cpu_s}", f"--as={limits.memory_mb * 2**20}",
                 f"--nproc={limits.processes}", f"--fsize={limits.file_mb * 2**20}", "--core=0", "--", *inner]
    argv = inner
    if bwrap is not None:
        size = str(limits.tmpfs_mb * 2**20)
        argv = [bwrap, *_mounts(python), "--dev", "/dev", "--proc", "/proc",
                "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME,
                "--ro-bind", str(job), JOB_DIR, "--chdir", HOME,
                "--unshare-all", "--die-with-parent", "--new-session", "--", *inner]
    setpriv = shutil.which("setpriv")
    if drop and setpriv:
        argv = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *argv]
    return argv


def _system_mounts() -> list[str]:
    """bwrap arguments for the system paths, read-only (as links where the host has links, e.g.
    /bin -> usr/bin)."""
    args: list[str] = []
    for top in SYSTEM_PATHS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


@functools.cache
def _mounts(python: str) -> tuple[str, ...]:
    """bwrap arguments that show the sandbox only what `python` needs, read-only: the system
    paths and the interpreter's own installation when it lives elsewhere (e.g. pyenv's)."""
    args = _system_mounts()
    bound = [top for top in SYSTEM_PATHS if os.path.isdir(top) and not os.path.islink(top)]
    for path in _prefixes(python):
        if not any(path == b or path.startswith(b + "/") for b in bound):
            args += ["--ro-bind", path, path]
            bound.append(path)
    return tuple(args)


@functools.cache
def _prefixes(python: str) -> tuple[str, ...]:
    """The installation directories of `python` (its stdlib, extension modules, libpython)."""
    try:
        done = subprocess.run([python, "-I", "-S", "-c", "import sys; print(sys.prefix); print(sys.exec_prefix)"],
                              capture_output=True, text=True, timeout=30, check=True)
        found = [os.path.realpath(p) for p in done.stdout.split("\n") if p]
    except (OSError, subprocess.SubprocessError):
        found = []
    return tuple(dict.fromkeys([*found, os.path.dirname(python)]))


@functools.cache
def _bwrap_works() -> str | None:
    """The bwrap path if it can create the namespaces we need here (containers often forbid it)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, *_system_mounts(), "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "--", "/bin/true"]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        probe = [str(shutil.which("setpriv")), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *probe]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


@functools.cache
def _prlimit() -> str | None:
    return shutil.which("prlimit")


@functools.cache
def _interpreter() -> str:
    """An interpreter `nobody` can run: ours if its path is world-traversable, else the system one."""
    for candidate in (sys.executable, shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")):
        if candidate and _other_can_exec(candidate):
            return candidate
    return sys.executable


def _other_can_exec(path: str) -> bool:
    real = Path(os.path.realpath(path))
    for p in (real, *real.parents):
        try:
            if not os.stat(p).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


@functools.cache
def _warn_unsandboxed() -> None:
    warnings.warn("bubblewrap (bwrap) is unavailable: generated code runs in a plain subprocess with only "
                  "resource limits (no network or filesystem isolation). Install it: apt-get install bubblewrap",
                  RuntimeWarning, stacklevel=3)
    log.warning("generated code is NOT sandboxed: bubblewrap is unavailable")


def _set_rlimits(limits: Limits) -> None:  # pragma: no cover - runs in the child, only without prlimit
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * 2**20,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20,) * 2)


def _clean_env(home: str, bwrap: str | None) -> dict[str, str]:
    # No secrets (API keys) leak into generated code's environment.
    private = HOME if bwrap is not None else home
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": private, "TMPDIR": "/tmp" if bwrap else private,
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _decode(returncode: int, *, sandboxed: bool) -> tuple[int | None, int | None]:
    """(exit code, signal). bwrap reports a child killed by signal N as exit 128+N."""
    if returncode < 0:
        return None, -returncode
    if sandboxed and returncode > 128:
        return None, returncode - 128
    return returncode, None
