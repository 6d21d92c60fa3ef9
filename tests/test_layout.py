"""The layout explains itself: one folder per stage, imports only downwards, commands on top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fcn_ablation"
# Lower stages first; a module may import its own stage and any lower one, never a higher one.
# The shared modules are stages too, in order: `files` may use `errors`, never the other way round.
STAGES = ["errors", "files", "results_layout", "markdown", "machine", "data", "models", "config", "evaluation", "store",
          "training", "bench", "reporting", "search", "commands"]  # fmt: skip
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
            if other is None or other == own:
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


def _graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name imported from a package: its module, when one)."""
    names = {name for name, _ in modules()}
    graph = {}
    for name, path in modules():
        found = set()
        for target in imports(path):
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != name and not target.endswith("__init__") and target != "fcn_ablation":
                found.add(target)
        graph[name] = found
    return graph


def test_no_modules_import_each_other_in_a_loop():
    """Issue 34's bar: no circle anywhere, at the top of a module or inside a function."""
    graph, loops = _graph(), []
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                loops.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert loops == []


def test_the_launcher_plugin_sits_below_the_commands():
    """Hydra's launchers (`hydra_plugins/`) run the commands' jobs: they may use any stage but the commands."""
    wrong = []
    for path in sorted((PACKAGE.parent / "hydra_plugins").rglob("*.py")):
        wrong += [f"{path.name} imports {t}" for t in imports(path) if stage(t) == "commands"]
    assert wrong == []


def test_no_production_function_is_named_like_a_test():
    """pytest would collect it, and a reader takes it for one; Lightning's own hooks excepted."""
    hooks = {"test_step", "test_dataloader", "test_epoch_end"}
    named = [f"{name}.{node.name}" for name, path in modules() for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
             and node.name not in hooks]  # fmt: skip
    assert named == []


def test_every_module_a_docstring_or_comment_names_exists():
    """A `stage.module.name` in backticks (in the package's code and in docs/) names something that
    is there: moved code leaves no stale pointer behind (file names such as `bench.json` aside)."""
    import importlib
    import re

    names = {name for name, _ in modules()}
    files = {"yaml", "json", "csv", "md", "png", "txt", "pt", "npz", "tex", "log", "ckpt", "lock", "sh", "toml"}
    stale = []
    texts = [*(p for _, p in modules()), *(PACKAGE.parent / "docs").glob("*.md"), PACKAGE.parent / "README.md"]
    for path in texts:
        for ref in re.findall(r"`((?:[a-z_]+\.)+[A-Za-z_]+)(?:\(\))?`", path.read_text()):
            parts = ref.split(".")
            if parts[0] not in STAGES or parts[-1] in files:
                continue
            k = max((k for k in range(1, len(parts) + 1) if "fcn_ablation." + ".".join(parts[:k]) in names), default=0)
            if k == 0:
                stale.append(f"{path.name}: {ref}")
                continue
            obj = importlib.import_module("fcn_ablation." + ".".join(parts[:k]))
            for attr in parts[k:]:
                obj = getattr(obj, attr, None)
            if obj is None:
                stale.append(f"{path.name}: {ref}")
    assert stale == []
