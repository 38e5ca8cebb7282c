"""The admin for email hosts: safe to edit, and one click to check a relay."""

import functools

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from email_hosts import conf, diagnostics, hosts, inventory, repointing
from email_hosts import status as host_statuses
from email_hosts.admin_cells import (
    render_backups,
    render_senders,
    render_status,
    render_stored_status,
)
from email_hosts.admin_connect import ConnectAccountAdmin
from email_hosts.forms import EmailHostForm
from email_hosts.models import EmailHost, HostStatus
from email_hosts.outbox import counts as outbox_counts
from email_hosts.routing.deletion import backups_lost_by_deleting
from email_hosts.routing.table import build_table


SECRET_FIELDS = ("password", "pasted_dsn")


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


@admin.register(EmailHost)
class EmailHostAdmin(ConnectAccountAdmin, admin.ModelAdmin):
    form = EmailHostForm
    list_display = [
        "key",
        "status",
        "transport",
        "default_from",
        "sends_for",
        "backups_in_order",
        "source",
        "outbox",
        "updated_at",
    ]
    list_filter = [StatusFilter]
    search_fields = ["key"]
    # One COUNT per page, not two: the total is the same without filters.
    show_full_result_count = False
    actions = ["delete_selected", "check_connection_action", "send_test_email_action"]
    change_list_template = "admin/email_hosts/emailhost/change_list.html"
    change_form_template = "admin/email_hosts/emailhost/change_form.html"

    class Media:
        css = {"all": ["email_hosts/admin.css"]}
        js = ["email_hosts/change_form.js"]

    fieldsets = [
        (None, {"fields": ["key", "default_from"]}),
        (
            _("Connection"),
            {
                "fields": [
                    "kind",
                    ("host", "port"),
                    "security",
                    "login",
                    "username",
                    "password",
                    "clear_password",
                    "timeout",
                ]
            },
        ),
        (
            _("OAuth2 login"),
            {
                "fields": [
                    "tenant",
                    "client_id",
                    "authorize_url",
                    "token_url",
                    "scope",
                    "sasl",
                ],
                "classes": ["collapse"],
            },
        ),
        (
            _("TLS certificates"),
            {
                "fields": ["ssl_cafile", "ssl_certfile", "ssl_keyfile"],
                "classes": ["collapse"],
            },
        ),
        (_("Routing"), {"fields": ["sender_domains", "backups"]}),
        (
            _("Connection string (DSN)"),
            {"fields": ["pasted_dsn"], "classes": ["collapse"]},
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._has_stored_password(obj):
            return fieldsets
        # The checkbox exists only while there is a password to remove.
        return [
            (
                name,
                {
                    **options,
                    "fields": [f for f in options["fields"] if f != "clear_password"],
                },
            )
            for name, options in fieldsets
        ]

    @staticmethod
    def _has_stored_password(obj):
        try:
            return bool(obj and hosts.from_row(obj).transport.password)
        except ImproperlyConfigured:
            return False

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

    def get_form(self, request, obj=None, change=False, **kwargs):  # noqa: FBT002 -- Django's signature
        form = super().get_form(request, obj, change, **kwargs)
        # A class of this request's own: modelform_factory made it just now.
        form.may_repoint = request.user.has_perm(repointing.PERMISSION)
        return form

    @method_decorator(sensitive_post_parameters(*SECRET_FIELDS))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

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

    def routing_view(self, request):
        """
        Show which host sends for each sender domain. Reads every host, so it
        is a page of its own rather than part of the list.
        """
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        problem = inventory.settings_problem()
        if problem:
            self.message_user(request, problem, messages.ERROR)
        table = None if problem else build_table()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Who sends for each sender domain"),
            "routes": [
                (route, table.chain(route.keys[0])[1:] if not route.ambiguous else [])
                for route in table.routes()
            ]
            if table
            else [],
            "unknown_backups": table.unknown_backups() if table else [],
        }
        return TemplateResponse(
            request, "admin/email_hosts/emailhost/routing.html", context
        )

    def delete_view(self, request, object_id, extra_context=None):
        response = super().delete_view(request, object_id, extra_context)
        if isinstance(response, TemplateResponse) and "object" in response.context_data:
            response.context_data["lost_backups"] = backups_lost_by_deleting(
                [response.context_data["object"].key]
            )
        return response

    @admin.action(
        description=admin_actions.delete_selected.short_description,
        permissions=["delete"],
    )
    def delete_selected(self, request, queryset):
        """Django's action, whose confirmation also warns of lost backups."""
        response = admin_actions.delete_selected(self, request, queryset)
        if isinstance(response, TemplateResponse):
            response.context_data["lost_backups"] = backups_lost_by_deleting(
                queryset.values_list("key", flat=True)
            )
        return response

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["host_problem"] = inventory.problem_of(obj)
            context["can_check"] = self.has_change_permission(request, obj)
            context.update(self.account_context(request, obj))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "routing/",
                view(self.routing_view),
                name="email_hosts_emailhost_routing",
            ),
            path(
                "key/<str:key>/",
                view(self.by_key_view),
                name="email_hosts_emailhost_by_key",
            ),
            path(
                "settings/<str:key>/check-connection/",
                view(self.check_settings_host_view),
                name="email_hosts_emailhost_check_settings_host",
            ),
            path(
                "<path:object_id>/check-connection/",
                view(self.check_connection_view),
                name="email_hosts_emailhost_check_connection",
            ),
            path(
                "<path:object_id>/send-test-email/",
                view(self.send_test_email_view),
                name="email_hosts_emailhost_send_test_email",
            ),
            path(
                "<path:object_id>/connect-account/",
                view(self.connect_account_view),
                name="email_hosts_emailhost_connect_account",
            ),
            path(
                "connected/",
                view(self.connected_view),
                name="email_hosts_emailhost_connected",
            ),
            *super().get_urls(),
        ]

    def _run(self, request, queryset, diagnose):
        jobs = []
        for obj in queryset:
            try:
                host = hosts.from_row(obj)
            except ImproperlyConfigured as exc:
                outcome = diagnostics.Outcome(ok=False, message=str(exc))
                jobs.append((obj.key, lambda outcome=outcome: outcome))
            else:
                jobs.append((obj.key, functools.partial(diagnose, host)))
        # At once, so that silent hosts cannot add up to a hung request.
        for outcome in diagnostics.run_all(jobs):
            level = messages.SUCCESS if outcome.ok else messages.ERROR
            self.message_user(request, outcome.message, level)

    def _send_test_email(self, request, queryset):
        if not request.user.email:
            self.message_user(
                request,
                _(
                    "Add an email address to your user first; test emails go only to you."
                ),
                messages.ERROR,
            )
            return
        self._run(
            request,
            queryset,
            lambda host: diagnostics.send_test_email(host, request.user.email),
        )

    @admin.action(
        description=_("Check connection (sends no mail)"), permissions=["change"]
    )
    def check_connection_action(self, request, queryset):
        self._run(request, queryset, diagnostics.check_connection)

    @admin.action(description=_("Send test email to yourself"), permissions=["change"])
    def send_test_email_action(self, request, queryset):
        self._send_test_email(request, queryset)

    def _object_view(self, request, object_id, run):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        # Back to the host's page, unless ``run`` answered otherwise.
        return run(request, [obj]) or self._change_page(obj)

    def _change_page(self, obj):
        return HttpResponseRedirect(
            reverse(
                "admin:email_hosts_emailhost_change",
                args=[obj.pk],
                current_app=self.admin_site.name,
            )
        )

    def by_key_view(self, request, key):
        """Go to the host ``key``: its change page, or its row among settings."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if obj := EmailHost.objects.filter(key=key).first():
            return self._change_page(obj)
        if key not in inventory.settings_keys():
            self.message_user(
                request,
                _("No email host %(key)r: see the backups that name no host.")
                % {"key": key},
                messages.WARNING,
            )
            return HttpResponseRedirect(
                reverse(
                    "admin:email_hosts_emailhost_routing",
                    current_app=self.admin_site.name,
                )
            )
        changelist = reverse(
            "admin:email_hosts_emailhost_changelist", current_app=self.admin_site.name
        )
        return HttpResponseRedirect(f"{changelist}#settings-host-{key}")

    def check_settings_host_view(self, request, key):
        """Check a host from ``EMAIL_HOSTS``, which has no change page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            host = hosts.from_settings(key)
        except ImproperlyConfigured as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            if host is None:
                raise Http404
            [outcome] = diagnostics.run_all(
                [(key, functools.partial(diagnostics.check_connection, host))]
            )
            level = messages.SUCCESS if outcome.ok else messages.ERROR
            self.message_user(request, outcome.message, level)
        changelist = reverse(
            "admin:email_hosts_emailhost_changelist", current_app=self.admin_site.name
        )
        return HttpResponseRedirect(f"{changelist}#settings-hosts")

    def check_connection_view(self, request, object_id):
        return self._object_view(request, object_id, self.check_connection_action)

    def send_test_email_view(self, request, object_id):
        return self._object_view(request, object_id, self._send_test_email)


# The outbox's admin registers itself beside the hosts'.
from email_hosts.outbox import admin as _outbox_admin  # noqa: F401
