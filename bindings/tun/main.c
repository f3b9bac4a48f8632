/*
 * main.c - mptcp-tun, a netcat over libmptcp and Linux TUN devices: option
 * parsing, the poll() loop, and the stdin/stdout plumbing of one connection
 * (--listen or --connect). stdin goes to the connection, the connection to
 * stdout; stdin EOF half-closes (mptcp_shutdown); the peer's FIN closes
 * stdout; the process exits when the stack reports MPTCP_EV_CLOSED: 0 for an
 * orderly close, 1 with the reason on stderr otherwise, 2 for usage errors.
 * MPTCP (RFC 8684) is on by default: --addr flags register local endpoints
 * like `ip mptcp endpoint`, --limits is `ip mptcp limits`, and the
 * --*-after triggers drive MP_PRIO, REMOVE_ADDR and MP_FASTCLOSE mid-transfer.
 * Packets, routes, clock and randomness are tun_host.c's business.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tun_host.h"
#include "tun_ip.h"

#define IO_CHUNK 65536
#define MAX_SF_SEEN 32       /* subflows remembered for --stats */
#define SNAPSHOT_US 20000    /* refresh of the --stats snapshot while running */

static const char usage_text[] =
    "Usage: mptcp-tun [OPTIONS] --dev NAME --addr ADDR (--listen [ADDR:]PORT | --connect ADDR:PORT)\n"
    "\n"
    "A netcat over libmptcp: the library's TCP runs in this process and exchanges IP\n"
    "packets with the kernel through TUN devices. stdin goes to the connection, the\n"
    "connection to stdout. EOF on stdin sends a FIN (half-close); the peer's FIN closes\n"
    "stdout. Exit status: 0 after an orderly close, 1 on a connection error (reason on\n"
    "stderr: connection refused, connection reset by peer, timed out, ...), 2 on a usage\n"
    "or setup error.\n"
    "\n"
    "Devices and addresses (repeat --dev for several paths):\n"
    "  --dev NAME           a TUN device: attached if it exists (ip tuntap add NAME mode tun),\n"
    "                       created otherwise (then removed at exit). The link is set up.\n"
    "                       The options below marked [dev] apply to the last --dev before\n"
    "                       them (to the first --dev when none precedes them).\n"
    "  --addr ADDR[/LEN][,FLAG...]\n"
    "                       [dev] an IPv4 or IPv6 address owned by the library (repeatable).\n"
    "                       Segments from ADDR leave through its device. With /LEN the\n"
    "                       prefix is also routed through the device. The kernel side needs\n"
    "                       a route to ADDR via the device (ip route add ADDR dev NAME).\n"
    "                       FLAGs make ADDR an MPTCP endpoint, as `ip mptcp endpoint add ADDR\n"
    "                       FLAG...` does: signal (announce it with ADD_ADDR), subflow (open\n"
    "                       subflows from it), backup (its subflows are backup: MP_JOIN B\n"
    "                       flag), fullmesh (a subflow from it to every address the peer\n"
    "                       announces). Endpoints get IDs 1, 2, ... in the order given;\n"
    "                       -v prints them. An address without flags is only owned.\n"
    "  --route PFX/LEN      [dev] destinations in PFX/LEN are reached through the device\n"
    "                       (longest prefix wins; one device needs no route).\n"
    "\n"
    "Connection:\n"
    "  --listen [ADDR:]PORT accept one connection on PORT (any local address when ADDR is\n"
    "                       omitted; v6 as [ADDR]:PORT); further SYNs are refused.\n"
    "  --connect ADDR:PORT  connect to ADDR:PORT (v6 as [ADDR]:PORT); the source address is\n"
    "                       the local address on the device that routes to ADDR.\n"
    "  --source ADDR        force the source address of --connect (one of --addr)\n"
    "  --local-port PORT    source port of --connect (default: ephemeral)\n"
    "\n"
    "MPTCP (RFC 8684; on by default):\n"
    "  --no-mptcp           plain TCP: offer no MP_CAPABLE, ignore MPTCP options\n"
    "  --checksum           require DSS checksums (MP_CAPABLE A flag; either side asking for\n"
    "                       them turns them on, like sysctl net.mptcp.checksum_enabled=1)\n"
    "  --limits SUBFLOWS ADD_ADDR_ACCEPTED\n"
    "                       `ip mptcp limits`: additional subflows per connection (0..7,\n"
    "                       default 2) and peer ADD_ADDRs acted on (0..8, default 0)\n"
    "  --deny-join-id0      MP_CAPABLE C flag: the peer may not join our initial address\n"
    "  --scheduler NAME     default, minrtt, roundrobin or redundant\n"
    "  --backup-after BYTES[:ID]\n"
    "                       once BYTES went through the connection (sent + received), mark\n"
    "                       subflow ID (default 1, the first join) backup: MP_PRIO\n"
    "  --remove-addr-after BYTES ID\n"
    "                       once BYTES went through, withdraw our address ID: REMOVE_ADDR,\n"
    "                       and its subflows close (their data moves to the others)\n"
    "  --fastclose-after BYTES\n"
    "                       once BYTES went through, abort the connection: MP_FASTCLOSE\n"
    "                       (a RST for plain TCP); the exit status is then 1\n"
    "  --fastclose-ack      abort with MP_FASTCLOSE on an ACK, retransmitted until the peer's\n"
    "                       RST (RFC 8684 3.5 first variant; default: on a RST, as Linux)\n"
    "  --coupled-cc NAME    coupled congestion control of the subflows: lia, olia, balia\n"
    "                       (default none: each subflow runs --cc alone, as Linux)\n"
    "\n"
    "Path emulation (tc netem is not needed), per device and direction; 'in' is\n"
    "device -> library, 'out' is library -> device:\n"
    "  --loss PCT           [dev] drop PCT percent of packets both ways (e.g. 1, 0.5)\n"
    "  --loss-in PCT, --loss-out PCT    one direction only\n"
    "  --delay-ms MS        [dev] add MS milliseconds of one-way delay both ways\n"
    "  --delay-in-ms MS, --delay-out-ms MS    one direction only\n"
    "  --queue-kb KB        [dev] delay queue limit per direction (default 8192), tail drop\n"
    "  --seed N             deterministic randomness: keys, ISNs and the loss pattern come\n"
    "                       from N (default: getrandom(); loss seeded from it as well)\n"
    "\n"
    "Stack configuration:\n"
    "  --mss N              MSS to advertise (default: smallest device MTU - 40, - 60 with IPv6)\n"
    "  --sndbuf BYTES, --rcvbuf BYTES    per-connection buffers (default 1 MiB each)\n"
    "  --cc cubic|reno      congestion control (default cubic)\n"
    "  --no-sack, --no-ts, --no-wscale   do not offer SACK / timestamps / window scaling\n"
    "  --time-wait-ms MS    TIME_WAIT length; after an orderly close the process stays\n"
    "                       until it ends to answer a retransmitted FIN (default 1000)\n"
    "  --keepalive-s S      keepalive idle time (default off)\n"
    "\n"
    "Output:\n"
    "  --stats              print to stderr at exit: the connection, its MPTCP counters (tokens,\n"
    "                       data level bytes, joins, ADD_ADDR/REMOVE_ADDR/MP_PRIO received,\n"
    "                       checksum and MP_FAIL counters), every subflow it ever had (ids,\n"
    "                       addresses, local/remote address IDs, state, bytes, srtt, our and\n"
    "                       the peer's backup flag, why it went down), device, emulation\n"
    "                       and stack counters\n"
    "  --pcap FILE          record every segment the library sends and receives (after\n"
    "                       'in' emulation) as IP packets, LINKTYPE_RAW, readable by tcpdump,\n"
    "                       tshark and Wireshark\n"
    "  -v, --verbose        MPTCP events (subflow up/down, addresses announced/removed,\n"
    "                       backup changes, fallback, MP_FAIL) and the endpoint IDs on\n"
    "                       stderr; library log messages (repeat for more)\n"
    "  -h, --help           this text\n"
    "\n"
    "Example (kernel TCP peer on the same machine, as root):\n"
    "  ip tuntap add mtun0 mode tun && ip addr add 10.9.0.1/24 dev mtun0 && ip link set mtun0 up\n"
    "  nc -l -p 5000 > received &        # the kernel side\n"
    "  mptcp-tun --dev mtun0 --addr 10.9.0.2 --connect 10.9.0.1:5000 < file\n";

