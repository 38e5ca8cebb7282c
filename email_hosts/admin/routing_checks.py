"""The host form's checks of where mail goes: routing, and who may repoint."""

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from email_hosts import hosts
from email_hosts.admin import repointing
from email_hosts.routing.table import validate_stored_host


class RoutingChecks:
    """The checks of where mail goes, for the email host form to inherit."""

    #: Whether the user may change where mail goes (the admin sets it from
    #: the user's permissions); without it, only such edits are refused.
    may_repoint = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before = self._stored_host()

    def _stored_host(self):
        """Return the host as stored, or None for a new or unusable one."""
        if not self.instance.pk:
            return None
        try:
            return hosts.from_row(self.instance)
        except ImproperlyConfigured:
            return None

    def _post_clean(self):
        super()._post_clean()
        # Routing is checked here, not by the model: a host picked by key
        # needs no routing, and the model sits below the routing rules.
        try:
            validate_stored_host(self.instance, previous_key=self.initial.get("key"))
        except ValidationError as exc:
            self._update_errors(exc)
        if not self.may_repoint and not self.errors:
            self._refuse_repointing()

    def _refuse_repointing(self):
        """Refuse each edit that changes where mail goes, on its field."""
        try:
            after = hosts.from_row(self.instance)
        except ImproperlyConfigured:
            return  # The model's validation said why already.
        pasted = bool(self.cleaned_data.get("pasted_dsn"))
        for found in repointing.repointings(self.before, after):
            field = found.field
            if pasted and field not in ("key", "sender_domains", "backups"):
                field = "pasted_dsn"
            elif field not in self.fields:
                field = None
            self.add_error(
                field,
                _(
                    "Only users with the permission 'Can point an email host at"
                    " another relay' may make this change (%(what)s): superusers"
                    " have it. Ask one to make it, or to grant you the permission."
                )
                % {"what": found.reason},
            )
