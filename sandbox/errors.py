"""The License API's error answer: `{"status": n, "code": "...", "message": "..."}`."""

from __future__ import annotations


class ApiError(Exception):
    """Raised anywhere in the sandbox; the view turns it into the JSON error body."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "code": self.code, "message": self.message}
