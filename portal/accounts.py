"""Staff accounts, key custody and sessions (DESIGN.md, "Keys").

One argon2id run per passphrase yields the login verifier and the key that wraps the person's
X25519 private key and TOTP secret. A session splits in two: the cookie carries the session id
and a random session key Ks; the database row, found by a hash of the id, holds the private key
boxed under Ks. Neither half alone unlocks anything.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import pyotp
from flask import current_app
from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from portal import audit, crypto, events, state
from portal.config import Config
from portal.db import transaction, utcnow
from portal.errors import DomainError
from portal.models import (
    AccountStatus,
    LoginThrottle,
    Role,
    RoleRequest,
    RoleRequestKind,
    RoleRequestState,
    StaffRole,
    StaffSession,
    StaffUser,
)

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_LENGTH = 256
TOTP_STEP = 30
SESSION_TOUCH_SECONDS = 60
# Demo accounts only (`portal demo`); printed in the README and by `portal demo` on purpose.
DEMO_PASSPHRASE = "demo-Passphrase-2026-not-for-production"  # noqa: S105


class AccountError(DomainError):
    """Base of the account errors; `code` names the reason for the user-facing message."""

    code = "account"

    def __init__(self, code: str | None = None, detail: str = "") -> None:
        super().__init__(code or self.code)
        self.detail = detail


class InvalidUsername(AccountError):
    """The username is malformed or already taken."""


class InvalidRole(AccountError):
    """A role name that does not exist, or no role at all."""


class WeakPassphrase(AccountError):
    """The passphrase is too easy to guess (the estimator says so, not just its length)."""


class LoginFailed(AccountError):
    """Passphrase, TOTP code or account state did not allow a login."""


class ActivationFailed(AccountError):
    """The activation code is unknown, used, or expired, or the TOTP check failed."""


class NotFound(AccountError):
    """No such account."""


class LoginThrottled(AccountError):
    """Too many failed logins for this username: the next attempt must wait (#21.14)."""

    code = "slow-down"

    def __init__(self, wait_seconds: int) -> None:
        super().__init__("slow-down")
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class CurrentStaff:
    """The logged-in staff member of this request, with the session key Ks in memory only."""

    user_id: int
    username: str
    roles: frozenset[str]
    session_hash: str
    session_key: bytes

    def private_key(self, db: Session) -> bytes:
        """Unwrap this person's private key from the session row with Ks."""
        row = db.get(StaffSession, self.session_hash)
        if row is None:
            raise LoginFailed("session")
        return crypto.decrypt(
            self.session_key, row.private_key_box, {"what": "session-key", "s": self.session_hash}
        )

    @property
    def actor(self) -> audit.Actor:
        """This person as an audit actor."""
        return audit.Actor(self.username, self.user_id)

    def has(self, *roles: str) -> bool:
        """Whether this person holds any of the roles."""
        return bool(self.roles.intersection(roles))


def _config() -> Config:
    return state.config()


def _staff_cost() -> crypto.KdfCost:
    cfg = _config()
    return crypto.KdfCost(cfg.staff_kdf_time_cost, cfg.staff_kdf_memory_kib)


def _mac_key() -> bytes:
    return state.secrets().pubkey_mac_key


def _owner(user: StaffUser) -> str:
    return f"staff:{user.username}:{user.key_generation}"


def check_username(username: str) -> str:
    """Normalise and validate a username."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise InvalidUsername("username-format")
    return name


def check_roles(roles: Iterable[str]) -> list[str]:
    """Validate role names; at least one is required."""
    valid = {r.value for r in Role}
    chosen = sorted(set(roles))
    if not chosen:
        raise InvalidRole("no-role")
    unknown = [r for r in chosen if r not in valid]
    if unknown:
        raise InvalidRole("unknown-role", ", ".join(unknown))
    check_admin_alone(chosen)
    return chosen


def check_admin_alone(roles: Iterable[str]) -> None:
    """An administrator account holds no other role (#21.3): whoever manages accounts must not
    also be able to use what the accounts give."""
    held = set(roles)
    if Role.admin.value in held and len(held) > 1:
        raise InvalidRole("admin-alone")


def check_passphrase_strength(passphrase: str, username: str = "") -> None:
    """Refuse passphrases that are short or that the zxcvbn estimator finds guessable."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise WeakPassphrase("too-short")
    if len(passphrase) > MAX_PASSPHRASE_LENGTH:
        raise WeakPassphrase("too-long")
    # zxcvbn is quadratic in length; the first 100 characters carry the estimate.
    result = zxcvbn(passphrase[:100], user_inputs=[username] if username else [])
    if result["score"] < 3:
        warning = result.get("feedback", {}).get("warning") or ""
        raise WeakPassphrase("guessable", warning)


def _get_user(db: Session, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    return user


def _install_credentials(user: StaffUser, passphrase: str, totp_secret: str) -> None:
    """Give an account a fresh salt, verifier, key pair and boxed TOTP secret."""
    user.kdf_salt = crypto.random_bytes(16)
    keys = crypto.derive_passphrase_keys(passphrase, user.kdf_salt, _staff_cost())
    public, private = crypto.generate_keypair()
    user.verifier = keys.verifier
    user.public_key = public
    user.public_key_mac = crypto.public_key_mac(_mac_key(), _owner(user), public)
    user.private_key_box = crypto.encrypt(
        keys.wrap_key, private, {"what": "staff-private-key", "owner": _owner(user)}
    )
    user.totp_box = crypto.encrypt(
        keys.wrap_key, totp_secret.encode(), {"what": "staff-totp", "owner": _owner(user)}
    )
    user.last_totp_step = 0
    user.status = AccountStatus.active


def verified_public_key(user: StaffUser) -> bytes:
    """The account's public key, after checking its MAC (raise KeyIntegrityError if swapped)."""
    if user.public_key is None:
        raise crypto.KeyIntegrityError(user.username)
    return crypto.check_public_key(_mac_key(), _owner(user), user.public_key, user.public_key_mac)


def totp_uri(username: str, secret: str) -> str:
    """otpauth:// URI for authenticator apps."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="干部监督公示与举报平台")


def create_account_with_passphrase(
    db: Session,
    username: str,
    roles: Iterable[str],
    passphrase: str,
    *,
    demo: bool = False,
    actor: audit.Actor = audit.CLI,
) -> tuple[StaffUser, str]:
    """Create an active account for its own holder (CLI); return it and its TOTP secret."""
    name = check_username(username)
    chosen = check_roles(roles)
    check_passphrase_strength(passphrase, name)
    totp_secret = pyotp.random_base32(32)
    with transaction(db):
        if db.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
            raise InvalidUsername("username-taken")
        user = StaffUser(username=name, is_demo=demo, key_generation=0)
        user.roles = [StaffRole(role=r) for r in chosen]
        _install_credentials(user, passphrase, totp_secret)
        db.add(user)
        db.flush()
        # The command line is run by the holder on the server (PRODUCT.md): no second person,
        # but supervisors still see the roles it gave in the log of role changes.
        for role in chosen:
            log_role_change(db, user, RoleRequestKind.grant, role, actor,
                            state=RoleRequestState.done)
        audit.record(db, actor, "account.created", name, roles=chosen, via="cli", demo=demo)
    return user, totp_secret


def log_role_change(db: Session, user: StaffUser, kind: RoleRequestKind, role: str,
                    actor: audit.Actor, *, state: RoleRequestState,
                    second_half: str | None = None) -> RoleRequest:
    """Add one row to the role requests (the log supervisors read), in the caller's
    transaction. A row that is not pending is decided at once by whoever asked."""
    now = utcnow()
    row = RoleRequest(user_id=user.id, kind=kind, role=role, state=state,
                      requested_by_id=actor.id, requested_by=actor.label, requested_at=now,
                      decided_by="", decided_at=None)
    if state != RoleRequestState.pending:
        row.decided_by_id, row.decided_by, row.decided_at = actor.id, actor.label, now
    if second_half is not None:
        row.second_half_box = crypto.encrypt(_half_key(), second_half.encode(),
                                             _half_place(user))
    db.add(row)
    db.flush()
    return row


def _half_key() -> bytes:
    # The second half waits in the database for its confirming person: boxed under a key that
    # lives only in the instance folder, so a copy of the database alone does not hold it.
    return crypto.mac(state.secrets().secret_key, "portal/activation-second-half")


def _half_place(user: StaffUser) -> dict[str, object]:
    return {"what": "activation-second-half", "u": user.username,
            "g": str(user.key_generation)}


def open_second_half(row: RoleRequest) -> str:
    """The second half of an activation code held by a pending activation row."""
    if row.second_half_box is None:
        raise ActivationFailed("bad-code")
    return crypto.decrypt(_half_key(), row.second_half_box, _half_place(row.user)).decode()


def _withdraw_pending(db: Session, user: StaffUser, actor: audit.Actor,
                      kind: RoleRequestKind | None = None) -> None:
    """Withdraw an account's pending requests (of one kind, or all); erase held halves."""
    query = select(RoleRequest).where(RoleRequest.user_id == user.id,
                                      RoleRequest.state == RoleRequestState.pending)
    if kind is not None:
        query = query.where(RoleRequest.kind == kind)
    for row in db.scalars(query):
        row.state = RoleRequestState.withdrawn
        row.decided_by_id, row.decided_by, row.decided_at = actor.id, actor.label, utcnow()
        row.second_half_box = None


def _split_code() -> tuple[str, str]:
    """An activation code in two halves (#21.3): the administrator who creates or resets the
    account sees the first, a second person (another administrator or the head concerned) the
    second; the holder types both. Each half alone has 72 random bits."""
    return crypto.random_token(9), crypto.random_token(9)


def join_code(first: str, second: str) -> str:
    """The whole activation code from its two typed halves."""
    return (first or "").strip() + (second or "").strip()


def create_pending_account(
    db: Session, username: str, roles: Iterable[str], actor: audit.Actor
) -> tuple[StaffUser, str]:
    """Admin creates an account: each role is asked for (a second person confirms it), and the
    first half of the activation code is returned; the second half waits for a second person.
    """
    name = check_username(username)
    chosen = check_roles(roles)
    first, second = _split_code()
    with transaction(db):
        if db.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
            raise InvalidUsername("username-taken")
        user = StaffUser(username=name, status=AccountStatus.pending, key_generation=0)
        _set_activation(user, join_code(first, second))
        db.add(user)
        db.flush()
        for role in chosen:
            log_role_change(db, user, RoleRequestKind.grant, role, actor,
                            state=RoleRequestState.pending)
        log_role_change(db, user, RoleRequestKind.activation, "", actor,
                        state=RoleRequestState.pending, second_half=second)
        audit.record(db, actor, "account.created", name, roles_asked=chosen, via="admin")
    return user, first


def _set_activation(user: StaffUser, code: str) -> None:
    user.activation_hash = crypto.hash_token(code)
    user.activation_expires_at = utcnow() + dt.timedelta(days=_config().activation_days)
    user.pending_totp_box = None


def _pending_by_code(db: Session, username: str, code: str) -> StaffUser:
    user = db.scalar(
        select(StaffUser).where(
            StaffUser.username == username.strip().lower(),
            StaffUser.activation_hash == crypto.hash_token(code.strip()),
            StaffUser.status == AccountStatus.pending,
        )
    )
    if user is None or user.activation_expires_at is None:
        raise ActivationFailed("bad-code")
    if user.activation_expires_at < utcnow():
        raise ActivationFailed("expired-code")
    return user


def _code_key(code: str, user: StaffUser) -> bytes:
    # The activation code is high-entropy; a keyed hash suffices to derive a box key from it.
    return crypto.mac(code.strip().encode(), "portal/activation", user.username)


def begin_activation(db: Session, username: str, code: str) -> str:
    """Step one: check the code and propose a TOTP secret (boxed under the code); return it."""
    user = _pending_by_code(db, username, code)
    secret = pyotp.random_base32(32)
    with transaction(db):
        user = _pending_by_code(db, username, code)
        user.pending_totp_box = crypto.encrypt(
            _code_key(code, user), secret.encode(), {"what": "pending-totp", "u": user.username}
        )
    return secret


def pending_totp_secret(db: Session, username: str, code: str) -> str:
    """The TOTP secret proposed in step one (to show the QR code again after an error)."""
    user = _pending_by_code(db, username, code)
    if user.pending_totp_box is None:
        raise ActivationFailed("bad-code")
    return crypto.decrypt(
        _code_key(code, user), user.pending_totp_box, {"what": "pending-totp", "u": user.username}
    ).decode()


def complete_activation(
    db: Session, username: str, code: str, passphrase: str, totp_code: str
) -> StaffUser:
    """Step two: the holder proves the authenticator works and sets their own passphrase."""
    secret = pending_totp_secret(db, username, code)
    check_passphrase_strength(passphrase, username)
    step = _matching_step(secret, totp_code)
    if step is None:
        raise ActivationFailed("bad-totp")
    with transaction(db):
        user = _pending_by_code(db, username, code)
        _install_credentials(user, passphrase, secret)
        user.last_totp_step = step
        user.activation_hash = None
        user.activation_expires_at = None
        user.pending_totp_box = None
        audit.record(db, audit.Actor(user.username, user.id), "account.activated", user.username,
                     key_generation=user.key_generation,
                     fingerprint=crypto.fingerprint(user.public_key or b""))
    return user


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (t-1, t or t+1) whose code matches, or None."""
    digits = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", digits):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if crypto.equal(totp.at(step * TOTP_STEP).encode(), digits.encode()):
            return step
    return None


def _record_failure(db: Session, username: str, reason: str, user: StaffUser | None) -> None:
    for attempt in (1, 2):
        try:
            with transaction(db):
                audit.record(
                    db,
                    audit.Actor(user.username, user.id) if user else audit.Actor("unknown"),
                    "login.failed",
                    user.username if user else "",
                    reason=reason,
                )
                _count_failure(db, username)
            return
        except IntegrityError:
            if attempt == 2:  # two workers created the same throttle row at once: count again
                raise


# Failed logins are forgotten a day after the last one (a holder's typing errors of last week
# do not slow them down today).
THROTTLE_MEMORY = dt.timedelta(days=1)


def _throttle_key(username: str) -> str:
    return crypto.mac(state.secrets().pubkey_mac_key, "portal/login-throttle", username).hex()


def _count_failure(db: Session, username: str) -> None:
    """One more failed login for this typed username; past the free ones, the next attempt
    must wait 2, 4, 8 … seconds, up to the configured bound (#21.14). No lock-out."""
    cfg, now = _config(), utcnow()
    db.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - THROTTLE_MEMORY))
    key = _throttle_key(username)
    row = db.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, last_failure_at=now)
        db.add(row)
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - cfg.login_account_free_failures
    if over >= 0:
        wait = min(cfg.login_account_max_delay_seconds, 2 ** min(over + 1, 30))
        row.not_before = now + dt.timedelta(seconds=wait)


def login_wait(db: Session, username: str) -> int:
    """Seconds this username must still wait before its next login attempt (0: none)."""
    row = db.get(LoginThrottle, _throttle_key(username.strip().lower()[:64]))
    if row is None or row.not_before is None:
        return 0
    left = (row.not_before - utcnow()).total_seconds()
    return math.ceil(left) if left > 0 else 0


def login(db: Session, username: str, passphrase: str, totp_code: str) -> str:
    """Check passphrase and TOTP, open a session; return the cookie value (id and Ks)."""
    name = username.strip().lower()[:64]
    wait = login_wait(db, name)
    if wait:
        # Not even checked: a right guess during the wait would tell the guesser it is right.
        raise LoginThrottled(wait)
    user = db.scalar(select(StaffUser).where(StaffUser.username == name))
    cost = _staff_cost()
    if user is None or not user.is_active or user.kdf_salt is None:
        # Spend the same work as a real check so timing does not reveal which accounts exist.
        crypto.derive_passphrase_keys(passphrase, b"\0" * 16, cost)
        _record_failure(db, name, "no-such-active-account", user)
        raise LoginFailed("credentials")
    keys = crypto.derive_passphrase_keys(passphrase[:MAX_PASSPHRASE_LENGTH], user.kdf_salt, cost)
    if user.verifier is None or not crypto.equal(keys.verifier, user.verifier):
        _record_failure(db, name, "passphrase", user)
        raise LoginFailed("credentials")
    place = {"owner": _owner(user)}
    secret = crypto.decrypt(keys.wrap_key, user.totp_box or b"", {"what": "staff-totp", **place})
    step = _matching_step(secret.decode(), totp_code)
    if step is None:
        _record_failure(db, name, "totp", user)
        raise LoginFailed("credentials")
    private = crypto.decrypt(
        keys.wrap_key, user.private_key_box or b"", {"what": "staff-private-key", **place}
    )
    try:
        public = verified_public_key(user)
        if not crypto.equal(crypto.public_of(private), public):
            raise crypto.KeyIntegrityError(user.username)
    except crypto.KeyIntegrityError:
        _record_failure(db, name, "public-key-integrity", user)
        raise LoginFailed("key-integrity") from None

    session_id, session_key = crypto.random_bytes(32), crypto.random_bytes(32)
    id_hash = crypto.session_id_hash(session_id)
    try:
        with transaction(db):
            _open_session(db, user, step, id_hash, session_key, private)
    except LoginFailed:
        _record_failure(db, name, "totp-replay", user)
        raise LoginFailed("credentials") from None
    return crypto.b64(session_id + session_key)


def _open_session(
    db: Session, user: StaffUser, step: int, id_hash: str, session_key: bytes, private: bytes
) -> None:
    # Atomic compare-and-set: of two logins with the same code, in any two processes,
    # exactly one moves the step forward.
    moved = _rowcount(db.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, StaffUser.last_totp_step < step)
        .values(last_totp_step=step)
    ))
    if moved != 1:
        raise LoginFailed("totp-replay")
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == _throttle_key(user.username)))
    now = utcnow()
    db.add(
        StaffSession(
            id_hash=id_hash,
            user_id=user.id,
            private_key_box=crypto.encrypt(
                session_key, private, {"what": "session-key", "s": id_hash}
            ),
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=_config().session_absolute_hours),
        )
    )
    audit.record(db, audit.Actor(user.username, user.id), "login.ok", user.username)


