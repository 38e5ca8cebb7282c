"""
Access tokens of accounts an administrator connected with consent: got
with the refresh token kept, encrypted, in the host's ``ConnectedAccount``
row. A refresh locks the row and stores the provider's rotated refresh
token before the lock is released, so that processes refreshing at once
never lose the newest one. A refresh token the provider no longer accepts
marks the host "reconnect needed".
"""

import datetime
import threading

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from email_hosts.exceptions import OAuth2TokenError
from email_hosts.models import ConnectedAccount, EmailHost
from email_hosts.oauth2 import client, tokens
from email_hosts.oauth2.tokens import AccessToken


#: The token endpoint's errors that mean the refresh token is dead for
#: good (revoked, expired, or the user's password changed): RFC 6749.
DEAD_GRANT = "invalid_grant"


#: Why an account's tokens were dropped when its host changed.
DESTINATION_CHANGED = (
    "the host's relay, port, security, mailbox, token endpoint, client ID or"
    " client secret changed since the account was connected, and its tokens"
    " go to no other destination than the one they were issued for."
)


def not_connected(key):
    if not EmailHost.objects.filter(key=key).exists():
        return OAuth2TokenError(
            key=key,
            reason="an account connected with consent needs a host stored in"
            " the database: store it in the database with the admin, or"
            " importemailhosts, and click Connect account there.",
        )
    return OAuth2TokenError(
        key=key,
        reason="no account is connected to this host yet: open it in the admin"
        " and click Connect account.",
    )


def reconnect_needed(key, why):
    return OAuth2TokenError(
        key=key,
        reason=f"reconnect needed: {why} Open the host in the admin and click"
        f" Connect account again.",
    )


def describe(account, destination):
    """Return the state of a host's connected account, in words, without secrets."""
    if account is None:
        return _("Not connected: click Connect account.")
    if why := reconnect_reason(account, destination):
        return _("Reconnect needed: %(why)s") % {"why": why}
    token = stored_token(account)
    minutes = token.minutes_left() if token else 0
    return ngettext(
        "Connected by %(user)s on %(date)s; its access token is valid for"
        " %(minutes)s more minute.",
        "Connected by %(user)s on %(date)s; its access token is valid for"
        " %(minutes)s more minutes.",
        minutes,
    ) % {
        "user": account.connected_by or "?",
        "date": date_format(
            timezone.template_localtime(account.connected_at), "DATE_FORMAT"
        ),
        "minutes": minutes,
    }


def works(account, destination):
    """Return whether ``account`` (or None) gives tokens for ``destination``."""
    return account is not None and reconnect_reason(account, destination) is None


@sensitive_variables()
def issued_for(account, destination):
    """Return whether ``account``'s tokens were issued for ``destination``."""
    return constant_time_compare(account.destination, destination.digest())


def reconnect_reason(account, destination):
    """
    Return why the connected ``account`` must be connected again, or None:
    also when its tokens were issued for another ``destination``.
    """
    if not issued_for(account, destination):
        return account.reconnect_reason or DESTINATION_CHANGED
    return account.reconnect_reason or None


def drop_tokens(key, why=DESTINATION_CHANGED):
    """
    Drop the stored tokens of the host ``key``'s connected account, which
    then reads "reconnect needed" with ``why``. Return whether it had one.
    """
    tokens.forget_host(key)
    return bool(
        ConnectedAccount.objects.filter(host__key=key).update(
            access_token="",
            refresh_token="",
            expires_at=None,
            destination="",
            reconnect_reason=why[:500],
        )
    )


@sensitive_variables()
def access_token(key, oauth2, *, destination, timeout, rejected=None):
    """
    Return a fresh :class:`AccessToken` for the host ``key`` and its
    ``destination``: this process's, else the one stored in its row if
    fresh, not ``rejected`` and issued for that destination, else a
    refreshed one.
    """

    @sensitive_variables()
    def new():
        return _from_row(
            key, oauth2, destination=destination, timeout=timeout, rejected=rejected
        )

    return tokens.remembered(
        tokens.process_key(key, oauth2, destination), rejected=rejected, new=new
    )


