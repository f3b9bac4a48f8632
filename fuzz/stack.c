/*
 * stack.c - fuzz target for the whole stack (mptcp.h section 4) and its TCP
 * engine (RFC 9293 state machine, RFC 7323, RFC 2018/6675, RFC 5961).
 * The input is a script: a configuration, then 1..4 connections driven by a
 * scripted peer (segments built with mptcp_seg_write) into a chosen state
 * (passive: SYN_RECEIVED .. TIME_WAIT through the listener; active: SYN_SENT,
 * simultaneous open, ..), then up to 300 steps: time passes (host runs due
 * timers), structured peer segments with seq/ack near the connection's real
 * values, raw segments, app send/recv/shutdown/close/abort, new connections,
 * ICMP, listen/unlisten. Invariants, checked after every step:
 * snd_una <= snd_nxt <= snd_max (mod 2^32), snd_max - snd_una <= send buffer
 * + SYN + FIN, the send buffer holds exactly the app's unacknowledged bytes,
 * the FIN sits right after the app's last byte, buffers within capacity and
 * out-of-order ranges sorted inside the free space, the advertised window
 * within the free space, bytes read + buffered == bytes received ==
 * rcv_nxt - irs - 1 (- FIN); every emitted segment parses, has a valid
 * checksum, belongs to a known 4-tuple and carries exactly the app's bytes
 * at its sequence (nothing the app did not send); bytes read by the app are
 * the peer's bytes at their sequence numbers (peer payload is a fixed
 * function of the sequence number, so any split/overlap must agree); events
 * follow the API contract (nothing after CLOSED, nothing but CLOSED after
 * close/abort); mptcp_next_timeout is never in the past once
 * mptcp_handle_timeout returned; the allocator balances (stack's mem_used
 * agrees; zero after mptcp_stack_free; every TCB and connection freed is
 * one the host no longer holds and no live connection still points to).
 * The structure behind it: every host handle (mptcp_conn, src/conn.h) is a
 * plain TCP connection (cfg.mptcp stays false here) over exactly one TCB
 * (c->tcb, which points back through t->conn); st->all lists connections;
 * TCBs are found where the library keeps them (the demux table for those
 * not CLOSED, the grave list and their connections for CLOSED ones: there
 * is no list of every TCB), and the counts agree; a TCB may outlive its
 * connection in TIME_WAIT (t->conn == NULL), and its stream accounting
 * stays checked.
 * Tied to internals: it reads src/tcp.h, src/conn.h and src/stack.h fields
 * (struct mptcp_tcb, struct mptcp_conn, struct mptcp_stack). When those
 * change, this file follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"
#include "fuzz_input.h"
#include "conn.h"
#include "mptcp.h"
#include "stack.h"
#include "tcp.h"

#define MAX_RECS 64
#define MAX_STEPS 300
#define LISTEN_PORT 80
#define PEER_BASE_PORT 40000
#define REMOTE_PORT 443

/* ------------------------------------------------------------ sequence */

static bool s_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool s_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static bool s_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* The peer's byte at sequence number |seq|: any segment covering it
 * carries this value, so reassembly must reproduce it. */
static uint8_t peer_byte(uint32_t seq)
{
    uint32_t x = seq * 0x9e3779b1u;
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    return (uint8_t)x;
}

/* The app's byte number |k| of its stream on every connection. */
static uint8_t app_byte(uint64_t k)
{
    return peer_byte((uint32_t)k ^ 0xa5a5a5a5u) ^ (uint8_t)(k >> 32);
}

/* ------------------------------------------------------------ harness state */

/* One stream: a TCB and, while it has one, the connection the host sees
 * over it. Kept until both are freed (the TCB may outlive the connection). */
typedef struct rec {
    mptcp_conn *c;      /* the connection (NULL once freed) */
    mptcp_tcb *t;       /* its TCB (NULL once freed); c and t NULL: free slot */
    uint64_t app_sent;  /* bytes mptcp_send took */
    uint64_t app_read;  /* bytes mptcp_recv returned */
    uint64_t offering;  /* bytes offered by the mptcp_send call in progress */
    bool host;          /* the host holds the pointer (until CLOSED) */
    bool host_closed;   /* close or abort called */
    bool active;
    bool tainted;       /* a raw segment may have put foreign bytes in */
    bool eof;           /* recv returned 0 */
} rec;

typedef struct harness {
    fuzz_input in;
    mptcp_stack *st;
    mptcp_config cfg;
    uint64_t rng;
    fuzz_alloc mem;      /* the counting allocator */
    uint64_t now, max_now;
    uint8_t family;
    mptcp_addr local, peer;
    uint16_t next_peer_port, next_remote_port;
    bool listening;
    bool recv_in_cb;
    bool freeing; /* inside mptcp_stack_free: host-held conns go too */
    uint32_t peer_ts_off;
    rec recs[MAX_RECS];
    uint32_t segs_emitted;
    uint8_t rbuf[65536];
} harness;

/* ------------------------------------------------------------ callbacks */

static void cb_random(void *user, uint8_t *out, size_t len)
{
    harness *h = user;
    fuzz_random_fill(&h->rng, out, len);
}

static void *h_alloc(void *user, size_t size)
{
    harness *h = user;
    return fuzz_alloc_take(&h->mem, size);
}

static void h_free(void *user, void *p, size_t size)
{
    harness *h = user;
    if (p == NULL)
        return;
    fuzz_alloc_count_free(&h->mem, size);
    /* Pointers are matched too, so another allocation of the same size is
     * never taken for a connection or a TCB. */
    if (size == sizeof(struct mptcp_conn)) {
        for (int i = 0; i < MAX_RECS; i++) {
            if (h->recs[i].c == p) {
                FUZZ_CHECK(!h->recs[i].host || h->freeing, "conn freed while the host holds it");
                h->recs[i].c = NULL;
            }
        }
    } else if (size == sizeof(struct mptcp_tcb)) {
        for (int i = 0; i < MAX_RECS; i++) {
            rec *r = &h->recs[i];
            if (r->t != p)
                continue;
            FUZZ_CHECK(!r->host || h->freeing, "TCB freed while the host holds its conn");
            /* r->c is live (cleared when freed): it must not point here. */
            FUZZ_CHECK(r->c == NULL || r->c->tcb != p, "TCB freed under its connection");
            r->t = NULL;
        }
    }
    free(p);
}

_Static_assert(sizeof(struct mptcp_conn) != sizeof(struct mptcp_tcb),
               "h_free tells connections and TCBs apart by size");

/* The record of connection |c| (the host's handle), if known. */
static rec *rec_find(harness *h, const mptcp_conn *c)
{
    for (int i = 0; i < MAX_RECS; i++)
        if (c && h->recs[i].c == c)
            return &h->recs[i];
    return NULL;
}

static rec *rec_find_tcb(harness *h, const mptcp_tcb *t)
{
    for (int i = 0; i < MAX_RECS; i++)
        if (t && h->recs[i].t == t)
            return &h->recs[i];
    return NULL;
}

