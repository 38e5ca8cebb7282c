"""How a host's last check reads in the admin: an icon, what happened, when."""

from django.templatetags.static import static
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _


def render_status(ok, message, checked_at):
    """Return the status cell for a host last checked at ``checked_at``, or never."""
    if checked_at is None:
        return format_html(
            '<img src="{}" alt="{}"> {}',
            static("admin/img/icon-unknown.svg"),
            _("Unknown"),
            _("never checked"),
        )
    icon, alt, text = (
        ("icon-yes.svg", _("Works"), _("works"))
        if ok
        else ("icon-no.svg", _("Failing"), message)
    )
    return format_html(
        '<img src="{}" alt="{}"> {} <span class="quiet" title="{}">({})</span>',
        static(f"admin/img/{icon}"),
        alt,
        text,
        formats.date_format(
            timezone.localtime(checked_at)
            if timezone.is_aware(checked_at)
            else checked_at,
            "DATETIME_FORMAT",
        ),
        _("%(time)s ago") % {"time": timesince(checked_at)},
    )


def render_stored_status(host_status):
    """:func:`render_status` for a ``HostStatus`` row, or None for never checked."""
    if host_status is None:
        return render_status(None, "", None)
    return render_status(host_status.ok, host_status.message, host_status.checked_at)
