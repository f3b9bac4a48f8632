/* MPTCP beyond one subflow, two in-process stacks (fixture pair): ADD_ADDR
 * with HMAC and echo, REMOVE_ADDR, MP_PRIO, MP_FASTCLOSE on a RST with
 * MP_TCPRST, a failing subflow whose data finishes on the other one
 * (reinjection), a forged MP_JOIN HMAC refused with MP_TCPRST, and the
 * fallback cases a middlebox causes (RFC 8684 3.1, 3.2, 3.3.6, 3.4, 3.5,
 * 3.6, 3.7). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "helpers/fixture.h"
#include "mptcp.h"

static bool both_connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool both_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1 && p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

static bool two_up(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2 && p->e[1].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2;
}

static void log_on(fx_pair *p)
{
    p->log = calloc(4096, sizeof *p->log);
    p->log_cap = 4096;
}

static void log_off(fx_pair *p)
{
    free(p->log);
    p->log = NULL;
}

static bool seg_has(const fx_cap *c, mptcp_opt_form form, mptcp_opt *out)
{
    mptcp_seg s;
    if (mptcp_seg_parse(c->data, c->len, &s) != 0)
        return false;
    for (uint8_t i = 0; i < s.n_mptcp; i++)
        if (s.mptcp[i].err == 0 && s.mptcp[i].opt.form == form) {
            if (out)
                *out = s.mptcp[i].opt;
            return true;
        }
    return false;
}

/* The first logged segment from |from| carrying |form|, or NULL. */
static const fx_cap *find_form(const fx_pair *p, int from, mptcp_opt_form form, mptcp_opt *o)
{
    for (size_t i = 0; i < p->n_log && i < p->log_cap; i++)
        if (p->log_from[i] == from && seg_has(&p->log[i], form, o))
            return &p->log[i];
    return NULL;
}

static void connect_mp(fx_pair *p, uint64_t seed, const mptcp_config *cfg)
{
    fx_pair_init_mp(p, cfg, cfg, seed, 5000);
    fx_pair_connect(p);
    ck_assert(fx_pair_run_until(p, both_connected, p->now + 1000000));
    fx_pair_run(p, p->now + 50000);
}

static void join(fx_pair *p, uint8_t last, bool backup)
{
    mptcp_addr l = fx_addr(last, 0), r = fx_addr(2, 80);
    ck_assert_int_gt(mptcp_subflow_open(p->e[0].conn, &l, &r, backup, p->now), 0);
    ck_assert(fx_pair_run_until(p, two_up, p->now + 1000000));
}

/* The default configuration with MPTCP on, DSS checksums if |checksum|. */
static mptcp_config mp_config(bool checksum)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.mptcp = true;
    c.checksum = checksum;
    return c;
}

/* End |from| sends |len| bytes of test data (seed |seed|) and closes once
 * all is taken; the other end closes at end of stream. Returns the data
 * (the caller frees it). */
static uint8_t *send_and_close(fx_pair *p, int from, size_t len, uint64_t seed)
{
    uint8_t *d = malloc(len);
    fx_fill(d, len, seed);
    fx_pair_send(p, from, d, len, 2);
    p->e[1 - from].close_on_eof = true;
    return d;
}

/* End |to| read exactly the |len| bytes at |d|. */
static void check_received(const fx_pair *p, int to, const uint8_t *d, size_t len)
{
    ck_assert_uint_eq(p->e[to].rx_len, len);
    ck_assert(memcmp(p->e[to].rx, d, len) == 0);
}

START_TEST(add_addr_is_announced_with_hmac_and_echoed)
{
    fx_pair p;
    connect_mp(&p, 51, NULL);
    log_on(&p);
    mptcp_addr a = fx_addr(4, 0);
    int id = mptcp_announce(p.e[1].conn, &a, p.now);
    ck_assert_int_gt(id, 0);
    fx_pair_run(&p, p.now + 500000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_ADDR_ANNOUNCED], 1);
    const mptcp_event *ev = &p.e[0].last_ev[MPTCP_EV_ADDR_ANNOUNCED];
    ck_assert_int_eq(ev->u.addr.id, id);
    ck_assert_uint_eq(ev->u.addr.addr.ip[3], 4);
    mptcp_opt o;
    ck_assert_ptr_nonnull(find_form(&p, 1, MPTCP_OPT_ADD_ADDR, &o));
    ck_assert(!o.u.add_addr.echo);
    /* the HMAC the peer checked: sender key first (RFC 8684 3.4.1) */
    ck_assert_uint_eq(o.u.add_addr.hmac, mptcp_add_addr_hmac(p.e[1].conn->mp->lkey,
                                                             p.e[1].conn->mp->rkey, (uint8_t)id, &a));
    ck_assert_ptr_nonnull(find_form(&p, 0, MPTCP_OPT_ADD_ADDR, &o));
    ck_assert(o.u.add_addr.echo);
    /* echoed: no retransmission for a long time */
    const mptcp_pm_ann *ann = mptcp_pm_ann_get(&p.e[1].conn->mp->pm, (uint8_t)id);
    ck_assert_ptr_nonnull(ann);
    ck_assert_int_eq(ann->state, MPTCP_PM_ANN_ECHOED);
    mptcp_mp_stats m;
    mptcp_conn_get_mp_stats(p.e[0].conn, &m);
    ck_assert_uint_eq(m.add_addr_in, 1);
    ck_assert_uint_eq(m.add_addr_bad_hmac, 0);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(mp_prio_sets_backup_both_ways)
{
    fx_pair p;
    connect_mp(&p, 52, NULL);
    join(&p, 3, false);
    ck_assert_int_eq(mptcp_subflow_set_backup(p.e[0].conn, 1, true, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_PRIO_CHANGED], 1);
    ck_assert_int_eq(p.e[1].last_ev[MPTCP_EV_PRIO_CHANGED].subflow_id, 1);
    ck_assert(p.e[1].last_ev[MPTCP_EV_PRIO_CHANGED].u.subflow.backup);
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[1].conn, 1, &s), 0);
    ck_assert(s.peer_backup);
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s), 0);
    ck_assert(s.backup);
    /* back to regular */
    ck_assert_int_eq(mptcp_subflow_set_backup(p.e[0].conn, 1, false, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_PRIO_CHANGED], 2);
    ck_assert(!p.e[1].last_ev[MPTCP_EV_PRIO_CHANGED].u.subflow.backup);
    /* a backup subflow carries nothing while the regular one works */
    ck_assert_int_eq(mptcp_subflow_set_backup(p.e[0].conn, 1, true, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    size_t len = 500000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 52);
    mptcp_subflow_stats b0;
    mptcp_subflow_get_stats(p.e[0].conn, 1, &b0);
    fx_pair_send(&p, 0, d, len, 0);
    fx_pair_run(&p, p.now + 3000000);
    check_received(&p, 1, d, len);
    mptcp_subflow_get_stats(p.e[0].conn, 1, &s);
    ck_assert_uint_eq(s.tcp.bytes_sent, b0.tcp.bytes_sent);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(remove_addr_closes_the_subflows_of_that_address)
{
    fx_pair p;
    connect_mp(&p, 53, NULL);
    join(&p, 3, false);
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s), 0);
    ck_assert_uint_gt(s.local_id, 0);
    ck_assert_int_eq(mptcp_addr_remove(p.e[0].conn, s.local_id, p.now), 0);
    fx_pair_run(&p, p.now + 2000000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_ADDR_REMOVED], 1);
    ck_assert_int_eq(p.e[1].last_ev[MPTCP_EV_ADDR_REMOVED].u.addr.id, s.local_id);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    int ids[8];
    ck_assert_int_eq(mptcp_conn_subflows(p.e[0].conn, ids, 8), 1);
    ck_assert_int_eq(ids[0], 0);
    /* the connection goes on */
    size_t len = 100000;
    uint8_t *d = send_and_close(&p, 0, len, 53);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 10000000));
    check_received(&p, 1, d, len);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(abort_sends_mp_fastclose_and_the_peer_reports_it)
{
    fx_pair p;
    connect_mp(&p, 54, NULL);
    join(&p, 3, false);
    log_on(&p);
    uint64_t server_key = p.e[1].conn->mp->lkey;
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_FASTCLOSE);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_ABORTED);
    /* one RST per subflow, each with MP_FASTCLOSE (the peer's key) and
     * MP_TCPRST */
    size_t rsts = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        mptcp_seg s;
        ck_assert_int_eq(mptcp_seg_parse(p.log[i].data, p.log[i].len, &s), 0);
        if (p.log_from[i] != 0 || !(s.hdr.flags & MPTCP_TH_RST))
            continue;
        /* (a RST answering a segment for a subflow already gone carries
         * nothing: there is no subflow any more) */
        mptcp_opt fc, rst;
        if (!seg_has(&p.log[i], MPTCP_OPT_FASTCLOSE, &fc))
            continue;
        rsts++;
        ck_assert(seg_has(&p.log[i], MPTCP_OPT_TCPRST, &rst));
        ck_assert_uint_eq(fc.u.fastclose.rcv_key, server_key);
    }
    ck_assert_uint_eq(rsts, 2);
    log_off(&p);
    /* nothing is left on either side */
    fx_pair_run(&p, p.now + 5000000);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(fastclose_key_must_match)
{
    /* The receiver checks the key in MP_FASTCLOSE: the server's key is in
     * the client's RST, and the server closes only because it matches. */
    fx_pair p;
    connect_mp(&p, 55, NULL);
    uint64_t server_key = p.e[1].conn->mp->lkey;
    log_on(&p);
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    mptcp_opt fc;
    ck_assert_ptr_nonnull(find_form(&p, 0, MPTCP_OPT_FASTCLOSE, &fc));
    ck_assert_uint_eq(fc.u.fastclose.rcv_key, server_key);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_FASTCLOSE);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

