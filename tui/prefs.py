"""The console's per-user view settings: the host table's sort and direction, compact mode.

A small JSON file under the user's state directory (``$XDG_STATE_HOME/monitor/tui.json``,
else ``~/.local/state/monitor/tui.json``), written atomically (a temporary file renamed over
it). A missing file means the defaults; a broken one (bad JSON, wrong types, an unknown
column) is ignored with one warning line, never a crash.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "tui.json"


@dataclass
class Prefs:
    sort: str = "host"
    reverse: bool = False
    compact: bool = False


def default_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"),
                                                      ".local", "state")
    return Path(base) / "monitor" / FILE_NAME


def load(path: Path, columns: Collection[str]) -> tuple[Prefs, str | None]:
    """The settings in ``path`` and a warning line (None when all is well)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Prefs(), None
    except OSError as exc:
        return Prefs(), f"ignored {path}: {exc.strerror or exc}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return Prefs(), f"ignored {path}: not JSON ({exc})"
    if not isinstance(data, dict):
        return Prefs(), f"ignored {path}: expected an object, got {type(data).__name__}"
    prefs = Prefs()
    sort, reverse, compact = data.get("sort", "host"), data.get("reverse"), data.get("compact")
    if not isinstance(sort, str) or sort not in columns:
        return prefs, (f"ignored {path}: unknown sort column {sort!r} "
                       f"(columns: {', '.join(columns)})")
    for name, value in (("reverse", reverse), ("compact", compact)):
        if value is not None and not isinstance(value, bool):
            return prefs, f"ignored {path}: {name} must be true or false, not {value!r}"
    return Prefs(sort, bool(reverse), bool(compact)), None


def save(path: Path, prefs: Prefs) -> str | None:
    """Write ``prefs`` atomically; a warning line if that failed (a read-only home)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tui-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(prefs), f)
            f.write("\n")
        os.replace(tmp, path)
        return None
    except OSError as exc:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return f"cannot save the view settings to {path}: {exc.strerror or exc}"
