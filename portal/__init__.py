"""Offline Portal: relays offline licensing request files to the vendor's License API.

One package per concern:

- `portal.licensespring`: the LicenseSpring protocol (request files, signing, the License API
  client and its errors); framework-free, no Django imports.
- `portal.relay`: the relay itself (its models, the one service function, the pages and the
  machine endpoint). Django app, label "portal".
- `portal.tenants`: vendors' white-labelled portals (models, host resolution, branding, secrets
  at rest, admin and commands). Django app, label "tenants".
- `portal.operations`: what operators run it with (rate limits, metrics, logging, health,
  request guards). Django app, label "operations".

The sandbox License API is the separate app `sandbox`, beside this package.
"""
