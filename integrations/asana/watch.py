"""Project webhooks: open a subscription, ask Asana for the webhook, and heal deactivated ones.

The subscription row is committed *before* `POST /webhooks`, because Asana performs the
handshake against our route while that request is in flight, and the door must find the row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from integrations.asana.client import AsanaClient
from integrations.errors import OutsideError
from sync.asana_accounts import new_subscription, webhooks_of
from sync.db.model import AsanaWebhook
from sync.db.store import Store

log = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/webhooks/asana/"


@dataclass(frozen=True, slots=True)
class Watched:
    project_gid: str
    webhook_gid: str
    subscription: str


class Watcher:
    """Creates, removes and re-creates a site's project webhooks."""

    def __init__(self, *, store: Store, client: AsanaClient, base_url: str) -> None:
        self.store = store
        self.client = client
        self.base_url = base_url.rstrip("/")

    def target(self, subscription_id: str) -> str:
        return f"{self.base_url}{WEBHOOK_ROUTE}{subscription_id}"

    def watch(self, site_id: int, project_gid: str) -> Watched:
        """Create the project's webhook (replacing ours if any); raises OutsideError."""
        with self.store.session() as session:
            old = session.scalar(
                select(AsanaWebhook.webhook_gid).where(
                    AsanaWebhook.site_id == site_id, AsanaWebhook.project_gid == project_gid
                )
            )
        if old:
            self.client.delete_webhook(site_id, old)
        with self.store.session() as session:
            subscription_id = new_subscription(session, site_id, project_gid).subscription
        try:
            created = self.client.create_webhook(
                site_id, resource=project_gid, target=self.target(subscription_id)
            )
        except OutsideError:
            with self.store.session() as session:
                row = session.scalar(
                    select(AsanaWebhook).where(AsanaWebhook.subscription == subscription_id)
                )
                if row is not None:
                    session.delete(row)
            raise
        webhook_gid = str(created.get("gid"))
        with self.store.session() as session:
            row = session.scalar(
                select(AsanaWebhook).where(AsanaWebhook.subscription == subscription_id)
            )
            if row is not None:
                row.webhook_gid, row.active = webhook_gid, True
        return Watched(project_gid, webhook_gid, subscription_id)

    def unwatch(self, site_id: int, project_gid: str) -> bool:
        """Remove the project's webhook in Asana and here; False when none was watched."""
        with self.store.session() as session:
            row = session.scalar(
                select(AsanaWebhook).where(
                    AsanaWebhook.site_id == site_id, AsanaWebhook.project_gid == project_gid
                )
            )
            if row is None:
                return False
            webhook_gid = row.webhook_gid
        if webhook_gid:
            self.client.delete_webhook(site_id, webhook_gid)
        with self.store.session() as session:
            row = session.scalar(
                select(AsanaWebhook).where(
                    AsanaWebhook.site_id == site_id, AsanaWebhook.project_gid == project_gid
                )
            )
            if row is not None:
                session.delete(row)
        return True

    def heal(self, site_id: int) -> list[Watched]:
        """Re-create the site's webhooks that Asana deactivated (or deleted)."""
        with self.store.session() as session:
            rows = [(row.project_gid, row.webhook_gid) for row in webhooks_of(session, site_id)]
        healed: list[Watched] = []
        for project_gid, webhook_gid in rows:
            try:
                found = self.client.webhook(site_id, webhook_gid) if webhook_gid else None
                if found is not None and found.get("active"):
                    continue
                log.info("Asana webhook on project %s is inactive: re-creating it", project_gid)
                healed.append(self.watch(site_id, project_gid))
            except OutsideError as exc:
                log.info("could not check the webhook on project %s: %s", project_gid, exc)
        return healed

    def heal_all(self, site_ids: list[int]) -> int:
        """The periodic job: heal every connected site's webhooks; returns how many."""
        return sum(len(self.heal(site_id)) for site_id in site_ids)
