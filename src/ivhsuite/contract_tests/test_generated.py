"""The schemathesis half: every phase, both modes, the ivh_* checks (ivhsuite.gate.spec_cases.checks).

``ivhsuite gate`` runs this half itself and deselects this test; ``pytest contract_tests``
alone runs it here, writing schemathesis's reports under ``reports/<stamp>-contract-tests/``.
"""

from __future__ import annotations

import pytest

from ivhsuite.gate.context import RunContext
from ivhsuite.gate.findings import format_failures
from ivhsuite.gate.spec_cases.in_process import run_generated
from ivhsuite.report_dirs import run_dir


@pytest.mark.generated
def test_generated_requests_keep_the_contract(run: RunContext) -> None:
    folder = run_dir(None, "contract-tests") / "schemathesis"
    before = len(run.findings)
    code = run_generated(run, folder)
    run.guard.make_room()
    found = run.findings[before:]
    assert not found, format_failures(found)
    assert code == 0, f"schemathesis ended with exit code {code} without a finding: see its output ({folder})"
