/*
 * MPTCP scenarios over the simulator (RFC 8684): a client and a server with
 * up to eight addresses each, path i joining client address i to server
 * address i (IPv4, IPv6 or mixed), each path with its own links and
 * middlebox. Subflows over 1..8 paths, a path blackholed mid-transfer,
 * ADD_ADDR / REMOVE_ADDR / MP_PRIO during a transfer, the fallbacks a
 * middlebox causes (MP_CAPABLE stripped from the SYN or the SYN/ACK, MPTCP
 * options stripped from the first data segment, payload rewritten under DSS
 * checksums), MP_FASTCLOSE, the 32-bit DATA_ACK crossing a 2^32 boundary,
 * and aggregate goodput lower bounds. Every transfer is checked byte for
 * byte and by SHA-256; every test ends with the stacks' memory back where
 * it started. Scenarios that do not pass yet (backup-only failover, the
 * third ACK stripped, MP_FASTCLOSE from the server) are drafts in
 * tests/sim/mptcp_drafts/, built by its build-drafts.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"
#include "sim/sim_seg.h"

#define SEC 1000000ull
#define MS 1000ull
#define MAXP 8
#define UP_SEED 11
#define DOWN_SEED 22

typedef struct mpath {
    uint64_t rate_bps;   /* default 20 Mbit/s */
    uint64_t rtt_us;     /* default 20 ms */
    uint32_t queue;      /* default 100 packets */
    uint32_t loss_ppm;
    bool v6;
    bool backup;         /* the client opens it with MP_JOIN B */
    bool no_open;        /* the framework does not open a subflow over it */
    const sim_mbox_cfg *mbox;
} mpath;

typedef struct mscn_opts {
    uint64_t seed;
    int n;                          /* paths (default 1) */
    mpath p[MAXP];
    void (*cfg)(mptcp_config *c);   /* both stacks */
    void (*ccfg)(mptcp_config *c);  /* the client only, after cfg */
    uint32_t rcvbuf, sndbuf;        /* 0: 1 MiB */
    uint64_t c_rx_start_us;         /* the client app reads from then on (0: at once) */
} mscn_opts;

typedef struct mscn mscn;
struct mscn {
    sim *s;
    sim_host *c, *srv;
    mscn_opts o;
    int n;
    mptcp_addr cip[MAXP], sip[MAXP];
    sim_path path[MAXP];
    int sf_id[MAXP];          /* the client's subflow id per path (-1: none) */
    size_t c_mem0, s_mem0;
    mptcp_test_pcap *pcap;
    /* snapshots taken while the connections live */
    mptcp_mp_stats cmp, smp;
    bool have_cmp, have_smp;
    uint8_t max_sf_c, max_sf_s;
    bool watching;
    /* TCP payload bytes per path, counted by a middlebox hook on paths the
     * test gives no middlebox of its own */
    struct pay_ctx {
        struct mscn *x;
        int i;
    } pay_ctx[MAXP];
    uint64_t pay_up[MAXP], pay_down[MAXP];
    uint64_t down;            /* bytes the server sends (tests that need it) */
};

static bool count_payload(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    struct pay_ctx *pc = ctx;
    size_t n = sim_seg_payload_len(p->data, p->len);
    if (dir == SIM_A2B)
        pc->x->pay_up[pc->i] += n;
    else
        pc->x->pay_down[pc->i] += n;
    return true;
}

static mptcp_addr addr_of(bool v6, bool server, int i, uint16_t port)
{
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.port = port;
    if (v6) {
        a.family = MPTCP_AF_INET6;
        a.ip[0] = 0xfd, a.ip[1] = server ? 1 : 0;
        a.ip[7] = (uint8_t)(i + 1);
        a.ip[15] = 1;
    } else {
        a.family = MPTCP_AF_INET;
        a.ip[0] = 10, a.ip[1] = server ? 1 : 0, a.ip[2] = (uint8_t)i, a.ip[3] = 1;
    }
    return a;
}

static sim_elem *path_a_first(sim_path *p)
{
    return p->tap_out ? sim_tap_elem(p->tap_out) : sim_link_elem(p->ab);
}

static sim_elem *path_b_first(sim_path *p)
{
    return p->mbox ? sim_mbox_b2a(p->mbox) : sim_link_elem(p->ba);
}

static void mscn_init(mscn *x, const mscn_opts *o)
{
    memset(x, 0, sizeof(*x));
    x->o = *o;
    x->n = o->n ? o->n : 1;
    uint64_t seed = o->seed ? o->seed : 1;
    x->s = sim_new(seed, 1 * SEC);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.mptcp = true;
    cfg.max_subflows = 7;
    cfg.sndbuf = o->sndbuf ? o->sndbuf : (1u << 20);
    cfg.rcvbuf = o->rcvbuf ? o->rcvbuf : (1u << 20);
    if (o->cfg)
        o->cfg(&cfg);
    mptcp_config scfg = cfg;
    if (o->ccfg)
        o->ccfg(&cfg);
    x->c = sim_host_new(x->s, "client", &cfg, sim_mix64(1000 + seed));
    x->srv = sim_host_new(x->s, "server", &scfg, sim_mix64(2000 + seed));
    const char *pcap = getenv("SCN_PCAP");
    if (pcap && *pcap) {
        char name[256];
        snprintf(name, sizeof(name), "%s.%llu", pcap, (unsigned long long)seed);
        x->pcap = mptcp_test_pcap_open(name);
    }
    for (int i = 0; i < x->n; i++) {
        const mpath *p = &o->p[i];
        x->cip[i] = addr_of(p->v6, false, i, 0);
        x->sip[i] = addr_of(p->v6, true, i, 80);
        sim_path_cfg pc;
        memset(&pc, 0, sizeof(pc));
        pc.ab = sim_link_cfg_make(p->rate_bps ? p->rate_bps : 20000000,
                                  p->rtt_us ? p->rtt_us : 20 * MS, p->queue ? p->queue : 100,
                                  p->loss_ppm);
        pc.ba = pc.ab;
        sim_mbox_cfg counter;
        memset(&counter, 0, sizeof(counter));
        x->pay_ctx[i].x = x;
        x->pay_ctx[i].i = i;
        counter.hook = count_payload;
        counter.hook_ctx = &x->pay_ctx[i];
        pc.mbox = p->mbox ? p->mbox : &counter;
        pc.pcap = x->pcap;
        ck_assert_int_eq(sim_path_new(x->s, &x->path[i], sim_host_node(x->c), &x->cip[i],
                                      sim_host_node(x->srv), &x->sip[i], &pc),
                         0);
        x->sf_id[i] = -1;
    }
    /* After the exact routes: any client address reaches server address i
     * over path i, and server address i answers any client address over it
     * (subflows the path manager opens from another local address). */
    for (int i = 0; i < x->n; i++) {
        ck_assert_int_eq(sim_node_route(sim_host_node(x->c), NULL, &x->sip[i],
                                        path_a_first(&x->path[i])),
                         0);
        ck_assert_int_eq(sim_node_route(sim_host_node(x->srv), &x->sip[i], NULL,
                                        path_b_first(&x->path[i])),
                         0);
    }
    sim_host_mem m;
    sim_host_get_mem(x->c, &m);
    x->c_mem0 = m.cur;
    sim_host_get_mem(x->srv, &m);
    x->s_mem0 = m.cur;
}

static sim_flow *cflow(mscn *x)
{
    return sim_host_flow(x->c, 0);
}

static sim_flow *sflow(mscn *x)
{
    return sim_host_flow(x->srv, 0);
}

static bool both_closed(void *arg)
{
    mscn *x = arg;
    sim_flow *c = cflow(x), *s = sflow(x);
    return c && s && c->closed && s->closed;
}

static void snapshot(mscn *x)
{
    sim_flow *c = cflow(x), *s = sflow(x);
    if (c && c->conn && mptcp_conn_get_mp_stats(c->conn, &x->cmp) == 0) {
        x->have_cmp = true;
        if (x->cmp.n_subflows > x->max_sf_c)
            x->max_sf_c = x->cmp.n_subflows;
    }
    if (s && s->conn && mptcp_conn_get_mp_stats(s->conn, &x->smp) == 0) {
        x->have_smp = true;
        if (x->smp.n_subflows > x->max_sf_s)
            x->max_sf_s = x->smp.n_subflows;
    }
}

/* Every 5 ms of simulated time while a connection lives. */
static void watch(sim *s, void *arg, sim_pkt *p)
{
    (void)p;
    mscn *x = arg;
    snapshot(x);
    sim_flow *c = cflow(x), *sv = sflow(x);
    if ((c && !c->closed) || (sv && !sv->closed) || !sv)
        sim_at(s, sim_now(s) + 5 * MS, watch, x, NULL);
    else
        x->watching = false;
}

static bool mscn_run(mscn *x, uint64_t limit_us, bool (*done)(void *), void *arg)
{
    int r = sim_run_while(x->s, sim_now(x->s) + limit_us, done, arg);
    ck_assert_int_ne(r, -1);
    return r == 1;
}

static bool mem_back(void *arg)
{
    mscn *x = arg;
    sim_host_mem a, b;
    sim_host_get_mem(x->c, &a);
    sim_host_get_mem(x->srv, &b);
    return a.cur == x->c_mem0 && b.cur == x->s_mem0;
}

/* Lets everything settle (TIME_WAIT, and a subflow on a dead path giving
 * up after its retransmission budget: up to 30 simulated minutes), then
 * checks that both stacks gave back all per-connection memory and no API
 * call failed. */
static void mscn_finish(mscn *x)
{
    sim_run_until(x->s, sim_now(x->s) + 120 * SEC);
    sim_run_while(x->s, sim_now(x->s) + 1800 * SEC, mem_back, x);
    sim_host_mem m;
    sim_host_get_mem(x->c, &m);
    ck_assert_msg(m.cur == x->c_mem0, "client memory %zu, was %zu", m.cur, x->c_mem0);
    sim_host_get_mem(x->srv, &m);
    ck_assert_msg(m.cur == x->s_mem0, "server memory %zu, was %zu", m.cur, x->s_mem0);
    ck_assert_uint_eq(sim_host_api_errors(x->c), 0);
    ck_assert_uint_eq(sim_host_api_errors(x->srv), 0);
    sim_free(x->s);
    mptcp_test_pcap_close(x->pcap);
}

/* Listens (any address of each family used) and connects over path 0. */
static void mscn_start(mscn *x, uint64_t up, uint64_t down)
{
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .tx_bytes = down, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = UP_SEED};
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .tx_bytes = up, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = DOWN_SEED,
                       .rx_start_us = x->o.c_rx_start_us};
    bool v4 = false, v6 = false;
    for (int i = 0; i < x->n; i++)
        x->o.p[i].v6 ? (v6 = true) : (v4 = true);
    if (v4)
        ck_assert_int_eq(sim_host_listen(x->srv, &(mptcp_addr){.family = MPTCP_AF_INET, .port = 80},
                                         &sc),
                         0);
    if (v6)
        ck_assert_int_eq(
            sim_host_listen(x->srv, &(mptcp_addr){.family = MPTCP_AF_INET6, .port = 80}, &sc), 0);
    int err;
    ck_assert_ptr_nonnull(sim_host_connect(x->c, &x->cip[0], &x->sip[0], &cc, &err));
    x->sf_id[0] = 0;
    x->watching = true;
    sim_at(x->s, sim_now(x->s) + 1 * MS, watch, x, NULL);
}

static bool client_fully_established(void *arg)
{
    mscn *x = arg;
    sim_flow *c = cflow(x);
    mptcp_mp_stats st;
    return c && c->conn && c->connected && mptcp_conn_get_mp_stats(c->conn, &st) == 0 &&
           st.fully_established && sflow(x) != NULL;
}

/* Opens a subflow over path i from the client. */
static int open_path(mscn *x, int i, bool backup)
{
    sim_flow *c = cflow(x);
    ck_assert_ptr_nonnull(c->conn);
    int id = mptcp_subflow_open(c->conn, &x->cip[i], &x->sip[i], backup, sim_now(x->s));
    ck_assert_msg(id >= 1, "mptcp_subflow_open over path %d: %s", i, mptcp_strerror(id));
    x->sf_id[i] = id;
    return id;
}

/* Waits for the MPTCP connection, then opens a subflow over every other
 * path the options do not exclude. */
/* One path's listener on port 80 and the client's connection over it
 * (server flow |sc|, client flow |cc|). */
static void listen_and_connect(mscn *x, const sim_flow_cfg *sc, const sim_flow_cfg *cc)
{
    ck_assert_int_eq(
        sim_host_listen(x->srv, &(mptcp_addr){.family = MPTCP_AF_INET, .port = 80}, sc), 0);
    int err;
    ck_assert_ptr_nonnull(sim_host_connect(x->c, &x->cip[0], &x->sip[0], cc, &err));
}

/* One path whose middlebox strips the MPTCP options in |strip_mptcp| (a
 * mask of subtypes) from the segments going |dirs| (with |spare|, a second
 * path that is down and that nobody opens a subflow over by itself); the
 * client connects to the server with neither app sending, and after a
 * second both are up. */
static void strip_box_connect_n(mscn *x, sim_mbox_cfg *mb, unsigned dirs, uint16_t strip_mptcp,
                                uint64_t seed, bool spare)
{
    memset(mb, 0, sizeof(*mb));
    mb->dirs = dirs;
    mb->strip_mptcp = strip_mptcp;
    mscn_opts o = {.seed = seed, .n = spare ? 2 : 1};
    o.p[0].mbox = mb;
    o.p[1].no_open = true;
    mscn_init(x, &o);
    if (spare) {
        sim_link_outage(x->s, x->path[1].ab, 0, UINT64_MAX);
        sim_link_outage(x->s, x->path[1].ba, 0, UINT64_MAX);
    }
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .rx_seed = UP_SEED};
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .rx_seed = DOWN_SEED};
    listen_and_connect(x, &sc, &cc);
    x->watching = true; /* snapshots */
    sim_at(x->s, sim_now(x->s) + 1 * MS, watch, x, NULL);
    sim_run_until(x->s, sim_now(x->s) + 1 * SEC);
    ck_assert_ptr_nonnull(sflow(x));
    ck_assert(cflow(x)->connected && sflow(x)->conn != NULL);
}

static void strip_box_connect(mscn *x, sim_mbox_cfg *mb, unsigned dirs, uint16_t strip_mptcp,
                              uint64_t seed)
{
    strip_box_connect_n(x, mb, dirs, strip_mptcp, seed, false);
}

/* The server closes its initial subflow with a FIN under the live
 * connection (3.3.3): first it opens one over the spare path, which stays
 * in its handshake, so that the initial one is not its last (that one
 * would be reset, mptcp_conn_sf_close). */
static void server_fins_initial_subflow(mscn *x)
{
    sim_flow *s = sflow(x);
    ck_assert_int_gt(mptcp_subflow_open(s->conn, &x->sip[1], &x->cip[1], false, sim_now(x->s)), 0);
    int ids[4];
    ck_assert_int_eq(mptcp_conn_subflows(s->conn, ids, 4), 2);
    ck_assert_int_eq(mptcp_subflow_close(s->conn, ids[0], sim_now(x->s)), 0);
}

/* Ends a strip_box_connect scenario: the box did strip options. */
static void finish_stripped(mscn *x)
{
    sim_mbox_stats ms;
    sim_mbox_get_stats(x->path[0].mbox, &ms);
    ck_assert_uint_gt(ms.opts_stripped, 0);
    mscn_finish(x);
}

