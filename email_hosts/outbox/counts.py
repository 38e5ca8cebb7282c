"""What the outbox did for each host in the last day, for the host list."""

import datetime

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from email_hosts.outbox.models import OutboxMessage, Status


#: The column's parts, by annotation name: which messages each counts.
COUNTED = {
    "outbox_sent": {"status": Status.SENT},
    "outbox_retrying": {"status": Status.QUEUED, "attempts__gt": 0},
    "outbox_failed": {"status": Status.FAILED},
    "outbox_uncertain": {"status": Status.UNCERTAIN},
}


def annotations(key_field="key"):
    """
    Return annotations that count, per host row, the outbox messages for it
    created in the last 24 hours: one subquery per count, in the page's query.
    """
    since = timezone.now() - datetime.timedelta(hours=24)
    return {
        name: Coalesce(
            Subquery(
                OutboxMessage.objects.filter(
                    routed_to=OuterRef(key_field), created_at__gte=since, **where
                )
                .order_by()
                .values("routed_to")
                .annotate(count=Count("pk"))
                .values("count"),
                output_field=IntegerField(),
            ),
            0,
        )
        for name, where in COUNTED.items()
    }


def describe(row):
    """Return the counts of an annotated row in words, or "" for none."""
    words = {
        "outbox_sent": _("%(count)d sent"),
        "outbox_retrying": _("%(count)d retrying"),
        "outbox_failed": _("%(count)d failed"),
        "outbox_uncertain": _("%(count)d uncertain"),
    }
    return ", ".join(
        words[name] % {"count": count}
        for name in COUNTED
        if (count := getattr(row, name, 0))
    )
