"""Use cases of clients: register, read, look up by identifier, list their episodes, erase their key."""

from __future__ import annotations

import contextlib
from datetime import date
from uuid import UUID

from services.records.application.access import DEMOGRAPHICS, EPISODES, AccessDenied, Actor, Part, Resource
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.errors import AlreadyExists, NotFound
from services.records.application.ids import new_id
from services.records.application.ports import CommitRows, IdentifierClaim, IdentifierTaken
from services.records.domain.client import Client, HumanName, Identifier
from services.records.domain.episode import Episode


class ClientUseCases(RecordsCore):
    def register_client(
        self,
        cmd: Command,
        identifiers: list[Identifier],
        name: HumanName,
        birth_date: date | None,
        time_zone: str,
    ) -> Written:
        tenant = cmd.actor.tenant
        self._decide(
            cmd.actor,
            "create",
            Resource("client", None, categories=frozenset({DEMOGRAPHICS})),
            client_id=None,
            request_id=cmd.request_id,
            essential=Part(DEMOGRAPHICS),
        )
        client_id = new_id()
        unique = list(dict.fromkeys(identifiers))
        claims = [
            IdentifierClaim(tenant, self.identifier_digest(tenant, i.system, i.value), client_id)
            for i in unique
        ]
        new_key = self.keys.new_key(tenant, client_id)
        try:
            client = Client.register(self._meta(cmd), client_id, unique, name, birth_date, time_zone)
            written = Written(client, client_id, client.version, client)
            self._save(cmd, written, client, rows=CommitRows(identifiers=claims, new_key=new_key))
        except IdentifierTaken:
            raise AlreadyExists("a client with one of these identifiers already exists") from None
        finally:
            self.keys.forget_pending(client_id)
        return written

    def get_client(self, actor: Actor, client_id: UUID, request_id: str = "") -> Client:
        client = self._load(actor.tenant, client_id, Client)
        team = self._client_care_team(actor.tenant, client)
        self._decide(
            actor,
            "read",
            Resource("client", client_id, categories=frozenset({DEMOGRAPHICS})),
            client_id=client_id,
            care_team=team,
            supervisors=self._supervisors_of(actor, actor.tenant, team),
            request_id=request_id,
            essential=Part(DEMOGRAPHICS),
        )
        return client

    def find_clients(self, actor: Actor, system: str, value: str, request_id: str = "") -> list[Client]:
        """The client holding this identifier, when there is one and the actor may read it."""
        client_id = self.index.client_by_identifier(
            actor.tenant, self.identifier_digest(actor.tenant, system, value)
        )
        if client_id is None:
            return []
        try:
            return [self.get_client(actor, client_id, request_id)]
        except AccessDenied:
            return []  # a lookup does not reveal that a client the caller may not see exists

    def client_episodes(
        self, actor: Actor, client_id: UUID, after: UUID | None, limit: int, request_id: str = ""
    ) -> tuple[list[Episode], UUID | None]:
        """A page of episode summaries and where the next page starts (None on the last).

        Decided as a read of the client and of the page's episodes with their own labels: a summary says
        an episode exists, so one whose labels the decision redacts is left out (the page is then short),
        and when episodes are redacted as a category the page is empty.
        """
        client = self._load(actor.tenant, client_id, Client)
        ids = self.index.episodes_of_client(actor.tenant, client_id, after, limit + 1)
        next_after = ids[limit - 1] if len(ids) > limit else None
        episodes = [self._load(actor.tenant, episode_id, Episode) for episode_id in ids[:limit]]
        team = self._client_care_team(actor.tenant, client)
        labels = frozenset(label for episode in episodes for label in episode.labels)
        obligations = self._decide(
            actor,
            "read",
            Resource("client", client_id, labels, frozenset({DEMOGRAPHICS, EPISODES})),
            client_id=client_id,
            care_team=team,
            supervisors=self._supervisors_of(actor, actor.tenant, team),
            request_id=request_id,
            essential=Part(DEMOGRAPHICS),
        )
        return [e for e in episodes if not obligations.hides(EPISODES, e.labels)], next_after

    def destroy_client_key(self, tenant: str, client_id: UUID) -> bool:
        """Erase a client by destroying their data key (internal; the erasure workflow comes later)."""
        if self.keys.tenant_of(client_id) != tenant:
            raise NotFound(f"no client {client_id}")
        destroyed = self.keys.destroy(client_id)
        self._evict(client_id, *self.index.episodes_of_client(tenant, client_id, None, 1_000_000))
        return destroyed

    def _evict(self, *aggregate_ids: UUID) -> None:
        """Drop decrypted state from this process's cache (other processes stop within the key cache time)."""
        cache = self.repository.cache
        for aggregate_id in aggregate_ids:
            if cache is not None:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)

    def _client_care_team(self, tenant: str, client: Client) -> frozenset[str]:
        team = {client.registered_by}
        after: UUID | None = None
        while True:
            ids = self.index.episodes_of_client(tenant, client.id, after, 500)
            for episode_id in ids:
                team.update(self._load(tenant, episode_id, Episode).care_team)
            if len(ids) < 500:
                return frozenset(team)
            after = ids[-1]
