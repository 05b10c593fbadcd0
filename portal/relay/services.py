"""The relay: read a request file, route it, call the License API, keep the result.

The one use case of the portal, shared by the pages and the machine API.
"""

from __future__ import annotations

import re
import secrets
import time

from django.utils.translation import gettext

from portal.licensespring import client as license_api
from portal.licensespring.request_files import RequestFile, RequestFileError, read_request_file
from portal.relay import store as relay_store
from portal.relay import upstream
from portal.relay.errors import (
    RelayError,
    describe_request_file_error,
    describe_upstream_error,
)
from portal.relay.models import RelayResult
from portal.relay.outcomes import summarize_activation, summarize_deactivation
from portal.relay.reporting import report_relay
from portal.tenants.resolution import Tenant

# Upstream codes that mean the portal's own API credentials were refused, not the file.
_PORTAL_CREDENTIAL_CODES = frozenset(
    {
        "invalid_api_key",
        "missing_headers",
        "authorization_invalid_headers",
        "authorization_missing_params",
        "hmac_required",
        "invalid_client",  # OAuth: the token service refused the client id or secret
        "oauth_token_expired",  # ... and when a fresh token is refused too
        "oauth_token_malformed",
    }
)


def relay_request(*, tenant: Tenant, data: bytes | str, filename: str = "") -> RelayResult:
    """Relay one request file for `tenant`; return the stored result or raise RelayError.

    The same file uploaded again while its result is kept returns that result without a
    second upstream call, even when the first call is still under way.
    """
    started = time.perf_counter()
    reference = secrets.token_hex(4).upper()
    request_file = _read_allowed(tenant, data, reference, started)
    for _attempt in range(3):
        result = relay_store.claim(
            tenant_slug=tenant.slug, request_file=request_file, filename=filename
        )
        if result.claimed:
            return _relay_and_store(tenant, request_file, result, reference, started)
        finished = relay_store.wait_for(result)
        if finished is not None:
            relay_store.show_filename(finished, filename)
            report_relay(tenant, request_file, reference, started, outcome="reused")
            return finished
    raise RelayError(504, "service_timeout", describe_upstream_error("service_timeout", ""))


def find_result(*, tenant: Tenant, token: str) -> RelayResult | None:
    """A finished, unexpired result made on this tenant's portal, or None."""
    return relay_store.find_result(tenant_slug=tenant.slug, token=token)


def purge_expired_results() -> int:
    return relay_store.purge_expired_results()


def _read_allowed(tenant: Tenant, data: bytes | str, reference: str, started: float) -> RequestFile:
    request_file = None
    try:
        request_file = _read(data, reference)
        check_allowed(tenant, request_file, reference)
    except RelayError as refusal:
        report_relay(
            tenant, request_file, reference, started, outcome="refused", relay_error=refusal
        )
        raise
    return request_file


def _read(data: bytes | str, reference: str) -> RequestFile:
    try:
        return read_request_file(data)
    except RequestFileError as error:
        status = 413 if error.code == "too_large" else 400
        message = describe_request_file_error(error.code, error.message)
        raise RelayError(status, error.code, message, reference=reference) from None


def check_allowed(tenant: Tenant, request_file: RequestFile, reference: str = "") -> None:
    """Raise the RelayError that refuses this file on this tenant's portal before any upstream
    call, if any (the upload page's inspection shows the same refusals)."""
    if request_file.kind == "activation" and not tenant.activation_enabled:
        raise RelayError(
            403,
            "activation_disabled",
            gettext("This portal does not take activations."),
            reference=reference,
        )
    if request_file.kind == "deactivation" and not tenant.deactivation_enabled:
        raise RelayError(
            403,
            "deactivation_disabled",
            gettext("This portal does not take deactivations."),
            reference=reference,
        )
    if tenant.credentials.uses_oauth != bool(request_file.client_id and not request_file.api_key):
        raise RelayError(400, "setup_mismatch", _SETUP_MISMATCH, reference=reference)
    if _made_for_another_vendor(tenant, request_file):
        raise RelayError(
            400,
            "wrong_vendor",
            gettext(
                "This request file was made for another vendor's software, not for "
                "%(vendor)s. Use the activation portal of the company that sold you the "
                "software."
            )
            % {"vendor": tenant.name},
            reference=reference,
        )


