"""Alembic environment for the ledger: run by ``pbr db upgrade`` and on first use.

The connection comes from the caller (``config.attributes["connection"]``); there is no
alembic.ini: the script location is this folder, inside the installed package.
"""

from alembic import context

from pbr_rules.ledger.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