/* ------------------------------------------------------------ the application */

typedef struct app {
    tun_host *h;
    mptcp_conn *conn;
    bool listening, is_listener;
    mptcp_addr listen_addr[2];
    int n_listen;
    bool established;
    bool readable;       /* MPTCP_EV_READABLE seen, recv not yet EAGAIN */
    bool send_blocked;   /* mptcp_send said EAGAIN; wait for MPTCP_EV_WRITABLE */
    bool stdin_eof, shut_sent, rx_eof, stdout_closed, stdout_regular;
    bool closed;
    mptcp_close_reason reason;
    int err_exit;        /* set when a local error ends the run (non-zero exit) */
    char err_msg[160];
    uint8_t inbuf[IO_CHUNK];
    size_t in_off, in_len;
    uint8_t outbuf[IO_CHUNK];
    size_t out_off, out_len;
    uint64_t bytes_stdin, bytes_stdout;
    uint64_t t_start, t_end;
    bool have_stats;
    mptcp_conn_stats cs;
    mptcp_addr c_local, c_remote;
    /* MPTCP: the last snapshot of the connection level and of every
     * subflow seen, kept after a subflow is gone so --stats shows it. */
    bool have_mp;
    mptcp_mp_stats mp;
    struct sf_seen {
        mptcp_subflow_stats s;
        bool gone;
        mptcp_close_reason reason;
        bool has_rst_code;
        uint8_t rst_code;
    } sf[MAX_SF_SEEN];
    int n_sf;
    uint64_t next_snapshot;
    /* Triggers (--backup-after, --remove-addr-after, --fastclose-after). */
    uint64_t backup_after, remove_after, fastclose_after;
    int backup_id;
    uint8_t remove_id;
    bool backup_done, remove_done, fastclose_done;
    uint64_t bytes_sent, bytes_recv;  /* taken by mptcp_send, given by mptcp_recv */
} app;

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
}

static struct sf_seen *sf_slot(app *a, int id)
{
    for (int i = 0; i < a->n_sf; i++)
        if (a->sf[i].s.id == id)
            return &a->sf[i];
    if (a->n_sf == MAX_SF_SEEN)
        return NULL;
    struct sf_seen *e = &a->sf[a->n_sf++];
    memset(e, 0, sizeof *e);
    e->s.id = id;
    return e;
}

/* Snapshot of the connection, its MPTCP level and every subflow it has now. */
static void app_snapshot(app *a, mptcp_conn *c)
{
    if (mptcp_conn_get_stats(c, &a->cs) == 0)
        a->have_stats = true;
    mptcp_conn_get_addrs(c, &a->c_local, &a->c_remote);
    if (mptcp_conn_get_mp_stats(c, &a->mp) == 0)
        a->have_mp = true;
    int ids[MAX_SF_SEEN];
    int n = mptcp_conn_subflows(c, ids, MAX_SF_SEEN);
    for (int i = 0; i < n && i < MAX_SF_SEEN; i++) {
        mptcp_subflow_stats s;
        if (mptcp_subflow_get_stats(c, ids[i], &s) != 0)
            continue;
        struct sf_seen *e = sf_slot(a, ids[i]);
        if (e)
            e->s = s;
    }
}

/* ADDR:PORT, [V6]:PORT, or ADDR alone for port 0. */
static void addr_port_str(const mptcp_addr *ad, char *buf, size_t len)
{
    tun_addr_str(ad, buf, len);
}

static const char *reason_text(mptcp_close_reason r);

/* -v: one line per connection or multipath event on stderr. */
static void log_event(const mptcp_event *ev)
{
    char l[80], r[80];
    switch (ev->type) {
    case MPTCP_EV_SUBFLOW_UP:
    case MPTCP_EV_SUBFLOW_DOWN:
    case MPTCP_EV_PRIO_CHANGED:
        addr_port_str(&ev->u.subflow.local, l, sizeof l);
        addr_port_str(&ev->u.subflow.remote, r, sizeof r);
        fprintf(stderr, "mptcp-tun: event %s subflow %d: %s -> %s, ids %u/%u, peer backup %d",
                ev->type == MPTCP_EV_SUBFLOW_UP     ? "up"
                : ev->type == MPTCP_EV_SUBFLOW_DOWN ? "down"
                                                    : "prio",
                ev->subflow_id, l, r, (unsigned)ev->u.subflow.local_id,
                (unsigned)ev->u.subflow.remote_id, ev->u.subflow.backup);
        if (ev->type == MPTCP_EV_SUBFLOW_DOWN) {
            fprintf(stderr, " (%s", reason_text(ev->u.subflow.reason));
            if (ev->u.subflow.has_rst_code)
                fprintf(stderr, ", MP_TCPRST reason %u", (unsigned)ev->u.subflow.rst_code);
            fprintf(stderr, ")");
        }
        fprintf(stderr, "\n");
        break;
    case MPTCP_EV_ADDR_ANNOUNCED:
        addr_port_str(&ev->u.addr.addr, l, sizeof l);
        fprintf(stderr, "mptcp-tun: event the peer announced address id %u: %s\n",
                (unsigned)ev->u.addr.id, l);
        break;
    case MPTCP_EV_ADDR_REMOVED:
        fprintf(stderr, "mptcp-tun: event the peer removed address id %u\n",
                (unsigned)ev->u.addr.id);
        break;
    case MPTCP_EV_FALLBACK:
        fprintf(stderr, "mptcp-tun: event fell back to plain TCP\n");
        break;
    case MPTCP_EV_MP_FAIL:
        fprintf(stderr, "mptcp-tun: event MP_FAIL (DSS checksum failure) on subflow %d\n",
                ev->subflow_id);
        break;
    case MPTCP_EV_EXPERIMENTAL:
        fprintf(stderr, "mptcp-tun: event MP_EXPERIMENTAL (%u bytes) on subflow %d\n",
                (unsigned)ev->u.exp.len, ev->subflow_id);
        break;
    case MPTCP_EV_CONNECTED:
    case MPTCP_EV_ACCEPTED:
        fprintf(stderr, "mptcp-tun: event %s\n",
                ev->type == MPTCP_EV_CONNECTED ? "connected" : "accepted");
        break;
    case MPTCP_EV_CLOSED:
        fprintf(stderr, "mptcp-tun: event closed: %s\n", reason_text(ev->u.closed.reason));
        break;
    default:
        break;
    }
}

