from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailHostsConfig(AppConfig):
    name = "email_hosts"
    verbose_name = _("Email hosts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from email_hosts import checks  # noqa: F401, PLC0415 -- registers the checks
        from email_hosts.oauth2 import signals as oauth2_signals  # noqa: F401, PLC0415
        from email_hosts.outbox import signals  # noqa: F401, PLC0415 -- connects them
