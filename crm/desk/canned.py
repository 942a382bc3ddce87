"""Canned responses: replies staff insert into a conversation with one choice.

Supervisors and admins write them, for one team or for every team; agents pick from the active
ones of their team. Removing one deactivates it rather than deleting it, so the audit rows that
name it keep meaning something; adding one with the title of a removed one brings the title
back into use with the new text. The rules are checked here, not in the console, so every
caller gets them.

A response may say ``{customer_first_name}``; :func:`fill` puts in the verified customer's first
name, and leaves the placeholder for staff to replace when nobody is verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.desk.staff import StaffMember
from crm.records.audit import audit
from crm.records.errors import (
    CannedNotAllowed,
    CannedResponseExists,
    CannedResponseNotFound,
    InvalidCannedResponse,
)
from crm.records.models import CannedResponse, utcnow

MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 2000
FIRST_NAME = "{customer_first_name}"


@dataclass(frozen=True)
class Canned:
    """A canned response as the console lists it."""

    id: int
    title: str
    text: str
    team: str | None  # None: every team


def fill(text: str, first_name: str | None) -> str:
    """`text` with the customer's first name put in, if a verified customer has one."""
    return text.replace(FIRST_NAME, first_name) if first_name else text


class CannedResponses:
    """List, add and remove canned responses, as a signed-in staff member."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def for_member(self, member: StaffMember) -> list[Canned]:
        """The active responses `member` may use: their team's and everyone's, by title.

        Supervisors and admins see every team's, since they work (and manage) all queues.
        """
        query = select(CannedResponse).where(CannedResponse.active.is_(True))
        if not member.can("supervisor"):
            query = query.where(
                or_(CannedResponse.team.is_(None), CannedResponse.team == member.team)
            )
        query = query.order_by(func.lower(CannedResponse.title), CannedResponse.id)
        with self._sessions() as session:
            return [_canned(row) for row in session.scalars(query)]

    def create(self, member: StaffMember, title: str, text: str, team: str | None) -> Canned:
        """Add a response (supervisors and admins); raises on a broken rule or a taken title.

        Titles are compared without regard to case, so the picker never shows two that look
        the same.
        """
        if not member.can("supervisor"):
            raise CannedNotAllowed()
        clean_title, clean_text = " ".join(title.split()), text.strip()
        if not 1 <= len(clean_title) <= MAX_TITLE_CHARS:
            raise InvalidCannedResponse(f"title: must be 1 to {MAX_TITLE_CHARS} characters")
        if not 1 <= len(clean_text) <= MAX_TEXT_CHARS:
            raise InvalidCannedResponse(f"text: must be 1 to {MAX_TEXT_CHARS} characters")
        if team is not None and team not in STAFF_TEAMS:
            raise InvalidCannedResponse(f"team: must be empty or one of {', '.join(STAFF_TEAMS)}")
        try:
            with self._sessions.begin() as session:
                row = session.scalars(
                    select(CannedResponse)
                    .where(func.lower(CannedResponse.title) == clean_title.lower())
                    .with_for_update()
                ).one_or_none()
                if row is not None and row.active:
                    raise CannedResponseExists()
                now = self._clock()
                before = None if row is None else {"text": row.text, "team": row.team}
                if row is None:
                    row = CannedResponse()
                    session.add(row)
                row.title, row.text, row.team, row.active = clean_title, clean_text, team, True
                row.created_by, row.created_at = member.id, now
                session.flush()
                audit(
                    session,
                    at=now,
                    actor=f"staff:{member.id}",
                    action="canned.create",
                    entity="canned_response",
                    entity_id=str(row.id),
                    before=before,
                    after={"title": clean_title, "team": team},
                    conversation_id=None,
                )
                return _canned(row)
        except IntegrityError:
            # The same title was added concurrently; the unique constraint settled it.
            raise CannedResponseExists() from None

    def deactivate(self, member: StaffMember, canned_id: int) -> None:
        """Remove a response from use (supervisors and admins); unknown or removed: not found."""
        if not member.can("supervisor"):
            raise CannedNotAllowed()
        with self._sessions.begin() as session:
            row = session.get(CannedResponse, canned_id, with_for_update=True)
            if row is None or not row.active:
                raise CannedResponseNotFound()
            row.active = False
            audit(
                session,
                at=self._clock(),
                actor=f"staff:{member.id}",
                action="canned.deactivate",
                entity="canned_response",
                entity_id=str(row.id),
                before={"active": True},
                after={"active": False},
                conversation_id=None,
            )


def _canned(row: CannedResponse) -> Canned:
    return Canned(id=row.id, title=row.title, text=row.text, team=row.team)
