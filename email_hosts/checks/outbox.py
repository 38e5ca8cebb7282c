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
    """
    Warn that outbox messages are stuck (W012): due, with no delivery run
    for ``WORKER_SILENCE_SECONDS``; or held that long by runs that died and
    that no run took back.
    """
    from email_hosts.outbox.claims import abandoned_since, waiting_since  # noqa: PLC0415 -- apps not ready at import
    from email_hosts.outbox.liveness import last_beat  # noqa: PLC0415

    if not stored_hosts(databases or []):
        return []
    try:
        silence = datetime.timedelta(seconds=conf.outbox().WORKER_SILENCE_SECONDS)
    except ImproperlyConfigured:
        return []  # E017 reports it.
    try:
        due_since, held_since, ran_at = waiting_since(), abandoned_since(), last_beat()
    except DatabaseError:
        return []  # The outbox's table is not migrated yet.
    long_ago = timezone.now() - silence
    stuck = []
    no_run = ran_at is None or ran_at < long_ago
    if due_since is not None and due_since < long_ago and no_run:
        stuck.append(f"messages have been due since {_when(due_since)}")
    if held_since is not None and held_since < long_ago:
        stuck.append(
            f"messages claimed at {_when(held_since)} are held by a worker"
            f" that stopped, and no delivery run took them back"
        )
    if not stuck:
        return []
    last_run = _when(ran_at) if ran_at else "the outbox was created"
    return [
        checks.Warning(
            f"Outbox {'; and '.join(stuck)}. No delivery run has run since {last_run}.",
            hint="Run a worker of the tasks backend in"
            " EMAIL_HOSTS_OUTBOX['TASK_BACKEND'] and keep it running (manage.py"
            " db_worker for django-tasks-db, rqworker --with-scheduler for RQ;"
            " docs/outbox.rst shows a systemd unit), or run deliveroutbox"
            " from cron.",
            id="email_hosts.W012",
        )
    ]


def _when(moment):
    return f"{moment:%Y-%m-%d %H:%M %Z}"
