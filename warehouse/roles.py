"""Read-only analyst logins on a PostgreSQL warehouse: a group per warehouse database that holds
SELECT there and may connect nowhere else, members that log in."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, String, text

# The group of a warehouse's analysts is that database's own: p135_analyst_<database>. Before,
# one group served every warehouse on the server; grant-analyst takes its grants away.
GROUP_PREFIX = "p135_analyst_"
OLD_GROUP = "p135_analyst"
MAX_IDENTIFIER_BYTES = 63
PASSWORD_ENV = "P135_ANALYST_PASSWORD"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Names PostgreSQL keeps for itself or that p135 uses; `pg_*` and `p135_analyst_*` are refused separately.
RESERVED = frozenset({"postgres", OLD_GROUP, "public", "none", "current_role", "current_user", "session_user"})
WRITE_PRIVILEGES = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
# What lets any role create large objects in a database (no privilege guards their creation, and
# a read-only transaction does not stop it): executable by PUBLIC unless revoked, per database.
LARGE_OBJECT_FUNCTIONS = ("lo_create(oid)", "lo_creat(integer)", "lo_from_bytea(oid, bytea)",
                          "lo_import(text)", "lo_import(text, oid)")

# pg_roles column -> (keyword when true, keyword when false)
_ATTRIBUTES = {
    "rolcanlogin": ("LOGIN", "NOLOGIN"),
    "rolinherit": ("INHERIT", "NOINHERIT"),
    "rolcreatedb": ("CREATEDB", "NOCREATEDB"),
    "rolcreaterole": ("CREATEROLE", "NOCREATEROLE"),
    "rolreplication": ("REPLICATION", "NOREPLICATION"),
    "rolbypassrls": ("BYPASSRLS", "NOBYPASSRLS"),
}


class AnalystRoleError(Exception):
    """A grant p135 refuses to make; the message says why and what to do instead."""


class RolesNotSupported(AnalystRoleError):
    """The warehouse is SQLite, which has no users or privileges."""


class InvalidRoleName(AnalystRoleError):
    """The role name is malformed, reserved or the warehouse owner's."""


class RoleNotReadOnly(AnalystRoleError):
    """After the grants the role could still write or create (ownership, other memberships, PUBLIC)."""

    def __init__(self, message: str, found: list[str], owner: str, user: str):
        super().__init__(message)
        # Each right still held: a table's name, or "CREATE on schema public", "CREATE on database
        # X", "TEMPORARY on database X"; and who owns the database, who ran the grant.
        self.found, self.owner, self.user = found, owner, user


def check_role_name(role: str) -> None:
    """Refuse names that are not plain lower-case identifiers or that belong to PostgreSQL or p135."""
    if not ROLE_NAME.fullmatch(role):
        raise InvalidRoleName(
            f"invalid role name {role!r}: use 1-63 lower-case letters, digits and underscores, "
            "not starting with a digit"
        )
    if role in RESERVED or role.startswith(("pg_", GROUP_PREFIX)):
        raise InvalidRoleName(f"role name {role!r} is reserved; choose another")