/* The same, for a scenario that ends both connections with an error. */
static void finish_stripped_in_error(mscn *x)
{
    ck_assert_int_ne(cflow(x)->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_ne(sflow(x)->reason, MPTCP_CLOSE_NORMAL);
    finish_stripped(x);
}

/* A middlebox on the client's segments that rewrites 8 bytes of the upload
 * once, those at stream offset |at| (seeded data, unique in it), and strips
 * the MPTCP options in |strip_mptcp| (a mask of subtypes; 0: none). */
static void rewrite_once_box(sim_mbox_cfg *mb, uint32_t *budget, uint64_t at,
                             uint16_t strip_mptcp)
{
    memset(mb, 0, sizeof(*mb));
    mb->dirs = SIM_A2B;
    mb->strip_mptcp = strip_mptcp;
    mb->pay_len = 8;
    *budget = 1; /* one rewrite in all, whichever path carries the bytes first */
    mb->pay_budget = budget;
    sim_stream_fill(UP_SEED, at, mb->pay_from, 8);
    memcpy(mb->pay_to, mb->pay_from, 8);
    mb->pay_to[3] ^= 0x5a;
    mb->pay_to[4] ^= 0xa5; /* not a 16-bit word swap: the TCP checksum sees it */
}

static void mscn_open_all(mscn *x)
{
    ck_assert_msg(mscn_run(x, 10 * SEC, client_fully_established, x),
                  "MPTCP connection not fully established");
    for (int i = 1; i < x->n; i++)
        if (!x->o.p[i].no_open)
            open_path(x, i, x->o.p[i].backup);
}

/* Byte-for-byte, SHA-256, both sides closed normally. */
static void check_streams(mscn *x, uint64_t up, uint64_t down)
{
    sim_flow *c = cflow(x), *s = sflow(x);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(sim_flow_rx_ok(s, up), "server got %llu bytes, %llu wrong (want %llu)",
                  (unsigned long long)s->rx.off, (unsigned long long)s->rx.errors,
                  (unsigned long long)up);
    ck_assert_msg(sim_flow_rx_ok(c, down), "client got %llu bytes, %llu wrong (want %llu)",
                  (unsigned long long)c->rx.off, (unsigned long long)c->rx.errors,
                  (unsigned long long)down);
    uint8_t a[32], b[32];
    sim_stream_digest(UP_SEED, up, a);
    sim_check_digest(&s->rx, b);
    ck_assert_mem_eq(a, b, 32);
    sim_stream_digest(DOWN_SEED, down, a);
    sim_check_digest(&c->rx, b);
    ck_assert_mem_eq(a, b, 32);
    ck_assert(c->eof && s->eof);
    ck_assert_msg(c->last_err == 0, "client: %s: %s", c->last_err_op,
                  mptcp_strerror(c->last_err));
    ck_assert_msg(s->last_err == 0, "server: %s: %s", s->last_err_op,
                  mptcp_strerror(s->last_err));
}

static void check_normal_close(mscn *x)
{
    ck_assert_int_eq(cflow(x)->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(sflow(x)->reason, MPTCP_CLOSE_NORMAL);
}

/* Payload bytes path i carried server -> client (link ba, after loss). */
static uint64_t path_down_bytes(mscn *x, int i)
{
    sim_link_stats ls;
    sim_link_get_stats(x->path[i].ba, &ls);
    return ls.bytes_out;
}

static uint64_t path_up_bytes(mscn *x, int i)
{
    sim_link_stats ls;
    sim_link_get_stats(x->path[i].ab, &ls);
    return ls.bytes_out;
}

/* Runs until the client has received |bytes| (or |limit_us| passes). */
typedef struct rx_goal {
    mscn *x;
    uint64_t bytes;
} rx_goal;

static bool client_rx_reached(void *arg)
{
    rx_goal *g = arg;
    sim_flow *c = cflow(g->x);
    return c->rx.off >= g->bytes || c->closed;
}

static void run_to_client_rx(mscn *x, uint64_t bytes, uint64_t limit_us)
{
    rx_goal g = {x, bytes};
    ck_assert_msg(mscn_run(x, limit_us, client_rx_reached, &g),
                  "client did not receive %llu bytes (has %llu)", (unsigned long long)bytes,
                  (unsigned long long)cflow(x)->rx.off);
}

/* ---------------------------------------------------------------- option helpers */

/* NOPs out every MPTCP option of a packet (a middlebox that removes what it
 * does not know, keeping the header size), fixing the checksum. */
static int nop_mptcp(sim_pkt *p)
{
    if (!sim_seg_valid(p->data, p->len))
        return 0;
    bool ok = sim_pkt_csum_ok(p);
    int n = 0;
    size_t size;
    int off;
    while ((off = sim_seg_find_opt(p->data, p->len, MPTCP_TCPOPT_MPTCP, -1, &size)) >= 0) {
        memset(p->data + off, 1, size);
        n++;
    }
    if (n)
        sim_pkt_csum_redo(p, ok);
    return n;
}

/* Parses the segment with the library's codec: the first MPTCP option of
 * |form|, if any. */
static bool pkt_find_form(const sim_pkt *p, mptcp_opt_form form, mptcp_opt *out)
{
    mptcp_seg sg;
    if (mptcp_seg_parse(p->data, p->len, &sg) != 0)
        return false;
    for (uint8_t i = 0; i < sg.n_mptcp; i++)
        if (sg.mptcp[i].err == 0 && sg.mptcp[i].opt.form == form) {
            if (out)
                *out = sg.mptcp[i].opt;
            return true;
        }
    return false;
}

/* ---------------------------------------------------------------- subflows */

/* |n| paths; family pattern: 0 all IPv4, 1 all IPv6, 2 alternating from IPv4,
 * 3 alternating from IPv6. 3 MB down and 1 MB up; every path carries data
 * both ways; each side saw n subflows. */
static void n_subflows(int n, int fam, uint64_t seed)
{
    mscn x;
    mscn_opts o = {.seed = seed, .n = n};
    for (int i = 0; i < n; i++)
        o.p[i].v6 = fam == 1 || (fam == 2 && (i & 1)) || (fam == 3 && !(i & 1));
    mscn_init(&x, &o);
    uint64_t up = 1000000, down = 3000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, up, down);
    check_normal_close(&x);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_SUBFLOW_UP], (unsigned)n);
    ck_assert_uint_eq(s->ev[MPTCP_EV_SUBFLOW_UP], (unsigned)n);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert(x.have_cmp && x.have_smp);
    ck_assert(x.cmp.mptcp && !x.cmp.fallback && x.smp.mptcp && !x.smp.fallback);
    ck_assert_uint_eq(x.cmp.joins_out, (unsigned)(n - 1));
    ck_assert_uint_eq(x.smp.joins_in, (unsigned)(n - 1));
    ck_assert_uint_eq(x.smp.join_bad_hmac, 0);
    ck_assert_uint_eq(x.max_sf_c, (unsigned)n);
    ck_assert_uint_eq(x.max_sf_s, (unsigned)n);
    for (int i = 0; i < n; i++) {
        /* more than handshakes and ACKs: at least 20 full segments of data */
        ck_assert_msg(path_down_bytes(&x, i) > 20 * 1500, "path %d carried %llu B down", i,
                      (unsigned long long)path_down_bytes(&x, i));
        ck_assert_msg(path_up_bytes(&x, i) > 20 * 1500, "path %d carried %llu B up", i,
                      (unsigned long long)path_up_bytes(&x, i));
    }
    mscn_finish(&x);
}

START_TEST(subflows_1_to_8_over_ipv4)
{
    n_subflows(_i, 0, 100 + (uint64_t)_i);
}
END_TEST

START_TEST(subflows_2_to_4_over_ipv6)
{
    n_subflows(_i, 1, 200 + (uint64_t)_i);
}
END_TEST

START_TEST(subflows_mixed_ipv4_ipv6)
{
    /* 2..5 paths alternating from IPv4, 2..5 alternating from IPv6 */
    n_subflows(2 + _i / 2, 2 + (_i & 1), 300 + (uint64_t)_i);
}
END_TEST
/* ---------------------------------------------------------------- path failure */

/* Takes path |i| down both ways (a blackhole: nothing arrives, no RST). */
static void blackhole(mscn *x, int i)
{
    sim_link_set_down(x->path[i].ab, true);
    sim_link_set_down(x->path[i].ba, true);
}

/* Three paths; path 1 goes dark after a third of a 6 MB download (and the
 * upload) is through: the data it held is resent on the others and the
 * transfer finishes on paths 0 and 2. */
START_TEST(blackholed_path_mid_transfer_data_finishes_on_the_others)
{
    mscn x;
    mscn_init(&x, &(mscn_opts){.seed = 41, .n = 3});
    uint64_t up = 1500000, down = 6000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    run_to_client_rx(&x, down / 3, 60 * SEC);
    uint64_t before = path_down_bytes(&x, 1);
    ck_assert_msg(before > 50 * 1500, "path 1 carried only %llu B before the failure",
                  (unsigned long long)before);
    blackhole(&x, 1);
    uint64_t t_fail = sim_now(x.s), left = down - cflow(&x)->rx.off;
    uint64_t p0 = path_down_bytes(&x, 0), p2 = path_down_bytes(&x, 2);
    ck_assert_msg(mscn_run(&x, 300 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, up, down);
    check_normal_close(&x);
    /* the rest went over the paths still alive (less what the client
     * already held out of order) */
    ck_assert_uint_ge(path_down_bytes(&x, 0) - p0 + path_down_bytes(&x, 2) - p2, left * 3 / 4);
    /* after the failure path 1 only delivered what was already on its wire */
    sim_link_stats dead;
    sim_link_get_stats(x.path[1].ba, &dead);
    ck_assert_uint_gt(dead.drop_down, 0);
    ck_assert_uint_le(path_down_bytes(&x, 1) - before, 101 * 1500);
    /* the stranded data was reinjected at the data level */
    ck_assert_msg(x.smp.reinjected_bytes > 0, "server reinjected nothing");
    /* The dead subflow still holds bytes the others delivered (it resends
     * them at subflow level): they stayed in the connection's ring until
     * they would have taken the host's room, then went into a ring of the
     * dead subflow's own instead of stalling the stream. */
    ck_assert_uint_ge(x.smp.snd_copied_out, 1);
    /* it did not wait for the whole retransmission budget of the dead one */
    ck_assert_uint_lt(cflow(&x)->t_eof - t_fail, 30 * SEC);
    mscn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- path management */

static void cfg_accept_addrs(mptcp_config *c)
{
    c->add_addr_accept_max = 4;
}

static bool client_has_subflows(void *arg)
{
    rx_goal *g = arg; /* bytes = subflow count wanted */
    sim_flow *c = cflow(g->x);
    mptcp_mp_stats st;
    return c->conn && mptcp_conn_get_mp_stats(c->conn, &st) == 0 && st.n_subflows == g->bytes;
}

static bool both_subflows_up(void *arg)
{
    rx_goal *g = arg; /* bytes = SUBFLOW_UP events wanted on each side */
    return cflow(g->x)->ev[MPTCP_EV_SUBFLOW_UP] == g->bytes &&
           sflow(g->x)->ev[MPTCP_EV_SUBFLOW_UP] == g->bytes;
}

/* One path at first. A third into the download the server announces its
 * second address (ADD_ADDR, with HMAC); the client, which accepts
 * announcements, joins it and the new path carries data. At two thirds the
 * server withdraws it (REMOVE_ADDR): the client closes that subflow and the
 * transfer finishes on path 0. */
START_TEST(add_addr_then_remove_addr_during_transfer)
{
    mscn x;
    mscn_opts o = {.seed = 51, .n = 2, .cfg = cfg_accept_addrs};
    o.p[1].no_open = true;
    mscn_init(&x, &o);
    uint64_t up = 500000, down = 6000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    run_to_client_rx(&x, down / 3, 60 * SEC);
    ck_assert_uint_eq(path_down_bytes(&x, 1), 0);
    int id = mptcp_announce(sflow(&x)->conn, &x.sip[1], sim_now(x.s));
    ck_assert_msg(id >= 1, "mptcp_announce: %s", mptcp_strerror(id));
    rx_goal g = {&x, 2};
    ck_assert_msg(mscn_run(&x, 5 * SEC, both_subflows_up, &g), "no subflow to the address");
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_ADDR_ANNOUNCED], 1);
    ck_assert_uint_eq(c->ev[MPTCP_EV_SUBFLOW_UP], 2);
    ck_assert_uint_eq(s->ev[MPTCP_EV_SUBFLOW_UP], 2);
    mptcp_mp_stats st;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(c->conn, &st), 0);
    ck_assert_uint_eq(st.add_addr_in, 1);
    ck_assert_uint_eq(st.add_addr_bad_hmac, 0);
    run_to_client_rx(&x, down * 2 / 3, 60 * SEC);
    ck_assert_msg(x.pay_down[1] > 100 * 1400, "the announced path carried %llu B",
                  (unsigned long long)x.pay_down[1]);
    ck_assert_int_eq(mptcp_addr_remove(s->conn, (uint8_t)id, sim_now(x.s)), 0);
    g.bytes = 1;
    ck_assert_msg(mscn_run(&x, 5 * SEC, client_has_subflows, &g), "subflow not closed");
    ck_assert_uint_eq(c->ev[MPTCP_EV_ADDR_REMOVED], 1);
    ck_assert_uint_ge(c->ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(c->conn, &st), 0);
    ck_assert_uint_eq(st.rm_addr_in, 1);
    /* from now on no payload on path 1 */
    uint64_t at_rm = x.pay_down[1];
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert_uint_eq(x.pay_down[1], at_rm);
    mscn_finish(&x);
}
END_TEST

/* Two subflows carrying a download. Mid-transfer the client marks subflow
 * 1 as backup (MP_PRIO): the server gets PRIO_CHANGED and stops sending
 * data on it; later the client makes it regular again and it carries data
 * again. */
START_TEST(mp_prio_moves_a_subflow_to_backup_and_back)
{
    mscn x;
    mscn_init(&x, &(mscn_opts){.seed = 53, .n = 2});
    uint64_t up = 0, down = 9000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    run_to_client_rx(&x, down / 4, 60 * SEC);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_uint_gt(path_down_bytes(&x, 1), 50 * 1500);
    ck_assert_int_eq(mptcp_subflow_set_backup(c->conn, x.sf_id[1], true, sim_now(x.s)), 0);
    /* one RTT for MP_PRIO, then in-flight data drains: measure after 300 ms */
    sim_run_until(x.s, sim_now(x.s) + 300 * MS);
    ck_assert_uint_eq(s->ev[MPTCP_EV_PRIO_CHANGED], 1);
    mptcp_mp_stats st;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(s->conn, &st), 0);
    ck_assert_uint_eq(st.prio_in, 1);
    mptcp_subflow_stats ss;
    ck_assert_int_eq(mptcp_subflow_get_stats(s->conn, 1, &ss), 0);
    ck_assert(ss.peer_backup);
    uint64_t b0 = x.pay_down[1], r0 = c->rx.off;
    run_to_client_rx(&x, r0 + down / 4, 60 * SEC);
    uint64_t b1 = x.pay_down[1];
    ck_assert_msg(b1 == b0, "backup subflow carried %llu B while path 0 worked",
                  (unsigned long long)(b1 - b0));
    ck_assert_int_eq(mptcp_subflow_set_backup(c->conn, x.sf_id[1], false, sim_now(x.s)), 0);
    sim_run_until(x.s, sim_now(x.s) + 300 * MS);
    ck_assert_uint_eq(s->ev[MPTCP_EV_PRIO_CHANGED], 2);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert_uint_gt(x.pay_down[1] - b1, 50 * 1400);
    mscn_finish(&x);
}
END_TEST
/* ---------------------------------------------------------------- fallback (RFC 8684 3.7) */

/* A one-shot option stripper: NOPs every MPTCP option of the first segment
 * in direction |dir| that matches |want_payload| and has no SYN. */
typedef struct strip_once {
    unsigned dir;
    bool want_payload;
    int done;
} strip_once;

static bool strip_once_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    strip_once *so = ctx;
    if (so->done || dir != so->dir)
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    bool has_payload = sim_seg_payload_len(p->data, p->len) > 0;
    if ((h.flags & MPTCP_TH_SYN) || (h.flags & MPTCP_TH_RST) || has_payload != so->want_payload)
        return true;
    if (nop_mptcp(p))
        so->done++;
    return true;
}

/* Neither side may believe in MPTCP while the other does not; the byte
 * stream is whole either way. */
static bool uses_mptcp(const mptcp_mp_stats *st)
{
    return st->mptcp && !st->fallback;
}

enum {
    FB_SYN,          /* MP_CAPABLE stripped from the SYN */
    FB_SYNACK,       /* ... from the SYN/ACK */
    FB_THIRD_ACK,    /* every MPTCP option of the third ACK */
    FB_FIRST_DATA_UP,   /* every MPTCP option of the client's first data segment */
    FB_FIRST_DATA_DOWN, /* ... of the server's first data segment */
    FB_N
};

