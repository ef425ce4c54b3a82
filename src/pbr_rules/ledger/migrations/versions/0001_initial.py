"""the ledger: events chain, contract versions, decisions, settlement runs, claims

Revision ID: 0001
Revises: 
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('ref', sa.String(length=400), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_events_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_events_prev_hash'))
    )
    op.create_table('idempotency_keys',
    sa.Column('caller', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('caller', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('contract_versions',
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('contract_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('municipality', sa.String(length=10), nullable=False),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('agreement_file', sa.String(length=400), nullable=False),
    sa.Column('loaded_at', sa.String(length=32), nullable=False),
    sa.Column('loaded_by', sa.String(length=200), nullable=False),
    sa.Column('event_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_seq'], ['events.seq'], name=op.f('fk_contract_versions_event_seq')),
    sa.PrimaryKeyConstraint('content_hash', name=op.f('pk_contract_versions')),
    sa.UniqueConstraint('event_seq', name=op.f('uq_contract_versions_event_seq'))
    )
    with op.batch_alter_table('contract_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_versions_contract_id'), ['contract_id'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subject_key', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('contract_hash', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=True),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False),
    sa.Column('result_hash', sa.String(length=64), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('event_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['contract_hash'], ['contract_versions.content_hash'], name=op.f('fk_decisions_contract_hash')),
    sa.ForeignKeyConstraint(['event_seq'], ['events.seq'], name=op.f('fk_decisions_event_seq')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_event_seq'), ['event_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_subject_key'), ['subject_key'], unique=False)

    op.create_table('settlement_runs',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('contract_id', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('contract_hash', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('lines_count', sa.Integer(), nullable=False),
    sa.Column('total_ore', sa.BigInteger(), nullable=False),
    sa.Column('due_now_ore', sa.BigInteger(), nullable=False),
    sa.Column('refused_ore', sa.BigInteger(), nullable=False),
    sa.Column('totals_json', sa.Text(), nullable=False),
    sa.Column('settlement_json', sa.Text(), nullable=False),
    sa.Column('event_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['contract_hash'], ['contract_versions.content_hash'], name=op.f('fk_settlement_runs_contract_hash')),
    sa.ForeignKeyConstraint(['event_seq'], ['events.seq'], name=op.f('fk_settlement_runs_event_seq')),
    sa.ForeignKeyConstraint(['parent_id'], ['settlement_runs.id'], name=op.f('fk_settlement_runs_parent_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_runs')),
    sa.UniqueConstraint('contract_id', 'seq', name=op.f('uq_settlement_runs_contract_id_seq')),
    sa.UniqueConstraint('event_seq', name=op.f('uq_settlement_runs_event_seq')),
    sa.UniqueConstraint('parent_id', name=op.f('uq_settlement_runs_parent_id'))
    )
    op.create_table('claims',
    sa.Column('payment_id', sa.String(length=400), nullable=False),
    sa.Column('contract_id', sa.String(length=200), nullable=False),
    sa.Column('municipality', sa.String(length=10), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('milestone', sa.String(length=200), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('payee', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('first_run_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['first_run_id'], ['settlement_runs.id'], name=op.f('fk_claims_first_run_id')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_claims'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_municipality'), ['municipality'], unique=False)

    op.create_table('run_lines',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.String(length=400), nullable=False),
    sa.Column('amount_ore', sa.BigInteger(), nullable=False),
    sa.Column('payers', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['settlement_runs.id'], name=op.f('fk_run_lines_run_id')),
    sa.PrimaryKeyConstraint('run_id', 'payment_id', name=op.f('pk_run_lines'))
    )
    op.create_table('claim_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('payment_id', sa.String(length=400), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('disputed', sa.Boolean(), nullable=False),
    sa.Column('settled_ore', sa.BigInteger(), nullable=False),
    sa.Column('paid_ore', sa.BigInteger(), nullable=False),
    sa.Column('recovered_ore', sa.BigInteger(), nullable=False),
    sa.Column('amount_ore', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('event_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_seq'], ['events.seq'], name=op.f('fk_claim_events_event_seq')),
    sa.ForeignKeyConstraint(['payment_id'], ['claims.payment_id'], name=op.f('fk_claim_events_payment_id')),
    sa.ForeignKeyConstraint(['run_id'], ['settlement_runs.id'], name=op.f('fk_claim_events_run_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_events')),
    sa.UniqueConstraint('payment_id', 'n', name=op.f('uq_claim_events_payment_id_n'))
    )
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_events_event_seq'), ['event_seq'], unique=False)
        batch_op.create_index('ix_claim_events_state', ['to_state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_events_state')
        batch_op.drop_index(batch_op.f('ix_claim_events_event_seq'))

    op.drop_table('claim_events')
    op.drop_table('run_lines')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_municipality'))
        batch_op.drop_index(batch_op.f('ix_claims_contract_id'))

    op.drop_table('claims')
    op.drop_table('settlement_runs')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_subject_key'))
        batch_op.drop_index(batch_op.f('ix_decisions_event_seq'))

    op.drop_table('decisions')
    with op.batch_alter_table('contract_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_versions_contract_id'))

    op.drop_table('contract_versions')
    op.drop_table('idempotency_keys')
    op.drop_table('events')
