"""Every example in a module docstring runs: a doctest that drifts from the code is a broken promise too.

pytest's ``--doctest-modules`` would import every module of the tree, the locust files and
``gate.__main__`` among them; this collects only the modules whose source holds an example,
and none that imports locust (it patches the process with gevent; the load tests run locust
in a subprocess for that reason).
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import ivhsuite

LOCUST = re.compile(r"^\s*(from|import) (locust|gevent)\b", re.MULTILINE)
PACKAGE = Path(ivhsuite.__file__).parent
MODULES = sorted(
    ".".join(("ivhsuite", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if ">>> " in (source := path.read_text(encoding="utf-8")) and not LOCUST.search(source)
)


def test_the_examples_are_found() -> None:
    assert {"ivhsuite.protocol", "ivhsuite.run_sessions", "ivhsuite.signing"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (output above)"
