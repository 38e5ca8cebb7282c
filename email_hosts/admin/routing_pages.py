"""The admin's routing pages: who sends for each domain, hosts by key, lost backups."""

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from email_hosts.hosts import inventory
from email_hosts.models import EmailHost
from email_hosts.routing.deletion import backups_lost_by_deleting
from email_hosts.routing.table import build_table


class RoutingPagesAdmin:
    """
    The pages that follow hosts' routing and backups, for the email host
    admin to inherit: it routes them, and lends them its ``_change_page``.
    """

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
