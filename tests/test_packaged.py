"""What the commands read at run time lives inside the package, and a bare checkout path is never used."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import ivhsuite
from ivhsuite import packaged
from ivhsuite.config import Target
from ivhsuite.embedded import endpoint
from ivhsuite.protocol import Answer, Code

PACKAGE = Path(ivhsuite.__file__).resolve().parent


@pytest.mark.parametrize(
    "found",
    [
        packaged.spec_file,
        packaged.schemathesis_config,
        packaged.contract_tests,
        packaged.locustfile,
        packaged.thresholds_file,
    ],
    ids=lambda f: f.__name__,
)
def test_every_shipped_file_is_found_inside_the_package(found: object) -> None:
    path = found()  # type: ignore[operator]
    assert path.exists() and path.resolve().is_relative_to(PACKAGE)


def test_no_module_climbs_out_of_the_package() -> None:
    climbing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "parents":
                climbing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert climbing == []


def test_the_embedded_emulator_signs_with_credentials_of_its_own() -> None:
    with endpoint(Target()) as live:
        assert live.signed and live.appkey and live.access_token
        body = {"Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": live.project_id}}
        url = f"{live.base_url}/v2/ivh/sessionmanager/sessionmanagerservice/listsessionofprojectid"
        response = httpx.post(url, json=body)
        unsigned = Answer.read(response.status_code, response.content)
    assert unsigned.code == Code.NOT_AUTHORIZED, "an unsigned request is refused: the signature rules are live"
    with endpoint(Target()) as other:
        assert other.access_token != live.access_token, "a fresh pair per run"
