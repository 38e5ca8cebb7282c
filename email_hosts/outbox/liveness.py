"""
Which delivery runs are alive: each run beats while it works, so that a
dead run's messages are taken back within seconds and a slow one's never.
"""

import contextlib
import datetime
import logging
import threading
import time

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.models import WorkerBeat


logger = logging.getLogger("email_hosts")

#: The beat of the last delivery run to end, for check W012.
LAST_RUN = "outbox"


def _beats():
    return WorkerBeat.objects.using(router.db_for_write(WorkerBeat))


def timeout():
    """Return the time without a beat after which a run counts as dead."""
    return datetime.timedelta(seconds=conf.outbox().WORKER_TIMEOUT_SECONDS)


def beat(name):
    """Record that the run (or the last run, :data:`LAST_RUN`) ``name`` lives now."""
    beats = _beats()
    if not beats.filter(name=name).update(ran_at=timezone.now()):
        beats.get_or_create(name=name, defaults={"ran_at": timezone.now()})


def live_runs():
    """Return the names of the runs that beat within the timeout, as a subquery."""
    return _beats().filter(ran_at__gte=timezone.now() - timeout()).values("name")


class Heartbeat:
    """
    Beat for run ``name`` while the ``with`` block runs: once on entering,
    then from a thread every quarter of ``WORKER_TIMEOUT_SECONDS``, however
    long a relay takes to answer, unless the run stalls (:meth:`stalled`). On leaving, the run's beat becomes the
    last run's. Inside a transaction (a test's), only the first beat: no
    other connection could see the run's rows.
    """

    def __init__(self, name):
        self.name = name
        self._stopped = threading.Event()
        self._thread = None
        self._progressed_at = time.monotonic()

    def progress(self):
        """Record that the run moved on: it took a message to send."""
        self._progressed_at = time.monotonic()

    def stalled(self):
        """
        Return whether the run has been on one message for longer than
        ``CLAIM_SECONDS``: a relay that drips answers without end keeps it
        alive but stuck, and the run stops beating so that another takes
        back what it holds.
        """
        return time.monotonic() - self._progressed_at > conf.outbox().CLAIM_SECONDS

    def __enter__(self):
        beat(self.name)
        using = router.db_for_write(WorkerBeat)
        if not connections[using].in_atomic_block:
            self._thread = threading.Thread(
                target=self._keep_beating,
                name=f"outbox heartbeat {self.name}",
                daemon=True,  # Never keeps a worker from exiting.
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        # Best effort: after a lost database, the beat ends by its age.
        with contextlib.suppress(DatabaseError):
            beat(LAST_RUN)
            _beats().filter(name=self.name).delete()

    def _keep_beating(self):
        interval = conf.outbox().WORKER_TIMEOUT_SECONDS / 4
        connection = connections[router.db_for_write(WorkerBeat)]
        try:
            while not self._stopped.wait(interval):
                if self.stalled():
                    return  # Let another run take back what this one holds.
                try:
                    # After an error (a database restart), connect again.
                    connection.close_if_unusable_or_obsolete()
                    beat(self.name)
                except DatabaseError:
                    # The run will find out too; until the database is
                    # back, the run ages like a dead one, and may be.
                    logger.warning(
                        "Outbox run %s could not record its heartbeat.",
                        self.name,
                        exc_info=True,
                    )
        finally:
            close_this_threads_connections()


def last_beat():
    """Return when a delivery run last beat, or None."""
    beat_ = WorkerBeat.objects.order_by("-ran_at").first()
    return beat_.ran_at if beat_ else None


def close_this_threads_connections():
    """
    Close the database connections of the calling thread, one that a run
    started. SQLite's backend keeps an in-memory database's connection
    open, since closing the last would lose the database (a test's); a
    thread's is never the last.
    """
    for connection in connections.all(initialized_only=True):
        BaseDatabaseWrapper.close(connection)
