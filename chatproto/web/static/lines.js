// The line protocol (docs/protocol.rst): server lines parsed into small
// event objects, as chatproto/client/events.py does for the terminal client.
// Pure functions: no DOM, no socket; tested with `node --test`.

// Ids may be up to 2**63, past what a Number holds exactly: BigInt.
const DIGITS = /^[0-9]{1,19}$/;
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

// The kinds of room line, which carry ids and are kept in history.  A
// NOTICE (what a moderator did) is a "moderation" event, not to be confused
// with the page's own notices (dividers, gaps).
export const ROOM_EVENTS = new Set([
  "join",
  "msg",
  "action",
  "rename",
  "leave",
  "moderation",
  "topic",
  "announce",
]);

/** The lines of one WebSocket message: complete lines, each ended by \r\n. */
export function splitLines(message) {
  const lines = message.split("\r\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function parseId(text) {
  return DIGITS.test(text) ? BigInt(text) : null;
}

function parseTime(text) {
  const m = TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls month 13 into the next year; the server never sends it.
  const same =
    time.getUTCFullYear() === y &&
    time.getUTCMonth() === mo - 1 &&
    time.getUTCDate() === d &&
    time.getUTCHours() === h &&
    time.getUTCMinutes() === mi &&
    time.getUTCSeconds() === s;
  return same ? time : null;
}

// Split off `count` space-separated words; the remainder is the last item.
function split(rest, count) {
  const parts = [];
  let remainder = rest;
  for (let i = 0; i < count; i++) {
    const space = remainder.indexOf(" ");
    if (space < 0) {
      parts.push(remainder);
      remainder = "";
    } else {
      parts.push(remainder.slice(0, space));
      remainder = remainder.slice(space + 1);
    }
  }
  parts.push(remainder);
  return parts;
}

function roomEvent(line) {
  const event = parseLine(line);
  return event && ROOM_EVENTS.has(event.type) ? event : null;
}

/**
 * One server line (without its line ending) as an event, or null for a line
 * this page does not know or that lacks what its word needs: the protocol
 * asks clients to ignore those.
 */
export function parseLine(line) {
  const [word, rest] = split(line, 1);
  switch (word) {
    case "NICK":
      return { type: "nick" };
    case "INFO":
      return { type: "info", text: rest };
    case "ROOM":
      return rest ? { type: "room", room: rest } : null;
    case "USERS":
      return { type: "users", nicks: rest.split(" ").filter(Boolean) };
    case "ROOMS": {
      const words = rest.split(" ").filter(Boolean);
      const rooms = [];
      for (let i = 0; i + 1 < words.length; i += 2) {
        rooms.push({ name: words[i], count: Number(words[i + 1]) || 0 });
      }
      return { type: "rooms", rooms };
    }
    case "WELCOME":
    case "MSG":
    case "ACTION":
    case "LEAVE":
    case "NOTICE":
    case "ANNOUNCE":
    case "TOPIC":
    case "ERROR": {
      const [first, text] = split(rest, 1);
      if (!first) return null;
      if (word === "WELCOME") return { type: "welcome", nick: first, text };
      if (word === "MSG") return { type: "msg", nick: first, text };
      if (word === "ACTION") return { type: "action", nick: first, text };
      if (word === "LEAVE") return { type: "leave", nick: first, reason: text };
      if (word === "NOTICE") return { type: "moderation", nick: first, text };
      if (word === "ANNOUNCE") return { type: "announce", nick: first, text };
      if (word === "TOPIC") return { type: "topic", room: first, text };
      return { type: "error", code: first, text };
    }
    case "JOIN":
      return rest ? { type: "join", nick: split(rest, 1)[0] } : null;
    case "RENAME": {
      const [old, now] = split(rest, 2);
      return old && now ? { type: "rename", old, nick: now } : null;
    }
    case "PRIVATE": {
      const [from, to, text] = split(rest, 2);
      return from && to ? { type: "private", from, to, text } : null;
    }
    case "ID": {
      const [number, inner] = split(rest, 1);
      const id = parseId(number);
      const event = roomEvent(inner);
      return id !== null && event ? { type: "numbered", id, event } : null;
    }
    case "HISTORY": {
      const [number, stamp, inner] = split(rest, 2);
      const id = parseId(number);
      const time = parseTime(stamp);
      const event = roomEvent(inner);
      return id !== null && time && event
        ? { type: "history", id, time, event }
        : null;
    }
    case "HISTORY-MORE":
    case "HISTORY-END": {
      const id = parseId(rest);
      if (id === null) return null;
      return { type: word === "HISTORY-END" ? "history-end" : "history-more", id };
    }
    default:
      return null;
  }
}