def _split_cookie(cookie: str) -> tuple[bytes, bytes] | None:
    try:
        raw = crypto.unb64(cookie)
    except ValueError:
        return None
    if len(raw) != 64:
        return None
    return raw[:32], raw[32:]


def load_session(db: Session, cookie: str | None) -> CurrentStaff | None:
    """Resolve a session cookie; expired or idle sessions are deleted and yield None."""
    parts = _split_cookie(cookie or "")
    if parts is None:
        return None
    session_id, session_key = parts
    id_hash = crypto.session_id_hash(session_id)
    row = db.get(StaffSession, id_hash)
    if row is None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=_config().session_idle_minutes)
    user = db.get(StaffUser, row.user_id)
    if now >= row.expires_at or now - row.last_seen_at > idle or user is None or not user.is_active:
        with transaction(db):
            db.execute(delete(StaffSession).where(StaffSession.id_hash == id_hash))
            audit.record(db, audit.Actor(user.username if user else "unknown", row.user_id),
                         "session.expired", "")
        return None
    if (now - row.last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
        with transaction(db):
            db.execute(
                update(StaffSession).where(StaffSession.id_hash == id_hash).values(last_seen_at=now)
            )
    return CurrentStaff(user.id, user.username, user.role_names, id_hash, session_key)


def logout(db: Session, staff: CurrentStaff) -> None:
    """End a session: its row is deleted, so the cookie's Ks opens nothing any more."""
    with transaction(db):
        db.execute(delete(StaffSession).where(StaffSession.id_hash == staff.session_hash))
        audit.record(db, staff.actor, "logout", staff.username)


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _end_sessions(db: Session, user_id: int) -> int:
    return _rowcount(db.execute(delete(StaffSession).where(StaffSession.user_id == user_id)))


def _access_lost(db: Session, user: StaffUser, roles: Iterable[str], actor: audit.Actor) -> None:
    """Tell the feature packages (queues) that this account lost the given roles' access, in
    the caller's transaction. The portal never imports them; they subscribe to the event."""
    events.access_lost.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                            db=db, user=user, roles=frozenset(roles), actor=actor)


