// The page's session (chatproto/web/static/chat.js) with a fake socket:
// what it sends, what it shows, how it reconnects and catches up.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Harness, history } from "./harness.mjs";

function joined({ nick = "alice", room = "lobby" } = {}) {
  const h = new Harness({ nick });
  h.chat.connect();
  h.server("NICK");
  assert.deepEqual(h.sent(), ["/ids on", nick]);
  h.server(`WELCOME ${nick} to ${room}`, `ROOM ${room}`);
  assert.deepEqual(h.sent(), ["/rooms"]);
  return h;
}

test("a newcomer without a nickname is asked for one, and it is remembered", () => {
  const h = new Harness();
  h.chat.connect();
  assert.equal(h.socket.url, "ws://chat.test/ws");
  h.server("NICK");
  assert.deepEqual(h.sent(), ["/ids on"]);
  assert.deepEqual(h.view.asked, [null]);
  h.chat.chooseNick("  bob ");
  h.server("ERROR nick-taken bob is already here", "NICK");
  assert.deepEqual(h.view.asked, [null, "bob is already here"]);
  h.chat.chooseNick("bobby");
  assert.deepEqual(h.sent(), ["bob", "bobby"], "options are sent once per connection");
  h.server("WELCOME bobby to lobby");
  assert.equal(h.stored.get("nick"), "bobby");
  assert.ok(h.view.isOnline);
});

test("a remembered nickname is sent at once", () => {
  joined();
});

test("the replay is shown as history, then live lines", () => {
  const h = joined();
  h.server(
    ...history([41, "JOIN bob"], [42, "MSG bob anyone here?"]),
    "HISTORY-END 42",
    "ID 43 JOIN alice",
    "USERS alice bob",
    "ID 44 MSG bob hi alice",
    "ID 45 ACTION bob waves at ALICE",
    "ID 46 MSG alice hello @bob",
  );
  assert.deepEqual(h.shown(), [
    "== lobby",
    "[h] bob joined",
    "[h] <bob> anyone here?",
    "-- end of history",
    "alice joined",
    "[@] <bob> hi alice",
    "[@] * bob waves at ALICE",
    "<alice> hello @bob",
  ]);
  assert.deepEqual(h.view.peopleShown, ["alice", "bob"]);
});

test("after a dropped connection it reconnects, back to its room, and catches up once", () => {
  const h = joined({ room: "physics" });
  h.server("HISTORY-END 10", "ID 11 JOIN alice", "USERS alice", "ID 12 MSG bob one");
  h.shown();
  h.drop();
  assert.equal(h.view.isOnline, false);
  assert.deepEqual(h.view.offlines.at(-1), ["The connection to the chat server is lost.", 1000]);
  assert.deepEqual(h.timers.waiting(), [1000]);
  h.timers.fire();
  h.server("NICK");
  assert.deepEqual(h.sent(), ["/ids on", "/join physics", "/since 12", "alice"]);
  h.server(
    "WELCOME alice to physics",
    "ROOM physics",
    ...history([12, "MSG bob one"], [13, "LEAVE alice connection lost"], [14, "MSG bob two"]),
    "HISTORY-END 14",
    "ID 15 JOIN alice",
    "ID 14 MSG bob two",
  );
  assert.deepEqual(h.shown(), [
    "-- reconnected",
    "== physics",
    "[h] alice left (connection lost)",
    "[h] <bob> two",
    "-- end of history (2 lines while you were away)",
    "alice joined",
  ]);
});

