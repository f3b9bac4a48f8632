/*
 * mptcp_pair.c - fuzz target for two libmptcp stacks talking MPTCP (RFC
 * 8684) through the simulator (tests/sim: sim.h, sim_path.h, sim_mbox.h)
 * over 1..4 paths. The input sets the stacks' configuration and each path:
 * delay, rate, random loss, duplication, reordering, a middlebox stripping
 * MPTCP options by subtype and direction (RFC 8684 section 3.7 fallback,
 * 3.2 join failures), rewriting payload bytes (3.3.1 DSS checksums; at most
 * 32 bytes in all, fewer than the 16-bit checksum can miss); then
 * up to 200 steps: time runs, apps send/read/shut down/close/abort, paths
 * fail and recover, link parameters change, subflows are opened and
 * addresses announced/removed from either side.
 * Invariants: every byte each application reads is the byte the other
 * application sent at that offset (prefix property; with payload rewriting
 * only until a DSS checksum failure or a fallback is reported, after which
 * RFC 8684 3.7 lets rewritten bytes through, and but for a box's rewrite
 * the 16-bit DSS checksum cannot see, 3.3.1); no read after end of stream,
 * and end of stream only after all the peer's bytes; every API call returns
 * a documented code; mptcp_input and mptcp_handle_timeout never fail; the
 * simulator never sees a stuck timer. When the input asks for a drain
 * (flag bit 0), all paths become lossless and up, both apps read, and after
 * at most 20 simulated minutes each side has either read the peer's whole
 * stream (up to the peer's shutdown) or been told the connection closed.
 * Finally both stacks are freed and each counting allocator is back at 0.
 * Uses only mptcp.h and the simulator's public headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"
#include "helpers/pcap.h"

#define MAX_PATHS 4
#define MAX_STEPS 200
#define PORT 80
#define TX_CAP (512u * 1024u) /* bytes an app sends at most */

typedef struct side {
    struct pair *pr;
    int idx;                 /* 0 = A (client), 1 = B (server) */
    mptcp_stack *st;
    sim_node *node;
    mptcp_addr addr[MAX_PATHS];
    size_t live_bytes, live_blocks;
    mptcp_conn *c;
    bool had_conn, closed, shut, close_called, aborted, eof;
    mptcp_close_reason reason;
    bool auto_read;
    bool mp_fail_seen;       /* MP_FAIL or FALLBACK reported on this side */
    uint64_t tx_target, tx_off, rx_off;
    uint64_t rnd_ctr;        /* cb_random's counter */
    /* Events are delivered as mptcp_send/_recv return: the app does not
     * recurse into itself, it finishes the loop it is in, then the other. */
    bool in_read, in_push, want_read, want_push;
} side;

typedef struct pair {
    fuzz_input in;
    sim *s;
    side sd[2];
    unsigned npaths;
    sim_path path[MAX_PATHS];
    sim_link_cfg lcfg[MAX_PATHS][2];
    bool rewriting;          /* some middlebox rewrites payload */
    uint32_t pay_budget;     /* payload bytes the middleboxes may still rewrite */
    uint8_t rw_from[MAX_PATHS], rw_to[MAX_PATHS], rw_dirs[MAX_PATHS]; /* each box's rewrite */
    bool check_after_fail;   /* content still checked after MP_FAIL/fallback */
    uint8_t buf[65536];
} pair;

static pair P;

/* ------------------------------------------------------------ streams */

static uint8_t stream_byte(int from, uint64_t k)
{
    uint64_t x = k * 0x9e3779b97f4a7c15ull + (uint64_t)(from + 1) * 0x632be59bd9b4e019ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint8_t)x;
}

/* Rewritten payload is only detectable by DSS checksums (RFC 8684 3.3.1):
 * with rewriting, bytes are checked while both ends run MPTCP with
 * checksums and neither reported MP_FAIL or a fallback. */
static bool content_checked(pair *pr)
{
    if (!pr->rewriting)
        return true;
    if (pr->sd[0].mp_fail_seen || pr->sd[1].mp_fail_seen)
        return false;
    for (int i = 0; i < 2; i++) {
        mptcp_mp_stats m;
        if (!pr->sd[i].c || mptcp_conn_get_mp_stats(pr->sd[i].c, &m) != 0 || !m.mptcp ||
            m.fallback || !m.checksum) {
            pr->sd[i].mp_fail_seen = true;
            return false;
        }
    }
    return true;
}

