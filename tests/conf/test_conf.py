"""Settings are read when called, cached, and read again when they change."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from email_hosts import conf
from email_hosts.conf.hosts import DEFAULT_TIMEOUT


def test_an_unset_setting_reads_as_its_default():
    assert (conf.default_timeout(), conf.retry_delays(), conf.allowed_relays()) == (
        DEFAULT_TIMEOUT,
        conf.DEFAULT_RETRY_DELAYS,
        None,
    )


def test_override_settings_is_seen_by_the_next_read_and_undone_after():
    conf.default_timeout()  # Cached now.
    with override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT=5):
        inside = conf.default_timeout()
    assert (inside, conf.default_timeout()) == (5, DEFAULT_TIMEOUT)


@override_settings(EMAIL_HOSTS_RETRY_DELAYS="60")
def test_a_bad_value_raises_on_every_read_and_is_never_cached():
    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_HOSTS_RETRY_DELAYS"):
            conf.retry_delays()
