"""notice.search_text and its substring index: the archive's free-text search without a scan

The archive looked for q with LIKE '%q%' in four columns of two tables: a scan of every notice
and person (407 ms at 100k notices on SQLite). Now one column holds the title, the issuer and
every post, one per line (written by the service), and each database indexes its trigrams:

* SQLite: a contentless FTS5 table `notice_search` (tokenize='trigram', SQLite 3.34+) of the
  published notices' search_text, kept in step by three triggers on notice. A batch migration
  that recreates the notice table drops these triggers: it must create them again.
* PostgreSQL: pg_trgm (a trusted extension: the database owner may create it) and a GIN
  trigram index `notice_search`, which serves ILIKE '%q%'. The extension goes to the public
  schema, not the portal's, so dropping one portal schema never drops it from under another;
  the index names its operator class with that schema.

The downgrade leaves pg_trgm installed: other schemas of the database may use it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# As publicity.models.SEARCH_SEPARATOR when this was written: a migration never imports the
# models, which will change after it.
_POSTS = {
    'sqlite': "(SELECT group_concat(p.current_post || char(10) || p.proposed_post, char(10)) "
              "FROM (SELECT current_post, proposed_post FROM notice_person "
              "WHERE notice_id = notice.id ORDER BY position) AS p)",
    'postgresql': "(SELECT string_agg(p.current_post || E'\\n' || p.proposed_post, E'\\n' "
                  "ORDER BY p.position) FROM notice_person p WHERE p.notice_id = notice.id)",
}
_NEWLINE = {'sqlite': "char(10)", 'postgresql': "E'\\n'"}

# SQLite: the FTS5 rowid of a published notice is its place in the archive's order, newest
# first: -(julian day of period_start * 2**32 + id). A search reads the index in rowid order
# and stops after a page, so a common word costs no more than a rare one. Drafts are not
# indexed. Contentless: the text stays in notice.search_text; a 'delete' passes the old one.
_PUBLISHED = "{row}.status IN ('approved', 'withdrawn') AND {row}.period_start IS NOT NULL"
_KEY = "-(CAST(julianday({row}.period_start) AS INTEGER) * 4294967296 + {row}.id)"


def _index(row: str) -> str:
    return (f"INSERT INTO notice_search (rowid, search_text) "
            f"SELECT {_KEY.format(row=row)}, {row}.search_text "
            f"WHERE {_PUBLISHED.format(row=row)};")


def _unindex(row: str) -> str:
    return (f"INSERT INTO notice_search (notice_search, rowid, search_text) "
            f"SELECT 'delete', {_KEY.format(row=row)}, {row}.search_text "
            f"WHERE {_PUBLISHED.format(row=row)};")


_SQLITE_UP = (
    "CREATE VIRTUAL TABLE notice_search USING fts5(search_text, content='', "
    "tokenize='trigram')",
    f"CREATE TRIGGER notice_search_insert AFTER INSERT ON notice BEGIN {_index('new')} END",
    f"CREATE TRIGGER notice_search_delete AFTER DELETE ON notice BEGIN {_unindex('old')} END",
    "CREATE TRIGGER notice_search_update AFTER UPDATE OF search_text, status, period_start "
    f"ON notice BEGIN {_unindex('old')} {_index('new')} END",
    # S608: built from the constants above, no input.
    f"INSERT INTO notice_search (rowid, search_text) SELECT {_KEY.format(row='notice')}, "  # noqa: S608
    f"search_text FROM notice WHERE {_PUBLISHED.format(row='notice')}",
)


def _sqlite_up() -> None:
    for statement in _SQLITE_UP:
        op.execute(statement)


def _postgresql_up() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    schema = op.get_bind().scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"))
    quoted = '"' + str(schema).replace('"', '""') + '"'
    op.execute(f"CREATE INDEX notice_search ON notice USING gin "
               f"(search_text {quoted}.gin_trgm_ops)")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place): a batch
    # copy of notice would cascade-delete its persons, foreign keys being on.
    op.add_column('notice', sa.Column('search_text', sa.Text(), server_default='',
                                      nullable=False))
    # S608: built from the constants above, no input.
    op.execute(f"UPDATE notice SET search_text = title || {_NEWLINE[dialect]} || issuer"  # noqa: S608
               f" || COALESCE({_NEWLINE[dialect]} || {_POSTS[dialect]}, '')")
    if dialect == 'sqlite':
        _sqlite_up()
    elif dialect == 'postgresql':
        _postgresql_up()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER notice_search_{trigger}")
        op.execute("DROP TABLE notice_search")
    elif dialect == 'postgresql':
        op.execute("DROP INDEX notice_search")
    op.drop_column('notice', 'search_text')