def group_for(database: str) -> str:
    """The analysts' group of one warehouse database, within PostgreSQL's 63-byte names.

    A name too long is cut and ends with a short hash of the whole database name, so two long
    names sharing a beginning still get two groups.
    """
    name = GROUP_PREFIX + database
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    head = name.encode()[:MAX_IDENTIFIER_BYTES - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{head}_{digest}"


def require_postgres(engine: Engine) -> None:
    """Refuse warehouses that are not PostgreSQL."""
    if engine.dialect.name == "postgresql":
        return
    path = engine.url.database or "warehouse.db"
    raise RolesNotSupported(
        f"the warehouse is SQLite ({path}): SQLite has no roles or privileges, so there is no "
        f"read-only login to grant. Give analysts a copy made with sqlite3 {path} \".backup 'COPY.db'\", "
        f"or have them open it read-only: sqlite3 'file:{path}?mode=ro', or the SQLAlchemy URL "
        f"'sqlite:///file:{path}?mode=ro&uri=true'."
    )


def missing_temporary_privilege(engine: Engine) -> tuple[str, str] | None:
    """(user, database) when p135's own login may not create temporary tables in the warehouse
    (publishing reads the year through them): after `grant-analyst` revoked TEMPORARY from PUBLIC,
    a service account that neither owns the database nor was granted it directly has lost it."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        user, database, allowed = conn.execute(text(
            "SELECT current_user, current_database(), has_database_privilege(current_database(), 'TEMPORARY')"
        )).one()
    return None if allowed else (user, database)


def check_grant(engine: Engine, role: str, password: str | None) -> None:
    """Refuse, before touching the database, what grant_analyst would refuse."""
    check_role_name(role)
    require_postgres(engine)
    if password is not None and (password == "" or "\x00" in password):
        raise AnalystRoleError(
            f"{PASSWORD_ENV} is set but empty or contains a NUL byte; unset it for a role without a password"
        )


@dataclass(frozen=True)
class Granted:
    """What grant_analyst did: the warehouse's group, and whether large objects are now refused."""

    group: str
    large_objects_refused: bool
    created: bool = False


# An analyst's query that runs away (a cross join, a client killed mid-query) is stopped by the
# server after this long, and a transaction left open idle is ended: defaults the analyst can
# still raise in a session (SET statement_timeout), so a long export remains possible on purpose.
STATEMENT_TIMEOUT_MINUTES = 15
IDLE_IN_TRANSACTION_MINUTES = 30


def grant_analyst(
    engine: Engine, role: str, password: str | None, *,
    remove_password: bool = False,
    statement_timeout_minutes: int = STATEMENT_TIMEOUT_MINUTES,
    idle_in_transaction_minutes: int = IDLE_IN_TRANSACTION_MINUTES,
) -> Granted:
    """Create or update `role` as a read-only member of this warehouse's analyst group, in one
    transaction; its sessions' statement and idle-in-transaction limits are set (0: none).

    Without `password`, an existing role keeps its own (granting again to change a limit must not
    lock the analyst out); `remove_password` removes it."""
    check_grant(engine, role, password)
    if password is not None and remove_password:
        raise AnalystRoleError("a password and its removal were both asked for")
    with engine.begin() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        database, user, owner = conn.execute(text(
            "SELECT current_database(), current_user, pg_get_userbyid(datdba) FROM pg_database "
            "WHERE datname = current_database()"
        )).one()
        if role == user:
            raise InvalidRoleName(f"{role} is the user p135 connects as; choose another name")
        if role == owner:
            raise InvalidRoleName(f"{role} owns the warehouse database; choose another name")
        group = group_for(database)
        _ensure_role(conn, group, login=False)
        _grant_group(conn, quote(group), quote(database))
        _seal_database(conn, quote(database), quote(group), {quote(user), quote(owner)})
        large_objects_refused = _refuse_large_objects(conn)
        created = _ensure_role(conn, role, login=True)
        _revoke_old_group(conn, role, quote(database))
        member = quote(role)
        if password is not None or remove_password:
            # Not text(): a hash holds colons, which text() would take for bind parameters.
            conn.exec_driver_sql(f"ALTER ROLE {member} PASSWORD {_password_literal(conn, role, password)}")
        conn.execute(text(f"GRANT {quote(group)} TO {member}"))
        conn.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {member}"))
        conn.execute(text(f"REVOKE {WRITE_PRIVILEGES} ON ALL TABLES IN SCHEMA public FROM {member}"))
        # Settings the role gave itself in this database outrank its own: they are what granting
        # again must undo, or the limits below would not be restored.
        conn.execute(text(f"ALTER ROLE {member} IN DATABASE {quote(database)} RESET ALL"))
        # A second guard: an analyst can turn it off per session, the privileges still hold.
        conn.execute(text(f"ALTER ROLE {member} SET default_transaction_read_only = on"))
        conn.execute(text(f"ALTER ROLE {member} SET statement_timeout = '{int(statement_timeout_minutes)}min'"))
        conn.execute(text(f"ALTER ROLE {member} SET idle_in_transaction_session_timeout = "
                          f"'{int(idle_in_transaction_minutes)}min'"))
        _check_read_only(conn, role)
    return Granted(group, large_objects_refused, created)


# Memberships that reach beyond the database: the server's files and programs (COPY TO/FROM a
# file or PROGRAM, pg_read_file). No grant here takes them away, and an analyst must not hold them.
SERVER_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")


class ServerRightsHeld(InvalidRoleName):
    """The role reaches the server's files or programs through a membership p135 will not revoke."""

    def __init__(self, role: str, held: list[str]):
        super().__init__(f"role {role} is a member of {', '.join(held)}; choose another name or revoke it")
        self.held = held


def _refuse_server_rights(conn: Connection, name: str) -> None:
    held = [r for r in SERVER_ROLES if conn.execute(
        text("SELECT pg_has_role(:name, :server, 'MEMBER')"), {"name": name, "server": r}).scalar()]
    if held:
        raise ServerRightsHeld(name, held)


def _ensure_role(conn: Connection, name: str, *, login: bool) -> bool:
    """Create the role, or give an existing one exactly the attributes an analyst needs; whether
    it was created."""
    wanted = {column: False for column in _ATTRIBUTES} | {"rolcanlogin": login, "rolinherit": True}
    found = conn.execute(
        text(f"SELECT rolsuper, {', '.join(_ATTRIBUTES)} FROM pg_roles WHERE rolname = :name"),
        {"name": name},
    ).mappings().first()
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    if found is None:
        conn.execute(text(f"CREATE ROLE {quoted} {'LOGIN' if login else 'NOLOGIN'}"))
        return True
    if found["rolsuper"]:
        # Demoting a superuser because of a typo would lock an administrator out.
        raise InvalidRoleName(
            f"role {name} exists and is a superuser; p135 will not demote it: choose another name"
        )
    _refuse_server_rights(conn, name)
    # Only what differs: a CREATEROLE (non-superuser) admin may not name some attributes at all.
    changes = [_ATTRIBUTES[c][0 if v else 1] for c, v in wanted.items() if found[c] != v]
    if changes:
        conn.execute(text(f"ALTER ROLE {quoted} {' '.join(changes)}"))
    return False


def _grant_group(conn: Connection, group: str, database: str) -> None:
    """SELECT on everything in schema public, now and when created later by this user; nothing else."""
    conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {group}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {group}"))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {group}"))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {group}"))
    conn.execute(text(f"REVOKE {WRITE_PRIVILEGES} ON ALL TABLES IN SCHEMA public FROM {group}"))
    # Loading a programme drops and recreates v_unit_quarter_indicators; migrations add tables.
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {group}"))


