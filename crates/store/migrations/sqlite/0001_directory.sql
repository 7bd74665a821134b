-- The tenant directory (districts, authority kinds, authorities, nodes), the portal's registry of
-- where authority nodes listen, and an authority node's own identity.
--
-- Directory rows are never deleted: a row that leaves the directory file gets `retired_at`, so
-- that records pointing at it (submissions, later) keep their meaning. Ids are the slugs of the
-- directory file; times are RFC 3339 text in UTC. Keep in step with ../postgres/0001_directory.sql.

CREATE TABLE tenants (
    id          TEXT NOT NULL PRIMARY KEY,
    name_de     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    synced_at   TEXT NOT NULL
) STRICT;

CREATE TABLE nodes (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    name_de     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    retired_at  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE districts (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    name_de     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    retired_at  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE authority_kinds (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    name_de     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('district', 'tenant')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    retired_at  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE authorities (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    kind_id     TEXT NOT NULL,
    district_id TEXT,
    name_de     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    retired_at  TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, kind_id) REFERENCES authority_kinds (tenant_id, id),
    FOREIGN KEY (tenant_id, district_id) REFERENCES districts (tenant_id, id),
    FOREIGN KEY (tenant_id, node_id) REFERENCES nodes (tenant_id, id)
) STRICT;

-- Routing a submission asks "which authorities does this node host".
CREATE INDEX authorities_by_node ON authorities (tenant_id, node_id);

-- Where each authority node listens; written by the node (or the demo) when it starts.
CREATE TABLE node_endpoints (
    node_id       TEXT NOT NULL PRIMARY KEY,
    base_url      TEXT NOT NULL,
    registered_at TEXT NOT NULL
) STRICT;

-- An authority node's database belongs to exactly one node: one row, written on first start.
CREATE TABLE node_identity (
    singleton   INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    node_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
