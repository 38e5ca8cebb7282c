"""The list of email hosts: a status filter, its columns, the hosts of settings."""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from email_hosts import conf
from email_hosts.admin.cells import (
    render_backups,
    render_senders,
    render_status,
    render_stored_status,
)
from email_hosts.hosts import inventory
from email_hosts.hosts import status as host_statuses
from email_hosts.models import EmailHost, HostStatus
from email_hosts.outbox import counts as outbox_counts


def _status_of(key):
    return HostStatus.objects.filter(key=OuterRef(key))


class StatusFilter(admin.SimpleListFilter):
    """Hosts by how their relay last answered: failing, working, never checked."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("failing", _("Failing")),
            ("working", _("Working")),
            ("never", _("Never checked")),
        ]

    def queryset(self, request, queryset):
        checked = HostStatus.objects.values("key")
        if self.value() == "failing":
            return queryset.filter(key__in=checked.filter(ok=False))
        if self.value() == "working":
            return queryset.filter(key__in=checked.filter(ok=True))
        if self.value() == "never":
            return queryset.exclude(key__in=checked)
        return queryset


class HostListAdmin:
    """
    The list's columns and the hosts from settings below it, for the email
    host admin to inherit, which lends them its ``account_warning``.
    """

    def get_queryset(self, request):
        # The status in the page's own query: no query per row.
        statuses = _status_of("key")
        return (
            super()
            .get_queryset(request)
            .annotate(
                status_ok=Subquery(statuses.values("ok")),
                status_message=Subquery(statuses.values("message")),
                status_checked_at=Subquery(statuses.values("checked_at")),
                **outbox_counts.annotations(),
            )
        )

    @admin.display(description=_("status"))
    def status(self, obj):
        return render_status(obj.status_ok, obj.status_message, obj.status_checked_at)

    @admin.display(description=_("outbox, last 24 hours"))
    def outbox(self, obj):
        return outbox_counts.describe(obj) or "–"

    @admin.display(description=_("transport"))
    def transport(self, obj):
        entry = inventory.stored_entry(obj)
        if entry.problem:
            return format_html('<strong class="errornote">{}</strong>', entry.problem)
        if warning := self.account_warning(obj):
            return format_html(
                '{}<br><strong class="errornote">{}</strong>', entry.summary, warning
            )
        return entry.summary

    @admin.display(description=_("sends for"))
    def sends_for(self, obj):
        return render_senders(
            inventory.stored_entry(obj), fallback=conf.routing_fallback()
        )

    @admin.display(description=_("backup hosts"))
    def backups_in_order(self, obj):
        return render_backups(inventory.stored_entry(obj))

    @admin.display(description=_("source"))
    def source(self, obj):
        if obj.key in inventory.settings_keys():
            return _("database, overrides settings")
        return _("database")

    def changelist_view(self, request, extra_context=None):
        if problem := inventory.settings_problem():
            self.message_user(request, problem, messages.ERROR)
        entries = inventory.settings_entries()
        # Only the keys that settings define too: never a scan of the table.
        overridden = set(
            EmailHost.objects.filter(
                key__in=[entry.key for entry in entries]
            ).values_list("key", flat=True)
        )
        statuses = host_statuses.of([entry.key for entry in entries]) if entries else {}
        fallback = conf.routing_fallback()
        settings_hosts = [
            {
                "entry": entry,
                "overridden": entry.key in overridden,
                "status": render_stored_status(statuses.get(entry.key)),
                "senders": render_senders(entry, fallback=fallback),
                "backups": render_backups(entry),
            }
            for entry in entries
        ]
        extra_context = {
            **(extra_context or {}),
            "settings_hosts": settings_hosts,
            "can_check": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)
