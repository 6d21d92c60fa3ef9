"""The layout explains itself: one folder per stage, imports only downwards, commands on top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fcn_ablation"
# Lower stages first; a module may import its own stage and any lower one, never a higher one.
STAGES = ["errors", "files", "markdown", "machine", "data", "models", "config", "evaluation", "store", "training", "bench",
          "reporting", "search", "commands"]  # fmt: skip
BASE = {"errors", "files", "markdown", "machine"}  # shared by every stage (and by each other)
# `python -m fcn_ablation` and `python -m fcn_ablation.evaluate`: entries above every stage, each
# only calling its command's `main`
ENTRIES = {"__main__", "evaluate"}


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fcn_ablation" else None


def imports(path: Path) -> list[str]:
    """Every `fcn_ablation` module `path` imports, at its top or inside a function."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fcn_ablation"):
            out += [f"{node.module}.{a.name}" if node.module == "fcn_ablation" else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("fcn_ablation")]
    return out


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(rel.parts), path


def test_every_import_goes_down_the_stages():
    wrong = []
    for name, path in modules():
        own = stage(name)
        if own is None or own in ENTRIES or own == "__init__":
            continue
        for target in imports(path):
            other = stage(target)
            if other is None or other == own or {own, other} <= BASE or other in BASE:
                continue
            if STAGES.index(other) > STAGES.index(own):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_only_commands_hold_an_entry_point():
    holders = []
    for name, path in modules():
        text = path.read_text()
        if ('if __name__ == "__main__"' in text or "\ndef main(" in text) and stage(name) != "commands":
            holders.append(name)
    assert set(holders) <= {f"fcn_ablation.{e}" for e in ENTRIES}
    for entry in ENTRIES:  # nothing but the call of a command's main
        text = (PACKAGE / f"{entry}.py").read_text()
        assert [t for t in imports(PACKAGE / f"{entry}.py")] in (
            ["fcn_ablation.commands.train"],
            ["fcn_ablation.commands.evaluate"],
        ), text


def test_every_command_is_a_console_script():
    import tomllib

    scripts = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]["scripts"]
    targets = {v.split(":")[0] for v in scripts.values()}
    commands = {n for n, p in modules() if stage(n) == "commands" and "\ndef main(" in p.read_text()}
    assert commands == targets
