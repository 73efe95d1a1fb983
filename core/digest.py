"""The fleet digest: what a console needs to count, sort and filter a whole fleet.

The broker publishes one a second on ``d.fleet`` (built by broker/ingest/digest.py); a
console that subscribes only to the metrics of the hosts it shows sorts and filters the
fleet from it, and ``monitor-ctl watch`` prints it. Compact: a column of float32 per figure
(NaN where a host has no value), not a map per host. Wire form (the ``digest`` field of a
``digest`` frame)::

    {"ts": now, "hosts": [name, ...] (by name), "status": "uud..." (u up, d down, s stopped:
     a letter a host), "figures": {column: float32 bytes, one a host}, "top": {column: [name, ...]}
     (the TOP_N highest, highest first), "counts": {"total", "up", "down", "stopped",
     "alerting"}}

Columns (the dashboard's sortable ones): cpu and mem percent, disk (the fullest disk's
percent), rx and tx (bytes/s over all interfaces but lo), load (1 min), alerts (active
alerts of the host), age (seconds since the host was last heard from).
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = ("cpu", "mem", "disk", "rx", "tx", "load", "alerts", "age")
TOP_N = 25
STATUS_LETTER = {"up": "u", "down": "d", "stopped": "s"}  # stopped: the agent said goodbye
LETTER_STATUS = {v: k for k, v in STATUS_LETTER.items()}


def figures(metrics: Mapping[str, float], disk: Iterable[str], rx: Iterable[str],
            tx: Iterable[str]) -> tuple[float, float, float, float, float, float]:
    """(cpu, mem, disk, rx, tx, load) of one host from its latest metrics; NaN if unknown.
    ``disk``, ``rx`` and ``tx`` name the host's series that feed those columns."""
    nan = math.nan
    get = metrics.get
    d = [get(k, nan) for k in disk]
    r = [get(k, 0.0) for k in rx]
    t = [get(k, 0.0) for k in tx]
    return (get("cpu.percent", nan), get("mem.percent", nan), max(d) if d else nan,
            sum(r) if r else nan, sum(t) if t else nan, get("load.1", nan))


def feeds(names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The series of a host that feed the disk, rx and tx columns."""
    disk, rx, tx = [], [], []
    for n in names:
        if n.startswith("disk.") and n.endswith(".percent"):
            disk.append(n)
        elif n.startswith("net.") and not n.startswith("net.lo."):
            if n.endswith(".rx_bps"):
                rx.append(n)
            elif n.endswith(".tx_bps"):
                tx.append(n)
    return tuple(disk), tuple(rx), tuple(tx)


def pack_column(values: Iterable[float]) -> bytes:
    """float32 bytes, native order (``array('f')``'s). ``struct`` packs a list or tuple of
    10,000 in a quarter of the time; natively it casts as ``array`` does (a finite value
    past float32's range is inf); were it to refuse one, ``array`` packs the column."""
    vals = values if isinstance(values, list | tuple) else list(values)
    try:
        return struct.pack(f"{len(vals)}f", *vals)
    except (OverflowError, struct.error):
        return array("f", vals).tobytes()


def unpack_column(data: bytes) -> array[float]:
    col = array("f")
    col.frombytes(data)
    return col


def rows(digest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict a host: ``host``, ``status`` and each column (None where unknown)."""
    cols = {c: unpack_column(digest["figures"][c]) for c in COLUMNS if c in digest["figures"]}
    out = []
    for i, (name, letter) in enumerate(zip(digest["hosts"], digest["status"], strict=True)):
        row: dict[str, Any] = {"host": name, "status": LETTER_STATUS.get(letter, letter)}
        for c, col in cols.items():
            v = col[i]
            row[c] = None if v != v else (int(v) if c == "alerts" else round(v, 3))
        out.append(row)
    return out


def order(digest: Mapping[str, Any], column: str = "host", reverse: bool = False,
          match: str = "") -> list[str]:
    """Host names sorted by ``column`` (highest first for figures, unless ``reverse``;
    A to Z for ``host``), keeping names that contain ``match``. Unknown values sort last."""
    names = digest["hosts"]
    keep = [i for i, n in enumerate(names) if match in n] if match else range(len(names))
    if column == "host":
        return sorted((names[i] for i in keep), reverse=reverse)
    if column not in COLUMNS:
        raise ValueError(f"unknown column '{column}' (columns: host, {', '.join(COLUMNS)})")
    col = unpack_column(digest["figures"][column])
    known = [i for i in keep if col[i] == col[i]]
    unknown = [i for i in keep if col[i] != col[i]]
    known.sort(key=lambda i: (col[i], names[i]), reverse=not reverse)
    return [names[i] for i in known + unknown]
