"""OAuth client credentials in the sandbox, as the License API and its token service answer.

`GET api/v4/oauth_url?login_type=client_credentials` names the token URL; `POST oauth/token`
(form: grant_type=client_credentials, client_id, client_secret) gives a Bearer token that
expires after SANDBOX_OAUTH_TOKEN_SECONDS (480 s like the real one; short in tests). Tokens
are signed, not stored, so every worker process of the portal accepts every other's.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox.errors import ApiError
from sandbox.models import OAuthClient
from sandbox.request_files import RequestFile

_SALT = "sandbox.oauth.token"


@require_GET
def oauth_url(request: HttpRequest) -> JsonResponse:
    if request.GET.get("login_type") != "client_credentials":
        error = ApiError("validation_error", "login_type must be client_credentials")
        return JsonResponse(error.as_dict(), status=error.status)
    return JsonResponse({"url": request.build_absolute_uri(reverse("sandbox:oauth-token"))})


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    if request.POST.get("grant_type") != "client_credentials":
        return _token_error(400, "unsupported_grant_type", "Unsupported grant_type")
    client = OAuthClient.objects.filter(client_id=request.POST.get("client_id", "")).first()
    secret = request.POST.get("client_secret", "")
    if client is None or not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
        return _token_error(401, "invalid_client", "Invalid client or Invalid client credentials")
    seconds = settings.SANDBOX_OAUTH_TOKEN_SECONDS
    return JsonResponse(
        {
            "access_token": signing.dumps({"client": client.client_id}, salt=_SALT),
            "expires_in": seconds,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }
    )


def authorize_bearer(access_token: str) -> OAuthClient:
    """The client a Bearer token was issued to, or an ApiError that says to get a new one."""
    try:
        claims = signing.loads(
            access_token, salt=_SALT, max_age=settings.SANDBOX_OAUTH_TOKEN_SECONDS
        )
    except signing.SignatureExpired:
        raise ApiError("oauth_token_expired", "the access token has expired", status=401) from None
    except signing.BadSignature:
        raise ApiError(
            "oauth_token_malformed", "the access token is not valid", status=401
        ) from None
    client = OAuthClient.objects.filter(client_id=claims.get("client")).first()
    if client is None:
        raise ApiError("oauth_token_malformed", "the access token is not valid", status=401)
    return client


def check_scope(authorized: object, request_file: RequestFile) -> None:
    """A client that names a license (`auth_license_...`) reaches that license only."""
    license = authorized.license if isinstance(authorized, OAuthClient) else None
    if license is None:
        return
    product = license.product.short_code
    if request_file.identity.lower() != license.identity.lower() or product not in (
        request_file.product,
        request_file.text("bundle_code"),
    ):
        raise ApiError("license_not_found", "license not found")


def _token_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)
