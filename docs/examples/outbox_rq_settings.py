# settings.py, for RQ workers on several machines
INSTALLED_APPS = [
    # ...
    "email_hosts",
    "django_rq",
    "django_tasks_rq",
]
TASKS = {
    "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["mail"]},
}
RQ_QUEUES = {"mail": {"URL": "redis://redis.internal:6379/0"}}
EMAIL_HOSTS_OUTBOX = {"QUEUE_NAME": "mail"}