/* The record of TCB |t|, made on first sight; it learns t's connection. */
static rec *rec_get_tcb(harness *h, mptcp_tcb *t)
{
    rec *r = rec_find_tcb(h, t);
    if (r == NULL) {
        for (int i = 0; i < MAX_RECS && r == NULL; i++) {
            if (h->recs[i].c == NULL && h->recs[i].t == NULL) {
                r = &h->recs[i];
                memset(r, 0, sizeof *r);
                r->t = t;
            }
        }
        FUZZ_CHECK(r, "more than %d connections tracked", MAX_RECS);
    }
    if (t->conn) {
        FUZZ_CHECK(r->c == NULL || r->c == t->conn, "TCB moved to another connection");
        r->c = t->conn;
    }
    return r;
}

/* The record of connection |c| (plain TCP: keyed by its one TCB). */
static rec *rec_get(harness *h, mptcp_conn *c)
{
    rec *r = rec_find(h, c);
    if (r)
        return r;
    FUZZ_CHECK(c->tcb && c->tcb->conn == c, "conn without its TCB");
    r = rec_get_tcb(h, c->tcb);
    FUZZ_CHECK(r->c == c, "conn and TCB records disagree");
    return r;
}

static bool addr_same_ip(const mptcp_addr *a, const mptcp_addr *b)
{
    size_t n = a->family == MPTCP_AF_INET ? 4 : 16;
    return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

/* Every TCB of the stack, as the library can find them (src/tcp.h): each
 * one not CLOSED is in the demux table; a CLOSED one is on the grave list
 * or owned by its connection. Returns the count written to |out| (distinct
 * TCBs, at most FUZZ_TCB_MAX), in a stable order. */
#define FUZZ_TCB_MAX 64
static uint32_t tcb_add(mptcp_tcb **out, uint32_t n, mptcp_tcb *t)
{
    for (uint32_t i = 0; i < n; i++)
        if (out[i] == t)
            return n;
    FUZZ_CHECK(n < FUZZ_TCB_MAX, "more than %d TCBs", FUZZ_TCB_MAX);
    out[n] = t;
    return n + 1;
}

static uint32_t tcb_all(const mptcp_stack *st, mptcp_tcb **out)
{
    uint32_t n = 0;
    for (uint32_t b = 0; b <= st->demux.mask; b++)
        for (mptcp_tcb *t = st->demux.bucket[b]; t; t = t->hnext)
            n = tcb_add(out, n, t);
    for (mptcp_tcb *t = st->tgrave; t; t = t->grave_next)
        n = tcb_add(out, n, t);
    for (mptcp_conn *c = st->all; c; c = c->all_next)
        if (c->tcb)
            n = tcb_add(out, n, c->tcb);
    return n;
}

/* The live TCB for a 4-tuple (ports from the segment), preferring one that
 * is not CLOSED. */
static mptcp_tcb *tcb_by_tuple(harness *h, const mptcp_addr *l, uint16_t lport,
                               const mptcp_addr *r, uint16_t rport)
{
    mptcp_tcb *best = NULL;
    mptcp_tcb *all[FUZZ_TCB_MAX];
    uint32_t n = tcb_all(h->st, all);
    for (uint32_t i = 0; i < n; i++) {
        mptcp_tcb *t = all[i];
        if (t->local.port == lport && t->remote.port == rport && addr_same_ip(&t->local, l) &&
            addr_same_ip(&t->remote, r)) {
            if (t->state != MPTCP_TCP_CLOSED)
                return t;
            best = t;
        }
    }
    return best;
}

/* mptcp_recv on the host's connection of |r|, checking what it returns
 * against the peer's bytes. What the check needs from the TCB is taken
 * before the call: the call may end the connection (the last byte read
 * delivers MPTCP_EV_CLOSED) and free the TCB. |*fin| (if given): the
 * peer's FIN had been taken. */
static mptcp_ssize host_recv(harness *h, rec *r, size_t want, bool *fin)
{
    mptcp_conn *c = r->c;
    const mptcp_tcb *t = c->tcb;
    FUZZ_CHECK(t && r->t == t && t->conn == c, "recv on a conn without its TCB");
    uint32_t irs = t->irs;
    uint64_t received = t->ctr.bytes_received;
    if (fin)
        *fin = (t->flags & MPTCP_TF_FIN_RCVD) != 0;
    mptcp_ssize n = mptcp_recv(c, h->rbuf, want, h->now);
    if (n <= 0)
        return n;
    const uint8_t *p = h->rbuf;
    if (!r->tainted) {
        uint32_t base = irs + 1 + (uint32_t)r->app_read;
        for (mptcp_ssize i = 0; i < n; i++)
            FUZZ_CHECK(p[i] == peer_byte(base + (uint32_t)i),
                       "recv byte %llu is %#x, the peer sent %#x",
                       (unsigned long long)(r->app_read + (uint64_t)i), p[i],
                       peer_byte(base + (uint32_t)i));
    }
    r->app_read += (uint64_t)n;
    FUZZ_CHECK(r->app_read <= received, "read %llu > received %llu",
               (unsigned long long)r->app_read, (unsigned long long)received);
    return n;
}

static void cb_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                    size_t len)
{
    harness *h = user;
    static mptcp_seg s; /* large; not reentrant, but the stack is single-threaded */
    h->segs_emitted++;
    FUZZ_CHECK(src->family == dst->family && src->family == h->family, "family");
    FUZZ_CHECK(mptcp_seg_parse(seg, len, &s) == 0, "emitted segment does not parse");
    FUZZ_CHECK(mptcp_tcp_csum_ok(seg, len, src, dst), "emitted segment has a bad checksum");
    FUZZ_CHECK(s.opts.bad == 0, "emitted segment has malformed options %#x", s.opts.bad);
    FUZZ_CHECK(s.n_unknown == 0, "emitted segment has unknown options");
    FUZZ_CHECK(len <= 60 + (size_t)h->cfg.mss, "segment of %zu bytes, mss %u", len, h->cfg.mss);
    const uint16_t f = s.hdr.flags;
    FUZZ_CHECK(!((f & MPTCP_TH_SYN) && (f & (MPTCP_TH_FIN | MPTCP_TH_RST))),
               "emitted flags %#x", f);
    mptcp_tcb *t = tcb_by_tuple(h, src, s.hdr.sport, dst, s.hdr.dport);
    if (t == NULL) {
        /* Only a RST reply may come from no connection. */
        FUZZ_CHECK((f & MPTCP_TH_RST) && s.payload_len == 0, "segment (flags %#x) from no conn",
                   f);
        return;
    }
    if (f & MPTCP_TH_SYN) {
        FUZZ_CHECK(s.hdr.seq == t->iss && s.payload_len == 0, "SYN seq %u iss %u len %zu",
                   s.hdr.seq, t->iss, s.payload_len);
        FUZZ_CHECK(s.opts.present & MPTCP_TCPO_MSS, "SYN without MSS");
    }
    if (s.payload_len == 0)
        return;
    FUZZ_CHECK(s.payload_len <= t->mss, "payload %zu > mss %u", s.payload_len, t->mss);
    rec *r = rec_find_tcb(h, t);
    /* During mptcp_send, bytes it is taking may go out before it returns. */
    uint64_t sent = r ? r->app_sent + r->offering : 0;
    uint32_t k = s.hdr.seq - (t->iss + 1);
    FUZZ_CHECK((uint64_t)k + s.payload_len <= sent,
               "segment claims app bytes [%u, %zu) but the app sent %llu", k,
               (size_t)k + s.payload_len, (unsigned long long)sent);
    const uint8_t *p = seg + s.payload_off;
    for (size_t i = 0; i < s.payload_len; i++)
        FUZZ_CHECK(p[i] == app_byte((uint64_t)k + i), "sent byte %zu wrong", (size_t)k + i);
    if (f & MPTCP_TH_FIN)
        FUZZ_CHECK((uint64_t)k + s.payload_len == sent, "FIN before the app's last byte");
}

