"""Sending a brief by mail, through the bureau's own SMTP server (settings ``HMB_SMTP_*``).

Nothing else is contacted: the server, its port, STARTTLS, the account and the file holding its
password are settings (hmb.core.settings, docs/settings.md). The PDF goes as an attachment.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from hmb.core.settings import Settings


class MailError(RuntimeError):
    """The mail could not be sent: the message says what to set or check."""


def send_pdf(pdf: bytes, file_name: str, to: str, *, subject: str, body: str,
             config: Settings) -> None:
    """Send ``pdf`` as ``file_name`` to ``to`` through the configured SMTP server."""
    if not config.smtp_host or not config.mail_from:
        raise MailError(
            "未配置邮件服务器：请设置 HMB_SMTP_HOST 和 HMB_MAIL_FROM（见 docs/settings.md）。"
            " No mail server is configured: set HMB_SMTP_HOST and HMB_MAIL_FROM"
            " (docs/settings.md), then run the command again."
        )
    password = None
    if config.smtp_user:
        if config.smtp_password_file is None or not config.smtp_password_file.is_file():
            raise MailError(
                f"HMB_SMTP_USER={config.smtp_user} 已设置，但密码文件 HMB_SMTP_PASSWORD_FILE"
                f"（{config.smtp_password_file}）不存在。 HMB_SMTP_USER is set but the password"
                f" file HMB_SMTP_PASSWORD_FILE ({config.smtp_password_file}) does not exist:"
                " point it at a file holding the password."
            )
        password = config.smtp_password_file.read_text(encoding="utf-8").strip()
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=file_name)
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=30) as smtp:
            if config.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.smtp_user and password is not None:
                smtp.login(config.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"邮件未能发出（{config.smtp_host}:{config.smtp_port}）：{exc}。 The mail to {to}"
            f" could not be sent through {config.smtp_host}:{config.smtp_port} ({exc}): check"
            " the HMB_SMTP_* settings and that the server accepts this sender."
        ) from exc
