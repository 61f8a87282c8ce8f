"""HTML pages like the ones a gateway or proxy in front of an API answers with.

A client of a JSON API still meets HTML: an nginx 502 page when the upstream is down,
a 405 page from a load balancer. The emulator serves pages shaped like those, so a
client's "the body is not JSON" path can be exercised on purpose.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import HTMLResponse

_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def html_page(status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An nginx-style error page with ``status``.

    >>> b"<h1>502 Bad Gateway</h1>" in html_page(502).body
    True
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return HTMLResponse(_PAGE.format(status=status, phrase=phrase), status_code=status, headers=headers)