/* RFC 8684 3.3.1: the DSS checksum is TCP's 16-bit one's complement sum.
 * A box that turns every byte |from| into |to| moves it by (to - from)
 * times 256 or 1 (the byte's place in its word) per byte, and in some
 * mappings those moves cancel modulo 0xffff (with 0xff -> 0xa5, the 0xff
 * bytes of B's stream up to offset 7,772: 0x5a * (256 * even + odd) is a
 * multiple of 0xffff). No checksum sees that rewrite, so a byte a box on
 * the way could have produced from the sent one is no delivery error; any
 * other wrong byte still is. */
static bool box_rewrite(const pair *pr, int from, uint8_t sent, uint8_t got)
{
    for (unsigned i = 0; i < pr->npaths; i++)
        if ((pr->rw_dirs[i] & (1u << from)) && pr->rw_from[i] == sent && pr->rw_to[i] == got)
            return true;
    return false;
}

static void got_bytes(side *sd, const uint8_t *p, size_t n)
{
    pair *pr = sd->pr;
    side *peer = &pr->sd[1 - sd->idx];
    FUZZ_CHECK(!sd->eof, "side %d read data after end of stream", sd->idx);
    FUZZ_CHECK(sd->rx_off + n <= peer->tx_off, "side %d read %llu bytes, the peer sent %llu",
               sd->idx, (unsigned long long)(sd->rx_off + n),
               (unsigned long long)peer->tx_off);
    if (content_checked(pr)) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(p[i] == stream_byte(peer->idx, sd->rx_off + i) ||
                           box_rewrite(pr, peer->idx, stream_byte(peer->idx, sd->rx_off + i), p[i]),
                       "side %d byte %llu is %#x, the peer sent %#x", sd->idx,
                       (unsigned long long)(sd->rx_off + i), p[i],
                       stream_byte(peer->idx, sd->rx_off + i));
    }
    sd->rx_off += n;
}

/* ------------------------------------------------------------ app */

static uint64_t now(const side *sd) { return sim_now(sd->pr->s); }

static void app_push(side *sd);

static void app_read(side *sd, size_t max)
{
    if (sd->in_read || sd->in_push) {
        sd->want_read = true;
        return;
    }
    if (!sd->c || sd->close_called || sd->aborted)
        return;
    sd->in_read = true;
    size_t total = 0;
    /* sd->c turns NULL when MPTCP_EV_CLOSED arrives inside mptcp_recv. */
    while (sd->c && !sd->eof && (max == 0 || total < max)) {
        size_t want = sizeof sd->pr->buf;
        if (max && max - total < want)
            want = max - total;
        mptcp_ssize n = mptcp_recv(sd->c, sd->pr->buf, want, now(sd));
        FUZZ_CHECK(n == MPTCP_EAGAIN || n == MPTCP_ECLOSED || (n >= 0 && (size_t)n <= want),
                   "side %d: recv returned %d (%s)", sd->idx, (int)n,
                   n < 0 ? mptcp_strerror((int)n) : "");
        if (n == 0) {
            side *peer = &sd->pr->sd[1 - sd->idx];
            FUZZ_CHECK(peer->shut || peer->close_called,
                       "side %d: end of stream but the peer never shut down", sd->idx);
            FUZZ_CHECK(sd->rx_off == peer->tx_off,
                       "side %d: end of stream after %llu of the peer's %llu bytes", sd->idx,
                       (unsigned long long)sd->rx_off, (unsigned long long)peer->tx_off);
            sd->eof = true;
        }
        if (n <= 0)
            break;
        got_bytes(sd, sd->pr->buf, (size_t)n);
        total += (size_t)n;
    }
    sd->in_read = false;
    if (sd->want_push) {
        sd->want_push = false;
        app_push(sd);
    }
}