/* Drops every segment of the subflow whose client port is *filter_arg. */
static int blackhole_port(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                          uint64_t *extra)
{
    (void)from;
    (void)idx;
    (void)len;
    (void)extra;
    uint16_t port = *(const uint16_t *)p->filter_arg;
    uint16_t sport = (uint16_t)(seg[0] << 8 | seg[1]), dport = (uint16_t)(seg[2] << 8 | seg[3]);
    return sport == port || dport == port ? FX_DROP : FX_PASS;
}

static uint16_t dead_port;

/* From now on the client's initial subflow is a black hole. */
static void blackhole_initial_subflow(fx_pair *p)
{
    mptcp_addr la;
    mptcp_conn_get_addrs(p->e[0].conn, &la, NULL);
    dead_port = la.port;
    p->filter_arg = &dead_port;
    p->filter = blackhole_port;
}

START_TEST(data_finishes_on_the_other_subflow_when_one_dies)
{
    mptcp_config c = mp_config(false);
    c.data_retries = 3; /* the dead path is given up quickly */
    fx_pair p;
    connect_mp(&p, 56, &c);
    join(&p, 3, false);
    size_t len = 3u << 20;
    uint8_t *d = send_and_close(&p, 0, len, 56);
    /* 5 ms in, while both paths still have data of their own to send (the
     * sender holds no mapping tail back for an ACK, so a path that died
     * later would have delivered all it was given) */
    fx_pair_run(&p, p.now + 5000);
    ck_assert_uint_lt(p.e[1].rx_len, len);
    /* the initial path turns into a black hole */
    blackhole_initial_subflow(&p);
    uint64_t reinjected = 0;
    bool ok = false;
    uint64_t t0 = p.now;
    for (int k = 1; k <= 1200 && !ok; k++) {
        ok = fx_pair_run_until(&p, both_closed, t0 + (uint64_t)k * 100000);
        if (p.e[0].conn) {
            mptcp_mp_stats ms;
            mptcp_conn_get_mp_stats(p.e[0].conn, &ms);
            reinjected = ms.reinjected_bytes;
        }
    }
    if (!ok) {
        mptcp_mp_stats m0, m1;
        mptcp_conn_get_mp_stats(p.e[0].conn, &m0);
        mptcp_conn_get_mp_stats(p.e[1].conn, &m1);
        printf("rx %zu down %zu/%zu n_sf %u/%u snd_una %llu snd_nxt %llu rcv_nxt %llu wnd %u reinj %llu\n",
               p.e[1].rx_len, p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN],
               m0.n_subflows, m1.n_subflows, (unsigned long long)m0.snd_una,
               (unsigned long long)m0.snd_nxt, (unsigned long long)m1.rcv_nxt, m0.snd_wnd,
               (unsigned long long)m0.reinjected_bytes);
        int ids[8];
        int n = mptcp_conn_subflows(p.e[0].conn, ids, 8);
        for (int i = 0; i < n; i++) {
            mptcp_subflow_stats s;
            mptcp_subflow_get_stats(p.e[0].conn, ids[i], &s);
            printf(" sf %d state %d usable %d una %u nxt %u sent %llu acked %llu cwnd %u wnd %u\n", ids[i], s.tcp.state, s.usable, s.tcp.snd_una, s.tcp.snd_nxt,
                   (unsigned long long)s.tcp.bytes_sent, (unsigned long long)s.tcp.bytes_acked, s.tcp.cwnd, s.tcp.snd_wnd);
        }
    }
    ck_assert(ok);
    check_received(&p, 1, d, len);
    ck_assert_uint_gt(reinjected, 0);
    /* what the dead path held went over the other one (after two RTOs the
     * subflow counts as potentially failed and its data is resent) */
    free(d);
    fx_pair_fini(&p);
}
END_TEST


/* ------------------------------------------------------------ middleboxes */

typedef struct mbox {
    int from;        /* direction to touch */
    int subtype;     /* MPTCP subtype to strip, -1 all */
    uint32_t first, last; /* segment indexes (per direction) to touch */
    bool payload_only; /* only segments with payload */
    bool rewrite;    /* flip a payload byte instead of stripping */
    uint32_t done;
} mbox;

static void mbox_mangle(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    mbox *m = p->mangle_arg;
    if (from != m->from || idx < m->first || idx > m->last)
        return;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    if (m->payload_only && *len <= doff)
        return;
    if (m->rewrite) {
        if (*len > doff) {
            seg[doff] ^= 0x5a;
            m->done++;
        }
        return;
    }
    m->done += (uint32_t)fx_strip_mptcp(seg, *len, m->subtype);
}

/* Two stacks (|cfg| for both, NULL: defaults with MPTCP) with |m| on the
 * wire (and a log of every segment if |log|) connect; end |sender| sends
 * |len| bytes (seed |seed|) and both close. The stream must arrive whole
 * and both ends close normally; |p| is left for the caller's checks. */
static void mbox_transfer(fx_pair *p, const mptcp_config *cfg, uint64_t seed, mbox *m, bool log,
                          int sender, size_t len)
{
    fx_pair_init_mp(p, cfg, cfg, seed, 5000);
    p->mangle = mbox_mangle;
    p->mangle_arg = m;
    if (log)
        log_on(p);
    fx_pair_connect(p);
    ck_assert(fx_pair_run_until(p, both_connected, p->now + 1000000));
    uint8_t *d = send_and_close(p, sender, len, seed);
    ck_assert(fx_pair_run_until(p, both_closed, p->now + 60000000));
    check_received(p, 1 - sender, d, len);
    ck_assert_int_eq(p->e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p->e[1].close_reason, MPTCP_CLOSE_NORMAL);
    free(d);
}

static void fallback_case(uint64_t seed, mbox *m, int sender, size_t len)
{
    fx_pair p;
    mbox_transfer(&p, NULL, seed, m, false, sender, len);
    ck_assert_uint_gt(m->done, 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK] + p.e[1].n_ev[MPTCP_EV_FALLBACK] > 0, 1);
    fx_pair_fini(&p);
}

