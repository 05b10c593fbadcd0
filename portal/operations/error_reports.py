"""What Django's error reports (DEBUG pages, mails to admins) may show of a failed request.

The License API client's frames hold a tenant's shared key, the signed Authorization header
and request files, which may carry an end user's password; the HTTP libraries under it hold
the same request. Rather than mark each variable, every local variable of those frames is
hidden, with DEBUG on or off: a report shows where it failed, never what it held.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

SECRET_HOLDING_MODULES = ("portal.licensespring", "httpx", "httpcore", "h11")


class SecretFramesFilter(SafeExceptionReporterFilter):
    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> Any:
        module = tb_frame.f_globals.get("__name__") or ""
        if _holds_secrets(module):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)


def _holds_secrets(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in SECRET_HOLDING_MODULES)