static void app_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    app *a = user;
    if (a->h->verbose > 0 && (c == a->conn || ev->type == MPTCP_EV_CONNECTED ||
                              (ev->type == MPTCP_EV_ACCEPTED && !a->conn)))
        log_event(ev);
    switch (ev->type) {
    case MPTCP_EV_CONNECTED:
        a->established = true;
        a->t_start = a->h->now_us;
        app_snapshot(a, c);
        break;
    case MPTCP_EV_ACCEPTED:
        if (a->conn) { /* one connection, like netcat: refuse the rest */
            mptcp_abort(c, a->h->now_us);
            break;
        }
        a->conn = c;
        a->established = true;
        a->t_start = a->h->now_us;
        app_snapshot(a, c);
        break;
    case MPTCP_EV_READABLE:
        if (c == a->conn)
            a->readable = true;
        break;
    case MPTCP_EV_WRITABLE:
        if (c == a->conn)
            a->send_blocked = false;
        break;
    case MPTCP_EV_PEER_SHUTDOWN:
        if (c == a->conn)
            a->readable = true; /* recv will return 0 once the data is read */
        break;
    case MPTCP_EV_CLOSED:
        if (c != a->conn)
            break;
        app_snapshot(a, c);
        for (int i = 0; i < a->n_sf; i++) {
            if (!a->sf[i].gone) {
                a->sf[i].gone = true;
                a->sf[i].reason = ev->u.closed.reason;
            }
        }
        a->closed = true;
        a->reason = ev->u.closed.reason;
        a->conn = NULL;
        a->t_end = a->h->now_us;
        break;
    case MPTCP_EV_SUBFLOW_UP:
    case MPTCP_EV_PRIO_CHANGED:
    case MPTCP_EV_ADDR_ANNOUNCED:
    case MPTCP_EV_ADDR_REMOVED:
    case MPTCP_EV_FALLBACK:
    case MPTCP_EV_MP_FAIL:
        if (c == a->conn)
            app_snapshot(a, c);
        break;
    case MPTCP_EV_SUBFLOW_DOWN:
        if (c != a->conn)
            break;
        app_snapshot(a, c);
        {
            struct sf_seen *e = sf_slot(a, ev->subflow_id);
            if (e) {
                if (e->s.local.family == 0) { /* never snapshotted: the event's view */
                    e->s.local = ev->u.subflow.local;
                    e->s.remote = ev->u.subflow.remote;
                    e->s.local_id = ev->u.subflow.local_id;
                    e->s.remote_id = ev->u.subflow.remote_id;
                }
                e->gone = true;
                e->reason = ev->u.subflow.reason;
                e->has_rst_code = ev->u.subflow.has_rst_code;
                e->rst_code = ev->u.subflow.rst_code;
            }
        }
        break;
    default:
        break;
    }
}

static const char *reason_text(mptcp_close_reason r)
{
    switch (r) {
    case MPTCP_CLOSE_NORMAL: return "closed";
    case MPTCP_CLOSE_RESET: return "connection reset by peer";
    case MPTCP_CLOSE_REFUSED: return "connection refused";
    case MPTCP_CLOSE_TIMEOUT: return "connection timed out";
    case MPTCP_CLOSE_ABORTED: return "connection aborted";
    case MPTCP_CLOSE_UNREACHABLE: return "destination unreachable";
    case MPTCP_CLOSE_FASTCLOSE: return "connection closed by the peer with MP_FASTCLOSE";
    case MPTCP_CLOSE_MPTCP_RST: return "connection reset by peer with MP_TCPRST";
    }
    return "closed for an unknown reason";
}

static void app_fail(app *a, const char *fmt, const char *what)
{
    if (a->err_exit)
        return;
    a->err_exit = 1;
    snprintf(a->err_msg, sizeof a->err_msg, fmt, what);
}

/* Writes buffered output. With |block| false it writes only what stdout
 * takes without blocking: poll() first, and for pipes at most PIPE_BUF per
 * write, which a pipe with POLLOUT always takes whole. */
static void flush_stdout(app *a, bool block)
{
    while (a->out_len > 0 && !a->stdout_closed) {
        if (!a->stdout_regular) {
            struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
            int r = poll(&p, 1, block ? -1 : 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return;
            if (p.revents & (POLLERR | POLLNVAL)) {
                app_fail(a, "stdout: %s", "error");
                a->stdout_closed = true;
                return;
            }
        }
        size_t n = a->out_len;
        if (!a->stdout_regular && n > PIPE_BUF)
            n = PIPE_BUF;
        ssize_t w = write(STDOUT_FILENO, a->outbuf + a->out_off, n);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            app_fail(a, "stdout: %s", strerror(errno));
            a->stdout_closed = true; /* nobody reads: stop delivering */
            a->out_len = 0;
            return;
        }
        a->out_off += (size_t)w;
        a->out_len -= (size_t)w;
        a->bytes_stdout += (uint64_t)w;
    }
    if (a->out_len == 0)
        a->out_off = 0;
}

/* Moves data between the connection and stdin/stdout as far as it goes
 * without blocking. */
static void app_pump(app *a)
{
    tun_host *h = a->h;
    mptcp_conn *c = a->conn;
    if (c && a->established && !a->closed) {
        while (a->in_len > 0 && !a->send_blocked && !a->shut_sent) {
            mptcp_ssize r = mptcp_send(c, a->inbuf + a->in_off, a->in_len, tun_host_clock(h));
            if (r > 0) {
                a->in_off += (size_t)r;
                a->in_len -= (size_t)r;
                a->bytes_sent += (uint64_t)r;
            } else if (r == MPTCP_EAGAIN) {
                a->send_blocked = true;
            } else {
                /* ESTATE/ECLOSED: the connection cannot take data any more;
                 * what is left of stdin is lost, as with any socket. */
                app_fail(a, "send: %s", mptcp_strerror((int)r));
                a->in_len = 0;
                a->stdin_eof = true;
            }
        }
        if (a->in_len == 0)
            a->in_off = 0;
        if (a->stdin_eof && a->in_len == 0 && !a->shut_sent && a->conn) {
            int r = mptcp_shutdown(a->conn, tun_host_clock(h));
            a->shut_sent = true;
            if (r < 0 && r != MPTCP_ECLOSED)
                app_fail(a, "shutdown: %s", mptcp_strerror(r));
        }
    }
    for (;;) {
        c = a->conn;
        if (a->out_len == 0 && c && a->readable && !a->rx_eof) {
            mptcp_ssize r = mptcp_recv(c, a->outbuf, sizeof a->outbuf, tun_host_clock(h));
            if (r > 0) {
                a->out_len = (size_t)r;
                a->out_off = 0;
                a->bytes_recv += (uint64_t)r;
            } else if (r == 0 || r == MPTCP_ECLOSED) {
                a->rx_eof = true;
            } else {
                a->readable = false; /* EAGAIN: wait for MPTCP_EV_READABLE */
            }
        }
        if (a->out_len == 0)
            break;
        flush_stdout(a, false);
        if (a->out_len > 0)
            break; /* stdout is full: the receive window closes behind us */
    }
    if (a->rx_eof && a->out_len == 0 && !a->stdout_closed) {
        close(STDOUT_FILENO); /* the reader sees EOF now, not at our exit */
        a->stdout_closed = true;
    }
}