START_TEST(fallback_mp_capable_stripped_from_the_syn_ack)
{
    mbox m = {.from = 1, .subtype = MPTCP_SUB_CAPABLE, .first = 0, .last = 0};
    fallback_case(61, &m, 0, 200000);
}
END_TEST

START_TEST(fallback_mp_capable_stripped_from_the_syn)
{
    mbox m = {.from = 0, .subtype = MPTCP_SUB_CAPABLE, .first = 0, .last = 0};
    /* the server sees a plain SYN: plain TCP; the client falls back */
    fallback_case(62, &m, 1, 200000);
}
END_TEST

START_TEST(fallback_mp_capable_stripped_from_the_third_ack)
{
    mbox m = {.from = 0, .subtype = MPTCP_SUB_CAPABLE, .first = 1, .last = 1};
    fallback_case(63, &m, 0, 200000);
}
END_TEST

START_TEST(fallback_no_dss_on_the_first_data)
{
    /* Every MPTCP option stripped from the client's data segments. */
    mbox m = {.from = 0, .subtype = -1, .first = 1, .last = 100000, .payload_only = true};
    fallback_case(64, &m, 0, 200000);
}
END_TEST

/* ------------------------------------------------------------ MP_JOIN HMAC */

static void corrupt_join_ack(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    (void)idx;
    uint32_t *done = p->mangle_arg;
    if (from != 0)
        return;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    for (size_t i = 20; i + 2 < doff;) {
        if (seg[i] <= 1) {
            i++;
            continue;
        }
        if (seg[i] == MPTCP_TCPOPT_MPTCP && seg[i + 1] == 24 && (seg[i + 2] >> 4) == 1) {
            seg[i + 10] ^= 0xff; /* a byte of the 160-bit HMAC */
            (*done)++;
        }
        if (seg[i + 1] < 2)
            break;
        i += seg[i + 1];
    }
    (void)len;
}

START_TEST(mp_join_with_a_bad_hmac_is_reset_with_mp_tcprst)
{
    fx_pair p;
    connect_mp(&p, 65, NULL);
    uint32_t done = 0;
    p.mangle = corrupt_join_ack;
    p.mangle_arg = &done;
    log_on(&p);
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    ck_assert_int_gt(mptcp_subflow_open(p.e[0].conn, &l, &r, false, p.now), 0);
    fx_pair_run(&p, p.now + 500000);
    ck_assert_uint_gt(done, 0);
    mptcp_mp_stats m;
    mptcp_conn_get_mp_stats(p.e[1].conn, &m);
    ck_assert_uint_eq(m.join_bad_hmac, 1);
    mptcp_opt o;
    ck_assert_ptr_nonnull(find_form(&p, 1, MPTCP_OPT_TCPRST, &o));
    ck_assert_uint_eq(o.u.tcprst.reason, MPTCP_RSTCODE_MPTCP);
    /* the joiner reports the subflow gone with the peer's reason */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert(p.e[0].last_ev[MPTCP_EV_SUBFLOW_DOWN].u.subflow.has_rst_code);
    ck_assert_uint_eq(p.e[0].last_ev[MPTCP_EV_SUBFLOW_DOWN].u.subflow.rst_code,
                      MPTCP_RSTCODE_MPTCP);
    mptcp_conn_get_mp_stats(p.e[0].conn, &m);
    ck_assert_uint_eq(m.rst_in_code[MPTCP_RSTCODE_MPTCP], 1);
    /* the connection itself is unharmed */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert_uint_eq(m.n_subflows, 1);
    log_off(&p);
    p.mangle = NULL;
    fx_pair_fini(&p);
}
END_TEST

/* The responder's SYN/ACK on a join turned into a bare SYN: to the joiner it
 * is the peer's own SYN crossing its join SYN on the 4-tuple. */
static void join_synack_to_syn(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    (void)idx;
    (void)len;
    uint32_t *done = p->mangle_arg;
    if (from != 1 || (seg[13] & (MPTCP_TH_SYN | MPTCP_TH_ACK)) != (MPTCP_TH_SYN | MPTCP_TH_ACK))
        return;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    for (size_t i = 20; i + 2 < doff;) {
        if (seg[i] <= 1) {
            i++;
            continue;
        }
        if (seg[i] == MPTCP_TCPOPT_MPTCP && (seg[i + 2] >> 4) == 1) {
            seg[13] &= (uint8_t)~MPTCP_TH_ACK;
            memset(seg + 8, 0, 4); /* no acknowledgment number without ACK */
            (*done)++;
            return;
        }
        if (seg[i + 1] < 2)
            break;
        i += seg[i + 1];
    }
}

static bool both_eof(fx_pair *p) { return p->e[0].rx_eof && p->e[1].rx_eof; }

START_TEST(join_simultaneous_open_is_reset_and_the_connection_goes_on)
{
    /* fuzz/mptcp_conn regress-join-simultaneous-open.bin: RFC 8684 3.2 has
     * no simultaneous open for MP_JOIN; the joiner used to answer with the
     * responder's SYN/ACK form and then send a third ACK whose HMAC used a
     * peer nonce it never got. */
    fx_pair p;
    connect_mp(&p, 66, NULL);
    uint32_t done = 0;
    p.mangle = join_synack_to_syn;
    p.mangle_arg = &done;
    log_on(&p);
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    ck_assert_int_gt(mptcp_subflow_open(p.e[0].conn, &l, &r, false, p.now), 0);
    fx_pair_run(&p, p.now + 500000);
    p.mangle = NULL;
    ck_assert_uint_gt(done, 0);
    mptcp_mp_stats m;
    mptcp_conn_get_mp_stats(p.e[0].conn, &m);
    ck_assert_uint_eq(m.join_simul_open, 1);
    ck_assert_uint_eq(m.join_bad_hmac, 0);
    ck_assert_uint_eq(m.n_subflows, 1);
    /* the joiner resets at once, saying why; it never sends the
     * responder's SYN/ACK form nor a third ACK */
    mptcp_opt o;
    const fx_cap *rst = find_form(&p, 0, MPTCP_OPT_TCPRST, &o);
    ck_assert_ptr_nonnull(rst);
    ck_assert_uint_eq(o.u.tcprst.reason, MPTCP_RSTCODE_MPTCP);
    ck_assert(rst->data[13] & MPTCP_TH_RST);
    ck_assert_ptr_null(find_form(&p, 0, MPTCP_OPT_JOIN_SYNACK, NULL));
    ck_assert_ptr_null(find_form(&p, 0, MPTCP_OPT_JOIN_ACK, NULL));
    mptcp_conn_get_mp_stats(p.e[1].conn, &m);
    ck_assert_uint_eq(m.rst_in_code[MPTCP_RSTCODE_MPTCP], 1);
    ck_assert_uint_eq(m.n_subflows, 1);
    log_off(&p);
    /* the connection is unharmed: MPTCP both ways on the initial subflow */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED] + p.e[1].n_ev[MPTCP_EV_CLOSED], 0);
    uint8_t *d = malloc(100000), *d2 = malloc(50000);
    fx_fill(d, 100000, 67);
    fx_fill(d2, 50000, 68);
    fx_pair_send(&p, 0, d, 100000, 1);
    fx_pair_send(&p, 1, d2, 50000, 1);
    ck_assert(fx_pair_run_until(&p, both_eof, p.now + 20000000));
    check_received(&p, 1, d, 100000);
    check_received(&p, 0, d2, 50000);
    mptcp_conn_get_mp_stats(p.e[0].conn, &m);
    ck_assert(m.mptcp && !m.fallback);
    free(d);
    free(d2);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ path manager */

