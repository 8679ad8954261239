/*
 * chatproto load generator: one thread, one epoll loop, non-blocking sockets.
 *
 * Built by benchmarks/run.py (gcc -O2); usable by hand too:
 *
 *   loadgen --port 7000 --members 100 --senders 10 --duration 5
 *   loadgen --proto irc --port 6667 --members 100 --senders 10 --duration 5
 *
 * Two protocols (--proto):
 *   chat    chatproto's line protocol (docs/protocol.rst); the server echoes
 *           a member's message back to it.
 *   irc     RFC 1459/2812 client: NICK/USER, wait for 001, JOIN #bench, wait
 *           for 366 (end of NAMES), PRIVMSG #bench :<text>; PING is answered
 *           with PONG. IRC servers do not echo a message to its sender.
 * --ws (chat): --port is chatproto's --web port; each member upgrades
 *           GET /ws to a WebSocket (no Origin: not a browser), sends each line
 *           as one masked text frame (a zero mask key: legal, and free), and
 *           reads the server's frames, whose payloads, concatenated, are the
 *           line protocol's byte stream. Everything else is as over TCP, so
 *           one binary measures both front ends (benchmarks/ws_bench.py).
 * --rooms R (chat): member i joins room "r<i % R>" (with /join before its
 * nickname) instead of the default room; each room's members hear only its
 * own senders, and a message that crosses rooms is a failure (CORRUPT).
 * So that every server is measured alike, a delivery is a message received by
 * a member other than its sender: chatproto's echo is read and checked (it
 * must arrive, in order) but is neither a delivery nor a latency sample.
 *
 * Phases:
 *   join    N members connect (at most --concurrency handshakes in flight, a
 *           handshake being connect() .. USERS or 366 received) and go
 *           through NICK / <nick> / WELCOME / JOIN / USERS (chat) or
 *           NICK+USER / 001 / JOIN / 366 (irc). Failed connects are
 *           counted, never retried.
 *   settle  wait until every JOIN broadcast has arrived (N(N+1)/2 JOIN lines
 *           in total, a member's own included), so that the send phase
 *           measures messages only.
 *           With --interactive: print "SETTLED {json}" and wait for a line
 *           on stdin (the runner samples server RSS/CPU meanwhile).
 *   send    members 0..S-1 send "<seq> <t_ns> xxx..." lines, either flat out
 *           with at most --window messages per sender not yet delivered to
 *           every other member, or at a fixed total --rate (messages/s), for
 *           --duration seconds or --messages messages per sender.
 *   drain   wait until every member got every message (and, for chat, every
 *           sender its echoes).
 * Then print "RESULT {json}" (with --interactive, then wait for EOF on stdin
 * before exiting, so the runner can stop the server first).
 *
 * deliveries_per_s is the rate from the first send until the senders stop
 * (a server that sits on the last messages shows in the latency and in
 * drain_s, not in the rate).
 *
 * Every member checks every MSG (PRIVMSG): per sender it expects the next
 * sequence number (exactly once, in order, nothing missing at the end).
 * Latency is CLOCK_MONOTONIC at recv() minus the time stamp carried in the
 * message.
 * The whole run is bounded by --timeout and by --stall (no byte received).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { ST_FREE, ST_CONNECTING, ST_WS_UPGRADE, ST_WAIT_NICK, ST_WAIT_WELCOME, ST_WAIT_USERS,
       ST_READY, ST_DEAD };
enum { PH_JOIN, PH_SETTLE, PH_SEND, PH_DRAIN, PH_DONE };
enum { PROTO_CHAT, PROTO_IRC };

#define CHANNEL "#bench"

#define CHUNK (64 * 1024)
#define ID_TIMER 0xFFFFFFFFu
#define MAXWIN 1024

typedef struct {
    int fd;
    uint8_t state;
    char *carry;
    uint32_t carry_len, carry_cap;
    char *out;            /* unsent bytes (senders, or the nick) */
    uint32_t out_len, out_cap;
    int64_t t_start;
    uint64_t msgs;
    /* --ws: the upgrade's answer so far, and the frame being read */
    char http[512];
    uint16_t http_len;
    uint8_t hdr[14], hdr_len, op;
    uint64_t ws_left;
} conn_t;

typedef struct {
    uint64_t sent, acked;  /* acked: delivered to every member */
    uint32_t *ring;        /* window mode: members that got seq, by seq % W */
    int pending;
} sender_t;

/* ---- options ---- */
static int o_port, o_members = 100, o_senders = 10, o_conc = 200, o_window = 16;
static int o_size = 48, o_interactive, o_proto = PROTO_CHAT, o_rooms = 1;
static int o_ws;
static double o_duration, o_rate, o_timeout = 120, o_stall = 30;
static uint64_t o_messages = UINT64_MAX;

