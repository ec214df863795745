"""The sandbox really confines code. Each test fails if the code ran unconfined (a bare
subprocess): it would connect, write, fork without bound, loop or allocate freely."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archon_cli.llm.session import default_cache_path
from archon_cli.sandbox.runner import Limits, run_python
from tests.processes import pids_with_command

pytestmark = pytest.mark.integration

FAST = Limits(wall_s=3, cpu_s=2, memory_mb=512)


def run(code: str, limits: Limits = FAST):  # type: ignore[no-untyped-def]
    result = run_python(code, limits, require_sandbox=True)
    assert result.sandboxed
    return result


def sandbox_processes(settle_s: float = 5.0) -> set[int]:
    """Processes still running sandboxed code; the PID namespace is torn down asynchronously
    just after the sandbox's parent exits, so poll a little."""
    deadline = time.monotonic() + settle_s
    while (found := pids_with_command("archon-sbx-")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.fixture
def listener() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    yield srv.getsockname()[1]
    srv.close()


def test_ordinary_code_runs_and_can_use_its_private_dir() -> None:
    r = run("import os\nopen('a.txt', 'w').write('x')\nopen(os.environ['TMPDIR'] + '/b', 'w').write('y')\n"
            "print(open('a.txt').read() + 'ok')")
    assert r.passed and r.exit_code == 0 and r.stdout == "xok\n"


def test_network_is_blocked(listener: int) -> None:
    r = run(f"import socket\nsocket.create_connection(('127.0.0.1', {listener}), timeout=2)\nprint('connected')")
    assert not r.passed
    assert "connected" not in r.stdout
    assert "ConnectionRefusedError" in r.stderr or "Network is unreachable" in r.stderr


def test_write_outside_the_private_dir_is_blocked() -> None:
    # Writable by anyone (the sandbox may run as `nobody`): the host's /tmp is not even there.
    target = Path(tempfile.mkdtemp(prefix="archon-test-"))
    try:
        target.chmod(0o777)
        r = run(f"open({str(target / 'pwned')!r}, 'w').write('x')")
        assert not r.passed
        assert "No such file or directory" in r.stderr
        assert not (target / "pwned").exists()
        # What is shown (the system's /usr) is read-only.
        r = run("open('/usr/pwned', 'w').write('x')")
        assert not r.passed and "Read-only file system" in r.stderr
    finally:
        shutil.rmtree(target)


def test_fork_bomb_is_contained() -> None:
    r = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert not r.passed and r.killed
    assert not sandbox_processes()  # every forked process died with the sandbox
    assert os.system("true") == 0  # the host can still start processes


def test_infinite_loop_is_killed_at_the_timeout() -> None:
    r = run("while True:\n    pass\n", Limits(wall_s=1.5, cpu_s=30))
    assert r.timed_out and r.killed and not r.passed
    assert r.duration_s < 5
    assert not sandbox_processes()


def test_sleeping_code_is_killed_at_the_wall_clock_timeout() -> None:
    r = run("import time\ntime.sleep(60)\n", Limits(wall_s=1, cpu_s=30))
    assert r.timed_out and r.killed and r.duration_s < 5


def test_cpu_limit_kills_a_busy_loop_before_the_wall_clock() -> None:
    r = run("while True:\n    pass\n", Limits(wall_s=20, cpu_s=1))
    assert r.killed and not r.timed_out and r.duration_s < 10


def test_memory_hog_is_stopped() -> None:
    r = run("x = bytearray(4 * 2**30)\nx[::4096] = b'1' * len(x[::4096])\nprint('allocated')", FAST)
    assert not r.passed
    assert "allocated" not in r.stdout
    assert "MemoryError" in r.stderr or r.killed


def test_huge_file_is_stopped() -> None:
    r = run("open('big', 'wb').write(b'x' * 64 * 2**20)", Limits(wall_s=5, file_mb=4))
    assert not r.passed
    assert "File too large" in r.stderr or r.killed


def test_the_run_dir_and_tool_survive(tmp_path: Path) -> None:
    keep = tmp_path / "run" / "trials.csv"
    keep.parent.mkdir()
    keep.write_text("number\n0\n")
    run(f"import shutil\nshutil.rmtree({str(keep.parent)!r})")
    run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)")
    assert keep.read_text() == "number\n0\n"


