"""The email host admin: its options, its URLs, and a password never shown."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from email_hosts import hosts
from email_hosts.admin import repointing
from email_hosts.admin.changelist import HostListAdmin, StatusFilter
from email_hosts.admin.checking import RelayChecksAdmin
from email_hosts.admin.connect import ConnectAccountAdmin
from email_hosts.admin.forms import EmailHostForm
from email_hosts.admin.routing_pages import RoutingPagesAdmin
from email_hosts.hosts import inventory
from email_hosts.models import EmailHost


SECRET_FIELDS = ("password", "pasted_dsn")


@admin.register(EmailHost)
class EmailHostAdmin(
    HostListAdmin,
    RelayChecksAdmin,
    RoutingPagesAdmin,
    ConnectAccountAdmin,
    admin.ModelAdmin,
):
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

    def get_form(self, request, obj=None, change=False, **kwargs):  # noqa: FBT002 -- Django's signature
        form = super().get_form(request, obj, change, **kwargs)
        # A class of this request's own: modelform_factory made it just now.
        form.may_repoint = request.user.has_perm(repointing.PERMISSION)
        return form

    @method_decorator(sensitive_post_parameters(*SECRET_FIELDS))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

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