static void cb_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    harness *h = user;
    rec *r = rec_find(h, c);
    switch (ev->type) {
    case MPTCP_EV_ACCEPTED:
        FUZZ_CHECK(!(c->flags & MPTCP_CF_MP), "MPTCP conn with cfg.mptcp off");
        r = rec_get(h, c);
        FUZZ_CHECK(!r->host && !r->active, "ACCEPTED twice or on an active conn");
        r->host = true;
        return;
    case MPTCP_EV_CONNECTED:
        FUZZ_CHECK(r && r->host && r->active && !r->host_closed, "CONNECTED on a wrong conn");
        FUZZ_CHECK(c->tcb && c->tcb == r->t, "CONNECTED conn without its TCB");
        return;
    case MPTCP_EV_CLOSED:
        FUZZ_CHECK(r && r->host, "CLOSED on a conn the host does not hold");
        r->host = false;
        return;
    default:
        break;
    }
    FUZZ_CHECK(r && r->host && !r->host_closed, "event %d after CLOSED or close", ev->type);
    FUZZ_CHECK(ev->type == MPTCP_EV_READABLE || ev->type == MPTCP_EV_WRITABLE ||
                   ev->type == MPTCP_EV_PEER_SHUTDOWN,
               "unknown event %d", ev->type);
    /* Entry points that must refuse from inside a callback. */
    FUZZ_CHECK(mptcp_handle_timeout(h->st, h->now) == MPTCP_EBUSY, "handle_timeout in callback");
    if (ev->type == MPTCP_EV_READABLE && h->recv_in_cb)
        (void)host_recv(h, r, sizeof h->rbuf, NULL);
}

/* ------------------------------------------------------------ invariants */

/* Per-TCB invariants (every TCB of the stack, owned or not). */
static void check_tcb(harness *h, mptcp_tcb *t)
{
    FUZZ_CHECK(t->state <= MPTCP_TCP_TIME_WAIT && t->state != MPTCP_TCP_LISTEN, "state %u",
               t->state);
    if (t->state == MPTCP_TCP_CLOSED)
        return; /* terminated: waiting to be freed */
    rec *r = rec_get_tcb(h, t);
    FUZZ_CHECK(s_leq(t->snd_una, t->snd_nxt) && s_leq(t->snd_nxt, t->snd_max),
               "state %u: snd_una %u snd_nxt %u snd_max %u", t->state, t->snd_una, t->snd_nxt,
               t->snd_max);
    FUZZ_CHECK(s_leq(t->iss, t->snd_una), "snd_una %u before iss %u", t->snd_una, t->iss);
    bool syn_unacked = t->snd_una == t->iss;
    bool fin_acked = (t->flags & MPTCP_TF_FIN_SENT) && t->snd_una == t->fin_seq + 1;
    uint32_t extra = (syn_unacked ? 1u : 0u) + ((t->flags & MPTCP_TF_FIN_SENT) ? 1u : 0u);
    FUZZ_CHECK(t->snd_max - t->snd_una <= t->snd.len + extra,
               "state %u: %u bytes in flight, %u buffered (+%u)", t->state,
               t->snd_max - t->snd_una, t->snd.len, extra);
    if (t->flags & MPTCP_TF_FIN_SENT)
        FUZZ_CHECK(t->fin_seq - (t->iss + 1) == (uint32_t)r->app_sent,
                   "FIN at %u, app sent %llu", t->fin_seq - (t->iss + 1),
                   (unsigned long long)r->app_sent);
    if (t->snd.data) {
        FUZZ_CHECK(t->snd.cap == h->cfg.sndbuf && t->snd.len <= t->snd.cap, "sndbuf %u/%u",
                   t->snd.len, t->snd.cap);
        uint32_t acked = syn_unacked ? 0 : t->snd_una - (t->iss + 1) - (fin_acked ? 1u : 0u);
        FUZZ_CHECK(acked + t->snd.len == (uint32_t)r->app_sent,
                   "state %u: acked %u + buffered %u != app sent %llu", t->state, acked,
                   t->snd.len, (unsigned long long)r->app_sent);
        const mptcp_rcvbuf *rb = &t->rcv;
        FUZZ_CHECK(rb->cap == h->cfg.rcvbuf && rb->len <= rb->cap, "rcvbuf %u/%u", rb->len,
                   rb->cap);
        FUZZ_CHECK(rb->n_ooo <= MPTCP_OOO_MAX, "n_ooo %u", rb->n_ooo);
        /* the lazily allocated tables exist exactly while they hold something */
        FUZZ_CHECK((rb->ooo != NULL) == (rb->n_ooo > 0), "ooo table %p with %u ranges",
                   (void *)rb->ooo, rb->n_ooo);
        FUZZ_CHECK((t->sack.blk != NULL) == (t->sack.n > 0), "sack table %p with %u blocks",
                   (void *)t->sack.blk, t->sack.n);
        uint32_t prev_end = 0;
        for (unsigned i = 0; i < rb->n_ooo; i++) {
            FUZZ_CHECK(rb->ooo[i].start > prev_end && rb->ooo[i].start < rb->ooo[i].end &&
                           rb->ooo[i].end <= rb->cap - rb->len,
                       "ooo[%u] = [%u,%u), prev end %u, space %u", i, rb->ooo[i].start,
                       rb->ooo[i].end, prev_end, rb->cap - rb->len);
            prev_end = rb->ooo[i].end;
        }
        if (t->state != MPTCP_TCP_SYN_SENT) {
            FUZZ_CHECK(r->app_read + rb->len == t->ctr.bytes_received,
                       "read %llu + buffered %u != received %llu",
                       (unsigned long long)r->app_read, rb->len,
                       (unsigned long long)t->ctr.bytes_received);
            uint32_t fin = (t->flags & MPTCP_TF_FIN_RCVD) ? 1u : 0u;
            FUZZ_CHECK(t->rcv_nxt - (t->irs + 1) - fin == (uint32_t)t->ctr.bytes_received,
                       "rcv_nxt - irs - 1 = %u, received %llu", t->rcv_nxt - (t->irs + 1),
                       (unsigned long long)t->ctr.bytes_received);
            if (s_gt(t->rcv_adv, t->rcv_nxt) && !(t->flags & MPTCP_TF_FIN_RCVD))
                FUZZ_CHECK(t->rcv_adv - t->rcv_nxt <= rb->cap - rb->len,
                           "advertised %u beyond free space %u", t->rcv_adv - t->rcv_nxt,
                           rb->cap - rb->len);
        }
    }
}