def _seal_database(conn: Connection, database: str, group: str, keep: set[str]) -> None:
    """Only this warehouse's own group and its owner may connect; no one may create temporary tables.

    PostgreSQL grants CONNECT and TEMPORARY to PUBLIC on every new database: revoking them from
    the group alone would change nothing, and any analyst of another warehouse could come in.
    """
    conn.execute(text(f"REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC"))
    conn.execute(text(f"REVOKE TEMPORARY ON DATABASE {database} FROM {group}"))
    conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {group}"))
    for role in sorted(keep):
        conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {role}"))


def _refuse_large_objects(conn: Connection) -> bool:
    """Take from PUBLIC, in this database only, the functions that create large objects.

    They belong to the bootstrap superuser: a p135 user that is not a superuser cannot revoke
    them (False), and analysts can then still create large objects (p135 uses none).
    """
    if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        return False
    for function in LARGE_OBJECT_FUNCTIONS:
        conn.execute(text(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC"))
    return True


def _revoke_old_group(conn: Connection, role: str, database: str) -> None:
    """Take from the old server-wide p135_analyst every right it has here, and `role` out of it."""
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": OLD_GROUP}).first() is None:
        return
    quote = conn.dialect.identifier_preparer.quote_identifier
    old = quote(OLD_GROUP)
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {old}"))
    conn.execute(text(f"REVOKE ALL ON SCHEMA public FROM {old}"))
    conn.execute(text(f"REVOKE ALL ON DATABASE {database} FROM {old}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {old}"))
    # A member of the old group could still read every other warehouse it was granted on.
    conn.execute(text(f"REVOKE {old} FROM {quote(role)}"))


def _password_literal(conn: Connection, role: str, password: str | None) -> str:
    """NULL, or the password hashed by libpq so that the clear text never reaches the server's logs."""
    if password is None:
        return "NULL"
    pgconn = getattr(conn.connection.dbapi_connection, "pgconn", None)
    if pgconn is None:
        raise AnalystRoleError("setting a password needs the psycopg driver: postgresql+psycopg://...")
    # None: the server's password_encryption (scram-sha-256 by default) picks the algorithm.
    hashed = pgconn.encrypt_password(password.encode(), role.encode(), None).decode()
    return String().literal_processor(conn.dialect)(hashed)


def _check_read_only(conn: Connection, role: str) -> None:
    """Raise (rolling the grant back) if the role can still write or create, however it got the right."""
    found = conn.execute(text("""
        SELECT format('%I', c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (has_table_privilege(:role, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
               OR has_any_column_privilege(:role, c.oid, 'INSERT, UPDATE')
               OR pg_has_role(:role, c.relowner, 'MEMBER'))
        UNION ALL
        SELECT 'CREATE on schema public' WHERE has_schema_privilege(:role, 'public', 'CREATE')
        UNION ALL
        SELECT 'CREATE on database ' || current_database()
        WHERE has_database_privilege(:role, current_database(), 'CREATE')
        UNION ALL
        SELECT 'TEMPORARY on database ' || current_database()
        WHERE has_database_privilege(:role, current_database(), 'TEMPORARY')
        ORDER BY 1
    """), {"role": role}).scalars().all()
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        user, owner = conn.execute(text(
            "SELECT current_user, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )).one()
        raise RoleNotReadOnly(
            f"role {role} would still be able to write or create ({shown}), through ownership, "
            "another role's membership or a grant to PUBLIC; nothing was changed",
            list(found), owner, user,
        )
