// The page's session and the server's moderation (chatproto/web/static/
// chat.js): topics, notices, announcements, refusals, being put out.
import assert from "node:assert/strict";
import { test } from "node:test";

import { NO_COMMAND_AS_NICK, chatLine, secret } from "../../chatproto/web/static/typed.js";
import { Harness, history } from "./harness.mjs";

function joined({ nick = "alice", room = "lobby" } = {}) {
  const h = new Harness({ nick });
  h.chat.connect();
  h.server("NICK");
  h.server(`WELCOME ${nick} to ${room}`, `ROOM ${room}`);
  h.sent();
  return h;
}

test("the topic that comes on entering is shown in the header, quietly", () => {
  const h = joined();
  h.server("TOPIC lobby be kind", "HISTORY-END 10", "ID 11 JOIN alice", "USERS alice");
  assert.equal(h.view.topicShown, "be kind");
  assert.deepEqual(h.view.announced, []);
  assert.ok(!h.shown().some((line) => line.includes("be kind")));
});

test("a topic change updates the header and is announced", () => {
  const h = joined();
  h.server("HISTORY-END 10", "ID 11 JOIN alice", "USERS alice");
  h.server("ID 12 NOTICE teacher set the topic: week 12", "ID 13 TOPIC lobby week 12");
  assert.equal(h.view.topicShown, "week 12");
  assert.deepEqual(h.view.announced, ["The topic of lobby is now: week 12"]);
  assert.deepEqual(h.shown().slice(-1), ["** teacher set the topic: week 12"]);
});

test("a replayed TOPIC does not undo the current one", () => {
  const h = joined();
  h.server(
    "TOPIC lobby new",
    ...history([5, "NOTICE teacher set the topic: old"], [6, "TOPIC lobby old"]),
    "HISTORY-END 6",
  );
  assert.equal(h.view.topicShown, "new");
  assert.deepEqual(h.view.announced, []);
});

test("another room's topic (from /rooms) leaves the header alone", () => {
  const h = joined();
  h.server("TOPIC lobby here");
  h.server("ROOMS lobby 1 physics 2", "TOPIC lobby here", "TOPIC physics optics");
  assert.equal(h.view.topicShown, "here");
  assert.equal(h.chat.topics.get("physics"), "optics");
});

test("entering a room without a topic clears the header", () => {
  const h = joined();
  h.server("TOPIC lobby be kind", "HISTORY-END 10");
  h.chat.joinRoom("physics");
  h.server("ROOM physics", "HISTORY-END 3");
  assert.equal(h.view.topicShown, "");
});

test("/topic typed is answered in the log", () => {
  const h = joined();
  h.server("TOPIC lobby be kind", "HISTORY-END 10");
  h.chat.submit("/topic");
  assert.deepEqual(h.sent(), ["/topic"]);
  h.server("TOPIC lobby be kind");
  assert.deepEqual(h.shown().slice(-1), ["Topic of lobby: be kind"]);
  h.chat.submit("/topic");
  h.chat.joinRoom("physics");
  h.server("TOPIC lobby");
  assert.deepEqual(h.shown().slice(-1), ["lobby has no topic"]);
});

test("notices and announcements are lines of their own, a notice about me marked", () => {
  const h = joined();
  h.server("HISTORY-END 10");
  h.server(
    "ID 11 NOTICE teacher muted alice for 5 minutes",
    "ID 12 NOTICE teacher set slow mode: one line every 30 seconds",
    "ID 13 ANNOUNCE admin fire drill at 10:00",
  );
  assert.deepEqual(h.shown().slice(-3), [
    "[@] ** teacher muted alice for 5 minutes",
    "** teacher set slow mode: one line every 30 seconds",
    ">> admin: fire drill at 10:00",
  ]);
});

test("notices, topics and announcements are caught up once, by id", () => {
  const h = joined();
  h.server("HISTORY-END 10", "ID 11 JOIN alice", "USERS alice");
  h.server("ID 12 NOTICE teacher set the topic: optics", "ID 13 TOPIC lobby optics");
  h.server("ID 14 ANNOUNCE admin hello");
  h.shown();
  h.drop();
  h.timers.fire();
  h.server("NICK");
  assert.deepEqual(h.sent(), ["/ids on", "/join lobby", "/since 14", "alice"]);
  h.server(
    "WELCOME alice to lobby",
    "ROOM lobby",
    "TOPIC lobby optics",
    ...history(
      [13, "TOPIC lobby optics"],
      [14, "ANNOUNCE admin hello"],
      [15, "NOTICE teacher kicked bob"],
      [16, "ANNOUNCE admin bye"],
    ),
    "HISTORY-END 16",
    "ID 14 ANNOUNCE admin hello",
    "ID 16 ANNOUNCE admin bye",
    "ID 17 JOIN alice",
  );
  assert.deepEqual(h.shown(), [
    "-- reconnected",
    "== lobby",
    "[h] ** teacher kicked bob",
    "[h] >> admin: bye",
    "-- end of history (2 lines while you were away)",
    "alice joined",
  ]);
  assert.equal(h.chat.rooms.get("lobby").lastId, 17n);
});

test("muted: said plainly with the time, and the line goes back in the box", () => {
  const h = joined();
  h.server("HISTORY-END 10");
  assert.ok(h.chat.submit("can I say this?"));
  h.server("ERROR muted you are muted in lobby until lifted; you can still read");
  assert.deepEqual(h.shown().slice(-1), [
    "!! You are muted in lobby until lifted: you can still read, but what you write " +
      "is not sent. It is back in the message box.",
  ]);
  assert.equal(h.view.box, "can I say this?");
});

