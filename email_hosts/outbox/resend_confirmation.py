"""
The page that asks before the outbox resends messages: to whom each one
goes, and who got it already.
"""

from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from email_hosts.outbox import operations
from email_hosts.outbox.models import Status, unreadable


def resend_confirmation(model_admin, request, queryset):
    """Return the confirmation page of the admin's Resend action."""
    rows = [_entry(row) for row in queryset.filter(status__in=operations.RESENDABLE)]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Resend messages"),
        "opts": model_admin.model._meta,
        "rows": rows,
        "queryset": queryset,
        "anyone_accepted": any(entry["accepted"] for entry in rows),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(
        request, "admin/email_hosts/outboxmessage/resend_confirmation.html", context
    )


def _entry(row):
    if unreadable(row):
        return {"row": row, "unreadable": True, "not_accepted": [], "accepted": []}
    not_accepted = operations.not_accepted(row)
    return {
        "row": row,
        "uncertain": row.status == Status.UNCERTAIN,
        "held": row.status == Status.HELD,
        "not_accepted": not_accepted,
        "accepted": [r for r in row.recipients if r not in not_accepted],
    }