/* Build with -DSTACK_FUZZ_TRACE to see what a script does. */
static void trace(harness *h, const char *what)
{
#ifdef STACK_FUZZ_TRACE
    fprintf(stderr, "%-10s t=%llu:", what, (unsigned long long)h->now);
    mptcp_tcb *all[FUZZ_TCB_MAX];
    uint32_t n = tcb_all(h->st, all);
    for (uint32_t i = 0; i < n; i++) {
        mptcp_tcb *t = all[i];
        rec *r = rec_find_tcb(h, t);
        fprintf(stderr,
                " [%u->%u st=%u una=%u nxt=%u max=%u snd=%u rcv=%u sent=%llu read=%llu%s%s]",
                t->local.port, t->remote.port, t->state, t->snd_una - t->iss,
                t->snd_nxt - t->iss, t->snd_max - t->iss, t->snd.len, t->rcv.len,
                r ? (unsigned long long)r->app_sent : 0, r ? (unsigned long long)r->app_read : 0,
                t->conn ? "" : " detached", r && r->host ? " host" : "");
    }
    fputc('\n', stderr);
#else
    (void)h;
    (void)what;
#endif
}

static bool conn_listed(const harness *h, const mptcp_conn *c)
{
    for (const mptcp_conn *x = h->st->all; x; x = x->all_next)
        if (x == c)
            return true;
    return false;
}

static bool tcb_listed(const harness *h, const mptcp_tcb *t)
{
    mptcp_tcb *all[FUZZ_TCB_MAX];
    uint32_t n = tcb_all(h->st, all);
    for (uint32_t i = 0; i < n; i++)
        if (all[i] == t)
            return true;
    return false;
}

static void check_all(harness *h)
{
    const mptcp_stack *st = h->st;
    mptcp_tcb *all[FUZZ_TCB_MAX];
    uint32_t n = tcb_all(st, all);
    for (uint32_t i = 0; i < n; i++) {
        mptcp_tcb *t = all[i];
        /* each one is where the library keeps it (tcp.h) */
        if (t->state != MPTCP_TCP_CLOSED)
            FUZZ_CHECK(mptcp_demux_lookup(&st->demux, &t->local, &t->remote) == t,
                       "TCB in state %u not in the demux table", t->state);
        FUZZ_CHECK(t->st == st, "TCB of another stack");
        if (t->conn) {
            /* Owned: by a listed plain connection whose one TCB it is. */
            FUZZ_CHECK(conn_listed(h, t->conn), "TCB owned by an unlisted conn");
            FUZZ_CHECK(t->conn->tcb == t, "TCB's conn has another TCB");
            FUZZ_CHECK(t->flags & MPTCP_TF_OWNED, "TCB with a conn but not owned");
        } else {
            /* Let go: only TIME_WAIT finishing alone (or CLOSED, to be freed). */
            FUZZ_CHECK(!(t->flags & MPTCP_TF_OWNED), "owned TCB without a conn");
            FUZZ_CHECK(t->state == MPTCP_TCP_TIME_WAIT || t->state == MPTCP_TCP_CLOSED,
                       "detached TCB in state %u", t->state);
            FUZZ_CHECK(t->snd.data == NULL || t->state == MPTCP_TCP_CLOSED,
                       "detached TIME_WAIT TCB keeps its buffers");
        }
        check_tcb(h, t);
    }
    FUZZ_CHECK(n == st->conns && n <= h->cfg.max_conns, "%u TCBs listed, %u counted, max %u", n,
               st->conns, h->cfg.max_conns);
    uint32_t m = 0;
    for (mptcp_conn *c = st->all; c; c = c->all_next) {
        m++;
        FUZZ_CHECK(m <= st->mconns, "conn list longer than mconns %u", st->mconns);
        FUZZ_CHECK(c->st == st, "conn of another stack");
        FUZZ_CHECK(!(c->flags & MPTCP_CF_MP), "MPTCP conn with cfg.mptcp off");
        FUZZ_CHECK(c->tcb && c->tcb->conn == c && tcb_listed(h, c->tcb),
                   "plain conn without its listed TCB");
    }
    FUZZ_CHECK(m == st->mconns && m <= n, "%u conns listed, %u counted, %u TCBs", m, st->mconns,
               n);
    FUZZ_CHECK(st->mem_used == h->mem.live_bytes, "stack says %zu bytes, allocator %zu",
               st->mem_used, h->mem.live_bytes);
    FUZZ_CHECK(st->depth == 0, "depth %u after return", st->depth);
    for (int i = 0; i < MAX_RECS; i++) {
        const rec *r = &h->recs[i];
        if (!r->c || !r->host)
            continue;
        FUZZ_CHECK(conn_listed(h, r->c), "a conn the host holds is not in the stack");
        FUZZ_CHECK(r->t && r->c->tcb == r->t, "a conn the host holds lost its TCB");
    }
}

/* ------------------------------------------------------------ driving */

static void run_timers(harness *h)
{
    uint64_t due = mptcp_next_timeout(h->st);
    if (due <= h->now) {
        FUZZ_CHECK(mptcp_handle_timeout(h->st, h->now) == 0, "handle_timeout");
        uint64_t nt = mptcp_next_timeout(h->st);
        FUZZ_CHECK(nt > h->st->now_us, "next timeout %llu not after now %llu",
                   (unsigned long long)nt, (unsigned long long)h->st->now_us);
    }
}

static void advance(harness *h, uint64_t dt)
{
    h->now += dt;
    if (h->now > h->max_now)
        h->max_now = h->now;
}

typedef struct peer_seg {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t flags, window;
    mptcp_tcp_opts opts;
    uint32_t payload_len;
    bool bad_csum;
} peer_seg;

static uint32_t peer_ts(const harness *h)
{
    return (uint32_t)(h->now / 1000) + h->peer_ts_off;
}

/* Builds a peer segment (payload from peer_byte) with the public codec and
 * feeds it to the stack. */
static void peer_send(harness *h, const peer_seg *ps)
{
    static uint8_t pl[4096], seg[4096 + 60];
    uint32_t plen = ps->payload_len > sizeof pl ? (uint32_t)sizeof pl : ps->payload_len;
    uint32_t first = ps->seq + ((ps->flags & MPTCP_TH_SYN) ? 1u : 0u);
    for (uint32_t i = 0; i < plen; i++)
        pl[i] = peer_byte(first + i);
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr.sport = ps->sport;
    sp.hdr.dport = ps->dport;
    sp.hdr.seq = ps->seq;
    sp.hdr.ack = ps->ack;
    sp.hdr.flags = ps->flags;
    sp.hdr.window = ps->window;
    sp.opts = ps->opts;
    sp.payload = pl;
    sp.payload_len = plen;
    mptcp_addr src = h->peer, dst = h->local;
    src.port = ps->sport;
    dst.port = ps->dport;
    mptcp_ssize n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    if (n < 0) {
        /* Options did not fit: send without them. */
        sp.opts.present = 0;
        n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    }
    FUZZ_CHECK(n >= 20, "mptcp_seg_write failed: %d", (int)n);
    if (ps->bad_csum)
        seg[16] ^= 0x5a;
    FUZZ_CHECK(mptcp_input(h->st, &src, &dst, seg, (size_t)n, h->now) == 0, "mptcp_input");
}

/* A segment from the peer of |t| acknowledging everything, in order. */
static peer_seg peer_base(harness *h, const mptcp_tcb *t, uint16_t flags)
{
    peer_seg ps;
    memset(&ps, 0, sizeof ps);
    ps.sport = t->remote.port;
    ps.dport = t->local.port;
    ps.seq = t->rcv_nxt;
    ps.ack = t->snd_max;
    ps.flags = flags;
    ps.window = 65535;
    if (t->flags & MPTCP_TF_TS) {
        ps.opts.present |= MPTCP_TCPO_TS;
        ps.opts.ts_val = peer_ts(h);
        ps.opts.ts_ecr = (uint32_t)(h->now / 1000) + t->iss;
    }
    return ps;
}

