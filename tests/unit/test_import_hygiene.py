"""The layers of DESIGN.md hold: each package imports only what its layer may.

Two checks, after harlequin's tests/unit_tests/test_import_hygiene.py:
- statically, every import statement of every module (including those inside functions)
  is checked against the rules, and a failure names the module, the line and the import;
- dynamically, importing the broker, agent and ctl entry points in a fresh interpreter
  never loads textual (a stray transitive import would slip past the static check).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("core", "agents", "broker", "ctl", "tui")
UI = ("textual", "textual_serve", "rich")

# (module prefix, forbidden import prefixes, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("core", ("agents", "broker", "ctl", "tui", *UI), "core imports none of ours"),
    ("agents", ("broker", "ctl", "tui", *UI), "agents never import broker or tui"),
    ("broker", ("tui", "ctl", "agents", *UI), "broker never imports tui, ctl or textual, "
                                              "nor the agent outside the embedded default"),
    ("ctl", ("agents", "broker", "tui", *UI), "ctl imports only core"),
    ("broker.alerting", ("broker.store",), "alerting never imports store"),
    ("broker.store", ("broker.alerting",), "store never imports alerting"),
]
# notify imports only core and the broker's event vocabulary (besides itself)
NOTIFY_ALLOWED = ("core", "broker.notify", "broker.events")
# The embedded default (monitor-tui with no broker) runs a broker and an agent in-process:
# broker/system.py may import the agent there, and only there.
EXCEPTIONS = {("broker.system", "agents.agent")}


def modules() -> list[tuple[str, Path]]:
    out = []
    for pkg in OURS:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append((".".join(parts), path))
    return out


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # "from broker import store" imports broker.store
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
    return found


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations() -> list[str]:
    bad = []
    for module, path in modules():
        for line, name in imports(path, module):
            if any(module == m and under(name, n) for m, n in EXCEPTIONS):
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            for prefix, forbidden, why in RULES:
                if under(module, prefix):
                    hit = next((f for f in forbidden if under(name, f)), None)
                    if hit:
                        bad.append(f"{where} ({why})")
            if under(module, "broker.notify") and any(under(name, p) for p in OURS) \
                    and not any(under(name, p) for p in NOTIFY_ALLOWED):
                bad.append(f"{where} (notify imports only core and broker.events)")
    return bad


def test_no_layer_imports_what_it_must_not() -> None:
    bad = violations()
    assert not bad, "forbidden imports:\n" + "\n".join(bad)


def test_the_checker_names_an_offending_import(tmp_path: Path) -> None:
    fake = tmp_path / "probe.py"
    fake.write_text("import os\n\ndef f():\n    from broker.store.store import Store\n")
    found = imports(fake, "broker.alerting.probe")
    assert (4, "broker.store.store") in found
    assert any(under(name, "broker.store") for _, name in found)


@pytest.mark.parametrize("entry", ["broker.system", "broker.cli", "agents.cli", "ctl.main",
                                   "core.protocol"])
def test_entry_points_never_load_textual(entry: str) -> None:
    code = (f"import sys, importlib; importlib.import_module({entry!r}); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui')); "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, f"importing {entry} loaded: {run.stdout.strip()} {run.stderr}"
