"""How a request to the License API proves who sends it (the protocol spec, section 2): an
HMAC-SHA256 signature of its `Date` with the shared key, beside the API key; or, for a vendor
on OAuth, a Bearer token (oauth.py). Nothing here logs: these are secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.licensespring import oauth
    from portal.licensespring.client import Credentials


def sign(shared_key: str, date: str) -> str:
    message = f"licenseSpring\ndate: {date}"
    digest = hmac.new(shared_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def auth_headers(credentials: Credentials, date: str) -> dict[str, str]:
    """The `Date` and API-key `Authorization` headers for a request sent at `date`."""
    signature = sign(credentials.shared_key, date)
    authorization = (
        f'algorithm="hmac-sha256",headers="date",signature="{signature}",'
        f'apiKey="{credentials.api_key}"'
    )
    return {"Date": date, "Authorization": authorization}


def request_headers(credentials: Credentials, token: oauth.Token | None) -> dict[str, str]:
    """Every header of a License API request sent now, with a Bearer token or signed."""
    date = formatdate(usegmt=True)
    if token is not None:  # OAuth: a Bearer token instead of the API-key signature
        headers = {"Date": date, "Authorization": f"Bearer {token.value}"}
    else:
        headers = auth_headers(credentials, date)
    headers["Content-Type"] = "text/plain"
    return headers
