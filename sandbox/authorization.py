"""License API authorization: the `Date` and `Authorization` headers (API-key HMAC, or an
OAuth Bearer token: sandbox/oauth.py).

`Authorization: algorithm="hmac-sha256",headers="date",signature="<S>",apiKey="<key>"` where
S = base64(HMAC-SHA256(shared_key, "licenseSpring\\ndate: " + Date)).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.errors import ApiError
from sandbox.models import Credential, OAuthClient
from sandbox.oauth import authorize_bearer
from sandbox.signing import hmac_b64, signatures_match

_PARAMETER = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_REQUIRED = ("algorithm", "headers", "signature", "apiKey")


def authorize_request(headers: Mapping[str, str]) -> Credential | OAuthClient:
    """The credential whose shared key signed these headers, or the OAuth client whose Bearer
    token they carry; else an ApiError."""
    date = headers.get("Date", "").strip()
    authorization = headers.get("Authorization", "").strip()
    if not date or not authorization:
        raise ApiError("missing_headers", "some headers are missing: Date, Authorization")
    scheme, _, access_token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return authorize_bearer(access_token.strip())
    parameters = dict(_PARAMETER.findall(authorization))
    missing = [name for name in _REQUIRED if not parameters.get(name)]
    if missing:
        raise ApiError(
            "authorization_missing_params",
            "some parameters are missing in authorization: " + ", ".join(missing),
        )
    if parameters["algorithm"].lower() != "hmac-sha256":
        raise ApiError("hmac_required", "hmac is required algorithm")
    if "date" not in parameters["headers"].lower().split():
        raise ApiError("authorization_invalid_headers", "invalid headers value in authorization")
    credential = Credential.objects.filter(api_key=parameters["apiKey"]).first()
    if credential is None:
        raise ApiError("invalid_api_key", "provided api key is not valid")
    expected = hmac_b64(credential.shared_key, f"licenseSpring\ndate: {date}")
    if not signatures_match(expected, parameters["signature"]):
        raise ApiError("signature_mismatch", "signature mismatch", status=401)
    return credential
