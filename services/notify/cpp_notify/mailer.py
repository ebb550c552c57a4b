"""Sending people's messages: email over SMTP, and the channels plugins add.

Stored messages that are due are sent one by one, each settled in the store
(sent, or tried again later on the delivery schedule, or given up and kept
in the log). Email settings come from the environment:
``CPP_NOTIFY_SMTP_HOST`` (without it the deployment has no email channel and
people are told in their inbox), ``_SMTP_PORT`` (25), ``_SMTP_STARTTLS``
(``true`` to upgrade), ``_SMTP_USER``/``_SMTP_PASSWORD``, ``_MAIL_FROM``.
A conference's invitation travels as a ``text/calendar; method=REQUEST``
part (or ``CANCEL``), which Outlook and other calendars offer to add.
"""

from __future__ import annotations

import os
import random
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from cpp_shared.logs import get_logger
from cpp_shared.store import StoreUnavailable, VersionConflict
from cpp_shared.web import ServiceContext

from . import store as st
from .domain.deliveries import DEFAULT_SCHEDULE, Outcome, next_delay

log = get_logger("cpp.notify.mail")
LEASE = "notify-mail"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    sender: str = "cpp-notify@localhost"

    @classmethod
    def from_settings(cls, settings) -> SmtpSettings | None:
        host = settings.setting("SMTP_HOST")
        if not host:
            return None
        return cls(
            host=host,
            port=int(settings.setting("SMTP_PORT", "25")),
            starttls=(settings.setting("SMTP_STARTTLS", "false") or "").lower() in ("1", "true", "yes"),
            user=settings.setting("SMTP_USER"),
            password=settings.setting("SMTP_PASSWORD"),
            sender=settings.setting("MAIL_FROM", "cpp-notify@localhost"),
        )


# Headers are folded only past RFC 5322's hard limit: the default (78)
# folds a subject that names the child before its first word, and a mail
# client then shows it with a leading space.
MAIL_POLICY = policy.default.clone(max_line_length=998)


def email_message(message: dict[str, Any], sender: str) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    r = message["recipient"]
    msg["To"] = formataddr((r.get("name") or "", r["email"]))
    msg["Subject"] = message["subject"]
    msg["Message-ID"] = make_msgid(idstring=message["_id"])
    msg.set_content(message["body"])
    if message.get("ics"):
        method = "CANCEL" if "METHOD:CANCEL" in message["ics"] else "REQUEST"
        msg.add_attachment(
            message["ics"].encode(),
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method},
        )
    return msg


class Mailer:
    def __init__(
        self,
        ctx: ServiceContext,
        *,
        smtp: SmtpSettings | None,
        channels: dict[str, Callable[[dict[str, Any]], None]],
        schedule: tuple[float, ...],
    ):
        self.ctx = ctx
        self.smtp = smtp
        self.channels = channels
        self.schedule = schedule or DEFAULT_SCHEDULE
        self.rng = random.Random()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.idle = float(ctx.settings.setting("MAIL_IDLE_SECONDS", "0.5"))
        self.wakeup = threading.Event()

    def _send(self, message: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        try:
            if message["channel"] == "email":
                if self.smtp is None:
                    raise RuntimeError("no SMTP server is configured (CPP_NOTIFY_SMTP_HOST)")
                with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=15) as smtp:
                    if self.smtp.starttls:
                        smtp.starttls()
                    if self.smtp.user:
                        smtp.login(self.smtp.user, self.smtp.password or "")
                    smtp.send_message(email_message(message, self.smtp.sender))
            else:
                send = self.channels.get(message["channel"])
                if send is None:
                    raise RuntimeError(f"no channel {message['channel']!r} in this deployment")
                send(message)
        except Exception as exc:  # SMTP, network or a plugin's channel: a failed attempt, retried
            return Outcome(None, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(250, (time.perf_counter() - started) * 1000)

    def run_once(self, now: float | None = None, *, use_lease: bool = True) -> int:
        store = self.ctx.store
        if use_lease and not store.acquire_lease(LEASE, self.holder, 60.0):
            return 0
        sent = 0
        try:
            now = time.time() if now is None else now
            due = store.collection(st.MESSAGES).find({"state": "ready", "next_attempt_at": {"$lte": now}}, limit=100)
            # Oldest first within a pass (sorted here: a sort in the query would
            # make SQLite walk the whole index instead of searching the range).
            for message in sorted(due, key=lambda m: (m["created_at"], m["_id"])):
                outcome = self._send(message)
                attempt: dict[str, Any] = {
                    "at": time.time(),
                    "ok": outcome.ok,
                    "error": outcome.error,
                    "latency_ms": round(outcome.latency_ms, 1),
                }
                new = {
                    **message,
                    "attempts": [*message["attempts"], attempt],
                    "attempt_count": message["attempt_count"] + 1,
                }
                if outcome.ok:
                    new.update(state="sent", next_attempt_at=None, sent_at=attempt["at"])
                    sent += 1
                else:
                    delay = next_delay(new["attempt_count"], outcome, self.schedule, self.rng)
                    if delay is None:
                        new.update(state="failed", next_attempt_at=None)
                        log.error("message given up", message=message["_id"], error=outcome.error)
                    else:
                        new["next_attempt_at"] = attempt["at"] + delay
                try:
                    with store.unit_of_work() as uow:
                        uow.replace(st.MESSAGES, new, expected_version=message["version"])
                except VersionConflict:
                    pass  # settled by another sender meanwhile
        finally:
            if use_lease:
                store.release_lease(LEASE, self.holder)
        return sent

    def wake(self) -> None:
        self.wakeup.set()

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.run_once()
            except StoreUnavailable as exc:
                log.warning("mail pass skipped: store unavailable", error=str(exc))
                sent = 0
            except Exception:
                log.exception("mail pass failed")
                sent = 0
            if not sent:
                self.wakeup.wait(self.idle)
                self.wakeup.clear()
