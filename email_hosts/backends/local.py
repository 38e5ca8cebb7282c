"""Django's console, locmem and dummy backends, with a host's default sender."""

from django.core.mail.backends import console, dummy, locmem

from email_hosts.backends.default_sender import _DefaultFromMixin


class _ConsoleBackend(_DefaultFromMixin, console.EmailBackend):
    pass


class _LocmemBackend(_DefaultFromMixin, locmem.EmailBackend):
    pass


class _DummyBackend(_DefaultFromMixin, dummy.EmailBackend):
    pass


#: The backend for each scheme of a host that sends nothing over the network.
LOCAL_BACKENDS = {
    "console": _ConsoleBackend,
    "locmem": _LocmemBackend,
    "dummy": _DummyBackend,
}
