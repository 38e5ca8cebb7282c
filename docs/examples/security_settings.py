# settings.py: what a production site with stored hosts should set.
import os


# Stored hosts may send only through these relays: a host name, or a
# domain and its subdomains with a leading dot. Settings hosts are exempt.
EMAIL_HOSTS_ALLOWED_RELAYS = ["smtp.office365.com", ".mailgun.org"]

# Error reports (the debug page, AdminEmailHandler mails) mask DSN passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"

# Keys of their own, at least 32 characters, the one that encrypts first.
FERNET_KEYS = [os.environ["FERNET_KEY"]]
