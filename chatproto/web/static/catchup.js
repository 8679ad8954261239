// Catching up by id (docs/protocol.rst, "Catching up"): each room line shown
// once, across dropped connections and room switches.  The same logic as the
// terminal client's chatproto/client/catchup.py, kept per room, since ids of
// different rooms have nothing to do with each other.  No DOM, no socket.

// How many ids to remember per room: twice what the server can replay.
export const REMEMBER = 20000;

export const GAP = "some earlier messages are no longer available";

/** A set of the `size` ids added last. */
export class RecentIds {
  constructor(size = REMEMBER) {
    this.size = size;
    this.order = [];
    this.ids = new Set();
  }

  has(id) {
    return this.ids.has(id);
  }

  get length() {
    return this.ids.size;
  }

  add(id) {
    if (this.ids.has(id)) return;
    this.order.push(id);
    this.ids.add(id);
    if (this.order.length > this.size) this.ids.delete(this.order.shift());
  }

  clear() {
    this.order = [];
    this.ids.clear();
  }
}

/** What a room's catch-up knows: the ids shown, the last id offered. */
export class CatchUp {
  constructor(remember = REMEMBER) {
    this.lastId = null;
    this.shown = new RecentIds(remember);
    this.resumed = false; // this entry into the room sent /since
    this.joining = false; // entered; the entry's replay has not ended
    this.replay = null;
    this.serverRestarted = false; // the server said it was stopping
    this.before = null; // lastId when the room was entered
  }

  /**
   * The room is being entered: `resumed` if with `/since <lastId>` before
   * the nickname (a reconnection), else by a plain `/join` or a first join.
   */
  entering(resumed) {
    this.resumed = resumed && this.lastId !== null;
    this.joining = true;
    this.replay = null;
    this.before = this.lastId;
  }

  serverStopping() {
    this.serverRestarted = true;
  }

  /** A HISTORY line: {show, gap}: whether to show it, a notice to show first. */
  history(id) {
    let gap = null;
    if (this.replay === null) {
      this.replay = this.newReplay();
      if (this.replay.resumed && this.lostBefore(id)) gap = GAP;
    }
    this.replay.received += 1;
    if (this.replay.first === null) this.replay.first = id;
    if (this.shown.has(id)) return { show: false, gap };
    this.replay.shown += 1;
    this.saw(id);
    return { show: true, gap };
  }

  /** An ID line: whether it is new (and so to be shown). */
  live(id) {
    this.joining = false; // with --history-replay 0 no replay comes
    if (this.shown.has(id)) return false;
    this.saw(id);
    return true;
  }

  /**
   * HISTORY-END: {notices, since}: the notices to show (a gap, a divider),
   * and the id to send `/since` with to fetch what a plain `/join` skipped
   * (lines said while this page was in another room), or null.
   */
  historyEnd(id) {
    const replay = this.replay || this.newReplay();
    this.replay = null;
    this.joining = false;
    const notices = [];
    let since = null;
    if (replay.resumed && !replay.received && this.lostBefore(id + 1n)) {
      notices.push(GAP);
    }
    if (replay.joining) {
      const before = this.before;
      if (!replay.resumed && before !== null && id > before) {
        // Back in a room after a while elsewhere: the join's replay is the
        // newest lines; if it does not reach back to ours, fetch the rest.
        const first = replay.first;
        if (first === null || first > before + 1n) since = before;
      }
      if (this.lastId !== null && id < this.lastId) {
        // The server does not know our ids (its clock went back, say):
        // they may name other lines now.
        this.shown.clear();
      }
      this.lastId = id;
      this.serverRestarted = false;
    } else {
      this.lastId = this.lastId === null || id > this.lastId ? id : this.lastId;
    }
    notices.push(...divider(replay));
    return { notices, since };
  }

  newReplay() {
    return {
      joining: this.joining,
      resumed: this.joining && this.resumed,
      received: 0,
      shown: 0,
      first: null, // the first id it brought
    };
  }

  saw(id) {
    this.shown.add(id);
    if (this.lastId === null || id > this.lastId) this.lastId = id;
  }

  // Whether lines between our last id and `first` are gone.  Over one run of
  // the server ids grow by one, so a jump means the server no longer holds
  // what was in between; a restart the page saw announced explains a jump.
  lostBefore(first) {
    return (
      this.lastId !== null && first > this.lastId + 1n && !this.serverRestarted
    );
  }
}

function divider(replay) {
  if (replay.joining) {
    if (!replay.shown) return [];
    if (replay.resumed) {
      const lines = replay.shown === 1 ? "1 line" : `${replay.shown} lines`;
      return [`end of history (${lines} while you were away)`];
    }
    return ["end of history"];
  }
  if (replay.shown) return ["end of history"];
  if (replay.received) return ["nothing you have not seen already"];
  return ["no more history"];
}

/** The catch-ups of every room this page has been in, by room name. */
export class Rooms {
  constructor(remember = REMEMBER) {
    this.remember = remember;
    this.rooms = new Map();
  }

  get(room) {
    let catchup = this.rooms.get(room);
    if (!catchup) {
      catchup = new CatchUp(this.remember);
      this.rooms.set(room, catchup);
    }
    return catchup;
  }

  /**
   * What to send before the nickname on a new connection, to land back in
   * `room` (null: the default room) with everything said there since.
   */
  joinLines(room) {
    const lines = ["/ids on"];
    if (room !== null) {
      lines.push(`/join ${room}`);
      const last = this.rooms.get(room)?.lastId ?? null;
      if (last !== null) lines.push(`/since ${last}`);
    }
    return lines;
  }

  serverStopping() {
    for (const catchup of this.rooms.values()) catchup.serverStopping();
  }
}
