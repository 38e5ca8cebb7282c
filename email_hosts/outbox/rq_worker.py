"""
An RQ worker that takes over the scheduler of a worker that died with it,
so that the outbox's runs for later (its lifelines and retries) still run
when a whole worker is lost (docs/outbox.rst, "Which task engines recover
how").

RQ's worker runs a scheduler that enqueues the jobs due later, and holds a
lock on each queue for it, which the scheduler refreshes every second to
last a minute more. Another worker takes a lock over only once it has
lapsed, and tries only at its maintenance, every 10 minutes by default,
after waiting up to almost 7 minutes for a job: after a lost machine, the
runs for later waited up to 11 minutes. This worker does its maintenance
every ``MAINTENANCE_SECONDS`` (whatever ``--maintenance-interval`` says,
if longer), and takes over a lock that nobody has refreshed for
``STALE_SECONDS``, also for a worker whose scheduler runs for its other
queues::

    python manage.py rqworker --with-scheduler \\
        --worker-class email_hosts.outbox.rq_worker.OutboxWorker \\
        --job-class django_tasks_rq.Job mail
"""

import redis
from rq import Worker
from rq.scheduler import RQScheduler


#: How often an idle worker wakes for its maintenance, in seconds.
MAINTENANCE_SECONDS = 5
#: How long a scheduler's lock may go unrefreshed before its holder counts
#: as dead, in seconds: a live scheduler refreshes it every second.
STALE_SECONDS = 10


class OutboxWorker(Worker):
    """RQ's worker, with a maintenance that takes over dead schedulers' locks."""

    def __init__(self, *args, **kwargs):
        # RQ's own command passes its default of 10 minutes: never longer.
        interval = kwargs.get("maintenance_interval") or MAINTENANCE_SECONDS
        kwargs["maintenance_interval"] = min(interval, MAINTENANCE_SECONDS)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self):
        # Waiting for a job, RQ runs no maintenance: wake for it.
        return min(super().dequeue_timeout, MAINTENANCE_SECONDS)

    def run_maintenance_tasks(self):
        if self.scheduler is not None:
            released = [
                release_stale_lock(
                    self.connection,
                    RQScheduler.get_locking_key(name),
                    lasts=self.scheduler.interval + 60,
                )
                for name in self.queue_names()
            ]
            running = self.scheduler._process
            if any(released) and running is not None and running.is_alive():
                # It schedules the worker's other queues, and would take the
                # released one only after two minutes: start it again, so
                # that RQ's maintenance, below, starts it with every lock.
                running.terminate()
                running.join(timeout=10)
        super().run_maintenance_tasks()


def release_stale_lock(connection, key, *, lasts):
    """
    Delete the scheduler's lock ``key``, which lasts ``lasts`` seconds when
    refreshed, if its holder has not refreshed it for ``STALE_SECONDS``;
    leave it if anyone refreshed or took it meanwhile. Return whether it was
    deleted.
    """
    with connection.pipeline() as pipeline:
        try:
            pipeline.watch(key)
            left = pipeline.pttl(key)
            if left < 0 or left > (lasts - STALE_SECONDS) * 1000:
                return False  # No lock, or a fresh one.
            pipeline.multi()
            pipeline.delete(key)
            pipeline.execute()
        except redis.WatchError:
            return False  # Refreshed or taken meanwhile: alive.
    return True
