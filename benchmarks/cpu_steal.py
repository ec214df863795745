"""CPU time the hypervisor gave to other guests ("steal" in /proc/stat) while a benchmark ran.

On a shared VM the same work varies between minutes: replaying one search's calls at the same
engines took 13.1 s in one pair and 16.9 s in the next. Steal is the part of that variation a
guest can see. Over a window of CPU-bound work, the fraction of CPU time stolen is the fraction
of the window the work could not run, so benchmarks report it for each window they time.
"""

from __future__ import annotations

import bisect
import threading
import time
from types import TracebackType

PROC_STAT = "/proc/stat"


def read_cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies over all CPUs, or None where /proc/stat has no steal column."""
    try:
        with open(PROC_STAT) as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (fields[7], sum(fields)) if len(fields) == 8 else None


class StealMeter:
    """Samples (time, steal, total) in a thread; `fraction(t0, t1)` = stolen share of CPU time
    between the samples nearest to the wall-clock times t0 and t1 (time.time())."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self._samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> StealMeter:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            if (times := read_cpu_times()) is None:
                return
            self._samples.append((time.time(), *times))
            if self._stop.wait(self.interval_s):
                return

    def fraction(self, t0: float, t1: float) -> float | None:
        samples = list(self._samples)
        if len(samples) < 2:
            return None
        stamps = [s[0] for s in samples]
        a = samples[min(bisect.bisect_left(stamps, t0), len(samples) - 1)]
        b = samples[min(bisect.bisect_left(stamps, t1), len(samples) - 1)]
        total = b[2] - a[2]
        return round((b[1] - a[1]) / total, 4) if total > 0 else None
