# settings.py
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "email_hosts",
]

# Keys of their own for the stored hosts; the first encrypts, all decrypt.
FERNET_KEYS = ["a-long-random-key-from-your-secrets-store"]

# Hosts can also come from settings; a stored host with the same key wins.
EMAIL_HOSTS = {
    "club": "submission://club:secret@smtp.example.org?_default_from_email=club@example.org",
}
