"""Every command the README, docs/ and the committed results' README show still parses, as a
dry run: a Hydra command's overrides compose against its own config (what `--cfg job` does; a
sweep's first value of each swept option, `-m` dropped), an argparse command's arguments pass its
parser (nothing runs). A renamed option, group or flag fails here, naming the file and the line."""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import shlex
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "results" / "published" / "README.md"]
COMMAND = re.compile(r"^((?:\w+=\S+\s+)*)(python -m (fcn_ablation[\w.]*)|(fcn-ablation[\w-]*))(\s|$)")


def documented_commands() -> list[tuple[str, str]]:
    """(file, command line) of every fcn-ablation command in a fenced shell block."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", doc.read_text(), re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = "" if line.lstrip().startswith("#") else re.split(r"\s#\s", line)[0]
                for segment in re.split(r"&&|;|\|\|", line):
                    command = segment.strip()
                    if COMMAND.match(command) and command not in {c for _, c in found}:  # each line once
                        found.append((doc.relative_to(ROOT).as_posix(), command))
    return found


def _module(line: str) -> tuple[str, list[str]]:
    """The command's module and its arguments (placeholders `<...>` and usage brackets `[...]` of
    flags filled in or opened)."""
    m = COMMAND.match(line)
    line = re.sub(r"<[^>]*>", "X", line[m.end(1) :])
    line = re.sub(r"\[(--[^\]]*)\]", r"\1", line)
    words = shlex.split(line)
    if m.group(3):  # python -m fcn_ablation[.commands.x]
        entries = {
            "fcn_ablation": "fcn_ablation.commands.train",
            "fcn_ablation.evaluate": "fcn_ablation.commands.evaluate",
        }
        module = entries.get(m.group(3), m.group(3))
        return module, words[3:]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return scripts[words[0]].split(":")[0], words[1:]


def _first_of_each_sweep(args: list[str]) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = [a for a in args if a not in ("-m", "--multirun", "--help", "--hydra-help") and "$" not in a]
    out = []
    for o in OverridesParser.create().parse_overrides(args):
        out.append(
            f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}" if o.is_sweep_override() else o.input_line
        )
    return out


class _Parsed(Exception):
    pass


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 20 and {doc for doc, _ in COMMANDS} >= {"README.md", "docs/launchers.md"}


@pytest.mark.slow
@pytest.mark.parametrize("doc, line", COMMANDS, ids=[f"{d}:{i}" for i, (d, _) in enumerate(COMMANDS)])
def test_a_documented_command_parses(doc, line, monkeypatch):
    module, args = _module(line)
    source = Path(importlib.util.find_spec(module).origin).read_text()
    hydra_app = re.search(r'@hydra\.main\(.*?config_name="(\w+)"', source, re.S)
    if hydra_app:
        from hydra import compose, initialize_config_dir

        from fcn_ablation.config import schema
        from fcn_ablation.config.folder import config_dir

        own_schema = "register_bench_train()" in source  # a schema its main registers in its own process
        try:
            if own_schema:
                schema.register_bench_train()
            with initialize_config_dir(config_dir(), version_base="1.3"):
                compose(hydra_app.group(1), overrides=_first_of_each_sweep(args), return_hydra_config=True)
        finally:
            if own_schema:
                schema.register()  # the job's schema again, for the tests after this one
        return
    original = argparse.ArgumentParser.parse_args

    def parse_only(self, argv=None, namespace=None):
        original(self, argv, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    main = importlib.import_module(module).main
    try:
        if inspect.signature(main).parameters:
            main(args)
        else:  # it reads sys.argv
            monkeypatch.setattr(sys, "argv", [module, *args])
            main()
    except _Parsed:
        return
    except SystemExit as exit_:
        assert exit_.code == 0, f"{doc}: `{line}`: its parser refused it"
        return
    pytest.fail(f"{doc}: `{line}`: {module}.main parsed no arguments")
