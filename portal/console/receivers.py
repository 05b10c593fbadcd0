"""Where a webhook may go: an https URL on a public address, never the operator's own network.

The URL is an owner's to set, and the portal posts to it from inside the operator's network: a
URL aimed at 127.0.0.1, 10.0.0.0/8, a cloud's metadata service (169.254.169.254) or a name that
resolves to one would let an owner reach what only the server can (SSRF). Checked when the URL
is saved and again before each delivery, on the address the name resolves to then: the delivery
connects to that checked address (webhooks.py), so a name that resolves differently a moment
later (DNS rebinding) cannot send it elsewhere. docs/security.md says more.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ReceiverRefused(Exception):
    """The URL may not receive webhooks; the message is safe to show to the owner (it never
    names the address a host name resolved to: that would map the operator's network)."""


@dataclass(frozen=True)
class Receiver:
    host: str  # as in the URL, for the Host header and the certificate's name
    address: str  # the checked IP address to connect to


def check_receiver(url: str) -> Receiver:
    """The URL's host and the address to connect to; raises ReceiverRefused."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ReceiverRefused(_("The webhook URL must start with https://."))
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port or 443
    except ValueError:
        raise ReceiverRefused(_("The webhook URL's port is not a number.")) from None
    if not host:
        raise ReceiverRefused(_("The webhook URL needs a host name."))
    allow_private = settings.PORTAL_WEBHOOK_ALLOW_PRIVATE
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise _private()
    literal = _literal_address(host)
    addresses = [literal] if literal else _resolve(host, port)
    if not allow_private and not all(is_public(address) for address in addresses):
        raise _private()
    return Receiver(host=host, address=str(addresses[0]))


def is_public(address: IPAddress) -> bool:
    """A unicast address on the internet: not private, loopback, link-local, multicast,
    reserved, shared (carrier NAT), documentation or unspecified. An IPv4 address inside IPv6
    (::ffff:a.b.c.d, 6to4) is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        address = address.ipv4_mapped or address.sixtofour or address
    return address.is_global and not (address.is_multicast or address.is_reserved)


def _literal_address(host: str) -> IPAddress | None:
    """The address a host that is a number stands for, in any form the resolver takes
    (`127.0.0.1`, `::1`, `2130706433`, `0x7f.1`, `0177.0.0.1`), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ReceiverRefused(_("The webhook URL's host name could not be found.")) from None
    addresses = [ipaddress.ip_address(entry[4][0].split("%", 1)[0]) for entry in found]
    if not addresses:
        raise ReceiverRefused(_("The webhook URL's host name could not be found."))
    return addresses


def _private() -> ReceiverRefused:
    return ReceiverRefused(
        _(
            "The webhook URL points at a private or local address. Webhooks go to receivers "
            "on the internet only; ask the operator if yours is on their network."
        )
    )
