"""A test relay with a message size limit (RFC 1870), for big-message tests."""

from tests.conftest import RecordingHandler


#: Postfix's answer to a recipient whose mailbox is full.
MAILBOX_FULL = "552 5.2.2 Mailbox full"


class SizeLimitedHandler(RecordingHandler):
    """
    A relay that takes messages up to ``size_limit`` bytes (None: of any
    size) and refuses larger ones with aiosmtpd's own 552: at ``MAIL FROM``
    for a ``SIZE=n`` over it, or after DATA. After EHLO it announces
    ``SIZE <announced>``: its limit unless told otherwise, and no SIZE at
    all for None. With ``full_mailboxes``, it refuses every recipient with
    ``MAILBOX_FULL``.
    """

    def __init__(self, *, size_limit=None, announced="limit", full_mailboxes=False):
        super().__init__()
        self.size_limit = size_limit
        self.announced = size_limit if announced == "limit" else announced
        self.full_mailboxes = full_mailboxes

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 -- aiosmtpd API
        responses = await super().handle_EHLO(
            server, session, envelope, hostname, responses
        )
        server.data_size_limit = self.size_limit
        responses = [line for line in responses if not line[4:].startswith("SIZE")]
        if self.announced is not None:
            responses.insert(1, f"250-SIZE {self.announced}")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 -- aiosmtpd API
        if self.full_mailboxes:
            return MAILBOX_FULL
        return await super().handle_RCPT(
            server, session, envelope, address, rcpt_options
        )