static const char *const fb_name[FB_N] = {"SYN", "SYN/ACK", "third ACK", "first data up",
                                          "first data down"};

static void fallback_case(int which)
{
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    strip_once so = {0};
    switch (which) {
    case FB_SYN:
        mb.dirs = SIM_A2B;
        mb.strip_mptcp = 1u << MPTCP_SUB_CAPABLE;
        mb.strip_syn_only = true;
        break;
    case FB_SYNACK:
        mb.dirs = SIM_B2A;
        mb.strip_mptcp = 1u << MPTCP_SUB_CAPABLE;
        mb.strip_syn_only = true;
        break;
    case FB_THIRD_ACK:
        so.dir = SIM_A2B;
        break;
    case FB_FIRST_DATA_UP:
        so.dir = SIM_A2B;
        so.want_payload = true;
        break;
    case FB_FIRST_DATA_DOWN:
        so.dir = SIM_B2A;
        so.want_payload = true;
        break;
    }
    if (which >= FB_THIRD_ACK) {
        mb.dirs = SIM_BOTH;
        mb.hook = strip_once_hook;
        mb.hook_ctx = &so;
    }
    mscn x;
    mscn_opts o = {.seed = 60 + (uint64_t)which, .n = 1};
    o.p[0].mbox = &mb;
    mscn_init(&x, &o);
    /* the first data goes the way the case needs */
    uint64_t up = which == FB_FIRST_DATA_DOWN ? 0 : 1500000;
    uint64_t down = which == FB_FIRST_DATA_UP ? 0 : 1500000;
    mscn_start(&x, up, down);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "%s: transfer did not finish",
                  fb_name[which]);
    check_streams(&x, up, down);
    check_normal_close(&x);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[0].mbox, &ms);
    if (which <= FB_SYNACK)
        ck_assert_uint_eq(ms.opts_stripped, 1);
    else
        ck_assert_int_eq(so.done, 1);
    ck_assert(x.have_cmp && x.have_smp);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_msg(uses_mptcp(&x.cmp) == uses_mptcp(&x.smp),
                  "%s: client mptcp %d fallback %d, server mptcp %d fallback %d", fb_name[which],
                  x.cmp.mptcp, x.cmp.fallback, x.smp.mptcp, x.smp.fallback);
    switch (which) {
    case FB_SYN:
        /* the server never saw MPTCP; the client fell back at the SYN/ACK */
        ck_assert(!x.smp.mptcp);
        ck_assert(!uses_mptcp(&x.cmp));
        ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
        ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
        break;
    case FB_SYNACK:
        ck_assert(!uses_mptcp(&x.cmp) && !uses_mptcp(&x.smp));
        ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
        break;
    case FB_FIRST_DATA_UP:
    case FB_FIRST_DATA_DOWN:
        /* data without a mapping before any mapping: fall back (3.7) */
        ck_assert(!uses_mptcp(&x.cmp) && !uses_mptcp(&x.smp));
        ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
        ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 1);
        break;
    default:
        /* third ACK: either the connection survives as MPTCP (the client
         * repeats MP_CAPABLE on its first data) or both fall back */
        ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], s->ev[MPTCP_EV_FALLBACK]);
        break;
    }
    mscn_finish(&x);
}

START_TEST(fallback_when_a_middlebox_strips_mptcp)
{
    fallback_case(_i);
}
END_TEST

/* A middlebox strips every DSS both ways and lets MP_CAPABLE through
 * (fuzz/corpus/mptcp_pair/regress-fin-without-dss.bin): the client's only
 * data rides in the MP_CAPABLE data form, so the server takes it with its
 * implicit mapping, but the server's DATA_ACK is stripped and the client
 * falls back on the bare acknowledgment (3.7). Its FIN then carries no DSS:
 * the server must fall back too and end the stream there, not wait for a
 * DATA_FIN forever. With more bytes than the first chunk its next data
 * comes unmapped: no DSS of the client ever reached the server, so that is
 * a fallback too (its bytes continue the MP_CAPABLE mapping), not a mapping
 * error. |up| bytes: one segment, one chunk, several, many; DSS stripped
 * both ways or only from the server's segments. */
static void dss_stripped_case(uint64_t up, unsigned dirs)
{
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.dirs = dirs;
    mb.strip_mptcp = 1u << MPTCP_SUB_DSS;
    mscn x;
    mscn_opts o = {.seed = 70 + up + dirs, .n = 1};
    o.p[0].mbox = &mb;
    mscn_init(&x, &o);
    mscn_start(&x, up, 0);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x),
                  "%llu bytes, dirs %u: transfer did not finish", (unsigned long long)up, dirs);
    check_streams(&x, up, 0);
    check_normal_close(&x);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[0].mbox, &ms);
    ck_assert_uint_gt(ms.opts_stripped, 0);
    ck_assert(x.have_cmp && x.have_smp);
    ck_assert(x.cmp.mptcp && x.cmp.fallback);
    ck_assert(x.smp.mptcp && x.smp.fallback);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 1);
    mscn_finish(&x);
}

START_TEST(fin_without_dss_after_the_peer_fell_back_ends_the_stream)
{
    static const uint64_t up[] = {168, 1000, 20000, 1500000};
    dss_stripped_case(up[_i % 4], _i < 4 ? SIM_BOTH : SIM_B2A);
}
END_TEST

/* A middlebox strips DSS from the client's segments only
 * (fuzz/corpus/mptcp_pair/regress-unmapped-fallback-then-peer-reinjects.bin):
 * the server takes the first chunk with its MP_CAPABLE mapping and falls
 * back on the unmapped bytes after it (3.7), while its DATA_ACKs still
 * reach the client, which DATA_ACKed data never makes fall back. Only the
 * server's infinite mapping, sent at once on a pure ACK, tells the client;
 * without it the client's data level, its DATA_ACK stuck, sent the
 * unacknowledged DSNs again on the only subflow, which the server, reading
 * it linearly, delivered as new bytes. 1,500,000 bytes (the client hears
 * of the fallback before it closes), byte for byte, both sides fall back
 * once and close normally. */
START_TEST(receiver_fallback_on_unmapped_data_reaches_the_sender)
{
    dss_stripped_case(1500000, SIM_A2B);
}
END_TEST

/* A middlebox on path 0 strips DSS from the client's segments, one on path
 * 1 MP_JOIN from the server's SYN/ACKs
 * (fuzz/corpus/mptcp_pair/regress-unused-join-dies-then-peer-falls-back.bin).
 * The client's join dies in its handshake while its first chunk is not yet
 * DATA_ACKed. A subflow that carried nothing lost nothing: its death must not
 * make the client send that chunk again on the initial subflow, where the
 * server, which sees no DSS of the client, takes the unmapped copy for the
 * stream of a peer that fell back and reads the chunk twice. 20,000 bytes
 * byte for byte, both fall back once, normal close. */
START_TEST(unused_join_dies_and_no_chunk_goes_twice_to_a_peer_that_falls_back)
{
    sim_mbox_cfg mb0, mb1;
    memset(&mb0, 0, sizeof(mb0));
    mb0.dirs = SIM_A2B;
    mb0.strip_mptcp = 1u << MPTCP_SUB_DSS;
    memset(&mb1, 0, sizeof(mb1));
    mb1.dirs = SIM_B2A;
    mb1.strip_mptcp = 1u << MPTCP_SUB_JOIN;
    mb1.strip_syn_only = true;
    mscn x;
    mscn_opts o = {.seed = 96, .n = 2};
    o.p[0].mbox = &mb0;
    o.p[1].mbox = &mb1;
    mscn_init(&x, &o);
    uint64_t up = 20000;
    mscn_start(&x, up, 0);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, up, 0);
    check_normal_close(&x);
    ck_assert_uint_eq(x.cmp.reinjected_bytes, 0);
    ck_assert(x.cmp.fallback && x.smp.fallback);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[1].mbox, &ms);
    ck_assert_uint_ge(ms.opts_stripped, 1);
    mscn_finish(&x);
}
END_TEST

/* Two paths, the client connects with neither app sending, opens its join
 * over path 1 and both hold two subflows a second later. */
static void connect_and_join(mscn *x, const mscn_opts *o)
{
    mscn_init(x, o);
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .rx_seed = UP_SEED};
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .rx_seed = DOWN_SEED};
    listen_and_connect(x, &sc, &cc);
    x->watching = true; /* snapshots: a connection may end */
    sim_at(x->s, sim_now(x->s) + 1 * MS, watch, x, NULL);
    mscn_open_all(x);
    sim_run_until(x->s, sim_now(x->s) + 1 * SEC);
    mptcp_mp_stats st;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(sflow(x)->conn, &st), 0);
    ck_assert_uint_eq(st.n_subflows, 2);
}

/* Middleboxes on both paths strip DSS from the client's segments
 * (fuzz/corpus/mptcp_pair/regress-no-fallback-after-a-join.bin). The join
 * comes up (MP_JOIN gets through), then the client sends 20,000 bytes, none
 * of them with a mapping the server sees. Unmapped data on the join resets
 * it; the rest arrives unmapped on the initial subflow, now alone. With a
 * join established the client may have mapped any DSN anywhere (here the
 * join, the shorter path, carried the first ones): those bytes do not
 * continue the server's data level, so no fallback (3.7 "before any
 * additional subflows are added"; Linux clears allow_infinite_fallback
 * once a join is established). Before, the server fell back and delivered
 * the initial subflow's later DSNs as the stream's first bytes. Now it
 * resets that subflow too: no wrong byte, no fallback, both connections
 * end with an error. */
START_TEST(no_fallback_after_a_join_was_established)
{
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.dirs = SIM_A2B;
    mb.strip_mptcp = 1u << MPTCP_SUB_DSS;
    mscn x;
    mscn_opts o = {.seed = 98, .n = 2};
    o.p[0].mbox = &mb;
    o.p[0].rtt_us = 40 * MS;
    o.p[1].mbox = &mb;
    o.p[1].rtt_us = 10 * MS;
    connect_and_join(&x, &o);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    c->cfg.tx_bytes = 20000;
    sim_flow_pump(c);
    ck_assert_uint_eq(c->tx_off, 20000);
    sim_run_until(x.s, sim_now(x.s) + 5 * SEC);
    /* (the last snapshot: the second reset ends the connection) */
    ck_assert(x.have_smp);
    ck_assert_uint_ge(x.smp.map_errors, 1);
    ck_assert_msg(s->rx.errors == 0, "server read %llu wrong bytes of %llu",
                  (unsigned long long)s->rx.errors, (unsigned long long)s->rx.off);
    ck_assert_uint_eq(s->rx.off, 0);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_int_ne(c->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(s->rx.off, 0);
    ck_assert(!s->eof);
    /* The server reset the initial subflow as well: its last one. */
    ck_assert(s->closed);
    ck_assert_int_ne(s->reason, MPTCP_CLOSE_NORMAL);
    mscn_finish(&x);
}
END_TEST

/* A middlebox on path 0 strips DSS from the client's segments; path 1 is
 * clean (fuzz/corpus/mptcp_pair/regress-no-data-ack-after-a-join-resets.bin
 * is the same rule reached through an MP_FAIL whose answer was stripped).
 * The join comes up and is closed again before any byte moves; then the
 * server sends 20,000 bytes on the initial subflow, whose acknowledgments
 * come without DATA_ACK. With a join once established the server must not
 * fall back (3.7), and waiting does not help either: the peer may read the
 * subflow without our mappings, and our data level would resend DSNs on it
 * for want of a DATA_ACK. The server resets the subflow; the client never
 * reads a wrong byte, neither side falls back, and both connections end
 * with an error instead of stalling. */
START_TEST(no_data_ack_after_a_join_resets_the_subflow)
{
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.dirs = SIM_A2B;
    mb.strip_mptcp = 1u << MPTCP_SUB_DSS;
    mscn x;
    mscn_opts o = {.seed = 100, .n = 2};
    o.p[0].mbox = &mb;
    connect_and_join(&x, &o);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    mptcp_mp_stats st;
    ck_assert_int_eq(mptcp_subflow_close(c->conn, x.sf_id[1], sim_now(x.s)), 0);
    sim_run_until(x.s, sim_now(x.s) + 1 * SEC);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(s->conn, &st), 0);
    ck_assert_uint_eq(st.n_subflows, 1);
    s->cfg.tx_bytes = 20000;
    sim_flow_pump(s);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_msg(c->rx.errors == 0, "client read %llu wrong bytes of %llu",
                  (unsigned long long)c->rx.errors, (unsigned long long)c->rx.off);
    ck_assert(!c->eof && !s->eof);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    finish_stripped_in_error(&x);
}
END_TEST

/* A middlebox strips DSS and REMOVE_ADDR from the server's segments
 * (fuzz/corpus/mptcp_pair/regress-eof-after-peer-closed-last-subflow.bin).
 * Neither app sends; the server closes its initial subflow with a FIN that
 * reaches the client bare (server_fins_initial_subflow: its other subflow
 * stays in its handshake) while both apps keep the connection. Then the
 * client sends 2,304 bytes: the server takes them (the client's DSS get
 * through) and its acknowledgments come without DATA_ACK.
 * Falling back now would turn the server's subflow FIN into the end of its
 * stream (3.7), which it never ended (3.3.3): the client must not read an
 * end of stream; the subflow is reset instead and the connection ends with
 * an error on both sides. */
START_TEST(peer_closed_its_subflow_then_bare_ack_is_no_end_of_stream)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect_n(&x, &mb, SIM_B2A,
                        (1u << MPTCP_SUB_DSS) | (1u << MPTCP_SUB_REMOVE_ADDR), 91, true);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    server_fins_initial_subflow(&x);
    sim_run_until(x.s, sim_now(x.s) + 1 * SEC);
    ck_assert(!c->eof && !c->closed && !s->closed);
    c->cfg.tx_bytes = 2304;
    sim_flow_pump(c);
    ck_assert_uint_eq(c->tx_off, 2304);
    sim_run_until(x.s, sim_now(x.s) + 1 * SEC);
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_msg(mscn_run(&x, 600 * SEC, both_closed, &x), "the connection did not end");
    ck_assert(!c->eof);
    ck_assert_uint_eq(c->rx.off, 0);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_msg(sim_flow_rx_ok(s, 2304), "server got %llu bytes, %llu wrong",
                  (unsigned long long)s->rx.off, (unsigned long long)s->rx.errors);
    uint8_t a[32], b[32];
    sim_stream_digest(UP_SEED, 2304, a);
    sim_check_digest(&s->rx, b);
    ck_assert_mem_eq(a, b, 32);
    ck_assert(!s->eof);
    finish_stripped_in_error(&x);
}
END_TEST

/* A middlebox on path 0 strips DSS from the server's segments; path 1 is
 * down (fuzz/corpus/mptcp_pair/regress-peer-closes-subflow-as-we-fall-back.bin).
 * The client sends 1,000 bytes. 12 ms later, the bytes taken, the server
 * opens a subflow over path 1 (its SYN goes nowhere) and closes the initial
 * one with a FIN (3.3.3: not its last subflow). The server's
 * acknowledgment reaches the client without DATA_ACK, so the client falls
 * back (3.7) just before that FIN arrives: the server, in MPTCP mode,
 * closed a subflow, it did not end its stream. The client holds the FIN;
 * its ACK carries the infinite mapping, which the server, its FIN sent,
 * answers with a reset. No end of stream is read, the server got the
 * 1,000 bytes byte for byte, both end with an error. */
