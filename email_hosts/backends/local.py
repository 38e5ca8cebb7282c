"""Django's console, locmem and dummy backends, with a host's default sender."""

from django.core.mail.backends import console, dummy, locmem

from email_hosts.backends.default_sender import DefaultFromMixin


class _ConsoleBackend(DefaultFromMixin, console.EmailBackend):
    pass


class _LocmemBackend(DefaultFromMixin, locmem.EmailBackend):
    pass


class _DummyBackend(DefaultFromMixin, dummy.EmailBackend):
    pass


#: The backend for each scheme of a host that sends nothing over the network.
LOCAL_BACKENDS = {
    "console": _ConsoleBackend,
    "locmem": _LocmemBackend,
    "dummy": _DummyBackend,
}
