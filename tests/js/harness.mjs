// A Chat (chatproto/web/static/chat.js) with a fake socket, view, timers and
// storage, for `node --test`.
import { Chat } from "../../chatproto/web/static/chat.js";

export const SAID = "2024-01-01T11:58:00Z";

export function history(...entries) {
  return entries.map(([id, line]) => `HISTORY ${id} ${SAID} ${line}`);
}

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.onmessage = null;
    this.onclose = null;
  }

  send(line) {
    this.sent.push(line);
  }
}

class FakeView {
  constructor() {
    this.lines = []; // what the log shows, as short strings
    this.calls = [];
    this.asked = [];
    this.offlines = [];
    this.isOnline = false;
    this.peopleShown = [];
    this.roomsShown = [];
    this.room = null;
    this.topicShown = null;
    this.announced = [];
    this.box = ""; // the message box
  }

  topic(text) {
    this.topicShown = text;
  }

  announce(text) {
    this.announced.push(text);
  }

  giveBack(text) {
    if (this.box) return false;
    this.box = text;
    return true;
  }

  status(text) {
    this.calls.push(["status", text]);
  }

  offline(why, delay) {
    this.isOnline = false;
    this.offlines.push([why, delay]);
  }

  online() {
    this.isOnline = true;
  }

  askNick(error) {
    this.asked.push(error);
  }

  nickAccepted(nick) {
    this.calls.push(["nickAccepted", nick]);
  }

  ready(ready) {
    this.calls.push(["ready", ready]);
  }

  enterRoom(room) {
    this.room = room;
    this.lines.push(`== ${room}`);
  }

  rooms(list) {
    this.roomsShown = list.map((r) => `${r.name} ${r.count}`);
  }

  people(nicks) {
    this.peopleShown = [...nicks].sort();
  }

  line(entry) {
    const mark = (entry.history ? "[h] " : "") + (entry.mention ? "[@] " : "");
    let text;
    switch (entry.kind) {
      case "msg":
        text = `<${entry.nick}> ${entry.text}`;
        break;
      case "action":
        text = `* ${entry.nick} ${entry.text}`;
        break;
      case "join":
        text = `${entry.nick} joined`;
        break;
      case "leave":
        text = `${entry.nick} left${entry.text ? ` (${entry.text})` : ""}`;
        break;
      case "rename":
        text = `${entry.old} is now ${entry.nick}`;
        break;
      case "private":
        text = `${entry.nick} -> ${entry.to}: ${entry.text}`;
        break;
      case "notice":
        text = `-- ${entry.text}`;
        break;
      case "error":
        text = `! ${entry.text}`;
        break;
      case "refused":
        text = `!! ${entry.text}`;
        break;
      case "moderation":
        text = `** ${entry.nick} ${entry.text}`;
        break;
      case "announce":
        text = `>> ${entry.nick}: ${entry.text}`;
        break;
      default:
        text = entry.text;
    }
    this.lines.push(mark + text);
  }
}

class FakeTimers {
  constructor() {
    this.next = 1;
    this.pending = new Map();
  }

  setTimeout(call, delay) {
    const id = this.next++;
    this.pending.set(id, { call, delay, repeat: false });
    return id;
  }

  setInterval(call, delay) {
    const id = this.next++;
    this.pending.set(id, { call, delay, repeat: true });
    return id;
  }

  clearTimeout(id) {
    this.pending.delete(id);
  }

  clearInterval(id) {
    this.pending.delete(id);
  }

  /** The delays of the one-shot timers waiting. */
  waiting() {
    return [...this.pending.values()].filter((t) => !t.repeat).map((t) => t.delay);
  }

  /** Fire the one-shot timers. */
  fire() {
    for (const [id, timer] of [...this.pending]) {
      if (!timer.repeat) {
        this.pending.delete(id);
        timer.call();
      }
    }
  }
}

export class Harness {
  constructor({ nick = null, room = null } = {}) {
    this.stored = new Map();
    if (nick) this.stored.set("nick", nick);
    if (room) this.stored.set("room", room);
    this.sockets = [];
    this.view = new FakeView();
    this.timers = new FakeTimers();
    this.chat = new Chat({
      view: this.view,
      open: (url) => {
        const socket = new FakeSocket(url);
        this.sockets.push(socket);
        return socket;
      },
      url: "ws://chat.test/ws",
      timers: this.timers,
      storage: {
        get: (key) => this.stored.get(key) ?? null,
        set: (key, value) => this.stored.set(key, value),
      },
      now: () => new Date(2024, 0, 1, 12, 0, 0),
      random: () => 0.5,
    });
    this.seen = 0;
  }

  get socket() {
    return this.sockets[this.sockets.length - 1];
  }

  /** The server sends these lines, in one message. */
  server(...lines) {
    this.socket.onmessage({ data: lines.map((line) => `${line}\r\n`).join("") });
  }

  /** What the page sent since the last call. */
  sent() {
    const all = this.sockets.flatMap((socket) => socket.sent);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh;
  }

  /** The connection drops. */
  drop() {
    this.socket.onclose({ code: 1006 });
  }

  /** What the log showed since the last call. */
  shown() {
    const lines = this.view.lines;
    this.view.lines = [];
    return lines;
  }
}
