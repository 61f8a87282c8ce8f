"""One curl line per failing request, runnable as is and free of secrets.

A signature is only good for 5 minutes and must never be written down, so a signed
request is reproduced with a fresh one computed at run time from the environment:

    curl -X POST "https://gw.tvs.qq.com/v2/...?$(ivhsuite sign --appkey KEY --access-token "$IVH_ACCESS_TOKEN")" ...

>>> print(curl_line("POST", "http://h/p?appkey=k&timestamp=1&signature=abc", b"{}", resign=False))
curl -X POST "http://h/p?appkey=k&timestamp=1&signature=***" -H 'Content-Type: application/json' -d '{}'
"""

from __future__ import annotations

import shlex
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ivhsuite.redact import redact
from ivhsuite.signing import SIGNED_PARAMS, TIMESTAMP_WINDOW_SECONDS

_SIGN = '$(ivhsuite sign --appkey {appkey} --access-token "$IVH_ACCESS_TOKEN"{timestamp})'


def curl_line(
    method: str,
    url: str,
    body: bytes | str | None,
    content_type: str | None = "application/json",
    secrets: tuple[str | None, ...] = (),
    *,
    resign: bool = True,
) -> str:
    """A curl command for one request; a signed URL gets a ``$(ivhsuite sign …)`` query instead.

    ``resign=False`` keeps the query as sent (its signature masked): a request whose point
    is a wrong signature must not be reproduced with a right one. A timestamp older than
    the 5-minute window is kept, signed for that moment.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = dict(query)
    appkey = values.get("appkey")
    kept = urlencode([(k, v) for k, v in query if k not in SIGNED_PARAMS])
    if resign and "signature" in values and appkey is not None:
        stamp = values.get("timestamp", "")
        stale = stamp.isdigit() and abs(time.time() - int(stamp)) > TIMESTAMP_WINDOW_SECONDS
        sign = _SIGN.format(appkey=shlex.quote(appkey), timestamp=f" --timestamp {stamp}" if stale else "")
        query_text = f"{kept}&{sign}" if kept else sign
        target = '"' + urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + "?" + query_text + '"'
    else:
        target = '"' + url.replace('"', "%22") + '"'
    words = ["curl", "-X", method.upper(), target]
    if content_type:
        words += ["-H", shlex.quote(f"Content-Type: {content_type}")]
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        words += ["-d", shlex.quote(text)]
    return redact(" ".join(words), secrets)
