/* floor_server: the least a fan-out server can do, as a reference peer.
 *
 *   floor_server --port P        (listens on 127.0.0.1:P only; 0: any port,
 *                                 told on stderr)
 *
 * Speaks just enough IRC for benchmarks/loadgen.c --proto irc and the
 * runner's probe: NICK + USER -> 001; JOIN <any> -> ":n!u@h JOIN #bench" to
 * every member (the joiner included), then 366; PRIVMSG -> ":n!u@h PRIVMSG
 * #bench :text" to every other member (no echo, like IRC); PING -> PONG;
 * QUIT closes. One channel, no nickname checks, no flood control: it measures
 * what the machine allows (docs/performance.rst, "The floor").
 *
 * One thread, level-triggered epoll, non-blocking sockets, TCP_NODELAY on
 * every member. What one epoll_wait's events produce (one message, at a light
 * load) is written as soon as they are handled, with one send() per member;
 * only what the kernel did not take stays in that member's output buffer,
 * written on EPOLLOUT. Nothing is dropped. A disconnected member leaves the channel
 * silently (no QUIT line) once the events of that epoll_wait are handled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHANNEL "#bench"
#define MAXLINE 4096 /* a longer line closes the connection */

typedef struct {
    int fd, registered, in_channel, dead, has_user, dirty, polling_out;
    char nick[32];
    char in[MAXLINE];
    size_t in_len;
    char *out; /* out[out_off, out_len): this turn's lines, and what the kernel */
    size_t out_off, out_len, out_cap; /* did not take */
} client_t;

static client_t **clients; /* by fd */
static int n_clients_cap;
static int *channel, channel_len, channel_cap; /* member fds */
static int *dead, dead_len, dead_cap;          /* closed after each batch */
static int *dirty, dirty_len, dirty_cap;       /* written after each batch */
static int epfd;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void *grow(void *p, int *cap, int need, size_t size) {
    if (need <= *cap) return p;
    int n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    p = realloc(p, (size_t)n * size);
    if (!p) die("realloc");
    memset((char *)p + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
    *cap = n;
    return p;
}

static void kill_client(client_t *c) {
    if (c->dead) return;
    c->dead = 1;
    dead = grow(dead, &dead_cap, dead_len + 1, sizeof *dead);
    dead[dead_len++] = c->fd;
}

/* EPOLLOUT only while the kernel has not taken everything. */
static void poll_out(client_t *c, int on) {
    if (c->polling_out == on) return;
    c->polling_out = on;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = c->fd};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
}

/* Queue [p, p+len) for c: written when this batch of events is handled. */
static void client_send(client_t *c, const char *p, size_t len) {
    if (c->dead) return;
    if (c->out_len + len > c->out_cap && c->out_off) { /* compact first */
        c->out_len -= c->out_off;
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out) die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    if (!c->dirty) {
        c->dirty = 1;
        dirty = grow(dirty, &dirty_cap, dirty_len + 1, sizeof *dirty);
        dirty[dirty_len++] = c->fd;
    }
}

/* One send() of everything queued; the rest waits for EPOLLOUT. */
static void flush_out(client_t *c) {
    if (c->dead || c->out_len == c->out_off) return;
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) poll_out(c, 1);
        else kill_client(c);
        return;
    }
    c->out_off += (size_t)n;
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    poll_out(c, c->out_len > 0);
}

static void flush_dirty(void) {
    for (int k = 0; k < dirty_len; k++) {
        client_t *c = clients[dirty[k]];
        c->dirty = 0;
        if (!c->polling_out) flush_out(c); /* else the socket is full */
    }
    dirty_len = 0;
}

/* To every member of the channel except `except` (-1: everyone). */
static void broadcast(const char *p, size_t len, int except) {
    for (int i = 0; i < channel_len; i++)
        if (channel[i] != except) client_send(clients[channel[i]], p, len);
}

/* A numeric reply; `fmt` has one %s, the client's nickname. */
static void reply(client_t *c, const char *fmt) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, fmt, c->nick);
    client_send(c, buf, (size_t)n);
}

