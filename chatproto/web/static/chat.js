// The page's chat session: what to send and what to show, between a
// WebSocket that speaks the line protocol and a view (the DOM, in app.js).
// Like chatproto/client/session.py for the terminal: it knows nothing of the
// DOM, and the socket, the timers and the storage are handed to it, so that
// `node --test` drives it with fakes.

import { GAP, Rooms } from "./catchup.js";
import { retryDelay, roomEntry } from "./format.js";
import { ROOM_EVENTS, parseLine, splitLines } from "./lines.js";
import { REFUSALS, UNSENT, explain, localUntil } from "./refusals.js";
import { NO_COMMAND_AS_NICK, Unsent } from "./typed.js";

// What the server says to everyone when it stops (docs/protocol.rst).
export const SHUTTING_DOWN = "server shutting down";
// A refused nickname: the server asks for another.
const NICK_REJECTIONS = new Set(["nick-invalid", "nick-taken"]);
// The server closes after these, and trying again at once is useless: the
// page waits for the person to choose a nickname again.
const FATAL_ERRORS = new Set(["too-many-attempts", "handshake-timeout", "flood"]);
// How often the list of rooms is refreshed while in one, in ms.
export const ROOMS_REFRESH = 30000;

export class Chat {
  /**
   * @param view what shows the chat (see app.js for the methods it has)
   * @param open (url) => a WebSocket-like object
   * @param url the WebSocket's URL
   * @param timers {setTimeout, clearTimeout, setInterval, clearInterval}
   * @param storage {get(key), set(key, value)}, e.g. over localStorage
   * @param now () => Date
   */
  constructor({ view, open, url, timers, storage, now = () => new Date(), random = Math.random }) {
    this.view = view;
    this.open = open;
    this.url = url;
    this.timers = timers;
    this.storage = storage;
    this.now = now;
    this.random = random;
    this.socket = null;
    this.nick = storage.get("nick") || null; // the nickname to ask for
    this.room = storage.get("room") || null; // the room to be in
    this.me = null; // the nickname the server accepted, while joined
    this.rooms = new Rooms();
    this.people = new Set();
    this.roomList = []; // the rooms there are, as last heard
    this.joinedOnce = false;
    this.attempt = 0; // reconnection attempts since the last welcome
    this.retryTimer = null;
    this.refreshTimer = null;
    this.quitting = false;
    this.fatal = false;
    this.optionsSent = false;
    this.resumeRoom = null; // the room this connection asked to go back to
    this.more = null; // a HISTORY-MORE id to fetch once the replay ends
    this.nickError = null; // why the last nickname was refused
    this.pending = { who: 0, rooms: 0, since: 0, topic: 0 }; // requests made here
    this.topics = new Map(); // room name -> its topic, as last heard
    // Kicked or banned, in plain words, if the server said so last: if it
    // closes now, that is final and the page does not come back by itself.
    this.final = null;
    this.unsent = new Unsent();
  }

  get connected() {
    return this.socket !== null;
  }

  // -- the connection --------------------------------------------------------

  connect() {
    this.cancelRetry();
    if (this.socket !== null) return;
    this.quitting = false;
    this.fatal = false;
    this.optionsSent = false;
    this.more = null;
    this.pending = { who: 0, rooms: 0, since: 0, topic: 0 };
    this.unsent.clear();
    this.view.status(this.joinedOnce ? "Reconnecting…" : "Connecting…", false);
    const socket = this.open(this.url);
    this.socket = socket;
    socket.onmessage = (message) => {
      if (socket === this.socket && typeof message.data === "string") {
        this.received(message.data);
      }
    };
    socket.onclose = () => {
      if (socket === this.socket) this.closed();
    };
  }

  /** Try again now (the "Reconnect now" button, the browser back online). */
  retryNow() {
    if (this.socket === null && !this.quitting && this.final === null) this.connect();
  }