def reset_account(db: Session, user_id: int, actor: audit.Actor) -> tuple[StaffUser, str]:
    """Admin reset (lost passphrase or TOTP device): end sessions, drop keys, new activation.

    The old private key is destroyed; on re-activation a new key pair is issued, so any queue
    access must be granted again by a head after a fingerprint check.
    """
    first, second = _split_code()
    with transaction(db):
        user = _get_user(db, user_id)
        if user.status == AccountStatus.deactivated:
            raise AccountError("deactivated")
        if user.id == actor.id:
            raise AccountError("self")
        ended = _end_sessions(db, user.id)
        _access_lost(db, user, user.role_names, actor)
        user.status = AccountStatus.pending
        user.key_generation += 1
        user.verifier = user.public_key = user.public_key_mac = None
        user.private_key_box = user.totp_box = user.kdf_salt = None
        user.last_totp_step = 0
        _set_activation(user, join_code(first, second))
        _withdraw_pending(db, user, actor, RoleRequestKind.activation)
        log_role_change(db, user, RoleRequestKind.activation, "", actor,
                        state=RoleRequestState.pending, second_half=second)
        audit.record(db, actor, "account.reset", user.username, sessions_ended=ended,
                     key_generation=user.key_generation, queue_access="must-be-regranted")
    return user, first


