"""One e-mail over SMTP (`smtplib`; STARTTLS and login when configured). Notices and reporters'
updates go out through here; callers keep the Message-ID, so a retry is the same message."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from triage_api.config import Settings, get_settings


def send_mail(
    to: str,
    subject: str,
    body: str,
    *,
    message_id: str,
    date: datetime,
    headers: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> None:
    """Raises `smtplib.SMTPException` or `OSError` when the server does not take it."""
    settings = settings or get_settings()
    message = EmailMessage()
    message["From"] = settings.notice_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(date)
    for name, value in (headers or {}).items():
        message[name] = value
    if settings.notice_reply_to:
        message["Reply-To"] = settings.notice_reply_to
    message.set_content(body)
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