test("slow mode: which line goes back, and nothing over what is typed", () => {
  const h = joined();
  h.server("HISTORY-END 10");
  h.chat.submit("first");
  h.chat.submit("/me waves");
  h.chat.submit("/who");
  h.server("ID 11 MSG alice first");
  h.server(
    "ERROR slow-mode lobby is in slow mode: one line every 30 seconds; wait 12 more " +
      "seconds (your line was not sent)",
  );
  assert.equal(h.view.box, "/me waves");
  const said = h.shown().at(-1);
  assert.ok(said.startsWith("!! lobby is in slow mode: one message every 30 seconds."), said);
  assert.ok(said.includes("wait 12 seconds (until 12:00:12)"), said);
  assert.ok(said.endsWith("It is back in the message box."), said);
  // Typed meanwhile: kept, not overwritten.
  h.view.box = "something new";
  h.chat.submit("third");
  h.server("ERROR slow-mode lobby is in slow mode: one line every 30 seconds; wait 2 more seconds");
  assert.equal(h.view.box, "something new");
  assert.ok(!h.shown().at(-1).includes("back in the message box"));
});

test("kicked from the server: said plainly, and the page does not come back", () => {
  const h = joined();
  h.server("HISTORY-END 10");
  h.server("ERROR kicked you were kicked by teacher; goodbye");
  assert.deepEqual(h.shown().slice(-1), ["!! You were kicked by teacher."]);
  h.drop();
  assert.deepEqual(h.timers.waiting(), []);
  assert.deepEqual(h.view.offlines.at(-1), [
    "You were kicked by teacher. Reload the page to join again.",
    null,
  ]);
  const before = h.sockets.length;
  h.chat.retryNow(); // the browser back online, say
  assert.equal(h.sockets.length, before);
  assert.deepEqual(h.view.asked, [], "not asked for a nickname either");
});

test("banned from the server, even before the nickname: final", () => {
  const h = new Harness({ nick: "alice" });
  h.chat.connect();
  h.server("ERROR banned your address is banned from this server until lifted");
  h.drop();
  assert.deepEqual(h.timers.waiting(), []);
  assert.deepEqual(h.view.offlines.at(-1), [
    "Your address is banned from this server until lifted.",
    null,
  ]);
});

test("banned from a room the page asked to join: it stays, and reconnects as usual", () => {
  const h = joined();
  h.server("HISTORY-END 10");
  h.chat.joinRoom("physics");
  h.server("ERROR banned you are banned from physics until lifted");
  h.server("ID 11 MSG bob still here");
  h.drop();
  assert.deepEqual(h.timers.waiting(), [1000]);
});

test("times in INFO lines (a mute, /bans) are local", () => {
  const h = joined();
  h.server("INFO you are muted in lobby until lifted; you can still read");
  assert.deepEqual(h.shown().slice(-1), ["you are muted in lobby until lifted; you can still read"]);
  const noon = new Date(2024, 0, 1, 12, 0, 0); // the harness's now
  const utc = `${String(noon.getUTCHours()).padStart(2, "0")}:05`;
  h.server(`INFO you are muted in lobby until ${utc} UTC (5 minutes from now); you can still read`);
  assert.deepEqual(h.shown().slice(-1), [
    "you are muted in lobby until 12:05 (in 5 minutes); you can still read",
  ]);
});

test("not-permitted is said plainly", () => {
  const h = joined();
  h.chat.submit("/announce hello");
  h.server("ERROR not-permitted only an operator may announce");
  assert.deepEqual(h.shown().slice(-1), ["!! Not allowed: only an operator may announce."]);
});

test("/oper is sent, and its password kept nowhere", () => {
  const h = joined();
  assert.ok(secret("/oper teacher hunter2"));
  assert.ok(secret("  /OPER teacher hunter2"));
  assert.ok(!secret("/operator"));
  assert.ok(!secret("hello /oper"));
  assert.ok(h.chat.submit("/oper teacher hunter2"));
  assert.deepEqual(h.sent(), ["/oper teacher hunter2"]);
  h.server("ERROR not-permitted wrong operator name or password");
  h.server("INFO you are an operator now (teacher)");
  // Sent, and then kept nowhere: not the storage, the log, the box, the session.
  const { socket, view, ...session } = h.chat;
  assert.equal(socket, h.socket);
  const everything = JSON.stringify([...h.stored, view.lines, view.box, session]);
  assert.ok(!everything.includes("hunter2"), everything);
});

test("a nickname starting with / is neither sent nor kept", () => {
  const h = new Harness();
  h.chat.connect();
  h.server("NICK");
  h.sent();
  h.chat.chooseNick("/oper teacher hunter2");
  assert.deepEqual(h.sent(), []);
  assert.deepEqual(h.view.asked.at(-1), NO_COMMAND_AS_NICK);
  assert.equal(h.chat.nick, null);
});

test("which typed lines are chat, echoed by the server", () => {
  for (const line of ["hello", "//slash", "/me waves", "/ME waves"]) {
    assert.ok(chatLine(line), line);
  }
  for (const line of ["/msg bob hi", "/mute bob", "/me", "/oper a b"]) {
    assert.ok(!chatLine(line), line);
  }
});

test("moderation commands are sent as typed", () => {
  const h = joined();
  const typed = [
    "/kick bob too loud",
    "/mute bob 5",
    "/unmute bob",
    "/ban bob 60",
    "/unban bob",
    "/bans",
    "/slow 30",
    "/topic week 12",
    "/announce fire drill",
  ];
  for (const line of typed) assert.ok(h.chat.submit(line));
  assert.deepEqual(h.sent(), typed);
});
