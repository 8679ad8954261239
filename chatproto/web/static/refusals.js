// The server's refusals (ERROR muted, slow-mode, kicked, banned,
// not-permitted: docs/protocol.rst, "Moderation") as plain sentences for a
// person: what is going on, and until when, in the page's local time.  Pure
// functions, no DOM; tested with `node --test`.

import { clock } from "./format.js";

// What the server says of a time: "until 14:05 UTC (5 minutes from now)".
const UNTIL = /until (\d{2}):(\d{2}) UTC \((\d+) minutes? from now\)/u;
const MUTED = /^you are muted in (\S+) (until .+?); you can still read/u;
const SLOW = /^(\S+) is in slow mode: one line every (\S+) seconds; wait (\d+) more seconds/u;
// Kicked or banned from the default room: the server closes after it.
const GOODBYE = /; goodbye$/u;

// The codes this module words for people.
export const REFUSALS = new Set(["muted", "slow-mode", "kicked", "banned", "not-permitted"]);
// Refusals of a chat line: the line was not sent, so the page gives it back.
export const UNSENT = new Set(["muted", "slow-mode"]);

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

function sameDay(a, b) {
  return (
    a.getFullYear() === b.getFullYear() &&
    a.getMonth() === b.getMonth() &&
    a.getDate() === b.getDate()
  );
}

function date(time) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}`;
}

function minutes(n) {
  return n === 1 ? "1 minute" : `${n} minutes`;
}

/**
 * The instant "HH:MM UTC, about `ahead` minutes from `now`" names: the
 * time of day is exact, the minutes (rounded up by the server) give the day.
 */
export function untilTime(hours, mins, ahead, now) {
  const roughly = now.getTime() + ahead * 60000;
  const day = new Date(roughly);
  const exact = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hours, mins);
  const DAY = 86400000;
  // The nearest such instant to the rough one.
  const best = [exact - DAY, exact, exact + DAY].reduce((a, b) =>
    Math.abs(b - roughly) < Math.abs(a - roughly) ? b : a,
  );
  return new Date(best);
}

/** The server's "until 14:05 UTC (5 minutes from now)" in local time. */
export function localUntil(text, now) {
  return text.replace(UNTIL, (_, h, m, ahead) => {
    const when = untilTime(Number(h), Number(m), Number(ahead), now);
    const at = sameDay(when, now) ? clock(when) : `${date(when)} ${clock(when)}`;
    return `until ${at} (in ${minutes(Number(ahead))})`;
  });
}

function seconds(n) {
  return n === 1 ? "1 second" : `${n} seconds`;
}

function clockSeconds(time) {
  return `${clock(time)}:${String(time.getSeconds()).padStart(2, "0")}`;
}

/**
 * A refusal as a sentence for people: {text, final}.  `final`: the server
 * closes the connection for good (kicked or banned from the server), if it
 * does close right after.
 */
export function explain(code, text, now) {
  switch (code) {
    case "muted": {
      const m = MUTED.exec(text);
      if (!m) return { text: capital(localUntil(text, now)), final: false };
      return {
        text:
          `You are muted in ${m[1]} ${localUntil(m[2], now)}: ` +
          "you can still read, but what you write is not sent.",
        final: false,
      };
    }
    case "slow-mode": {
      const m = SLOW.exec(text);
      if (!m) return { text: capital(text), final: false };
      const wait = Number(m[3]);
      const at = new Date(now.getTime() + wait * 1000);
      return {
        text:
          `${m[1]} is in slow mode: one message every ${seconds(Number(m[2]))}. ` +
          `Your message was not sent; wait ${seconds(wait)} (until ${clockSeconds(at)}) ` +
          "and send it again.",
        final: false,
      };
    }
    case "kicked":
      return { text: `${capital(text.replace(GOODBYE, ""))}.`, final: true };
    case "banned":
      return { text: `${capital(localUntil(text.replace(GOODBYE, ""), now))}.`, final: true };
    case "not-permitted":
      return { text: `Not allowed: ${text || "you may not do that"}.`, final: false };
    default:
      return { text: text || code, final: false };
  }
}
