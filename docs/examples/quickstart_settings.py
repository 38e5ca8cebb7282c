# settings.py: the apps startproject lists, and this one.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "email_hosts",
]

# Hosts can also come from settings; a stored host with the same key wins.
EMAIL_HOSTS = {
    "shop": "submission://shop:secret@smtp.example.com?_default_from_email=shop@example.com",
    "club": "submission://club:secret@smtp.example.org?_default_from_email=club@example.org",
}