/* The --*-after triggers: host-driven path management at a byte count, and
 * the periodic --stats snapshot. */
static void app_triggers(app *a)
{
    mptcp_conn *c = a->conn;
    if (!c || !a->established || a->closed)
        return;
    uint64_t moved = a->bytes_sent + a->bytes_recv;
    uint64_t now = tun_host_clock(a->h);
    if (now >= a->next_snapshot) {
        app_snapshot(a, c);
        a->next_snapshot = now + SNAPSHOT_US;
    }
    if (a->backup_after && !a->backup_done && moved >= a->backup_after) {
        int r = mptcp_subflow_set_backup(c, a->backup_id, true, now);
        /* ENOTFOUND/ESTATE: the subflow is not there yet; try again later. */
        if (r == 0 || moved >= 2 * a->backup_after) {
            a->backup_done = true;
            fprintf(stderr,
                    "mptcp-tun: after %" PRIu64 " bytes: subflow %d set backup (MP_PRIO): %s\n",
                    moved, a->backup_id, r == 0 ? "ok" : mptcp_strerror(r));
        }
    }
    if (a->remove_after && !a->remove_done && moved >= a->remove_after) {
        int r = mptcp_addr_remove(c, a->remove_id, now);
        if (r == 0 || moved >= 2 * a->remove_after) {
            a->remove_done = true;
            fprintf(stderr,
                    "mptcp-tun: after %" PRIu64
                    " bytes: address id %u removed (REMOVE_ADDR): %s\n",
                    moved, (unsigned)a->remove_id, r == 0 ? "ok" : mptcp_strerror(r));
        }
    }
    if (a->fastclose_after && !a->fastclose_done && moved >= a->fastclose_after) {
        a->fastclose_done = true;
        app_snapshot(a, c);
        fprintf(stderr, "mptcp-tun: after %" PRIu64 " bytes: aborting (%s)\n", moved,
                a->have_mp && a->mp.mptcp && !a->mp.fallback ? "MP_FASTCLOSE" : "RST");
        int r = mptcp_abort(c, now);
        if (r < 0)
            fprintf(stderr, "mptcp-tun: abort: %s\n", mptcp_strerror(r));
    }
}

static void app_read_stdin(app *a)
{
    if (a->in_len > 0 || a->stdin_eof)
        return;
    ssize_t n = read(STDIN_FILENO, a->inbuf, sizeof a->inbuf);
    if (n > 0) {
        a->in_off = 0;
        a->in_len = (size_t)n;
        a->bytes_stdin += (uint64_t)n;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (n < 0)
            fprintf(stderr, "mptcp-tun: stdin: %s (treated as EOF)\n", strerror(errno));
        a->stdin_eof = true;
    }
}

/* ------------------------------------------------------------ stats */