def test_secrets_in_the_environment_do_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    r = run("import os\nprint(os.environ.get('OPENAI_API_KEY'))")
    assert r.stdout.strip() == "None"


def test_output_beyond_the_file_size_limit_is_not_a_failure() -> None:
    # stdout is a pipe of which only the tail is kept: the file-size limit is for files.
    r = run("import sys\nfor _ in range(24):\n    sys.stdout.write('x' * 2**20)\nprint('\\nend')",
            Limits(wall_s=10, file_mb=4))
    assert r.passed and r.exit_code == 0
    assert r.stdout.endswith("end\n") and len(r.stdout) <= 2000


# Code that reports what of the host it can see: each probe prints "<path> <what it found>".
PROBE = '''
import os
for path in {paths!r}:
    try:
        found = "listed " + ",".join(sorted(os.listdir(path))) if os.path.isdir(path) else "read " + open(path).read()
    except OSError as exc:
        found = "blocked " + type(exc).__name__
    print(path, found.replace("\\n", " "))
print("home", sorted(os.listdir(os.path.expanduser("~"))), "tmp", sorted(os.listdir("/tmp")))
'''


def probe_paths(stdout: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in stdout.splitlines())


def test_the_host_is_invisible_only_the_interpreter_is_shown() -> None:
    marker = Path(tempfile.mkdtemp(prefix="archon-test-")) / "world-readable.txt"
    try:
        marker.write_text("host secret")
        marker.chmod(0o644)
        marker.parent.chmod(0o755)
        project = Path(__file__).resolve()
        paths = ["/etc/passwd", "/etc", "/root", "/work", str(project), str(project.parents[2]), str(marker),
                 str(marker.parent), str(default_cache_path()), os.path.expanduser("~"), sys.prefix]
        r = run(PROBE.format(paths=paths))
        assert r.passed, r.stderr
        seen = probe_paths(r.stdout)
        for path in paths:
            assert seen[path].startswith("blocked"), (path, seen[path])
        assert "home [] tmp []" in r.stdout  # an empty private home and /tmp
        # The interpreter still has its standard library.
        assert run("import json, sqlite3, ssl, decimal\nprint('ok')").stdout == "ok\n"
    finally:
        shutil.rmtree(marker.parent)


NORMAL_USER = '''
import json, os, sys
from archon_cli.sandbox.runner import Limits, run_python
r = run_python(sys.argv[1], Limits(wall_s=10), require_sandbox=True)
print(json.dumps({"uid": os.getuid(), "passed": r.passed, "stdout": r.stdout, "stderr": r.stderr}))
'''


def test_a_normal_users_own_private_files_are_invisible() -> None:
    """As a normal user the code runs as that user: the user's own 0600 files (a fake
    ~/.ssh/id_rsa in a temporary HOME) must still be out of its sight. As root, the tool is run
    as `nobody` for this test."""
    home = Path(tempfile.mkdtemp(prefix="archon-test-home-"))
    try:
        home.chmod(0o755)
        key = home / ".ssh" / "id_rsa"
        key.parent.mkdir(mode=0o700)
        key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n")
        key.chmod(0o600)
        argv = [sys.executable, "-c", NORMAL_USER]
        if os.geteuid() == 0:
            for path in (home, key.parent, key):
                os.chown(path, 65534, 65534)
            python = "/usr/bin/python3"
            if not shutil.which("setpriv") or not os.access(python, os.X_OK):
                pytest.skip("needs setpriv and /usr/bin/python3 to run the tool as a normal user")
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", python, "-c", NORMAL_USER]
        code = PROBE.format(paths=[str(key), str(key.parent), str(home)])
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        done = subprocess.run([*argv, code], capture_output=True, text=True, timeout=60, env=env, cwd=home)
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["uid"] != 0 and report["passed"], report
        seen = probe_paths(report["stdout"])
        # Readable by this user outside the sandbox, invisible inside it.
        assert all(seen[str(p)].startswith("blocked") for p in (key, key.parent, home)), seen
        assert "fake" not in report["stdout"]
    finally:
        shutil.rmtree(home)
