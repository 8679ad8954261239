// Links, mentions, times, retry delays (chatproto/web/static/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clock,
  fullTime,
  linkify,
  mentions,
  retryDelay,
  roomEntry,
  safeUrl,
} from "../../chatproto/web/static/format.js";

test("plain http(s) URLs become links and nothing else does", () => {
  assert.deepEqual(linkify("see https://example.org/a?b=1#c now"), [
    { text: "see " },
    { text: "https://example.org/a?b=1#c", url: "https://example.org/a?b=1#c" },
    { text: " now" },
  ]);
  assert.deepEqual(linkify("no links here"), [{ text: "no links here" }]);
  for (const text of [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://example.org/file",
    "www.example.org",
    "xhttp://example.org",
    "http://",
  ]) {
    assert.ok(linkify(text).every((piece) => !piece.url), text);
  }
});

test("sentence punctuation after a URL is not part of it", () => {
  const pieces = linkify("Read http://example.org/x. Or (http://example.org/y), ok?");
  assert.deepEqual(
    pieces.filter((p) => p.url).map((p) => p.url),
    ["http://example.org/x", "http://example.org/y"],
  );
  assert.equal(pieces.map((p) => p.text).join(""), "Read http://example.org/x. Or (http://example.org/y), ok?");
  const wiki = linkify("https://en.wikipedia.org/wiki/Twisted_(software).");
  assert.equal(wiki[0].url, "https://en.wikipedia.org/wiki/Twisted_(software)");
});

test("a URL with markup in it ends before the markup", () => {
  const pieces = linkify('<a href="http://evil.example">x</a>');
  assert.deepEqual(
    pieces.filter((p) => p.url).map((p) => p.url),
    ["http://evil.example/"],
  );
  assert.equal(pieces.map((p) => p.text).join(""), '<a href="http://evil.example">x</a>');
});

test("safeUrl takes only http and https with a host", () => {
  assert.equal(safeUrl("HTTPS://Example.org"), "https://example.org/");
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("http:///nohost"), "http://nohost/");
  assert.equal(safeUrl("not a url"), null);
});

test("a mention is the nickname as a word of its own, in any case", () => {
  assert.ok(mentions("hi alice!", "alice"));
  assert.ok(mentions("@Alice: look", "alice"));
  assert.ok(mentions("ALICE", "alice"));
  assert.ok(mentions("thanks, zoë", "Zoë"));
  assert.ok(mentions("李雷 你好", "李雷"));
  assert.ok(!mentions("malice aforethought", "alice"));
  assert.ok(!mentions("alice_2 is not alice-", "alice_"));
  assert.ok(!mentions("alices", "alice"));
  assert.ok(!mentions("anything", ""));
  assert.ok(!mentions("anything", null));
});

test("times are shown as local HH:MM, in full in the title", () => {
  const time = new Date(2026, 10, 21, 9, 5, 7);
  assert.equal(clock(time), "09:05");
  assert.equal(fullTime(time), "2026-11-21 09:05:07");
});

test("reconnection delays grow and stay bounded", () => {
  const middle = () => 0.5;
  const delays = [1, 2, 3, 4, 5, 6, 10, 100].map((n) => retryDelay(n, middle));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
  assert.ok(retryDelay(1, () => 0) >= 800 && retryDelay(1, () => 0.999) <= 1200);
  assert.ok(retryDelay(50, () => 0.999) <= 18000);
});

test("room lines as log entries: own lines, mentions, notices about me", () => {
  assert.deepEqual(roomEntry({ type: "msg", nick: "alice", text: "hi bob" }, "alice"), {
    kind: "msg",
    nick: "alice",
    text: "hi bob",
    own: true,
    mention: false,
  });
  const action = { type: "action", nick: "bob", text: "waves at Alice" };
  assert.equal(roomEntry(action, "alice").mention, true);
  const notice = { type: "moderation", nick: "t", text: "muted alice for 5 minutes" };
  assert.deepEqual(roomEntry(notice, "alice"), {
    kind: "moderation",
    nick: "t",
    text: "muted alice for 5 minutes",
    mention: true,
  });
  assert.deepEqual(roomEntry({ type: "announce", nick: "t", text: "drill" }, "alice"), {
    kind: "announce",
    nick: "t",
    text: "drill",
  });
  assert.equal(roomEntry({ type: "topic", room: "lobby", text: "x" }, "alice"), null);
});
