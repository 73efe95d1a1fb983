"""The chaos suite: real broker processes on loopback, faults injected, bounded time.

Every test here is ``serial`` (``make test`` runs it after the parallel pass): kill -9,
memory ceilings and "back within 3 s" need the machine to themselves.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_servers import Recorder


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.serial)


def tmpfs(mnt: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``mnt`` for a fixture; skipped where mounting is refused."""
    mnt.mkdir()
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {got.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture
def tiny_mount(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs to fill up or remount read-only."""
    yield from tmpfs(tmp_path / "mnt", "1m")


def fill(path: Path) -> Path:
    """Write ``path`` until the file system is full; returns the file to delete later."""
    with open(path, "wb", buffering=0) as f:  # unbuffered: nothing left to flush at close
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return path


@pytest.fixture
def hook() -> Iterator[Recorder]:
    """A real HTTP server standing in for a webhook receiver."""
    rec = Recorder()
    yield rec
    rec.close()
