"""A real SMTP server on loopback (aiosmtpd) that can be told, per recipient, to accept,
to answer 4xx or 5xx, or to drop the connection before or after DATA. It keeps what it
stored, so a test can check that every reminder was received exactly once."""

from __future__ import annotations

import asyncio
import re
import socket

from aiosmtpd.controller import Controller

ACCEPT = "accept"
TEMPORARY = "451"  # 451 after the message: retried
PERMANENT = "550"  # 550 at RCPT TO: never retried
PERMANENT_DATA = "554"  # 554 after the message: never retried
DROP_BEFORE_DATA = "drop-before-data"  # the connection closes at RCPT TO: nothing stored
DROP_AFTER_DATA = "drop-after-data"  # stored, then closed before the 250: fate unknown
HANG_BEFORE_DATA = "hang-before-data"  # no answer to RCPT TO: the client times out
HANG_AFTER_DATA = "hang-after-data"  # stored, no answer: the client times out
HANG_SECONDS = 3

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """The handler: ``modes`` maps a recipient address to its behaviour (default
    ``mode``); ``messages`` holds every message stored; ``attempts`` the Message-ID of
    every message handed over (every DATA, whatever the answer)."""

    def __init__(self) -> None:
        self.mode = ACCEPT
        self.modes: dict[str, str] = {}
        self.messages: list[bytes] = []
        self.attempts: list[str] = []

    def mode_for(self, addresses) -> str:
        for address in addresses:
            if address in self.modes:
                return self.modes[address]
        return self.mode

    @property
    def message_ids(self) -> list[str]:
        found = (MESSAGE_ID.search(m) for m in self.messages)
        return [m.group(1).decode() for m in found if m]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.mode_for([address])
        if mode == PERMANENT:
            return "550 5.1.1 Mailbox unavailable"
        if mode == DROP_BEFORE_DATA:
            server.transport.close()
            return "421 closing"
        if mode == HANG_BEFORE_DATA:
            await asyncio.sleep(HANG_SECONDS)
            return "451 too late"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode_for(envelope.rcpt_tos)
        if found := MESSAGE_ID.search(envelope.original_content or envelope.content or b""):
            self.attempts.append(found.group(1).decode())
        if mode == TEMPORARY:
            return "451 4.3.0 Temporary failure, try again later"
        if mode == PERMANENT_DATA:
            return "554 5.7.1 Message refused by policy"
        self.messages.append(envelope.original_content or envelope.content)
        if mode == DROP_AFTER_DATA:
            server.transport.close()
        if mode == HANG_AFTER_DATA:
            await asyncio.sleep(HANG_SECONDS)
        return "250 2.0.0 Message accepted"


def start(settings_or_none=None, *, port: int | None = None) -> tuple[Sink, Controller]:
    """Start a sink on loopback; with pytest-django's ``settings``, point the default
    mailer at it."""
    sink = Sink()
    port = port or free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    if settings_or_none is not None:
        settings_or_none.MAILERS = mailer_settings(port)
    return sink, controller


def mailer_settings(port: int, timeout: float = 5) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }
