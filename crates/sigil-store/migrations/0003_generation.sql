-- A counter that every change or removal of a client or access token
-- raises, in the same transaction. Processes that cache clients and tokens
-- poll it to learn that another process (sigil admin, a second instance)
-- changed something.
CREATE TABLE sigil_generation (
    id     BIGINT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO sigil_generation (id, value) VALUES (1, 0)
