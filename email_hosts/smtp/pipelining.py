"""
Command pipelining (RFC 2920): a message in two round trips instead of
three plus one per recipient, with relays that advertise PIPELINING, as
Postfix, Exchange Online and Gmail do.
"""

import re
import smtplib

from email_hosts import conf
from email_hosts.smtp.size_limit import refuse_if_over


#: Lines that start with "." get a second one (RFC 5321, section 4.5.2):
#: a "." after a line feed, the message's first line being after one too.
_DOT_AT_LINE_START = re.compile(rb"(?<=\n)\.")
#: Bytes of a message escaped and written at a time: a large message is
#: never copied whole.
_PIECE_BYTES = 1024 * 1024
_ACCEPTED_RECIPIENT = (250, 251)


class PipelinesCommands:
    """
    An ``smtplib.SMTP`` mixin whose ``sendmail()`` writes ``MAIL FROM``, every
    ``RCPT TO`` and ``DATA`` at once and then reads their replies, when the
    relay offers PIPELINING and ``EMAIL_HOSTS_PIPELINING`` allows it.

    The relay sees the same commands and message; every outcome is reported
    as ``smtplib.SMTP.sendmail()`` reports it. ``before_message()``, if
    given, runs before the first byte of the message leaves: pipelined, while
    the relay answers the commands, so that the two overlap (the outbox
    records there that the message is being sent). It needs the connection's
    ``_first_mail_reply()`` and ``_watching_data()``, so that a kept
    connection found closed and a message whose fate is unknown are told
    apart exactly as without pipelining.

    Pipelined or not, a message over the relay's SIZE limit raises
    ``MessageTooBig`` before any command is sent.
    """

    def sendmail(  # noqa: PLR0913 -- smtplib's arguments, and one of ours
        self,
        from_addr,
        to_addrs,
        msg,
        mail_options=(),
        rcpt_options=(),
        *,
        before_message=None,
    ):
        self.ehlo_or_helo_if_needed()
        refuse_if_over(self, msg)
        if not (
            isinstance(msg, bytes) and self.has_extn("pipelining") and conf.pipelining()
        ):
            if before_message is not None:
                before_message()
            return super().sendmail(
                from_addr, to_addrs, msg, mail_options, rcpt_options
            )
        recipients = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        if self.has_extn("size"):
            mail_options = [f"size={len(msg)}", *mail_options]
        commands = [
            self._mail_command(from_addr, mail_options),
            *(
                f"rcpt TO:{smtplib.quoteaddr(recipient)}{_options(rcpt_options)}"
                for recipient in recipients
            ),
            "data",
        ]
        code, reply = self._first_mail_reply(
            lambda: self._send_commands(commands, before_replies=before_message)
        )
        if code == 421:
            self.close()
            raise smtplib.SMTPSenderRefused(code, reply, from_addr)
        refused = {}
        for recipient in recipients:
            rcpt_code, rcpt_reply = self.getreply()
            if rcpt_code not in _ACCEPTED_RECIPIENT:
                refused[recipient] = (rcpt_code, rcpt_reply)
            if rcpt_code == 421:
                self.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        data_code, data_reply = self.getreply()
        if code != 250:
            self._abandon(data_code)
            raise smtplib.SMTPSenderRefused(code, reply, from_addr)
        if len(refused) == len(recipients):
            self._abandon(data_code)
            raise smtplib.SMTPRecipientsRefused(refused)
        if data_code != 354:
            self._abandon(data_code)
            raise smtplib.SMTPDataError(data_code, data_reply)
        code, reply = self._watching_data(msg, lambda: self._send_message(msg))
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPDataError(code, reply)
        return refused

    def _mail_command(self, sender, options):
        """Return ``MAIL FROM`` as ``smtplib.SMTP.mail()`` writes it."""
        if any(option.lower() == "smtputf8" for option in options):
            if not self.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            self.command_encoding = "utf-8"
        return f"mail FROM:{smtplib.quoteaddr(sender)}{_options(options)}"

    def _send_commands(self, commands, *, before_replies=None):
        self.send("".join(f"{command}\r\n" for command in commands))
        if before_replies is not None:
            try:
                before_replies()
            except BaseException:
                # The relay may be taking DATA: only a closed connection ends
                # that transaction without delivering an empty message.
                self.close()
                raise
        return self.getreply()

    def _send_message(self, msg):
        for piece in _data_pieces(msg):
            self.send(piece)
        return self.getreply()

    def _abandon(self, data_code):
        """
        End a transaction that will not send the message: an empty message
        if the relay took DATA anyway (it has no recipient to deliver it to),
        then RSET; after 421, the relay has closed the connection.
        """
        if data_code == 354:
            self.send(".\r\n")
            data_code, _reply = self.getreply()
        if data_code == 421:
            self.close()
        else:
            self._rset()


def _data_pieces(message):
    """
    Yield ``message`` as DATA carries it, in pieces of about
    ``_PIECE_BYTES``: its leading dots doubled, and the last piece ending in
    CRLF "." CRLF whole, so that the connection sees when the message left.
    """
    view = memoryview(message)
    ending = b".\r\n" if message.endswith(b"\r\n") else b"\r\n.\r\n"
    # The last piece keeps at least the message's last two bytes.
    stops = [*range(_PIECE_BYTES, len(message) - 1, _PIECE_BYTES), len(message)]
    start = 0
    for stop in stops:
        # With the byte before it, to tell whether the piece starts a line.
        before = message[start - 1 : start] if start else b"\n"
        piece = _DOT_AT_LINE_START.sub(b"..", before + view[start:stop])[1:]
        yield piece + ending if stop == len(message) else piece
        start = stop


def _options(options):
    return "".join(f" {option}" for option in options)
