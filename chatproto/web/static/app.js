// The page: the DOM view of a Chat (chat.js) and the wiring to the browser.
// Everything a member sent is put in the page with textContent (and links
// built with createElement), never as HTML.

import { Chat } from "./chat.js";
import { clock, fullTime, linkify } from "./format.js";
import { secret } from "./typed.js";

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Text with its http(s) links as links that open elsewhere, unreferred. */
function richText(text) {
  const span = element("span", "text");
  for (const piece of linkify(text)) {
    if (piece.url) {
      const link = element("a", null, piece.text);
      link.href = piece.url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      span.append(link);
    } else {
      span.append(piece.text);
    }
  }
  return span;
}

function nickNode(nick) {
  return element("span", "nick", nick);
}

/** The mark of a moderator's notice: for the eye only. */
function flag() {
  const mark = element("span", "mark", "⚑");
  mark.setAttribute("aria-hidden", "true");
  return mark;
}

/** The words of a line of the conversation, as nodes. */
function lineContent(entry) {
  switch (entry.kind) {
    case "msg":
      return [nickNode(entry.nick), richText(entry.text)];
    case "action":
      return [element("span", "star", "*"), nickNode(entry.nick), richText(entry.text)];
    case "join":
      return [nickNode(entry.nick), element("span", "what", "joined")];
    case "leave":
      return [
        nickNode(entry.nick),
        element("span", "what", entry.text ? `left (${entry.text})` : "left"),
      ];
    case "rename":
      return [nickNode(entry.old), element("span", "what", "is now"), nickNode(entry.nick)];
    case "private":
      return [
        nickNode(entry.nick),
        element("span", "what", `→ ${entry.to} (private)`),
        richText(entry.text),
      ];
    case "error":
      return [element("span", "what", "Error:"), richText(entry.text)];
    case "moderation":
      // What a moderator did: "teacher muted bob for 5 minutes".
      return [flag(), nickNode(entry.nick), richText(entry.text)];
    case "announce":
      return [
        element("span", "what", `Announcement from ${entry.nick}:`),
        richText(entry.text),
      ];
    default:
      return [richText(entry.text)];
  }
}

/** What a screen reader is told of a new live line, or null. */
function announcement(entry) {
  switch (entry.kind) {
    case "msg":
      return `${entry.nick}: ${entry.text}`;
    case "action":
      return `${entry.nick} ${entry.text}`;
    case "private":
      return `private from ${entry.nick}: ${entry.text}`;
    case "error":
      return `Error: ${entry.text}`;
    case "refused":
      return entry.text;
    case "moderation":
      return `${entry.nick} ${entry.text}`;
    case "announce":
      return `Announcement from ${entry.nick}: ${entry.text}`;
    default:
      return null;
  }
}

class View {
  constructor() {
    this.logs = new Map(); // room name -> its <ol>
    this.log = this.logFor("");
    this.log.hidden = false;
    this.nickForm = $("nick-form");
    this.say = $("say");
  }

  logFor(room) {
    let log = this.logs.get(room);
    if (!log) {
      log = element("ol", "log");
      log.hidden = true;
      log.dataset.room = room;
      log.setAttribute("aria-label", room ? `Conversation in ${room}` : "Conversation");
      $("logs").append(log);
      this.logs.set(room, log);
    }
    return log;
  }

  status(text, online) {
    $("status").textContent = text;
    document.body.classList.toggle("is-online", online);
  }

  offline(why, delay) {
    $("offline-why").textContent = delay === null
      ? why
      : `${why} Trying again in ${Math.ceil(delay / 1000)} s…`;
    $("offline").hidden = false;
    $("retry").hidden = delay === null;
    document.body.classList.add("is-offline");
  }

  online() {
    $("offline").hidden = true;
    document.body.classList.remove("is-offline");
  }

  askNick(error) {
    this.nickForm.hidden = false;
    $("nick-error").textContent = error ? `That nickname was not accepted: ${error}` : "";
    const input = $("nick");
    if (!input.value) input.value = localStorage.getItem("nick") || "";
    input.focus();
  }

  nickAccepted() {
    this.nickForm.hidden = true;
    this.say.focus();
  }

  /** The current room's topic in the header ("" for none). */
  topic(text) {
    const topic = $("topic");
    topic.textContent = text;
    topic.title = text;
    topic.hidden = !text;
  }

  /** Tell a screen reader, through the live region. */
  announce(text) {
    $("announcer").textContent = text;
  }

