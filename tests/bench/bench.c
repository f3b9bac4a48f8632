/*
 * bench.c - `make bench`: the cost of the TCP path of libmptcp, measured as
 * ratios to a baseline taken in the same run. Two stacks in one process are
 * wired back to back (no simulator, no loss, no delay beyond a queue): bulk
 * transfer of full-size segments one way, ACKs back. Printed: segments/s,
 * ns per segment, memcpy of the same bytes (same chunking) in the same run
 * and the ratio, peak memory of both stacks (counting allocator), and the
 * bytes of state per idle established connection.
 * Then MPTCP: the same bulk transfer over an MPTCP connection with two
 * subflows, its CPU cost per data segment as a ratio to plain TCP's in this
 * run; and, in the simulator (simulated time, so the figures are protocol
 * behaviour, not CPU), the aggregate goodput of two paths against the sum
 * of their rates: two equal lossless paths, and 10 ms + 100 ms RTT paths
 * with a receive buffer of twice the larger bandwidth-delay product.
 * `mptcp-bench BYTES RUNS tcp` runs the TCP transfer alone, RUNS times.
 * Targets from the project: >= 1,000,000 full-size segments/s on one core,
 * < 512 B of state per idle connection; MPTCP (issue 4): 2-subflow cost per
 * segment <= 1.3 x TCP, aggregate >= 95% (equal paths) and >= 90% (10/100 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"

#define QCAP 8192
#define SEGMAX 1600
#define CHUNK 65536

typedef struct qpkt {
    mptcp_addr src, dst;
    uint16_t len;
    uint8_t data[SEGMAX];
} qpkt;

typedef struct queue {
    qpkt *q;
    size_t head, n;
    uint64_t dropped;
} queue;

typedef struct end {
    mptcp_stack *st;
    queue *out;
    size_t cur, peak;
    uint64_t allocs;
    mptcp_conn *conn;
    uint64_t seed;
    int accepted;
    uint64_t data_segs; /* segments sent with a payload */
} end;

static void *b_alloc(void *user, size_t size)
{
    end *e = user;
    void *p = malloc(size);
    if (p) {
        e->cur += size;
        e->allocs++;
        if (e->cur > e->peak)
            e->peak = e->cur;
    }
    return p;
}

static void b_free(void *user, void *ptr, size_t size)
{
    end *e = user;
    if (ptr) {
        e->cur -= size;
        free(ptr);
    }
}

static void b_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                   size_t len)
{
    end *e = user;
    queue *q = e->out;
    if (q->n == QCAP || len > SEGMAX) {
        q->dropped++;
        return;
    }
    if (len >= 20 && len > (size_t)(seg[12] >> 4) * 4)
        e->data_segs++;
    qpkt *p = &q->q[(q->head + q->n) % QCAP];
    p->src = *src;
    p->dst = *dst;
    p->len = (uint16_t)len;
    memcpy(p->data, seg, len);
    q->n++;
}

static void b_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    end *e = user;
    if (ev->type == MPTCP_EV_ACCEPTED) {
        e->accepted++;
        if (!e->conn)
            e->conn = c;
    }
}

