-- Berth manager schema, version 1.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE keypairs (
    access_key text PRIMARY KEY,
    secret_key text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keypairs_user ON keypairs (user_id, created_at);

CREATE TABLE login_sessions (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

CREATE TABLE resource_groups (
    name            text PRIMARY KEY,
    description     text NOT NULL DEFAULT '',
    policy          text NOT NULL DEFAULT 'fifo-dispersed',
    fallback_policy text NOT NULL DEFAULT '',
    policy_note     text NOT NULL DEFAULT '',
    rr_cursor       integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO resource_groups (name, description) VALUES ('default', 'the default resource group');

CREATE TABLE agents (
    id             text PRIMARY KEY,
    group_name     text NOT NULL,
    address        text NOT NULL,
    status         text NOT NULL,
    cap_cpu_milli  bigint NOT NULL DEFAULT 0,
    cap_mem        bigint NOT NULL DEFAULT 0,
    cap_gpu        integer NOT NULL DEFAULT 0,
    used_cpu_milli bigint NOT NULL DEFAULT 0,
    used_mem       bigint NOT NULL DEFAULT 0,
    used_gpu       integer NOT NULL DEFAULT 0,
    info           jsonb NOT NULL DEFAULT '{}',
    last_seen      timestamptz NOT NULL DEFAULT now(),
    first_seen     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    owner_id     uuid NOT NULL REFERENCES users (id),
    image        text NOT NULL,
    type         text NOT NULL,
    group_name   text NOT NULL REFERENCES resource_groups (name),
    status       text NOT NULL,
    status_info  text NOT NULL DEFAULT '',
    agent_id     text NOT NULL DEFAULT '',
    cpu_milli    bigint NOT NULL,
    mem          bigint NOT NULL,
    gpu          integer NOT NULL DEFAULT 0,
    -- holds_usage is true while the request is counted in its agent's
    -- used_*: set when placed, cleared exactly once when released.
    holds_usage  boolean NOT NULL DEFAULT false,
    env          jsonb NOT NULL DEFAULT '{}',
    command      jsonb NOT NULL DEFAULT '[]',
    mounts       jsonb NOT NULL DEFAULT '[]',
    priority     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    ended_at     timestamptz,
    result       text NOT NULL DEFAULT '',
    exit_code    integer,
    container_id text NOT NULL DEFAULT '',
    apps         jsonb NOT NULL DEFAULT '[]',
    ports        jsonb NOT NULL DEFAULT '{}',
    logs_tail    text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_live_name ON sessions (owner_id, name)
    WHERE status NOT IN ('TERMINATED', 'CANCELLED', 'ERROR');
CREATE INDEX sessions_pending ON sessions (group_name, created_at) WHERE status = 'PENDING';
CREATE INDEX sessions_agent ON sessions (agent_id) WHERE holds_usage;
CREATE INDEX sessions_owner ON sessions (owner_id, created_at);

CREATE TABLE session_history (
    id         bigserial PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status     text NOT NULL,
    info       text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_history_session ON session_history (session_id, id);

CREATE TABLE app_ports (
    port       integer PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    app        text NOT NULL,
    UNIQUE (session_id, app)
);

CREATE TABLE policies (
    name       text NOT NULL,
    version    integer NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('scheduler', 'auth')),
    hash       text NOT NULL,
    size       integer NOT NULL,
    wasm       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);
