"""The live view of a search in a real terminal (a pty at 80 columns, as tmux gives it): the
screen keeps changing during a long trial, its counters advance, and no line is wider than the
terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import yaml
from rich.cells import cell_len

from tests.search_helpers import search_config

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = 80
CHILD = """
import sys
from tests.fakes import FakeLLM
FakeLLM.delay_s = 1.5
from archon_cli.cli.app import main
main(["search", sys.argv[1]])
"""
# rich's Live redraws by returning to the first line and erasing each line of the last frame
REDRAW = re.compile(r"\r\x1b\[2K(?:\x1b\[1A\x1b\[2K)*")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def frames_in_a_terminal(config: Path) -> list[tuple[float, str]]:
    """(time it was drawn, text) of every frame the search draws on a pty of 80 columns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = os.environ | {"TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": "40", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(config)], stdin=slave, stdout=slave, stderr=slave,
                             env=env, cwd=ROOT)
    os.close(slave)
    started, pending, frames = time.monotonic(), "", []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            now = time.monotonic() - started
            pending += chunk.decode("utf-8", "replace")
            *complete, pending = REDRAW.split(pending)
            frames += [(now, ANSI.sub("", f)) for f in complete]
    finally:
        os.close(master)
        assert child.wait(timeout=60) == 0
    return [*frames, (time.monotonic() - started, ANSI.sub("", pending))]


def test_the_live_view_ticks_during_a_long_trial_at_80_columns(tmp_path: Path) -> None:
    # one architecture, one trial of 4 examples one after another at 1.5 s a call: ~6 s
    space = {"name": "one", "defaults": {"max_tokens": 8},
             "layers": [{"name": "L0", "component": {"type": "generator", "params": {"samples": 1}}}]}
    config = search_config(tmp_path, trials=1, size=6, search_size=4, space=space, verdict={"enabled": False})
    data = yaml.safe_load(config.read_text())
    data["models"]["m"]["max_concurrency"] = 1
    config.write_text(yaml.safe_dump(data))

    frames = frames_in_a_terminal(config)
    during = [(t, text) for t, text in frames if "trial #0" in text]
    assert during and during[-1][0] - during[0][0] >= 4, frames
    changes = [t for (t, text), (_, before) in zip(during[1:], during, strict=False) if text != before]
    gaps = [b - a for a, b in zip([during[0][0], *changes], [*changes, during[-1][0]], strict=False)]
    assert max(gaps) <= 1.0, gaps  # the screen changes at least once a second
    elapsed = [int(m.group(1)) for _, text in during if (m := re.search(r"elapsed\s+(\d+)s", text))]
    assert elapsed == sorted(elapsed) and len(set(elapsed)) >= 4, elapsed  # the clock ticks
    done = {m.group(1) for _, text in during if (m := re.search(r"(\d)/4 examples", text))}
    assert {"0", "3"} <= done, done  # the running trial's examples advance
    # the live frames fit; the closing summary soft-wraps so its paths can be copied whole
    widest = max(cell_len(line) for _, text in during for line in text.splitlines())
    assert widest <= COLUMNS, widest