static void app_push(side *sd)
{
    static uint8_t tx[16384];
    if (sd->in_read || sd->in_push) {
        sd->want_push = true;
        return;
    }
    sd->in_push = true;
    while (sd->c && !sd->shut && !sd->close_called && !sd->aborted &&
           sd->tx_off < sd->tx_target) {
        uint64_t left = sd->tx_target - sd->tx_off;
        size_t n = left < sizeof tx ? (size_t)left : sizeof tx;
        for (size_t i = 0; i < n; i++)
            tx[i] = stream_byte(sd->idx, sd->tx_off + i);
        mptcp_ssize r = mptcp_send(sd->c, tx, n, now(sd));
        FUZZ_CHECK(r == MPTCP_EAGAIN || r == MPTCP_ECLOSED || r == MPTCP_ESTATE ||
                       (r > 0 && (size_t)r <= n),
                   "side %d: send returned %d", sd->idx, (int)r);
        if (r <= 0)
            break;
        sd->tx_off += (uint64_t)r;
    }
    sd->in_push = false;
    if (sd->want_read) {
        sd->want_read = false;
        if (sd->auto_read)
            app_read(sd, 0);
    }
}

/* ------------------------------------------------------------ stack glue */

static void *s_alloc(void *user, size_t size)
{
    side *sd = user;
    void *p = malloc(size ? size : 1);
    if (p) {
        sd->live_bytes += size;
        sd->live_blocks++;
    }
    return p;
}

static void s_free(void *user, void *p, size_t size)
{
    side *sd = user;
    if (!p)
        return;
    FUZZ_CHECK(sd->live_blocks > 0 && sd->live_bytes >= size, "unbalanced free");
    sd->live_bytes -= size;
    sd->live_blocks--;
    free(p);
}

static void cb_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                    size_t len)
{
    side *sd = user;
    FUZZ_CHECK(mptcp_tcp_csum_ok(seg, len, src, dst), "side %d emitted a bad checksum", sd->idx);
    sim_node_send(sd->node, src, dst, seg, len);
}

static void cb_random(void *user, uint8_t *out, size_t len)
{
    side *sd = user;
    for (size_t i = 0; i < len; i++) {
        uint64_t x = sim_mix64(++sd->rnd_ctr ^ ((uint64_t)sd->idx << 60) ^ sim_now(sd->pr->s));
        out[i] = (uint8_t)x;
    }
}

static void cb_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    side *sd = user;
    FUZZ_CHECK(ev->type >= MPTCP_EV_CONNECTED && ev->type < MPTCP_EV_TYPE_COUNT, "event %d",
               ev->type);
    if (ev->type == MPTCP_EV_ACCEPTED) {
        FUZZ_CHECK(sd->idx == 1, "ACCEPTED on the client");
        if (sd->had_conn) {
            /* A second connection (a retransmitted SYN after the first
             * closed, say): not ours to drive, abort it. */
            mptcp_abort(c, now(sd));
            return;
        }
        sd->c = c;
        sd->had_conn = true;
        return;
    }
    if (c != sd->c) {
        FUZZ_CHECK(sd->idx == 1, "side %d: event %d for an unknown connection", sd->idx,
                   ev->type);
        return; /* the aborted extra one */
    }
    if (ev->type == MPTCP_EV_CLOSED) {
        sd->closed = true;
        sd->reason = ev->u.closed.reason;
        sd->c = NULL;
        return;
    }
    FUZZ_CHECK(!sd->close_called && !sd->aborted, "side %d: event %d after close", sd->idx,
               ev->type);
    switch (ev->type) {
    case MPTCP_EV_CONNECTED:
        FUZZ_CHECK(sd->idx == 0, "CONNECTED on the server");
        break;
    case MPTCP_EV_FALLBACK:
    case MPTCP_EV_MP_FAIL:
        sd->mp_fail_seen = true;
        break;
    default:
        break;
    }
    if (sd->auto_read)
        app_read(sd, 0);
    app_push(sd);
}

/* MPTCP_FUZZ_PCAP=<file>: every segment a stack takes in, in arrival order
 * (a replay aid: open it with tshark; the last input of a run wins). */
static mptcp_test_pcap *rx_pcap(bool reopen)
{
    static mptcp_test_pcap *pc;
    static int on = -1;
    if (on < 0)
        on = getenv("MPTCP_FUZZ_PCAP") != NULL;
    if (on && reopen) {
        mptcp_test_pcap_close(pc);
        pc = mptcp_test_pcap_open(getenv("MPTCP_FUZZ_PCAP"));
    }
    return pc;
}

