"""The vendor's console: staff accounts per tenant, sign-in failures, activity and audit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import TenantSettings


class StaffMember(models.Model):
    """A vendor's staff account: one Django user, one tenant, never a Django admin."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        SUPPORT = "support", _("support")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member"
    )
    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.SUPPORT)
    invited_at = models.DateTimeField(_("invited at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vendor staff member")
        verbose_name_plural = _("vendor staff")
        ordering = ["tenant", "user__email"]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.tenant.slug}, {self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class SignInFailure(models.Model):
    """One failed console sign-in, counted per user name and per client address (lockout)."""

    username = models.CharField(max_length=254, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M}"


class ConsoleSettings(models.Model):
    """The console's own settings per tenant, kept apart from TenantSettings (the operator's)."""

    tenant = models.OneToOneField(
        TenantSettings, on_delete=models.CASCADE, related_name="console_settings"
    )
    activity_retention_days = models.PositiveIntegerField(
        _("keep activity for (days)"), default=365
    )

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.activity_retention_days} days"


class Activity(models.Model):
    """One relay on a tenant's portal: what support needs to find it, never a secret."""

    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20, blank=True)
    product = models.CharField(max_length=100, blank=True)
    license = models.CharField(max_length=254, blank=True)
    license_last4 = models.CharField(max_length=4, blank=True)
    computer = models.CharField(max_length=254, blank=True)
    outcome = models.CharField(max_length=20)
    code = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=16, db_index=True)
    upstream_ms = models.FloatField(null=True)

    class Meta:
        verbose_name_plural = "activity"
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.kind} {self.outcome}"


class AuditEvent(models.Model):
    """A sign-in or a change to the tenant's brand or credentials: who and when."""

    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    email = models.CharField(max_length=254)
    action = models.CharField(max_length=40)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.email} {self.action}"


class WebhookEndpoint(models.Model):
    """Where a tenant's relay events go. The queue is the activity table itself: each drain
    turns the tenant's activity past `last_activity_id` into deliveries, so recording a relay
    costs nothing more than its one insert."""

    tenant = models.OneToOneField(TenantSettings, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    secret_encrypted = models.TextField(editable=False)
    last_activity_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event to one endpoint: at least once, retried with backoff for a day."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True)
    gave_up = models.BooleanField(default=False)
    last_status = models.PositiveIntegerField(null=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "activity"], name="one_delivery_each")
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} to {self.endpoint_id}"
