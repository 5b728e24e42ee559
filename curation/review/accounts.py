"""Curator logins: password check without a timing oracle, and lock-out after repeated failures."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from collector.models import Curator, as_utc, utcnow

MAX_FAILED_LOGINS = 5  # consecutive wrong passwords before the account locks
LOCKOUT = timedelta(minutes=15)
SESSION_HOURS = 12  # a curator session ends this long after its login, whatever happens in between


class LoginRefused(Exception):
    """A login that did not succeed, with the sentence to show."""


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash("an unknown curator name gets the same work as a known one")


def _locked(curator: Curator, now: datetime) -> bool:
    return curator.locked_until is not None and as_utc(curator.locked_until) > now


def _count_failure(session: Session, curator: Curator, now: datetime) -> None:
    # one atomic UPDATE, so parallel guesses cannot lose an increment
    session.execute(update(Curator).where(Curator.id == curator.id)
                    .values(failed_logins=Curator.failed_logins + 1))
    session.refresh(curator)
    if curator.failed_logins >= MAX_FAILED_LOGINS:
        curator.failed_logins, curator.locked_until = 0, now + LOCKOUT
    session.commit()


def log_in(session: Session, username: str, password: str, now: datetime | None = None) -> Curator:
    """Return the curator whose name and password these are; raise LoginRefused otherwise; commit."""
    now = now or utcnow()
    curator = session.scalar(select(Curator).where(Curator.username == username))
    if curator is None:
        check_password_hash(_decoy_hash(), password)
        raise LoginRefused("Wrong name or password.")
    if _locked(curator, now):
        minutes = int((as_utc(curator.locked_until) - now).total_seconds() // 60) + 1
        raise LoginRefused(f"Too many failed logins: this account is locked for {minutes} more minutes.")
    if not check_password_hash(curator.password_hash, password):
        _count_failure(session, curator, now)
        if _locked(curator, now):
            raise LoginRefused(f"Too many failed logins: this account is locked for "
                               f"{int(LOCKOUT.total_seconds() // 60)} minutes.")
        raise LoginRefused("Wrong name or password.")
    curator.failed_logins, curator.locked_until, curator.last_login_at = 0, None, now
    session.commit()
    return curator
