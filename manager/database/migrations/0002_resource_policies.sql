-- Berth manager schema, version 2: per-user resource policies, reserved
-- start times and session dependencies (the scheduler's Go validators).

CREATE TABLE resource_policies (
    name                    text PRIMARY KEY,
    -- Limits; NULL is unlimited. The max_cpu_milli, max_mem and max_gpu
    -- bound the sum of the requests of a user's placed, not yet ended
    -- sessions (total resource slots).
    max_cpu_milli           bigint CHECK (max_cpu_milli >= 0),
    max_mem                 bigint CHECK (max_mem >= 0),
    max_gpu                 integer CHECK (max_gpu >= 0),
    max_concurrent_sessions integer CHECK (max_concurrent_sessions >= 0),
    max_pending_sessions    integer CHECK (max_pending_sessions >= 0),
    created_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO resource_policies (name) VALUES ('default');

ALTER TABLE users ADD COLUMN resource_policy text NOT NULL DEFAULT 'default'
    REFERENCES resource_policies (name) ON UPDATE CASCADE;

ALTER TABLE sessions
    ADD COLUMN starts_at  timestamptz,
    ADD COLUMN depends_on uuid[] NOT NULL DEFAULT '{}';

-- Counting a user's live sessions (concurrency and pending limits).
CREATE INDEX sessions_owner_live ON sessions (owner_id, status)
    WHERE status NOT IN ('TERMINATED', 'CANCELLED', 'ERROR');
