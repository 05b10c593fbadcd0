"""The sandbox License API's data: what a vendor's LicenseSpring account would hold.

Rows are found by natural keys (api key, product short code, product + license key or user
email, license + feature code, license + hardware id) so that `sandbox_seed` is idempotent.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class CredentialManager(models.Manager["Credential"]):
    def get_by_natural_key(self, api_key: str) -> Credential:
        return self.get(api_key=api_key)


class Credential(models.Model):
    """An API key and its shared key (License API authorization, HMAC)."""

    api_key = models.CharField(max_length=100, unique=True)
    shared_key = models.CharField(max_length=200)

    objects = CredentialManager()

    def __str__(self) -> str:
        return self.api_key

    def natural_key(self) -> tuple[str]:
        return (self.api_key,)


class ProductManager(models.Manager["Product"]):
    def get_by_natural_key(self, short_code: str) -> Product:
        return self.get(short_code=short_code)


class Product(models.Model):
    AUTHORIZATION_METHODS = [("license-key", "License key"), ("user", "User")]

    short_code = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    authorization_method = models.CharField(
        max_length=20, choices=AUTHORIZATION_METHODS, default="license-key"
    )
    is_bundle = models.BooleanField(default=False)
    bundle_products = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="bundles"
    )
    prevent_vm = models.BooleanField(default=False)
    trial_days = models.PositiveIntegerField(default=0)
    allow_overages = models.BooleanField(default=False)
    max_overages = models.PositiveIntegerField(default=0)
    floating_timeout = models.PositiveIntegerField(default=120)

    objects = ProductManager()

    class Meta:
        ordering = ["short_code"]

    def __str__(self) -> str:
        return self.short_code

    def natural_key(self) -> tuple[str]:
        return (self.short_code,)


class License(models.Model):
    LICENSE_TYPES = [
        ("perpetual", "Perpetual"),
        ("time-limited", "Time-limited"),
        ("subscription", "Subscription"),
        ("consumption", "Consumption"),
    ]

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="licenses")
    # A license on a bundle product is a container; one sublicense per product of the bundle
    # carries the seats, so each product's devices are counted on their own.
    bundle_license = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="sublicenses"
    )
    license_key = models.CharField(max_length=100, blank=True)
    user_email = models.EmailField(blank=True)
    user_password = models.CharField(max_length=200, blank=True, help_text="A password hash.")
    user_first_name = models.CharField(max_length=100, blank=True)
    user_last_name = models.CharField(max_length=100, blank=True)
    license_type = models.CharField(max_length=20, choices=LICENSE_TYPES, default="perpetual")
    validity_period = models.DateTimeField(null=True, blank=True)
    is_trial = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    max_activations = models.PositiveIntegerField(default=1)
    allow_unlimited_activations = models.BooleanField(default=False)
    max_consumptions = models.IntegerField(default=0)
    total_consumptions = models.IntegerField(default=0)
    allow_overages = models.BooleanField(default=False)
    max_overages = models.PositiveIntegerField(default=0)
    prevent_vm = models.BooleanField(default=False)
    transfer_count = models.PositiveIntegerField(default=0)
    customer_email = models.EmailField(blank=True)
    customer_first_name = models.CharField(max_length=100, blank=True)
    customer_last_name = models.CharField(max_length=100, blank=True)
    customer_company_name = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=50, blank=True)
    customer_reference = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__short_code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "license_key"],
                condition=~Q(license_key=""),
                name="sandbox_license_key_per_product",
            ),
            models.UniqueConstraint(
                fields=["product", "user_email"],
                condition=~Q(user_email=""),
                name="sandbox_license_user_per_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.short_code}: {self.identity}"

    @property
    def identity(self) -> str:
        """What the end user types: the license key, or the user's email."""
        return self.license_key or self.user_email


class Feature(models.Model):
    FEATURE_TYPES = [("activation", "Activation"), ("consumption", "Consumption")]

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="features")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    feature_type = models.CharField(max_length=20, choices=FEATURE_TYPES, default="activation")
    max_consumption = models.IntegerField(default=0)
    total_consumptions = models.IntegerField(default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["license", "code"], name="sandbox_feature_per_license")
        ]

    def __str__(self) -> str:
        return self.code


class Device(models.Model):
    """One row per license and hardware id; `active` says whether it holds a seat now."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="devices")
    hardware_id = models.CharField(max_length=500)
    active = models.BooleanField(default=False)
    hostname = models.CharField(max_length=255, blank=True)
    os_ver = models.CharField(max_length=255, blank=True)
    app_ver = models.CharField(max_length=100, blank=True)
    sdk_ver = models.CharField(max_length=100, blank=True)
    ip = models.CharField(max_length=100, blank=True)
    mac_address = models.CharField(max_length=100, blank=True)
    is_vm = models.BooleanField(default=False)
    variables = models.JSONField(default=dict, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-activated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["license", "hardware_id"], name="sandbox_device_per_license"
            )
        ]

    def __str__(self) -> str:
        return self.hostname or self.hardware_id


class OAuthClientManager(models.Manager["OAuthClient"]):
    def get_by_natural_key(self, client_id: str) -> OAuthClient:
        return self.get(client_id=client_id)


class OAuthClient(models.Model):
    """An OAuth client (client credentials) of the vendor's account. Its id names its scope:
    `auth_company_...` reaches every license, `auth_license_...` only `license`."""

    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=200)
    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.CASCADE, related_name="oauth_clients"
    )

    objects = OAuthClientManager()

    class Meta:
        ordering = ["client_id"]

    def __str__(self) -> str:
        return self.client_id

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    @property
    def shared_key(self) -> str:
        """What an API key's shared key is to its files: request files made with this client
        are signed with its secret, and so is the license file's offline_signature."""
        return self.client_secret


class UsageSync(models.Model):
    """The offline usage one deactivation file carried to the server."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="usage_syncs")
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_syncs"
    )
    consumptions = models.IntegerField(default=0)
    feature_consumptions = models.JSONField(default=list, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-synced_at", "-id"]

    def __str__(self) -> str:
        return f"{self.license} at {self.synced_at:%Y-%m-%d %H:%M}"
