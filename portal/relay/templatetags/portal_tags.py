from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import pgettext_lazy

register = template.Library()

LICENSE_TYPES = {
    "perpetual": pgettext_lazy("license type", "Perpetual"),
    "time-limited": pgettext_lazy("license type", "Time-limited"),
    "subscription": pgettext_lazy("license type", "Subscription"),
    "consumption": pgettext_lazy("license type", "Consumption (pay per use)"),
}


@register.filter
def as_datetime(value: object) -> datetime | object:
    """An ISO 8601 text from the License API as a date the `date` filter can format."""
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value) or parse_date(value) or value
    except ValueError:
        return value


@register.filter
def license_type_label(value: object) -> str:
    label = LICENSE_TYPES.get(str(value))
    return str(label) if label else str(value).replace("-", " ").capitalize()
