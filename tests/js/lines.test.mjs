// The page's parsing of server lines (chatproto/web/static/lines.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { parseId, parseLine, splitLines } from "../../chatproto/web/static/lines.js";

test("a message is split into its lines", () => {
  assert.deepEqual(splitLines("NICK\r\n"), ["NICK"]);
  assert.deepEqual(splitLines("MSG a x\r\nMSG b y\r\n"), ["MSG a x", "MSG b y"]);
  assert.deepEqual(splitLines("MSG a x\ny\r\n"), ["MSG a x\ny"]);
});

test("each server line becomes its event", () => {
  assert.deepEqual(parseLine("NICK"), { type: "nick" });
  assert.deepEqual(parseLine("WELCOME alice to lobby; type /help"), {
    type: "welcome",
    nick: "alice",
    text: "to lobby; type /help",
  });
  assert.deepEqual(parseLine("ROOM physics"), { type: "room", room: "physics" });
  assert.deepEqual(parseLine("ROOMS lobby 12 physics 3"), {
    type: "rooms",
    rooms: [
      { name: "lobby", count: 12 },
      { name: "physics", count: 3 },
    ],
  });
  assert.deepEqual(parseLine("USERS alice bob"), { type: "users", nicks: ["alice", "bob"] });
  assert.deepEqual(parseLine("MSG bob  two  spaces "), {
    type: "msg",
    nick: "bob",
    text: " two  spaces ",
  });
  assert.deepEqual(parseLine("ACTION bob waves"), { type: "action", nick: "bob", text: "waves" });
  assert.deepEqual(parseLine("PRIVATE bob alice psst"), {
    type: "private",
    from: "bob",
    to: "alice",
    text: "psst",
  });
  assert.deepEqual(parseLine("RENAME bob robert"), { type: "rename", old: "bob", nick: "robert" });
  assert.deepEqual(parseLine("LEAVE bob went to physics"), {
    type: "leave",
    nick: "bob",
    reason: "went to physics",
  });
  assert.deepEqual(parseLine("LEAVE bob"), { type: "leave", nick: "bob", reason: "" });
  assert.deepEqual(parseLine("INFO be kind"), { type: "info", text: "be kind" });
  assert.deepEqual(parseLine("ERROR nick-taken bob is already here"), {
    type: "error",
    code: "nick-taken",
    text: "bob is already here",
  });
});

test("ids are exact past 2**53", () => {
  const event = parseLine("ID 9223372036854775807 MSG bob hi");
  assert.equal(event.type, "numbered");
  assert.equal(event.id, 9223372036854775807n);
  assert.deepEqual(event.event, { type: "msg", nick: "bob", text: "hi" });
  assert.equal(parseId("12"), 12n);
  assert.equal(parseId("+12"), null);
  assert.equal(parseId("١٢"), null);
  assert.equal(parseId("12345678901234567890"), null);
});

test("history lines carry their id, time and room line", () => {
  const event = parseLine("HISTORY 41 2026-11-21T18:02:11Z MSG bob anyone here?");
  assert.equal(event.type, "history");
  assert.equal(event.id, 41n);
  assert.equal(event.time.toISOString(), "2026-11-21T18:02:11.000Z");
  assert.deepEqual(event.event, { type: "msg", nick: "bob", text: "anyone here?" });
  assert.deepEqual(parseLine("HISTORY-MORE 540"), { type: "history-more", id: 540n });
  assert.deepEqual(parseLine("HISTORY-END 542"), { type: "history-end", id: 542n });
});

test("lines missing what their word needs, and unknown words, are ignored", () => {
  for (const line of [
    "",
    "HELLO there",
    "MSG",
    "JOIN",
    "RENAME bob",
    "PRIVATE bob",
    "ID x MSG bob hi",
    "ID 5 USERS a b",
    "ID 5 INFO hi",
    "HISTORY 5 yesterday MSG bob hi",
    "HISTORY 5 2026-13-45T99:99:99Z MSG bob hi",
    "HISTORY-END",
    "HISTORY-END -1",
    "msg bob lower case",
  ]) {
    assert.equal(parseLine(line), null, line);
  }
});

test("moderation lines: NOTICE, ANNOUNCE and TOPIC, bare and as room lines", () => {
  assert.deepEqual(parseLine("NOTICE teacher muted bob for 5 minutes"), {
    type: "moderation",
    nick: "teacher",
    text: "muted bob for 5 minutes",
  });
  assert.deepEqual(parseLine("ANNOUNCE admin fire drill at 10:00"), {
    type: "announce",
    nick: "admin",
    text: "fire drill at 10:00",
  });
  assert.deepEqual(parseLine("TOPIC physics week 12: optics"), {
    type: "topic",
    room: "physics",
    text: "week 12: optics",
  });
  // /topic in a room without one: the room's name and no text.
  assert.deepEqual(parseLine("TOPIC physics"), { type: "topic", room: "physics", text: "" });
  const numbered = parseLine("ID 77 TOPIC lobby be kind");
  assert.equal(numbered.type, "numbered");
  assert.equal(numbered.id, 77n);
  assert.deepEqual(numbered.event, { type: "topic", room: "lobby", text: "be kind" });
  const replayed = parseLine("HISTORY 78 2026-11-21T18:02:11Z NOTICE teacher kicked bob");
  assert.equal(replayed.type, "history");
  assert.deepEqual(replayed.event, { type: "moderation", nick: "teacher", text: "kicked bob" });
  const announced = parseLine("HISTORY 79 2026-11-21T18:02:12Z ANNOUNCE admin hi all");
  assert.deepEqual(announced.event, { type: "announce", nick: "admin", text: "hi all" });
  for (const line of ["NOTICE", "ANNOUNCE", "TOPIC", "ID 5 TOPIC"]) {
    assert.equal(parseLine(line), null, line);
  }
});