static void node_input(void *ctx, sim *s, const sim_pkt *p)
{
    side *sd = ctx;
    mptcp_test_pcap *pc = rx_pcap(false);
    if (pc) {
        mptcp_test_pcap_write_tcp(pc, sim_now(s), &p->src, &p->dst, p->data, p->len);
        mptcp_test_pcap_flush(pc);
    }
    int r = mptcp_input(sd->st, &p->src, &p->dst, p->data, p->len, sim_now(s));
    FUZZ_CHECK(r == 0, "side %d: mptcp_input %d", sd->idx, r);
}

static uint64_t node_next(void *ctx)
{
    side *sd = ctx;
    return mptcp_next_timeout(sd->st);
}

static void node_timeout(void *ctx, sim *s, uint64_t t)
{
    side *sd = ctx;
    (void)s;
    FUZZ_CHECK(mptcp_handle_timeout(sd->st, t) == 0, "side %d: handle_timeout", sd->idx);
    FUZZ_CHECK(mptcp_next_timeout(sd->st) > t, "side %d: next timeout not after %llu", sd->idx,
               (unsigned long long)t);
}

static const sim_node_ops node_ops = {node_input, node_next, node_timeout};

/* ------------------------------------------------------------ steps */

static void run_for(pair *pr, uint64_t us)
{
    long r = sim_run_until(pr->s, sim_now(pr->s) + us);
    FUZZ_CHECK(r >= 0, "simulator: a node's timer is stuck");
}

static void set_path_up(pair *pr, unsigned i, bool up)
{
    sim_link_set_down(pr->path[i].ab, !up);
    sim_link_set_down(pr->path[i].ba, !up);
}

static void step_api(pair *pr, uint8_t op)
{
    fuzz_input *in = &pr->in;
    side *sd = &pr->sd[take_u8(in) & 1];
    uint8_t a = take_u8(in);
    uint8_t b = take_u8(in);
    int rc;
    if (op == 0) {
        /* endpoints, stack-wide */
        if (a & 0x80) {
            rc = mptcp_local_addr_remove(sd->st, (uint8_t)(1 + b % 4), now(sd));
            FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND, "local_addr_remove %d", rc);
        } else {
            rc = mptcp_local_addr_add(sd->st, &sd->addr[b % pr->npaths], a & 0x0f);
            FUZZ_CHECK(rc > 0 || rc == MPTCP_EADDRINUSE || rc == MPTCP_ELIMIT ||
                           rc == MPTCP_EINVAL,
                       "local_addr_add %d", rc);
        }
        return;
    }
    if (!sd->c || sd->close_called || sd->aborted)
        return;
    int ids[16];
    int n = mptcp_conn_subflows(sd->c, ids, 16);
    FUZZ_CHECK(n >= 0 && n <= 8, "%d subflows", n);
    int id = n > 0 ? ids[b % (unsigned)n] : 0;
    switch (a % 5) {
    case 0: {
        mptcp_addr l = sd->addr[b % pr->npaths], r = pr->sd[1 - sd->idx].addr[(b >> 2) % pr->npaths];
        l.port = 0;
        r.port = (b & 0x80) ? PORT : 0;
        rc = mptcp_subflow_open(sd->c, &l, &r, (a & 0x10) != 0, now(sd));
        FUZZ_CHECK(rc > 0 || rc == MPTCP_ESTATE || rc == MPTCP_ELIMIT || rc == MPTCP_EINVAL ||
                       rc == MPTCP_EADDRINUSE || rc == MPTCP_ENOMEM,
                   "subflow_open %d", rc);
        break;
    }
    case 1:
        rc = mptcp_subflow_close(sd->c, id, now(sd));
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "subflow_close %d",
                   rc);
        break;
    case 2:
        rc = mptcp_subflow_set_backup(sd->c, id, (a & 0x10) != 0, now(sd));
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "set_backup %d", rc);
        break;
    case 3:
        rc = mptcp_announce(sd->c, &sd->addr[b % pr->npaths], now(sd));
        FUZZ_CHECK(rc >= 0 || rc == MPTCP_ESTATE || rc == MPTCP_ELIMIT || rc == MPTCP_EINVAL ||
                       rc == MPTCP_EADDRINUSE,
                   "announce %d", rc);
        break;
    default:
        rc = mptcp_addr_remove(sd->c, (uint8_t)(b % 5), now(sd));
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "addr_remove %d", rc);
        break;
    }
    if (sd->c) {
        mptcp_mp_stats m;
        FUZZ_CHECK(mptcp_conn_get_mp_stats(sd->c, &m) == 0, "mp_stats");
        FUZZ_CHECK(m.snd_una <= m.snd_nxt, "data snd_una > snd_nxt");
    }
}