START_TEST(signal_endpoint_is_announced_and_used_by_the_peer)
{
    mptcp_config c = mp_config(false);
    c.add_addr_accept_max = 2;
    fx_pair p;
    fx_pair_init_mp(&p, &c, &c, 66, 5000);
    mptcp_addr ep = fx_addr(4, 0);
    ck_assert_int_gt(mptcp_local_addr_add(p.e[1].st, &ep, MPTCP_ADDR_F_SIGNAL), 0);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, two_up, p.now + 3000000));
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_ADDR_ANNOUNCED], 1);
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s), 0);
    ck_assert_uint_eq(s.remote.ip[3], 4);
    ck_assert(s.join);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(subflow_endpoint_opens_a_join_automatically)
{
    mptcp_config c = mp_config(false);
    fx_pair p;
    fx_pair_init_mp(&p, &c, &c, 67, 5000);
    mptcp_addr ep = fx_addr(3, 0);
    ck_assert_int_gt(mptcp_local_addr_add(p.e[0].st, &ep, MPTCP_ADDR_F_SUBFLOW), 0);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, two_up, p.now + 3000000));
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s), 0);
    ck_assert_uint_eq(s.local.ip[3], 3);
    fx_pair_fini(&p);
}
END_TEST


START_TEST(checksum_failure_alone_gives_mp_fail_and_infinite_mapping)
{
    /* A middlebox rewrites one payload byte of the client's 40th segment;
     * DSS checksums catch it; alone on its subflow the server sends MP_FAIL,
     * the client resends from that DSN behind an infinite mapping and both
     * go on as TCP: the stream arrives intact (RFC 8684 3.7). */
    mptcp_config c = mp_config(true);
    mbox m = {.from = 0, .first = 40, .last = 40, .payload_only = true, .rewrite = true};
    fx_pair p;
    mbox_transfer(&p, &c, 68, &m, true, 0, 600000);
    ck_assert_uint_eq(m.done, 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_MP_FAIL], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_MP_FAIL], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_FALLBACK], 1);
    mptcp_opt f, inf;
    ck_assert_ptr_nonnull(find_form(&p, 1, MPTCP_OPT_FAIL, &f));
    /* the infinite mapping: a DSS mapping of data-level length 0 at the
     * DSN MP_FAIL named */
    bool found = false;
    for (size_t i = 0; i < p.n_log && i < p.log_cap && !found; i++)
        if (p.log_from[i] == 0 && seg_has(&p.log[i], MPTCP_OPT_DSS, &inf) && inf.u.dss.has_map &&
            inf.u.dss.data_len == 0)
            found = true;
    ck_assert(found);
    ck_assert_uint_eq(inf.u.dss.dsn, f.u.fail.dsn);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

/* |c| sends |n1| bytes of |d|, then its data level goes back to its
 * DATA_ACK (a data-level retransmission, RFC 8684 3.3.6) and it sends the
 * next |n2|: on the same subflow, DSNs from snd_una on come a second time
 * at new subflow bytes, followed by new ones. */
static void send_then_resend_from_data_ack(fx_pair *p, mptcp_conn *c, const uint8_t *d,
                                           size_t n1, size_t n2)
{
    ck_assert_int_eq(mptcp_send(c, d, n1, p->now), (int)n1);
    ck_assert_uint_eq(c->mp->snd_nxt - c->mp->snd_una, n1);
    c->mp->snd_nxt = c->mp->snd_una;
    ck_assert_int_eq(mptcp_send(c, d + n1, n2, p->now), (int)n2);
    ck_assert_uint_eq(c->mp->snd_nxt - c->mp->snd_una, n1 + n2);
}

static bool a_fell_back(fx_pair *p) { return p->e[0].n_ev[MPTCP_EV_FALLBACK] == 1; }
static bool b_eof(fx_pair *p) { return p->e[1].rx_eof; }

START_TEST(mp_fail_receiver_keeps_the_peers_mappings_until_it_stops_mapping)
{
    /* RFC 8684 3.7: the receiver of MP_FAIL (here the server, told
     * directly) falls back, but the peer maps its data with DSS until the
     * infinite mapping reaches it. Before that, the client resends DSN 1..
     * on the same subflow (a data-level retransmission, 3.3.6), so subflow
     * bytes 3001.. carry DSN 1..: the server must honour those mappings
     * (drop the duplicate), and once the client stops mapping, continue
     * linearly from its last mapping. Found by fuzz/mptcp_pair
     * (regress-extra-bytes-*.bin): the server took subflow byte n as DSN n
     * and read more bytes than the client ever sent. */
    mptcp_config c = mp_config(true);
    fx_pair p;
    connect_mp(&p, 91, &c);
    mptcp_conn *ca = p.e[0].conn, *cb = p.e[1].conn;
    size_t len = 9000;
    uint8_t *d = malloc(len), back[1000];
    fx_fill(d, len, 91);
    fx_fill(back, sizeof back, 92);
    mptcp_conn_mp_fail_in(cb, &cb->mp->sf[0], cb->mp->snd_una, p.now);
    ck_assert(cb->flags & MPTCP_CF_FALLBACK);
    /* the client's state after the MP_FAIL the server was told of: waiting
     * for the infinite mapping (an unsolicited one says the server reads
     * the client's bytes linearly, which these are not) */
    ca->mp->sf[0].fail_wait = true;
    ca->mp->sf[0].fail_lin_known = false;
    send_then_resend_from_data_ack(&p, ca, d, 3000, 2000);
    ck_assert_int_eq(mptcp_send(cb, back, sizeof back, p.now), (int)sizeof back);
    ck_assert(fx_pair_run_until(&p, a_fell_back, p.now + 2000000));
    ck_assert_int_eq(mptcp_send(ca, d + 5000, 4000, p.now), 4000);
    ck_assert_int_eq(mptcp_shutdown(ca, p.now), 0);
    ck_assert(fx_pair_run_until(&p, b_eof, p.now + 10000000));
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, d, len) == 0);
    ck_assert_uint_eq(p.e[0].rx_len, sizeof back);
    ck_assert(memcmp(p.e[0].rx, back, sizeof back) == 0);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

static bool b_read_1000(fx_pair *p) { return p->e[1].rx_len >= 1000; }

/* While |*hold|, the client's segments with payload are lost. */
static int hold_client_data(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                            uint64_t *extra)
{
    (void)idx, (void)extra;
    const bool *hold = p->filter_arg;
    return from == 0 && *hold && len > (size_t)(seg[12] >> 4) * 4 ? FX_DROP : FX_PASS;
}

