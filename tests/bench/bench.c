/*
 * bench.c - `make bench`: the cost of the TCP path of libmptcp, measured as
 * ratios to a baseline taken in the same run. Two stacks in one process are
 * wired back to back (no simulator, no loss, no delay beyond a queue): bulk
 * transfer of full-size segments one way, ACKs back. Printed: segments/s,
 * ns per segment, memcpy of the same bytes (same chunking) in the same run
 * and the ratio, peak memory of both stacks (counting allocator), and the
 * bytes of state per idle established connection.
 * Targets from the project: >= 1,000,000 full-size segments/s on one core,
 * < 512 B of state per idle connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mptcp.h"

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

static void end_init(end *e, queue *out, uint64_t seed, uint32_t max_conns)
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
    mptcp_callbacks cb = {b_send, b_event, b_random, NULL};
    e->st = mptcp_stack_new(&cfg, &cb, e);
    if (!e->st) {
        fprintf(stderr, "mptcp_stack_new failed\n");
        exit(1);
    }
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
    mptcp_conn_stats snd, rcv;
    size_t peak_a, peak_b;
    uint64_t allocs_a, allocs_b, drops;
} bulk_result;

/* One bulk transfer of |total| bytes between two fresh stacks. */
static int run_bulk(uint64_t total, queue *qab, queue *qba, const uint8_t *src, uint8_t *dst,
                    bulk_result *out)
{
    end a, b;
    end_init(&a, qab, 1, 64);
    end_init(&b, qba, 2, 64);
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

    /* ------------------------------------------------ bulk transfer, best of N */
    bulk_result r, best;
    double secs[20];
    memset(&best, 0, sizeof(best));
    for (int i = 0; i < runs; i++) {
        if (run_bulk(total, &qab, &qba, src, dst, &r) < 0)
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
    printf("  target    < 512 B per idle connection: %s\n",
           (c.cur - c0) / NCONN < 512 && (d.cur - d0) / NCONN < 512 ? "met" : "NOT met");
    mptcp_stack_free(c.st);
    mptcp_stack_free(d.st);
    free(src);
    free(dst);
    free(ring);
    free(qab.q);
    free(qba.q);
    return got == total ? 0 : 1;
}