/* Drain goal for each receiving side: it closed, or it read the sender's
 * whole stream (and its end when the sender shut down). A sender that
 * aborted or closed abnormally owes nothing, but the receiver must then
 * learn that its connection is gone (RST, keepalive). */
static bool drained(void *arg)
{
    pair *pr = arg;
    for (int i = 0; i < 2; i++) {
        side *sd = &pr->sd[i], *peer = &pr->sd[1 - i];
        if (sd->closed || sd->close_called || sd->aborted)
            continue;
        if (!sd->had_conn) {
            if (peer->closed || !peer->had_conn)
                continue;
            return false;
        }
        bool peer_gone = peer->aborted || (peer->closed && peer->reason != MPTCP_CLOSE_NORMAL);
        if (peer_gone)
            return false;
        if (sd->rx_off < peer->tx_off)
            return false;
        if ((peer->shut || peer->close_called) && !sd->eof)
            return false;
    }
    return true;
}

/* MPTCP_FUZZ_TRACE=1 in the environment prints both sides after every step. */
static void trace(pair *pr, const char *what)
{
    static int on = -1;
    if (on < 0)
        on = getenv("MPTCP_FUZZ_TRACE") != NULL;
    if (!on)
        return;
    fprintf(stderr, "%-6s t=%llu", what, (unsigned long long)sim_now(pr->s));
    for (int i = 0; i < 2; i++) {
        side *sd = &pr->sd[i];
        mptcp_mp_stats m;
        memset(&m, 0, sizeof m);
        if (sd->c)
            mptcp_conn_get_mp_stats(sd->c, &m);
        fprintf(stderr, " | %c conn=%d mp=%d fb=%d sf=%u tx=%llu/%llu rx=%llu eof=%d cl=%d/%d%s",
                'A' + i, sd->c != NULL, m.mptcp, m.fallback, m.n_subflows,
                (unsigned long long)sd->tx_off, (unsigned long long)sd->tx_target,
                (unsigned long long)sd->rx_off, sd->eof, sd->closed, (int)sd->reason,
                sd->mp_fail_seen ? " fail" : "");
    }
    fputc('\n', stderr);
    for (int i = 0; i < 2; i++) {
        side *sd = &pr->sd[i];
        int ids[16];
        int n = sd->c ? mptcp_conn_subflows(sd->c, ids, 16) : 0;
        for (int k = 0; k < n && k < 16; k++) {
            mptcp_subflow_stats ss;
            if (mptcp_subflow_get_stats(sd->c, ids[k], &ss) != 0)
                continue;
            fprintf(stderr, "         %c sf%d st=%u usable=%d una=%u nxt=%u wnd=%u rcv_nxt=%u "
                            "rcv_wnd=%u cwnd=%u rto=%u rtx=%u\n",
                    'A' + i, ids[k], ss.tcp.state, ss.usable, ss.tcp.snd_una, ss.tcp.snd_nxt,
                    ss.tcp.snd_wnd, ss.tcp.rcv_nxt, ss.tcp.rcv_wnd, ss.tcp.cwnd, ss.tcp.rto_us,
                    ss.tcp.retrans_segs);
        }
        mptcp_mp_stats m;
        if (sd->c && mptcp_conn_get_mp_stats(sd->c, &m) == 0)
            fprintf(stderr, "         %c data snd_una=%llu snd_nxt=%llu rcv_nxt=%llu snd_wnd=%u\n",
                    'A' + i, (unsigned long long)m.snd_una, (unsigned long long)m.snd_nxt,
                    (unsigned long long)m.rcv_nxt, m.snd_wnd);
    }
}

