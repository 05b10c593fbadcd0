"""Reading `.req` request files: framework-free, no I/O.

A request file is base64 of a UTF-8 JSON object in one of three shapes (protocol spec,
section 3): flat (documented v1), wrapped by the Python SDK, wrapped by the Node SDK. The
reader tells the user, in plain language, what is wrong with a file before any round trip,
and hands back what the portal needs to route, show and relay it. The end user's password
(user-based activation) is checked for nothing and copied nowhere: only `text`, the original
base64 to relay, still carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MAX_FILE_BYTES = 64 * 1024

Kind = Literal["activation", "deactivation"]
Shape = Literal["flat", "python", "node"]


class RequestFileError(ValueError):
    """A request file the portal cannot use; `message` is safe to show the end user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DeviceInfo:
    app_name: str = ""
    app_ver: str = ""
    sdk_ver: str = ""
    os_ver: str = ""
    hostname: str = ""
    ip: str = ""
    mac_address: str = ""
    is_vm: bool | None = None


@dataclass(frozen=True)
class FeatureConsumption:
    code: str
    local_consumption: int


@dataclass(frozen=True)
class RequestFile:
    kind: Kind
    shape: Shape
    product: str
    hardware_id: str
    bundle_code: str = ""
    license_key: str = ""
    username: str = ""
    api_key: str = ""
    client_id: str = ""
    request_id: str = ""
    request_date: str = ""
    device: DeviceInfo = field(default_factory=DeviceInfo)
    # What a deactivation carries: offline usage to sync.
    consumptions: int | None = None
    feature_consumptions: tuple[FeatureConsumption, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    # The original base64 text, trimmed, to relay byte for byte. Never log it.
    text: str = field(default="", repr=False)

    @property
    def is_user_based(self) -> bool:
        return bool(self.username) and not self.license_key

    @property
    def credential_id(self) -> str:
        """The api_key or client_id the file was made for (which vendor's software)."""
        return self.api_key or self.client_id


def read_request_file(data: bytes | str) -> RequestFile:
    """Read an uploaded file's bytes or pasted text; raise RequestFileError with a reason."""
    raise NotImplementedError
