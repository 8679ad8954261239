// The server's refusals in plain words (chatproto/web/static/refusals.js).
// In a zone half an hour off UTC, so that local times are checked for real.
process.env.TZ = "Asia/Kolkata"; // UTC+05:30, no daylight saving

import assert from "node:assert/strict";
import { test } from "node:test";

const { explain, localUntil, untilTime } = await import(
  "../../chatproto/web/static/refusals.js"
);

// 2024-01-01 13:58:30 UTC is 19:28:30 in Kolkata.
const NOW = new Date(Date.UTC(2024, 0, 1, 13, 58, 30));

test("a mute says until when, in local time, and that reading goes on", () => {
  const { text, final } = explain(
    "muted",
    "you are muted in lobby until 14:05 UTC (7 minutes from now); you can still read",
    NOW,
  );
  assert.equal(
    text,
    "You are muted in lobby until 19:35 (in 7 minutes): " +
      "you can still read, but what you write is not sent.",
  );
  assert.equal(final, false);
  assert.equal(
    explain("muted", "you are muted in lobby until lifted; you can still read", NOW).text,
    "You are muted in lobby until lifted: you can still read, but what you write is not sent.",
  );
});

test("a long mute names the day", () => {
  const text = localUntil("until 13:58 UTC (2880 minutes from now)", NOW);
  assert.equal(text, "until 2024-01-03 19:28 (in 2880 minutes)");
});

test("the time of day is exact across midnight UTC", () => {
  const late = new Date(Date.UTC(2024, 0, 1, 23, 58, 10));
  assert.equal(untilTime(0, 3, 5, late).toISOString(), "2024-01-02T00:03:00.000Z");
  assert.equal(untilTime(23, 59, 1, late).toISOString(), "2024-01-01T23:59:00.000Z");
});

test("slow mode says how long to wait and until when", () => {
  const { text, final } = explain(
    "slow-mode",
    "physics is in slow mode: one line every 30 seconds; wait 25 more seconds " +
      "(your line was not sent)",
    NOW,
  );
  assert.equal(
    text,
    "physics is in slow mode: one message every 30 seconds. Your message was not " +
      "sent; wait 25 seconds (until 19:28:55) and send it again.",
  );
  assert.equal(final, false);
});

test("kicked and banned are final, in plain words", () => {
  assert.deepEqual(explain("kicked", "you were kicked by teacher; goodbye", NOW), {
    text: "You were kicked by teacher.",
    final: true,
  });
  assert.deepEqual(explain("banned", "you were banned by teacher; goodbye", NOW), {
    text: "You were banned by teacher.",
    final: true,
  });
  assert.equal(
    explain(
      "banned",
      "your address is banned from this server until 14:05 UTC (7 minutes from now)",
      NOW,
    ).text,
    "Your address is banned from this server until 19:35 (in 7 minutes).",
  );
});

test("not permitted says so", () => {
  assert.deepEqual(explain("not-permitted", "only an operator may announce", NOW), {
    text: "Not allowed: only an operator may announce.",
    final: false,
  });
});

test("text the page does not recognise is still shown", () => {
  assert.equal(explain("muted", "you are muted", NOW).text, "You are muted");
  assert.equal(explain("slow-mode", "slow down", NOW).text, "Slow down");
  assert.equal(explain("flood", "", NOW).text, "flood");
});
