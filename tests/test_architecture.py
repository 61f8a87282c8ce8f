"""The structure holds: the layers of ARCHITECTURE.md, one vocabulary, one configuration table."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ivhsuite import protocol
from ivhsuite.config import SETTINGS
from ivhsuite.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ivhsuite"
# Files the package ships for pytest and locust to run, not modules of the library.
SHIPPED = ("contract_tests", "loadtests")


def library_modules() -> list[Path]:
    return [path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] not in SHIPPED]


def test_the_layer_contract_holds() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert ", 0 broken" in done.stdout and "kept" in done.stdout


def test_architecture_lists_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)", text))
    modules = {path.stem if path.stem != "__init__" else path.parent.name for path in library_modules()}
    missing = sorted(modules - named - {"ivhsuite"})
    assert not missing, f"ARCHITECTURE.md does not name: {missing}"


def test_codes_are_the_specs() -> None:
    documented = {int(code): text for code, text in load_spec().document["x-error-codes"].items()}
    assert {int(c) for c in protocol.Code} == set(documented)
    spec = load_spec()
    assert spec.environmental_codes >= protocol.QUOTA_BUSY_CODES
    assert spec.session_state_codes >= protocol.GONE_CODES


def _int_literals(path: Path) -> list[tuple[int, int]]:
    """(value, line) of every integer literal in a module, ``-101000`` included; strings and docstrings are not code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            if isinstance(value, int) and not isinstance(value, bool):
                found.append((-value, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            found.append((node.value, node.lineno))
    return found


def test_no_module_restates_a_code() -> None:
    codes = {int(c) for c in protocol.Code if abs(int(c)) > 1000}
    restated = [
        f"{path.relative_to(PACKAGE)}:{line} ({value})"
        for path in PACKAGE.rglob("*.py")
        if path.name != "protocol.py"
        for value, line in _int_literals(path)
        if value in codes
    ]
    assert not restated, f"codes written out instead of ivhsuite.protocol.Code: {restated}"


def test_readme_lists_every_setting_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 5)]
    listed = set(re.findall(r"^\| `(IVH\w+)`", table, re.MULTILINE))
    assert listed == {s.env for s in SETTINGS if s.env}  # a flag-only row (no variable) is not listed


def test_no_module_but_config_reads_an_ivh_variable() -> None:
    readers = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "config.py" and re.search(r"environ(?:\.get)?\(?\[?[\"']IVH", path.read_text(encoding="utf-8"))
    ]
    assert not readers


def _code_aliases(path: Path) -> list[str]:
    """``NAME = Code.X`` (or a tuple of them) at module level: a second name for a documented code."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        if any(isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == "Code" for v in values):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_module_renames_a_code() -> None:
    aliases = [alias for path in PACKAGE.rglob("*.py") if path.name != "protocol.py" for alias in _code_aliases(path)]
    assert not aliases, f"module-level aliases of ivhsuite.protocol.Code (write Code.X where it is used): {aliases}"
