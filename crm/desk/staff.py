"""Support-staff accounts for the agent console: members, passwords, sign-in and sessions.

Each public method of :class:`StaffService` is one unit of work (or two, for sign-in) and
returns frozen dataclasses, as in :mod:`crm.records.orders`; every change writes an audit row.
Nothing here knows about Rasa or the web framework; errors are those of :mod:`crm.records.errors`.

Why it is built this way:

* Passwords are hashed with Argon2id (``argon2-cffi``, its RFC 9106 low-memory defaults).
  Hashing and verifying take tens of milliseconds on purpose, so they run outside database
  transactions, which on SQLite hold the write lock (crm/records/db.py).
* Sign-in never tells whether an email belongs to staff: unknown email, wrong password and a
  deactivated member raise the same :class:`~crm.records.errors.InvalidCredentials`, and an unknown
  email still costs one Argon2 verification (against a dummy hash), so timing tells nothing.
* Guessing is throttled per email and per client *before* the password is checked. An attempt
  is recorded as failed before its password is verified and marked as succeeded afterwards, so
  a crash, an error or a burst of parallel requests cannot escape the count. Refused
  (throttled) requests are not recorded: they guessed nothing, and counting them would let a
  lock-out extend itself and make ``retry_after_s`` untrue.
* The browser keeps the session token; the database keeps only its SHA-256, so a copy of the
  database cannot be used to sign in. Sessions are found by that hash.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.records.audit import audit
from crm.records.contacts import InvalidContact
from crm.records.contacts import normalise_email as validated_email
from crm.records.errors import InvalidCredentials, InvalidStaffDetails, StaffExists, TooManyAttempts
from crm.records.models import (
    STAFF_ROLES,
    StaffLoginAttempt,
    StaffSession,
    StaffUser,
    normalise_email,
    utcnow,
)

__all__ = [
    "CLIENT_FAILURE_LIMIT",
    "EMAIL_FAILURE_LIMIT",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "THROTTLE_WINDOW",
    "SignedIn",
    "StaffMember",
    "StaffService",
    "hash_session_token",
]

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 256
MAX_NAME_LENGTH: Final = 100
# Failed sign-ins allowed within THROTTLE_WINDOW before further attempts are refused. The
# per-client limit is higher because several staff may share an office's address.
THROTTLE_WINDOW: Final = timedelta(minutes=15)
EMAIL_FAILURE_LIMIT: Final = 5
CLIENT_FAILURE_LIMIT: Final = 20
# How stale a session's presence (last_seen_at) may get while its console page is open: the
# live page asks every second, and the assistant counts staff seen within STAFF_PRESENCE_SECONDS.
PRESENCE_WRITE: Final = timedelta(seconds=30)

_TOKEN_BYTES: Final = 32
_MAX_EMAIL_COLUMN: Final = 254  # StaffLoginAttempt.email
_MAX_CLIENT_COLUMN: Final = 64  # StaffLoginAttempt.client
# A raw token is 43 characters; anything much longer is garbage not worth hashing.
_MAX_TOKEN_INPUT: Final = 256
_RANK: Final = {role: rank for rank, role in enumerate(STAFF_ROLES)}
# Namespaces of the PostgreSQL advisory locks that serialise sign-ins per email and per client.
_LOCK_EMAIL: Final = 0x5157
_LOCK_CLIENT: Final = 0x5158


@dataclass(frozen=True)
class StaffMember:
    """A support-staff member as the console sees them (never the password hash)."""

    id: int
    email: str
    name: str
    role: str
    team: str

    def can(self, role: str) -> bool:
        """Whether this member's role is ``role`` or above (agent < supervisor < admin).

        An unknown role raises ``ValueError``: a misspelt check must not quietly grant or deny.
        """
        if role not in _RANK:
            raise ValueError(f"unknown staff role {role!r}")
        return _RANK[self.role] >= _RANK[role]


@dataclass(frozen=True)
class SignedIn:
    """A new console session: the raw token goes in the cookie and exists nowhere else."""

    token: str
    csrf_token: str
    member: StaffMember
    expires_at: datetime


@dataclass(frozen=True)
class _Candidate:
    """The account an attempt names, read before the password is verified."""

    id: int
    password_hash: str
    active: bool


def hash_session_token(raw: str) -> str:
    """Return the SHA-256 hex digest under which a session token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class StaffService:
    """Create staff members, sign them in and out, and resolve console sessions.

    ``clock`` is injectable so tests can move time (session expiry, throttle windows);
    ``hasher`` so tests can use cheap Argon2 parameters. It must produce Argon2id.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        session_ttl: timedelta = timedelta(hours=8),
        hasher: PasswordHasher | None = None,
    ) -> None:
        if session_ttl <= timedelta(0):
            raise ValueError("session_ttl must be positive")
        self._sessions = sessions
        self._clock = clock
        self._session_ttl = session_ttl
        self._hasher = hasher or PasswordHasher()
        if self._hasher.type is not Type.ID:
            raise ValueError("staff passwords are hashed with Argon2id")
        # Verified against when the email is unknown, so that case costs what a real one does.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(_TOKEN_BYTES))

    # --- members ------------------------------------------------------------------------

    def create_member(
        self,
        *,
        email: str,
        name: str,
        password: str,
        role: str,
        team: str = "general",
        actor: str,
    ) -> StaffMember:
        """Create an active member; raises InvalidStaffDetails or StaffExists.

        The password is checked for length only (12 to 256 characters): length is what makes
        a password hard to guess, and composition rules mostly make it hard to remember.
        """
        if not actor:
            raise ValueError("actor is required for audited changes")
        address = _checked_email(email)
        clean_name = _checked_name(name)
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise InvalidStaffDetails(
                f"password: must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
            )
        if role not in STAFF_ROLES:
            raise InvalidStaffDetails(f"role: must be one of {', '.join(STAFF_ROLES)}")
        if team not in STAFF_TEAMS:
            raise InvalidStaffDetails(f"team: must be one of {', '.join(STAFF_TEAMS)}")
        password_hash = self._hasher.hash(password)  # slow: before the transaction opens

        try:
            with self._sessions.begin() as session:
                taken = session.scalar(select(StaffUser.id).where(StaffUser.email == address))
                if taken is not None:
                    raise StaffExists()
                now = self._clock()
                user = StaffUser(
                    email=address,
                    name=clean_name,
                    password_hash=password_hash,
                    role=role,
                    team=team,
                    active=True,
                    created_at=now,
                )
                session.add(user)
                session.flush()
                audit(
                    session,
                    at=now,
                    actor=actor,
                    action="staff.create",
                    entity="staff_user",
                    entity_id=str(user.id),
                    before=None,
                    after={
                        "email": address,
                        "name": clean_name,
                        "role": role,
                        "team": team,
                        "active": True,
                    },
                    conversation_id=None,
                )
                return _member(user)
        except IntegrityError:
            # The same address was added concurrently; the unique constraint settled it.
            raise StaffExists() from None

    def members(self) -> list[StaffMember]:
        """Return the active members, ordered by name (case-insensitively, on every database)."""
        with self._sessions.begin() as session:
            users = session.scalars(
                select(StaffUser)
                .where(StaffUser.active.is_(True))
                .order_by(func.lower(StaffUser.name), StaffUser.id)
            )
            return [_member(user) for user in users]

    def member(self, member_id: int) -> StaffMember | None:
        """Return an active member by id; ``None`` if unknown or deactivated."""
        with self._sessions.begin() as session:
            user = session.get(StaffUser, member_id)
            return _member(user) if user is not None and user.active else None

    # --- signing in and out -------------------------------------------------------------

    def sign_in(self, *, email: str, password: str, client: str) -> SignedIn:
        """Check a password and open a session; raises TooManyAttempts or InvalidCredentials.

        ``client`` identifies where the attempt came from (the remote address) for throttling.
        A failed attempt is committed before the exception is raised.
        """
        now = self._clock()
        address = normalise_email(email)[:_MAX_EMAIL_COLUMN]
        source = client.strip()[:_MAX_CLIENT_COLUMN]
        attempt_id, candidate = self._start_attempt(address, source, now)

        if candidate is None:
            self._verify(self._dummy_hash, password)
            raise InvalidCredentials()
        if not self._verify(candidate.password_hash, password) or not candidate.active:
            raise InvalidCredentials()
        new_hash = (
            self._hasher.hash(password)
            if self._hasher.check_needs_rehash(candidate.password_hash)
            else None
        )

        with self._sessions.begin() as session:
            user = session.scalars(
                select(StaffUser).where(StaffUser.id == candidate.id).with_for_update()
            ).one_or_none()
            # Deactivated, or the password changed, while the password was being verified.
            if user is None or not user.active or user.password_hash != candidate.password_hash:
                raise InvalidCredentials()
            session.get_one(StaffLoginAttempt, attempt_id).succeeded = True
            if new_hash is not None:
                user.password_hash = new_hash
            token = secrets.token_urlsafe(_TOKEN_BYTES)
            csrf_token = secrets.token_urlsafe(_TOKEN_BYTES)
            expires_at = now + self._session_ttl
            row = StaffSession(
                token_hash=hash_session_token(token),
                user_id=user.id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=expires_at,
                last_seen_at=now,
            )
            session.add(row)
            session.flush()
            audit(
                session,
                at=now,
                actor=f"staff:{user.id}",
                action="staff.sign_in",
                entity="staff_user",
                entity_id=str(user.id),
                before=None,
                after={
                    "session_id": row.id,
                    "expires_at": expires_at.isoformat(),
                    "password_rehashed": new_hash is not None,
                },
                conversation_id=None,
            )
            return SignedIn(
                token=token, csrf_token=csrf_token, member=_member(user), expires_at=expires_at
            )

    def session(self, token: str) -> tuple[StaffMember, str] | None:
        """Return ``(member, csrf_token)`` for a live session, else ``None``.

        Live means: known token, not revoked, not expired, and the member still active.
        """
        if not token or len(token) > _MAX_TOKEN_INPUT:
            return None
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.execute(
                select(StaffSession, StaffUser)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffSession.token_hash == hash_session_token(token))
            ).one_or_none()
            if row is None:
                return None
            found, user = row
            if found.revoked_at is not None or found.expires_at <= now or not user.active:
                return None
            # Presence: every page and every live update of the console passes here. Written at
            # most every PRESENCE_WRITE, so an open page costs a write now and then.
            if found.last_seen_at is None or now - found.last_seen_at >= PRESENCE_WRITE:
                found.last_seen_at = now
            return _member(user), found.csrf_token

    def sign_out(self, token: str) -> None:
        """Revoke the session of ``token``; unknown or already revoked tokens are ignored."""
        if not token or len(token) > _MAX_TOKEN_INPUT:
            return
        with self._sessions.begin() as session:
            found = session.scalars(
                select(StaffSession)
                .where(StaffSession.token_hash == hash_session_token(token))
                .with_for_update()
            ).one_or_none()
            if found is None or found.revoked_at is not None:
                return
            now = self._clock()
            found.revoked_at = now
            audit(
                session,
                at=now,
                actor=f"staff:{found.user_id}",
                action="staff.sign_out",
                entity="staff_user",
                entity_id=str(found.user_id),
                before=None,
                after={"session_id": found.id},
                conversation_id=None,
            )

    # --- helpers ------------------------------------------------------------------------

    def _start_attempt(
        self, address: str, client: str, now: datetime
    ) -> tuple[int, _Candidate | None]:
        """Refuse if throttled; else record the attempt as failed and read the account."""
        with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Parallel requests must not all read the count before any of them adds to it.
                # SQLite needs nothing: BEGIN IMMEDIATE already serialises units of work.
                # Email before client in every transaction, so two cannot wait on each other.
                _advisory_lock(session, _LOCK_EMAIL, address)
                _advisory_lock(session, _LOCK_CLIENT, client)
            waits = [
                _throttle_wait(
                    session, StaffLoginAttempt.email == address, EMAIL_FAILURE_LIMIT, now
                ),
                _throttle_wait(
                    session, StaffLoginAttempt.client == client, CLIENT_FAILURE_LIMIT, now
                ),
            ]
            throttled = [wait for wait in waits if wait is not None]
            if throttled:
                raise TooManyAttempts(max(throttled))
            attempt = StaffLoginAttempt(email=address, client=client, succeeded=False, at=now)
            session.add(attempt)
            session.flush()
            user = session.scalars(
                select(StaffUser).where(StaffUser.email == address)
            ).one_or_none()
            candidate = (
                None
                if user is None
                else _Candidate(id=user.id, password_hash=user.password_hash, active=user.active)
            )
            return attempt.id, candidate

    def _verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; a malformed stored hash counts as a mismatch."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _checked_email(email: str) -> str:
    try:
        return validated_email(email)
    except InvalidContact as exc:
        raise InvalidStaffDetails(f"email: {exc.reason}") from None


def _checked_name(name: str) -> str:
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= MAX_NAME_LENGTH:
        raise InvalidStaffDetails(f"name: must be 1 to {MAX_NAME_LENGTH} characters")
    if not clean.isprintable():
        raise InvalidStaffDetails("name: must not contain control characters")
    return clean


def _member(user: StaffUser) -> StaffMember:
    return StaffMember(id=user.id, email=user.email, name=user.name, role=user.role, team=user.team)


def _advisory_lock(session: Session, namespace: int, key: str) -> None:
    """Take a PostgreSQL advisory lock on ``key`` until the transaction ends."""
    session.execute(
        select(func.pg_advisory_xact_lock(cast(namespace, Integer), func.hashtext(key)))
    )


def _throttle_wait(
    session: Session, scope: ColumnElement[bool], limit: int, now: datetime
) -> int | None:
    """Seconds until failures in ``scope`` drop below ``limit``; ``None`` if they are below.

    Of the newest ``limit`` failures in the window, the oldest is the one whose expiry lets
    the count fall below the limit again.
    """
    recent = list(
        session.scalars(
            select(StaffLoginAttempt.at)
            .where(
                scope,
                StaffLoginAttempt.succeeded.is_(False),
                StaffLoginAttempt.at > now - THROTTLE_WINDOW,
            )
            .order_by(StaffLoginAttempt.at.desc())
            .limit(limit)
        )
    )
    if len(recent) < limit:
        return None
    remaining = (recent[-1] + THROTTLE_WINDOW - now).total_seconds()
    return max(1, math.ceil(remaining))