static const char *state_name(mptcp_tcp_state s)
{
    static const char *const names[] = {"CLOSED",     "LISTEN",     "SYN_SENT",  "SYN_RECEIVED",
                                        "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                        "CLOSING",    "LAST_ACK",   "TIME_WAIT"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static void print_conn_stats(const app *a, FILE *f)
{
    char l[64], r[64];
    if (!a->have_stats) {
        fprintf(f, "connection: none was established\n");
        return;
    }
    uint64_t end = a->t_end ? a->t_end : a->h->now_us;
    double secs = a->t_start && end > a->t_start ? (end - a->t_start) / 1e6 : 0.0;
    fprintf(f, "connection %s -> %s: %s", tun_addr_str(&a->c_local, l, sizeof l),
            tun_addr_str(&a->c_remote, r, sizeof r),
            a->closed ? reason_text(a->reason) : "still open");
    if (a->t_start)
        fprintf(f, " %.3f s after it was established", secs);
    fprintf(f, "\n");
    fprintf(f, "    stdin -> connection %" PRIu64 " bytes, connection -> stdout %" PRIu64
               " bytes",
            a->bytes_stdin, a->bytes_stdout);
    if (secs > 0)
        fprintf(f, " (%.2f MB/s, %.2f MB/s)", a->bytes_stdin / secs / 1e6,
                a->bytes_stdout / secs / 1e6);
    fprintf(f, "\n");
    if (a->have_mp) {
        const mptcp_mp_stats *m = &a->mp;
        fprintf(f,
                "mptcp: mptcp %d, fallback %d, fully-established %d, checksum %d, local-token "
                "0x%08x, remote-token 0x%08x, subflows %u (ever %d)\n",
                m->mptcp, m->fallback, m->fully_established, m->checksum,
                (unsigned)m->local_token, (unsigned)m->remote_token, (unsigned)m->n_subflows,
                a->n_sf);
        fprintf(f,
                "    data level: bytes-sent %" PRIu64 ", bytes-acked %" PRIu64
                ", bytes-received %" PRIu64 ", reinjected %" PRIu64
                "; joins-in %u, joins-out %u, join-bad-hmac %u; add-addr-in %u, "
                "add-addr-bad-hmac %u, rm-addr-in %u, prio-in %u; dss-csum-bad %u, "
                "mp-fail-in %u, mp-fail-out %u, map-errors %u, events-dropped %u; "
                "rcv-dropped %" PRIu64 ", rcv-wait-space %u, rcv-ooo-full %u; mp_tcprst reasons in:",
                m->bytes_sent, m->bytes_acked, m->bytes_received, m->reinjected_bytes,
                m->joins_in, m->joins_out, m->join_bad_hmac, m->add_addr_in,
                m->add_addr_bad_hmac, m->rm_addr_in, m->prio_in, m->dss_csum_bad, m->mp_fail_in,
                m->mp_fail_out, m->map_errors, m->events_dropped, m->rcv_dropped,
                m->rcv_wait_space, m->rcv_ooo_full);
        for (int i = 0; i < 8; i++)
            fprintf(f, " %u", m->rst_in_code[i]);
        fprintf(f, "\n");
    }
    for (int i = 0; i < a->n_sf; i++) {
        const struct sf_seen *e = &a->sf[i];
        const mptcp_subflow_stats *ss = &e->s;
        const mptcp_conn_stats *s = &ss->tcp;
        char sl[80], sr[80];
        addr_port_str(&ss->local, sl, sizeof sl);
        addr_port_str(&ss->remote, sr, sizeof sr);
        fprintf(f,
                "  subflow %d: %s -> %s, ids %u/%u, %s, backup %d peer-backup %d, usable %d, "
                "%s, bytes sent %" PRIu64 " acked %" PRIu64 " received %" PRIu64
                ", srtt %.3f ms",
                ss->id, sl, sr, (unsigned)ss->local_id, (unsigned)ss->remote_id,
                ss->join ? "join" : "initial", ss->backup, ss->peer_backup,
                ss->usable && !e->gone, state_name(s->state), s->bytes_sent, s->bytes_acked,
                s->bytes_received, s->srtt_us / 1000.0);
        if (e->gone) {
            fprintf(f, ", gone: %s", reason_text(e->reason));
            if (e->has_rst_code)
                fprintf(f, " (MP_TCPRST reason %u)", (unsigned)e->rst_code);
        }
        fprintf(f, "\n");
        fprintf(f,
                "    mss %u, sack %d, ts %d, wscale %d (snd %u rcv %u), rttvar %.3f ms, rto "
                "%.1f ms, cwnd %u ssthresh %u, snd_wnd %u rcv_wnd %u\n",
                (unsigned)s->mss, s->sack_ok, s->ts_ok, s->wscale_ok, (unsigned)s->snd_wscale,
                (unsigned)s->rcv_wscale, s->rttvar_us / 1000.0, s->rto_us / 1000.0, s->cwnd,
                s->ssthresh, s->snd_wnd, s->rcv_wnd);
        fprintf(f,
                "    segs out %u in %u, retrans %u (fast %u, rto %u), dup acks in %u, sack "
                "blocks in %u, out-of-order in %u, zero-window probes %u\n",
                s->segs_out, s->segs_in, s->retrans_segs, s->fast_retrans, s->rto_expiries,
                s->dup_acks_in, s->sack_blocks_in, s->ooo_segs_in, s->zero_window_probes);
    }
}

/* ------------------------------------------------------------ options */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mptcp-tun: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see mptcp-tun --help)\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_pct(const char *s, uint32_t *ppm)
{
    char *end;
    if (!s || !*s)
        return false;
    double v = strtod(s, &end);
    if (*end || !(v >= 0.0 && v <= 100.0))
        return false;
    *ppm = (uint32_t)lround(v * 10000.0);
    return true;
}

static bool parse_ms(const char *s, uint64_t *us)
{
    char *end;
    if (!s || !*s)
        return false;
    double v = strtod(s, &end);
    if (*end || !(v >= 0.0 && v <= 600000.0))
        return false;
    *us = (uint64_t)llround(v * 1000.0);
    return true;
}

/* Parses "ADDR" or "ADDR/LEN"; LEN defaults to the full length. */
static bool parse_prefix(const char *s, mptcp_addr *a, unsigned *plen, bool need_len)
{
    char tmp[80];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tun_addr_parse(tmp, a) != 0)
        return false;
    unsigned bits = (unsigned)tun_addr_len(a) * 8;
    if (!slash) {
        *plen = bits;
        return !need_len;
    }
    uint64_t v;
    if (!parse_u64(slash + 1, bits, &v))
        return false;
    *plen = (unsigned)v;
    return true;
}

/* Settings that apply to a device, collected before the device is opened. */
typedef struct dev_opts {
    const char *name;
    uint32_t loss_ppm[2];
    uint64_t delay_us[2];
    uint64_t queue_bytes;
    bool has_queue;
} dev_opts;

typedef struct pending_addr {
    const char *text;
    int dev;
    bool is_route;
    unsigned flags;   /* MPTCP_ADDR_F_* from ",signal,subflow,..." */
} pending_addr;

/* Splits "ADDR[/LEN],flag,flag" in place: the flags after the first comma
 * become MPTCP_ADDR_F_* bits. Returns false on an unknown flag. */
static bool parse_addr_flags(char *text, unsigned *flags, const char **bad)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"signal", MPTCP_ADDR_F_SIGNAL},
                 {"subflow", MPTCP_ADDR_F_SUBFLOW},
                 {"backup", MPTCP_ADDR_F_BACKUP},
                 {"fullmesh", MPTCP_ADDR_F_FULLMESH}};
    *flags = 0;
    char *p = strchr(text, ',');
    if (!p)
        return true;
    *p++ = '\0';
    while (p && *p) {
        char *next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strcmp(p, names[i].name))
                break;
        if (i == sizeof names / sizeof names[0]) {
            *bad = p;
            return false;
        }
        *flags |= names[i].bit;
        p = next;
    }
    return true;
}