@sensitive_variables()
def _from_row(key, oauth2, *, destination, timeout, rejected):
    # In a transaction of its own, on a thread of its own if the caller is
    # inside one: a rotated refresh token must be kept even if the caller's
    # transaction rolls back. Not on SQLite, where the caller's transaction
    # would keep that thread from writing until it ends.
    using = router.db_for_write(ConnectedAccount)
    caller = transaction.get_connection(using)
    if not caller.in_atomic_block or caller.vendor == "sqlite":
        return _under_lock(
            key, oauth2, destination=destination, timeout=timeout, rejected=rejected
        )
    outcome = {}

    @sensitive_variables()
    def run():
        try:
            outcome["token"] = _under_lock(
                key,
                oauth2,
                destination=destination,
                timeout=timeout,
                rejected=rejected,
            )
        except Exception as exc:  # noqa: BLE001 -- raised below, in the caller
            outcome["error"] = exc
        finally:
            transaction.get_connection(using).close()

    thread = threading.Thread(target=run, name=f"email-hosts-refresh-{key}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["token"]


@sensitive_variables()
def _under_lock(key, oauth2, *, destination, timeout, rejected):
    using = router.db_for_write(ConnectedAccount)
    with transaction.atomic(using=using):
        outcome = _refresh_locked(
            key,
            oauth2,
            destination=destination,
            timeout=timeout,
            rejected=rejected,
            using=using,
        )
    # Outside the block, so that what it marked or dropped is committed.
    if isinstance(outcome, OAuth2TokenError):
        raise outcome
    return outcome


@sensitive_variables()
def _refresh_locked(key, oauth2, *, destination, timeout, rejected, using):  # noqa: PLR0913
    """
    Return the host's token, refreshed if need be, or the error that says
    why it has none, with the account row locked.
    """
    if not transaction.get_connection(using).features.has_select_for_update:
        # SQLite locks no rows, but a write takes the database's write
        # lock, which a second refresher then waits for.
        ConnectedAccount.objects.using(using).filter(host__key=key).update(
            connected_at=F("connected_at")
        )
    account = (
        ConnectedAccount.objects.using(using)
        .select_for_update()
        .filter(host__key=key)
        .first()
    )
    if account is None:
        return not_connected(key)
    if why := reconnect_reason(account, destination):
        if not issued_for(account, destination):
            drop_tokens(key, why)  # Never for another destination.
        return reconnect_needed(key, why.rstrip(".") + ".")
    stored = stored_token(account)
    if (
        stored
        and stored.is_fresh()
        and stored.value != getattr(rejected, "value", None)
    ):
        # Another process refreshed while this one waited for the lock.
        return stored
    try:
        answer = client.ask(
            key,
            oauth2,
            client_secret=destination.client_secret,
            timeout=timeout,
            secrets=(account.refresh_token,),
            grant_type="refresh_token",
            refresh_token=account.refresh_token,
        )
    except OAuth2TokenError as exc:
        if exc.error != DEAD_GRANT:
            raise
        account.reconnect_reason = exc.reason[:500]
        account.save(update_fields=["reconnect_reason"])
        return reconnect_needed(key, exc.reason)
    return store(account, answer)


@sensitive_variables()
def store(account, answer):
    """Keep a token endpoint's ``answer`` in ``account``; return its token."""
    now = timezone.now()
    account.access_token = answer.access_token
    account.expires_at = now + datetime.timedelta(seconds=answer.lifetime)
    account.refreshed_at = now
    if answer.refresh_token:
        account.refresh_token = answer.refresh_token
    account.reconnect_reason = ""
    account.save(
        update_fields=[
            "access_token",
            "expires_at",
            "refreshed_at",
            "refresh_token",
            "reconnect_reason",
        ]
    )
    return stored_token(account)


def stored_token(account):
    """Return the access token ``account`` holds, or None."""
    if not account.access_token or account.expires_at is None:
        return None
    lifetime = (account.expires_at - account.refreshed_at).total_seconds()
    return AccessToken(
        value=account.access_token,
        expires_at=account.expires_at.timestamp(),
        lifetime=lifetime,
    )