static bool tcb_alive(harness *h, const mptcp_tcb *t)
{
    return tcb_listed(h, t) && t->state != MPTCP_TCP_CLOSED;
}

/* Peer ACKs until everything the stack sent is acknowledged and nothing is
 * left to send (bounded); our FIN is acknowledged only when |ack_fin|. */
static void peer_ack_all(harness *h, mptcp_tcb *t, bool ack_fin)
{
    for (int i = 0; i < 200 && tcb_alive(h, t); i++) {
        bool fin_sent = (t->flags & MPTCP_TF_FIN_SENT) != 0;
        bool unsent = s_lt(t->snd_nxt, t->snd_una + t->snd.len) ||
                      ((t->flags & MPTCP_TF_FIN_PENDING) && !fin_sent);
        bool unacked = t->snd_una != t->snd_max && !(!ack_fin && fin_sent && t->snd_una == t->fin_seq);
        if (!unsent && !unacked)
            break;
        peer_seg ps = peer_base(h, t, MPTCP_TH_ACK);
        if (!ack_fin && fin_sent && s_gt(ps.ack, t->fin_seq))
            ps.ack = t->fin_seq;
        advance(h, 1000);
        peer_send(h, &ps);
        run_timers(h);
    }
}

static void peer_data(harness *h, mptcp_tcb *t, uint32_t len, uint16_t extra_flags)
{
    uint32_t sent = 0;
    do {
        uint32_t chunk = MPTCP_MIN(len - sent, (uint32_t)h->cfg.mss - 12);
        peer_seg ps = peer_base(h, t, MPTCP_TH_ACK | MPTCP_TH_PSH);
        ps.payload_len = chunk;
        if (sent + chunk == len)
            ps.flags |= extra_flags;
        advance(h, 100);
        peer_send(h, &ps);
        sent += chunk;
    } while (sent < len && tcb_alive(h, t));
}

enum target {
    T_SYN_SENT, /* active only; passive: SYN_RECEIVED */
    T_SYN_RECEIVED,
    T_ESTABLISHED,
    T_CLOSE_WAIT,
    T_LAST_ACK,
    T_FIN_WAIT_1,
    T_FIN_WAIT_2,
    T_CLOSING,
    T_TIME_WAIT,
    T_CLOSED,
    T_COUNT
};

static const uint8_t target_state[T_COUNT] = {
    MPTCP_TCP_SYN_SENT,    MPTCP_TCP_SYN_RECEIVED, MPTCP_TCP_ESTABLISHED, MPTCP_TCP_CLOSE_WAIT,
    MPTCP_TCP_LAST_ACK,    MPTCP_TCP_FIN_WAIT_1,   MPTCP_TCP_FIN_WAIT_2,  MPTCP_TCP_CLOSING,
    MPTCP_TCP_TIME_WAIT,   MPTCP_TCP_CLOSED};

static void app_send(harness *h, rec *r, uint32_t len)
{
    static uint8_t buf[65536];
    if (len > sizeof buf)
        len = sizeof buf;
    for (uint32_t i = 0; i < len; i++)
        buf[i] = app_byte(r->app_sent + i);
    r->offering = len;
    mptcp_ssize n = mptcp_send(r->c, buf, len, h->now);
    r->offering = 0;
    FUZZ_CHECK(n == MPTCP_EAGAIN || n == MPTCP_ESTATE || n == MPTCP_ECLOSED ||
                   (n >= 0 && (size_t)n <= len),
               "mptcp_send returned %d", (int)n);
    if (n == 0)
        FUZZ_CHECK(len == 0, "send took 0 of %u", len);
    if (n > 0)
        r->app_sent += (uint64_t)n;
}

/*
 * Opens one connection and drives it to a target state with well-formed
 * peer segments. Per connection the input gives: role/target byte, peer
 * option bits, peer MSS, peer window scale, peer ISN, data each way.
 */
