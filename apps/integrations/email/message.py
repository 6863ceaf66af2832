"""The message every email adapter sends, built once from a validated send payload."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import make_msgid
from typing import Any

import cssutils
from django.core.mail import EmailMultiAlternatives
from premailer import Premailer


@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""

    @property
    def formatted(self) -> str:
        """`Name <email>`, the name quoted when it needs to be (RFC 5322)."""
        if not self.name:
            return self.email
        return str(Address(display_name=self.name, addr_spec=self.email))


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content_base64: str

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


@dataclass(frozen=True)
class OutgoingEmail:
    sender: Person
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    bcc: tuple[Person, ...]
    reply_to: Person | None
    subject: str
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]

    @property
    def recipients(self) -> list[str]:
        return [p.email for p in (*self.to, *self.cc, *self.bcc)]

    @property
    def size(self) -> int:
        """Bytes of text, html and decoded attachments: what providers' size limits count."""
        html = len(self.html.encode()) if self.html else 0
        return len(self.text.encode()) + html + sum(len(a.content) for a in self.attachments)


def joined(people: tuple[Person, ...]) -> str:
    return ", ".join(p.formatted for p in people)


def _person(data: dict[str, Any]) -> Person:
    return Person(email=data["email"], name=data.get("name") or "")


class _OfflinePremailer(Premailer):  # type: ignore[misc]
    """premailer that parses every stylesheet with a parser that fetches nothing.

    premailer's allow_network and allow_loading_external_files only cover <link>: the
    <style> text goes to cssutils, which follows @import by itself (http:, file:, with no
    timeout and no size limit). Its parser takes a fetcher; this one refuses every URL.
    """

    def _parse_css_string(self, css_body: str, validate: bool = True) -> Any:
        parser = cssutils.CSSParser(fetcher=_fetch_nothing, validate=validate)
        return parser.parseString(css_body)


def _fetch_nothing(url: str) -> None:
    """cssutils' fetcher: None means "could not be read", so @import rules stay empty."""
    return None


def inline_css(html: str) -> str:
    """Move <style> rules into style attributes, as email clients need (premailer).

    Never fetches: a <link> to a stylesheet stays as it is, an @import is dropped unread.
    """
    return str(
        _OfflinePremailer(
            html,
            allow_network=False,
            allow_loading_external_files=False,
            cssutils_logging_level=logging.CRITICAL,
            disable_validation=True,
        ).transform()
    )


async def outgoing_email(payload: dict[str, Any]) -> OutgoingEmail:
    html = payload.get("body_html")
    if html and payload.get("transform_css"):
        html = await asyncio.to_thread(inline_css, html)  # CPU-bound: off the event loop
    reply_to = payload.get("reply_to")
    return OutgoingEmail(
        sender=_person(payload["from_email"]),
        to=tuple(_person(p) for p in payload["to"]),
        cc=tuple(_person(p) for p in payload.get("cc", [])),
        bcc=tuple(_person(p) for p in payload.get("bcc", [])),
        reply_to=_person(reply_to) if reply_to else None,
        subject=payload["subject"],
        text=payload["body_plain_text"],
        html=html or None,
        attachments=tuple(
            Attachment(a["name"], a["content_type"], a["content"])
            for a in payload.get("attachments", [])
        ),
    )


def mime_message(email: OutgoingEmail) -> tuple[EmailMultiAlternatives, str]:
    """The message as Django builds it for SMTP, and its Message-ID (without <>)."""
    domain = email.sender.email.rpartition("@")[2]
    message_id = make_msgid(domain=domain)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=email.sender.formatted,
        to=[p.formatted for p in email.to],
        cc=[p.formatted for p in email.cc],
        bcc=[p.formatted for p in email.bcc],
        reply_to=[email.reply_to.formatted] if email.reply_to else None,
        headers={"Message-ID": message_id},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment.name, attachment.content, attachment.content_type)
    return message, message_id.strip("<>")
