-- A history database written by chatproto 0.1.0 (one room per file,
-- ids unique in the file), as `sqlite3 history.db .dump` shows it.
BEGIN TRANSACTION;
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    args TEXT NOT NULL
);
INSERT INTO "history" VALUES(1795291100334,'physics',1795291100.0,'JOIN','bob');
INSERT INTO "history" VALUES(1795291100335,'physics',1795291101.0,'MSG','bobanyone here?');
INSERT INTO "history" VALUES(1795291100336,'physics',1795291102.0,'MSG','bobzoë says héllo 👋');
INSERT INTO "history" VALUES(1795291100337,'physics',1795291103.0,'LEAVE','bobbye');
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO "meta" VALUES('last_id',1795291100337);
COMMIT;