/* ---- state ---- */
static conn_t *conns;
static sender_t *senders;
static uint32_t *expect;          /* members x senders: next expected seq */
static int epfd, tfd = -1, phase = PH_JOIN;
static int next_conn, in_flight, joined, connect_fail, hs_fail, disconnects;
static uint64_t total_joins, leaves, errors_rx, foreign, gaps, backs;
static uint64_t delivered, echoes, pings, sent_total, bytes_rx;
static uint64_t expected_deliv;   /* sum over messages sent of their audience */
static int *room_size;            /* members per room (--rooms) */
static int64_t t0, t_last_join, t_settled, t_send0, t_send_end, t_last_deliv;
static int64_t t_drain0;          /* the senders stopped */
static uint64_t delivered_send;   /* deliveries before that */
static int64_t last_progress, next_due, sched_lag_max;
static uint64_t late_sends, rate_k;
static char *scratch;
static size_t scap;
static const char *stalled_at;
static char first_fail[200];

/* latency histograms, log-linear in microseconds, ~0.1% resolution */
#define HBUCKETS (2048 + 40 * 1024)
static uint64_t hist_lat[HBUCKETS], hist_hs[HBUCKETS];
static int64_t lat_max, hs_max;
static double lat_sum;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void hist_add(uint64_t *h, int64_t ns) {
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    size_t idx;
    if (us < 2048) {
        idx = us;
    } else {
        int e = 63 - __builtin_clzll(us) - 10;
        idx = 2048 + (size_t)(e - 1) * 1024 + ((us >> e) - 1024);
        if (idx >= HBUCKETS) idx = HBUCKETS - 1;
    }
    h[idx]++;
}

static double hist_q(const uint64_t *h, double q) { /* microseconds */
    uint64_t n = 0, acc = 0;
    for (size_t i = 0; i < HBUCKETS; i++) n += h[i];
    if (!n) return -1;
    uint64_t want = (uint64_t)(q * (double)n);
    if (want >= n) want = n - 1;
    for (size_t i = 0; i < HBUCKETS; i++) {
        acc += h[i];
        if (acc > want) {
            if (i < 2048) return (double)i;
            size_t e = (i - 2048) / 1024 + 1, sub = (i - 2048) % 1024;
            return (double)((1024 + sub) << e);
        }
    }
    return -1;
}

static void fail(const char *fmt, const char *a, long b) {
    if (!first_fail[0]) snprintf(first_fail, sizeof first_fail, fmt, a, b);
}

static void die(const char *msg) {
    perror(msg);
    exit(2);
}

/* The room of member i, and how many others hear what it says. */
static int room_of(int i) { return i % o_rooms; }
static uint32_t audience(int s) { return (uint32_t)room_size[room_of(s)] - 1; }

static void ep_mod(int idx, uint32_t events, int op) {
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)idx};
    if (epoll_ctl(epfd, op, conns[idx].fd, &ev) < 0) die("epoll_ctl");
}

static void kill_conn(int i, int count_disconnect) {
    conn_t *c = &conns[i];
    if (c->state == ST_DEAD || c->state == ST_FREE) return;
    if (c->state < ST_READY) in_flight--;
    if (count_disconnect) disconnects++;
    close(c->fd);
    c->state = ST_DEAD;
}

/* Append to the output buffer and try to write it all. */
static void conn_write(int i, const char *data, size_t len) {
    conn_t *c = &conns[i];
    if (c->out_len == 0) {
        ssize_t w = send(c->fd, data, len, MSG_NOSIGNAL);
        if (w == (ssize_t)len) return;
        if (w < 0) {
            if (errno != EAGAIN) {
                fail("write failed on member %s%ld", "m", i);
                kill_conn(i, 1);
                return;
            }
            w = 0;
        }
        data += w;
        len -= (size_t)w;
        ep_mod(i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
    }
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (uint32_t)((c->out_len + len) * 2);
        c->out = realloc(c->out, c->out_cap);
        if (!c->out) die("realloc");
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += (uint32_t)len;
}

static void flush_out(int i) {
    conn_t *c = &conns[i];
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) return;
            fail("write failed on member %s%ld", "m", i);
            kill_conn(i, 1);
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (uint32_t)w;
    }
    ep_mod(i, EPOLLIN, EPOLL_CTL_MOD);
}

static void start_conn(int i) {
    conn_t *c = &conns[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = fd;
    c->t_start = now_ns();
    in_flight++;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r < 0 && errno != EINPROGRESS) {
        fail("connect failed: %s (member %ld)", strerror(errno), i);
        connect_fail++;
        in_flight--;
        close(fd);
        c->state = ST_DEAD;
        return;
    }
    c->state = ST_CONNECTING;
    ep_mod(i, EPOLLOUT, EPOLL_CTL_ADD);
}