_SETUP_MISMATCH = (
    "The vendor's software and this portal are set up differently (one signs in with an API "
    "key, the other with OAuth), so this portal cannot relay the file. Your request file is "
    "fine: please tell the vendor's support."
)
_COMPANY_CLIENT = re.compile(r"auth_company_(\d+)")


def _made_for_another_vendor(tenant: Tenant, request_file: RequestFile) -> bool:
    """Only where the portal can know (docs/tenants.md): another API key, or another company's
    OAuth client when both are company clients. Other scopes (a license's, a customer's) are
    left to the License API, which knows whose they are."""
    credentials = tenant.credentials
    if not credentials.uses_oauth:
        return bool(credentials.api_key) and request_file.api_key != credentials.api_key
    ours = _COMPANY_CLIENT.fullmatch(credentials.client_id)
    theirs = _COMPANY_CLIENT.fullmatch(request_file.client_id)
    return bool(ours and theirs) and ours.group(1) != theirs.group(1)


def _relay_and_store(
    tenant: Tenant,
    request_file: RequestFile,
    result: RelayResult,
    reference: str,
    started: float,
) -> RelayResult:
    endpoint = None
    try:
        response, endpoint = _call_license_api(tenant, request_file)
        if request_file.kind == "activation":
            result.summary = summarize_activation(request_file, response.body)
            result.license_file = response.body
        else:  # the name first: finish() drops the kept activation this deactivation undoes
            name = relay_store.known_product_name(
                tenant_slug=tenant.slug, product=request_file.product
            )
            result.summary = summarize_deactivation(request_file, response.body, name)
    except license_api.LicenseApiError as error:
        relay_store.release(result)
        relay_error = _as_relay_error(error, reference)
        report_relay(
            tenant,
            request_file,
            reference,
            started,
            endpoint=endpoint,
            error=error,
            relay_error=relay_error,
        )
        raise relay_error from None
    except RelayError as relay_error:  # an answer that holds no license
        relay_store.release(result)
        relay_error.reference = reference
        report_relay(
            tenant, request_file, reference, started, endpoint=endpoint, relay_error=relay_error
        )
        raise
    except BaseException:
        relay_store.release(result)
        raise
    relay_store.finish(result)
    report_relay(tenant, request_file, reference, started, endpoint=endpoint, upstream=response)
    return result


def _call_license_api(
    tenant: Tenant, request_file: RequestFile
) -> tuple[license_api.UpstreamResponse, str]:
    """Route per spec section 1: bundles to the bundle endpoint, with the one-retry fallback."""
    prefix = "activate" if request_file.kind == "activation" else "deactivate"
    single, bundle = f"{prefix}_offline", f"{prefix}_bundle_offline"
    deadline = time.monotonic() + upstream.get_client().deadline  # the fallback's call too
    if _is_known_bundle(tenant, request_file):
        return _post(tenant, bundle, request_file, deadline), bundle
    try:
        return _post(tenant, single, request_file, deadline), single
    except license_api.LicenseApiError as error:
        if error.code != "unknown_product":
            raise
        first_error = error
    try:
        response = _post(tenant, bundle, request_file, deadline)
    except license_api.LicenseApiError as error:
        if error.code == "product_not_bundle":
            raise first_error from None
        raise
    relay_store.learn_bundle(tenant_slug=tenant.slug, product=request_file.product)
    return response, bundle


def _is_known_bundle(tenant: Tenant, request_file: RequestFile) -> bool:
    if request_file.bundle_code or request_file.product in tenant.bundle_products:
        return True
    return relay_store.is_learned_bundle(tenant_slug=tenant.slug, product=request_file.product)


def _post(
    tenant: Tenant, endpoint: license_api.Endpoint, request_file: RequestFile, deadline: float
) -> license_api.UpstreamResponse:
    relay_store.release_connection()  # no database connection held while the API answers
    return upstream.get_client().post(
        credentials=tenant.credentials,
        endpoint=endpoint,
        request_file=request_file,
        deadline=deadline,
    )


def _as_relay_error(error: license_api.LicenseApiError, reference: str) -> RelayError:
    status, code = error.status, error.code
    if (status == 401 or code in _PORTAL_CREDENTIAL_CODES) and not error.unreachable:
        # The portal's own credentials were refused: the operator's problem, not the user's.
        status, code = 502, "portal_credentials_refused"
    elif status >= 500 and not error.unreachable:
        status = 502
    return RelayError(
        status,
        code,
        describe_upstream_error(code, error.message),
        detail=error.message,
        retry_after=error.retry_after,
        reference=reference,
    )
