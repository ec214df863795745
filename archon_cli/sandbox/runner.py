"""Run untrusted (model-written) Python in a separate, confined process.

Confinement, where bubblewrap (`bwrap`) works: no network (its own net namespace), the host
root mounted read-only, one private writable directory (the working dir and $TMPDIR), its own
PID namespace (everything in it dies with it), and rlimits on CPU time, address space,
processes and file size applied *inside* the sandbox with `prlimit`, plus a wall-clock
timeout. When the tool runs as root the code runs as `nobody`, because the kernel does not
enforce the process limit for root. Where bwrap cannot run, the code runs in a plain
subprocess with the same rlimits, and a warning says so once per process.

Never `exec` in the tool's own process: every run is a fresh interpreter.
"""

from __future__ import annotations

import functools
import logging
import os
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


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0  # HumanEval tests take well under a second; leaves room for a slow machine
    cpu_s: int = 10
    memory_mb: int = 512  # address space; a Python interpreter needs ~30 MB
    processes: int = 32  # counted per user namespace: a fork bomb hits it, `subprocess` still works
    file_mb: int = 16  # also bounds captured stdout/stderr (they are files)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ExecResult:
    passed: bool  # exited 0 within the limits
    timed_out: bool  # hit the wall-clock timeout (then killed)
    killed: bool  # ended by a signal: our timeout kill, SIGXCPU, SIGXFSZ, SIGKILL...
    exit_code: int | None  # None when ended by a signal
    stdout: str  # tails
    stderr: str
    duration_s: float
    sandboxed: bool  # False when it ran in the degraded plain-subprocess mode


def run_python(code: str, limits: Limits = DEFAULT_LIMITS, *, require_sandbox: bool = False) -> ExecResult:
    """Run `code` as a Python script in the sandbox and wait for it (at most `limits.wall_s`)."""
    bwrap = _bwrap_works()
    if bwrap is None:
        if require_sandbox:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed or cannot create namespaces")
        _warn_unsandboxed()
    with tempfile.TemporaryDirectory(prefix="archon-sbx-") as root:
        work = Path(root) / "work"
        work.mkdir()
        script = work / "main.py"
        script.write_text(code, encoding="utf-8")
        drop = os.geteuid() == 0 and _other_can_exec(_interpreter())
        if drop:  # the private dir must be writable by the unprivileged user
            os.chown(work, NOBODY, NOBODY)
            os.chmod(root, 0o755)
        argv = _argv(bwrap, work, script, limits, drop)
        out_path, err_path = Path(root) / "stdout", Path(root) / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=work,
                                    env=_clean_env(work), start_new_session=True,
                                    preexec_fn=None if _prlimit() else functools.partial(_set_rlimits, limits))
            timed_out = False
            try:
                code_ = proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                code_ = proc.wait()
            duration = time.perf_counter() - start
        exit_code, sig = _decode(code_, sandboxed=bwrap is not None)
        return ExecResult(
            passed=not timed_out and exit_code == 0, timed_out=timed_out, killed=timed_out or sig is not None,
            exit_code=exit_code, stdout=_tail(out_path), stderr=_tail(err_path), duration_s=duration,
            sandboxed=bwrap is not None,
        )


def test_program(code: str, tests: str, entry_point: str | None) -> str:
    """A script that defines `code`, then the tests, then calls `check(entry_point)` when the
    tests define `check` (HumanEval style); bare `assert` tests just run."""
    call = f"\n\ncheck({entry_point})\n" if entry_point and "def check(" in tests else "\n"
    return f"{code}\n\n{tests}{call}"


def execute_tests(code: str, tests: str, entry_point: str | None,
                  limits: Limits = DEFAULT_LIMITS) -> ExecResult:
    """Run `tests` against `code` in the sandbox. Module-level so callers (a scorer, the unit-test
    evaluator) can be tested with a substitute."""
    return run_python(test_program(code, tests, entry_point), limits)


def _argv(bwrap: str | None, work: Path, script: Path, limits: Limits, drop: bool) -> list[str]:
    python = _interpreter() if drop or os.geteuid() != 0 else sys.executable
    inner = [python, "-I", "-B", str(script)]
    prlimit = _prlimit()
    if prlimit:
        inner = [prlimit, f"--cpu={limits.cpu_s}", f"--as={limits.memory_mb * 2**20}",
                 f"--nproc={limits.processes}", f"--fsize={limits.file_mb * 2**20}", "--core=0", "--", *inner]
    argv = inner
    if bwrap is not None:
        argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", str(work), str(work),
                "--chdir", str(work), "--unshare-all", "--die-with-parent", "--new-session", "--", *inner]
    setpriv = shutil.which("setpriv")
    if drop and setpriv:
        argv = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *argv]
    return argv


@functools.cache
def _bwrap_works() -> str | None:
    """The bwrap path if it can create the namespaces we need here (containers often forbid it)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
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


def _clean_env(work: Path) -> dict[str, str]:
    # No secrets (API keys) leak into generated code's environment.
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0"}


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


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - TAIL_CHARS * 4))
        return f.read().decode("utf-8", "replace")[-TAIL_CHARS:]


_PASSED_MARK = "__archon_tests_passed__"


def count_passing(code: str, tests: list[str], limits: Limits = DEFAULT_LIMITS) -> int:
    """How many of `tests` (assert statements) pass against `code`, in one sandboxed run. Code
    that does not even load passes none."""
    harness = (f"{code}\n\n"
               f"_archon_passed = 0\n"
               f"for _archon_t in {tests!r}:\n"
               f"    try:\n"
               f"        exec(_archon_t, globals())\n"
               f"        _archon_passed += 1\n"
               f"    except BaseException:\n"
               f"        pass\n"
               f"print({_PASSED_MARK!r}, _archon_passed)\n")
    result = run_python(harness, limits)
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(_PASSED_MARK):
            return min(len(tests), int(line.split()[-1]))
    return 0
