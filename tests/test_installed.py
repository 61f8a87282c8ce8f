"""Installed, not cloned: the wheel in a fresh venv, run from an empty directory, as a user's CI would.

Builds the wheel, installs it (with its dependencies, no system site-packages) into a venv
outside the checkout, and runs the commands from an empty temporary directory: each ends
with a verdict, writes its reports there, and adds nothing to the venv's site-packages.
The files ``ivhsuite init`` writes and the GitHub Action's shell steps run as written.
Every interpreter of 3.11 and newer this machine has installs the wheel and runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = f"{sys.version_info[0]}.{sys.version_info[1]}"
OLDEST = (3, 11)
TIMEOUT = 900
VERDICT = re.compile(r"ivhsuite (?:gate|load|verify): (?:PASS|passed|GREEN)")


def interpreters() -> dict[str, str]:
    """Every CPython on this machine by ``3.x`` version: on PATH and under pyenv (whose shims hide all but one)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(8, 16)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(path) for path in sorted(pyenv.glob("3.*/bin/python3"))]
    found: dict[str, str] = {}
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run(
                [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            found.setdefault(done.stdout.strip(), candidate)
    return found


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


INTERPRETERS = interpreters()
OTHERS = sorted((v for v in INTERPRETERS if _version(v) >= OLDEST and v != PRIMARY), key=_version)
TOO_OLD = sorted((v for v in INTERPRETERS if _version(v) < OLDEST), key=_version)


@dataclass(frozen=True)
class Venv:
    """A fresh venv: its own python, no system site-packages."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    def environ(self, **extra: str) -> dict[str, str]:
        """As if activated, with no IVH setting and nothing of the test's own venv."""
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("IVH_", "IVHSUITE_", "PYTEST_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")
        }
        return {**base, "PATH": f"{self.bin}{os.pathsep}{base.get('PATH', '')}", "VIRTUAL_ENV": str(self.root), **extra}

    def run(self, args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=cwd, env=self.environ(**extra), capture_output=True, text=True, timeout=TIMEOUT, check=False
        )

    def site_files(self) -> set[Path]:
        done = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        )
        return {path for path in Path(done.stdout.strip()).rglob("*") if path.is_file()}


def make_venv(python: str, root: Path) -> Venv:
    subprocess.run([python, "-m", "venv", str(root)], check=True, timeout=TIMEOUT)
    return Venv(root)


