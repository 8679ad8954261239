// Catching up by id, per room (chatproto/web/static/catchup.js): the same
// cases as the terminal client's tests/test_client_catchup.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CatchUp, GAP, RecentIds, Rooms } from "../../chatproto/web/static/catchup.js";

function replay(catchup, ids, end) {
  const shown = [];
  const notices = [];
  for (const id of ids) {
    const { show, gap } = catchup.history(id);
    if (gap) notices.push(gap);
    if (show) shown.push(id);
  }
  const ended = catchup.historyEnd(end);
  return { shown, notices: [...notices, ...ended.notices], since: ended.since };
}

test("a newcomer's replay is shown once, and its end is the last id", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  const { shown, notices } = replay(catchup, [41n, 42n], 42n);
  assert.deepEqual(shown, [41n, 42n]);
  assert.deepEqual(notices, ["end of history"]);
  assert.equal(catchup.lastId, 42n);
  assert.ok(catchup.live(43n));
  assert.equal(catchup.lastId, 43n);
});

test("a reconnection shows what was missed once, and says how much", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [41n, 42n], 42n);
  catchup.live(43n);
  catchup.entering(true);
  const { shown, notices } = replay(catchup, [43n, 44n, 45n], 45n);
  assert.deepEqual(shown, [44n, 45n]);
  assert.deepEqual(notices, ["end of history (2 lines while you were away)"]);
  assert.ok(!catchup.live(45n), "a live line already replayed is not shown again");
  assert.ok(catchup.live(46n));
});

test("a reconnection with nothing missed says nothing", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [], 10n);
  catchup.entering(true);
  assert.deepEqual(replay(catchup, [], 10n).notices, []);
});

test("lines lost beyond what the server holds are noticed", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [10n], 10n);
  catchup.entering(true);
  assert.deepEqual(replay(catchup, [15n, 16n], 16n).notices, [
    GAP,
    "end of history (2 lines while you were away)",
  ]);
  catchup.entering(true);
  assert.deepEqual(replay(catchup, [], 30n).notices, [GAP]);
});

test("a restart the server announced is not a gap", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [10n], 10n);
  catchup.serverStopping();
  catchup.entering(true);
  const { shown, notices } = replay(catchup, [5000n], 5000n);
  assert.deepEqual(shown, [5000n]);
  assert.deepEqual(notices, ["end of history (1 line while you were away)"]);
});

test("a server that does not know our ids is followed", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [100n], 100n);
  catchup.entering(true);
  replay(catchup, [], 7n);
  assert.equal(catchup.lastId, 7n);
  assert.ok(catchup.live(100n), "id 100 may name another line now");
});

test("history asked for goes back, and only new lines are counted", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [41n, 42n], 42n);
  assert.deepEqual(replay(catchup, [30n, 31n], 42n), {
    shown: [30n, 31n],
    notices: ["end of history"],
    since: null,
  });
  assert.deepEqual(replay(catchup, [41n, 42n], 42n).notices, [
    "nothing you have not seen already",
  ]);
  assert.deepEqual(replay(catchup, [], 42n).notices, ["no more history"]);
  assert.equal(catchup.lastId, 42n);
});

test("back in a room after a while elsewhere, the page asks for the rest", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [], 10n);
  catchup.live(11n);
  // Away in another room; 20 lines said here meanwhile; the plain /join's
  // replay is the newest 5.
  catchup.entering(false);
  const back = replay(catchup, [27n, 28n, 29n, 30n, 31n], 31n);
  assert.deepEqual(back.shown, [27n, 28n, 29n, 30n, 31n]);
  assert.equal(back.since, 11n);
  // The /since brings the rest: the five already shown are skipped.
  const rest = replay(catchup, [12n, 13n, 27n, 31n], 31n);
  assert.deepEqual(rest.shown, [12n, 13n]);
  assert.equal(rest.since, null);
});

test("back in a room whose replay reaches our last line, nothing is asked", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  replay(catchup, [], 10n);
  catchup.entering(false);
  assert.equal(replay(catchup, [9n, 10n, 11n], 11n).since, null);
  catchup.entering(false);
  assert.equal(replay(catchup, [], 11n).since, null);
  catchup.entering(false);
  assert.equal(replay(catchup, [], 14n).since, 11n, "no replay at all (--history-replay 0)");
});

test("without a join replay, live lines are live", () => {
  const catchup = new CatchUp();
  catchup.entering(false);
  assert.ok(catchup.live(5n));
  assert.equal(catchup.lastId, 5n);
});

test("recent ids are bounded", () => {
  const ids = new RecentIds(3);
  for (const id of [1n, 2n, 3n, 4n]) ids.add(id);
  assert.equal(ids.length, 3);
  assert.ok(!ids.has(1n));
  assert.ok(ids.has(4n));
});

test("each room has its own ids and its own lines before the nickname", () => {
  const rooms = new Rooms();
  assert.deepEqual(rooms.joinLines(null), ["/ids on"]);
  assert.deepEqual(rooms.joinLines("physics"), ["/ids on", "/join physics"]);
  const physics = rooms.get("physics");
  physics.entering(false);
  replay(physics, [], 500n);
  const lobby = rooms.get("lobby");
  lobby.entering(false);
  replay(lobby, [], 7n);
  assert.deepEqual(rooms.joinLines("physics"), ["/ids on", "/join physics", "/since 500"]);
  assert.deepEqual(rooms.joinLines("lobby"), ["/ids on", "/join lobby", "/since 7"]);
  rooms.serverStopping();
  assert.ok(physics.serverRestarted && lobby.serverRestarted);
});
