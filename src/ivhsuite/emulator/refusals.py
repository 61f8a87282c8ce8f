"""The request-side choices: what the emulator refuses where the docs leave it open.

The spec decides what is invalid; this decides the rest (see ``choices``): a non-JSON
Content-Type, a null optional field, an empty Text, a long or unusual id, and a rate
above the ``rate-limit`` choice. With the default choices every method here says
"nothing to refuse" and changes nothing.

>>> from ivhsuite.emulator.choices import Choices
>>> RequestPolicy(Choices.parse({"empty-text": "refuse"})).edge("command", {"Data": {"Text": ""}})
'Invalid Payload.Data.Text: an empty text is refused'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ivhsuite.contract.policy import strip_nulls
from ivhsuite.emulator.choices import PLAIN_ID, Choices


class RequestPolicy:
    """Per emulator: the choices, and the token bucket of the ``rate-limit`` choice."""

    def __init__(self, choices: Choices, clock: Callable[[], float] = time.monotonic) -> None:
        self.choices = choices
        self._clock = clock
        self._tokens = max(choices.rate_limit or 0.0, 1.0)  # a full bucket: a burst of one second
        self._filled_at: float | None = None

    def refuses_content_type(self, headers: Mapping[str, str]) -> bool:
        """Under ``content-type=json``: whether the body is declared as something else."""
        if self.choices.content_type != "json":
            return False
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return media != "application/json"

    def too_frequent(self) -> bool:
        """Under ``rate-limit=N``: take a token, or say the rate is exceeded (burst: N)."""
        rate = self.choices.rate_limit
        if rate is None:
            return False
        now = self._clock()
        if self._filled_at is not None:
            self._tokens = min(max(rate, 1.0), self._tokens + (now - self._filled_at) * rate)
        self._filled_at = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False

    def normalised(self, body: dict[str, Any]) -> dict[str, Any]:
        """Under ``null-optional=absent``: the Payload without its null fields."""
        if self.choices.null_optional != "absent" or not isinstance(body.get("Payload"), dict):
            return body
        return {**body, "Payload": strip_nulls(body["Payload"])}

    def edge(self, operation: str, payload: Mapping[str, Any]) -> str | None:
        """A refusal message for a valid payload the choices refuse, or None."""
        choices = self.choices
        text = payload.get("Data", {}).get("Text") if isinstance(payload.get("Data"), dict) else None
        interrupt = isinstance(payload.get("Data"), dict) and payload["Data"].get("Interrupt") is True
        if operation == "command" and choices.empty_text == "refuse" and text == "" and not interrupt:
            return "Invalid Payload.Data.Text: an empty text is refused"
        user = payload.get("UserId")
        if isinstance(user, str) and choices.user_id_max is not None and len(user) > choices.user_id_max:
            return f"Invalid Payload.UserId: longer than {choices.user_id_max} characters"
        if choices.unusual_ids == "refuse":
            for name in ("UserId", "SessionId"):
                value = payload.get(name)
                if isinstance(value, str) and not PLAIN_ID.fullmatch(value):
                    return f"Invalid Payload.{name}: only letters, digits, '_' and '-' are accepted"
        return None