def install(venv: Venv, requirement: str | Path, cwd: Path) -> None:
    done = venv.run([venv.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(requirement)], cwd)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def show(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check", "-w", str(out)]
    done = subprocess.run([*command, str(ROOT)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, show(done)
    (built,) = out.glob("ivhsuite-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = make_venv(INTERPRETERS.get(PRIMARY, sys.executable), tmp_path_factory.mktemp("venv") / "venv")
    install(venv, wheel, wheel.parent)
    return venv


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty directory outside the checkout, as a user's repository would be."""
    folder = tmp_path / "work"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder


def test_the_wheel_ships_every_file_a_command_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    needed = {
        "ivhsuite/openapi/ivh-sessionmanager.yaml",
        "ivhsuite/schemathesis.toml",
        "ivhsuite/contract_tests/__init__.py",
        "ivhsuite/contract_tests/conftest.py",
        "ivhsuite/loadtests/locustfile.py",
        "ivhsuite/loadtests/thresholds.toml",
        "ivhsuite/templates/ivhsuite.toml",
        "ivhsuite/templates/workflow.yml",
    }
    assert needed <= names, sorted(needed - names)
    tests_in_checkout = {p.name for p in (ROOT / "src/ivhsuite/contract_tests").glob("*.py")}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("ivhsuite/contract_tests/")} == tests_in_checkout
    assert "Requires-Python: >=3.11" in metadata


def test_gate_load_and_verify_run_from_an_empty_directory(installed: Venv, workdir: Path) -> None:
    before = installed.site_files()
    commands = {
        "gate": ["ivhsuite", "gate", "--max-examples", "5"],
        "load": ["ivhsuite", "load", "--scenario", "preemption", "-u", "4", "-r", "4", "-t", "5s"],
        "verify": ["ivhsuite", "verify", "--profile", "smoke"],
    }
    for name, command in commands.items():
        done = installed.run(command, workdir)
        assert done.returncode == 0, f"{name}: {show(done)}"
        assert VERDICT.search(done.stdout + done.stderr), f"{name} printed no verdict: {show(done)}"
    runs = sorted(path.name for path in (workdir / "reports").iterdir())
    assert [name.split("-", 1)[1] if "-" in name else "verify" for name in runs] == [
        "gate",
        "load-preemption",
        "verify",
    ]
    folders = {name.split("-", 1)[1] if "-" in name else "verify": workdir / "reports" / name for name in runs}
    assert (folders["gate"] / "junit.xml").is_file()
    assert (folders["load-preemption"] / "thresholds.json").is_file()
    assert (folders["verify"] / "index.html").is_file() and (folders["verify"] / "gate" / "gate.log").is_file()
    added = sorted(str(path) for path in installed.site_files() - before)
    assert added == [], "the commands wrote into site-packages"


def test_pytest_pyargs_runs_the_installed_contract_tests(installed: Venv, workdir: Path) -> None:
    before = installed.site_files()
    done = installed.run(["python", "-m", "pytest", "--pyargs", "ivhsuite.contract_tests", "-q", "-k", "auth"], workdir)
    assert done.returncode == 0, show(done)
    assert re.search(r"\d+ passed", done.stdout) and "skipped" not in done.stdout.splitlines()[-1]
    assert sorted(str(p) for p in installed.site_files() - before) == []


def _expressions(text: str, values: Mapping[str, str]) -> str:
    """Fill in ``${{ name }}`` as GitHub would; a name this test does not know is an error, not a blank."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("secrets."):
            return ""  # a secret not set: the embedded emulator
        return values[name]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def run_steps(
    steps: list[dict[str, Any]], venv: Venv, cwd: Path, values: Mapping[str, str], env: Mapping[str, str]
) -> Iterator[tuple[str, subprocess.CompletedProcess[str]]]:
    """Each ``run:`` step as GitHub runs one (bash, -e, pipefail); ``uses:`` steps are the platform's, skipped."""
    for step in steps:
        if "run" not in step:
            continue
        step_env = {key: _expressions(str(v), values) for key, v in {**env, **step.get("env", {})}.items()}
        script = _expressions(step["run"], values)
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
        yield step.get("name", script), venv.run(command, cwd, **step_env)


def test_init_writes_files_the_installed_suite_runs_as_written(installed: Venv, wheel: Path, workdir: Path) -> None:
    subprocess.run(["git", "init", "-q", str(workdir)], check=True)
    done = installed.run(["ivhsuite", "init"], workdir)
    assert done.returncode == 0, show(done)
    again = installed.run(["ivhsuite", "init"], workdir)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr, show(again)
    workflow = yaml.safe_load((workdir / ".github/workflows/ivhsuite.yml").read_text())
    (job,) = workflow["jobs"].values()
    env = {**job["env"], "IVHSUITE_PACKAGE": str(wheel)}  # the release it names is this wheel
    ran = []
    for name, step in run_steps(job["steps"], installed, workdir, {}, env):
        assert step.returncode == 0, f"{name}: {show(step)}"
        ran.append(name)
    assert ran == ["Install ivhsuite", "Contract gate", "Verify (gate + load)"]
    assert (workdir / "reports/gate/junit.xml").is_file() and (workdir / "reports/verify/index.html").is_file()
    summary = (workdir / "reports/verify/summary.json").read_text()
    assert '"profile": "smoke"' in summary, "verify took its profile from the ivhsuite.toml init wrote"


def test_the_actions_shell_steps_run_against_the_emulator(installed: Venv, workdir: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"command": "gate", "args": "--max-examples 3", "quota": "4", "report-dir": "reports/action"})
    values = {f"inputs.{name}": value for name, value in inputs.items()}
    output = tmp_path / "github_output"
    output.touch()
    env = {"GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(output)}
    ran = {}
    for name, step in run_steps(action["runs"]["steps"], installed, workdir, values, env):
        assert step.returncode == 0, f"{name}: {show(step)}"
        ran[name] = step
    assert list(ran) == ["Install ivhsuite", "Run ivhsuite"]
    assert "embedded emulator, quota 4, signed" in ran["Run ivhsuite"].stdout, "the inputs reached the suite"
    assert output.read_text().splitlines() == ["exit-code=0"]
    assert (workdir / "reports/action/junit.xml").is_file()


@pytest.mark.parametrize("version", OTHERS)
def test_every_other_interpreter_installs_and_runs_the_wheel(
    version: str, wheel: Path, workdir: Path, tmp_path: Path
) -> None:
    venv = make_venv(INTERPRETERS[version], tmp_path / "venv")
    install(venv, wheel, workdir)
    for command in (
        ["ivhsuite", "gate", "--max-examples", "2"],
        ["ivhsuite", "load", "--scenario", "create", "-u", "2", "-r", "2", "-t", "3s"],
    ):
        done = venv.run(command, workdir)
        assert done.returncode == 0, f"{version} {command[1]}: {show(done)}"
        assert VERDICT.search(done.stdout + done.stderr), show(done)
    assert len(list((workdir / "reports").iterdir())) == 2


@pytest.mark.skipif(not TOO_OLD, reason="no interpreter older than 3.11 on this machine")
def test_an_older_interpreter_is_refused_by_the_metadata(wheel: Path, tmp_path: Path) -> None:
    venv = make_venv(INTERPRETERS[TOO_OLD[-1]], tmp_path / "venv")
    done = venv.run([venv.python, "-m", "pip", "install", "--no-deps", str(wheel)], tmp_path)
    assert done.returncode != 0
    assert "requires a different Python" in done.stdout + done.stderr, show(done)