/* ------------------------------------------------------------ entry */

static void side_init(pair *pr, int idx, const mptcp_config *base)
{
    side *sd = &pr->sd[idx];
    memset(sd, 0, sizeof *sd);
    sd->pr = pr;
    sd->idx = idx;
    sd->auto_read = true;
    for (unsigned i = 0; i < MAX_PATHS; i++) {
        sd->addr[i].family = MPTCP_AF_INET;
        sd->addr[i].ip[0] = 10, sd->addr[i].ip[2] = (uint8_t)i;
        sd->addr[i].ip[3] = (uint8_t)(1 + idx);
    }
    mptcp_config cfg = *base;
    cfg.alloc.alloc = s_alloc;
    cfg.alloc.free = s_free;
    cfg.alloc.user = sd;
    mptcp_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = cb_send;
    cb.event = cb_event;
    cb.random = cb_random;
    sd->st = mptcp_stack_new(&cfg, &cb, sd);
    FUZZ_CHECK(sd->st != NULL, "stack_new");
    sd->node = sim_node_new(pr->s, idx ? "B" : "A", &node_ops, sd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pair *pr = &P;
    memset(pr, 0, offsetof(pair, buf));
    rx_pcap(true);
    pr->in = fuzz_input_init(data, size);
    fuzz_input *in = &pr->in;

    uint64_t seed = take_u64(in);
    pr->npaths = 1 + take_u8(in) % MAX_PATHS;
    uint8_t cf = take_u8(in);
    uint16_t mss = take_u16(in);
    uint8_t flags = take_u8(in);
    uint8_t sb = take_u8(in), rb = take_u8(in);

    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.mptcp = true;
    cfg.sack = cf & 1;
    cfg.timestamps = (cf & 2) != 0;
    cfg.window_scaling = (cf & 4) != 0;
    cfg.checksum = (cf & 8) != 0;
    cfg.scheduler = (uint8_t)((cf >> 4) % 4);
    cfg.cc = (cf & 0x40) ? MPTCP_CC_RENO : MPTCP_CC_CUBIC;
    cfg.mss = (uint16_t)(536 + mss % (1460 - 536 + 1));
    cfg.sndbuf = 4096 + (uint32_t)sb * 1024;
    cfg.rcvbuf = 4096 + (uint32_t)rb * 1024;
    cfg.max_subflows = 4;
    cfg.add_addr_accept_max = 4;
    cfg.rto_max_us = 4000000;
    cfg.time_wait_us = 100000;
    cfg.fin_wait2_us = 5000000;
    cfg.keepalive_idle_us = 30000000, cfg.keepalive_intvl_us = 5000000;
    cfg.keepalive_probes = 4;

    pr->s = sim_new(seed, 1000000);
    /* The DSS checksum (RFC 8684 3.3.1) is a 16-bit ones' complement sum: n
     * bytes b -> b ^ 0x5a change it by d * (256 k + m) mod 65535 (k of them
     * at even offsets, m at odd), d = +-2 +-8 +-16 +-64, gcd(d, 65535) <= 15,
     * so it sees every such change of fewer than 34 bytes (k = m = 17
     * cancels: a fuzzer found one). At most 32 rewrites in all keep the
     * oracle exact. */
    pr->pay_budget = 32;
    side_init(pr, 0, &cfg);
    side_init(pr, 1, &cfg);

    sim_mbox_cfg mb[MAX_PATHS];
    for (unsigned i = 0; i < pr->npaths; i++) {
        uint8_t rtt = take_u8(in), rate = take_u8(in), loss = take_u8(in), dup = take_u8(in),
                reord = take_u8(in);
        uint16_t strip = take_u16(in);
        uint8_t sdir = take_u8(in), pay = take_u8(in);
        sim_link_cfg l;
        memset(&l, 0, sizeof l);
        l.delay_us = 500 + (uint64_t)rtt * 500;
        l.rate_bps = rate ? (uint64_t)rate * 1000000 : 0;
        l.queue_pkts = rate ? 64 : 0;
        l.loss_ppm = (uint32_t)loss * 1000; /* up to 25 % */
        l.dup_ppm = (uint32_t)dup * 500;
        l.reorder_ppm = (uint32_t)reord * 1000;
        l.reorder_delay_us = 1000 + (uint64_t)rtt * 300;
        pr->lcfg[i][0] = pr->lcfg[i][1] = l;
        memset(&mb[i], 0, sizeof mb[i]);
        mb[i].dirs = sdir & 3;
        mb[i].strip_mptcp = strip & 0x1ff;
        mb[i].strip_syn_only = (sdir & 4) != 0;
        mb[i].strip_to_nop = (sdir & 8) != 0;
        if (pay && mb[i].dirs) {
            mb[i].pay_len = 1;
            mb[i].pay_from[0] = pay;
            mb[i].pay_to[0] = (uint8_t)(pay ^ 0x5a);
            mb[i].pay_budget = &pr->pay_budget;
            pr->rewriting = true;
            pr->rw_from[i] = mb[i].pay_from[0];
            pr->rw_to[i] = mb[i].pay_to[0];
            pr->rw_dirs[i] = (uint8_t)mb[i].dirs;
        }
        if ((sdir & 0x10) && mb[i].dirs)
            mb[i].split_max = (uint16_t)(100 + rtt * 4);
        sim_path_cfg pc;
        memset(&pc, 0, sizeof pc);
        pc.ab = pc.ba = l;
        pc.mbox = (mb[i].dirs && (mb[i].strip_mptcp || mb[i].pay_len || mb[i].split_max))
                      ? &mb[i] : NULL;
        FUZZ_CHECK(sim_path_new(pr->s, &pr->path[i], pr->sd[0].node, &pr->sd[0].addr[i],
                                pr->sd[1].node, &pr->sd[1].addr[i], &pc) == 0,
                   "sim_path_new");
    }
    /* Any other address pair rides the path of A's address, or of B's. */
    for (unsigned i = 0; i < pr->npaths; i++) {
        sim_elem *a_first = sim_link_elem(pr->path[i].ab);
        sim_elem *b_first = pr->path[i].mbox ? sim_mbox_b2a(pr->path[i].mbox)
                                             : sim_link_elem(pr->path[i].ba);
        sim_node_route(pr->sd[0].node, &pr->sd[0].addr[i], NULL, a_first);
        sim_node_route(pr->sd[1].node, NULL, &pr->sd[0].addr[i], b_first);
    }
    /* Endpoints: B announces its other addresses, A opens subflows from its own. */
    for (unsigned i = 1; i < pr->npaths; i++) {
        if (flags & 0x10)
            mptcp_local_addr_add(pr->sd[1].st, &pr->sd[1].addr[i], MPTCP_ADDR_F_SIGNAL);
        if (flags & 0x20)
            mptcp_local_addr_add(pr->sd[0].st, &pr->sd[0].addr[i],
                                 MPTCP_ADDR_F_SUBFLOW | ((flags & 0x40) ? MPTCP_ADDR_F_BACKUP : 0));
    }
    pr->sd[0].auto_read = !(flags & 0x04);
    pr->sd[1].auto_read = !(flags & 0x08);

    mptcp_addr l = pr->sd[1].addr[0];
    l.port = PORT;
    FUZZ_CHECK(mptcp_listen(pr->sd[1].st, &l) == 0, "listen");
    mptcp_addr ra = pr->sd[1].addr[0], la = pr->sd[0].addr[0];
    ra.port = PORT;
    la.port = 0;
    int rc = mptcp_connect_ex(pr->sd[0].st, &la, &ra, !(flags & 0x80), sim_now(pr->s),
                              &pr->sd[0].c);
    FUZZ_CHECK(rc == 0, "connect %d", rc);
    pr->sd[0].had_conn = true;

    for (unsigned step = 0; step < MAX_STEPS && fuzz_left(in) > 0; step++) {
        uint8_t op = take_u8(in);
        switch (op % 12) {
        case 0:
            run_for(pr, 1000 * (uint64_t)(1 + take_u16(in) % 10000));
            break;
        case 1: {
            side *sd = &pr->sd[take_u8(in) & 1];
            uint64_t n = take_u16(in);
            sd->tx_target = sd->tx_target + n > TX_CAP ? TX_CAP : sd->tx_target + n;
            app_push(sd);
            break;
        }
        case 2: {
            side *sd = &pr->sd[take_u8(in) & 1];
            app_read(sd, take_u16(in));
            break;
        }
        case 3: {
            side *sd = &pr->sd[take_u8(in) & 1];
            if (sd->c && !sd->shut && !sd->close_called && !sd->aborted) {
                rc = mptcp_shutdown(sd->c, sim_now(pr->s));
                FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "shutdown %d", rc);
                sd->shut = true;
            }
            break;
        }
        case 4: {
            side *sd = &pr->sd[take_u8(in) & 1];
            if (sd->c && !sd->close_called && !sd->aborted) {
                rc = mptcp_close(sd->c, sim_now(pr->s));
                FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "close %d", rc);
                sd->close_called = true;
            }
            break;
        }
        case 5: {
            side *sd = &pr->sd[take_u8(in) & 1];
            if (sd->c && !sd->close_called && !sd->aborted) {
                rc = mptcp_abort(sd->c, sim_now(pr->s));
                FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "abort %d", rc);
                sd->aborted = true;
            }
            break;
        }
        case 6:
            set_path_up(pr, take_u8(in) % pr->npaths, false);
            break;
        case 7:
            set_path_up(pr, take_u8(in) % pr->npaths, true);
            break;
        case 8: {
            uint8_t b = take_u8(in);
            unsigned i = b % pr->npaths;
            sim_link_cfg c = pr->lcfg[i][(b >> 2) & 1];
            c.loss_ppm = (uint32_t)take_u8(in) * 2000;
            c.reorder_ppm = (uint32_t)take_u8(in) * 1000;
            c.delay_us = 500 + (uint64_t)take_u8(in) * 1000;
            sim_link_set_cfg((b & 4) ? pr->path[i].ba : pr->path[i].ab, &c);
            break;
        }
        case 9:
            step_api(pr, 1);
            break;
        case 10:
            step_api(pr, 0);
            break;
        default: {
            side *sd = &pr->sd[take_u8(in) & 1];
            sd->auto_read = !sd->auto_read;
            if (sd->auto_read)
                app_read(sd, 0);
            break;
        }
        }
        static const char *const names[12] = {"run", "send", "recv", "shut", "close", "abort",
                                              "down", "up", "link", "api", "endpt", "toggle"};
        trace(pr, names[op % 12]);
    }

    if (flags & 1) {
        /* Drain: lossless paths, everything up, both apps read and send. */
        for (unsigned i = 0; i < pr->npaths; i++) {
            for (int d = 0; d < 2; d++) {
                sim_link_cfg c = pr->lcfg[i][d];
                c.loss_ppm = c.dup_ppm = c.reorder_ppm = c.corrupt_ppm = 0;
                sim_link_set_cfg(d ? pr->path[i].ba : pr->path[i].ab, &c);
            }
            set_path_up(pr, i, true);
        }
        for (int i = 0; i < 2; i++) {
            pr->sd[i].auto_read = true;
            app_read(&pr->sd[i], 0);
            app_push(&pr->sd[i]);
        }
        int r = sim_run_while(pr->s, sim_now(pr->s) + 1200000000ull, drained, pr);
        trace(pr, "drain");
        FUZZ_CHECK(r >= 0, "simulator: a node's timer is stuck");
        side *a = &pr->sd[0], *b = &pr->sd[1];
        FUZZ_CHECK(r == 1,
                   "drain stalled: A read %llu of B's %llu bytes (eof %d, closed %d), B read %llu "
                   "of A's %llu (eof %d, closed %d)",
                   (unsigned long long)a->rx_off, (unsigned long long)b->tx_off, a->eof,
                   a->closed, (unsigned long long)b->rx_off, (unsigned long long)a->tx_off, b->eof,
                   b->closed);
    } else {
        run_for(pr, 100000);
    }

    for (int i = 0; i < 2; i++) {
        side *sd = &pr->sd[i];
        FUZZ_CHECK(mptcp_stack_free(sd->st) == 0, "stack_free");
        FUZZ_CHECK(sd->live_bytes == 0 && sd->live_blocks == 0,
                   "side %d leaked %zu bytes in %zu blocks", i, sd->live_bytes, sd->live_blocks);
    }
    sim_free(pr->s);
    return 0;
}
