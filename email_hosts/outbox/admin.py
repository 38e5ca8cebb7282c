"""The outbox in the admin: what waits, what failed, and why."""

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from email_hosts.encryption import UndecryptableValue
from email_hosts.outbox import operations
from email_hosts.outbox.message_parts import (
    UnreadablePart,
    UnrenderableMessage,
    message_parts,
)
from email_hosts.outbox.models import OutboxMessage, Status
from email_hosts.outbox.resend_confirmation import resend_confirmation


BODY_PERMISSION = "email_hosts.view_message_body"


def _readable(value, shown=str):
    """Return a stored value as shown, or say that no key decrypts it."""
    if isinstance(value, UndecryptableValue):
        return _("cannot be decrypted with the current keys")
    return shown(value) or "–"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "recipient_list",
        "host",
        "attempts",
        "next_attempt",
        "error",
    ]
    list_filter = ["status", "host_key", "sent_through"]
    # The envelope is stored encrypted (docs/security.rst): not searchable.
    search_fields = ["message_id"]
    show_full_result_count = False
    actions = ["retry_now", "resend", "cancel"]
    fields = [
        "message_id",
        "status",
        "sender",
        "recipient_list",
        "refused",
        "host",
        "sent_through",
        "attempts",
        "next_attempt",
        "error",
        "created_at",
        "finished_at",
    ]
    readonly_fields = [*fields, "body"]

    def has_add_permission(self, request):
        return False  # Messages come from OutboxBackend alone.

    @admin.display(description=_("envelope sender"))
    def sender(self, obj):
        return _readable(obj.from_email)

    @admin.display(description=_("recipients"))
    def recipient_list(self, obj):
        return _readable(obj.recipients, ", ".join)

    @admin.display(description=_("refused recipients"))
    def refused(self, obj):
        return _readable(
            obj.refused_recipients,
            lambda refused: "; ".join(
                f"{r}: {answer}" for r, answer in refused.items()
            ),
        )

    @admin.display(description=_("last error"))
    def error(self, obj):
        return _readable(obj.last_error)

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_attempt(self, obj):
        # Only a queued message has one; for the others it says nothing.
        return obj.next_attempt_at if obj.status == Status.QUEUED else "–"

    @admin.display(description=_("host"), ordering="host_key")
    def host(self, obj):
        return obj.host_key or _("by sender")

    @admin.display(description=_("message"))
    def body(self, obj):
        if isinstance(obj.message, UndecryptableValue):
            return _("The message cannot be decrypted with the current keys.")
        # A message in parts: its first part only, which holds its text.
        try:
            shown = next(message_parts(obj))
        except UnrenderableMessage as exc:
            return str(exc)
        except UnreadablePart:
            return _("The message cannot be decrypted with the current keys.")
        text = shown.decode("utf-8", "replace")
        if obj.parts <= 1:
            return format_html("<pre>{}</pre>", text)
        return format_html(
            "<pre>{}</pre><p>{}</p>",
            text,
            _(
                "This is the message's first %(shown)s only, of the %(parts)d"
                " parts it is stored in."
            )
            % {"shown": filesizeformat(len(shown)), "parts": obj.parts},
        )

    def get_fields(self, request, obj=None):
        # Whoever may read the bodies (password-reset links) is chosen apart.
        if request.user.has_perm(BODY_PERMISSION):
            return [*self.fields, "body"]
        return self.fields

    @admin.action(description=_("Retry selected messages now"), permissions=["change"])
    def retry_now(self, request, queryset):
        count = operations.retry_now(queryset)
        self._report(
            request,
            count,
            ngettext(
                "%(count)d queued message will be retried now.",
                "%(count)d queued messages will be retried now.",
                count,
            ),
        )

    @admin.action(
        description=_("Resend selected failed, uncertain or held messages"),
        permissions=["change"],
    )
    def resend(self, request, queryset):
        """Say to whom each message would go, then resend it once confirmed."""
        if request.POST.get("post") != "yes":
            return resend_confirmation(self, request, queryset)
        count = operations.resend(
            queryset, to_all=request.POST.get("resend_to") == "all"
        )
        self._report(
            request,
            count,
            ngettext(
                "%(count)d message was queued to be sent again.",
                "%(count)d messages were queued to be sent again.",
                count,
            ),
        )
        return None

    @admin.action(
        description=_("Cancel selected queued messages"), permissions=["change"]
    )
    def cancel(self, request, queryset):
        count = operations.cancel(queryset)
        self._report(
            request,
            count,
            ngettext(
                "%(count)d queued message was cancelled.",
                "%(count)d queued messages were cancelled.",
                count,
            ),
        )

    def _report(self, request, count, message):
        level = messages.SUCCESS if count else messages.WARNING
        self.message_user(request, message % {"count": count}, level)
