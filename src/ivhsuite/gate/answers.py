"""What each operation got during a gate run: requests by source, answers by HTTP status and Header.Code, the slowest.

Thread-safe counts, filled once per answer (schemathesis's ``after_call`` hook, the scenarios'
probe) and read into :class:`~ivhsuite.summaries.OperationRow` for the report.

>>> log = AnswerLog()
>>> log.record("generated", "statsession", 200, 0, 0.004)
>>> log.record("scenarios", "statsession", 400, None, 0.012)
>>> row = log.rows(["statsession"])[0]
>>> (row.requests, row.statuses, row.codes, row.slowest_ms)
(2, {'200': 1, '400': 1}, {'0': 1, 'none': 1}, 12.0)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal

from ivhsuite.summaries import OperationRow

Source = Literal["generated", "scenarios"]


class AnswerLog:
    def __init__(self) -> None:
        self._rows: dict[str, OperationRow] = {}
        self._lock = threading.Lock()

    def record(self, source: Source, operation: str, status: int, code: int | None, seconds: float) -> None:
        with self._lock:
            row = self._rows.get(operation) or self._rows.setdefault(operation, OperationRow(operation))
            setattr(row, source, getattr(row, source) + 1)
            row.statuses[str(status)] = row.statuses.get(str(status), 0) + 1
            label = "none" if code is None else str(code)
            row.codes[label] = row.codes.get(label, 0) + 1
            row.slowest_ms = max(row.slowest_ms, round(seconds * 1000, 1))

    def rows(self, operations: Iterable[str]) -> list[OperationRow]:
        """One row per operation named (the spec's, in its order), then any other that was answered."""
        with self._lock:
            named = list(dict.fromkeys(operations))
            names = named + sorted(set(self._rows) - set(named))
            return [_copy(self._rows.get(name) or OperationRow(name)) for name in names]


def _copy(row: OperationRow) -> OperationRow:
    return OperationRow(
        row.operation, row.generated, row.scenarios, dict(row.statuses), dict(row.codes), row.slowest_ms
    )
