"""Every secret okrlink stores encrypted, and their re-encryption under the newest key.

`ENCRYPTED_COLUMNS` is the one list of columns holding Fernet tokens: a new encrypted column
goes here too, or `okrlink secrets rotate` would leave it under a key the operator drops
(`tests/sync/test_secrets.py` checks the list against the model's "Fernet token" columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sync.db.model import (
    AsanaConnection,
    AsanaWebhook,
    DigestChannel,
    GeckoboardDataset,
    Installation,
)
from sync.keys import AppKeys

ENCRYPTED_COLUMNS: Final[tuple[InstrumentedAttribute[Any], ...]] = (
    Installation.shared_secret,  # Connect and Forge installations' shared secrets
    AsanaConnection.access_token,
    AsanaConnection.refresh_token,
    AsanaWebhook.secret,  # Asana's X-Hook-Secret of each project webhook
    DigestChannel.url,  # Slack and Teams webhook URLs (the URL is the credential)
    GeckoboardDataset.api_key,  # Geckoboard API keys, one per team's dataset
)


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: values re-encrypted, values already under the first key, and
    values no key opens (left as they are: the key that wrote them is still needed)."""

    rewritten: int
    current: int
    unreadable: tuple[str, ...]


def rotate_secrets(session: Session, keys: AppKeys) -> Rotation:
    """Re-encrypt every stored secret under the first key; the caller commits."""
    rewritten = current = 0
    unreadable: list[str] = []
    for column in ENCRYPTED_COLUMNS:
        model = column.class_
        primary_key = model.__mapper__.primary_key[0]
        rows = session.execute(select(primary_key, column).where(column.is_not(None))).all()
        for row_id, token in rows:
            try:
                fresh = keys.rotated(token)
            except InvalidToken:
                unreadable.append(f"{model.__tablename__}.{column.key} id {row_id}")
                continue
            if fresh is None:
                current += 1
                continue
            table = model.__table__
            values: dict[str, Any] = {column.key: fresh}
            if "updated_at" in table.c:  # a new ciphertext is not a change of the row
                values["updated_at"] = table.c.updated_at
            session.execute(table.update().where(primary_key == row_id).values(values))
            rewritten += 1
    session.flush()
    return Rotation(rewritten=rewritten, current=current, unreadable=tuple(unreadable))
