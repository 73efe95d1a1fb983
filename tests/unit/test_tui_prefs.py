"""The console's per-user view settings (tui/prefs.py): written atomically, read back, a
broken file ignored with one warning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui import prefs
from tui.widgets.host_columns import SORTABLE


def test_default_path_follows_xdg_state_home(tmp_path: Path) -> None:
    assert prefs.default_path({"XDG_STATE_HOME": str(tmp_path)}) == \
        tmp_path / "monitor" / "tui.json"
    assert prefs.default_path({"HOME": "/home/ana"}) == \
        Path("/home/ana/.local/state/monitor/tui.json")


def test_write_then_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "monitor" / "tui.json"
    assert prefs.load(path, SORTABLE) == (prefs.Prefs(), None)  # none yet: the defaults
    assert prefs.save(path, prefs.Prefs("cpu", True, True)) is None
    assert prefs.load(path, SORTABLE) == (prefs.Prefs("cpu", True, True), None)
    assert os.listdir(path.parent) == ["tui.json"]  # the temporary file was renamed over it


@pytest.mark.parametrize("content, warning", [
    ("{not json", "not JSON"),
    ("[1, 2]", "expected an object, got list"),
    ('{"sort": "bogus"}', "unknown sort column 'bogus'"),
    ('{"sort": 3}', "unknown sort column 3"),
    ('{"sort": "cpu", "reverse": "yes"}', "reverse must be true or false, not 'yes'"),
    ('{"sort": "cpu", "compact": 1}', "compact must be true or false, not 1"),
    ("\x00\xff", "not JSON"),
])
def test_a_broken_file_is_ignored_with_one_warning(tmp_path: Path, content: str,
                                                   warning: str) -> None:
    path = tmp_path / "tui.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    got, message = prefs.load(path, SORTABLE)
    assert got == prefs.Prefs()
    assert message is not None and warning in message and str(path) in message
    assert "\n" not in message


def test_an_unreadable_or_unwritable_place_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = blocker / "monitor" / "tui.json"  # a directory under a file: cannot exist
    warning = prefs.save(path, prefs.Prefs("mem"))
    assert warning is not None and "cannot save the view settings" in warning
    as_dir = tmp_path / "dir.json"
    as_dir.mkdir()
    got, message = prefs.load(as_dir, SORTABLE)
    assert got == prefs.Prefs() and message is not None and "ignored" in message


def test_an_old_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "tui.json"
    path.write_text(json.dumps({"sort": "mem", "reverse": True, "compact": True, "x": 1}))
    assert prefs.load(path, SORTABLE)[0] == prefs.Prefs("mem", True, True)
    prefs.save(path, prefs.Prefs("host"))
    assert json.loads(path.read_text()) == {"sort": "host", "reverse": False, "compact": False}
