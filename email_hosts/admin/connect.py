"""
The admin's Connect account button: sends an administrator to the OAuth2
provider's consent page for a host, and takes the answer back.
"""

import dataclasses
import time

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from email_hosts import hosts
from email_hosts.exceptions import OAuth2TokenError, OAuth2Unavailable
from email_hosts.models import ConnectedAccount, EmailHost
from email_hosts.oauth2 import accounts, consent
from email_hosts.oauth2.binding import Destination


#: Where the session keeps the consents asked for, by their state.
SESSION_KEY = "email_hosts_consents"
#: Seconds an answer to Connect account is taken back after the click.
PENDING_SECONDS = 600
#: Consents a session waits for at once, the newest kept.
MAX_PENDING = 5


def _remember_consent(session, pk, pending):
    """Keep ``pending`` in ``session`` by its state, beside the others."""
    now = time.time()
    waiting = {
        state: asked
        for state, asked in session.get(SESSION_KEY, {}).items()
        if asked["expires_at"] > now
    }
    waiting[pending.state] = {
        "pk": pk,
        "expires_at": now + PENDING_SECONDS,
        **dataclasses.asdict(pending),
    }
    session[SESSION_KEY] = dict(list(waiting.items())[-MAX_PENDING:])


def _take_consent(session, state):
    """
    Return the consent asked for with ``state``, removed from ``session``,
    or None: a forged or stale answer leaves every other one waiting.
    """
    waiting = session.get(SESSION_KEY, {})
    if not isinstance(state, str) or state not in waiting:
        return None
    asked = waiting.pop(state)
    session[SESSION_KEY] = waiting
    return asked if asked["expires_at"] > time.time() else None


def _delegated_transport(obj):
    """Return the host's transport if it logs in with a connected account."""
    try:
        transport = hosts.from_row(obj).transport
    except ImproperlyConfigured:
        return None
    oauth2 = transport.oauth2
    return transport if oauth2 is not None and oauth2.delegated else None


class ConnectAccountAdmin:
    """
    The views of Connect account, for the email host admin to inherit: it
    routes them, and lends them its ``_object_view`` and ``_change_page``.
    """

    def get_queryset(self, request):
        # The account's state in the list's own query: no query per row.
        account = ConnectedAccount.objects.filter(host=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                account_exists=Exists(account),
                account_destination=Subquery(account.values("destination")),
                account_reconnect=Subquery(account.values("reconnect_reason")),
            )
        )

    def account_warning(self, obj):
        """Return what the list says of a host whose account does not work."""
        transport = _delegated_transport(obj)
        if transport is None:
            return ""
        if not getattr(obj, "account_exists", False):
            return _("Not connected")
        account = ConnectedAccount(
            destination=obj.account_destination or "",
            reconnect_reason=obj.account_reconnect or "",
        )
        if accounts.reconnect_reason(account, Destination.of(transport)):
            return _("Reconnect needed")
        return ""

    def redirect_uri(self, request):
        """Return the URL to register with the provider: where consent returns."""
        return request.build_absolute_uri(
            reverse(
                "admin:email_hosts_emailhost_connected",
                current_app=self.admin_site.name,
            )
        )

    def account_context(self, request, obj):
        """Return the change page's account box, or {} for other logins."""
        transport = _delegated_transport(obj)
        if transport is None:
            return {}
        account = ConnectedAccount.objects.filter(host=obj).first()
        destination = Destination.of(transport)
        return {
            "account_state": accounts.describe(account, destination),
            "account_works": accounts.works(account, destination),
            "redirect_uri": self.redirect_uri(request),
        }

    def connect_account_view(self, request, object_id):
        return self._object_view(request, object_id, self._send_to_consent)

    @sensitive_variables()
    def _send_to_consent(self, request, objects):
        [obj] = objects
        transport = _delegated_transport(obj)
        if transport is None:
            self.message_user(
                request,
                _(
                    "Email host %(key)r does not log in with an account connected"
                    " with consent: choose such a login first, and save."
                )
                % {"key": obj.key},
                messages.ERROR,
            )
            return None
        try:
            pending = consent.begin(
                obj.key,
                transport.oauth2,
                client_secret=transport.password,
                redirect_uri=self.redirect_uri(request),
            )
        except OAuth2Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        _remember_consent(request.session, obj.pk, pending)
        return HttpResponseRedirect(pending.url)

    @sensitive_variables()
    def connected_view(self, request):
        """Take the provider's answer: a code to trade for tokens, or an error."""
        asked = _take_consent(request.session, request.GET.get("state"))
        if asked is None:
            self.message_user(
                request,
                _(
                    "This answer from the OAuth2 provider matches no Connect account"
                    " clicked in this browser in the last %(minutes)s minutes, so it"
                    " was ignored. Click Connect account again."
                )
                % {"minutes": PENDING_SECONDS // 60},
                messages.ERROR,
            )
            return self._changelist()
        obj = EmailHost.objects.filter(pk=asked["pk"]).first()
        if obj is None or not self.has_change_permission(request, obj):
            raise PermissionDenied
        if error := request.GET.get("error"):
            description = request.GET.get("error_description", "")
            self.message_user(
                request,
                _(
                    "Email host %(key)r: the OAuth2 provider did not connect the"
                    " account (%(error)s). Click Connect account to try again."
                )
                % {
                    "key": obj.key,
                    "error": ": ".join(filter(None, [error, description]))[:300],
                },
                messages.ERROR,
            )
            return self._change_page(obj)
        pending = consent.Pending(
            **{
                name: value
                for name, value in asked.items()
                if name not in ("pk", "expires_at")
            }
        )
        try:
            consent.finish(
                obj,
                code=request.GET.get("code", ""),
                pending=pending,
                user=request.user,
            )
        except (OAuth2TokenError, OAuth2Unavailable) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._change_page(obj)
        self.log_change(request, obj, _("Connected an OAuth2 account."))
        self.message_user(
            request,
            _(
                "Email host %(key)r: the account is connected, and %(key)r sends"
                " as %(mailbox)s. Send a test email to check."
            )
            % {"key": obj.key, "mailbox": hosts.from_row(obj).transport.username},
            messages.SUCCESS,
        )
        return self._change_page(obj)

    def _changelist(self):
        return HttpResponseRedirect(
            reverse(
                "admin:email_hosts_emailhost_changelist",
                current_app=self.admin_site.name,
            )
        )
