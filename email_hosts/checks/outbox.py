"""Check the outbox's settings, and that a worker sends what waits in it."""

import datetime

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.utils import timezone

from email_hosts import conf
from email_hosts.checks.base import TAG, setting_errors, stored_hosts


@checks.register(TAG)
def check_retry_delays_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_RETRY_DELAYS`` that is no list of seconds (E016)."""
    return setting_errors(
        conf.retry_delays,
        hint="Leave it unset for retries over a day, or write a list such as"
        " [60, 300, 1800].",
        check_id="email_hosts.E016",
    )


@checks.register(TAG)
def check_outbox_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_OUTBOX`` with unknown or invalid options (E017)."""
    return setting_errors(
        conf.outbox,
        hint="Write a dict such as {'RETENTION_DAYS': 30}; the outbox docs list"
        " every option.",
        check_id="email_hosts.E017",
    )


@checks.register(TAG)
def check_rate_limits_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_RATE_LIMITS`` the outbox cannot count (E018)."""
    return setting_errors(
        conf.rate_limits,
        hint="For example {'shop': {'MESSAGES_PER_MINUTE': 30,"
        " 'RECIPIENTS_PER_DAY': 10000}}.",
        check_id="email_hosts.E018",
    )


@checks.register(TAG)
def check_failed_host_pause_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_FAILED_HOST_PAUSE`` that is no number (E019)."""
    return setting_errors(
        conf.failed_host_pause,
        hint="Write the seconds to skip a failing host, such as 60, or 0.",
        check_id="email_hosts.E019",
    )


@checks.register(TAG, checks.Tags.database)
def check_outbox_worker(app_configs, databases=None, **kwargs):
    """Warn that outbox messages wait and no worker ran recently (W012)."""
    from email_hosts.outbox.claims import last_beat, waiting_since  # noqa: PLC0415 -- apps not ready at import

    if not stored_hosts(databases or []):
        return []
    try:
        silence = datetime.timedelta(seconds=conf.outbox().WORKER_SILENCE_SECONDS)
    except ImproperlyConfigured:
        return []  # E017 reports it.
    try:
        oldest = waiting_since()
        ran_at = last_beat()
    except DatabaseError:
        return []  # The outbox's table is not migrated yet.
    if oldest is None or oldest > timezone.now() - silence:
        return []
    if ran_at is not None and ran_at > timezone.now() - silence:
        return []
    return [
        checks.Warning(
            f"Outbox messages have waited since {oldest:%Y-%m-%d %H:%M %Z}, and"
            f" no outbox worker has run since"
            f" {f'{ran_at:%Y-%m-%d %H:%M %Z}' if ran_at else 'the outbox was created'}.",
            hint="Run a worker of the tasks backend in"
            " EMAIL_HOSTS_OUTBOX['TASK_BACKEND'], such as manage.py db_worker"
            " for django-tasks-db, or deliveroutbox from cron.",
            id="email_hosts.W012",
        )
    ]