START_TEST(unsolicited_infinite_mapping_after_a_reinjection_resets_the_subflow)
{
    /* RFC 8684 3.7: the server falls back on its own (as on the client's
     * acknowledgment without DATA_ACK, when a box strips the client's DSS)
     * and tells the client with the infinite mapping; from then on it reads
     * the client's subflow bytes linearly. Before that reached the client,
     * its data level had resent DSN 1001.. on the same subflow (the
     * reinjection after a dead join, 3.3.6): subflow bytes 4001.. carry
     * DSN 1001.., not 4001... Falling back, the client would let the
     * server read them as new bytes (fuzz/mptcp_pair
     * regress-reinjection-before-peer-fallback.bin: 24,455 bytes read of
     * 16,000). It resets the subflow instead: the server reads no wrong
     * byte, the client never reports a fallback. */
    mptcp_config c = mp_config(false);
    fx_pair p;
    connect_mp(&p, 95, &c);
    mptcp_conn *ca = p.e[0].conn, *cb = p.e[1].conn;
    size_t len = 6000;
    uint8_t *d = malloc(len), back[1000];
    fx_fill(d, len, 95);
    fx_fill(back, sizeof back, 96);
    ck_assert_int_eq(mptcp_send(ca, d, 1000, p.now), 1000);
    ck_assert(fx_pair_run_until(&p, b_read_1000, p.now + 1000000));
    fx_pair_run(&p, p.now + 50000);
    bool hold = true;
    p.filter_arg = &hold;
    p.filter = hold_client_data;
    send_then_resend_from_data_ack(&p, ca, d + 1000, 3000, 2000);
    /* the server's fallback on its own, as its no-DATA_ACK rule does it */
    mptcp_conn_fallback(cb, &cb->mp->sf[0], p.now);
    ck_assert(cb->flags & MPTCP_CF_FALLBACK);
    ck_assert(cb->flags & MPTCP_CF_MP);
    cb->mp->inf_pending = true;
    ck_assert_int_eq(mptcp_send(cb, back, sizeof back, p.now), (int)sizeof back);
    fx_pair_run(&p, p.now + 100000);
    hold = false;
    fx_pair_run(&p, p.now + 5000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_ge(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert_uint_eq(p.e[1].rx_len, 1000);
    ck_assert(memcmp(p.e[1].rx, d, p.e[1].rx_len) == 0);
    ck_assert(!p.e[1].rx_eof);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(mp_fail_on_the_peers_subflow_fin_resets_instead_of_falling_back)
{
    /* RFC 8684 3.7, 3.3.3: the server, waiting for the answer to its
     * MP_FAIL, closes its only subflow (a path manager's close while the
     * connection lives), and the MP_FAIL it repeats rides on that FIN. The
     * client must not fall back on that segment: plain TCP, the FIN would
     * end a stream the server never ended (fuzz/mptcp_pair
     * regress-mp-fail-on-a-subflow-fin.bin: end of stream after 0 bytes).
     * The subflow is reset instead. */
    mptcp_config c = mp_config(true);
    fx_pair p;
    connect_mp(&p, 97, &c);
    mptcp_conn *cb = p.e[1].conn;
    cb->flags |= MPTCP_CF_SEND_FAIL;
    cb->mp->fail_dsn = cb->mp->rcv_nxt;
    /* A peer that closes the subflow with a FIN all the same (ours resets
     * it: closing_any_subflow_while_our_mp_fail_is_unanswered_is_a_reset):
     * the TCB's own shutdown, below the connection's close rules. */
    mptcp_tcb *t = cb->mp->sf[0].t;
    t->flags |= MPTCP_TF_FIN_PENDING;
    mptcp_tcp_set_state(t, MPTCP_TCP_FIN_WAIT_1, p.now);
    mptcp_tcp_output(t, p.now);
    fx_pair_run(&p, p.now + 2000000);
    ck_assert_uint_ge(p.e[0].n_ev[MPTCP_EV_MP_FAIL], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 0);
    ck_assert(!p.e[0].rx_eof);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_PEER_SHUTDOWN], 0);
    ck_assert_uint_ge(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    fx_pair_fini(&p);
}
END_TEST

/* Segments from end |from| with TCP flag |flag|, and how many of those
 * carry |form| (-1: not counted). */
static size_t count_flag(const fx_pair *p, int from, uint16_t flag, int form, size_t *with_form)
{
    size_t n = 0;
    *with_form = 0;
    for (size_t i = 0; i < p->n_log && i < p->log_cap; i++) {
        mptcp_seg s;
        if (p->log_from[i] != from || mptcp_seg_parse(p->log[i].data, p->log[i].len, &s) != 0 ||
            !(s.hdr.flags & flag))
            continue;
        n++;
        if (form >= 0 && seg_has(&p->log[i], (mptcp_opt_form)form, NULL))
            (*with_form)++;
    }
    return n;
}

START_TEST(closing_any_subflow_while_our_mp_fail_is_unanswered_is_a_reset)
{
    /* RFC 8684 3.7, 3.3.3: our MP_FAIL rides on every subflow's segments
     * until the infinite mapping answers it, and a peer left with one
     * subflow falls back onto it when the MP_FAIL arrives there. A FIN we
     * then send on that subflow, to close it while the connection lives,
     * would read there as the end of our stream (fuzz/mptcp_pair
     * regress-fin-after-mp-fail-fallback-on-a-closing-subflow.bin: the
     * server closed its join, not the subflow whose checksum failed, and
     * the client read end of stream). Closing any subflow while the MP_FAIL
     * is unanswered resets it; the client then falls back onto the
     * remaining subflow and both streams go on byte for byte. */
    mptcp_config c = mp_config(true);
    fx_pair p;
    connect_mp(&p, 98, &c);
    join(&p, 3, false);
    mptcp_conn *cb = p.e[1].conn;
    log_on(&p);
    cb->flags |= MPTCP_CF_SEND_FAIL;
    cb->mp->fail_dsn = cb->mp->rcv_nxt;
    mptcp_subflow *join_sf = mptcp_conn_sf_by_id(cb, 1);
    ck_assert_ptr_nonnull(join_sf);
    ck_assert(!join_sf->fail_wait);
    mptcp_conn_sf_close(join_sf, p.now);
    fx_pair_run(&p, p.now + 2000000);
    size_t rst_tcprst, fin_any;
    ck_assert_uint_eq(count_flag(&p, 1, MPTCP_TH_FIN, -1, &fin_any), 0);
    ck_assert_uint_ge(count_flag(&p, 1, MPTCP_TH_RST, MPTCP_OPT_TCPRST, &rst_tcprst), 1);
    ck_assert_uint_ge(rst_tcprst, 1);
    ck_assert_uint_ge(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert(!p.e[0].rx_eof);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_PEER_SHUTDOWN], 0);
    log_off(&p);
    /* The client, alone on the initial subflow, falls back on the MP_FAIL
     * that rides there with the server's data; its infinite mapping answers
     * it, and both streams go on. */
    size_t len = 50000;
    uint8_t *up = malloc(len), *down = malloc(len);
    fx_fill(up, len, 98);
    fx_fill(down, len, 99);
    fx_pair_send(&p, 0, up, len, 1);
    fx_pair_send(&p, 1, down, len, 1);
    ck_assert(fx_pair_run_until(&p, both_eof, p.now + 30000000));
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, up, len) == 0);
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, down, len) == 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 1);
    ck_assert(!(cb->flags & MPTCP_CF_SEND_FAIL));
    free(up);
    free(down);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(fallback_fin_is_no_end_of_stream_while_bytes_are_discarded)
{
    /* RFC 8684 3.7: after a fallback the subflow's FIN ends the stream,
     * but only after the bytes before it went up. A side that sent MP_FAIL
     * discards the peer's bytes until the infinite mapping; a FIN arriving
     * then must not read as end of stream, the bytes before it were lost
     * (fuzz/mptcp_pair regress-early-eof*.bin: recv returned 0 after 0 of
     * the peer's 16768 bytes). */
    mptcp_config c = mp_config(true);
    fx_pair p;
    connect_mp(&p, 93, &c);
    mptcp_conn *ca = p.e[0].conn, *cb = p.e[1].conn;
    uint8_t back[100], d[1000];
    fx_fill(back, sizeof back, 94);
    fx_fill(d, sizeof d, 93);
    mptcp_conn_mp_fail_in(cb, &cb->mp->sf[0], cb->mp->snd_una, p.now);
    ck_assert_int_eq(mptcp_send(cb, back, sizeof back, p.now), (int)sizeof back);
    ck_assert(fx_pair_run_until(&p, a_fell_back, p.now + 2000000));
    /* the server's state after its own MP_FAIL: waiting for the mapping */
    cb->mp->sf[0].fail_wait = true;
    cb->mp->sf[0].fail_lin_known = false;
    ck_assert_int_eq(mptcp_send(ca, d, sizeof d, p.now), (int)sizeof d);
    ck_assert_int_eq(mptcp_shutdown(ca, p.now), 0);
    fx_pair_run(&p, p.now + 2000000);
    ck_assert(!p.e[1].rx_eof);
    ck_assert_uint_eq(p.e[1].rx_len, 0);
    mptcp_ssize n = mptcp_recv(cb, d, sizeof d, p.now);
    ck_assert(n == MPTCP_EAGAIN || n == MPTCP_ECLOSED);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(checksum_failure_with_another_subflow_resets_the_failing_one)
{
    mptcp_config c = mp_config(true);
    fx_pair p;
    connect_mp(&p, 69, &c);
    join(&p, 3, false);
    mbox m = {.from = 0, .first = p.sent[0] + 30, .last = p.sent[0] + 30, .payload_only = true,
              .rewrite = true};
    p.mangle = mbox_mangle;
    p.mangle_arg = &m;
    size_t len = 1u << 20;
    uint8_t *d = send_and_close(&p, 0, len, 69);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    ck_assert_uint_eq(m.done, 1);
    check_received(&p, 1, d, len);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    free(d);
    fx_pair_fini(&p);
}
END_TEST


START_TEST(backup_takes_over_when_the_regular_subflow_fails)
{
    fx_pair p;
    connect_mp(&p, 70, NULL);
    join(&p, 3, true); /* the join is a backup */
    size_t len = 4u << 20;
    uint8_t *d = send_and_close(&p, 1, len, 70); /* a download */
    fx_pair_run(&p, p.now + 100000);
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[1].conn, 1, &s), 0);
    ck_assert_uint_eq(s.tcp.bytes_sent, 0); /* idle while the regular path works */
    ck_assert_uint_lt(p.e[0].rx_len, len);
    blackhole_initial_subflow(&p);
    bool ok = fx_pair_run_until(&p, both_closed, p.now + 300000000);
    if (!ok) {
        mptcp_mp_stats m1;
        mptcp_conn_get_mp_stats(p.e[1].conn, &m1);
        printf("rx %zu snd_una %llu snd_nxt %llu wnd %u reinj %llu\n", p.e[0].rx_len,
               (unsigned long long)m1.snd_una, (unsigned long long)m1.snd_nxt, m1.snd_wnd,
               (unsigned long long)m1.reinjected_bytes);
        for (int i = 0; i < 2; i++) {
            mptcp_subflow_stats t;
            if (mptcp_subflow_get_stats(p.e[1].conn, i, &t) == 0)
                printf(" sf %d state %d usable %d una %u nxt %u sent %llu acked %llu cwnd %u wnd %u rto %u\n", i,
                       t.tcp.state, t.usable, t.tcp.snd_una, t.tcp.snd_nxt,
                       (unsigned long long)t.tcp.bytes_sent, (unsigned long long)t.tcp.bytes_acked,
                       t.tcp.cwnd, t.tcp.snd_wnd, t.tcp.rto_us);
        }
    }
    ck_assert(ok);
    check_received(&p, 0, d, len);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