def deactivate(db: Session, user_id: int, actor: audit.Actor) -> StaffUser:
    """Deactivate an account; its sessions end at once."""
    with transaction(db):
        user = _get_user(db, user_id)
        if user.id == actor.id:
            raise AccountError("self")
        ended = _end_sessions(db, user.id)
        _access_lost(db, user, user.role_names, actor)
        user.status = AccountStatus.deactivated
        user.activation_hash = None
        _withdraw_pending(db, user, actor)
        audit.record(db, actor, "account.deactivated", user.username, sessions_ended=ended)
    return user


def set_roles(db: Session, user_id: int, roles: Iterable[str],
              actor: audit.Actor) -> tuple[list[str], list[str]]:
    """An administrator asks for an account's roles to become `roles` (#21.3).

    Roles it loses are revoked at once (losing power needs nobody's confirmation; its sessions
    end). Roles it gains are asked for: each is a pending request until a second person
    confirms it, and gives nothing before. Returns (roles asked for, roles revoked).
    """
    chosen = check_roles(roles)
    with transaction(db):
        user = _get_user(db, user_id)
        if user.id == actor.id:
            raise AccountError("self")
        if user.status == AccountStatus.deactivated:
            raise AccountError("deactivated")
        held = set(user.role_names)
        pending = {r.role: r for r in db.scalars(select(RoleRequest).where(
            RoleRequest.user_id == user.id, RoleRequest.kind == RoleRequestKind.grant,
            RoleRequest.state == RoleRequestState.pending))}
        lost = sorted(held - set(chosen))
        asked = sorted(set(chosen) - held - set(pending))
        for role, row in pending.items():
            if role not in chosen:
                row.state = RoleRequestState.withdrawn
                row.decided_by_id, row.decided_by, row.decided_at = actor.id, actor.label, utcnow()
        if lost:
            user.roles = [r for r in user.roles if r.role not in lost]
            db.flush()
            _access_lost(db, user, lost, actor)  # after the change: hooks see the roles kept
            ended = _end_sessions(db, user.id)
            for role in lost:
                log_role_change(db, user, RoleRequestKind.revoke, role, actor,
                                state=RoleRequestState.done)
            audit.record(db, actor, "account.roles.revoked", user.username, roles=lost,
                         sessions_ended=ended)
        for role in asked:
            log_role_change(db, user, RoleRequestKind.grant, role, actor,
                            state=RoleRequestState.pending)
        if asked:
            audit.record(db, actor, "account.roles.asked", user.username, roles=asked)
    return asked, lost


