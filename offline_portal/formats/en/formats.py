"""English dates as the portal showed them before it spoke other languages ("1 January 2030"):
unambiguous wherever its readers are. Other languages keep Django's formats."""

from __future__ import annotations

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