/* The server's first data segment is rewritten and its 13th to 21st (the
 * rest of its second flight) are lost; the client's ACKs carrying MP_FAIL
 * are lost until the server's retransmission timer fires. */
typedef struct late_fail {
    bool rewritten;
    uint32_t fail_dropped, data_segs, data_dropped;
} late_fail;

static void late_fail_mangle(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    (void)idx;
    late_fail *lf = p->mangle_arg;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    if (from == 1 && *len > doff && !lf->rewritten) {
        seg[doff] ^= 0x5a;
        lf->rewritten = true;
    }
}

static int late_fail_filter(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                            uint64_t *extra)
{
    (void)idx, (void)extra;
    late_fail *lf = p->filter_arg;
    fx_cap c;
    memset(&c, 0, sizeof c);
    if (len > sizeof c.data)
        return FX_PASS;
    if (from == 1) {
        if (len > (size_t)(seg[12] >> 4) * 4 && ++lf->data_segs >= 13 && lf->data_segs <= 21) {
            lf->data_dropped++;
            return FX_DROP;
        }
        return FX_PASS;
    }
    memcpy(c.data, seg, len);
    c.len = len;
    mptcp_subflow_stats ss;
    if (seg_has(&c, MPTCP_OPT_FAIL, NULL) && p->e[1].conn &&
        mptcp_subflow_get_stats(p->e[1].conn, 0, &ss) == 0 && ss.tcp.retrans_segs == 0) {
        lf->fail_dropped++;
        return FX_DROP;
    }
    return FX_PASS;
}

START_TEST(infinite_mapping_starts_a_segment_after_a_retransmission)
{
    /* RFC 8684 3.7: the receiver of MP_FAIL resends from the failing DSN
     * behind an infinite mapping that rides on the segment at lin_ssn, the
     * byte after what it had sent. Here MP_FAIL arrives while the server's
     * subflow retransmits after a timeout (snd_nxt below snd_max): the
     * resent segments must stop at lin_ssn so that one starts there, or the
     * infinite mapping is never sent and the client discards the stream
     * for ever (fuzz/mptcp_pair regress-no-infinite-mapping.bin: a drain
     * stalled with 0 of 12,799 bytes read). */
    mptcp_config c;
    mptcp_config_init(&c);
    c.mptcp = true;
    c.checksum = true;
    c.sack = false; /* go-back-N from the hole: resent segments reach lin_ssn */
    fx_pair p;
    connect_mp(&p, 95, &c);
    late_fail lf = {0};
    p.mangle = late_fail_mangle;
    p.mangle_arg = &lf;
    p.filter = late_fail_filter;
    p.filter_arg = &lf;
    log_on(&p);
    size_t len = 30000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 95);
    fx_pair_send(&p, 1, d, len, 2);
    p.e[0].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    ck_assert(lf.rewritten);
    ck_assert_uint_gt(lf.fail_dropped, 0);
    ck_assert_uint_eq(lf.data_dropped, 9);
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, d, len) == 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_MP_FAIL], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 1);
    /* the infinite mapping went out, at the DSN MP_FAIL named */
    mptcp_opt f, inf;
    ck_assert_ptr_nonnull(find_form(&p, 0, MPTCP_OPT_FAIL, &f));
    bool found = false;
    for (size_t i = 0; i < p.n_log && i < p.log_cap && !found; i++)
        if (p.log_from[i] == 1 && seg_has(&p.log[i], MPTCP_OPT_DSS, &inf) && inf.u.dss.has_map &&
            inf.u.dss.data_len == 0)
            found = true;
    ck_assert(found);
    ck_assert_uint_eq(inf.u.dss.dsn, f.u.fail.dsn);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    log_off(&p);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

static bool a_eof(fx_pair *p) { return p->e[0].rx_eof; }

START_TEST(removing_the_last_subflows_address_waits_for_the_data_ack)
{
    /* RFC 8684 3.3.3: a host MUST NOT close all functioning subflows while
     * data is outstanding. The server removes address ID 0, which its only
     * subflow uses, with 200 kB and its DATA_FIN still to send: the subflow
     * stays until they are DATA_ACKed, then closes, and the client reads
     * the whole stream and its end (fuzz/mptcp_pair
     * regress-remove-last-address.bin: the subflows closed at once and
     * the client waited for the rest for ever). */
    fx_pair p;
    connect_mp(&p, 96, NULL);
    size_t len = 200000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 96);
    fx_pair_send(&p, 1, d, len, 1);
    fx_pair_run(&p, p.now + 20000);
    mptcp_mp_stats m;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[1].conn, &m), 0);
    ck_assert_uint_lt(m.bytes_acked, len);
    ck_assert_int_eq(mptcp_addr_remove(p.e[1].conn, 0, p.now), 0);
    ck_assert(fx_pair_run_until(&p, a_eof, p.now + 20000000));
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, d, len) == 0);
    /* then the address's subflow goes */
    fx_pair_run(&p, p.now + 2000000);
    ck_assert_uint_ge(p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN] + p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

/* While *filter_arg (a hold_join) is set, the server's segments to any client
 * port but the initial subflow's are dropped: a join from the client stays
 * in its handshake (its SYN reaches the server, the SYN/ACK never returns). */
typedef struct hold_join {
    bool on;
    uint16_t port0;
    unsigned dropped;
} hold_join;

static int hold_join_filter(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                            uint64_t *extra)
{
    (void)idx;
    (void)len;
    (void)extra;
    hold_join *h = p->filter_arg;
    uint16_t dport = (uint16_t)(seg[2] << 8 | seg[3]);
    if (from == 1 && h->on && dport != h->port0) {
        h->dropped++;
        return FX_DROP;
    }
    return FX_PASS;
}

