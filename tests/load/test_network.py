"""The load user's faults: geventhttpclient's errors read as faults, and the stats entries read back as a summary."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ivhsuite.load.network import UNANSWERED_PREFIX, environment_of, fault_entry, fault_of, fault_of_error
from ivhsuite.load.thresholds import EntrySnapshot, StatsSnapshot
from ivhsuite.retry import Fault

PAGE = b"<html><center><h1>502 Bad Gateway</h1></center></html>"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), Fault.NOT_SENT),
        (socket.gaierror(-2, "unknown host"), Fault.NOT_SENT),
        (ConnectionResetError(104, "reset"), Fault.RESET),
        (TimeoutError("timed out"), Fault.TIMEOUT),
        (OSError("connection closed"), Fault.RESET),
    ],
    ids=["refused", "dns", "reset", "timeout", "closed"],
)
def test_geventhttpclient_errors_are_faults(error: BaseException, expected: Fault) -> None:
    assert fault_of_error(error) == expected
    assert fault_of(0, None, error) == expected


def test_gateway_answers_are_faults_and_others_are_answers() -> None:
    assert fault_of(502, PAGE, None) == Fault.gateway(502, page=True)
    assert fault_of(503, b'{"Header": {"Code": -101000}}', None) == Fault.gateway(503, page=False)
    assert fault_of(500, PAGE, None) is None and fault_of(200, b"{}", None) is None


def test_the_stats_entries_read_back_per_operation() -> None:
    entries = (
        EntrySnapshot("POST", "createsession", 97, 0),
        EntrySnapshot("POST", "statsession", 200, 1),
        EntrySnapshot("IVH", fault_entry(Fault.RESET, "createsession"), 3, 0),
        EntrySnapshot("IVH", UNANSWERED_PREFIX + "createsession", 3, 0),
        EntrySnapshot("IVH", fault_entry(Fault.gateway(502, page=True), "statsession"), 4, 0),
        EntrySnapshot("IVH", "environmental 100008", 9, 0),  # a busy code: not the network's
    )
    summary = environment_of(StatsSnapshot(entries, 20.0), tolerance=0.02, swept=2)
    rows = {r.operation: r for r in summary.rows}
    assert (rows["createsession"].requests, rows["createsession"].unanswered, rows["createsession"].retries) == (100, 3, 0)
    assert rows["statsession"].faults == {"HTTP 502 page": 4} and rows["statsession"].retries == 4
    assert summary.requests == 300 and summary.swept == 2 and not summary.unstable


class _DropsTheSecondAnswer:
    """A keep-alive HTTP server that reads each request whole, answers the first and closes on every later one."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.posts = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> bytes | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, body = buffer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += conn.recv(65536)
        self.posts += head.startswith(b"POST")
        return body[length:]

    def _serve(self) -> None:
        with self.listener:
            for _ in range(3):  # bounded: the original connection and at most two re-sends
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                with conn:
                    rest = self._read_request(conn, b"")
                    if rest is None:
                        continue
                    if self.posts == 1:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
                        self._read_request(conn, rest)  # the second POST, read whole: the server "acted"
                    # then the connection closes without an answer

    def close(self) -> None:
        self.listener.close()


def test_geventhttpclient_never_sends_a_post_twice_when_the_answer_is_lost() -> None:
    """A re-sent createsession is a second paid stream: the pinned client must not do it behind the user's back."""
    from geventhttpclient import HTTPClient

    server = _DropsTheSecondAnswer()
    client = HTTPClient("127.0.0.1", server.port, concurrency=1, network_timeout=5, connection_timeout=5)
    try:
        first = client.request("POST", "/v2/ivh/createsession", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
        assert first.status_code == 200 and first.read() == b"{}"
        with pytest.raises(Exception):  # noqa: B017 - whichever way geventhttpclient words a lost answer
            client.request("POST", "/v2/ivh/createsession", body=b'{"a": 2}', headers={"Content-Type": "application/json"})
        time.sleep(0.3)  # a re-send, if any, would have reached the server by now
        assert server.posts == 2
    finally:
        client.close()
        server.close()