static void on_connected(int i) {
    conn_t *c = &conns[i];
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
        fail("connect failed: %s (member %ld)", strerror(err), i);
        connect_fail++;
        kill_conn(i, 0);
        return;
    }
    ep_mod(i, EPOLLIN, EPOLL_CTL_MOD);
    if (o_proto == PROTO_IRC) {
        char reg[96];
        int n = snprintf(reg, sizeof reg, "NICK m%d\r\nUSER m%d 0 * :m%d\r\n", i, i, i);
        c->state = ST_WAIT_WELCOME;
        conn_write(i, reg, (size_t)n);
    } else if (o_ws) {
        char req[256];
        int n = snprintf(req, sizeof req,
                         "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n", o_port);
        c->state = ST_WS_UPGRADE;
        conn_write(i, req, (size_t)n);
    } else {
        c->state = ST_WAIT_NICK;
    }
}

/* --ws: one client frame around a line (masked, with a zero key). */
static size_t ws_frame(char *out, const char *line, size_t len) {
    size_t h = 0;
    out[h++] = (char)0x81;
    if (len < 126) {
        out[h++] = (char)(0x80 | len);
    } else {
        out[h++] = (char)(0x80 | 126);
        out[h++] = (char)(len >> 8);
        out[h++] = (char)(len & 0xff);
    }
    memset(out + h, 0, 4);
    h += 4;
    memmove(out + h, line, len);
    return h + len;
}

/* --ws: the payload bytes in `in`, appended to `out`; -1 if the server
 * closed or refused.  Handles the upgrade's answer first. */