test("reconnection delays grow, are bounded, and start again once back", () => {
  const h = joined();
  const delays = [];
  for (let i = 0; i < 7; i++) {
    h.drop();
    delays.push(...h.timers.waiting());
    h.timers.fire();
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  h.server("NICK", "WELCOME alice to lobby");
  h.drop();
  assert.deepEqual(h.timers.waiting(), [1000]);
});

test("reconnect now does not wait", () => {
  const h = joined();
  h.drop();
  const before = h.sockets.length;
  h.chat.retryNow();
  assert.equal(h.sockets.length, before + 1);
  assert.deepEqual(h.timers.waiting(), []);
});

test("HISTORY-MORE is followed with /since until the end", () => {
  const h = joined();
  h.server("HISTORY-END 100");
  h.sent();
  h.drop();
  h.timers.fire();
  h.server("NICK");
  assert.deepEqual(h.sent(), ["/ids on", "/join lobby", "/since 100", "alice"]);
  h.server(
    "WELCOME alice to lobby",
    "ROOM lobby",
    ...history([101, "MSG bob a"], [102, "MSG bob b"]),
    "HISTORY-MORE 102",
    "HISTORY-END 104",
  );
  assert.deepEqual(h.sent(), ["/rooms", "/since 102"]);
  h.server(...history([103, "MSG bob c"], [104, "MSG bob d"]), "HISTORY-END 104");
  assert.deepEqual(h.sent(), []);
  assert.deepEqual(
    h.shown().filter((line) => line.startsWith("[h]")),
    ["[h] <bob> a", "[h] <bob> b", "[h] <bob> c", "[h] <bob> d"],
  );
});

test("switching rooms, and back: what was said meanwhile is fetched", () => {
  const h = joined();
  h.server("HISTORY-END 10", "ID 11 JOIN alice", "USERS alice");
  h.chat.joinRoom("physics");
  assert.deepEqual(h.sent(), ["/join physics"]);
  h.server("ROOM physics", "HISTORY-END 500", "ID 501 JOIN alice", "USERS alice");
  assert.equal(h.view.room, "physics");
  assert.equal(h.stored.get("room"), "physics");
  h.chat.joinRoom("lobby");
  h.server("ROOM lobby", ...history([19, "MSG bob late"], [20, "MSG bob later"]), "HISTORY-END 20");
  assert.deepEqual(h.sent(), ["/rooms", "/join lobby", "/rooms", "/since 11"]);
  h.server(...history([12, "MSG bob early"], [19, "MSG bob late"]), "HISTORY-END 21");
  // The view puts "early" in its place by id; no second divider.
  const lobby = h.shown().slice(-4);
  assert.deepEqual(lobby, [
    "[h] <bob> late",
    "[h] <bob> later",
    "-- end of history",
    "[h] <bob> early",
  ]);
});

test("a typed /who is answered in the log; the automatic USERS is not", () => {
  const h = joined();
  h.server("USERS alice");
  assert.ok(h.chat.submit("/who"));
  h.server("USERS alice bob");
  assert.deepEqual(h.shown().slice(-1), ["In lobby: alice, bob"]);
});

test("/rooms typed is shown; the page's own are only listed", () => {
  const h = joined();
  h.server("ROOMS lobby 1 physics 2");
  assert.deepEqual(h.view.roomsShown, ["lobby 1", "physics 2"]);
  h.chat.submit("/rooms");
  h.server("ROOMS lobby 1 physics 3");
  assert.deepEqual(h.shown().slice(-1), ["Rooms: lobby (1), physics (3)"]);
});

test("typed commands are sent as lines", () => {
  const h = joined();
  for (const line of ["/me waves", "/msg bob psst", "/nick alicia", "/history 5", "hello"]) {
    assert.ok(h.chat.submit(line));
  }
  assert.deepEqual(h.sent(), ["/me waves", "/msg bob psst", "/nick alicia", "/history 5", "hello"]);
  h.server("ID 12 RENAME alice alicia");
  assert.equal(h.stored.get("nick"), "alicia");
  assert.ok(!h.chat.submit("   "));
});

test("nothing is sent while offline", () => {
  const h = joined();
  h.drop();
  assert.ok(!h.chat.submit("hello?"));
});

test("after /quit the page does not come back by itself", () => {
  const h = joined();
  h.chat.submit("/quit");
  h.drop();
  assert.deepEqual(h.timers.waiting(), []);
  assert.deepEqual(h.view.offlines.at(-1), ["You left the chat.", null]);
});

test("after a closing error the page waits for the person", () => {
  const h = new Harness();
  h.chat.connect();
  h.server("NICK", "ERROR handshake-timeout no nickname chosen in 60 seconds");
  h.drop();
  assert.deepEqual(h.timers.waiting(), []);
  assert.equal(h.view.asked.length, 2);
  h.chat.chooseNick("carol");
  h.server("NICK");
  assert.deepEqual(h.sent().slice(-2), ["/ids on", "carol"]);
});

test("a server that is full is tried again later", () => {
  const h = new Harness({ nick: "alice" });
  h.chat.connect();
  h.server("ERROR server-full the server has its maximum of 1 connections; try again later");
  h.drop();
  assert.deepEqual(h.timers.waiting(), [1000]);
  assert.equal(h.view.offlines.at(-1)[0], "The chat server cannot be reached.");
});

test("private messages to me are marked", () => {
  const h = joined();
  h.server("PRIVATE bob alice psst", "PRIVATE alice bob hi");
  assert.deepEqual(h.shown().slice(-2), ["[@] bob -> alice: psst", "alice -> bob: hi"]);
});

test("a server shutdown is not a gap once back", () => {
  const h = joined();
  h.server("HISTORY-END 10", "ID 11 MSG bob before");
  h.server("INFO server shutting down");
  h.drop();
  h.timers.fire();
  h.server("NICK", "WELCOME alice to lobby", "ROOM lobby");
  h.server(...history([90000, "MSG bob after"]), "HISTORY-END 90000");
  const shown = h.shown();
  assert.ok(!shown.some((line) => line.includes("no longer available")), shown);
  assert.ok(shown.includes("[h] <bob> after"));
});