static void b_random(void *user, uint8_t *out, size_t len)
{
    end *e = user;
    for (size_t i = 0; i < len; i++) {
        e->seed = e->seed * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(e->seed >> 56);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mptcp_addr ip4(uint8_t d, uint16_t port)
{
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = MPTCP_AF_INET;
    a.ip[0] = 10, a.ip[3] = d;
    a.port = port;
    return a;
}

static void end_init_mp(end *e, queue *out, uint64_t seed, uint32_t max_conns, bool mp)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
    e->seed = seed;
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.alloc.alloc = b_alloc;
    cfg.alloc.free = b_free;
    cfg.alloc.user = e;
    cfg.max_conns = max_conns;
    cfg.mptcp = mp;
    mptcp_callbacks cb = {b_send, b_event, b_random, NULL};
    e->st = mptcp_stack_new(&cfg, &cb, e);
    if (!e->st) {
        fprintf(stderr, "mptcp_stack_new failed\n");
        exit(1);
    }
}

static void end_init(end *e, queue *out, uint64_t seed, uint32_t max_conns)
{
    end_init_mp(e, out, seed, max_conns, false);
}

/* Delivers everything queued for |to|. Returns the packets delivered. */
static size_t deliver(queue *q, end *to, uint64_t now)
{
    size_t n = 0;
    while (q->n) {
        qpkt *p = &q->q[q->head];
        q->head = (q->head + 1) % QCAP;
        q->n--;
        mptcp_input(to->st, &p->src, &p->dst, p->data, p->len, now);
        n++;
    }
    return n;
}

static void timers(end *e, uint64_t now)
{
    if (mptcp_next_timeout(e->st) <= now)
        mptcp_handle_timeout(e->st, now);
}

typedef struct bulk_result {
    double secs;
    uint64_t got;
    uint64_t data_segs;  /* sender's segments with payload */
    int subflows;        /* subflows that carried data (MPTCP) */
    mptcp_conn_stats snd, rcv;
    size_t peak_a, peak_b;
    uint64_t allocs_a, allocs_b, drops;
} bulk_result;

/* One bulk transfer of |total| bytes between two fresh stacks: plain TCP
 * (subflows 0) or MPTCP with |subflows| subflows. */
static int run_bulk(uint64_t total, queue *qab, queue *qba, const uint8_t *src, uint8_t *dst,
                    bulk_result *out, int subflows)
{
    end a, b;
    end_init_mp(&a, qab, 1, 64, subflows > 0);
    end_init_mp(&b, qba, 2, 64, subflows > 0);
    mptcp_addr aa = ip4(1, 0), ba = ip4(2, 80);
    if (mptcp_listen(b.st, &ba) < 0 || mptcp_connect(a.st, &aa, &ba, 0, &a.conn) < 0) {
        fprintf(stderr, "listen/connect failed\n");
        return -1;
    }
    uint64_t now = 1;
    for (int i = 0; i < 10 && !b.conn; i++) {
        deliver(qab, &b, now);
        deliver(qba, &a, now);
        now += 10;
    }
    if (!b.conn) {
        fprintf(stderr, "handshake did not complete\n");
        return -1;
    }
    if (subflows > 0) {
        /* MPTCP: the client is fully established once the server's first
         * DATA_ACK arrives; then the extra subflows join. */
        mptcp_mp_stats ms;
        uint64_t pre_sent = 0, pre_got = 0;
        for (int i = 0; i < 100; i++) {
            if (mptcp_conn_get_mp_stats(a.conn, &ms) == 0 && ms.fully_established)
                break;
            /* one byte makes the server acknowledge at the data level */
            mptcp_ssize r = mptcp_send(a.conn, src, 1, now);
            if (r > 0)
                pre_sent += (uint64_t)r;
            deliver(qab, &b, now);
            deliver(qba, &a, now);
            r = mptcp_recv(b.conn, dst, CHUNK, now);
            if (r > 0)
                pre_got += (uint64_t)r;
            now += 1000;
            timers(&a, now);
            timers(&b, now);
        }
        if (mptcp_conn_get_mp_stats(a.conn, &ms) < 0 || !ms.mptcp || !ms.fully_established) {
            fprintf(stderr, "MPTCP connection not fully established\n");
            return -1;
        }
        for (int k = 1; k < subflows; k++) {
            mptcp_addr la = ip4((uint8_t)(10 + k), 0);
            int id = mptcp_subflow_open(a.conn, &la, &ba, false, now);
            if (id < 0) {
                fprintf(stderr, "mptcp_subflow_open: %s\n", mptcp_strerror(id));
                return -1;
            }
        }
        for (int i = 0; i < 10; i++) {
            deliver(qab, &b, now);
            deliver(qba, &a, now);
            now += 10;
        }
        if (mptcp_conn_get_mp_stats(a.conn, &ms) < 0 || ms.n_subflows != subflows) {
            fprintf(stderr, "only %u of %d subflows up\n", ms.n_subflows, subflows);
            return -1;
        }
        for (int i = 0; i < 10 && pre_got < pre_sent; i++) {
            mptcp_ssize r = mptcp_recv(b.conn, dst, CHUNK, now);
            if (r > 0)
                pre_got += (uint64_t)r;
            deliver(qab, &b, now);
            deliver(qba, &a, now);
        }
        if (pre_got != pre_sent || pre_sent >= total) {
            fprintf(stderr, "setup bytes: %llu sent, %llu received\n",
                    (unsigned long long)pre_sent, (unsigned long long)pre_got);
            return -1;
        }
        /* the bytes sent above are part of the stream */
        total -= pre_sent;
    }
    a.data_segs = 0;
    uint64_t sent = 0, got = 0, idle = 0;
    double t0 = now_s();
    while (got < total) {
        /* the application: fill the send buffer, drain the receive buffer */
        while (sent < total) {
            size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
            mptcp_ssize r = mptcp_send(a.conn, src, n, now);
            if (r <= 0)
                break;
            sent += (uint64_t)r;
        }
        for (;;) {
            mptcp_ssize r = mptcp_recv(b.conn, dst, CHUNK, now);
            if (r <= 0)
                break;
            got += (uint64_t)r;
        }
        size_t moved = deliver(qab, &b, now) + deliver(qba, &a, now);
        now += 1; /* a microsecond per round: timers (delayed ACK) stay quiet */
        timers(&a, now);
        timers(&b, now);
        if (!moved) {
            uint64_t ta = mptcp_next_timeout(a.st), tb = mptcp_next_timeout(b.st);
            uint64_t t = ta < tb ? ta : tb;
            if (t != UINT64_MAX && t > now)
                now = t;
            if (++idle > 1000000) {
                fprintf(stderr, "stalled at %llu of %llu bytes\n", (unsigned long long)got,
                        (unsigned long long)total);
                return -1;
            }
        }
    }
    out->secs = now_s() - t0;
    out->got = got;
    out->data_segs = a.data_segs;
    out->subflows = 0;
    if (subflows > 0) {
        int ids[8];
        int n = mptcp_conn_subflows(a.conn, ids, 8);
        for (int i = 0; i < n && i < 8; i++) {
            mptcp_subflow_stats ss;
            if (mptcp_subflow_get_stats(a.conn, ids[i], &ss) == 0 && ss.tcp.bytes_acked > total / 10)
                out->subflows++;
        }
    }
    mptcp_conn_get_stats(a.conn, &out->snd);
    mptcp_conn_get_stats(b.conn, &out->rcv);
    out->peak_a = a.peak;
    out->peak_b = b.peak;
    out->allocs_a = a.allocs;
    out->allocs_b = b.allocs;
    out->drops = qab->dropped + qba->dropped;
    mptcp_stack_free(a.st);
    mptcp_stack_free(b.st);
    qab->n = qba->n = 0;
    return 0;
}

/* ------------------------------------------------ simulated goodput */

typedef struct gp_path {
    double rate_mbit, rtt_ms;
    uint32_t queue;
} gp_path;

typedef struct gp_result {
    double steady_mbit;  /* application bytes between 20% and 90% of the transfer */
    double full_mbit;    /* connected to end of stream */
    double path_mbit[2]; /* payload bytes per path over the steady window */
    bool ok;             /* complete, byte for byte, MPTCP with the subflows wanted */
} gp_result;

static bool gp_count(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    uint64_t *bytes = ctx;
    if (dir == SIM_B2A && p->len >= 20 && p->len > (size_t)(p->data[12] >> 4) * 4)
        *bytes += p->len - (size_t)(p->data[12] >> 4) * 4;
    return true;
}

typedef struct gp_goal {
    sim_flow *f;
    uint64_t bytes;
} gp_goal;

static bool gp_reached(void *arg)
{
    gp_goal *g = arg;
    return g->f->rx.off >= g->bytes || g->f->closed;
}

/* A download of |down| bytes over |n| paths (one path, mptcp false: plain
 * TCP), client 10.0.i.1 to server 10.0.100.1, receive buffer |rcvbuf|. */
static gp_result gp_run(const gp_path *p, int n, bool mptcp, uint32_t rcvbuf, uint64_t down)
{
    gp_result res;
    memset(&res, 0, sizeof(res));
    sim *s = sim_new(7, 1000000);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.mptcp = mptcp;
    cfg.rcvbuf = rcvbuf;
    cfg.sndbuf = 8u << 20;
    sim_host *c = sim_host_new(s, "client", &cfg, 11);
    sim_host *sv = sim_host_new(s, "server", &cfg, 12);
    mptcp_addr sip = ip4(100, 80), cip[2];
    uint64_t bytes[2] = {0, 0};
    sim_mbox_cfg mb[2];
    sim_path path[2];
    for (int i = 0; i < n; i++) {
        cip[i] = ip4((uint8_t)(1 + i), 0);
        sim_path_cfg pc;
        memset(&pc, 0, sizeof(pc));
        pc.ab = sim_link_cfg_make((uint64_t)(p[i].rate_mbit * 1e6), (uint64_t)(p[i].rtt_ms * 1000),
                                  p[i].queue, 0);
        pc.ba = pc.ab;
        memset(&mb[i], 0, sizeof(mb[i]));
        mb[i].hook = gp_count;
        mb[i].hook_ctx = &bytes[i];
        pc.mbox = &mb[i];
        sim_path_new(s, &path[i], sim_host_node(c), &cip[i], sim_host_node(sv), &sip, &pc);
    }
    sim_flow_cfg scfg = {.tx_seed = 5, .tx_bytes = down, .shutdown_when_sent = true,
                         .close_when_done = true};
    sim_flow_cfg ccfg = {.rx_seed = 5, .shutdown_when_sent = true, .close_when_done = true};
    sim_host_listen(sv, &sip, &scfg);
    int err;
    sim_flow *f = sim_host_connect(c, &cip[0], &sip, &ccfg, &err);
    if (!f) {
        sim_free(s);
        return res;
    }
    uint64_t limit = sim_now(s) + 600ull * 1000000;
    if (mptcp && n > 1) {
        /* the second subflow joins as soon as the connection allows */
        while (sim_now(s) < limit) {
            sim_run_until(s, sim_now(s) + 1000);
            mptcp_mp_stats ms;
            if (f->conn && mptcp_conn_get_mp_stats(f->conn, &ms) == 0 && ms.fully_established)
                break;
        }
        if (!f->conn || mptcp_subflow_open(f->conn, &cip[1], &sip, false, sim_now(s)) < 1) {
            sim_free(s);
            return res;
        }
    }
    gp_goal g = {f, down / 5};
    sim_run_while(s, limit, gp_reached, &g);
    uint64_t t0 = sim_now(s), b0 = f->rx.off, p0[2] = {bytes[0], bytes[1]};
    g.bytes = down * 9 / 10;
    sim_run_while(s, limit, gp_reached, &g);
    uint64_t t1 = sim_now(s), b1 = f->rx.off;
    mptcp_mp_stats ms;
    memset(&ms, 0, sizeof(ms));
    if (f->conn)
        mptcp_conn_get_mp_stats(f->conn, &ms);
    unsigned up = f->ev[MPTCP_EV_SUBFLOW_UP];
    g.bytes = down + 1;
    sim_run_while(s, limit, gp_reached, &g);
    if (t1 > t0) {
        res.steady_mbit = (double)(b1 - b0) * 8 / (double)(t1 - t0);
        for (int i = 0; i < n; i++)
            res.path_mbit[i] = (double)(bytes[i] - p0[i]) * 8 / (double)(t1 - t0);
    }
    if (f->t_eof > f->t_connected)
        res.full_mbit = (double)f->rx.off * 8 / (double)(f->t_eof - f->t_connected);
    res.ok = sim_flow_rx_ok(f, down) && f->eof &&
             (!mptcp || (ms.mptcp && !ms.fallback && up == (unsigned)n));
    sim_free(s);
    return res;
}

static void gp_report(const char *name, const gp_path *p, uint32_t rcvbuf, uint64_t down,
                      double target)
{
    double sum = p[0].rate_mbit + p[1].rate_mbit;
    gp_result tcp[2], mp = gp_run(p, 2, true, rcvbuf, down);
    for (int i = 0; i < 2; i++)
        tcp[i] = gp_run(&p[i], 1, false, rcvbuf, down / 2);
    double tcp_sum = tcp[0].steady_mbit + tcp[1].steady_mbit;
    printf("  %s: %.0f Mbit/s %.0f ms + %.0f Mbit/s %.0f ms, queues %u + %u packets, "
           "rcvbuf %u B, %.0f MB\n",
           name, p[0].rate_mbit, p[0].rtt_ms, p[1].rate_mbit, p[1].rtt_ms, p[0].queue, p[1].queue,
           rcvbuf, (double)down / 1e6);
    printf("            aggregate %.2f Mbit/s (paths %.2f + %.2f) = %.1f%% of the %.0f Mbit/s sum "
           "of path rates; whole transfer %.1f%%; %s\n",
           mp.steady_mbit, mp.path_mbit[0], mp.path_mbit[1], 100 * mp.steady_mbit / sum, sum,
           100 * mp.full_mbit / sum, mp.ok ? "ok" : "FAILED");
    printf("            plain TCP alone on each path: %.2f + %.2f Mbit/s; MPTCP = %.1f%% of that "
           "sum\n",
           tcp[0].steady_mbit, tcp[1].steady_mbit,
           tcp_sum > 0 ? 100 * mp.steady_mbit / tcp_sum : 0);
    printf("  target    >= %.0f%% of the sum of path rates: %s (headers cap payload at 94.9%%); "
           ">= %.0f%% of the sum of plain TCP goodputs: %s\n",
           target * 100, mp.ok && mp.steady_mbit >= target * sum ? "met" : "NOT met",
           target * 100, mp.ok && mp.steady_mbit >= target * tcp_sum ? "met" : "NOT met");
}

static void goodput_bench(void)
{
    printf("libmptcp %s bench: MPTCP aggregate goodput in the simulator (simulated time; "
           "steady state = 20%%..90%% of the transfer)\n",
           MPTCP_VERSION_STRING);
    /* Lossless: no random loss, and queues (4000 packets) larger than
     * anything the 4 MiB buffers let into flight, so no packet is dropped. */
    gp_path eq[2] = {{50, 20, 4000}, {50, 20, 4000}};
    gp_report("equal", eq, 4u << 20, 40000000, 0.95);
    /* Rcvbuf twice the larger bandwidth-delay product (20 Mbit/s x 100 ms
     * = 250 kB); queues of about one BDP each. */
    gp_path het[2] = {{20, 10, 50}, {20, 100, 250}};
    gp_report("10/100ms", het, 500000, 20000000, 0.90);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : (1ull << 30); /* 1 GiB */
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (runs < 1 || runs > 20)
        runs = 3;
    queue qab = {calloc(QCAP, sizeof(qpkt)), 0, 0, 0}, qba = {calloc(QCAP, sizeof(qpkt)), 0, 0, 0};
    uint8_t *src = malloc(CHUNK), *dst = malloc(CHUNK);
    if (!qab.q || !qba.q || !src || !dst)
        return 1;
    for (size_t i = 0; i < CHUNK; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    if (argc > 3 && strcmp(argv[3], "tcp") == 0) {
        /* The TCP transfer alone (for perf stat or valgrind: their totals
         * divided by the segments printed here, nothing else in the run). */
        bulk_result t;
        for (int i = 0; i < runs; i++) {
            if (run_bulk(total, &qab, &qba, src, dst, &t, 0) < 0)
                return 1;
            printf("tcp %llu bytes %llu data segments %.3f s %.0f segments/s %s\n",
                   (unsigned long long)total, (unsigned long long)t.data_segs, t.secs,
                   (double)t.data_segs / t.secs, t.got == total ? "ok" : "MISMATCH");
            if (t.got != total)
                return 1;
        }
        return 0;
    }

    /* ------------------------------------------------ bulk transfer, best of N */
    bulk_result r, best;
    double secs[20];
    memset(&best, 0, sizeof(best));
    for (int i = 0; i < runs; i++) {
        if (run_bulk(total, &qab, &qba, src, dst, &r, 0) < 0)
            return 1;
        secs[i] = r.secs;
        if (i == 0 || r.secs < best.secs)
            best = r;
    }
    qsort(secs, (size_t)runs, sizeof(secs[0]), cmp_double);
    double t_stack = best.secs, t_median = secs[runs / 2];
    mptcp_conn_stats cs = best.snd, rs = best.rcv;
    uint64_t got = best.got;
    uint64_t now = 1;
    mptcp_addr aa = ip4(1, 0), ba = ip4(2, 80);

    /* ------------------------------------------------ baseline: memcpy */
    /* Segments that carried data: the sender's count less SYN and FIN;
     * their payload (MSS less the timestamp option) is the baseline's chunk. */
    uint64_t segs = cs.segs_out > 2 ? cs.segs_out - 2 : 1;
    uint32_t mss = (uint32_t)((total + segs - 1) / segs);
    uint8_t *ring = malloc(1 << 20);
    if (!ring)
        return 1;
    volatile uint8_t sink = 0;
    double t_copy = 0;
    for (int k = 0; k < runs; k++) {
        double t1 = now_s();
        for (uint64_t i = 0, off = 0; i < segs; i++) {
            size_t n = total - i * mss < mss ? (size_t)(total - i * mss) : mss;
            memcpy(ring + off, src + (i * 64) % (CHUNK - SEGMAX), n);
            off = (off + n) % ((1 << 20) - SEGMAX);
            sink ^= ring[off / 2];
        }
        double t = now_s() - t1;
        if (k == 0 || t < t_copy)
            t_copy = t;
    }
    (void)sink;

    printf("libmptcp %s bench: %llu bytes one way, two stacks back to back, no loss\n",
           MPTCP_VERSION_STRING, (unsigned long long)total);
    printf("  stack     best of %d: %.3f s  %.0f full-size segments/s  %.1f ns/segment  "
           "%.2f Gbit/s (median %.0f segments/s)\n",
           runs, t_stack, segs / t_stack, t_stack * 1e9 / segs, total * 8 / t_stack / 1e9,
           segs / t_median);
    printf("            %u B per segment; %u segments out, %u ACKs in at the sender; "
           "%llu queue drops\n",
           mss, cs.segs_out, cs.segs_in, (unsigned long long)best.drops);
    printf("  memcpy    best of %d: %.3f s  %.1f ns/segment (same bytes, same chunks)\n", runs,
           t_copy, t_copy * 1e9 / segs);
    printf("  ratio     stack / memcpy = %.1f x\n", t_copy > 0 ? t_stack / t_copy : 0);
    printf("  target    >= 1,000,000 segments/s: %s\n", segs / t_stack >= 1e6 ? "met" : "NOT met");
    printf("  memory    peak %zu B sender + %zu B receiver (%llu + %llu allocations)\n",
           best.peak_a, best.peak_b, (unsigned long long)best.allocs_a,
           (unsigned long long)best.allocs_b);
    printf("  check     %s: %llu of %llu bytes received, retransmissions %u\n",
           got == total && rs.bytes_received == total ? "ok" : "MISMATCH",
           (unsigned long long)got, (unsigned long long)total, cs.retrans_segs);

    /* ------------------------------------------------ MPTCP: CPU per segment */
    /* The same transfer over MPTCP with one and with two subflows, best of
     * N each, against plain TCP's ns per data segment in this run. */
    double ns_tcp = best.data_segs ? t_stack * 1e9 / (double)best.data_segs : 0;
    bulk_result mp_best[3];
    for (int sf = 1; sf <= 2; sf++) {
        memset(&mp_best[sf], 0, sizeof(mp_best[sf]));
        for (int i = 0; i < runs; i++) {
            if (run_bulk(total, &qab, &qba, src, dst, &r, sf) < 0)
                return 1;
            if (i == 0 || r.secs < mp_best[sf].secs)
                mp_best[sf] = r;
        }
    }
    printf("  tcp       %.1f ns per data segment (%llu data segments)\n", ns_tcp,
           (unsigned long long)best.data_segs);
    double ns_mp[3] = {0, 0, 0};
    for (int sf = 1; sf <= 2; sf++) {
        bulk_result *m = &mp_best[sf];
        ns_mp[sf] = m->data_segs ? m->secs * 1e9 / (double)m->data_segs : 0;
        printf("  mptcp     %d subflow%s, best of %d: %.3f s  %.0f segments/s  %.1f ns/segment  "
               "%.2f Gbit/s; %llu data segments, %d subflow%s carried data; %s\n",
               sf, sf > 1 ? "s" : "", runs, m->secs, (double)m->data_segs / m->secs, ns_mp[sf],
               (double)total * 8 / m->secs / 1e9, (unsigned long long)m->data_segs, m->subflows,
               m->subflows == 1 ? "" : "s",
               m->got + 64 >= total && m->subflows == sf ? "ok" : "MISMATCH");
    }
    double cpu_ratio = ns_tcp > 0 ? ns_mp[2] / ns_tcp : 0;
    printf("  ratio     per segment: MPTCP 1 subflow / TCP = %.2f x, MPTCP 2 subflows / TCP = "
           "%.2f x\n",
           ns_tcp > 0 ? ns_mp[1] / ns_tcp : 0, cpu_ratio);
    printf("  target    2 subflows <= 1.3 x TCP per segment: %s\n",
           cpu_ratio > 0 && cpu_ratio <= 1.3 ? "met" : "NOT met");

    /* ------------------------------------------------ MPTCP: aggregate goodput */
    goodput_bench();

    /* ------------------------------------------------ idle connections */
    enum { NCONN = 200 }; /* buffers may be allocated per connection: keep the total modest */
    end c, d;
    end_init(&c, &qab, 3, NCONN + 8);
    end_init(&d, &qba, 4, NCONN + 8);
    mptcp_listen(d.st, &ba);
    size_t c0 = c.cur, d0 = d.cur;
    mptcp_conn *conns[NCONN];
    for (int i = 0; i < NCONN; i++) {
        if (mptcp_connect(c.st, &aa, &ba, now, &conns[i]) < 0) {
            fprintf(stderr, "connect %d failed\n", i);
            return 1;
        }
        deliver(&qab, &d, now);
        deliver(&qba, &c, now);
        deliver(&qab, &d, now);
    }
    now += 1000000;
    timers(&c, now);
    timers(&d, now);
    deliver(&qab, &d, now);
    deliver(&qba, &c, now);
    printf("  idle      %d established connections: %.0f B per connection (client side), "
           "%.0f B (server side); %d accepted\n",
           NCONN, (double)(c.cur - c0) / NCONN, (double)(d.cur - d0) / NCONN, d.accepted);
    /* The rings are one allocation of sndbuf + rcvbuf per connection; the
     * rest is the connection's state (allocator accounting, as the
     * tcp_memory Check suite measures it). */
    mptcp_config dc;
    mptcp_config_init(&dc);
    size_t rings = (size_t)dc.sndbuf + dc.rcvbuf;
    size_t per_c = (c.cur - c0) / NCONN, per_d = (d.cur - d0) / NCONN;
    size_t st_c = per_c > rings ? per_c - rings : 0, st_d = per_d > rings ? per_d - rings : 0;
    printf("  idle      state per idle connection (without buffers): %zu B (client side), "
           "%zu B (server side); rings %zu B\n", st_c, st_d, rings);
    printf("  target    < 512 B state per idle connection (without buffers): %s\n",
           st_c < 512 && st_d < 512 ? "met" : "NOT met");
    mptcp_stack_free(c.st);
    mptcp_stack_free(d.st);
    free(src);
    free(dst);
    free(ring);
    free(qab.q);
    free(qba.q);
    return got == total ? 0 : 1;
}