static long ws_deframe(int i, const char *in, size_t n, char *out) {
    conn_t *c = &conns[i];
    size_t p = 0, o = 0;
    if (c->state == ST_WS_UPGRADE) {
        while (p < n && c->http_len < sizeof c->http - 1) {
            c->http[c->http_len++] = in[p++];
            c->http[c->http_len] = 0;
            if (c->http_len >= 4 && !memcmp(c->http + c->http_len - 4, "\r\n\r\n", 4)) break;
        }
        if (c->http_len < 4 || memcmp(c->http + c->http_len - 4, "\r\n\r\n", 4)) {
            if (c->http_len >= sizeof c->http - 1) return -1;
            return 0;
        }
        if (strncmp(c->http, "HTTP/1.1 101", 12) != 0) return -1;
        c->state = ST_WAIT_NICK;
    }
    while (p < n) {
        if (c->ws_left == 0) {
            size_t need = 2;
            while (p < n) {
                if (c->hdr_len >= 2) {
                    uint8_t l = c->hdr[1] & 0x7f;
                    need = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
                }
                if (c->hdr_len >= need) break;
                c->hdr[c->hdr_len++] = (uint8_t)in[p++];
            }
            if (c->hdr_len >= 2) {
                uint8_t l = c->hdr[1] & 0x7f;
                need = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
            }
            if (c->hdr_len < need) break;
            uint64_t len = c->hdr[1] & 0x7f;
            if (len == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
            else if (len == 127) {
                len = 0;
                for (int k = 2; k < 10; k++) len = (len << 8) | c->hdr[k];
            }
            c->op = c->hdr[0] & 0x0f;
            c->hdr_len = 0;
            if (c->op == 8) return -1;
            c->ws_left = len;
            continue;
        }
        size_t take = n - p < c->ws_left ? n - p : (size_t)c->ws_left;
        if (c->op <= 2) {  /* continuation, text, binary: the stream */
            memcpy(out + o, in + p, take);
            o += take;
        }
        p += take;
        c->ws_left -= take;
    }
    return (long)o;
}

/* Send member i the lines in [data, data + len), each ending in \n: as they
 * are, or with --ws as one frame each (without the \n). */
static void send_lines(int i, const char *data, size_t len) {
    if (!o_ws) {
        conn_write(i, data, len);
        return;
    }
    char frame[200];
    const char *e = data + len, *nl;
    while (data < e && (nl = memchr(data, '\n', (size_t)(e - data))) != NULL) {
        conn_write(i, frame, ws_frame(frame, data, (size_t)(nl - data)));
        data = nl + 1;
    }
}

static void send_batch(int s, uint64_t count, int64_t ts) {
    static char buf[MAXWIN * 160];
    size_t off = 0;
    sender_t *sd = &senders[s];
    static const char irc_head[] = "PRIVMSG " CHANNEL " :";
    while (count--) {
        if (o_proto == PROTO_IRC) {
            memcpy(buf + off, irc_head, sizeof irc_head - 1);
            off += sizeof irc_head - 1;
        }
        int n = snprintf(buf + off, 64, "%llu %lld ", (unsigned long long)sd->sent,
                         (long long)ts);
        off += (size_t)n;
        int pad = o_size - n;
        if (pad < 1) pad = 1;
        memset(buf + off, 'x', (size_t)pad);
        off += (size_t)pad;
        if (o_proto == PROTO_IRC) buf[off++] = '\r';
        if (o_ws) {
            /* the line, which starts at off - n - pad, as one frame */
            size_t len = (size_t)(n + pad), start = off - len;
            char line[160];
            memcpy(line, buf + start, len);
            off = start + ws_frame(buf + start, line, len);
        } else {
            buf[off++] = '\n';
        }
        sd->sent++;
        sent_total++;
        expected_deliv += audience(s);
        if (off > sizeof buf - 200) {
            conn_write(s, buf, off);
            off = 0;
        }
    }
    if (off) conn_write(s, buf, off);
}

static void window_refill(int s, int64_t now) {
    sender_t *sd = &senders[s];
    if (phase != PH_SEND || now >= t_send_end) return;
    uint64_t room = sd->acked + (uint64_t)o_window - sd->sent;
    if (sd->sent + room > o_messages) room = o_messages - sd->sent;
    if (room > 0) send_batch(s, room, now_ns());
}

/* The sender index of nickname [p, e) ("m<i>", i < --senders), or -1. */
static int sender_of(const char *p, const char *e) {
    if (e - p < 2 || e - p > 11 || *p != 'm') return -1;
    uint32_t s = 0;
    for (p++; p < e; p++) {
        if (*p < '0' || *p > '9') return -1;
        s = s * 10 + (uint32_t)(*p - '0');
    }
    return s < (uint32_t)o_senders ? (int)s : -1;
}

/* Member m received text [p, e) ("<seq> <t_ns> xxx...") from nickname [n, ne). */
static void on_msg(int m, const char *n, const char *ne, const char *p, const char *e,
                   int64_t now) {
    int s = sender_of(n, ne);
    if (s < 0) {
        foreign++;
        if (!first_fail[0])
            snprintf(first_fail, sizeof first_fail, "member m%d: message from %.*s",
                     m, (int)(ne - n > 40 ? 40 : ne - n), n);
        return;
    }
    if (room_of(s) != room_of(m)) {
        foreign++;
        if (!first_fail[0])
            snprintf(first_fail, sizeof first_fail,
                     "member m%d in room r%d got a message from m%d in room r%d", m,
                     room_of(m), s, room_of(s));
        return;
    }
    int echo = s == m;
    if (echo && o_proto == PROTO_IRC) {
        foreign++;
        fail("the IRC server echoed a message to its sender m%s%ld", "", m);
        return;
    }
    uint64_t seq = 0;
    while (p < e && *p >= '0' && *p <= '9') seq = seq * 10 + (uint64_t)(*p++ - '0');
    p++;
    int64_t ts = 0;
    while (p < e && *p >= '0' && *p <= '9') ts = ts * 10 + (*p++ - '0');
    uint32_t *ex = &expect[(size_t)m * (size_t)o_senders + (size_t)s];
    if (seq != *ex) {
        if (seq > *ex) gaps++; else backs++;
        if (!first_fail[0])
            snprintf(first_fail, sizeof first_fail,
                     "member m%d: from m%d got seq %llu, expected %u", m, s,
                     (unsigned long long)seq, *ex);
    }
    *ex = (uint32_t)seq + 1;
    t_last_deliv = now;
    if (echo) {  /* read and checked, but not a delivery: IRC has none */
        echoes++;
        return;
    }
    conns[m].msgs++;
    delivered++;
    int64_t lat = now - ts;
    hist_add(hist_lat, lat);
    lat_sum += (double)lat;
    if (lat > lat_max) lat_max = lat;
    if (o_rate == 0) {
        sender_t *sd = &senders[s];
        uint32_t others = audience(s);
        if (seq >= sd->acked && seq < sd->sent) {
            uint32_t *slot = &sd->ring[seq % (uint64_t)o_window];
            if (++*slot >= others && seq == sd->acked) {
                while (sd->acked < sd->sent &&
                       sd->ring[sd->acked % (uint64_t)o_window] >= others) {
                    sd->ring[sd->acked % (uint64_t)o_window] = 0;
                    sd->acked++;
                }
                sd->pending = 1;
            }
        }
    }
}

static void handshake_done(int i, int64_t now) {
    conn_t *c = &conns[i];
    c->state = ST_READY;
    in_flight--;
    joined++;
    t_last_join = now;
    int64_t hs = now - c->t_start;
    hist_add(hist_hs, hs);
    if (hs > hs_max) hs_max = hs;
}

static void got_error(int i, const char *what) {
    errors_rx++;
    if (!first_fail[0])
        snprintf(first_fail, sizeof first_fail, "member m%d got %s", i, what);
    if (conns[i].state < ST_READY) {
        hs_fail++;
        kill_conn(i, 0);
    }
}

static void on_chat_line(int i, const char *s, size_t len, int64_t now) {
    conn_t *c = &conns[i];
    const char *e = s + len;
    if (len > 4 && memcmp(s, "MSG ", 4) == 0) {
        const char *n = s + 4, *ne = memchr(n, ' ', (size_t)(e - n));
        if (!ne) ne = e;
        on_msg(i, n, ne, ne < e ? ne + 1 : e, e, now);
    } else if (len > 5 && memcmp(s, "JOIN ", 5) == 0) {
        total_joins++;
    } else if (len > 6 && memcmp(s, "LEAVE ", 6) == 0) {
        leaves++;
    } else if (len >= 5 && memcmp(s, "ERROR", 5) == 0) {
        got_error(i, "an ERROR line");
    } else if (c->state == ST_WAIT_NICK && len == 4 && memcmp(s, "NICK", 4) == 0) {
        char nick[64];
        int n = o_rooms > 1 ? snprintf(nick, sizeof nick, "/join r%d\nm%d\n", room_of(i), i)
                            : snprintf(nick, sizeof nick, "m%d\n", i);
        c->state = ST_WAIT_WELCOME;
        send_lines(i, nick, (size_t)n);
    } else if (c->state == ST_WAIT_WELCOME && len > 8 && memcmp(s, "WELCOME ", 8) == 0) {
        c->state = ST_WAIT_USERS;
    } else if (c->state == ST_WAIT_USERS && len >= 5 && memcmp(s, "USERS", 5) == 0) {
        handshake_done(i, now);
    }
    /* anything else: ignored, as the protocol asks */
}

/* One IRC line: [":" prefix " "] command [" " params]. */
static void on_irc_line(int i, const char *s, size_t len, int64_t now) {
    conn_t *c = &conns[i];
    const char *e = s + len, *nick = s, *nick_end = s;
    if (len && *s == ':') {
        const char *sp = memchr(s, ' ', len);
        if (!sp) return;
        nick = s + 1;
        for (nick_end = nick; nick_end < sp && *nick_end != '!'; nick_end++) {
        }
        s = sp + 1;
    }
    const char *cmd = s, *cmd_end = memchr(s, ' ', (size_t)(e - s));
    if (!cmd_end) cmd_end = e;
    size_t cl = (size_t)(cmd_end - cmd);
    const char *args = cmd_end < e ? cmd_end + 1 : e;
    if (cl == 7 && memcmp(cmd, "PRIVMSG", 7) == 0) {
        const char *text = memchr(args, ':', (size_t)(e - args));
        on_msg(i, nick, nick_end, text ? text + 1 : e, e, now);
    } else if (cl == 4 && memcmp(cmd, "JOIN", 4) == 0) {
        total_joins++;
    } else if ((cl == 4 && memcmp(cmd, "PART", 4) == 0) ||
               (cl == 4 && memcmp(cmd, "QUIT", 4) == 0) ||
               (cl == 4 && memcmp(cmd, "KICK", 4) == 0)) {
        leaves++;
    } else if (cl == 4 && memcmp(cmd, "PING", 4) == 0) {
        char pong[600];
        int n = snprintf(pong, sizeof pong, "PONG %.*s\r\n", (int)(e - args), args);
        pings++;
        conn_write(i, pong, (size_t)n);
    } else if (cl == 5 && memcmp(cmd, "ERROR", 5) == 0) {
        got_error(i, "an ERROR line");
    } else if (cl == 3 && cmd[0] >= '0' && cmd[0] <= '9') {
        int code = (cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 + (cmd[2] - '0');
        if (code == 1 && c->state == ST_WAIT_WELCOME) {
            static const char join[] = "JOIN " CHANNEL "\r\n";
            c->state = ST_WAIT_USERS;
            conn_write(i, join, sizeof join - 1);
        } else if (code == 366 && c->state == ST_WAIT_USERS) {
            handshake_done(i, now);
        } else if (code >= 400 && code < 600 && code != 422) {
            /* 422: no MOTD, harmless; any other error numeric is a failure */
            char what[32];
            snprintf(what, sizeof what, "error numeric %d", code);
            got_error(i, what);
        }
    }
    /* anything else (NOTICE, 002-005, LUSERS, MOTD, NAMES): ignored */
}

static void on_line(int i, const char *s, size_t len, int64_t now) {
    if (len && s[len - 1] == '\r') len--;
    if (o_proto == PROTO_IRC)
        on_irc_line(i, s, len, now);
    else
        on_chat_line(i, s, len, now);
}

static void on_readable(int i) {
    conn_t *c = &conns[i];
    size_t cl = c->carry_len;
    if (scap < cl + CHUNK) {
        scap = (cl + CHUNK) * 2;
        scratch = realloc(scratch, scap);
        if (!scratch) die("realloc");
    }
    if (cl) memcpy(scratch, c->carry, cl);
    static char raw[CHUNK];
    ssize_t n = recv(c->fd, o_ws ? raw : scratch + cl, CHUNK, 0);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) return;
        fail("server closed the connection of member m%s%ld", "", i);
        kill_conn(i, 1);
        return;
    }
    if (o_ws) {
        bytes_rx += (uint64_t)n;
        long got = ws_deframe(i, raw, (size_t)n, scratch + cl);
        if (got < 0) {
            fail("server closed or refused the WebSocket of member m%s%ld", "", i);
            if (c->state < ST_READY) hs_fail++;
            kill_conn(i, 1);
            return;
        }
        n = got;
        bytes_rx -= (uint64_t)n;  /* counted as received bytes, once */
    }
    int64_t now = now_ns();
    last_progress = now;
    bytes_rx += (uint64_t)n;
    char *p = scratch, *end = scratch + cl + n, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        on_line(i, p, (size_t)(nl - p), now);
        if (c->state == ST_DEAD) return;
        p = nl + 1;
    }
    size_t rest = (size_t)(end - p);
    if (rest > c->carry_cap) {
        c->carry_cap = (uint32_t)(rest * 2);
        c->carry = realloc(c->carry, c->carry_cap);
        if (!c->carry) die("realloc");
    }
    memmove(c->carry, p, rest);
    c->carry_len = (uint32_t)rest;
}

