"""Finding processes by reading /proc: `ps` output is cut to $COLUMNS when that is set (as in CI),
which hides the end of long command lines."""

from __future__ import annotations

from pathlib import Path


def _pids_whose(entry: str, marker: str) -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / entry).read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def pids_with_command(marker: str) -> set[int]:
    """Processes whose command line holds `marker`."""
    return _pids_whose("cmdline", marker)


def pids_with_environment(marker: str) -> set[int]:
    """Processes whose environment holds `marker` (children inherit it)."""
    return _pids_whose("environ", marker)
