"""The --web console in a real headless Chromium, driven over the DevTools protocol.

Not part of ``make test`` (the browser is large): ``make test-web`` installs Debian's
chromium if missing and runs this. It logs in with the token through the form, sees the
fleet's hosts, presses 2 for the alerts screen, and saves PNG screenshots in screenshots/.
What the terminal shows is read off the websocket: a hook installed before the page loads
keeps every frame the server sends, since xterm.js draws on a canvas.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.procs import ENV, command, stop_proc

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-test-token-1234"
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
HOOK = """
window.__seen = [];
const Real = window.WebSocket;
window.WebSocket = function(url, protocols) {
  const ws = protocols ? new Real(url, protocols) : new Real(url);
  ws.addEventListener('message', async (e) => {
    const d = e.data;
    if (typeof d === 'string') { window.__seen.push(d); return; }
    const buf = d instanceof Blob ? await d.arrayBuffer() : d;
    window.__seen.push(new TextDecoder().decode(buf));
  });
  return ws;
};
window.WebSocket.prototype = Real.prototype;
Object.assign(window.WebSocket, {OPEN: 1, CLOSED: 3, CONNECTING: 0, CLOSING: 2});
"""
PAINTED = ("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                 "--remote-debugging-port=0"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Page:
    """One page target over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        await self.ws.send_json({"id": msg_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    async def js(self, expression: str) -> Any:
        out = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True,
                              returnByValue=True)
        return out.get("result", {}).get("value")

    async def until(self, expression: str, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.2)  # poll
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    async def screen_text(self, start: int = 0) -> str:
        chunks = await self.js(f"window.__seen ? window.__seen.slice({start}) : []")
        return ANSI.sub("", "".join(chunks or []))

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def key(self, char: str) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key=char, text=char,
                            unmodifiedText=char, code=f"Digit{char}",
                            windowsVirtualKeyCode=ord(char))


def browser_endpoint(profile: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text().split()[0])
        assert proc.poll() is None, "chromium exited at start"
        time.sleep(0.1)  # poll
    raise AssertionError("chromium did not open its DevTools port")


async def test_web_console_in_a_headless_browser(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: run make test-web, which installs it"
    port = free_port()
    web = subprocess.Popen([*command("monitor-tui"), "--web", "--demo", "6", "--port",
                            str(port), "--data-dir", str(tmp_path / "d")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env={**ENV, "MONITOR_WEB_TOKEN": TOKEN})
    profile = Path(tempfile.mkdtemp(prefix="monitor-chromium-"))
    browser = subprocess.Popen([chromium, *BROWSER_FLAGS, f"--user-data-dir={profile}",
                                "about:blank"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        assert web.stderr is not None and "serving on" in web.stderr.readline()
        devtools = browser_endpoint(profile, browser)
        async with aiohttp.ClientSession() as http:
            for _ in range(150):  # poll until the console answers
                try:
                    async with http.get(base + "/") as resp:
                        assert resp.status == 401  # the login form, not the console
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)  # poll
            async with http.get(f"http://127.0.0.1:{devtools}/json/list") as resp:
                targets = json.loads(await resp.text())
            target = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                await page.send("Runtime.enable")
                await page.send("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
                await page.send("Page.navigate", url=base + "/")
                await page.until("document.getElementById('token') !== null", 20,
                                 "the login form")
                await page.js(f"document.getElementById('token').value = {TOKEN!r}; "
                              "document.querySelector('form').submit(); true")
                await page.until("document.querySelector('.xterm') !== null", 30,
                                 "the terminal after logging in")
                hosts = ("web-01", "db-01", "cache-01")
                for host in hosts:
                    await page.until(f"(window.__seen || []).join('').includes({host!r})", 60,
                                     f"host {host} on the dashboard")
                await page.js(PAINTED)
                await page.screenshot(ROOT / "screenshots" / "web-dashboard.png")
                before = len(await page.js("window.__seen") or [])
                assert "timeline" not in await page.screen_text()
                await page.js("document.querySelector('.xterm-helper-textarea').focus(); true")
                await page.key("2")
                await page.until(f"window.__seen.slice({before}).join('')"
                                 ".includes('timeline') || window.__seen.slice({before})"
                                 ".join('').includes('select an alert')", 30,
                                 "the alerts screen after pressing 2")
                await page.js(PAINTED)  # xterm.js draws on the next animation frame
                out = ROOT / "screenshots" / "web-alerts.png"
                await page.screenshot(out)
                assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                assert out.stat().st_size > 10_000  # a real picture, not a blank page
    finally:
        stop_proc(browser)  # type: ignore[arg-type]
        stop_proc(web)
        shutil.rmtree(profile, ignore_errors=True)