static void rate_tick(int64_t now) {
    uint64_t buf;
    if (read(tfd, &buf, sizeof buf) < 0 && errno != EAGAIN) die("timerfd read");
    double period = 1e9 / o_rate;
    while (phase == PH_SEND && next_due <= now) {
        int s = (int)(rate_k % (uint64_t)o_senders);
        if (senders[s].sent >= o_messages || next_due >= t_send_end) break;
        int64_t lag = now - next_due;
        if (lag > sched_lag_max) sched_lag_max = lag;
        if (lag > 1000000) late_sends++;
        send_batch(s, 1, now_ns());
        rate_k++;
        next_due = t_send0 + (int64_t)(period * (double)rate_k);
        now = now_ns();
    }
    if (phase != PH_SEND || next_due >= t_send_end) return;
    struct itimerspec its = {0};
    its.it_value.tv_sec = next_due / 1000000000;
    its.it_value.tv_nsec = next_due % 1000000000;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void print_json(const char *tag, const char *status, double gen_cpu_join,
                       double gen_cpu_send) {
    double send_s = t_last_deliv > t_send0 && t_send0 ? (t_last_deliv - t_send0) / 1e9 : 0;
    /* The rate while the senders send, so that a slow drain (a server that
     * sits on the last messages) shows in the latency, not in the rate. */
    double rate_s = t_drain0 > t_send0 && t_send0 ? (t_drain0 - t_send0) / 1e9 : 0;
    double rate = rate_s > 0 ? delivered_send / rate_s : send_s > 0 ? delivered / send_s : 0;
    double drain_s = t_drain0 && t_last_deliv > t_drain0 ? (t_last_deliv - t_drain0) / 1e9 : 0;
    printf("%s {\"status\": \"%s\", \"detail\": \"%s\", \"proto\": \"%s\", "
           "\"members\": %d, "
           "\"joined\": %d, \"connect_failures\": %d, \"handshake_failures\": %d, "
           "\"disconnects\": %d, \"join_s\": %.6f, \"settle_s\": %.6f, "
           "\"hs_p50_ms\": %.3f, \"hs_p99_ms\": %.3f, \"hs_max_ms\": %.3f, "
           "\"sent\": %llu, \"deliveries\": %llu, \"expected_deliveries\": %llu, "
           "\"send_s\": %.6f, \"drain_s\": %.6f, \"deliveries_per_s\": %.1f, "
           "\"lat_p50_us\": %.0f, \"lat_p99_us\": %.0f, \"lat_p999_us\": %.0f, "
           "\"lat_max_us\": %.0f, \"lat_mean_us\": %.1f, "
           "\"gaps\": %llu, \"backs\": %llu, \"foreign\": %llu, \"leaves\": %llu, "
           "\"errors\": %llu, \"joins_rx\": %llu, \"bytes_rx\": %llu, "
           "\"echoes\": %llu, \"pings\": %llu, "
           "\"sched_lag_max_us\": %.0f, \"late_sends\": %llu, "
           "\"gen_cpu_join_s\": %.3f, \"gen_cpu_send_s\": %.3f}\n",
           tag, status, first_fail, o_proto == PROTO_IRC ? "irc" : "chat", o_members, joined, connect_fail, hs_fail, disconnects,
           t_last_join > t0 ? (t_last_join - t0) / 1e9 : 0,
           t_settled > t0 ? (t_settled - t0) / 1e9 : 0, hist_q(hist_hs, 0.5) / 1e3,
           hist_q(hist_hs, 0.99) / 1e3, hs_max / 1e6, (unsigned long long)sent_total,
           (unsigned long long)delivered, (unsigned long long)expected_deliv, send_s,
           drain_s, rate, hist_q(hist_lat, 0.5),
           hist_q(hist_lat, 0.99), hist_q(hist_lat, 0.999), lat_max / 1e3,
           delivered ? lat_sum / delivered / 1e3 : 0, (unsigned long long)gaps,
           (unsigned long long)backs, (unsigned long long)foreign,
           (unsigned long long)leaves, (unsigned long long)errors_rx,
           (unsigned long long)total_joins, (unsigned long long)bytes_rx,
           (unsigned long long)echoes, (unsigned long long)pings,
           sched_lag_max / 1e3, (unsigned long long)late_sends, gen_cpu_join,
           gen_cpu_send);
    fflush(stdout);
}

static void wait_stdin_line(void) {
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --port P [--proto chat|irc] [--members N] [--senders S]\n"
            "  [--concurrency C] [--duration SEC] [--messages PER_SENDER]\n"
            "  [--window W | --rate MSG_PER_S]\n"
            "  [--size TEXT_BYTES] [--timeout SEC] [--stall SEC] [--interactive]\n"
            "  [--rooms R] [--ws] (chat only)\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--interactive")) { o_interactive = 1; continue; }
        if (!strcmp(a, "--ws")) { o_ws = 1; continue; }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) o_port = atoi(v);
        else if (!strcmp(a, "--members")) o_members = atoi(v);
        else if (!strcmp(a, "--senders")) o_senders = atoi(v);
        else if (!strcmp(a, "--concurrency")) o_conc = atoi(v);
        else if (!strcmp(a, "--window")) o_window = atoi(v);
        else if (!strcmp(a, "--size")) o_size = atoi(v);
        else if (!strcmp(a, "--duration")) o_duration = atof(v);
        else if (!strcmp(a, "--rate")) o_rate = atof(v);
        else if (!strcmp(a, "--timeout")) o_timeout = atof(v);
        else if (!strcmp(a, "--stall")) o_stall = atof(v);
        else if (!strcmp(a, "--rooms")) o_rooms = atoi(v);
        else if (!strcmp(a, "--messages")) o_messages = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--proto") && !strcmp(v, "chat")) o_proto = PROTO_CHAT;
        else if (!strcmp(a, "--proto") && !strcmp(v, "irc")) o_proto = PROTO_IRC;
        else usage();
    }
    /* senders need another member to deliver to */
    if (o_port <= 0 || o_members <= 0 || o_senders < 0 || o_senders > o_members ||
        (o_senders > 0 && o_members < 2) ||
        o_rooms < 1 || o_rooms > o_members || ((o_rooms > 1 || o_ws) && o_proto != PROTO_CHAT) ||
        o_conc <= 0 || o_window <= 0 || o_window > MAXWIN || o_size < 1 || o_size > 100)
        usage();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)o_members + 16 > rl.rlim_cur) {
        fprintf(stderr, "loadgen: need %d file descriptors, limit is %lu\n",
                o_members + 16, (unsigned long)rl.rlim_cur);
        return 2;
    }
    conns = calloc((size_t)o_members, sizeof *conns);
    senders = calloc((size_t)o_senders + 1, sizeof *senders);
    expect = calloc((size_t)o_members * (size_t)o_senders + 1, sizeof *expect);
    room_size = calloc((size_t)o_rooms, sizeof *room_size);
    if (!conns || !senders || !expect || !room_size) die("calloc");
    for (int m = 0; m < o_members; m++) room_size[room_of(m)]++;
    for (int s = 0; s < o_senders; s++) {
        senders[s].ring = calloc((size_t)o_window, sizeof(uint32_t));
        if (!senders[s].ring) die("calloc");
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    if (o_rate > 0) {
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tfd < 0) die("timerfd_create");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = ID_TIMER};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) < 0) die("epoll_ctl");
    }

    double cpu_start = cpu_s(), cpu_go = cpu_start;
    t0 = last_progress = now_ns();
    int64_t deadline = t0 + (int64_t)(o_timeout * 1e9);
    const char *status = "OK";
    static struct epoll_event evs[1024];

    while (phase != PH_DONE) {
        int64_t now = now_ns();
        if (now > deadline || now - last_progress > (int64_t)(o_stall * 1e9)) {
            static const char *names[] = {"join", "settle", "send", "drain", "done"};
            stalled_at = names[phase];
            break;
        }
        if (phase == PH_JOIN) {
            while (in_flight < o_conc && next_conn < o_members) start_conn(next_conn++);
            if (next_conn == o_members && in_flight == 0) {
                if (joined < o_members) break;
                phase = PH_SETTLE;
            }
        }
        if (phase == PH_SETTLE) {
            uint64_t want = 0;  /* each member sees its own JOIN and the later ones */
            for (int r = 0; r < o_rooms; r++)
                want += (uint64_t)room_size[r] * (uint64_t)(room_size[r] + 1) / 2;
            if (total_joins >= want) {
                t_settled = now_ns();
                if (o_interactive) {
                    print_json("SETTLED", "OK", cpu_s() - cpu_start, 0);
                    wait_stdin_line();
                }
                cpu_go = cpu_s();
                if (o_duration <= 0 || o_senders == 0) {
                    phase = PH_DONE;
                    break;
                }
                phase = PH_SEND;
                t_send0 = now = last_progress = now_ns();
                t_send_end = t_send0 + (int64_t)(o_duration * 1e9);
                deadline += t_send0 - t_settled;  /* time spent waiting for GO */
                if (o_rate > 0) {
                    next_due = t_send0;
                    rate_tick(now);
                } else {
                    for (int s = 0; s < o_senders; s++) window_refill(s, now);
                }
            }
        }
        if (phase == PH_SEND) {
            int done = now >= t_send_end;
            if (!done) {
                done = 1;
                for (int s = 0; s < o_senders; s++)
                    if (senders[s].sent < o_messages) done = 0;
            }
            if (done) {
                phase = PH_DRAIN;
                t_drain0 = now;
                delivered_send = delivered;
            }
        }
        if (phase == PH_DRAIN && delivered >= expected_deliv &&
            (o_proto == PROTO_IRC || echoes >= sent_total)) {
            phase = PH_DONE;
            break;
        }
        int n = epoll_wait(epfd, evs, 1024, 50);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            uint32_t id = evs[k].data.u32;
            if (id == ID_TIMER) {
                rate_tick(now_ns());
                continue;
            }
            conn_t *c = &conns[id];
            if (c->state == ST_DEAD) continue;
            if (c->state == ST_CONNECTING) {
                on_connected((int)id);
                continue;
            }
            if (evs[k].events & EPOLLOUT) flush_out((int)id);
            if (c->state != ST_DEAD && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                on_readable((int)id);
        }
        if (phase == PH_SEND && o_rate == 0) {
            int64_t t = now_ns();
            for (int s = 0; s < o_senders; s++)
                if (senders[s].pending) {
                    senders[s].pending = 0;
                    window_refill(s, t);
                }
        }
    }
    double cpu_end = cpu_s();

    /* verdict */
    uint64_t short_members = 0;
    if (phase == PH_DONE && sent_total) {
        for (int m = 0; m < o_members; m++) {
            if (conns[m].state != ST_READY) continue;
            for (int s = 0; s < o_senders; s++)
                if ((s != m || o_proto == PROTO_CHAT) && room_of(s) == room_of(m) &&
                    expect[(size_t)m * (size_t)o_senders + s] != senders[s].sent) {
                    short_members++;
                    break;
                }
        }
    }
    if (connect_fail || hs_fail || (joined < o_members && phase <= PH_SETTLE && !stalled_at))
        status = "JOIN-FAIL";
    else if (disconnects)
        status = "DISCONNECT";
    else if (foreign)
        status = "CORRUPT";
    else if (gaps && backs)
        status = "REORDER";
    else if (backs)
        status = "DUPLICATE";
    else if (gaps || short_members)
        status = "LOSS";
    else if (stalled_at)
        status = "STALLED";
    if (stalled_at && !first_fail[0]) {
        int waiting[ST_DEAD + 1] = {0};
        for (int m = 0; m < next_conn; m++) waiting[conns[m].state]++;
        if (o_proto == PROTO_IRC)
            snprintf(first_fail, sizeof first_fail,
                     "no progress in the %s phase; members waiting for: connect %d, "
                     "001 %d, 366 (end of NAMES) %d",
                     stalled_at, waiting[ST_CONNECTING], waiting[ST_WAIT_WELCOME],
                     waiting[ST_WAIT_USERS]);
        else
            snprintf(first_fail, sizeof first_fail,
                     "no progress in the %s phase; members waiting for: connect %d, "
                     "NICK %d, WELCOME %d, USERS %d",
                     stalled_at, waiting[ST_CONNECTING], waiting[ST_WAIT_NICK],
                     waiting[ST_WAIT_WELCOME], waiting[ST_WAIT_USERS]);
    }
    if (!t_settled) cpu_go = cpu_end;
    print_json("RESULT", status, cpu_go - cpu_start, cpu_end - cpu_go);
    if (o_interactive) {
        char line[64];
        while (fgets(line, sizeof line, stdin)) {
        }
    }
    return 0;
}
