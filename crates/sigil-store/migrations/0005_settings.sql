-- Named values of the database itself: `seal_check`, a fixed text sealed
-- with the key that seals this database's secrets, so that a start with a
-- missing or wrong key is refused at once instead of failing every request.
CREATE TABLE sigil_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