/* Connects, then the client opens a join from 10.0.0.3 that the filter
 * holds in its handshake. Returns the join's subflow id. */
static int connect_with_held_join(fx_pair *p, hold_join *h, uint64_t seed)
{
    connect_mp(p, seed, NULL);
    mptcp_addr la;
    mptcp_conn_get_addrs(p->e[0].conn, &la, NULL);
    h->on = true;
    h->port0 = la.port;
    p->filter = hold_join_filter;
    p->filter_arg = h;
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    int id = mptcp_subflow_open(p->e[0].conn, &l, &r, false, p->now);
    ck_assert_int_gt(id, 0);
    fx_pair_run(p, p->now + 300000);
    ck_assert_uint_gt(h->dropped, 0);
    mptcp_subflow_stats ss;
    ck_assert_int_eq(mptcp_subflow_get_stats(p->e[0].conn, id, &ss), 0);
    ck_assert(!ss.usable);
    return id;
}

static bool b_read_13312(fx_pair *p)
{
    return p->e[1].rx_len >= 13312;
}

static bool b_read_all_33312(fx_pair *p)
{
    return p->e[1].rx_len >= 33312;
}

START_TEST(peer_fin_on_a_subflow_is_followed_only_if_another_can_send)
{
    /* The server closes its initial subflow (mptcp_subflow_close; its join
     * in SYN_RECEIVED lets it) while the client's only other subflow is a
     * join still in its handshake. The client keeps its half of the
     * initial subflow (a join that may never finish carries nothing) and
     * sends 13,312 bytes on it; the server reads them byte for byte
     * (fuzz/mptcp_pair regress-no-subflow-left.bin: the client closed its
     * half too and the bytes had no subflow). */
    fx_pair p;
    hold_join h;
    memset(&h, 0, sizeof h);
    connect_with_held_join(&p, &h, 97);
    ck_assert_int_eq(mptcp_subflow_close(p.e[1].conn, 0, p.now), 0);
    fx_pair_run(&p, p.now + 200000);
    mptcp_subflow_stats ss;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 0, &ss), 0);
    ck_assert_int_eq(ss.tcp.state, MPTCP_TCP_CLOSE_WAIT);
    ck_assert(ss.usable);
    size_t len = 13312;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 97);
    fx_pair_send(&p, 0, d, len, 0);
    ck_assert(fx_pair_run_until(&p, b_read_13312, p.now + 5000000));
    check_received(&p, 1, d, len);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 0);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

static bool b_closed(fx_pair *p)
{
    return p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

static bool a_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1;
}

START_TEST(no_subflow_left_to_send_ends_the_connection_after_60_s)
{
    /* The client closes its initial subflow while its only other one is a
     * join held in its handshake, then sends 13,312 bytes after the 20,000
     * the server already read. No subflow can carry them: 60 s later
     * (CONN_NO_SUBFLOW_US, Linux's close_timeout) the connection ends with
     * MPTCP_CLOSE_TIMEOUT, the bytes after the data-level snd_una lost and
     * reported so; the server read exactly the first 20,000, its initial
     * subflow is reset, and it closes when its held join gives up. */
    fx_pair p;
    hold_join h;
    memset(&h, 0, sizeof h);
    connect_with_held_join(&p, &h, 98);
    size_t first = 20000, len = 33312;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 98);
    fx_pair_send(&p, 0, d, first, 0);
    fx_pair_run(&p, p.now + 500000);
    check_received(&p, 1, d, first);
    ck_assert_int_eq(mptcp_subflow_close(p.e[0].conn, 0, p.now), 0);
    fx_pair_run(&p, p.now + 500000);
    mptcp_mp_stats m;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &m), 0);
    uint64_t una0 = m.snd_una;
    ck_assert_int_eq(mptcp_send(p.e[0].conn, d + first, len - first, p.now), (mptcp_ssize)(len - first));
    uint64_t t0 = p.now;
    fx_pair_run(&p, t0 + 59000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &m), 0);
    ck_assert_uint_eq(m.snd_una, una0); /* nothing more was acknowledged */
    ck_assert_uint_eq(m.bytes_acked, first);
    ck_assert(fx_pair_run_until(&p, a_closed, t0 + 61000000));
    ck_assert_uint_ge(p.now, t0 + 60000000);
    ck_assert_int_eq(p.e[0].last_ev[MPTCP_EV_CLOSED].u.closed.reason, MPTCP_CLOSE_TIMEOUT);
    check_received(&p, 1, d, first);
    fx_pair_run(&p, p.now + 1000000);
    ck_assert_uint_ge(p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    /* the server's last subflow, the held join, gives up its handshake */
    ck_assert(fx_pair_run_until(&p, b_closed, p.now + 120000000));
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_TIMEOUT);
    check_received(&p, 1, d, first);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(a_join_that_comes_up_in_time_carries_the_stranded_bytes)
{
    /* The same, but 10 s into the 60 the join's handshake gets through (its
     * SYN retransmission is answered): it carries the 13,312 bytes, the
     * server reads all 33,312 byte for byte, and both ends close normally. */
    fx_pair p;
    hold_join h;
    memset(&h, 0, sizeof h);
    int jid = connect_with_held_join(&p, &h, 99);
    size_t first = 20000, len = 33312;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 99);
    fx_pair_send(&p, 0, d, first, 0);
    fx_pair_run(&p, p.now + 500000);
    check_received(&p, 1, d, first);
    ck_assert_int_eq(mptcp_subflow_close(p.e[0].conn, 0, p.now), 0);
    fx_pair_run(&p, p.now + 500000);
    ck_assert_int_eq(mptcp_send(p.e[0].conn, d + first, len - first, p.now), (mptcp_ssize)(len - first));
    fx_pair_run(&p, p.now + 10000000);
    h.on = false;
    p.e[1].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, b_read_13312, p.now + 40000000));
    ck_assert(fx_pair_run_until(&p, b_read_all_33312, p.now + 40000000));
    check_received(&p, 1, d, len);
    mptcp_subflow_stats ss;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, jid, &ss), 0);
    ck_assert(ss.usable);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert_int_eq(mptcp_close(p.e[0].conn, p.now), 0);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 30000000));
    ck_assert_int_eq(p.e[0].last_ev[MPTCP_EV_CLOSED].u.closed.reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].last_ev[MPTCP_EV_CLOSED].u.closed.reason, MPTCP_CLOSE_NORMAL);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

/* Strips every MPTCP option from the client's data segments on the initial
 * subflow (port *mangle_arg); the held join's segments pass. */
static void strip_data_dss(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    (void)idx;
    uint16_t port0 = *(const uint16_t *)p->mangle_arg;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    if (from == 0 && (uint16_t)(seg[0] << 8 | seg[1]) == port0 && *len > doff)
        fx_strip_mptcp(seg, *len, -1);
}

