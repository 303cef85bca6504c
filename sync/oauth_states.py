"""OAuth `state` values used once: a nonce is recorded when its state is used, and a second
use finds it (the primary key), whichever process sees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.db.model import OAuthState


def use_state(session: Session, nonce: str, *, now: datetime, lifetime: timedelta) -> bool:
    """Record the nonce as used; False when it was used already. Nonces older than a state's
    lifetime are forgotten (their states have expired anyway)."""
    session.execute(delete(OAuthState).where(OAuthState.used_at < now - lifetime))
    try:
        with session.begin_nested():
            session.add(OAuthState(nonce=nonce, used_at=now))
    except IntegrityError:
        return False
    return True
