"""The admin's checks of a relay: check connection, and send a test email."""

import functools

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from email_hosts import diagnostics, hosts


class RelayChecksAdmin:
    """
    The actions and buttons that check hosts, for the email host admin to
    inherit: it routes the views, and lends them its ``_object_view``.
    """

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
