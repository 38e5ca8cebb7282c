"""
The cells of the admin's lists that take more than a field: a host's status
(an icon, what happened, when), the senders it serves, and its backups.
"""

from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
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
        _ago(checked_at),
    )


def _ago(moment):
    if (timezone.now() - moment).total_seconds() < 60:
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(moment)}


def render_stored_status(host_status):
    """:func:`render_status` for a ``HostStatus`` row, or for None: never checked."""
    if host_status is None:
        return render_status(None, "", None)
    return render_status(host_status.ok, host_status.message, host_status.checked_at)


def render_senders(entry, *, fallback):
    """
    Return the sender domains a host serves for ``RoutingBackend``: those it
    lists, its default sender's, and all others if it is the ``fallback``.
    """
    parts = [(domain, "") for domain in entry.sender_domains]
    if entry.default_domain and entry.default_domain not in entry.sender_domains:
        parts.append((entry.default_domain, _("default sender")))
    if entry.key == fallback:
        parts.append((_("all other senders"), "EMAIL_HOSTS_FALLBACK"))
    return format_html_join(
        ", ",
        "{}{}",
        (
            (
                domain,
                format_html(' <span class="quiet">({})</span>', note) if note else "",
            )
            for domain, note in parts
        ),
    )


def render_backups(entry):
    """Return the keys that take over from a host, in order, each a link."""
    return format_html_join(
        " → ",
        '<a href="{}">{}</a>',
        (
            (reverse("admin:email_hosts_emailhost_by_key", args=[key]), key)
            for key in entry.backups
        ),
    )
