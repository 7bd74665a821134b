-- Delivery between the portal and authority nodes (issue 5).
--
-- At the portal: the public keys pinned for each node (encryption and signing), and the nonces
-- of signed messages already accepted (replay protection). At an authority node: the cases it
-- has received, kept as the JWE that arrived (encrypted at rest to the node's own key), and the
-- same nonce table. Both node kinds share this schema; each uses its part.
-- Keep in step with ../sqlite/0004_delivery.sql.

CREATE TABLE node_keys (
    node_id     TEXT NOT NULL PRIMARY KEY,
    -- the public JWKS as pinned by the operator (rathaus keys generate)
    jwks        TEXT NOT NULL,
    pinned_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE seen_nonces (
    signer      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (signer, nonce)
);

CREATE INDEX seen_nonces_by_time ON seen_nonces (seen_at);

CREATE TABLE cases (
    delivery_id   TEXT NOT NULL PRIMARY KEY,
    reference     TEXT NOT NULL,
    authority_id  TEXT NOT NULL,
    service_key   TEXT NOT NULL,
    envelope      BYTEA NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('received', 'in_progress',
                      'needs_information', 'decided')),
    received_at   TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX cases_by_authority ON cases (authority_id, received_at);