int main(int argc, char **argv)
{
    static tun_host host; /* large (packet buffers): not on the stack */
    static app a;
    dev_opts devs[TUN_MAX_DEVS];
    pending_addr addrs[TUN_MAX_LOCALS + TUN_MAX_ROUTES];
    int n_devs = 0, n_addrs = 0;
    memset(devs, 0, sizeof devs);
    const char *listen_s = NULL, *connect_s = NULL, *source_s = NULL, *pcap_path = NULL;
    uint64_t local_port = 0, seed = 0, mss = 0, sndbuf = 1u << 20, rcvbuf = 1u << 20;
    uint64_t time_wait_us = 1000000, keepalive_s = 0;
    bool have_seed = false, stats = false, no_sack = false, no_ts = false, no_ws = false;
    bool no_mptcp = false, checksum = false, deny_join_id0 = false, have_limits = false;
    bool fastclose_ack = false;
    uint8_t coupled_cc = MPTCP_COUPLED_NONE;
    uint64_t lim_subflows = 0, lim_add_addr = 0;
    uint8_t scheduler = MPTCP_SCHED_DEFAULT;
    int verbose = 0;
    mptcp_cc_algo cc = MPTCP_CC_CUBIC;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        /* Per-device options before any --dev apply to the first one. */
        int cur = n_devs > 0 ? n_devs - 1 : 0;
        dev_opts *d = &devs[cur];
#define NEED_ARG()                                                                     \
    do {                                                                               \
        if (!v)                                                                        \
            return usage_error("%s needs an argument", o);                             \
        i++;                                                                           \
    } while (0)
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
            verbose++;
        } else if (!strcmp(o, "-vv")) {
            verbose += 2;
        } else if (!strcmp(o, "--dev")) {
            NEED_ARG();
            if (n_devs == TUN_MAX_DEVS)
                return usage_error("at most %s devices", "8");
            /* Settings given before the first --dev already sit in devs[0]. */
            if (n_devs > 0 || devs[0].name)
                n_devs++;
            else
                n_devs = 1;
            devs[n_devs - 1].name = v;
        } else if (!strcmp(o, "--addr") || !strcmp(o, "--route")) {
            NEED_ARG();
            if (n_addrs == (int)(sizeof addrs / sizeof addrs[0]))
                return usage_error("too many %s options", o);
            unsigned fl = 0;
            const char *bad = NULL;
            if (o[2] == 'a' && !parse_addr_flags(argv[i], &fl, &bad))
                return usage_error("unknown endpoint flag '%s' (signal, subflow, backup, "
                                   "fullmesh)", bad);
            addrs[n_addrs++] = (pending_addr){argv[i], cur, o[2] == 'r', fl};
        } else if (!strcmp(o, "--loss") || !strcmp(o, "--loss-in") || !strcmp(o, "--loss-out")) {
            NEED_ARG();
            uint32_t ppm;
            if (!parse_pct(v, &ppm))
                return usage_error("bad percentage '%s' (0..100)", v);
            if (strcmp(o, "--loss-out"))
                d->loss_ppm[TUN_DIR_IN] = ppm;
            if (strcmp(o, "--loss-in"))
                d->loss_ppm[TUN_DIR_OUT] = ppm;
        } else if (!strcmp(o, "--delay-ms") || !strcmp(o, "--delay-in-ms") ||
                   !strcmp(o, "--delay-out-ms")) {
            NEED_ARG();
            uint64_t us;
            if (!parse_ms(v, &us))
                return usage_error("bad delay '%s' (milliseconds)", v);
            if (strcmp(o, "--delay-out-ms"))
                d->delay_us[TUN_DIR_IN] = us;
            if (strcmp(o, "--delay-in-ms"))
                d->delay_us[TUN_DIR_OUT] = us;
        } else if (!strcmp(o, "--queue-kb")) {
            NEED_ARG();
            uint64_t kb;
            if (!parse_u64(v, 1u << 22, &kb) || kb == 0)
                return usage_error("bad queue size '%s'", v);
            d->queue_bytes = kb * 1024;
            d->has_queue = true;
        } else if (!strcmp(o, "--listen")) {
            NEED_ARG();
            listen_s = v;
        } else if (!strcmp(o, "--connect")) {
            NEED_ARG();
            connect_s = v;
        } else if (!strcmp(o, "--source")) {
            NEED_ARG();
            source_s = v;
        } else if (!strcmp(o, "--local-port")) {
            NEED_ARG();
            if (!parse_u64(v, 65535, &local_port) || local_port == 0)
                return usage_error("bad port '%s'", v);
        } else if (!strcmp(o, "--seed")) {
            NEED_ARG();
            if (!parse_u64(v, UINT64_MAX, &seed))
                return usage_error("bad seed '%s'", v);
            have_seed = true;
        } else if (!strcmp(o, "--pcap")) {
            NEED_ARG();
            pcap_path = v;
        } else if (!strcmp(o, "--stats")) {
            stats = true;
        } else if (!strcmp(o, "--mss")) {
            NEED_ARG();
            if (!parse_u64(v, 65495, &mss) || mss < 88)
                return usage_error("bad MSS '%s' (88..65495)", v);
        } else if (!strcmp(o, "--sndbuf") || !strcmp(o, "--rcvbuf")) {
            NEED_ARG();
            uint64_t b;
            if (!parse_u64(v, 1u << 30, &b) || b < 4096)
                return usage_error("bad buffer size '%s' (4096..1 GiB)", v);
            *(o[2] == 's' ? &sndbuf : &rcvbuf) = b;
        } else if (!strcmp(o, "--cc")) {
            NEED_ARG();
            if (!strcmp(v, "cubic"))
                cc = MPTCP_CC_CUBIC;
            else if (!strcmp(v, "reno"))
                cc = MPTCP_CC_RENO;
            else
                return usage_error("unknown congestion control '%s' (cubic, reno)", v);
        } else if (!strcmp(o, "--no-mptcp")) {
            no_mptcp = true;
        } else if (!strcmp(o, "--checksum")) {
            checksum = true;
        } else if (!strcmp(o, "--deny-join-id0")) {
            deny_join_id0 = true;
        } else if (!strcmp(o, "--fastclose-ack")) {
            fastclose_ack = true;
        } else if (!strcmp(o, "--coupled-cc")) {
            NEED_ARG();
            static const char *const ccs[] = {"none", "lia", "olia", "balia"};
            uint8_t k;
            for (k = 0; k < 4 && strcmp(v, ccs[k]); k++)
                ;
            if (k == 4)
                return usage_error("unknown coupled congestion control '%s' (none, lia, olia, "
                                   "balia)", v);
            coupled_cc = k;
        } else if (!strcmp(o, "--limits")) {
            NEED_ARG();
            if (!parse_u64(v, 7, &lim_subflows))
                return usage_error("bad subflow limit '%s' (0..7)", v);
            if (i + 1 >= argc || !parse_u64(argv[i + 1], 8, &lim_add_addr))
                return usage_error("%s", "--limits SUBFLOWS ADD_ADDR_ACCEPTED (0..7, 0..8)");
            i++;
            have_limits = true;
        } else if (!strcmp(o, "--scheduler")) {
            NEED_ARG();
            static const char *const scheds[] = {"default", "minrtt", "roundrobin", "redundant"};
            uint8_t k;
            for (k = 0; k < 4 && strcmp(v, scheds[k]); k++)
                ;
            if (k == 4)
                return usage_error("unknown scheduler '%s' (default, minrtt, roundrobin, "
                                   "redundant)", v);
            scheduler = k;
        } else if (!strcmp(o, "--backup-after")) {
            NEED_ARG();
            char tmp[48];
            snprintf(tmp, sizeof tmp, "%s", v);
            char *colon = strchr(tmp, ':');
            uint64_t id = 1;
            if (colon)
                *colon = '\0';
            if (!parse_u64(tmp, UINT64_MAX, &a.backup_after) || a.backup_after == 0 ||
                (colon && (!parse_u64(colon + 1, 255, &id))))
                return usage_error("bad --backup-after '%s' (BYTES[:SUBFLOW_ID])", v);
            a.backup_id = (int)id;
        } else if (!strcmp(o, "--remove-addr-after")) {
            NEED_ARG();
            uint64_t id;
            if (!parse_u64(v, UINT64_MAX, &a.remove_after) || a.remove_after == 0 ||
                i + 1 >= argc || !parse_u64(argv[i + 1], 255, &id))
                return usage_error("%s", "--remove-addr-after BYTES ADDRESS_ID");
            i++;
            a.remove_id = (uint8_t)id;
        } else if (!strcmp(o, "--fastclose-after")) {
            NEED_ARG();
            if (!parse_u64(v, UINT64_MAX, &a.fastclose_after) || a.fastclose_after == 0)
                return usage_error("bad --fastclose-after '%s' (BYTES)", v);
        } else if (!strcmp(o, "--no-sack")) {
            no_sack = true;
        } else if (!strcmp(o, "--no-ts")) {
            no_ts = true;
        } else if (!strcmp(o, "--no-wscale")) {
            no_ws = true;
        } else if (!strcmp(o, "--time-wait-ms")) {
            NEED_ARG();
            if (!parse_ms(v, &time_wait_us))
                return usage_error("bad time '%s' (milliseconds)", v);
        } else if (!strcmp(o, "--keepalive-s")) {
            NEED_ARG();
            if (!parse_u64(v, 4000, &keepalive_s))
                return usage_error("bad keepalive time '%s' (seconds)", v);
        } else {
            return usage_error("unknown option '%s'", o);
        }
