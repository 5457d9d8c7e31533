"""Where the CPU goes during a benchmark's burst: per process, from /proc (Linux only).

A :class:`CpuMeter` is given the parties to watch (a name and how to find its pids now), reads
each pid's user + system time (``/proc/<pid>/stat``, fields 14 and 15, in clock ticks, every
thread of the process included) when :meth:`CpuMeter.start` and :meth:`CpuMeter.stop` are
called, and the machine's busy, idle and interrupt time (``/proc/stat``'s ``cpu`` line)
meanwhile; the rest of the machine's busy time is what other processes (other users of a
shared machine, kernel threads) took. A pid that appears between the two reads counts from
zero; one that ended before the second read is lost (a connection closed during the burst).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (all its threads); 0.0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_seconds() -> tuple[float, float, float]:
    """(busy, idle, interrupts) CPU seconds of the whole machine since boot, all cores
    summed: busy includes interrupts (hardware and soft: the loopback network's packets are
    handled there, for whichever process), iowait counts as idle, steal (another guest on
    the host) as neither."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = values[:7]
    return ((user + nice + system + irq + softirq) / TICK, (idle + iowait) / TICK,
            (irq + softirq) / TICK)


@dataclass
class Split:
    """CPU seconds per party during the measured window, ``wall`` seconds long."""

    wall: float
    parties: dict[str, float]
    busy: float
    idle: float
    interrupts: float

    @property
    def others(self) -> float:
        """Busy seconds of the machine spent neither by a watched party nor on interrupts."""
        return max(0.0, self.busy - self.interrupts - sum(self.parties.values()))

    def cores(self, names: Iterable[str]) -> float:
        """Cores the named parties used on average (CPU seconds / wall seconds)."""
        return sum(self.parties[name] for name in names) / self.wall

    def per_cpu(self, events: int, names: Iterable[str]) -> float:
        """Events per CPU second of the named parties."""
        return events / sum(self.parties[name] for name in names)

    def lines(self, events: int, planbot: list[str]) -> list[str]:
        """The split as text: seconds, cores (seconds / wall) and seconds per 1000 events of
        each party, then the planbot processes' share of the machine."""
        rows = [*self.parties.items(), ("interrupts (network...)", self.interrupts),
                ("other processes", self.others), ("idle", self.idle)]
        out = [f"    {name:<28} {sec:6.2f} CPU s  {sec / self.wall:4.2f} cores  "
               f"{1000 * sec / events:6.3f} s per 1000 events" for name, sec in rows]
        out.append(f"    planbot processes had {self.cores(planbot):.2f} of the {CORES} cores "
                   f"({self.per_cpu(events, planbot):.0f} events per planbot CPU second)")
        return out


class CpuMeter:
    """Reads the CPU time of named parties around a window (module docstring). ``parties``
    maps a name to a callable returning that party's pids at the moment of the read."""

    def __init__(self, parties: dict[str, Callable[[], Iterable[int]]]) -> None:
        self.parties = parties
        self._before: dict[str, dict[int, float]] = {}
        self._machine = (0.0, 0.0, 0.0)
        self._wall = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {pid: process_seconds(pid) for pid in pids()}
                for name, pids in self.parties.items()}

    def start(self) -> None:
        self._before = self._read()
        self._machine = machine_seconds()
        self._wall = time.perf_counter()

    def stop(self) -> Split:
        wall = time.perf_counter() - self._wall
        machine = machine_seconds()
        after = self._read()
        spent = {name: sum(sec - self._before[name].get(pid, 0.0) for pid, sec in pids.items())
                 for name, pids in after.items()}
        busy, idle, interrupts = (now - then for now, then in zip(machine, self._machine,
                                                                  strict=True))
        return Split(wall, spent, busy, idle, interrupts)