  cancelRetry() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  closed() {
    this.socket = null;
    const wasJoined = this.me !== null;
    this.me = null;
    this.people.clear();
    this.stopRefreshing();
    this.view.people([]);
    this.view.ready(false);
    if (this.quitting) {
      this.view.offline("You left the chat.", null);
      this.view.status("Offline", false);
      return;
    }
    if (this.final !== null) {
      const { code, text } = this.final;
      const again = code === "kicked" ? " Reload the page to join again." : "";
      this.view.offline(text + again, null);
      this.view.status("Offline", false);
      return;
    }
    if (this.fatal) {
      this.view.offline("The server closed the connection.", null);
      this.view.status("Offline", false);
      this.view.askNick(null);
      return;
    }
    this.attempt += 1;
    const delay = retryDelay(this.attempt, this.random);
    const why = wasJoined || this.joinedOnce
      ? "The connection to the chat server is lost."
      : "The chat server cannot be reached.";
    this.view.offline(why, delay);
    this.view.status("Offline", false);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  send(line) {
    if (this.socket !== null) this.socket.send(line);
  }

  // -- from the person -------------------------------------------------------

  /** The nickname form was sent. */
  chooseNick(text) {
    const nick = text.trim();
    if (!nick) return;
    if (nick.startsWith("/")) {
      // Never taken for a nickname, nor kept: it may be /oper and a password.
      this.view.askNick(NO_COMMAND_AS_NICK);
      return;
    }
    this.nick = nick;
    if (this.socket === null) {
      this.connect();
    } else if (this.me === null && this.optionsSent) {
      this.send(nick);
    }
  }

  /** A line typed in the room: false (nothing sent) when not joined. */
  submit(text) {
    if (this.socket === null || this.me === null || !text.trim()) return false;
    const word = text.split(" ", 1)[0].toLowerCase();
    if (word === "/who") this.pending.who += 1;
    if (word === "/quit") this.quitting = true;
    if (word === "/topic" && !text.slice(word.length).trim()) this.pending.topic += 1;
    this.unsent.sent(text);
    this.send(text);
    return true;
  }

  /** A room was picked from the list. */
  joinRoom(name) {
    if (this.me !== null && name !== this.room) this.send(`/join ${name}`);
  }

  // -- from the server -------------------------------------------------------

  received(message) {
    for (const line of splitLines(message)) {
      const event = parseLine(line);
      if (event !== null) this.handle(event);
    }
  }

  handle(event) {
    // The server goes on after ERROR banned (a /join refused): not final.
    if (this.final !== null && event.type !== "error") this.final = null;
    const catchup = this.room === null ? null : this.rooms.get(this.room);
    switch (event.type) {
      case "nick":
        return this.nickRequested();
      case "welcome":
        return this.welcomed(event.nick);
      case "room":
        return this.entered(event.room);
      case "rooms":
        this.roomList = event.rooms;
        this.view.rooms(event.rooms, this.room);
        // The server answers in order: the first answers are to the page's
        // own requests; the others, to /rooms typed by the person.
        if (this.pending.rooms > 0) {
          this.pending.rooms -= 1;
        } else {
          const list = event.rooms.map((r) => `${r.name} (${r.count})`).join(", ");
          this.show({ kind: "info", text: `Rooms: ${list || "none"}` });
        }
        return undefined;
      case "users":
        this.people = new Set(event.nicks);
        this.view.people([...this.people]);
        if (this.pending.who > 0) {
          this.pending.who -= 1;
          this.show({ kind: "info", text: `In ${this.room}: ${event.nicks.join(", ")}` });
        }
        return undefined;
      case "numbered":
        if (catchup !== null && !catchup.live(event.id)) return undefined;
        return this.roomEvent(event.event, { id: event.id, time: this.now() });
      case "history": {
        if (catchup === null) return undefined;
        const { show, gap } = catchup.history(event.id);
        if (gap !== null) this.show({ kind: "notice", text: gap });
        if (show) this.roomEvent(event.event, { id: event.id, time: event.time, history: true });
        return undefined;
      }
      case "history-more":
        this.more = event.id;
        return undefined;
      case "history-end":
        return this.replayEnded(catchup, event.id);
      case "info":
        if (event.text === SHUTTING_DOWN) this.rooms.serverStopping();
        // "you are muted ... until 14:05 UTC (...)", /bans: in local time.
        return this.show({ kind: "info", text: localUntil(event.text, this.now()) });
      case "error":
        return this.error(event.code, event.text);
      case "topic":
        // Bare: on entering a room, in answer to /rooms or to /topic.
        return this.topicHeard(event, false);
      case "private":
        return this.show({
          kind: "private",
          nick: event.from,
          to: event.to,
          text: event.text,
          mention: event.to === this.me && event.from !== this.me,
          live: true,
        });
      default:
        if (ROOM_EVENTS.has(event.type)) return this.roomEvent(event, {});
        return undefined;
    }
  }

  nickRequested() {
    if (!this.optionsSent) {
      // Once per connection: the server keeps them through rejections.
      this.optionsSent = true;
      this.resumeRoom = this.room;
      for (const line of this.rooms.joinLines(this.room)) this.send(line);
    }
    if (this.nick !== null) {
      this.send(this.nick);
    } else {
      this.view.askNick(this.nickError);
      this.nickError = null;
    }
    this.view.status("Choosing a nickname", false);
  }

  welcomed(nick) {
    const back = this.joinedOnce;
    this.me = this.nick = nick;
    this.joinedOnce = true;
    this.attempt = 0;
    this.storage.set("nick", nick);
    this.view.online();
    this.view.ready(true); // before nickAccepted, which focuses the message box
    this.view.nickAccepted(nick);
    this.view.status(`Online as ${nick}`, true);
    if (back) this.show({ kind: "notice", text: "reconnected" });
    this.startRefreshing();
  }

  entered(room) {
    const resumed = room === this.resumeRoom;
    this.resumeRoom = null;
    this.room = room;
    this.storage.set("room", room);
    this.rooms.get(room).entering(resumed);
    this.more = null;
    this.unsent.clear();
    // Its TOPIC comes next, if it has one.
    this.topics.delete(room);
    this.view.topic("");
    this.people.clear();
    this.view.enterRoom(room);
    this.pending.rooms += 1;
    this.send("/rooms");
  }

  replayEnded(catchup, id) {
    if (catchup === null) return;
    const automatic = this.pending.since > 0;
    if (automatic) this.pending.since -= 1;
    const { notices, since } = catchup.historyEnd(id);
    for (const text of notices) {
      // A fetch of the page's own needs no word: its lines go in their
      // place among the others, by id.
      if (!automatic || text === GAP) this.show({ kind: "notice", text });
    }
    const next = this.more ?? since;
    this.more = null;
    if (next !== null) {
      this.pending.since += 1;
      this.send(`/since ${next}`);
    }
  }

  error(code, text) {
    if (NICK_REJECTIONS.has(code) && this.me === null) {
      // The NICK that follows asks the person again, saying why.
      this.nick = null;
      this.nickError = text || code;
      return;
    }
    if (FATAL_ERRORS.has(code)) this.fatal = true;
    if (code === "line-too-long") this.unsent.answered();
    if (!REFUSALS.has(code)) {
      this.show({ kind: "error", code, text: text || code });
      return;
    }
    const plain = explain(code, text, this.now());
    if (plain.final) this.final = { code, text: plain.text };
    let said = plain.text;
    if (UNSENT.has(code)) {
      // Not sent: the person gets it back to send later, not to type again.
      const line = this.unsent.answered();
      if (line !== undefined && this.view.giveBack(line)) {
        said += " It is back in the message box.";
      }
    }
    this.show({ kind: "refused", code, text: said, live: true });
  }

  /** A TOPIC: live (a moderator set it) or not (entering, /rooms, /topic). */
  topicHeard({ room, text }, live) {
    this.topics.set(room, text);
    if (room !== this.room) return;
    this.view.topic(text);
    if (live) {
      this.view.announce(`The topic of ${room} is now: ${text}`);
    } else if (this.pending.topic > 0) {
      this.pending.topic -= 1;
      const said = text ? `Topic of ${room}: ${text}` : `${room} has no topic`;
      this.show({ kind: "info", text: said });
    }
  }

  roomEvent(event, { id = null, time = this.now(), history = false }) {
    if (!history) this.track(event);
    if (event.type === "topic") {
      // A replayed TOPIC is older than the one that came on entering; the
      // NOTICE before it says, in the log, who set it.
      if (!history) this.topicHeard(event, true);
      return;
    }
    const own = (event.type === "msg" || event.type === "action") && event.nick === this.me;
    if (own && !history) this.unsent.answered();
    const entry = roomEntry(event, this.me);
    if (entry !== null) this.show({ ...entry, id, time, history, live: !history });
  }

  track(event) {
    switch (event.type) {
      case "join":
        this.people.add(event.nick);
        break;
      case "leave":
        this.people.delete(event.nick);
        break;
      case "rename":
        this.people.delete(event.old);
        this.people.add(event.nick);
        if (event.old === this.me) {
          this.me = this.nick = event.nick;
          this.storage.set("nick", event.nick);
          this.view.status(`Online as ${event.nick}`, true);
        }
        break;
      default:
        return;
    }
    this.view.people([...this.people]);
    // The room's own count is known between two /rooms.
    const here = this.roomList.find((r) => r.name === this.room);
    if (here && here.count !== this.people.size) {
      here.count = this.people.size;
      this.view.rooms(this.roomList, this.room);
    }
  }

  show(entry) {
    this.view.line({ time: this.now(), ...entry });
  }

  startRefreshing() {
    this.stopRefreshing();
    this.refreshTimer = this.timers.setInterval(() => {
      this.pending.rooms += 1;
      this.send("/rooms");
    }, ROOMS_REFRESH);
  }

  stopRefreshing() {
    if (this.refreshTimer !== null) this.timers.clearInterval(this.refreshTimer);
    this.refreshTimer = null;
  }
}