START_TEST(peer_fin_waits_for_the_peer_to_learn_of_our_fallback)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect_n(&x, &mb, SIM_B2A, 1u << MPTCP_SUB_DSS, 101, true);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    c->cfg.tx_bytes = 1000;
    sim_flow_pump(c);
    sim_run_until(x.s, sim_now(x.s) + 12 * MS);
    ck_assert_uint_eq(s->rx.off, 1000);
    server_fins_initial_subflow(&x);
    ck_assert_msg(mscn_run(&x, 600 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert(x.have_cmp);
    ck_assert_uint_eq(x.cmp.fin_held, 1);
    ck_assert_uint_eq(c->rx.off, 0);
    ck_assert_msg(sim_flow_rx_ok(s, 1000), "server got %llu bytes, %llu wrong",
                  (unsigned long long)s->rx.off, (unsigned long long)s->rx.errors);
    ck_assert(!s->eof);
    finish_stripped_in_error(&x);
}
END_TEST

/* A middlebox strips DSS from both directions
 * (fuzz/corpus/mptcp_pair/regress-last-subflow-close-is-a-reset.bin). The
 * client sends 81 bytes in the MP_CAPABLE form; the server's
 * acknowledgment comes without DATA_ACK and the client falls back (3.7),
 * but its infinite mapping never reaches the server, which stays in MPTCP
 * mode. Two seconds later the server's host withdraws address ID 0, which
 * closes its last subflow under the live connection (3.3.3). A FIN there
 * would read on the client as the end of a stream the server never ended:
 * it is a reset, so no end of stream; the server got the 81 bytes. */
START_TEST(last_subflow_close_under_a_live_connection_is_a_reset)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect(&x, &mb, SIM_BOTH, 1u << MPTCP_SUB_DSS, 102);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    c->cfg.tx_bytes = 81;
    sim_flow_pump(c);
    sim_run_until(x.s, sim_now(x.s) + 2 * SEC);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(s->rx.off, 81);
    ck_assert_int_eq(mptcp_addr_remove(s->conn, 0, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_msg(sim_flow_rx_ok(s, 81), "server got %llu bytes, %llu wrong",
                  (unsigned long long)s->rx.off, (unsigned long long)s->rx.errors);
    ck_assert_int_ne(c->reason, MPTCP_CLOSE_NORMAL);
    finish_stripped(&x);
}
END_TEST

/* A middlebox strips DSS from the client's segments
 * (fuzz/corpus/mptcp_pair/regress-fin-acked-without-data-ack.bin). Neither
 * app sends; the server closes its initial subflow with a FIN (3.3.3, no
 * DATA_FIN; server_fins_initial_subflow). The client's ACK of that FIN comes
 * without DATA_ACK, but it acknowledges no data of the server's, only the
 * FIN's sequence number: no reason to fall back (3.7: data acknowledged
 * without a DATA_ACK). Falling back, the server turned the subflow into its
 * plain TCP connection and read the client's answering FIN as the end of a
 * stream the client never ended. Neither side falls back nor reads an end
 * of stream; both hosts then close the connection. */
START_TEST(subflow_fin_acked_without_data_ack_is_no_reason_to_fall_back)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect_n(&x, &mb, SIM_A2B, 1u << MPTCP_SUB_DSS, 95, true);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    server_fins_initial_subflow(&x);
    sim_run_until(x.s, sim_now(x.s) + 1 * SEC);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_msg(!s->eof, "server read an end of stream the client never sent");
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_uint_eq(s->rx.off, 0);
    ck_assert_uint_eq(c->rx.off, 0);
    /* A subflow closed, not the connection: both hosts end it. */
    ck_assert(!s->closed && !c->closed);
    ck_assert_int_eq(mptcp_close(c->conn, sim_now(x.s)), 0);
    ck_assert_int_eq(mptcp_close(s->conn, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 600 * SEC, both_closed, &x), "the connection did not end");
    finish_stripped(&x);
}
END_TEST

/* A middlebox strips DSS from the client's segments
 * (fuzz/corpus/mptcp_pair/regress-fallback-onto-a-subflow-being-closed.bin).
 * The server sends 4,096 bytes and at once withdraws its address ID 0: its
 * only subflow is to close once those bytes are acknowledged (the close
 * waits for them), and the client, told by the REMOVE_ADDR, closes its side
 * with a FIN. The client's acknowledgments come without DATA_ACK: §3.7
 * would have the server fall back, but the subflow it would fall back onto
 * is one it is closing, whose FIN and the client's would then read as ends
 * of streams neither host ended (3.3.3). The subflow is reset instead: no
 * fallback, no end of stream, what the client read is the server's prefix
 * byte for byte, and both connections end with an error. */
START_TEST(no_fallback_onto_a_subflow_being_closed)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect(&x, &mb, SIM_A2B, 1u << MPTCP_SUB_DSS, 96);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    s->cfg.tx_bytes = 4096;
    sim_flow_pump(s);
    ck_assert_uint_eq(s->tx_off, 4096);
    ck_assert_int_eq(mptcp_addr_remove(s->conn, 0, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 600 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_msg(!s->eof, "server read an end of stream the client never sent");
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_le(c->rx.off, 4096);
    ck_assert_uint_eq(c->rx.errors, 0);
    ck_assert_uint_eq(s->rx.off, 0);
    finish_stripped_in_error(&x);
}
END_TEST

/* A middlebox strips DSS, REMOVE_ADDR, MP_JOIN and ADD_ADDR from the
 * server's segments (fuzz/corpus/mptcp_pair/regress-fin-before-peer-learns-
 * fallback.bin). The client sends 81 bytes with a DSS mapping and keeps the
 * connection; the server's acknowledgment reaches it without DATA_ACK, so the
 * client falls back (3.7) with nothing left to send. Its infinite mapping
 * must reach the server at once, on a pure ACK ("to inform the other end in
 * case the path drops options in one direction only", 3.7): a server left in
 * MPTCP mode could close its only subflow under the live connection (its
 * host withdraws address ID 0), a FIN the client, fallen back, would read as
 * the end of a stream the server never ended. Fallen back, the server's
 * withdrawal is refused (MPTCP_ESTATE); it then sends 1,000 bytes and both
 * close normally, each stream byte for byte. */
START_TEST(peer_learns_our_fallback_before_it_can_close_the_subflow)
{
    sim_mbox_cfg mb;
    mscn x;
    strip_box_connect(&x, &mb, SIM_B2A,
                      (1u << MPTCP_SUB_DSS) | (1u << MPTCP_SUB_REMOVE_ADDR) |
                          (1u << MPTCP_SUB_JOIN) | (1u << MPTCP_SUB_ADD_ADDR),
                      93);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    c->cfg.tx_bytes = 81;
    sim_flow_pump(c);
    ck_assert_uint_eq(c->tx_off, 81);
    sim_run_until(x.s, sim_now(x.s) + 2400000ull);
    ck_assert_uint_eq(s->rx.off, 81);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    /* The client sent no byte and no FIN since: the infinite mapping came
     * on a pure ACK. */
    ck_assert(!c->shut_sent);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_int_eq(mptcp_addr_remove(s->conn, 0, sim_now(x.s)), MPTCP_ESTATE);
    sim_run_until(x.s, sim_now(x.s) + 1 * SEC);
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert(!c->closed && !s->closed);
    s->cfg.tx_bytes = 1000;
    s->cfg.shutdown_when_sent = true;
    s->cfg.close_when_done = true;
    c->cfg.shutdown_when_sent = true;
    c->cfg.close_when_done = true;
    sim_flow_pump(s);
    sim_flow_pump(c);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "the connection did not end");
    check_streams(&x, 81, 1000);
    check_normal_close(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 1);
    finish_stripped(&x);
}
END_TEST

/* A middlebox rewrites 8 bytes of the client's stream once (an ALG), with
 * DSS checksums negotiated. One subflow: the server detects the bad
 * checksum, sends MP_FAIL and both fall back to TCP (infinite mapping)
 * without delivering the rewritten bytes. Two subflows: the failing
 * subflow is reset and its data finishes on the other, still MPTCP. */
static void cfg_csum(mptcp_config *c)
{
    c->checksum = true;
}

/* With DSS checksums, a middlebox rewrites 8 bytes of the client's first
 * (MP_CAPABLE-mapped) chunk once and strips DSS from the client's segments
 * (fuzz/corpus/mptcp_pair/regress-subflow-fin-after-unanswered-mp-fail.bin).
 * The server's checksum fails: it sends MP_FAIL and discards; the client
 * falls back on it (3.7), but its infinite mapping never arrives, so the
 * server waits in MPTCP mode. Then the server's host withdraws address ID
 * 0: closing that subflow with a FIN would read on the client, plain TCP
 * now, as the end of a stream the server never ended. The subflow is reset
 * instead: no end of stream, no wrong byte, both connections end with an
 * error. */
START_TEST(subflow_close_after_an_unanswered_mp_fail_is_a_reset)
{
    sim_mbox_cfg mb;
    uint32_t budget;
    rewrite_once_box(&mb, &budget, 100, 1u << MPTCP_SUB_DSS);
    mscn x;
    mscn_opts o = {.seed = 94, .n = 1, .cfg = cfg_csum};
    o.p[0].mbox = &mb;
    mscn_init(&x, &o);
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .rx_seed = UP_SEED};
    /* the client sends at once: its first data still carries MP_CAPABLE */
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .tx_bytes = 1000, .rx_seed = DOWN_SEED};
    listen_and_connect(&x, &sc, &cc);
    sim_run_until(x.s, sim_now(x.s) + 3 * SEC);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_ptr_nonnull(s);
    ck_assert(c->connected && s->conn != NULL);
    ck_assert_uint_eq(c->tx_off, 1000);
    mptcp_mp_stats sm;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(s->conn, &sm), 0);
    ck_assert_uint_ge(sm.dss_csum_bad, 1);
    ck_assert_uint_ge(sm.mp_fail_out, 1);
    ck_assert(!sm.fallback);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(s->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_int_eq(mptcp_addr_remove(s->conn, 0, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 600 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_msg(!c->eof, "client read an end of stream the server never sent");
    ck_assert_uint_eq(c->rx.off, 0);
    ck_assert_uint_eq(s->rx.errors, 0);
    ck_assert(!s->eof);
    ck_assert_int_ne(c->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_ne(s->reason, MPTCP_CLOSE_NORMAL);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[0].mbox, &ms);
    ck_assert_uint_eq(ms.payload_rewrites, 1);
    ck_assert_uint_gt(ms.opts_stripped, 0);
    mscn_finish(&x);
}
END_TEST

/* The same, and nobody closes anything: the server acknowledges and
 * discards the client's linear stream, waiting for an infinite mapping the
 * box strips (fuzz/corpus/mptcp_pair/regress-mp-fail-unanswered-stall.bin:
 * the drain stalled, 0 of 32,831 bytes read). As Linux
 * (mptcp_mp_fail_no_response), the subflow is reset when its MP_FAIL has
 * been unanswered for 120 s: both connections end with an error, no byte
 * read wrong, no end of stream. */
START_TEST(unanswered_mp_fail_resets_the_subflow_after_120_s)
{
    sim_mbox_cfg mb;
    uint32_t budget;
    rewrite_once_box(&mb, &budget, 100, 1u << MPTCP_SUB_DSS);
    mscn x;
    mscn_opts o = {.seed = 95, .n = 1, .cfg = cfg_csum};
    o.p[0].mbox = &mb;
    mscn_init(&x, &o);
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .rx_seed = UP_SEED};
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .tx_bytes = 1000, .rx_seed = DOWN_SEED};
    listen_and_connect(&x, &sc, &cc);
    sim_run_until(x.s, sim_now(x.s) + 3 * SEC);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_ptr_nonnull(s);
    mptcp_mp_stats sm;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(s->conn, &sm), 0);
    ck_assert_uint_ge(sm.mp_fail_out, 1);
    ck_assert(!sm.fallback);
    ck_assert_uint_eq(c->ev[MPTCP_EV_FALLBACK], 1);
    uint64_t t_fail = sim_now(x.s);
    /* more of the client's stream, linear now, discarded by the server */
    c->cfg.tx_bytes = 20000;
    sim_flow_pump(c);
    sim_run_until(x.s, t_fail + 110 * SEC);
    ck_assert(!c->closed && !s->closed);
    ck_assert_msg(mscn_run(&x, 300 * SEC, both_closed, &x), "the connection did not end");
    ck_assert_uint_ge(s->t_closed, t_fail + 115 * SEC);
    ck_assert(!c->eof && !s->eof);
    ck_assert_uint_eq(s->rx.off, 0);
    ck_assert_uint_eq(s->rx.errors, 0);
    ck_assert_int_ne(c->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_ne(s->reason, MPTCP_CLOSE_NORMAL);
    mscn_finish(&x);
}
END_TEST

static void payload_rewrite(int n_paths)
{
    sim_mbox_cfg mb;
    uint32_t budget;
    rewrite_once_box(&mb, &budget, 700000, 0);
    mscn x;
    mscn_opts o = {.seed = 70 + (uint64_t)n_paths, .n = n_paths, .cfg = cfg_csum};
    for (int i = 0; i < n_paths; i++) {
        o.p[i].mbox = &mb;
        /* queues that never overflow: the one rewritten copy must reach the
         * DSS checksum, not be dropped (or arrive out of order and have its
         * payload left) because slow start overflowed a queue */
        o.p[i].queue = 2000;
    }
    mscn_init(&x, &o);
    uint64_t up = 2000000, down = 300000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    uint64_t rewrites = 0;
    for (int i = 0; i < n_paths; i++) {
        sim_mbox_stats ms;
        sim_mbox_get_stats(x.path[i].mbox, &ms);
        rewrites += ms.payload_rewrites;
    }
    ck_assert_uint_eq(rewrites, 1);
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert(x.cmp.checksum && x.smp.checksum);
    ck_assert_uint_ge(x.smp.dss_csum_bad, 1);
    ck_assert_uint_ge(x.smp.mp_fail_out + sflow(&x)->ev[MPTCP_EV_MP_FAIL], 1);
    if (n_paths == 1) {
        ck_assert_uint_ge(x.cmp.mp_fail_in, 1);
        ck_assert(x.cmp.fallback && x.smp.fallback);
        ck_assert_uint_eq(cflow(&x)->ev[MPTCP_EV_FALLBACK], 1);
        ck_assert_uint_eq(sflow(&x)->ev[MPTCP_EV_FALLBACK], 1);
    } else {
        ck_assert(uses_mptcp(&x.cmp) && uses_mptcp(&x.smp));
        ck_assert_uint_ge(sflow(&x)->ev[MPTCP_EV_SUBFLOW_DOWN], 1);
        ck_assert_uint_ge(cflow(&x)->ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    }
    mscn_finish(&x);
}

START_TEST(payload_rewrite_with_checksums_one_subflow_falls_back)
{
    payload_rewrite(1);
}
END_TEST

START_TEST(payload_rewrite_with_checksums_two_subflows_resets_one)
{
    payload_rewrite(2);
}
END_TEST

/* An MP_FAIL answered by a fallback leaves no timer behind
 * (fuzz/corpus/mptcp_pair/regress-fallback-after-mp-fail-timer-stuck.bin).
 * One subflow, DSS checksums, a box rewrites 8 bytes of the client's stream
 * once: the server sends MP_FAIL and arms its 120-s no-answer deadline, then
 * both fall back (3.7), the MP_FAIL answered. The deadline must go with
 * it: left armed, 120 s later the stack's next timeout was a deadline the
 * fallen-back step did not look at, so handling never moved it (the
 * simulator reports the stuck timer). Both stay connected and idle for 200 s, then send the
 * rest and close normally, each stream byte for byte. */
START_TEST(fallback_after_our_mp_fail_leaves_no_stuck_timer)
{
    sim_mbox_cfg mb;
    uint32_t budget;
    rewrite_once_box(&mb, &budget, 700000, 0);
    mscn x;
    mscn_opts o = {.seed = 97, .n = 1, .cfg = cfg_csum};
    o.p[0].mbox = &mb;
    o.p[0].queue = 2000;
    mscn_init(&x, &o);
    sim_flow_cfg sc = {.tx_seed = DOWN_SEED, .rx_seed = UP_SEED};
    sim_flow_cfg cc = {.tx_seed = UP_SEED, .rx_seed = DOWN_SEED, .tx_bytes = 800000};
    listen_and_connect(&x, &sc, &cc);
    sim_run_until(x.s, sim_now(x.s) + 20 * SEC);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->rx.off, 800000);
    ck_assert_uint_eq(s->rx.errors, 0);
    mptcp_mp_stats cm, sm;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(c->conn, &cm), 0);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(s->conn, &sm), 0);
    ck_assert_uint_ge(sm.mp_fail_out, 1);
    ck_assert(cm.fallback && sm.fallback);
    /* idle, well past the MP_FAIL's 120 s */
    ck_assert_int_ge(sim_run_until(x.s, sim_now(x.s) + 200 * SEC), 0);
    sim_stats st;
    sim_get_stats(x.s, &st);
    ck_assert_uint_eq(st.stuck_timers, 0);
    ck_assert(!c->closed && !s->closed);
    ck_assert_uint_gt(mptcp_next_timeout(sim_host_stack(x.srv)), sim_now(x.s));
    c->cfg.tx_bytes = 1000000;
    c->cfg.shutdown_when_sent = c->cfg.close_when_done = true;
    s->cfg.tx_bytes = 300000;
    s->cfg.shutdown_when_sent = s->cfg.close_when_done = true;
    sim_flow_pump(c);
    sim_flow_pump(s);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "the connection did not end");
    check_streams(&x, 1000000, 300000);
    check_normal_close(&x);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[0].mbox, &ms);
    ck_assert_uint_eq(ms.payload_rewrites, 1);
    mscn_finish(&x);
}
END_TEST