static void setup_conn(harness *h)
{
    uint8_t rt = take_u8(&h->in);
    bool active = (rt & 0x80) != 0;
    unsigned target = (rt & 0x7f) % T_COUNT;
    uint8_t ob = take_u8(&h->in);
    uint16_t pmss = take_u16(&h->in);
    uint8_t pws = take_u8(&h->in);
    uint32_t piss = take_u32(&h->in);
    uint32_t d_in = (uint32_t)take_u8(&h->in) * 16;
    uint32_t d_out = (uint32_t)take_u8(&h->in) * 16;

    mptcp_tcp_opts so;
    memset(&so, 0, sizeof so);
    if (ob & 1) {
        so.present |= MPTCP_TCPO_MSS;
        so.mss = (uint16_t)(64 + pmss % 1400);
    }
    if (ob & 2) {
        so.present |= MPTCP_TCPO_WSCALE;
        so.wscale = pws % 15;
    }
    if (ob & 4)
        so.present |= MPTCP_TCPO_SACK_PERM;
    if (ob & 8) {
        so.present |= MPTCP_TCPO_TS;
        so.ts_val = peer_ts(h);
    }

    mptcp_conn *c = NULL; /* the host's handle */
    mptcp_tcb *t = NULL;  /* its TCB */
    rec *r = NULL;
    bool strict = h->mem.fail_at == 0 && h->st->conns < h->cfg.max_conns;
    if (!active) {
        if (target == T_SYN_SENT)
            target = T_SYN_RECEIVED;
        if (!h->listening)
            return;
        peer_seg ps;
        memset(&ps, 0, sizeof ps);
        ps.sport = h->next_peer_port++;
        ps.dport = LISTEN_PORT;
        ps.seq = piss;
        ps.flags = MPTCP_TH_SYN;
        ps.window = 65535;
        ps.opts = so;
        peer_send(h, &ps);
        t = tcb_by_tuple(h, &h->local, LISTEN_PORT, &h->peer, ps.sport);
        if (t == NULL || t->state != MPTCP_TCP_SYN_RECEIVED) {
            FUZZ_CHECK(!strict, "SYN to the listener made no SYN_RECEIVED conn");
            return;
        }
        if (target == T_SYN_RECEIVED)
            return;
        ps = peer_base(h, t, MPTCP_TH_ACK);
        if ((so.present & MPTCP_TCPO_TS) && (t->flags & MPTCP_TF_TS))
            ps.opts.ts_ecr = (uint32_t)(h->now / 1000) + t->iss;
        advance(h, 1000);
        peer_send(h, &ps);
        r = rec_find_tcb(h, t);
        if (t->state != MPTCP_TCP_ESTABLISHED || r == NULL || !r->host) {
            FUZZ_CHECK(!strict, "handshake did not reach ESTABLISHED + ACCEPTED (state %u)",
                       t->state);
            return;
        }
        c = r->c;
        FUZZ_CHECK(c && c->tcb == t && t->conn == c, "accepted conn without its TCB");
    } else {
        mptcp_addr l = h->local, rem = h->peer;
        l.port = 0;
        rem.port = h->next_remote_port++;
        int rc = mptcp_connect(h->st, &l, &rem, h->now, &c);
        if (rc != 0) {
            FUZZ_CHECK(rc == MPTCP_ENOMEM || rc == MPTCP_ELIMIT || rc == MPTCP_EADDRINUSE,
                       "connect: %d", rc);
            FUZZ_CHECK(!strict || rc != MPTCP_ENOMEM, "connect: %d", rc);
            return;
        }
        FUZZ_CHECK(!(c->flags & MPTCP_CF_MP) && c->tcb, "connect made no plain TCP conn");
        t = c->tcb;
        r = rec_get(h, c);
        r->active = true;
        r->host = true;
        FUZZ_CHECK(t->state == MPTCP_TCP_SYN_SENT, "connect left state %u", t->state);
        if (target == T_SYN_SENT)
            return;
        peer_seg ps;
        memset(&ps, 0, sizeof ps);
        ps.sport = rem.port;
        ps.dport = t->local.port;
        ps.seq = piss;
        ps.ack = t->iss + 1;
        ps.flags = target == T_SYN_RECEIVED ? MPTCP_TH_SYN : MPTCP_TH_SYN | MPTCP_TH_ACK;
        ps.window = 65535;
        ps.opts = so;
        if (so.present & MPTCP_TCPO_TS)
            ps.opts.ts_ecr = (uint32_t)(h->now / 1000) + t->iss;
        advance(h, 1000);
        peer_send(h, &ps);
        if (target == T_SYN_RECEIVED) {
            FUZZ_CHECK(t->state == MPTCP_TCP_SYN_RECEIVED, "simultaneous open: state %u",
                       t->state);
            return;
        }
        if (t->state != MPTCP_TCP_ESTABLISHED)
            FUZZ_CHECK(0, "SYN/ACK left state %u", t->state);
    }
    /* ESTABLISHED: data both ways, then the closing moves. */
    if (d_in)
        peer_data(h, t, MPTCP_MIN(d_in, h->cfg.rcvbuf / 2), 0);
    if (d_out && tcb_alive(h, t)) {
        app_send(h, r, d_out);
        peer_ack_all(h, t, false);
    }
    if (!tcb_alive(h, t) || t->state != MPTCP_TCP_ESTABLISHED) {
        FUZZ_CHECK(!strict, "data exchange left state %u", t->state);
        return;
    }
    /* The calls below use the host's handle: it must still be held. */
    FUZZ_CHECK(r->host && r->c == c && c->tcb == t, "ESTABLISHED conn no longer held");
    switch (target) {
    case T_CLOSE_WAIT:
    case T_LAST_ACK:
    case T_CLOSED: {
        peer_seg ps = peer_base(h, t, MPTCP_TH_ACK | MPTCP_TH_FIN);
        advance(h, 1000);
        peer_send(h, &ps);
        if (target == T_CLOSE_WAIT)
            break;
        if (target == T_LAST_ACK) {
            FUZZ_CHECK(mptcp_shutdown(c, h->now) == 0, "shutdown");
            break;
        }
        while (host_recv(h, r, sizeof h->rbuf, NULL) > 0)
            continue;
        r->host_closed = true;
        FUZZ_CHECK(mptcp_close(c, h->now) == 0, "close");
        if (tcb_alive(h, t))
            peer_ack_all(h, t, true);
        FUZZ_CHECK(!strict || !tcb_alive(h, t), "LAST_ACK + ACK left the conn alive");
        return;
    }
    case T_FIN_WAIT_1:
    case T_FIN_WAIT_2:
    case T_CLOSING:
    case T_TIME_WAIT: {
        FUZZ_CHECK(mptcp_shutdown(c, h->now) == 0, "shutdown");
        if (target == T_FIN_WAIT_1)
            break;
        peer_seg ps = peer_base(h, t, MPTCP_TH_ACK);
        if (target == T_CLOSING) {
            ps.flags |= MPTCP_TH_FIN;
            ps.ack = t->fin_seq; /* our FIN not acknowledged */
        } else if (target == T_TIME_WAIT) {
            ps.flags |= MPTCP_TH_FIN;
        }
        advance(h, 1000);
        peer_send(h, &ps);
        break;
    }
    default:
        break;
    }
    if (strict && tcb_alive(h, t))
        FUZZ_CHECK(t->state == target_state[target], "target state %u, reached %u",
                   target_state[target], t->state);
}

/* ------------------------------------------------------------ steps */

/* The i-th TCB of the stack (any state, owned or not, in tcb_all's
 * order), or NULL when there is none. */
static mptcp_tcb *pick_tcb(harness *h, uint8_t sel)
{
    mptcp_tcb *all[FUZZ_TCB_MAX];
    uint32_t n = tcb_all(h->st, all);
    if (n == 0)
        return NULL;
    return all[sel % n];
}

/* The i-th connection the host holds. */
static rec *pick_host(harness *h, uint8_t sel)
{
    int n = 0;
    for (int i = 0; i < MAX_RECS; i++)
        n += h->recs[i].c && h->recs[i].host;
    if (n == 0)
        return NULL;
    int k = sel % n;
    for (int i = 0; i < MAX_RECS; i++)
        if (h->recs[i].c && h->recs[i].host && k-- == 0)
            return &h->recs[i];
    return NULL;
}

static const uint16_t flag_table[] = {
    MPTCP_TH_ACK,
    MPTCP_TH_ACK | MPTCP_TH_PSH,
    MPTCP_TH_ACK | MPTCP_TH_FIN,
    MPTCP_TH_ACK | MPTCP_TH_PSH | MPTCP_TH_FIN,
    MPTCP_TH_SYN,
    MPTCP_TH_SYN | MPTCP_TH_ACK,
    MPTCP_TH_RST,
    MPTCP_TH_RST | MPTCP_TH_ACK,
    MPTCP_TH_FIN,
    MPTCP_TH_ACK | MPTCP_TH_URG,
    MPTCP_TH_ACK | MPTCP_TH_ECE | MPTCP_TH_CWR,
    0,
};

