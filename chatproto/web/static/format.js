// Text to what the page shows: links, mentions, times.  Pure functions that
// return plain data; the page builds DOM nodes from them with textContent,
// never innerHTML, so no text a member sends is ever read as HTML.

const URL_START = /https?:\/\//giu;
// A URL runs to the next space (or character no URL has unescaped) ...
const URL_END = /[\s<>"{}|\\^`]/u;
// ... less the punctuation that usually ends the sentence around it.
const TRAILING = /[.,;:!?'")\]}>]+$/u;
// Characters a nickname may hold (docs/protocol.rst, "Joining").
const NICK_CHAR = /[\p{L}\p{M}\p{Nd}_-]/u;

/**
 * The text cut into pieces: {text} for plain text and {text, url} for each
 * plain http(s):// URL in it (nothing else becomes a link).
 */
export function linkify(text) {
  const pieces = [];
  let done = 0;
  URL_START.lastIndex = 0;
  let match;
  while ((match = URL_START.exec(text)) !== null) {
    const start = match.index;
    if (start > 0 && /[\p{L}\p{N}]/u.test(text[start - 1])) continue;
    let end = start + match[0].length;
    while (end < text.length && !URL_END.test(text[end])) end++;
    let candidate = text.slice(start, end);
    const trailing = TRAILING.exec(candidate);
    if (trailing) {
      // A closing parenthesis that closes one in the URL stays (Wikipedia).
      let cut = trailing[0];
      const opens = (candidate.match(/\(/g) || []).length;
      const closes = (candidate.match(/\)/g) || []).length;
      if (cut.startsWith(")") && opens >= closes) cut = cut.slice(1);
      candidate = candidate.slice(0, candidate.length - cut.length);
      end = start + candidate.length;
    }
    URL_START.lastIndex = end;
    const url = safeUrl(candidate);
    if (url === null) continue;
    if (start > done) pieces.push({ text: text.slice(done, start) });
    pieces.push({ text: candidate, url });
    done = end;
  }
  if (done < text.length) pieces.push({ text: text.slice(done) });
  return pieces;
}

/** `text` as an http(s) URL with a host, or null. */
export function safeUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    return null;
  }
  return url.href;
}

/**
 * Whether `text` mentions `nick`: the nickname as a word of its own, without
 * regard to case ("@alice," and "Alice:" do; "malice" does not).
 */
export function mentions(text, nick) {
  if (!nick) return false;
  const haystack = text.toLocaleLowerCase();
  const needle = nick.toLocaleLowerCase();
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) return false;
    const before = at > 0 ? haystack[at - 1] : "";
    const after = haystack[at + needle.length] ?? "";
    if (!NICK_CHAR.test(before) && !NICK_CHAR.test(after)) return true;
    from = at + 1;
  }
}

function two(n) {
  return String(n).padStart(2, "0");
}

/** A time as the page shows it next to a line: HH:MM, local time. */
export function clock(time) {
  return `${two(time.getHours())}:${two(time.getMinutes())}`;
}

/** A time in full, for the title of a line: YYYY-MM-DD HH:MM:SS, local. */
export function fullTime(time) {
  const date = `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())}`;
  return `${date} ${clock(time)}:${two(time.getSeconds())}`;
}

/**
 * What the log shows of a room line (an event of lines.js), for `me`, or
 * null for one it does not show.
 */
export function roomEntry(event, me) {
  const { type: kind, nick } = event;
  switch (kind) {
    case "msg":
    case "action":
      return {
        kind,
        nick,
        text: event.text,
        own: nick === me,
        mention: nick !== me && mentions(event.text, me),
      };
    case "moderation": // what a moderator did, maybe to me
      return { kind, nick, text: event.text, mention: mentions(event.text, me) };
    case "announce":
      return { kind, nick, text: event.text };
    case "join":
      return { kind, nick };
    case "leave":
      return { kind, nick, text: event.reason };
    case "rename":
      return { kind, nick, old: event.old };
    default:
      return null;
  }
}

/** Growing, bounded delays between reconnection attempts, in ms. */
export function retryDelay(attempt, random = Math.random) {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 15000);
  return Math.round(base * (0.8 + 0.4 * random()));
}
