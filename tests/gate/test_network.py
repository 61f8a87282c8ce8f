"""The gate's schemathesis transport: classified faults, stand-in answers marked as the network's."""

from __future__ import annotations

import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from ivhsuite.gate import network
from ivhsuite.retry import DEFAULT_POLICY, Fault


def test_requests_errors_are_faults() -> None:
    refused = requests.ConnectionError(
        requests.urllib3.exceptions.MaxRetryError(None, "/", NewConnectionError(None, "refused"))
    )  # type: ignore[attr-defined]
    assert network.fault_of(refused) == Fault.NOT_SENT
    assert network.fault_of(requests.ConnectTimeout()) == Fault.NOT_SENT
    assert (
        network.fault_of(requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104))))
        == Fault.RESET
    )
    assert network.fault_of(requests.ReadTimeout()) == Fault.TIMEOUT


def test_network_errors_are_environmental_however_wrapped() -> None:
    reset = requests.ConnectionError("reset")
    try:
        raise RuntimeError("wrapped") from reset
    except RuntimeError as wrapped:
        assert network.is_environmental(wrapped)
    assert network.is_environmental(ExceptionGroup("flaky", [reset, requests.ReadTimeout()]))
    assert not network.is_environmental(ExceptionGroup("flaky", [reset, ValueError("a bug")]))
    assert not network.is_environmental(ValueError("a bug"))


def test_a_stand_in_says_there_was_no_answer_and_is_marked() -> None:
    attempts = DEFAULT_POLICY.start("createsession")
    attempts.failed(Fault.RESET)
    data = {"method": "POST", "url": "http://127.0.0.1:9/v2/ivh/sessionmanager/sessionmanagerservice/createsession"}
    response = network.stand_in(data, requests.ConnectionError("reset by peer"), Fault.RESET, attempts)
    assert response.status_code == network.STAND_IN_STATUS
    assert response.headers[network.STAND_IN_HEADER] == "reset"
    assert b"no answer from the endpoint (reset, 1 attempt(s))" in response.content
    assert network.unanswered(response) == "reset"
