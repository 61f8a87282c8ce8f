"""Keep secrets out of logs and reports.

The access token, signatures, TrtcUserSig, TrtcPrivateMapKey, gettrtcsign's UserSig and
PrivateMapKey, and txSecret values
never appear in anything ivhsuite writes: every writer passes its text through
:func:`redact` first.

>>> redact("GET /x?appkey=a&timestamp=1&signature=abc%2B%3D")
'GET /x?appkey=a&timestamp=1&signature=***'
>>> redact('{"TrtcUserSig": "eJw1"}')
'{"TrtcUserSig": "***"}'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
SECRET_FIELDS = (
    "TrtcUserSig",
    "TrtcPrivateMapKey",
    "UserSig",  # gettrtcsign's answer
    "PrivateMapKey",
    "accesstoken",
    "access_token",
    "AccessToken",
)
SECRET_QUERY = ("signature", "txSecret")

_QUERY = re.compile(r"(?P<key>\b(?:" + "|".join(SECRET_QUERY) + r"))=(?P<value>[^&\s\"'\\]+)")
_JSON_FIELD = re.compile(
    r"(?P<key>(?:\\?[\"'])?(?:" + "|".join(SECRET_FIELDS) + r")(?:\\?[\"'])?\s*[:=]\s*)"
    r"(?P<quote>\\?[\"'])(?P<value>.*?)(?P=quote)"
)

# HAR keeps query parameters as {"name": "signature", "value": "..."} pairs.
_NAME_VALUE = re.compile(
    r'("name":\s*"(?:' + "|".join(SECRET_QUERY + SECRET_FIELDS) + r')",\s*"value":\s*)"[^"]*"', re.IGNORECASE
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask secret query values, secret JSON fields and any literal secret given."""
    text = _QUERY.sub(lambda m: f"{m['key']}={MASK}", text)
    text = _JSON_FIELD.sub(lambda m: f"{m['key']}{m['quote']}{MASK}{m['quote']}", text)
    text = _NAME_VALUE.sub(lambda m: f'{m[1]}"{MASK}"', text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
