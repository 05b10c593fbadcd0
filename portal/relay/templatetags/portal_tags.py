from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()

LICENSE_TYPES = {
    "perpetual": "Perpetual",
    "time-limited": "Time-limited",
    "subscription": "Subscription",
    "consumption": "Consumption (pay per use)",
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
    return LICENSE_TYPES.get(str(value), str(value).replace("-", " ").capitalize())
