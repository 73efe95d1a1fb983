"""``make screenshots``: every screen rendered from FrozenSource to screenshots/<screen>.svg.

The same frozen data, clock and key presses as the snapshot tests, at 120x32 (the wide
layout) plus the dashboard at 80x24, the SSH design size.

    python -m tests.snapshots.make_screenshots screenshots
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from textual.widgets import Input

from tests.snapshots.frozen_app import SCREENS, make_app

SIZES = {"": (120, 32), "-80x24": (80, 24)}
LARGE = {"incident": (160, 50)}  # every section at once: the two-column layout


async def render(name: str, keys: list[str], size: tuple[int, int], out: Path) -> Path:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"monitor-tui: {name}"), encoding="utf-8")
    return path


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, keys in SCREENS.items():
        for suffix, size in SIZES.items():
            if suffix and name not in ("dashboard", "compact"):
                continue
            print(await render(name + suffix, keys, LARGE.get(name, size) if not suffix
                               else size, out))


if __name__ == "__main__":
    os.environ["TZ"] = "UTC"
    os.environ.pop("NO_COLOR", None)
    time.tzset()
    Input._toggle_cursor = lambda self: None  # type: ignore[method-assign]  # no blink
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