/* A failed join, then a fallback. Every client segment with payload is
 * lost on path 0 for 6 s, so its first chunk stays queued on the initial
 * subflow; a join over path 1 fails (its SYN/ACK loses MP_JOIN). Its
 * reinjection used to rewind the data-level snd_nxt to snd_una (RFC 8684
 * 3.3.6) while the initial subflow, with no room, still held the chunk; a
 * join that carried nothing no longer does. At 3 s one server segment is rewritten: the client's DSS
 * checksum fails, it sends MP_FAIL, the server answers with the infinite
 * mapping and both fall back (3.7). The client's stream after its subflow
 * queue must go on with the DSN after that queue, not restart at the
 * rewound snd_nxt (it did: the server read the chunk twice, the
 * fuzz/mptcp_pair finding regress-reinject-then-fallback.bin). Byte for
 * byte both ways. */
typedef struct rinj_ctx {
    uint64_t drop_until, rewrite_at;
    unsigned dropped, rewritten;
} rinj_ctx;

static bool rinj_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    rinj_ctx *r = ctx;
    uint64_t now = sim_now(s);
    if (!sim_seg_valid(p->data, p->len))
        return true;
    size_t pay = sim_seg_payload_len(p->data, p->len);
    if (dir == SIM_A2B && pay > 0 && now < r->drop_until) {
        r->dropped++;
        return false;
    }
    if (dir == SIM_B2A && pay >= 8 && now >= r->rewrite_at && r->rewritten == 0) {
        bool ok = sim_pkt_csum_ok(p);
        uint8_t *b = p->data + sim_seg_doff(p->data);
        b[3] ^= 0x5a;
        b[4] ^= 0xa5; /* not a 16-bit word swap: the TCP checksum sees it */
        sim_pkt_csum_redo(p, ok);
        r->rewritten++;
    }
    return true;
}

START_TEST(fallback_after_a_reinjection_sends_each_byte_once)
{
    rinj_ctx rc = {.drop_until = 6 * SEC, .rewrite_at = 3 * SEC};
    sim_mbox_cfg mb0, mb1;
    memset(&mb0, 0, sizeof(mb0));
    mb0.hook = rinj_hook;
    mb0.hook_ctx = &rc;
    memset(&mb1, 0, sizeof(mb1));
    mb1.dirs = SIM_B2A;
    mb1.strip_mptcp = 1u << MPTCP_SUB_JOIN;
    mb1.strip_syn_only = true;
    mscn x;
    mscn_opts o = {.seed = 74, .n = 2, .cfg = cfg_csum};
    o.p[0].mbox = &mb0;
    o.p[0].rate_bps = 1000000; /* the download still runs at 3 s */
    o.p[0].queue = 2000;
    o.p[1].mbox = &mb1;
    mscn_init(&x, &o);
    uint64_t up = 20000, down = 600000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    ck_assert_uint_gt(rc.dropped, 0);
    ck_assert_uint_eq(rc.rewritten, 1);
    sim_mbox_stats ms;
    sim_mbox_get_stats(x.path[1].mbox, &ms);
    ck_assert_uint_ge(ms.opts_stripped, 1);
    check_streams(&x, up, down);
    check_normal_close(&x);
    /* the mechanism: the client sent MP_FAIL and fell back on the server's
     * infinite mapping; the join that died in its handshake carried nothing
     * and no longer rewinds the data level (the rewind with a chunk still
     * queued: mptcp_paths mp_fail_receiver_keeps_the_peers_mappings_until_
     * it_stops_mapping, fuzz/mptcp_pair regress-requeued-chunk-then-
     * fallback.bin) */
    ck_assert_uint_eq(x.cmp.reinjected_bytes, 0);
    ck_assert_uint_ge(x.cmp.dss_csum_bad, 1);
    ck_assert_uint_ge(x.cmp.mp_fail_out, 1);
    ck_assert_uint_ge(x.smp.mp_fail_in, 1);
    ck_assert(x.cmp.fallback && x.smp.fallback);
    ck_assert_uint_eq(cflow(&x)->ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(sflow(&x)->ev[MPTCP_EV_FALLBACK], 1);
    mscn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- MP_FASTCLOSE (3.5) */

typedef struct fc_watch {
    int fastclose_pkts;   /* segments carrying MP_FASTCLOSE */
    uint64_t key;         /* the key it carried */
    int with_rst;
} fc_watch;

static bool fc_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s, (void)dir;
    fc_watch *w = ctx;
    mptcp_opt o;
    if (pkt_find_form(p, MPTCP_OPT_FASTCLOSE, &o)) {
        w->fastclose_pkts++;
        w->key = o.u.fastclose.rcv_key;
        sim_tcp h;
        sim_seg_get(p->data, &h);
        if (h.flags & MPTCP_TH_RST)
            w->with_rst++;
    }
    return true;
}

/* Two subflows carrying a download; the client (_i 0) or the server (_i 1)
 * aborts mid-transfer. MP_FASTCLOSE goes out carrying the peer's key, the
 * peer reports MPTCP_CLOSE_FASTCLOSE, and both stacks free everything. */
START_TEST(mp_fastclose_mid_transfer)
{
    fc_watch w = {0};
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.hook = fc_hook;
    mb.hook_ctx = &w;
    mscn x;
    mscn_opts o = {.seed = 80 + (uint64_t)_i, .n = 2};
    o.p[0].mbox = o.p[1].mbox = &mb;
    mscn_init(&x, &o);
    mscn_start(&x, 2000000, 20000000);
    mscn_open_all(&x);
    run_to_client_rx(&x, 2000000, 60 * SEC);
    sim_flow *c = cflow(&x), *s = sflow(&x);
    sim_flow *ab = _i == 0 ? c : s, *peer = _i == 0 ? s : c;
    mptcp_mp_stats pst;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(peer->conn, &pst), 0);
    ck_assert_uint_eq(pst.n_subflows, 2);
    ck_assert_int_eq(mptcp_abort(ab->conn, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 10 * SEC, both_closed, &x), "peer did not close");
    ck_assert_int_ge(w.fastclose_pkts, 1);
    /* the option carries the receiver's key: its token is the peer's */
    uint32_t tok;
    mptcp_key_derive(1, w.key, &tok, NULL);
    ck_assert_uint_eq(tok, pst.local_token);
    ck_assert_int_eq(ab->reason, MPTCP_CLOSE_ABORTED);
    ck_assert_int_eq(peer->reason, MPTCP_CLOSE_FASTCLOSE);
    /* the peer closed promptly: within a few RTTs, not by timeout */
    ck_assert_uint_lt(peer->t_closed - ab->t_closed, 1 * SEC);
    ck_assert_uint_lt(c->rx.off, 20000000);
    ck_assert_uint_eq(c->rx.errors, 0);
    ck_assert_uint_eq(s->rx.errors, 0);
    mscn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- DSN wrap */

typedef struct key_grab {
    uint64_t server_key;
    bool have;
} key_grab;

static bool key_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    key_grab *k = ctx;
    mptcp_opt o;
    if (dir == SIM_B2A && !k->have && pkt_find_form(p, MPTCP_OPT_MPC_SYNACK, &o)) {
        k->server_key = o.u.mpc.snd_key;
        k->have = true;
    }
    return true;
}

typedef struct dss_watch {
    uint64_t acks32, acks64;
    uint32_t last_ack;
    bool have_ack;
    int ack_wraps;          /* 32-bit DATA_ACKs going from near 2^32 to near 0 */
    uint64_t maps, maps64;
    uint64_t min_dsn, max_dsn_end;
} dss_watch;

typedef struct wrap_ctx {
    key_grab k;
    dss_watch w;
} wrap_ctx;

static bool wrap_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    wrap_ctx *wc = ctx;
    key_hook(&wc->k, s, dir, p);
    mptcp_opt o;
    if (!pkt_find_form(p, MPTCP_OPT_DSS, &o))
        return true;
    dss_watch *w = &wc->w;
    if (dir == SIM_A2B && o.u.dss.has_ack) {
        if (o.u.dss.ack64) {
            w->acks64++;
        } else {
            uint32_t a = (uint32_t)o.u.dss.data_ack;
            w->acks32++;
            if (w->have_ack && w->last_ack > 0xf0000000u && a < 0x10000000u)
                w->ack_wraps++;
            w->last_ack = a;
            w->have_ack = true;
        }
    }
    if (dir == SIM_B2A && o.u.dss.has_map && o.u.dss.data_len) {
        w->maps++;
        if (o.u.dss.dsn64) {
            w->maps64++;
            if (!w->min_dsn || o.u.dss.dsn < w->min_dsn)
                w->min_dsn = o.u.dss.dsn;
            if (o.u.dss.dsn + o.u.dss.data_len > w->max_dsn_end)
                w->max_dsn_end = o.u.dss.dsn + o.u.dss.data_len;
        }
    }
    return true;
}

/* The server's IDSN (low 64 bits of SHA-256 of its key, 3.1) for the
 * scenario seed |seed|: its key is read off the SYN/ACK. */
static uint64_t server_idsn_for(uint64_t seed)
{
    key_grab k = {0};
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.hook = key_hook;
    mb.hook_ctx = &k;
    mscn x;
    mscn_opts o = {.seed = seed, .n = 1};
    o.p[0].mbox = &mb;
    mscn_init(&x, &o);
    mscn_start(&x, 0, 0);
    sim_run_until(x.s, sim_now(x.s) + 100 * MS);
    ck_assert(k.have);
    sim_free(x.s);
    uint64_t idsn;
    mptcp_key_derive(1, k.server_key, NULL, &idsn);
    return idsn;
}

/* Our sender always maps with 64-bit DSNs and acknowledges with 32-bit
 * DATA_ACKs (the choice is the sender's, RFC 8684 3.3). So the 32-bit form
 * that can wrap is the DATA_ACK: the test searches scenario seeds (the keys
 * come from the seeded random callback) for a server IDSN whose low 32 bits
 * lie 2..6 MB below 2^32, then downloads 8 MB: the client's 32-bit
 * DATA_ACKs wrap through zero and the server expands them into the 64-bit
 * space across the 2^32 boundary. */
START_TEST(data_ack_32_bit_form_wraps_at_4_gb)
{
    const uint64_t down = 8000000;
    uint64_t seed = 0, idsn = 0;
    for (uint64_t sd = 1000; sd < 1000 + 20000; sd++) {
        uint64_t i = server_idsn_for(sd);
        uint32_t lo = (uint32_t)(i + 1);
        if (lo >= 0xffffffffu - 6000000u && lo <= 0xffffffffu - 2000000u) {
            seed = sd, idsn = i;
            break;
        }
    }
    ck_assert_msg(seed != 0, "no seed puts the IDSN near a 32-bit wrap");
    wrap_ctx wc;
    memset(&wc, 0, sizeof(wc));
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.hook = wrap_hook;
    mb.hook_ctx = &wc;
    mscn x;
    mscn_opts o = {.seed = seed, .n = 2};
    o.p[0].mbox = o.p[1].mbox = &mb;
    mscn_init(&x, &o);
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, 0, down);
    check_normal_close(&x);
    mptcp_key_derive(1, wc.k.server_key, NULL, &idsn);
    /* the data crossed a 2^32 boundary of the data sequence space */
    ck_assert_uint_eq(wc.w.min_dsn, idsn + 1);
    /* the DATA_FIN takes one more DSN (3.3.3) */
    ck_assert_uint_eq(wc.w.max_dsn_end, idsn + 1 + down + 1);
    ck_assert_uint_ne((idsn + 1) >> 32, (idsn + 1 + down) >> 32);
    ck_assert_uint_gt(wc.w.acks32, 100);
    ck_assert_uint_eq(wc.w.acks64, 0);
    ck_assert_int_ge(wc.w.ack_wraps, 1);
    /* the 64-bit view agrees: the server's data level ended past the wrap */
    ck_assert_uint_eq(x.smp.snd_una >> 32, (idsn + 1 + down) >> 32);
    mscn_finish(&x);
}
END_TEST
/* ---------------------------------------------------------------- aggregate goodput */

/* Downloads |down| over every path and returns the steady-state goodput
 * (application bytes between 20% and 90% of the transfer) as a fraction of
 * the sum of the paths' link rates (IP packets, headers included). */
static double aggregate_ratio(mscn *x, uint64_t down, double *mbit)
{
    mscn_start(x, 0, down);
    mscn_open_all(x);
    run_to_client_rx(x, down / 5, 120 * SEC);
    uint64_t t0 = sim_now(x->s), b0 = cflow(x)->rx.off;
    run_to_client_rx(x, down * 9 / 10, 120 * SEC);
    uint64_t t1 = sim_now(x->s), b1 = cflow(x)->rx.off;
    double gp = (double)(b1 - b0) * 8 / (double)(t1 - t0); /* Mbit/s */
    double sum = 0;
    for (int i = 0; i < x->n; i++)
        sum += (double)sim_link_get_cfg(x->path[i].ba)->rate_bps / 1e6;
    ck_assert_msg(mscn_run(x, 120 * SEC, both_closed, x), "transfer did not finish");
    check_streams(x, 0, down);
    check_normal_close(x);
    if (mbit)
        *mbit = gp;
    return gp / sum;
}

/* Two equal lossless paths (20 Mbit/s, 20 ms, queues that never overflow):
 * the aggregate comes close to the sum. With 1500-byte packets carrying
 * 20 + 20 + 12 (timestamps) + 24 (DSS) bytes of headers, 94.9% is the
 * ceiling; `make bench` prints the measured figure against the 95% target,
 * this asserts a floor (92.6% measured: the start of a 16 MB transfer
 * weighs in). */
START_TEST(goodput_two_equal_paths_near_the_sum)
{
    mscn x;
    mscn_opts o = {.seed = 90, .n = 2, .sndbuf = 4u << 20, .rcvbuf = 1u << 20};
    for (int i = 0; i < 2; i++)
        o.p[i] = (mpath){.rate_bps = 20000000, .rtt_us = 20 * MS, .queue = 2000};
    mscn_init(&x, &o);
    double mbit;
    double r = aggregate_ratio(&x, 16000000, &mbit);
    ck_assert_msg(r >= 0.90, "aggregate %.2f Mbit/s = %.1f%% of 40 Mbit/s", mbit, r * 100);
    mscn_finish(&x);
}
END_TEST

/* 10 ms and 100 ms RTT paths of 20 Mbit/s (queues of 50 and 250 packets),
 * receive buffer twice the larger bandwidth-delay product (2 x 250 kB).
 * The issue's target is 90% of the sum (`make bench` reports it); 78.9%
 * measured here, the floor is what the scheduler must not fall below (the
 * fast path alone would give 50%). */