def demo_totp_code(db: Session, username: str) -> str:
    """The current TOTP code of a demo account (demo accounts only)."""
    user = db.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or not user.is_demo or not user.is_active or user.kdf_salt is None:
        raise NotFound("not-demo")
    keys = crypto.derive_passphrase_keys(DEMO_PASSPHRASE, user.kdf_salt, _staff_cost())
    secret = crypto.decrypt(
        keys.wrap_key, user.totp_box or b"", {"what": "staff-totp", "owner": _owner(user)}
    )
    # The next step's code once this step's was used, so `staff code` works twice a minute.
    step = max(int(time.time() // TOTP_STEP), user.last_totp_step + 1)
    return pyotp.TOTP(secret.decode()).at(step * TOTP_STEP)


def list_accounts(db: Session) -> list[StaffUser]:
    """All accounts, by username (admin page)."""
    return list(db.scalars(select(StaffUser).order_by(StaffUser.username)))


# A deliberately plain address (ASCII local part and host name): it goes into a mail header,
# so nothing that could break out of one (CR, LF, quotes, angle brackets) is accepted.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}"
    r"@(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


class InvalidEmail(AccountError):
    """Not an e-mail address the portal can send notices to."""

    code = "email-format"


def set_email(db: Session, user_id: int, email: str, actor: audit.Actor) -> StaffUser:
    """Set (or, with an empty string, clear) where an account's content-free notices go."""
    address = email.strip()
    if address:
        local, _at, domain = address.rpartition("@")
        address = f"{local}@{domain.lower()}"
        if len(address) > 254 or not EMAIL_RE.fullmatch(address) or ".." in address:
            raise InvalidEmail()
    with transaction(db):
        user = _get_user(db, user_id)
        user.email = address or None
        # The address itself stays out of the log; its domain shows where notices now go.
        audit.record(db, actor, "account.email", user.username,
                     email=f"@{address.rpartition('@')[2]}" if address else "cleared")
    return user