static void on_line(client_t *c, char *s, size_t len) {
    if (len && s[len - 1] == '\r') s[--len] = '\0';
    char *args = memchr(s, ' ', len);
    size_t cl = args ? (size_t)(args - s) : len;
    args = args ? args + 1 : s + len;
    if (cl == 7 && !memcmp(s, "PRIVMSG", 7)) {
        if (!c->registered || !c->in_channel) return;
        char *text = strchr(args, ':');
        char buf[MAXLINE + 128];
        int n = snprintf(buf, sizeof buf, ":%s!u@h PRIVMSG " CHANNEL " :%s\r\n", c->nick,
                         text ? text + 1 : "");
        broadcast(buf, (size_t)n, c->fd);
        return;
    }
    char buf[MAXLINE + 128];
    if (cl == 4 && !memcmp(s, "NICK", 4)) {
        snprintf(c->nick, sizeof c->nick, "%.*s", (int)strcspn(args, " "), args);
    } else if (cl == 4 && !memcmp(s, "USER", 4)) {
        c->has_user = 1;
    } else if (cl == 4 && !memcmp(s, "PING", 4)) {
        int n = snprintf(buf, sizeof buf, ":floor PONG floor %s\r\n", args);
        client_send(c, buf, (size_t)n);
    } else if (cl == 4 && !memcmp(s, "QUIT", 4)) {
        kill_client(c);
    } else if (!c->registered) {
        return;
    } else if (cl == 4 && !memcmp(s, "JOIN", 4) && !c->in_channel) {
        c->in_channel = 1;
        channel = grow(channel, &channel_cap, channel_len + 1, sizeof *channel);
        channel[channel_len++] = c->fd;
        int n = snprintf(buf, sizeof buf, ":%s!u@h JOIN " CHANNEL "\r\n", c->nick);
        broadcast(buf, (size_t)n, -1);
        reply(c, ":floor 366 %s " CHANNEL " :End of NAMES list\r\n");
    }
    if (!c->registered && c->nick[0] && c->has_user) {
        c->registered = 1;
        reply(c, ":floor 001 %s :Welcome to the floor\r\n");
    }
}

static void on_readable(client_t *c) {
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) kill_client(c);
        return;
    }
    c->in_len += (size_t)n;
    char *p = c->in, *end = c->in + c->in_len, *nl;
    while (!c->dead && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        *nl = '\0';
        on_line(c, p, (size_t)(nl - p));
        p = nl + 1;
    }
    c->in_len = (size_t)(end - p);
    memmove(c->in, p, c->in_len);
    if (c->in_len == sizeof c->in) kill_client(c); /* a line too long */
}

static void on_accept(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
                perror("accept4"); /* e.g. EMFILE: the next wake-up retries */
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        clients = grow(clients, &n_clients_cap, fd + 1, sizeof *clients);
        client_t *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        clients[fd] = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    }
}

static void reap(void) {
    for (int k = 0; k < dead_len; k++) {
        client_t *c = clients[dead[k]];
        if (c->in_channel)
            for (int i = 0; i < channel_len; i++)
                if (channel[i] == c->fd) {
                    channel[i] = channel[--channel_len];
                    break;
                }
        close(c->fd); /* also leaves the epoll set */
        clients[c->fd] = NULL;
        free(c->out);
        free(c);
    }
    dead_len = 0;
}

int main(int argc, char **argv) {
    int port = -1;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    if (port < 0 || port > 65535) {
        fprintf(stderr, "usage: floor_server --port P\n");
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    if (lfd < 0) die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 4096) < 0) die("listen");
    if ((epfd = epoll_create1(0)) < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl listen");
    socklen_t alen = sizeof addr; /* --port 0: the kernel's choice, told */
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");
    fprintf(stderr, "floor_server: listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            int fd = evs[k].data.fd;
            if (fd == lfd) {
                on_accept(lfd);
                continue;
            }
            client_t *c = fd < n_clients_cap ? clients[fd] : NULL;
            if (!c || c->dead) continue;
            if (evs[k].events & EPOLLOUT) flush_out(c);
            if (!c->dead && evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
        flush_dirty();
        reap();
    }
}