START_TEST(no_data_ack_falls_back_while_a_join_is_in_its_handshake)
{
    /* RFC 8684 3.7: data acknowledged without a DATA_ACK on the initial
     * subflow "before any additional subflows are added" means MPTCP did
     * not get through: fall back. A join still in its handshake is not an
     * added subflow (it carried nothing; the fallback resets it). Here a
     * middlebox strips the DSS from the client's data: the server falls
     * back on the first data, the client must too, or its data-level
     * retransmission of the same bytes reaches the server's linear stream
     * as new bytes (fuzz/mptcp_pair regress-fallback-with-join-pending.bin:
     * the server read 82 bytes of 41). Both ends report the fallback, the
     * server reads exactly the 30,000 bytes, byte for byte, and both ends
     * close normally. */
    fx_pair p;
    hold_join h;
    memset(&h, 0, sizeof h);
    connect_with_held_join(&p, &h, 100);
    p.mangle = strip_data_dss;
    p.mangle_arg = &h.port0;
    size_t len = 30000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 100);
    fx_pair_send(&p, 0, d, len, 1); /* shut down once all is taken */
    p.e[0].close_on_eof = true;
    p.e[1].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 30000000));
    check_received(&p, 1, d, len);
    ck_assert_uint_ge(p.e[0].n_ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_uint_ge(p.e[1].n_ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    fx_pair_run(&p, p.now + 5000000);
    check_received(&p, 1, d, len);
    free(d);
    fx_pair_fini(&p);
}
END_TEST

/* A middlebox that strips DSS and MP_FAIL both ways and rewrites one byte of
 * the client's first data segment (counted in *mangle_arg). */
static void strip_dss_fail_rewrite_once(fx_pair *p, int from, uint32_t idx, uint8_t *seg,
                                        size_t *len)
{
    (void)idx;
    unsigned *rewritten = p->mangle_arg;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    if (from == 0 && *len > doff && *rewritten == 0) {
        seg[doff] ^= 0x5a;
        (*rewritten)++;
    }
    fx_strip_mptcp(seg, *len, MPTCP_SUB_DSS);
    fx_strip_mptcp(seg, *len, MPTCP_SUB_FAIL);
}

START_TEST(mp_fail_never_answered_then_no_data_ack_resets_instead_of_falling_back)
{
    /* Checksums on; the client's first data rides its third ACK's
     * MP_CAPABLE and has a byte rewritten: the server's checksum fails, it
     * sends MP_FAIL and discards what follows until the infinite mapping
     * (RFC 8684 3.7). A middlebox strips MP_FAIL and DSS, so the client
     * never hears of it, falls back (no DATA_ACK for its data) and sends on
     * unmapped: the server's TCP acknowledges bytes its data level threw
     * away. When the server then falls back as well (its own data is
     * acknowledged without a DATA_ACK), no linear stream can hold the bytes
     * it discarded: it resets the subflow, and both ends report the
     * connection closed with an error instead of the server waiting for
     * ever with the client's bytes acknowledged and lost
     * (fuzz/mptcp_pair regress-mp-fail-stripped-then-fallback.bin). */
    mptcp_config c = mp_config(true);
    fx_pair p;
    fx_pair_init_mp(&p, &c, &c, 101, 5000);
    unsigned rewritten = 0;
    p.mangle = strip_dss_fail_rewrite_once;
    p.mangle_arg = &rewritten;
    fx_pair_connect(&p);
    size_t len = 20000;
    uint8_t *d = malloc(len), *d1 = malloc(len);
    fx_fill(d, len, 101);
    fx_fill(d1, len, 102);
    fx_pair_send(&p, 0, d, len, 0);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_send(&p, 1, d1, len, 0);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 30000000));
    ck_assert_uint_eq(rewritten, 1);
    ck_assert_uint_ge(p.e[1].n_ev[MPTCP_EV_MP_FAIL], 1);
    ck_assert_uint_eq(p.e[1].rx_len, 0); /* nothing of the failed stream was read */
    ck_assert_int_ne(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_ne(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    /* what the client read is the server's bytes, in order */
    ck_assert_uint_le(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, d1, p.e[0].rx_len) == 0);
    free(d);
    free(d1);
    fx_pair_fini(&p);
}
END_TEST

/* Strips DSS from every server segment (a middlebox dropping it one way). */
static void strip_server_dss(fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len)
{
    (void)p;
    (void)idx;
    if (from == 1)
        fx_strip_mptcp(seg, *len, MPTCP_SUB_DSS);
}

START_TEST(subflow_fin_before_a_fallback_is_no_end_of_stream)
{
    /* A middlebox strips DSS from the server's segments. The server closes
     * its only subflow (mptcp_addr_remove of ID 0, nothing of its own
     * outstanding: RFC 8684 3.3.3 lets the connection go on) just as the
     * client sends a byte. That close was a FIN, which the client, falling
     * back on the server's acknowledgment without DATA_ACK (3.7), must not
     * take for the end of the stream (fuzz/mptcp_pair
     * regress-fin-before-one-sided-fallback.bin). No DSS of the client has
     * reached the server yet, so it now resets that last subflow instead
     * (mptcp_conn_sf_close), before the byte arrives. Either way the
     * client reports the connection closed with an error, never an end of
     * stream the server did not send. */
    fx_pair p;
    fx_pair_init_mp(&p, NULL, NULL, 102, 5000);
    p.mangle = strip_server_dss;
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_run(&p, p.now + 50000);
    uint8_t one = 0x42;
    ck_assert_int_eq(mptcp_send(p.e[0].conn, &one, 1, p.now), 1);
    ck_assert_int_eq(mptcp_addr_remove(p.e[1].conn, 0, p.now), 0);
    ck_assert(fx_pair_run_until(&p, a_closed, p.now + 30000000));
    ck_assert(!p.e[0].rx_eof);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_PEER_SHUTDOWN], 0);
    ck_assert_int_ne(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_eq(p.e[1].rx_len, 0); /* reset before the byte came */
    fx_pair_fini(&p);
}
END_TEST

Suite *mptcp_paths_suite(void)
{
    Suite *s = suite_create("mptcp_paths");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, add_addr_is_announced_with_hmac_and_echoed);
    tcase_add_test(tc, mp_prio_sets_backup_both_ways);
    tcase_add_test(tc, remove_addr_closes_the_subflows_of_that_address);
    tcase_add_test(tc, abort_sends_mp_fastclose_and_the_peer_reports_it);
    tcase_add_test(tc, fastclose_key_must_match);
    tcase_add_test(tc, data_finishes_on_the_other_subflow_when_one_dies);
    tcase_add_test(tc, fallback_mp_capable_stripped_from_the_syn_ack);
    tcase_add_test(tc, fallback_mp_capable_stripped_from_the_syn);
    tcase_add_test(tc, fallback_mp_capable_stripped_from_the_third_ack);
    tcase_add_test(tc, fallback_no_dss_on_the_first_data);
    tcase_add_test(tc, mp_join_with_a_bad_hmac_is_reset_with_mp_tcprst);
    tcase_add_test(tc, join_simultaneous_open_is_reset_and_the_connection_goes_on);
    tcase_add_test(tc, signal_endpoint_is_announced_and_used_by_the_peer);
    tcase_add_test(tc, subflow_endpoint_opens_a_join_automatically);
    tcase_add_test(tc, checksum_failure_alone_gives_mp_fail_and_infinite_mapping);
    tcase_add_test(tc, backup_takes_over_when_the_regular_subflow_fails);
    tcase_add_test(tc, checksum_failure_with_another_subflow_resets_the_failing_one);
    tcase_add_test(tc, mp_fail_receiver_keeps_the_peers_mappings_until_it_stops_mapping);
    tcase_add_test(tc, unsolicited_infinite_mapping_after_a_reinjection_resets_the_subflow);
    tcase_add_test(tc, mp_fail_on_the_peers_subflow_fin_resets_instead_of_falling_back);
    tcase_add_test(tc, closing_any_subflow_while_our_mp_fail_is_unanswered_is_a_reset);
    tcase_add_test(tc, fallback_fin_is_no_end_of_stream_while_bytes_are_discarded);
    tcase_add_test(tc, infinite_mapping_starts_a_segment_after_a_retransmission);
    tcase_add_test(tc, removing_the_last_subflows_address_waits_for_the_data_ack);
    tcase_add_test(tc, peer_fin_on_a_subflow_is_followed_only_if_another_can_send);
    tcase_add_test(tc, no_subflow_left_to_send_ends_the_connection_after_60_s);
    tcase_add_test(tc, a_join_that_comes_up_in_time_carries_the_stranded_bytes);
    tcase_add_test(tc, no_data_ack_falls_back_while_a_join_is_in_its_handshake);
    tcase_add_test(tc, mp_fail_never_answered_then_no_data_ack_resets_instead_of_falling_back);
    tcase_add_test(tc, subflow_fin_before_a_fallback_is_no_end_of_stream);
    suite_add_tcase(s, tc);
    return s;
}