START_TEST(goodput_10ms_and_100ms_paths_with_2_bdp_buffer)
{
    mscn x;
    mscn_opts o = {.seed = 91, .n = 2, .sndbuf = 4u << 20, .rcvbuf = 500000};
    o.p[0] = (mpath){.rate_bps = 20000000, .rtt_us = 10 * MS, .queue = 50};
    o.p[1] = (mpath){.rate_bps = 20000000, .rtt_us = 100 * MS, .queue = 250};
    mscn_init(&x, &o);
    double mbit;
    double r = aggregate_ratio(&x, 20000000, &mbit);
    ck_assert_msg(r >= 0.70, "aggregate %.2f Mbit/s = %.1f%% of 40 Mbit/s", mbit, r * 100);
    mscn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- receive side */

/*
 * A Linux sender's view of our window (bug B): a segment that acknowledges
 * nothing new and carries no new data may grow a subflow's TCP window but
 * not shrink it (Linux tcp_may_update_window), while its DATA_ACK still
 * moves the data-level edge to DATA_ACK + that window (Linux
 * ack_update_msk). So the sender can go past the data-level edge we offer.
 * This box gives our sender the same view: on the receiver's segments it
 * puts back the subflow's previous window when such a segment would shrink
 * it.
 */
typedef struct stale_wnd {
    struct {
        bool used;
        uint16_t port;
        uint32_t seq, ack;
        uint16_t win;
    } sf[16];
    uint32_t rewritten;
} stale_wnd;

static bool stale_wnd_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    stale_wnd *w = ctx;
    if (dir != SIM_A2B || !sim_seg_valid(p->data, p->len))
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if ((h.flags & (MPTCP_TH_SYN | MPTCP_TH_RST)) || !(h.flags & MPTCP_TH_ACK))
        return true;
    unsigned i = 0;
    while (i < 16 && w->sf[i].used && w->sf[i].port != h.sport)
        i++;
    ck_assert_uint_lt(i, 16);
    uint32_t pay = (uint32_t)sim_seg_payload_len(p->data, p->len);
    if (w->sf[i].used && h.ack == w->sf[i].ack && h.seq == w->sf[i].seq && pay == 0 &&
        h.window < w->sf[i].win && h.window != 0) {
        bool ok = sim_pkt_csum_ok(p);
        h.window = w->sf[i].win;
        sim_seg_put(p->data, &h);
        sim_pkt_csum_redo(p, ok);
        w->rewritten++;
    }
    w->sf[i].used = true;
    w->sf[i].port = h.sport;
    w->sf[i].seq = h.seq + pay;
    w->sf[i].ack = h.ack;
    w->sf[i].win = h.window;
    return true;
}

/* The receiving host reads in bursts: every 40 ms it stops reading for
 * 25 ms, so the connection ring fills and the window moves in steps while
 * the subflows deliver out of order. */
static void bursty_reader(sim *s, void *arg, sim_pkt *p)
{
    (void)p;
    mscn *x = arg;
    sim_flow *c = cflow(x);
    if (c == NULL || c->closed)
        return;
    uint64_t now = sim_now(s);
    if (c->cfg.rx_start_us > now) {
        sim_at(s, c->cfg.rx_start_us, bursty_reader, x, NULL);
        return;
    }
    sim_flow_pump(c); /* reading again: the ring empties, windows reopen */
    sim_at(s, now + 15 * MS, bursty_reader, x, NULL);
}

static void pause_reader(sim *s, void *arg, sim_pkt *p)
{
    (void)p;
    mscn *x = arg;
    sim_flow *c = cflow(x);
    /* Not once every byte is in: the end of stream is read at once (the
     * connection reports CLOSED when it is done and nothing is unread). */
    if (c && !c->closed && c->cfg.rx_start_us <= sim_now(s) && c->rx.off < x->down)
        c->cfg.rx_start_us = sim_now(s) + 25 * MS;
}

/*
 * Bug B (Linux 6.18 interop: ~0.5 MB/s kernel -> library with 2+ subflows,
 * hundreds of MPTCP-level retransmissions): the library acknowledged
 * subflow data, then threw it away at the data level as beyond its window,
 * because each subflow computed its window in its own sequence space (the
 * right edge of a subflow that saw no data for a while, plus the DATA_ACK
 * that other subflows moved, lay past the ring's end), and because a Linux
 * sender keeps a subflow's larger older window. Three paths of different
 * RTTs, a 128 KiB receive ring smaller than the paths' BDP sum, a reader
 * that pauses, the sender seeing windows as Linux does: no byte the
 * receiver's subflows acknowledged is lost (rcv_dropped 0), so the stream
 * completes byte for byte.
 */
START_TEST(receiver_keeps_every_byte_its_subflows_acknowledged)
{
    mscn x;
    mscn_opts o = {.seed = 120 + (uint64_t)_i, .n = 3, .rcvbuf = 128u << 10};
    static const uint64_t rtt[3] = {10 * MS, 30 * MS, 60 * MS};
    stale_wnd sw;
    memset(&sw, 0, sizeof(sw));
    sim_mbox_cfg box[3];
    for (int i = 0; i < 3; i++) {
        memset(&box[i], 0, sizeof(box[i]));
        if (_i == 1) {
            box[i].hook = stale_wnd_hook;
            box[i].hook_ctx = &sw;
        }
        o.p[i] = (mpath){.rate_bps = 20000000, .rtt_us = rtt[i], .queue = 200, .mbox = &box[i]};
    }
    mscn_init(&x, &o);
    uint64_t down = 6000000, up = 20000;
    x.down = down;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    for (uint64_t t = 40 * MS; t < 60 * SEC; t += 40 * MS)
        sim_at(x.s, sim_now(x.s) + t, pause_reader, &x, NULL);
    sim_at(x.s, sim_now(x.s) + 1 * MS, bursty_reader, &x, NULL);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish (client has %llu of %llu)",
                  (unsigned long long)cflow(&x)->rx.off, (unsigned long long)down);
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert(x.have_cmp && x.have_smp);
    ck_assert_uint_eq(x.max_sf_c, 3);
    ck_assert_msg(x.cmp.rcv_dropped == 0, "client dropped %llu acknowledged bytes",
                  (unsigned long long)x.cmp.rcv_dropped);
    /* Every path carried data. (With HyStart++ on per-ACK RTT samples the
     * 10 ms path no longer fills its queue, keeps the lowest SRTT, and the
     * 60 ms path only gets what the two faster ones leave of the 128 KiB
     * window: about 25 segments here, where it got 700+ before.) */
    for (int i = 0; i < 3; i++)
        ck_assert_msg(path_down_bytes(&x, i) > 10 * 1500, "path %d carried %llu B down", i,
                      (unsigned long long)path_down_bytes(&x, i));
    if (_i == 1)
        ck_assert_uint_gt(sw.rewritten, 0); /* the Linux view did differ */
    mscn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- data-level retransmission */

/* Where the DSN of a DSS option starts in |p| (-1: no mapping in it). */
static int dss_dsn_off(const sim_pkt *p, size_t *dsn_len)
{
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, MPTCP_TCPOPT_MPTCP, 2, &olen);
    if (off < 0 || olen < 4)
        return -1;
    uint8_t fl = p->data[off + 3];
    if (!(fl & 0x04))
        return -1; /* M: no mapping */
    size_t at = 4 + ((fl & 0x01) ? ((fl & 0x02) ? 8 : 4) : 0);
    *dsn_len = (fl & 0x08) ? 8 : 4;
    if (at + *dsn_len > olen)
        return -1;
    return off + (int)at;
}

/* A middlebox that only runs |hook| (the data_rtx cases' boxes). */
static sim_mbox_cfg hook_box(bool (*hook)(void *, sim *, unsigned, sim_pkt *), void *ctx)
{
    sim_mbox_cfg mb;
    memset(&mb, 0, sizeof(mb));
    mb.hook = hook;
    mb.hook_ctx = ctx;
    return mb;
}

/* Runs the transfer mscn_start began until both sides closed (within
 * |limit_us|), then checks both streams and that both closed normally. */
static void run_to_close(mscn *x, uint64_t up, uint64_t down, uint64_t limit_us)
{
    ck_assert_msg(mscn_run(x, limit_us, both_closed, x), "transfer did not finish");
    check_streams(x, up, down);
    check_normal_close(x);
}

/* A receiver that takes a mapping at the TCP level and drops it at the data
 * level, as Linux does with data beyond the window it advertised
 * (NoDSSInWindow): the |nth| mapping the server sends on this path gets its
 * DSN moved 2^40 ahead, on every segment that carries it (retransmissions
 * too), so the client's subflow acknowledges the bytes and its data level
 * discards them. Only that (DSN, subflow sequence) pair is touched: the
 * sender's data-level retransmission is a new mapping and passes. */
typedef struct dropmap_ctx {
    unsigned nth, seen;
    bool have;
    uint64_t dsn;
    uint32_t ssn;
    uint64_t last_dsn;
    uint32_t last_ssn;
    unsigned rewritten;
} dropmap_ctx;

static bool dropmap_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    dropmap_ctx *d = ctx;
    mptcp_opt o;
    if (dir != SIM_B2A || sim_seg_payload_len(p->data, p->len) == 0 ||
        !pkt_find_form(p, MPTCP_OPT_DSS, &o) || !o.u.dss.has_map || o.u.dss.data_len == 0)
        return true;
    if (!d->have) {
        if (d->seen == 0 || o.u.dss.dsn != d->last_dsn || o.u.dss.ssn != d->last_ssn) {
            d->seen++;
            d->last_dsn = o.u.dss.dsn;
            d->last_ssn = o.u.dss.ssn;
        }
        if (d->seen < d->nth)
            return true;
        d->have = true;
        d->dsn = o.u.dss.dsn;
        d->ssn = o.u.dss.ssn;
    }
    if (o.u.dss.dsn != d->dsn || o.u.dss.ssn != d->ssn)
        return true;
    size_t dl;
    int off = dss_dsn_off(p, &dl);
    ck_assert_int_ge(off, 0);
    ck_assert_uint_eq(dl, 8); /* we always send 64-bit DSNs */
    bool ok = sim_pkt_csum_ok(p);
    uint64_t v = d->dsn + (1ull << 40);
    for (int i = 0; i < 8; i++)
        p->data[off + i] = (uint8_t)(v >> (56 - 8 * i));
    sim_pkt_csum_redo(p, ok);
    d->rewritten++;
    return true;
}

/* Two paths, a 3 MB download. One mapping on path 1 is acknowledged by the
 * client's subflow but dropped by its data level; no subflow will ever send
 * it again, so only the server's data-level retransmission timer (RFC 8684
 * 3.3.6) can fill the hole. The stream arrives byte for byte. */
START_TEST(mapping_dropped_at_the_data_level_is_retransmitted)
{
    dropmap_ctx dc;
    memset(&dc, 0, sizeof(dc));
    dc.nth = 30;
    sim_mbox_cfg mb = hook_box(dropmap_hook, &dc);
    mscn x;
    mscn_opts o = {.seed = 61, .n = 2};
    o.p[1].mbox = &mb;
    mscn_init(&x, &o);
    uint64_t up = 200000, down = 3000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    run_to_close(&x, up, down, 60 * SEC);
    ck_assert_msg(dc.have && dc.rewritten >= 1, "no mapping rewritten (%u seen)", dc.seen);
    /* the hole was filled by the data-level timer, not by TCP */
    ck_assert_uint_ge(x.smp.data_rtos, 1);
    ck_assert_uint_gt(x.smp.reinjected_bytes, 0);
    ck_assert_uint_eq(x.cmp.map_errors + x.smp.map_errors, 0);
    /* and quickly: a few data RTOs, not a stall */
    ck_assert_uint_lt(cflow(&x)->t_eof, 20 * SEC);
    mscn_finish(&x);
}
END_TEST

/*
 * How Linux ends a stream (bugs G and C): the last mapping first goes out
 * without the DATA_FIN ({DSN, SSN, len}); once the DATA_FIN is due, it goes
 * alone (SSN 0, length 1) and what is left of that mapping, retransmissions
 * included, carries {DSN, SSN, len + 1, F} (row 13, frames 7141-7152). Our
 * sender sends the DATA_FIN alone after the data; this box, on the
 * sender's (B) side of a path, drops the segment that ends the stream once
 * when its mapping spans several segments, and gives its TCP
 * retransmission (after the DATA_FIN) the mapping Linux would use.
 */
typedef struct fin_remap {
    struct {
        uint16_t sport, dport;
        uint32_t isn;
        /* the last mapping this flow carried: a chunk's later segments
         * carry none (RFC 8684 3.3.1) and lie inside it */
        bool have_map;
        uint64_t dsn;
        uint32_t ssn;
        uint16_t dlen;
    } f[16];
    unsigned n;
    bool have_base;
    uint64_t base;  /* DSN of the stream's first byte (the mapping at SSN 1) */
    uint64_t down;  /* stream length */
    uint32_t rewritten, dropped;
} fin_remap;

static bool fin_remap_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    fin_remap *fr = ctx;
    if (dir != SIM_B2A || !sim_seg_valid(p->data, p->len))
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if ((h.flags & MPTCP_TH_SYN) && (h.flags & MPTCP_TH_ACK)) {
        ck_assert_uint_lt(fr->n, 16);
        fr->f[fr->n].sport = h.sport;
        fr->f[fr->n].dport = h.dport;
        fr->f[fr->n++].isn = h.seq;
        return true;
    }
    uint32_t pay = (uint32_t)sim_seg_payload_len(p->data, p->len);
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, MPTCP_TCPOPT_MPTCP, 2 /* DSS */, &olen);
    if (pay == 0 || off < 0)
        return true;
    uint8_t *o = p->data + off;
    uint8_t fl = o[3];
    unsigned fi = fr->n;
    for (unsigned i = 0; i < fr->n; i++)
        if (fr->f[i].sport == h.sport && fr->f[i].dport == h.dport)
            fi = i;
    if (fi == fr->n || (fl & 0x10) || ((fl & 0x04) && !(fl & 0x08)))
        return true; /* unknown flow, a DATA_FIN, or a 4-byte DSN (ours are 8) */
    uint32_t rel = h.seq - fr->f[fi].isn;
    size_t at = 4 + ((fl & 0x01) ? ((fl & 0x02) ? 8 : 4) : 0);
    if (fl & 0x04) {
        ck_assert_uint_le(at + 14, olen);
        uint64_t mdsn = 0;
        for (int k = 0; k < 8; k++)
            mdsn = mdsn << 8 | o[at + (size_t)k];
        fr->f[fi].have_map = true;
        fr->f[fi].dsn = mdsn;
        fr->f[fi].ssn = (uint32_t)o[at + 8] << 24 | (uint32_t)o[at + 9] << 16 |
                        (uint32_t)o[at + 10] << 8 | o[at + 11];
        fr->f[fi].dlen = (uint16_t)(o[at + 12] << 8 | o[at + 13]);
    } else if (!fr->f[fi].have_map || (int32_t)(rel - fr->f[fi].ssn) < 0 ||
               (int32_t)(rel + pay - (fr->f[fi].ssn + fr->f[fi].dlen)) > 0) {
        return true; /* not inside the flow's last mapping */
    }
    uint64_t dsn = fr->f[fi].dsn;
    uint32_t ssn = fr->f[fi].ssn;
    uint16_t dlen = fr->f[fi].dlen;
    if (!fr->have_base && ssn == 1) {
        fr->have_base = true;
        fr->base = dsn;
    }
    if (!fr->have_base || rel == ssn || dsn + (rel - ssn) + pay != fr->base + fr->down ||
        rel + pay != ssn + dlen)
        return true; /* not the last segment of the stream's last mapping */
    if (fr->dropped == 0) {
        fr->dropped++;
        return false;
    }
    if (!(fl & 0x04))
        return true; /* the retransmission carries the mapping: rewritten there */
    at += 8;
    bool ok = sim_pkt_csum_ok(p);
    o[3] = (uint8_t)(fl | 0x10);
    dlen++;
    o[at + 4] = (uint8_t)(dlen >> 8);
    o[at + 5] = (uint8_t)dlen;
    sim_pkt_csum_redo(p, ok);
    fr->rewritten++;
    return true;
}

/*
 * Bug C (Linux interop row 13): the kernel withdrew the address of our
 * second subflow mid-transfer (REMOVE_ADDR, we close that subflow while data
 * is in flight on it), then ended the stream on the remaining subflow with
 * the rest of its last mapping re-sent as {DSN, SSN, len + 1, F}. The
 * library took that for a changed mapping, reset its last subflow and
 * reported ABORTED 1040 bytes short. Here: the server removes the address
 * path 1 reached; path 0 carries the end of the stream the Linux way. The
 * stream completes byte for byte and both sides close normally, with no
 * mapping error.
 */