static void step_segment(harness *h)
{
    fuzz_input *in = &h->in;
    mptcp_tcb *t = pick_tcb(h, take_u8(in));
    uint8_t fsel = take_u8(in);
    uint16_t flags = fsel < 0xe0 ? flag_table[fsel % MPTCP_ARRAY_LEN(flag_table)]
                                 : (uint16_t)(take_u16(in) & 0x1ff);
    uint8_t seq_sel = take_u8(in);
    int32_t seq_d = (int16_t)take_u16(in);
    uint8_t ack_sel = take_u8(in);
    int32_t ack_d = (int16_t)take_u16(in);
    uint16_t window = take_u16(in);
    uint8_t om = take_u8(in);
    uint32_t plen = take_u8(in);
    if (plen >= 0xc0)
        plen = (plen - 0xc0) * 64 + take_u8(in);
    else if (plen >= 0x80)
        plen = 0;
    peer_seg ps;
    memset(&ps, 0, sizeof ps);
    if (t == NULL || (om & 0x80)) {
        /* To the listener from a (possibly reused) peer port. */
        ps.sport = (uint16_t)(PEER_BASE_PORT + (seq_sel & 7));
        ps.dport = (om & 0x40) ? (uint16_t)(LISTEN_PORT + 1) : LISTEN_PORT;
        ps.seq = take_u32(in);
        ps.ack = take_u32(in);
    } else {
        ps = peer_base(h, t, 0);
        ps.opts.present = 0;
        uint32_t wnd = s_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
        uint32_t sb[] = {t->rcv_nxt, t->irs, t->rcv_nxt + wnd, t->rcv_nxt - 1,
                         t->rcv_nxt + 70000, 0};
        uint32_t ab[] = {t->snd_una, t->snd_nxt, t->snd_max, t->iss, t->fin_seq + 1, 0};
        unsigned si = seq_sel % MPTCP_ARRAY_LEN(sb), ai = ack_sel % MPTCP_ARRAY_LEN(ab);
        ps.seq = (si == MPTCP_ARRAY_LEN(sb) - 1 ? take_u32(in) : sb[si]) + (uint32_t)seq_d;
        ps.ack = (ai == MPTCP_ARRAY_LEN(ab) - 1 ? take_u32(in) : ab[ai]) + (uint32_t)ack_d;
        if (om & 1) {
            ps.opts.present |= MPTCP_TCPO_TS;
            ps.opts.ts_val = peer_ts(h) + (uint32_t)(int8_t)take_u8(in);
            ps.opts.ts_ecr = (uint32_t)(h->now / 1000) + t->iss;
        }
        if (om & 2) {
            uint8_t n = 1 + take_u8(in) % 4;
            ps.opts.present |= MPTCP_TCPO_SACK;
            ps.opts.sack_count = n;
            for (uint8_t i = 0; i < n; i++) {
                ps.opts.sack[i].left = t->snd_una + take_u16(in);
                ps.opts.sack[i].right = ps.opts.sack[i].left + take_u16(in);
            }
        }
    }
    ps.flags = flags;
    ps.window = window;
    if (om & 4) {
        ps.opts.present |= MPTCP_TCPO_MSS;
        ps.opts.mss = take_u16(in);
    }
    if (om & 8) {
        ps.opts.present |= MPTCP_TCPO_WSCALE;
        ps.opts.wscale = take_u8(in);
    }
    if (om & 16)
        ps.opts.present |= MPTCP_TCPO_SACK_PERM;
    ps.bad_csum = (om & 32) && (om & 64) && !(om & 0x80);
    ps.payload_len = plen;
    peer_send(h, &ps);
}

static void step_raw(harness *h)
{
    fuzz_input *in = &h->in;
    uint8_t mode = take_u8(in);
    mptcp_tcb *t = pick_tcb(h, take_u8(in));
    size_t len = take_u8(in);
    uint8_t seg[256 + 60];
    memset(seg, 0, sizeof seg);
    take_bytes(in, seg, len);
    if (len < 20)
        len = (mode & 0x10) ? 20 : len;
    mptcp_addr src = h->peer, dst = h->local;
    if (len >= 20 && t && (mode & 1)) {
        seg[0] = (uint8_t)(t->remote.port >> 8);
        seg[1] = (uint8_t)t->remote.port;
        seg[2] = (uint8_t)(t->local.port >> 8);
        seg[3] = (uint8_t)t->local.port;
        if (mode & 2) {
            uint32_t s = t->rcv_nxt + (uint32_t)(int8_t)seg[4];
            seg[4] = (uint8_t)(s >> 24), seg[5] = (uint8_t)(s >> 16);
            seg[6] = (uint8_t)(s >> 8), seg[7] = (uint8_t)s;
        }
        if (mode & 4) {
            uint32_t a = t->snd_una + (uint32_t)(int8_t)seg[8];
            seg[8] = (uint8_t)(a >> 24), seg[9] = (uint8_t)(a >> 16);
            seg[10] = (uint8_t)(a >> 8), seg[11] = (uint8_t)a;
        }
    } else if (len >= 4 && (mode & 1)) {
        seg[2] = 0, seg[3] = LISTEN_PORT;
    }
    if (len >= 20 && !(mode & 8))
        mptcp_tcp_csum_fill(seg, len, &src, &dst);
    /* Foreign payload may reach the conn with this 4-tuple: its bytes no
     * longer follow peer_byte. */
    if (len >= 20) {
        mptcp_tcb *all[FUZZ_TCB_MAX];
        uint32_t nt = tcb_all(h->st, all);
        for (uint32_t i = 0; i < nt; i++) {
            mptcp_tcb *x = all[i];
            if (x->remote.port == (uint16_t)(seg[0] << 8 | seg[1]) &&
                x->local.port == (uint16_t)(seg[2] << 8 | seg[3])) {
                rec *r = rec_get_tcb(h, x);
                r->tainted = true;
            }
        }
    }
    FUZZ_CHECK(mptcp_input(h->st, &src, &dst, seg, len, h->now) == 0, "mptcp_input raw");
}

static void step_app(harness *h, unsigned op)
{
    fuzz_input *in = &h->in;
    rec *r = pick_host(h, take_u8(in));
    uint16_t arg = take_u16(in);
    if (r == NULL)
        return;
    mptcp_conn *c = r->c;
    int rc;
    switch (op) {
    case 0:
        app_send(h, r, arg);
        break;
    case 1: {
        size_t want = arg ? arg : sizeof h->rbuf;
        bool fin = false;
        bool eof_before = r->eof;
        mptcp_ssize n = host_recv(h, r, want, &fin);
        FUZZ_CHECK(n == MPTCP_EAGAIN || n == MPTCP_ECLOSED || (n >= 0 && (size_t)n <= want),
                   "recv returned %d", (int)n);
        if (n > 0) {
            FUZZ_CHECK(!eof_before, "data after end of stream");
        } else if (n == 0) {
            r->eof = true;
            FUZZ_CHECK(fin, "recv 0 without a FIN");
        }
        break;
    }
    case 2:
        rc = mptcp_shutdown(c, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "shutdown %d", rc);
        break;
    case 3:
        rc = mptcp_close(c, h->now);
        FUZZ_CHECK(rc == 0 || (rc == MPTCP_ECLOSED && r->host_closed), "close %d", rc);
        r->host_closed = true;
        break;
    case 4:
        rc = mptcp_abort(c, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "abort %d", rc);
        if (rc == 0)
            r->host_closed = true;
        break;
    default:
        break;
    }
}

static void step_time(harness *h)
{
    uint8_t cls = take_u8(&h->in);
    uint16_t v = take_u16(&h->in);
    uint64_t dt;
    switch (cls % 5) {
    case 0: dt = v % 100; break;
    case 1: dt = (uint64_t)v * 16; break;       /* to ~1 s */
    case 2: dt = (uint64_t)v * 1000; break;     /* to ~65 s */
    case 3: {                                   /* exactly the next deadline */
        uint64_t due = mptcp_next_timeout(h->st);
        dt = due != UINT64_MAX && due > h->now ? due - h->now : 0;
        if (dt > 600000000ull)
            dt = 0;
        dt += v % 4;
        break;
    }
    default:
        /* The host's clock goes back (must be counted, not obeyed). */
        FUZZ_CHECK(mptcp_handle_timeout(h->st, h->now > v ? h->now - v : 0) == 0, "timeout");
        dt = 0;
        break;
    }
    advance(h, dt);
    run_timers(h);
}