  /** A line the server did not send, back in the box if that is empty. */
  giveBack(text) {
    if (this.say.value) return false;
    this.say.value = text;
    return true;
  }

  ready(ready) {
    this.say.disabled = !ready;
    $("send").disabled = !ready;
  }

  enterRoom(room) {
    const log = this.logFor(room);
    if (log !== this.log) {
      // Lines that came before the first room (the welcome) go with it.
      if (this.log === this.logs.get("") && this.log.children.length) {
        log.append(...this.log.children);
      }
      this.log.hidden = true;
      this.log = log;
    }
    log.hidden = false;
    $("room-name").textContent = room;
    document.title = `${room} · chatproto`;
    this.scroll(true);
  }

  rooms(list, current) {
    const ul = $("rooms");
    ul.replaceChildren();
    for (const { name, count } of list) {
      const item = element("li");
      const button = element("button", "room");
      button.type = "button";
      button.dataset.room = name;
      button.append(element("span", "room-label", name), element("span", "count", String(count)));
      button.setAttribute("aria-label", `${name}, ${count} ${count === 1 ? "person" : "people"}`);
      if (name === current) button.setAttribute("aria-current", "true");
      item.append(button);
      ul.append(item);
    }
  }

  people(nicks) {
    const sorted = [...nicks].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
    $("people").replaceChildren(...sorted.map((nick) => element("li", "person", nick)));
    $("people-count").textContent = sorted.length ? `(${sorted.length})` : "";
  }

  line(entry) {
    const item = element("li", `line ${entry.kind}`);
    if (entry.history) item.classList.add("history");
    if (entry.mention) item.classList.add("mention");
    if (entry.own) item.classList.add("own");
    if (entry.id !== null && entry.id !== undefined) item.dataset.id = String(entry.id);
    const time = element("time", null, clock(entry.time));
    time.dateTime = entry.time.toISOString();
    time.title = fullTime(entry.time) + (entry.history ? " (earlier)" : "");
    item.append(time, ...lineContent(entry));
    const atBottom = this.atBottom();
    this.insert(item, entry.id ?? null);
    if (!entry.history && entry.live !== false) {
      const said = announcement(entry);
      if (said) this.announce(said);
    }
    this.scroll(atBottom);
  }

  // Room lines go in id order: a line fetched late (what was said while
  // this page was in another room) goes where it was said.
  insert(item, id) {
    const log = this.log;
    if (id === null || this.newest(log) < id) {
      log.append(item);
      return;
    }
    for (let node = log.lastElementChild; node; node = node.previousElementSibling) {
      if (node.dataset.id !== undefined && BigInt(node.dataset.id) < id) {
        node.after(item);
        return;
      }
    }
    log.prepend(item);
  }

  newest(log) {
    for (let node = log.lastElementChild; node; node = node.previousElementSibling) {
      if (node.dataset.id !== undefined) return BigInt(node.dataset.id);
    }
    return -1n;
  }

  atBottom() {
    const box = $("logs");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  scroll(follow) {
    if (follow) {
      const box = $("logs");
      box.scrollTop = box.scrollHeight;
    }
  }
}

function socketUrl() {
  const url = new URL("ws", window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

const storage = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null; // storage off: the page asks each time
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      // storage off or full: nothing to remember it in
    }
  },
};

const view = new View();
const chat = new Chat({
  view,
  open: (url) => new WebSocket(url),
  url: socketUrl(),
  timers: window,
  storage,
});

$("nick-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("nick").value;
  if (secret(text)) $("nick").value = "";
  chat.chooseNick(text);
});
$("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = view.say.value;
  // A password leaves the box even when it could not be sent.
  if (chat.submit(text) || secret(text)) view.say.value = "";
  view.say.classList.toggle("secret", secret(view.say.value));
});
// A password being typed is not shown, for a room where others see the
// screen (a projector); the box is emptied once the line is sent.
view.say.addEventListener("input", () => {
  view.say.classList.toggle("secret", secret(view.say.value));
});
$("rooms").addEventListener("click", (event) => {
  const button = event.target.closest("button.room");
  if (button) chat.joinRoom(button.dataset.room);
});
$("retry").addEventListener("click", () => chat.retryNow());
window.addEventListener("online", () => chat.retryNow());
$("toggle-side").addEventListener("click", () => {
  const open = document.body.classList.toggle("side-open");
  $("toggle-side").setAttribute("aria-expanded", String(open));
});

// For the tests and the curious: the page's session, from the console.
window.chat = chat;
chat.connect();
