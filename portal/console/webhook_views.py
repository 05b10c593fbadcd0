"""The owner's webhook page: the URL, its secret (shown once), the delivery log, send again."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from portal.console import receivers, staff, webhooks
from portal.console.access import console_page
from portal.console.models import WebhookDelivery, WebhookEndpoint


class WebhookForm(forms.Form):
    url = forms.CharField(label=_("Endpoint URL (https)"), max_length=500)

    def clean_url(self) -> str:
        """The address first, so that `https://2130706433` is refused for where it points
        rather than as a malformed URL; then Django's own URL check."""
        url = self.cleaned_data["url"].strip()
        if "://" not in url:
            url = "https://" + url
        try:
            receivers.check_receiver(url)
        except receivers.ReceiverRefused as refusal:
            raise forms.ValidationError(refusal.args[0]) from None
        URLValidator(schemes=["https"])(url)
        return url


@console_page(owner_only=True)
def webhook(request: HttpRequest) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(tenant_id=request.tenant.pk).first()
    form = WebhookForm(request.POST or None, initial={"url": endpoint.url if endpoint else ""})
    secret = None
    if request.method == "POST" and form.is_valid():
        url = form.cleaned_data["url"]
        secret = webhooks.set_endpoint(tenant_pk=request.tenant.pk, url=url)
        staff.record_audit(member=request.staff_member, action="webhook_changed", detail=url)
        if secret is None:
            return redirect("console:webhook")
    deliveries = WebhookDelivery.objects.filter(endpoint__tenant_id=request.tenant.pk)
    context = {
        "form": form,
        "secret": secret,
        "deliveries": deliveries.select_related("activity")[:50],
        "section": "webhook",
    }
    return render(request, "console/webhook.html", context)


@require_POST
@console_page(owner_only=True)
def send_again(request: HttpRequest, delivery_pk: int) -> HttpResponse:
    if not webhooks.send_again(tenant_pk=request.tenant.pk, delivery_pk=delivery_pk):
        raise Http404
    return redirect("console:webhook")