static void step_misc(harness *h)
{
    uint8_t what = take_u8(&h->in);
    mptcp_tcb *t = pick_tcb(h, take_u8(&h->in));
    uint16_t v = take_u16(&h->in);
    switch (what % 4) {
    case 0:
        if (t)
            FUZZ_CHECK(mptcp_icmp_mtu(h->st, &t->local, &t->remote, v, h->now) == 0 ||
                           t->state == MPTCP_TCP_CLOSED,
                       "icmp_mtu");
        break;
    case 1:
        if (t) {
            int rc = mptcp_icmp_unreach(h->st, &t->local, &t->remote, h->now);
            FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND, "icmp_unreach %d", rc);
        }
        break;
    case 2: {
        mptcp_addr l = h->local;
        l.port = LISTEN_PORT;
        if (h->listening) {
            FUZZ_CHECK(mptcp_unlisten(h->st, &l) == 0, "unlisten");
            h->listening = false;
        } else {
            FUZZ_CHECK(mptcp_listen(h->st, &l) == 0, "listen");
            h->listening = true;
        }
        break;
    }
    default:
        if (t) {
            /* Peer ACKs everything, in order (the common case, made cheap). */
            peer_seg ps = peer_base(h, t, MPTCP_TH_ACK);
            ps.window = v;
            peer_send(h, &ps);
        }
        break;
    }
}

static void step_peer_data(harness *h)
{
    mptcp_tcb *t = pick_tcb(h, take_u8(&h->in));
    uint16_t len = take_u16(&h->in);
    uint8_t fl = take_u8(&h->in);
    if (t == NULL || t->state == MPTCP_TCP_CLOSED || t->state == MPTCP_TCP_SYN_SENT)
        return;
    peer_data(h, t, len % 8192, (fl & 1) ? MPTCP_TH_FIN : 0);
}

/* ------------------------------------------------------------ entry */

static harness H;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness *h = &H;
    memset(h, 0, offsetof(harness, rbuf));
    h->in = fuzz_input_init(data, size);
    fuzz_input *in = &h->in;

    h->rng = take_u64(in);
    uint8_t cf = take_u8(in);
    uint8_t sb = take_u8(in), rb = take_u8(in);
    uint16_t mss = take_u16(in);
    uint8_t mc = take_u8(in);
    uint8_t af = take_u8(in);
    uint8_t timing = take_u8(in);
    h->now = h->max_now = (uint64_t)take_u32(in) * 4096u;
    h->peer_ts_off = take_u32(in);

    mptcp_config *cfg = &h->cfg;
    mptcp_config_init(cfg);
    cfg->mss = (uint16_t)(64 + mss % (1460 - 64 + 1));
    cfg->sack = cf & 1;
    cfg->timestamps = (cf & 2) != 0;
    cfg->window_scaling = (cf & 4) != 0;
    cfg->cc = (cf & 8) ? MPTCP_CC_RENO : MPTCP_CC_CUBIC;
    if (cf & 16)
        cfg->keepalive_idle_us = 2000000, cfg->keepalive_intvl_us = 500000,
        cfg->keepalive_probes = 3;
    cfg->delack_segs = (cf & 32) ? 1 : 2;
    h->recv_in_cb = (cf & 64) != 0;
    cfg->sndbuf = cfg->mss + (uint32_t)sb * 256;
    cfg->rcvbuf = cfg->mss + (uint32_t)rb * 256;
    if (cf & 128) { /* large buffers: window scaling matters */
        cfg->sndbuf *= 4;
        cfg->rcvbuf *= 4;
    }
    cfg->max_conns = 1 + mc % 8;
    cfg->max_listeners = 2;
    switch (timing % 4) {
    case 1: /* fast timers: many expiries in few steps */
        cfg->rto_min_us = 1000, cfg->rto_initial_us = 5000, cfg->rto_max_us = 100000;
        cfg->delack_us = 500, cfg->time_wait_us = 20000, cfg->fin_wait2_us = 50000;
        cfg->syn_retries = 2, cfg->data_retries = 3;
        break;
    case 2:
        cfg->syn_retries = 1, cfg->data_retries = 1, cfg->time_wait_us = 1;
        break;
    default:
        break;
    }
    cfg->alloc.alloc = h_alloc;
    cfg->alloc.free = h_free;
    cfg->alloc.user = h;
    if (timing & 0x80)
        h->mem.fail_at = 1 + ((timing >> 2) & 0x1f);

    h->family = (af & 1) ? MPTCP_AF_INET6 : MPTCP_AF_INET;
    h->local.family = h->peer.family = h->family;
    if (h->family == MPTCP_AF_INET) {
        h->local.ip[0] = 10, h->local.ip[3] = 1;
        h->peer.ip[0] = 10, h->peer.ip[3] = 2;
    } else {
        h->local.ip[0] = 0xfd, h->local.ip[15] = 1;
        h->peer.ip[0] = 0xfd, h->peer.ip[15] = 2;
    }
    h->next_peer_port = PEER_BASE_PORT + 100;
    h->next_remote_port = REMOTE_PORT;

    mptcp_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = cb_send;
    cb.event = cb_event;
    cb.random = cb_random;
    h->st = mptcp_stack_new(cfg, &cb, h);
    if (h->st == NULL) {
        FUZZ_CHECK(h->mem.failed, "mptcp_stack_new refused a valid configuration");
        FUZZ_CHECK(h->mem.live_bytes == 0 && h->mem.live_blocks == 0, "failed stack_new leaked %zu",
                   h->mem.live_bytes);
        return 0;
    }
    mptcp_addr l = h->local;
    l.port = LISTEN_PORT;
    FUZZ_CHECK(mptcp_listen(h->st, &l) == 0, "listen");
    h->listening = true;

    unsigned nconn = 1 + take_u8(in) % 4;
    for (unsigned i = 0; i < nconn; i++) {
        setup_conn(h);
        check_all(h);
        trace(h, "setup");
    }

    for (unsigned step = 0; step < MAX_STEPS && fuzz_left(in) > 0; step++) {
        uint8_t op = take_u8(in);
        switch (op % 13) {
        case 0: step_time(h); break;
        case 1: step_segment(h); break;
        case 2: step_segment(h); break;
        case 3: step_raw(h); break;
        case 4: step_app(h, 0); break;
        case 5: step_app(h, 1); break;
        case 6: step_app(h, 2); break;
        case 7: step_app(h, 3); break;
        case 8: step_app(h, 4); break;
        case 9: setup_conn(h); break;
        case 10: step_misc(h); break;
        case 11: step_peer_data(h); break;
        default: advance(h, 1000 + (op >> 4) * 10000u); run_timers(h); break;
        }
        check_all(h);
        static const char *const names[13] = {"time", "seg", "seg", "raw", "send", "recv",
                                              "shutdown", "close", "abort", "newconn", "misc",
                                              "peerdata", "advance"};
        trace(h, names[op % 13]);
    }

    /* Let time run out: every timer-driven close must finish (bounded). */
    for (int i = 0; i < 64; i++) {
        uint64_t due = mptcp_next_timeout(h->st);
        if (due == UINT64_MAX || due > h->now + 3600000000ull)
            break;
        if (due > h->now)
            advance(h, due - h->now);
        run_timers(h);
        check_all(h);
    }

    h->freeing = true;
    FUZZ_CHECK(mptcp_stack_free(h->st) == 0, "stack_free");
    h->st = NULL;
    FUZZ_CHECK(h->mem.live_bytes == 0 && h->mem.live_blocks == 0, "leak: %zu bytes in %zu blocks",
               h->mem.live_bytes, h->mem.live_blocks);
    return 0;
}
