"""schedule: segments, session controls, timeline, scheduler job store, runs and lease

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("offset_s", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("site_id", BigId, nullable=True),
        sa.Column("pip_site_id", BigId, nullable=True),
        sa.Column("scene", sa.String(length=32), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("talking_points", sa.Text(), nullable=False),
        sa.Column("faq_tags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["pip_site_id"], ["sites.id"], name=op.f("fk_segments_pip_site_id_sites"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_segments_session_id_sessions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_segments_site_id_sites"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
    )
    op.create_index("ix_segments_session_position", "segments", ["session_id", "position"], unique=False)
    op.create_table(
        "session_controls",
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("robot_url", sa.String(length=512), nullable=False),
        sa.Column("current_segment_id", BigId, nullable=True),
        sa.Column("segment_started_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("on_air_site_id", BigId, nullable=True),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["current_segment_id"], ["segments.id"],
                                name=op.f("fk_session_controls_current_segment_id_segments"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["on_air_site_id"], ["sites.id"], name=op.f("fk_session_controls_on_air_site_id_sites"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_controls_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_controls")),
    )
    op.create_table(
        "session_timeline",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_timeline_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_timeline")),
    )
    op.create_index("ix_session_timeline_session_at", "session_timeline", ["session_id", "at"], unique=False)
    op.create_table(
        "schedule_job_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("session_id", BigId, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("planned_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ran_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_schedule_job_runs_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_job_runs")),
        sa.UniqueConstraint("job_id", "planned_at", name=op.f("uq_schedule_job_runs_job_id_planned_at")),
    )
    op.create_index(op.f("ix_schedule_job_runs_session_id"), "schedule_job_runs", ["session_id"], unique=False)
    op.create_table(
        "schedule_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_leases")),
    )
    # APScheduler's SQLAlchemyJobStore table (it would create it itself; here migrations own it).
    op.create_table(
        "schedule_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_jobs")),
    )
    op.create_index(op.f("ix_schedule_jobs_next_run_time"), "schedule_jobs", ["next_run_time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_schedule_jobs_next_run_time"), table_name="schedule_jobs")
    op.drop_table("schedule_jobs")
    op.drop_table("schedule_leases")
    op.drop_index(op.f("ix_schedule_job_runs_session_id"), table_name="schedule_job_runs")
    op.drop_table("schedule_job_runs")
    op.drop_index("ix_session_timeline_session_at", table_name="session_timeline")
    op.drop_table("session_timeline")
    op.drop_table("session_controls")
    op.drop_index("ix_segments_session_position", table_name="segments")
    op.drop_table("segments")