START_TEST(remove_addr_then_data_fin_on_a_resent_mapping)
{
    mscn x;
    fin_remap fr;
    memset(&fr, 0, sizeof(fr));
    sim_mbox_cfg box0;
    memset(&box0, 0, sizeof(box0));
    box0.hook = fin_remap_hook;
    box0.hook_ctx = &fr;
    mscn_opts o = {.seed = 130, .n = 2};
    o.p[0].mbox = &box0;
    mscn_init(&x, &o);
    uint64_t up = 20000, down = 2990000;
    fr.down = down;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    run_to_client_rx(&x, down / 2, 60 * SEC);
    sim_flow *c = cflow(&x), *sv = sflow(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_SUBFLOW_UP], 2);
    int ids[8];
    ck_assert_int_eq(mptcp_conn_subflows(sv->conn, ids, 8), 2);
    mptcp_subflow_stats ss;
    uint8_t rm_id = 0;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(mptcp_subflow_get_stats(sv->conn, ids[i], &ss), 0);
        if (ss.join)
            rm_id = ss.local_id;
    }
    ck_assert_uint_ne(rm_id, 0);
    ck_assert_int_eq(mptcp_addr_remove(sv->conn, rm_id, sim_now(x.s)), 0);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish (client has %llu)",
                  (unsigned long long)c->rx.off);
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert_uint_eq(c->ev[MPTCP_EV_ADDR_REMOVED], 1);
    ck_assert_uint_eq(x.cmp.rm_addr_in, 1);
    ck_assert_uint_eq(x.cmp.map_errors, 0);
    ck_assert_uint_eq(x.cmp.rcv_dropped, 0);
    /* The Linux shape really happened. */
    ck_assert_uint_eq(fr.dropped, 1);
    ck_assert_uint_gt(fr.rewritten, 0);
    mscn_finish(&x);
}
END_TEST

/*
 * RFC 8684 3.3.1: a mapping covers a chunk of several segments and rides on
 * the chunk's first segment only; the others carry a DATA_ACK alone. This
 * box, on the server's side of a path, checks each data segment the server
 * sends: one without a mapping must lie inside a mapping its subflow sent
 * before (one of its last 32), and a retransmission must carry a mapping (the segment that carried
 * it may be the one lost). It also upsets the segments that carry a
 * multi-segment chunk's mapping: of one in |every|, alternately, one is
 * dropped (its chunk's later segments arrive without any mapping) and the
 * other held back |delay_us| so that the chunk's later segments overtake
 * it; |limit| of them in all.
 */
typedef struct chunkmap_ctx {
    mscn *x;
    int path;
    unsigned every, limit;
    uint64_t delay_us;
    struct {
        uint16_t sport, dport;
        uint32_t isn, high;
        uint32_t n_map;      /* mappings seen; the last 32 are kept */
        uint32_t ssn[32];
        uint16_t dlen[32];
    } f[8];
    unsigned n;
    unsigned mapped, unmapped, chunk_starts, dropped, delayed;
    unsigned outside, rexmit_unmapped;
} chunkmap_ctx;

static void chunkmap_release(sim *s, void *arg, sim_pkt *p)
{
    sim_forward(s, arg, p);
}

static bool chunkmap_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    chunkmap_ctx *cm = ctx;
    if (dir != SIM_B2A || !sim_seg_valid(p->data, p->len))
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (h.flags & MPTCP_TH_SYN) {
        ck_assert_uint_lt(cm->n, 8);
        cm->f[cm->n].sport = h.sport;
        cm->f[cm->n].dport = h.dport;
        cm->f[cm->n].isn = h.seq;
        cm->f[cm->n++].high = h.seq + 1;
        return true;
    }
    uint32_t pay = (uint32_t)sim_seg_payload_len(p->data, p->len);
    mptcp_opt o;
    if (pay == 0 || !pkt_find_form(p, MPTCP_OPT_DSS, &o))
        return true;
    unsigned fi = cm->n;
    for (unsigned i = 0; i < cm->n; i++)
        if (cm->f[i].sport == h.sport && cm->f[i].dport == h.dport)
            fi = i;
    ck_assert_uint_lt(fi, cm->n);
    uint32_t rel = h.seq - cm->f[fi].isn;
    bool rexmit = (int32_t)(h.seq - cm->f[fi].high) < 0;
    if ((int32_t)(h.seq + pay - cm->f[fi].high) > 0)
        cm->f[fi].high = h.seq + pay;
    if (!o.u.dss.has_map) {
        cm->unmapped++;
        if (rexmit)
            cm->rexmit_unmapped++;
        bool in = false;
        for (uint32_t k = 0; k < cm->f[fi].n_map && k < 32; k++)
            in |= (int32_t)(rel - cm->f[fi].ssn[k]) >= 0 &&
                  (int32_t)(rel + pay - (cm->f[fi].ssn[k] + cm->f[fi].dlen[k])) <= 0;
        cm->outside += !in;
        return true;
    }
    cm->mapped++;
    if (o.u.dss.data_len == 0)
        return true;
    cm->f[fi].ssn[cm->f[fi].n_map % 32] = o.u.dss.ssn;
    cm->f[fi].dlen[cm->f[fi].n_map % 32] = o.u.dss.data_len;
    cm->f[fi].n_map++;
    if (rexmit || o.u.dss.ssn != rel || o.u.dss.data_len <= pay + 1)
        return true; /* not the first sending of a multi-segment chunk's start */
    cm->chunk_starts++;
    if (cm->chunk_starts % cm->every != 0 || cm->dropped + cm->delayed >= cm->limit)
        return true;
    if ((cm->chunk_starts / cm->every) % 2 == 0) {
        cm->dropped++;
        return false;
    }
    cm->delayed++;
    sim_pkt *q = sim_pkt_clone(s, p);
    sim_at(s, sim_now(s) + cm->delay_us, chunkmap_release, sim_link_elem(cm->x->path[cm->path].ba),
           q);
    return false;
}

/* Two paths, a 3 MB download and 200 KB up. The segments of a chunk after
 * its first carry no mapping; on both paths, some chunks lose the segment with
 * their mapping and others get theirs after the rest of the chunk (their
 * later segments wait in the subflow's out-of-order queue as TCP data).
 * The streams arrive byte for byte, with no mapping error, nothing dropped
 * at the data level, a normal close. |_i| 1: with DSS checksums, where
 * every segment carries its mapping. */
START_TEST(chunk_mapping_on_its_first_segment_survives_its_loss_and_reorder)
{
    mscn x;
    chunkmap_ctx cm[2];
    sim_mbox_cfg box[2];
    mscn_opts o = {.seed = 140 + (uint64_t)_i, .n = 2};
    if (_i == 1)
        o.cfg = cfg_csum;
    for (int i = 0; i < 2; i++) {
        memset(&cm[i], 0, sizeof(cm[i]));
        cm[i].x = &x;
        cm[i].path = i;
        cm[i].every = 3;
        cm[i].limit = 40;
        cm[i].delay_us = 3 * MS;
        memset(&box[i], 0, sizeof(box[i]));
        box[i].hook = chunkmap_hook;
        box[i].hook_ctx = &cm[i];
        o.p[i].mbox = &box[i];
    }
    mscn_init(&x, &o);
    uint64_t up = 200000, down = 3000000;
    mscn_start(&x, up, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 120 * SEC, both_closed, &x), "transfer did not finish (client has %llu)",
                  (unsigned long long)cflow(&x)->rx.off);
    check_streams(&x, up, down);
    check_normal_close(&x);
    ck_assert_uint_eq(x.cmp.map_errors + x.smp.map_errors, 0);
    ck_assert_uint_eq(x.cmp.rcv_dropped, 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_gt(cm[i].mapped, 30);
        ck_assert_uint_eq(cm[i].outside, 0);
        ck_assert_uint_eq(cm[i].rexmit_unmapped, 0);
        if (_i == 1)
            ck_assert_uint_eq(cm[i].unmapped, 0);
        else
            ck_assert_uint_gt(cm[i].unmapped, cm[i].mapped);
    }
    ck_assert_uint_ge(cm[0].dropped + cm[1].dropped, 10);
    ck_assert_uint_ge(cm[0].delayed + cm[1].delayed, 10);
    mscn_finish(&x);
}
END_TEST

/* A peer that DATA_ACKs late: for |len_us| from |from_us| the client's pure
 * ACKs lose their MPTCP options (the TCP ACKs still arrive, the DATA_ACKs
 * do not). */
typedef struct lateack_ctx {
    uint64_t from_us, len_us;
    unsigned stripped;
} lateack_ctx;

static bool lateack_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    lateack_ctx *l = ctx;
    uint64_t now = sim_now(s);
    if (dir != SIM_A2B || now < l->from_us || now >= l->from_us + l->len_us ||
        !sim_seg_valid(p->data, p->len) || sim_seg_payload_len(p->data, p->len) != 0)
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (h.flags & (MPTCP_TH_SYN | MPTCP_TH_FIN | MPTCP_TH_RST))
        return true;
    l->stripped += (unsigned)nop_mptcp(p);
    return true;
}

/* Two paths, a 2 MB download; for 1.5 s in the middle the server gets the
 * client's TCP ACKs without DATA_ACKs. Its subflows are acknowledged, the
 * data level is not: the data-level timer fires (and backs off) and resends
 * the oldest bytes, which the client already holds and drops as old; when
 * DATA_ACKs come back the transfer finishes, byte for byte. */
START_TEST(late_data_acks_fire_the_data_level_timer_and_the_transfer_finishes)
{
    lateack_ctx lc = {.from_us = 2 * SEC, .len_us = 1500 * MS};
    sim_mbox_cfg mb = hook_box(lateack_hook, &lc);
    mscn x;
    mscn_opts o = {.seed = 62, .n = 2, .rcvbuf = 256u << 10};
    o.p[0].mbox = o.p[1].mbox = &mb;
    o.p[0].rate_bps = o.p[1].rate_bps = 4000000;
    mscn_init(&x, &o);
    uint64_t down = 2000000;
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    run_to_close(&x, 0, down, 120 * SEC);
    ck_assert_uint_gt(lc.stripped, 10);
    ck_assert_uint_ge(x.smp.data_rtos, 1);
    ck_assert_uint_lt(cflow(&x)->t_eof, 30 * SEC);
    mscn_finish(&x);
}
END_TEST

/* Drops everything the client sends for |len_us| from |from_us|. */
typedef struct outage_ctx {
    uint64_t from_us, len_us;
    unsigned dropped;
} outage_ctx;

static bool outage_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)p;
    outage_ctx *oc = ctx;
    uint64_t now = sim_now(s);
    if (dir == SIM_A2B && now >= oc->from_us && now < oc->from_us + oc->len_us) {
        oc->dropped++;
        return false;
    }
    return true;
}

/* Zero window at the data level (RFC 8684 3.3.4): the client does not read
 * for 3 s, so its connection window (about 64 KiB) closes; the window
 * updates it sends when it starts reading are lost. The server must ask (a
 * probe while the data-level window is 0, or less than a segment while more
 * waits: it sends nothing into such a window) rather than wait forever, and
 * it never sends a byte beyond the right edge meanwhile (every DSS mapping
 * the client got lay inside the window it advertised: the client counts no
 * map error and takes every byte). |_i| picks the buffer: what is left of
 * the window when the sender stops differs (64 KiB - 1000 left 480 bytes
 * with a mapping on every segment, and the transfer stalled). */
START_TEST(data_level_zero_window_is_probed_after_a_lost_window_update)
{
    outage_ctx oc = {.from_us = 3 * SEC, .len_us = 400 * MS};
    sim_mbox_cfg mb = hook_box(outage_hook, &oc);
    mscn x;
    static const uint32_t rcvbuf[] = {64u << 10, (64u << 10) - 1000, (64u << 10) + 700};
    mscn_opts o = {.seed = 63, .n = 2, .rcvbuf = rcvbuf[_i], .c_rx_start_us = 3 * SEC};
    o.p[0].mbox = o.p[1].mbox = &mb;
    mscn_init(&x, &o);
    uint64_t down = 600000;
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    run_to_close(&x, 0, down, 120 * SEC);
    ck_assert_uint_gt(oc.dropped, 0);
    ck_assert_uint_eq(x.cmp.map_errors, 0);
    /* the stall after the lost updates ended by probing, within seconds */
    ck_assert_uint_gt(cflow(&x)->t_eof, 3 * SEC);
    ck_assert_uint_lt(cflow(&x)->t_eof, 15 * SEC);
    mscn_finish(&x);
}
END_TEST

/* Linux echoes ADD_ADDR on a pure ACK of its own, without DSS. This box
 * makes our client do the same: the DSS of every client pure ACK that
 * carries an ADD_ADDR echo is NOPed. */
typedef struct echo_nodss_ctx {
    bool armed;        /* the announcement is under way */
    unsigned dropped;  /* client ACKs dropped before the echo */
    unsigned done;
} echo_nodss_ctx;

static bool echo_nodss_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    echo_nodss_ctx *e = ctx;
    size_t olen;
    if (dir != SIM_A2B || !sim_seg_valid(p->data, p->len) ||
        sim_seg_payload_len(p->data, p->len) != 0)
        return true;
    if (sim_seg_find_opt(p->data, p->len, MPTCP_TCPOPT_MPTCP, 3, &olen) < 0) {
        /* Until the echo: the client's other ACKs are lost, so that the
         * echo acknowledges new data (as Linux's did in the capture). */
        if (e->armed && e->done == 0) {
            e->dropped++;
            return false;
        }
        return true;
    }
    int off = sim_seg_find_opt(p->data, p->len, MPTCP_TCPOPT_MPTCP, 2, &olen);
    if (off < 0)
        return true;
    bool ok = sim_pkt_csum_ok(p);
    memset(p->data + off, 1, olen);
    sim_pkt_csum_redo(p, ok);
    e->done++;
    return true;
}

static void cfg_refuse_addrs(mptcp_config *c)
{
    c->add_addr_accept_max = 0;
}

/* One subflow, a download; mid-transfer the server announces a second
 * address and the client's echo arrives on an ACK of new data without any
 * DATA_ACK (the form Linux sends). The server already had DATA_ACKs, so
 * this is no middlebox stripping MPTCP (RFC 8684 3.7): it must not fall
 * back (it did, and Linux then saw data without DSS and fell back on DSS
 * corruption). */
START_TEST(add_addr_echo_without_dss_is_no_reason_to_fall_back)
{
    echo_nodss_ctx ec;
    memset(&ec, 0, sizeof(ec));
    sim_mbox_cfg mb = hook_box(echo_nodss_hook, &ec);
    mscn x;
    mscn_opts o = {.seed = 64, .n = 2, .cfg = cfg_refuse_addrs};
    o.p[0].mbox = &mb;
    o.p[1].no_open = true;
    mscn_init(&x, &o);
    uint64_t down = 3000000;
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    run_to_client_rx(&x, down / 3, 60 * SEC);
    ec.armed = true;
    ck_assert_int_ge(mptcp_announce(sflow(&x)->conn, &x.sip[1], sim_now(x.s)), 1);
    run_to_close(&x, 0, down, 120 * SEC);
    ck_assert_uint_ge(ec.done, 1);
    ck_assert_uint_ge(ec.dropped, 1);
    ck_assert_uint_eq(cflow(&x)->ev[MPTCP_EV_ADDR_ANNOUNCED], 1);
    ck_assert_uint_eq(sflow(&x)->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(cflow(&x)->ev[MPTCP_EV_FALLBACK], 0);
    ck_assert(!x.smp.fallback && !x.cmp.fallback);
    mscn_finish(&x);
}
END_TEST

/* Drops the client's ACKs that carry a DATA_ACK until |until_us|, and counts
 * the server's payload on path 1 before that time. */
typedef struct noack_ctx {
    uint64_t until_us;
    unsigned dropped;
    uint64_t first_dsn;    /* the first mapping the server sent (path 0) */
    bool have_first;
    uint64_t early_path1;  /* payload on path 1 before |until_us| ... */
    uint64_t early_ooo;    /* ... of which not the stream's first bytes */
} noack_ctx;

typedef struct noack_path {
    noack_ctx *n;
    int path;
} noack_path;

static bool noack_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    noack_path *np = ctx;
    noack_ctx *n = np->n;
    uint64_t now = sim_now(s);
    if (now >= n->until_us || !sim_seg_valid(p->data, p->len))
        return true;
    mptcp_opt o;
    bool dss = pkt_find_form(p, MPTCP_OPT_DSS, &o);
    if (dir == SIM_A2B && dss && o.u.dss.has_ack) {
        n->dropped++;
        return false;
    }
    size_t len = sim_seg_payload_len(p->data, p->len);
    if (dir != SIM_B2A || len == 0 || !dss || !o.u.dss.has_map)
        return true;
    if (np->path == 0 && !n->have_first) {
        n->have_first = true;
        n->first_dsn = o.u.dss.dsn;
    }
    if (np->path == 1) {
        /* Only the head of the stream (the data-level retransmission of the
         * bytes the peer waits for) may go there: it arrives in order. */
        n->early_path1 += len;
        if (!n->have_first || o.u.dss.dsn != n->first_dsn)
            n->early_ooo += len;
    }
    return true;
}

