# settings.py: mask URL passwords in the log messages that mails to the
# admins (their subject and first line) and the console show.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_url_passwords": {"()": "email_hosts.reporting.MaskURLPasswords"},
    },
    "handlers": {
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["mask_url_passwords"],
        },
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["mask_url_passwords"],
        },
    },
    "root": {"handlers": ["console", "mail_admins"], "level": "INFO"},
}