#undef NEED_ARG
    }
    if (n_devs == 0 || !devs[0].name)
        return usage_error("%s", "no --dev given");
    if (n_addrs == 0)
        return usage_error("%s", "no --addr given");
    if (!listen_s == !connect_s)
        return usage_error("%s", "give exactly one of --listen and --connect");

    /* Validate every address before touching a device. */
    for (int i = 0; i < n_addrs; i++) {
        mptcp_addr ad;
        unsigned plen;
        if (!parse_prefix(addrs[i].text, &ad, &plen, addrs[i].is_route))
            return usage_error(addrs[i].is_route ? "bad route '%s' (PREFIX/LEN)"
                                                 : "bad address '%s' (ADDR or ADDR/LEN)",
                               addrs[i].text);
    }

    {
        mptcp_addr t;
        if (listen_s && tun_addr_port_parse(listen_s, &t, true) != 0)
            return usage_error("bad listen address '%s' ([ADDR:]PORT)", listen_s);
        if (connect_s && tun_addr_port_parse(connect_s, &t, false) != 0)
            return usage_error("bad address '%s' (ADDR:PORT, [V6]:PORT)", connect_s);
        if (source_s && tun_addr_parse(source_s, &t) != 0)
            return usage_error("bad --source address '%s'", source_s);
    }

    /* ---- devices, addresses, routes */
    tun_host *h = &host;
    tun_host_init(h);
    h->verbose = verbose;
    char err[256];
    int rc = 2;
    for (int i = 0; i < n_devs; i++) {
        if (tun_host_add_dev(h, devs[i].name, err, sizeof err) < 0) {
            fprintf(stderr, "mptcp-tun: %s\n", err);
            goto out;
        }
        for (int dir = 0; dir < 2; dir++) {
            h->dev[i].netem[dir].loss_ppm = devs[i].loss_ppm[dir];
            h->dev[i].netem[dir].delay_us = devs[i].delay_us[dir];
            if (devs[i].has_queue)
                h->dev[i].netem[dir].limit_bytes = devs[i].queue_bytes;
        }
    }
    bool have_v6 = false;
    for (int i = 0; i < n_addrs; i++) {
        mptcp_addr ad;
        unsigned plen;
        if (!parse_prefix(addrs[i].text, &ad, &plen, addrs[i].is_route)) {
            rc = usage_error(addrs[i].is_route ? "bad route '%s' (PREFIX/LEN)"
                                               : "bad address '%s' (ADDR or ADDR/LEN)",
                             addrs[i].text);
            goto out;
        }
        int r = addrs[i].is_route ? tun_host_add_route(h, &ad, plen, addrs[i].dev)
                                  : tun_host_add_local(h, &ad, plen, addrs[i].dev);
        if (r < 0) {
            rc = usage_error("cannot add '%s' (duplicate or too many)", addrs[i].text);
            goto out;
        }
        if (!addrs[i].is_route) {
            h->local[h->n_local - 1].flags = addrs[i].flags;
            if (ad.family == MPTCP_AF_INET6)
                have_v6 = true;
        }
    }
    if (h->n_local == 0) {
        rc = usage_error("%s", "no --addr given");
        goto out;
    }

    /* ---- the stack */
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    if (mss == 0) {
        int mtu = h->dev[0].mtu;
        for (int i = 1; i < h->n_dev; i++)
            if (h->dev[i].mtu < mtu)
                mtu = h->dev[i].mtu;
        int m = mtu - (have_v6 ? 60 : 40);
        mss = m < 88 ? 88 : (uint64_t)m;
    }
    cfg.mss = (uint16_t)mss;
    cfg.sndbuf = (uint32_t)sndbuf;
    cfg.rcvbuf = (uint32_t)rcvbuf;
    cfg.cc = cc;
    cfg.sack = !no_sack;
    cfg.timestamps = !no_ts;
    cfg.window_scaling = !no_ws;
    cfg.time_wait_us = (uint32_t)time_wait_us;
    cfg.keepalive_idle_us = (uint32_t)(keepalive_s * 1000000u);
    cfg.mptcp = !no_mptcp;
    cfg.checksum = checksum;
    cfg.deny_join_id0 = deny_join_id0;
    cfg.scheduler = scheduler;
    cfg.fastclose_ack = fastclose_ack;
    cfg.coupled_cc = coupled_cc;
    if (have_limits) {
        cfg.max_subflows = (uint8_t)lim_subflows;
        cfg.add_addr_accept_max = (uint8_t)lim_add_addr;
    }
    if (pcap_path && tun_host_open_pcap(h, pcap_path) != 0) {
        fprintf(stderr, "mptcp-tun: %s: %s\n", pcap_path, strerror(errno));
        goto out;
    }
    a.h = h;
    h->app = &a;
    h->app_event = app_event;
    if (tun_host_start(h, &cfg, have_seed ? &seed : NULL) != 0) {
        fprintf(stderr, "mptcp-tun: mptcp_stack_new failed (configuration?)\n");
        goto out;
    }
    /* Endpoints, in the order given: IDs 1, 2, ... (ip mptcp endpoint add). */
    for (int i = 0; i < h->n_local && !no_mptcp; i++) {
        tun_local *l = &h->local[i];
        if (!l->flags)
            continue;
        char t[64];
        int id = mptcp_local_addr_add(h->st, &l->addr, l->flags);
        if (id < 0) {
            fprintf(stderr, "mptcp-tun: endpoint %s: %s\n",
                    tun_addr_str(&l->addr, t, sizeof t), mptcp_strerror(id));
            goto out;
        }
        if (verbose > 0)
            fprintf(stderr, "mptcp-tun: endpoint id %d: %s%s%s%s%s\n", id,
                    tun_addr_str(&l->addr, t, sizeof t),
                    l->flags & MPTCP_ADDR_F_SIGNAL ? " signal" : "",
                    l->flags & MPTCP_ADDR_F_SUBFLOW ? " subflow" : "",
                    l->flags & MPTCP_ADDR_F_BACKUP ? " backup" : "",
                    l->flags & MPTCP_ADDR_F_FULLMESH ? " fullmesh" : "");
    }
    if (have_limits && !no_mptcp) {
        int r = mptcp_limits_set(h->st, (uint8_t)lim_subflows, (uint8_t)lim_add_addr);
        if (r < 0) {
            fprintf(stderr, "mptcp-tun: limits: %s\n", mptcp_strerror(r));
            goto out;
        }
    }
    struct stat sb;
    a.stdout_regular = fstat(STDOUT_FILENO, &sb) == 0 && S_ISREG(sb.st_mode);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    /* ---- open */
    tun_host_clock(h);
    if (listen_s) {
        mptcp_addr la;
        if (tun_addr_port_parse(listen_s, &la, true) != 0) {
            rc = usage_error("bad listen address '%s' ([ADDR:]PORT)", listen_s);
            goto out;
        }
        if (la.family) {
            if (!tun_host_find_local(h, &la)) {
                rc = usage_error("listen address '%s' is not one of --addr", listen_s);
                goto out;
            }
            a.listen_addr[a.n_listen++] = la;
        } else {
            /* Any address of each family we own. */
            bool fam[2] = {false, false};
            for (int i = 0; i < h->n_local; i++)
                fam[h->local[i].addr.family == MPTCP_AF_INET6] = true;
            for (int f = 0; f < 2; f++) {
                if (!fam[f])
                    continue;
                mptcp_addr any = {.family = f ? MPTCP_AF_INET6 : MPTCP_AF_INET,
                                  .port = la.port};
                a.listen_addr[a.n_listen++] = any;
            }
        }
        for (int i = 0; i < a.n_listen; i++) {
            int r = mptcp_listen(h->st, &a.listen_addr[i]);
            if (r < 0) {
                fprintf(stderr, "mptcp-tun: listen %s: %s\n", listen_s, mptcp_strerror(r));
                goto out;
            }
        }
        a.listening = a.is_listener = true;
    } else {
        mptcp_addr ra;
        if (tun_addr_port_parse(connect_s, &ra, false) != 0) {
            rc = usage_error("bad address '%s' (ADDR:PORT, [V6]:PORT)", connect_s);
            goto out;
        }
        mptcp_addr la;
        if (source_s) {
            if (tun_addr_parse(source_s, &la) != 0 || !tun_host_find_local(h, &la)) {
                rc = usage_error("--source '%s' is not one of --addr", source_s);
                goto out;
            }
            if (la.family != ra.family) {
                rc = usage_error("--source '%s' and --connect differ in family", source_s);
                goto out;
            }
        } else {
            const tun_local *l = tun_route_source(h, &ra);
            if (!l) {
                rc = usage_error("no --addr of the family of '%s'", connect_s);
                goto out;
            }
            la = l->addr;
        }
        la.port = (uint16_t)local_port;
        int r = mptcp_connect(h->st, &la, &ra, h->now_us, &a.conn);
        if (r < 0) {
            fprintf(stderr, "mptcp-tun: connect %s: %s\n", connect_s, mptcp_strerror(r));
            rc = 1;
            goto out;
        }
        mptcp_conn_get_addrs(a.conn, &a.c_local, &a.c_remote);
    }

    /* ---- the loop */
    struct pollfd pfd[TUN_MAX_DEVS + 2];
    uint64_t linger_until = 0;
    for (;;) {
        tun_host_service(h);
        /* One connection, like netcat: stop listening once it is there. An
         * MPTCP connection keeps the listener: the peer's MP_JOIN SYNs reach
         * the stack through it (as with Linux's listening socket); another
         * connection is then accepted and reset at once (app_event). */
        mptcp_mp_stats ms;
        if (a.listening && a.conn &&
            !(mptcp_conn_get_mp_stats(a.conn, &ms) == 0 && ms.mptcp && !ms.fallback)) {
            for (int i = 0; i < a.n_listen; i++)
                mptcp_unlisten(h->st, &a.listen_addr[i]);
            a.listening = false;
        }
        app_pump(&a);
        app_triggers(&a);
        if (h->fatal) {
            fprintf(stderr, "mptcp-tun: stack failed: %s\n", mptcp_strerror(h->fatal));
            rc = 1;
            goto out;
        }
        if (g_signal) {
            if (a.conn)
                mptcp_abort(a.conn, tun_host_clock(h));
            fprintf(stderr, "mptcp-tun: interrupted (signal %d)\n", (int)g_signal);
            flush_stdout(&a, true);
            rc = 1;
            goto out;
        }
        if (a.err_exit && a.conn && !a.closed) {
            /* A local I/O failure (stdout gone): abort like netcat would. */
            mptcp_abort(a.conn, tun_host_clock(h));
        }
        if (a.closed) {
            flush_stdout(&a, true);
            if (a.reason != MPTCP_CLOSE_NORMAL || a.err_exit)
                break;
            /* Orderly close: stay until TIME_WAIT ends (or the stack has
             * nothing left to time) so a retransmitted FIN is answered. */
            if (!linger_until)
                linger_until = h->now_us + time_wait_us + 100000;
            uint64_t next = mptcp_next_timeout(h->st);
            if ((next == UINT64_MAX && !tun_host_queues_busy(h)) || h->now_us >= linger_until)
                break;
        }

        int n = tun_host_pollfds(h, pfd, TUN_MAX_DEVS);
        int in_idx = -1, out_idx = -1;
        bool want_stdin = a.established && !a.closed && !a.stdin_eof && a.in_len == 0 &&
                          !a.send_blocked && !a.shut_sent;
        if (want_stdin) {
            in_idx = n;
            pfd[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        }
        if (a.out_len > 0 && !a.stdout_closed) {
            out_idx = n;
            pfd[n++] = (struct pollfd){.fd = STDOUT_FILENO, .events = POLLOUT};
        }
        uint64_t deadline = tun_host_deadline(h);
        if (linger_until && linger_until < deadline)
            deadline = linger_until;
        tun_host_clock(h);
        struct timespec ts, *tsp = NULL;
        if (deadline != UINT64_MAX) {
            uint64_t wait = deadline > h->now_us ? deadline - h->now_us : 0;
            ts.tv_sec = (time_t)(wait / 1000000u);
            ts.tv_nsec = (long)(wait % 1000000u) * 1000;
            tsp = &ts;
        }
        int pr = ppoll(pfd, (nfds_t)n, tsp, NULL);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "mptcp-tun: poll: %s\n", strerror(errno));
            rc = 1;
            goto out;
        }
        if (pr == 0)
            continue;
        for (int i = 0; i < h->n_dev; i++) {
            if (pfd[i].revents & (POLLERR | POLLNVAL)) {
                fprintf(stderr, "mptcp-tun: device %s failed\n", h->dev[i].name);
                rc = 1;
                goto out;
            }
            if (pfd[i].revents & POLLIN)
                tun_host_rx(h, i);
        }
        if (in_idx >= 0 && pfd[in_idx].revents) {
            if (pfd[in_idx].revents & POLLNVAL)
                a.stdin_eof = true;
            else
                app_read_stdin(&a);
        }
        if (out_idx >= 0 && pfd[out_idx].revents)
            flush_stdout(&a, false);
    }

    if (a.err_exit) {
        fprintf(stderr, "mptcp-tun: %s\n", a.err_msg);
        rc = 1;
    } else if (a.reason != MPTCP_CLOSE_NORMAL) {
        fprintf(stderr, "mptcp-tun: %s\n", reason_text(a.reason));
        rc = 1;
    } else {
        rc = 0;
    }
out:
    if (stats) {
        print_conn_stats(&a, stderr);
        tun_host_print_stats(h, stderr);
    }
    if (h->pcap_failed)
        fprintf(stderr, "mptcp-tun: warning: the pcap is incomplete (write failed)\n");
    tun_host_free(h);
    return rc;
}