/* RFC 8684 3.3.4 with Linux as the peer: a window counts at its data level
 * only once sent with a DATA_ACK, and out-of-order data beyond it is
 * dropped. So until the client's first DATA_ACK arrives the server sends on
 * the initial subflow only, even with a join up and the initial subflow's
 * congestion window full (the data-level retransmission of the stream's
 * first bytes may use the join: they arrive in order); afterwards both
 * paths carry data. */
START_TEST(first_bytes_stay_on_the_initial_subflow_until_a_data_ack)
{
    noack_ctx n0 = {.until_us = 1500 * MS};
    noack_path p0 = {&n0, 0}, p1 = {&n0, 1};
    sim_mbox_cfg mb0 = hook_box(noack_hook, &p0), mb1 = hook_box(noack_hook, &p1);
    mscn x;
    mscn_opts o = {.seed = 65, .n = 2};
    o.p[0].mbox = &mb0;
    o.p[1].mbox = &mb1;
    mscn_init(&x, &o);
    uint64_t down = 2000000;
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    sim_run_until(x.s, 1400 * MS);
    ck_assert_uint_eq(sflow(&x)->ev[MPTCP_EV_SUBFLOW_UP], 2); /* the join was up */
    ck_assert_uint_gt(n0.dropped, 0);
    run_to_close(&x, 0, down, 120 * SEC);
    ck_assert_msg(n0.early_ooo == 0, "%llu B out of order on the join before any DATA_ACK",
                  (unsigned long long)n0.early_ooo);
    ck_assert_uint_gt(path_down_bytes(&x, 1), 100 * 1400);
    mscn_finish(&x);
}
END_TEST

/*
 * Interop row 19 (Linux 6.18 server, docs/conformance.md "Data-level hole
 * behind a held tail"): the library sent a mapping of 14864 bytes on its
 * join as ten 1424-byte segments and a 624-byte tail; the tail was the end
 * of that subflow's send queue with data in flight, so sender SWS avoidance
 * (Nagle) held it for a round trip while the initial subflow filled the
 * rest of the peer's 80 KB data-level window. The kernel queued all of that
 * out of order, charged it to its receive buffer and, once over it, never
 * took the missing 624 bytes in when they came (mptcp_data_ready returns
 * early): the connection stalled for good with every subflow byte
 * acknowledged. A box on each path watches the server's mappings: a
 * mapping sent in several segments whose short last segment passes only
 * after the client's ACK covered everything sent of it before was held.
 */
typedef struct tail_ctx {
    bool have_isn;
    uint32_t isn;         /* the server's ISN on this path */
    bool open;            /* a mapping whose last segment has not passed */
    uint64_t dsn;
    uint32_t ssn, dlen;   /* the open mapping (ssn relative to the ISN) */
    uint32_t sent_end;    /* subflow offset after the last segment of it seen */
    uint32_t seg_max;     /* its largest segment so far */
    bool head_acked;      /* an ACK covered sent_end before more of it passed */
    unsigned multi, held; /* multi-segment mappings seen, tails held */
    uint32_t held_ssn, held_dlen, held_tail; /* the first held tail */
} tail_ctx;

static bool tail_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    tail_ctx *t = ctx;
    if (!sim_seg_valid(p->data, p->len))
        return true;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (dir == SIM_B2A && (h.flags & MPTCP_TH_SYN)) {
        t->have_isn = true;
        t->isn = h.seq;
        t->open = false;
        return true;
    }
    if (!t->have_isn)
        return true;
    if (dir == SIM_A2B) {
        if (t->open && (h.flags & MPTCP_TH_ACK) && h.ack - t->isn == t->sent_end)
            t->head_acked = true;
        return true;
    }
    uint32_t plen = (uint32_t)sim_seg_payload_len(p->data, p->len);
    mptcp_opt o;
    if (plen == 0 || !pkt_find_form(p, MPTCP_OPT_DSS, &o) || !o.u.dss.has_map ||
        o.u.dss.data_len == 0)
        return true;
    uint32_t dlen = (uint32_t)o.u.dss.data_len - (o.u.dss.fin ? 1u : 0u);
    uint32_t rel = h.seq - t->isn;
    if (!t->open || o.u.dss.dsn != t->dsn || o.u.dss.ssn != t->ssn || dlen != t->dlen) {
        t->open = true;
        t->dsn = o.u.dss.dsn;
        t->ssn = o.u.dss.ssn;
        t->dlen = dlen;
        t->head_acked = false;
        t->seg_max = 0;
    }
    if (rel + plen != t->ssn + t->dlen) {
        t->sent_end = rel + plen; /* more of it to come */
        t->head_acked = false;
        t->seg_max = plen > t->seg_max ? plen : t->seg_max;
        return true;
    }
    if (rel != t->ssn) {
        t->multi++;
        /* (a full-size last segment may wait for the congestion window) */
        if (t->head_acked && plen < t->seg_max && t->held++ == 0) {
            t->held_ssn = t->ssn;
            t->held_dlen = t->dlen;
            t->held_tail = plen;
        }
    }
    t->open = false;
    return true;
}

/* Two equal paths, a 2 MB download: mappings are cut into 1424-byte
 * segments (a DSS option beside the timestamps) and a short tail, which
 * leaves with the rest of its mapping, never a round trip later (the old
 * code held the 806-byte tail of a 5078-byte mapping on path 0). */
START_TEST(a_mapping_tail_is_not_held_behind_its_own_head)
{
    tail_ctx tc[2];
    memset(tc, 0, sizeof(tc));
    sim_mbox_cfg mb[2];
    memset(mb, 0, sizeof(mb));
    mscn x;
    mscn_opts o = {.seed = 67, .n = 2};
    for (int i = 0; i < 2; i++) {
        mb[i].hook = tail_hook;
        mb[i].hook_ctx = &tc[i];
        o.p[i].mbox = &mb[i];
    }
    mscn_init(&x, &o);
    uint64_t down = 2000000;
    mscn_start(&x, 0, down);
    mscn_open_all(&x);
    ck_assert_msg(mscn_run(&x, 60 * SEC, both_closed, &x), "transfer did not finish");
    check_streams(&x, 0, down);
    check_normal_close(&x);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_ge(tc[i].multi, 2);
        ck_assert_msg(tc[i].held == 0,
                      "path %d: %u of %u mapping tails held for an ACK (first: ssn %u len %u, "
                      "tail %u B)",
                      i, tc[i].held, tc[i].multi, tc[i].held_ssn, tc[i].held_dlen,
                      tc[i].held_tail);
    }
    mscn_finish(&x);
}
END_TEST

/* The configuration `make bench` measures (tests/bench/bench.c gp_run): one
 * server address reached over a 20 Mbit/s 10 ms path (queue 50 packets) and
 * a 20 Mbit/s 100 ms path (queue 250), receive buffer twice the larger
 * bandwidth-delay product, the second subflow joining as soon as the
 * connection is fully established, a 20 MB download. Steady-state goodput
 * (application bytes between 20% and 90% of the transfer) against the sum
 * of the link rates (IP bytes) must reach the issue's 90%; the test
 * (91.5% measured) catches a regression of the scheduler (ORP and
 * penalization) or of the receive side. The start weighs much in these
 * runs, so the floor holds this one configuration, deterministic in the
 * simulator. */
static bool hetero_reached(void *arg)
{
    void **a = arg;
    sim_flow *f = a[0];
    return f->rx.off >= *(uint64_t *)a[1] || f->closed;
}

START_TEST(goodput_bench_10ms_100ms_configuration_meets_the_90_percent_target)
{
    const uint64_t down = 20000000;
    sim *s = sim_new(7, 1 * SEC);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.mptcp = true;
    cfg.rcvbuf = 500000;
    cfg.sndbuf = 8u << 20;
    sim_host *c = sim_host_new(s, "client", &cfg, 11);
    sim_host *sv = sim_host_new(s, "server", &cfg, 12);
    mptcp_addr sip = addr_of(false, true, 0, 80), cip[2];
    sim_path path[2];
    const uint64_t rtt[2] = {10 * MS, 100 * MS};
    const uint32_t queue[2] = {50, 250};
    for (int i = 0; i < 2; i++) {
        cip[i] = addr_of(false, false, i, 0);
        sim_path_cfg pc;
        memset(&pc, 0, sizeof(pc));
        pc.ab = sim_link_cfg_make(20000000, rtt[i], queue[i], 0);
        pc.ba = pc.ab;
        ck_assert_int_eq(sim_path_new(s, &path[i], sim_host_node(c), &cip[i],
                                      sim_host_node(sv), &sip, &pc),
                         0);
    }
    sim_flow_cfg scfg = {.tx_seed = DOWN_SEED, .tx_bytes = down, .shutdown_when_sent = true,
                         .close_when_done = true};
    sim_flow_cfg ccfg = {.rx_seed = DOWN_SEED, .shutdown_when_sent = true,
                         .close_when_done = true};
    ck_assert_int_eq(sim_host_listen(sv, &sip, &scfg), 0);
    int err;
    sim_flow *f = sim_host_connect(c, &cip[0], &sip, &ccfg, &err);
    ck_assert_ptr_nonnull(f);
    mptcp_mp_stats ms;
    for (int k = 0; k < 10000; k++) {
        sim_run_until(s, sim_now(s) + 1 * MS);
        if (f->conn && mptcp_conn_get_mp_stats(f->conn, &ms) == 0 && ms.fully_established)
            break;
    }
    ck_assert_int_ge(mptcp_subflow_open(f->conn, &cip[1], &sip, false, sim_now(s)), 1);
    uint64_t goal = down / 5;
    void *arg[2] = {f, &goal};
    sim_run_while(s, sim_now(s) + 120 * SEC, hetero_reached, arg);
    uint64_t t0 = sim_now(s), b0 = f->rx.off;
    goal = down * 9 / 10;
    sim_run_while(s, sim_now(s) + 120 * SEC, hetero_reached, arg);
    uint64_t t1 = sim_now(s), b1 = f->rx.off;
    ck_assert_int_eq(f->ev[MPTCP_EV_SUBFLOW_UP], 2);
    goal = down + 1;
    sim_run_while(s, sim_now(s) + 120 * SEC, hetero_reached, arg);
    ck_assert_msg(sim_flow_rx_ok(f, down) && f->eof, "download incomplete or altered");
    ck_assert_uint_gt(t1, t0);
    double mbit = (double)(b1 - b0) * 8 / (double)(t1 - t0);
    ck_assert_msg(mbit >= 0.90 * 40, "aggregate %.2f Mbit/s = %.1f%% of 40 Mbit/s", mbit,
                  mbit / 40 * 100);
    sim_free(s);
}
END_TEST

#ifdef SCN_MPTCP_DRAFTS
/* scenarios that do not pass yet (tests/sim/mptcp_drafts/build-drafts.sh) */
#include "sim/mptcp_drafts/scn_mptcp.c.draft"
#endif

Suite *scn_mptcp_suite(void)
{
    Suite *s = suite_create("scn_mptcp");
    TCase *tc = tcase_create("subflows");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, subflows_1_to_8_over_ipv4, 1, 9);
    tcase_add_loop_test(tc, subflows_2_to_4_over_ipv6, 2, 5);
    tcase_add_loop_test(tc, subflows_mixed_ipv4_ipv6, 0, 8);
    suite_add_tcase(s, tc);
    tc = tcase_create("paths");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, blackholed_path_mid_transfer_data_finishes_on_the_others);
    tcase_add_test(tc, add_addr_then_remove_addr_during_transfer);
    tcase_add_test(tc, mp_prio_moves_a_subflow_to_backup_and_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("fallback");
    tcase_set_timeout(tc, 300);
    /* MP_CAPABLE stripped from the SYN and from the SYN/ACK; MPTCP options
     * stripped from the first data segment up and down (the third ACK:
     * a draft) */
    tcase_add_loop_test(tc, fallback_when_a_middlebox_strips_mptcp, FB_SYN, FB_SYNACK + 1);
    tcase_add_loop_test(tc, fallback_when_a_middlebox_strips_mptcp, FB_FIRST_DATA_UP, FB_N);
    tcase_add_test(tc, payload_rewrite_with_checksums_one_subflow_falls_back);
    tcase_add_test(tc, payload_rewrite_with_checksums_two_subflows_resets_one);
    tcase_add_test(tc, fallback_after_our_mp_fail_leaves_no_stuck_timer);
    tcase_add_test(tc, fallback_after_a_reinjection_sends_each_byte_once);
    tcase_add_loop_test(tc, fin_without_dss_after_the_peer_fell_back_ends_the_stream, 0, 8);
    tcase_add_test(tc, peer_closed_its_subflow_then_bare_ack_is_no_end_of_stream);
    tcase_add_test(tc, peer_learns_our_fallback_before_it_can_close_the_subflow);
    tcase_add_test(tc, subflow_fin_acked_without_data_ack_is_no_reason_to_fall_back);
    tcase_add_test(tc, no_fallback_onto_a_subflow_being_closed);
    tcase_add_test(tc, no_fallback_after_a_join_was_established);
    tcase_add_test(tc, no_data_ack_after_a_join_resets_the_subflow);
    tcase_add_test(tc, peer_fin_waits_for_the_peer_to_learn_of_our_fallback);
    tcase_add_test(tc, last_subflow_close_under_a_live_connection_is_a_reset);
    tcase_add_test(tc, receiver_fallback_on_unmapped_data_reaches_the_sender);
    tcase_add_test(tc, subflow_close_after_an_unanswered_mp_fail_is_a_reset);
    tcase_add_test(tc, unanswered_mp_fail_resets_the_subflow_after_120_s);
    tcase_add_test(tc, unused_join_dies_and_no_chunk_goes_twice_to_a_peer_that_falls_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("close");
    tcase_set_timeout(tc, 300);
    /* the client aborts (the server's abort: a draft) */
    tcase_add_loop_test(tc, mp_fastclose_mid_transfer, 0, 1);
    tcase_add_test(tc, data_ack_32_bit_form_wraps_at_4_gb);
    suite_add_tcase(s, tc);
    tc = tcase_create("receive");
    tcase_set_timeout(tc, 300);
    /* 0: our sender as is; 1: it sees windows as a Linux sender does */
    tcase_add_loop_test(tc, receiver_keeps_every_byte_its_subflows_acknowledged, 0, 2);
    tcase_add_test(tc, remove_addr_then_data_fin_on_a_resent_mapping);
    /* 0: mappings once per chunk; 1: with DSS checksums (one per segment) */
    tcase_add_loop_test(tc, chunk_mapping_on_its_first_segment_survives_its_loss_and_reorder, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("data_rtx");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, mapping_dropped_at_the_data_level_is_retransmitted);
    tcase_add_test(tc, late_data_acks_fire_the_data_level_timer_and_the_transfer_finishes);
    tcase_add_loop_test(tc, data_level_zero_window_is_probed_after_a_lost_window_update, 0, 3);
    tcase_add_test(tc, add_addr_echo_without_dss_is_no_reason_to_fall_back);
    tcase_add_test(tc, first_bytes_stay_on_the_initial_subflow_until_a_data_ack);
    tcase_add_test(tc, a_mapping_tail_is_not_held_behind_its_own_head);
    suite_add_tcase(s, tc);
    tc = tcase_create("goodput");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, goodput_two_equal_paths_near_the_sum);
    tcase_add_test(tc, goodput_10ms_and_100ms_paths_with_2_bdp_buffer);
    tcase_add_test(tc, goodput_bench_10ms_100ms_configuration_meets_the_90_percent_target);
    suite_add_tcase(s, tc);
#ifdef SCN_MPTCP_DRAFTS
    tc = tcase_create("drafts");
    tcase_set_timeout(tc, 600);
    add_drafts(tc);
    suite_add_tcase(s, tc);
#endif
    return s;
}
