"""Check the keys that encrypt the stored hosts."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import encryption
from email_hosts.checks.base import TAG, setting_errors


@checks.register(TAG)
def check_fernet_keys_setting(app_configs, **kwargs):
    """Report ``FERNET_KEYS`` that cannot encrypt (E013)."""
    return setting_errors(
        encryption.fernet,
        hint="Generate a key with Fernet.generate_key() or any long random"
        " string, and keep it out of the code.",
        check_id="email_hosts.E013",
    )


@checks.register(TAG, deploy=True)
def check_fernet_key_length(app_configs, **kwargs):
    """Warn about ``FERNET_KEYS`` entries shorter than 32 characters (W005)."""
    try:
        short = encryption.short_keys()
    except ImproperlyConfigured:
        return []  # E013 reports it.
    return [
        checks.Warning(
            f"FERNET_KEYS[{index}] is shorter than {encryption.MIN_KEY_LENGTH}"
            " characters, so the stored hosts it encrypts are easier to guess.",
            hint="Put a longer random key first and run rotate_email_host_keys.",
            id="email_hosts.W005",
        )
        for index in short
    ]


@checks.register(TAG, deploy=True)
def check_fernet_keys(app_configs, **kwargs):
    """Warn that stored hosts are encrypted with SECRET_KEY (W001)."""
    if getattr(settings, "FERNET_KEYS", None) is not None:
        return []
    return [
        checks.Warning(
            "Stored email hosts are encrypted with a key derived from SECRET_KEY,"
            " because FERNET_KEYS is not set.",
            hint="Set FERNET_KEYS to keys of their own, so that rotating"
            " SECRET_KEY and rotating these keys are separate decisions. See"
            " 'Rotating keys' in the docs.",
            id="email_hosts.W001",
        )
    ]
