/*
 * Plain TCP scenarios over the simulator: two real stacks (client 10.0.0.1,
 * server 10.0.1.1:80) joined by a path of two links and an optional
 * middlebox. Handshakes (normal, simultaneous open, lost SYN / SYN-ACK /
 * ACK, refused, timeout), bulk transfers both ways under loss, reordering,
 * duplication and corruption, zero window, half-close, RST in every state,
 * TIME_WAIT, keepalive, and the 2^32 sequence wrap. Every transfer is
 * checked byte for byte and by SHA-256; every test ends with the stacks'
 * memory back to where it started. The set-up and teardown are
 * tests/helpers/scn_tcp.c, shared with test_scn_tcp_loss.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "helpers/scn_tcp.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"
#include "sim/sim_seg.h"

#define SEC 1000000ull
#define MS 1000ull

static sim_flow *server_flow(scn *x)
{
    return sim_host_flow(x->srv, 0);
}

static bool client_connected(void *arg)
{
    scn *x = arg;
    sim_flow *s = server_flow(x);
    return sim_host_flow(x->c, 0)->connected && s && s->connected;
}

static bool client_closed(void *arg)
{
    return sim_host_flow(((scn *)arg)->c, 0)->closed;
}

/* A full exchange: client sends |up| bytes, server |down| bytes, both
 * half-close when done and close once the peer's EOF is read. */
static void exchange(scn *x, uint64_t up, uint64_t down, uint64_t limit_us)
{
    sim_flow_cfg sc = {.tx_seed = 22, .tx_bytes = down, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = 11};
    sim_flow_cfg cc = {.tx_seed = 11, .tx_bytes = up, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = 22};
    ck_assert_int_eq(sim_host_listen(x->srv, &x->sip, &sc), 0);
    int err;
    ck_assert_ptr_nonnull(sim_host_connect(x->c, &x->cip, &x->sip, &cc, &err));
    ck_assert_msg(scn_run(x, limit_us, scn_both_closed, x), "transfer did not finish");
    sim_flow *c = sim_host_flow(x->c, 0), *s = server_flow(x);
    ck_assert_msg(sim_flow_rx_ok(s, up),
                  "server got %llu bytes, %llu wrong (want %llu); closed %d/%d at %llu/%llu",
                  (unsigned long long)s->rx.off, (unsigned long long)s->rx.errors,
                  (unsigned long long)up, c->reason, s->reason,
                  (unsigned long long)c->t_closed, (unsigned long long)s->t_closed);
    ck_assert_msg(sim_flow_rx_ok(c, down),
                  "client got %llu bytes, %llu wrong (want %llu); closed %d/%d at %llu/%llu",
                  (unsigned long long)c->rx.off, (unsigned long long)c->rx.errors,
                  (unsigned long long)down, c->reason, s->reason,
                  (unsigned long long)c->t_closed, (unsigned long long)s->t_closed);
    uint8_t a[32], b[32];
    sim_stream_digest(11, up, a);
    sim_check_digest(&s->rx, b);
    ck_assert_mem_eq(a, b, 32);
    sim_stream_digest(22, down, a);
    sim_check_digest(&c->rx, b);
    ck_assert_mem_eq(a, b, 32);
    ck_assert(c->eof && s->eof);
    ck_assert_int_eq(c->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(s->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_msg(c->last_err == 0, "client: %s: %s", c->last_err_op, mptcp_strerror(c->last_err));
    ck_assert_msg(s->last_err == 0, "server: %s: %s", s->last_err_op, mptcp_strerror(s->last_err));
}

/* ---------------------------------------------------------------- handshakes */

START_TEST(handshake_normal_takes_one_rtt)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    sim_flow_cfg none = {0};
    ck_assert_int_eq(sim_host_listen(x.srv, &x.sip, &none), 0);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert(scn_run(&x, 5 * SEC, client_connected, &x));
    /* one RTT (10 ms) plus serialization of two small packets */
    ck_assert_uint_ge(c->t_connected - c->t_open, 10 * MS);
    ck_assert_uint_lt(c->t_connected - c->t_open, 11 * MS);
    ck_assert_uint_eq(c->ev[MPTCP_EV_CONNECTED], 1);
    ck_assert_uint_eq(server_flow(&x)->ev[MPTCP_EV_ACCEPTED], 1);
    ck_assert(sim_flow_stats(c));
    ck_assert_int_eq(c->stats.state, MPTCP_TCP_ESTABLISHED);
    ck_assert(c->stats.sack_ok && c->stats.ts_ok && c->stats.wscale_ok);
    /* 1460 announced; 1448 if the 12 timestamp bytes are taken off */
    ck_assert(c->stats.mss == 1460 || c->stats.mss == 1448);
    mptcp_abort(c->conn, sim_now(x.s));
    scn_finish(&x);
}
END_TEST

START_TEST(handshake_simultaneous_open)
{
    scn x;
    scn_init(&x, &(scn_opts){.seed = 3, .no_listen = true});
    mptcp_addr a = x.cip, b = x.sip;
    a.port = 5000;
    b.port = 6000;
    sim_flow_cfg ca = {.tx_seed = 1, .tx_bytes = 30000, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = 2};
    sim_flow_cfg cb = {.tx_seed = 2, .tx_bytes = 40000, .shutdown_when_sent = true,
                       .close_when_done = true, .rx_seed = 1};
    int err;
    sim_flow *fa = sim_host_connect(x.c, &a, &b, &ca, &err);
    ck_assert_ptr_nonnull(fa);
    sim_flow *fb = sim_host_connect(x.srv, &b, &a, &cb, &err);
    ck_assert_ptr_nonnull(fb);
    ck_assert(scn_run(&x, 30 * SEC, scn_both_closed, &x));
    ck_assert_uint_eq(fa->ev[MPTCP_EV_CONNECTED], 1);
    ck_assert_uint_eq(fb->ev[MPTCP_EV_CONNECTED], 1);
    ck_assert(sim_flow_rx_ok(fa, 40000));
    ck_assert(sim_flow_rx_ok(fb, 30000));
    ck_assert_int_eq(fa->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(fb->reason, MPTCP_CLOSE_NORMAL);
    scn_finish(&x);
}
END_TEST

/* Drops the first segment with exactly these flags on a link. */
typedef struct drop_once {
    uint16_t flags;
    int n; /* how many to drop */
    int dropped;
} drop_once;

static bool drop_flags_filter(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    drop_once *d = ctx;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    size_t plen = sim_seg_payload_len(p->data, p->len);
    if (d->dropped < d->n && h.flags == d->flags && plen == 0) {
        d->dropped++;
        return true;
    }
    return false;
}

static void handshake_with_loss(int which)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    drop_once d = {0};
    d.n = 1;
    if (which == 0) { /* SYN */
        d.flags = MPTCP_TH_SYN;
        sim_link_set_filter(x.path.ab, drop_flags_filter, &d);
    } else if (which == 1) { /* SYN-ACK */
        d.flags = MPTCP_TH_SYN | MPTCP_TH_ACK;
        sim_link_set_filter(x.path.ba, drop_flags_filter, &d);
    } else { /* third ACK; data follows from the client */
        d.flags = MPTCP_TH_ACK;
        sim_link_set_filter(x.path.ab, drop_flags_filter, &d);
    }
    exchange(&x, which == 2 ? 50000 : 20000, 20000, 60 * SEC);
    ck_assert_int_eq(d.dropped, 1);
    sim_flow *c = sim_host_flow(x.c, 0);
    if (which < 2) {
        /* recovered by the SYN retransmission after the initial RTO (1 s) */
        ck_assert_uint_ge(c->t_connected - c->t_open, 1 * SEC);
        ck_assert_uint_lt(c->t_connected - c->t_open, 1 * SEC + 50 * MS);
    }
    scn_finish(&x);
}

START_TEST(handshake_lost_syn)
{
    handshake_with_loss(0);
}
END_TEST

START_TEST(handshake_lost_synack)
{
    handshake_with_loss(1);
}
END_TEST

START_TEST(handshake_lost_third_ack)
{
    handshake_with_loss(2);
}
END_TEST

START_TEST(handshake_lost_third_ack_server_idle)
{
    /* The client has nothing to send: the server's SYN-ACK retransmission
     * gets the ACK repeated and the server accepts. */
    scn x;
    scn_init(&x, &(scn_opts){0});
    drop_once d = {.flags = MPTCP_TH_ACK, .n = 1};
    sim_link_set_filter(x.path.ab, drop_flags_filter, &d);
    sim_flow_cfg none = {0};
    sim_host_listen(x.srv, &x.sip, &none);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 10 * SEC, client_connected, &x));
    ck_assert_int_eq(d.dropped, 1);
    ck_assert_uint_ge(server_flow(&x)->t_connected - c->t_open, 1 * SEC);
    mptcp_abort(c->conn, sim_now(x.s));
    scn_finish(&x);
}
END_TEST

START_TEST(handshake_refused_without_listener)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    sim_flow_cfg none = {0};
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 5 * SEC, client_closed, &x));
    ck_assert_int_eq(c->reason, MPTCP_CLOSE_REFUSED);
    ck_assert_uint_lt(c->t_closed - c->t_open, 11 * MS);
    ck_assert_uint_eq(c->ev[MPTCP_EV_CONNECTED], 0);
    scn_finish(&x);
}
END_TEST

static void short_syn_retries(mptcp_config *c)
{
    c->syn_retries = 3;
}

START_TEST(handshake_times_out_with_backoff)
{
    scn x;
    scn_init(&x, &(scn_opts){.cfg = short_syn_retries});
    sim_link_set_down(x.path.ab, true);
    sim_flow_cfg none = {0};
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 120 * SEC, client_closed, &x));
    ck_assert_int_eq(c->reason, MPTCP_CLOSE_TIMEOUT);
    sim_link_stats st;
    sim_link_get_stats(x.path.ab, &st);
    ck_assert_uint_eq(st.drop_down, 4); /* SYN + 3 retries */
    /* 1 + 2 + 4 + 8 s of exponential backoff (RFC 6298 5.5) */
    ck_assert_uint_ge(c->t_closed - c->t_open, 15 * SEC);
    ck_assert_uint_le(c->t_closed - c->t_open, 16 * SEC);
    scn_finish(&x);
}
END_TEST

/* ---------------------------------------------------------------- bulk */

START_TEST(bulk_client_to_server_clean)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    exchange(&x, 4000000, 0, 60 * SEC);
    sim_flow *c = sim_host_flow(x.c, 0);
    ck_assert_uint_eq(c->stats.retrans_segs, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_server_to_client_clean)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    exchange(&x, 0, 4000000, 60 * SEC);
    /* 4 MB at 50 Mbit/s is 0.64 s of serialization: the transfer should not
     * take much more than that (slow start, a few RTTs) */
    sim_flow *c = sim_host_flow(x.c, 0);
    ck_assert_uint_lt(c->t_eof - c->t_connected, 2 * SEC);
    scn_finish(&x);
}
END_TEST

static const uint32_t loss_table[] = {0, 10000, 20000, 50000, 100000}; /* 0..10% */

START_TEST(bulk_both_ways_with_loss)
{
    uint32_t loss = loss_table[_i];
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 100, loss);
    scn x;
    scn_init(&x, &(scn_opts){.seed = 100 + (uint64_t)_i, .ab = l, .ba = l, .custom_links = true});
    uint64_t n = loss >= 50000 ? 300000 : 1000000;
    exchange(&x, n, n + 12345, 600 * SEC);
    sim_link_stats st;
    sim_link_get_stats(x.path.ab, &st);
    if (loss)
        ck_assert_uint_gt(st.drop_loss, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_with_reordering)
{
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 200, 0);
    l.reorder_ppm = 50000;
    l.reorder_delay_us = 3 * MS;
    scn x;
    scn_init(&x, &(scn_opts){.seed = 7, .ab = l, .ba = l, .custom_links = true});
    exchange(&x, 1000000, 1000000, 120 * SEC);
    sim_link_stats st;
    sim_link_get_stats(x.path.ba, &st);
    ck_assert_uint_gt(st.reorders, 0);
    ck_assert_uint_gt(sim_host_flow(x.c, 0)->stats.ooo_segs_in, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_with_duplication)
{
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 200, 0);
    l.dup_ppm = 50000;
    scn x;
    scn_init(&x, &(scn_opts){.seed = 8, .ab = l, .ba = l, .custom_links = true});
    exchange(&x, 1000000, 1000000, 120 * SEC);
    sim_link_stats st;
    sim_link_get_stats(x.path.ba, &st);
    ck_assert_uint_gt(st.dups, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_with_corruption_drops_bad_checksums)
{
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 200, 0);
    l.corrupt_ppm = 20000;
    scn x;
    scn_init(&x, &(scn_opts){.seed = 9, .ab = l, .ba = l, .custom_links = true});
    exchange(&x, 1000000, 1000000, 300 * SEC);
    sim_link_stats st;
    sim_link_get_stats(x.path.ba, &st);
    ck_assert_uint_gt(st.corrupted, 0);
    mptcp_stack_stats ss;
    mptcp_stack_get_stats(sim_host_stack(x.c), &ss);
    ck_assert_uint_gt(ss.drop_bad_csum, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_with_everything_at_once)
{
    sim_link_cfg l = sim_link_cfg_make(10000000, 30 * MS, 50, 20000);
    l.reorder_ppm = 20000;
    l.reorder_delay_us = 5 * MS;
    l.dup_ppm = 20000;
    l.corrupt_ppm = 10000;
    scn x;
    scn_init(&x, &(scn_opts){.seed = 10, .ab = l, .ba = l, .custom_links = true});
    exchange(&x, 500000, 700000, 600 * SEC);
    scn_finish(&x);
}
END_TEST

START_TEST(bulk_through_nat_tso_and_lro)
{
    sim_mbox_cfg m = {.dirs = SIM_BOTH, .nat = true, .nat_ip = fx_ip4(192, 0, 2, 9, 0),
                      .nat_port_base = 30000, .split_max = 500, .coalesce_max = 8000,
                      .coalesce_hold_us = 200};
    scn x;
    scn_init(&x, &(scn_opts){.seed = 11, .mbox = &m});
    exchange(&x, 1000000, 1000000, 120 * SEC);
    sim_mbox_stats st;
    sim_mbox_get_stats(x.path.mbox, &st);
    ck_assert_uint_gt(st.split_out, st.split_in);
    ck_assert_uint_gt(st.nat_out, 0);
    ck_assert_uint_gt(st.nat_in, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(sequence_numbers_wrap_past_2_32_behind_a_rewriting_firewall)
{
    /* A firewall moves both ISNs just below 2^32: both directions' sequence
     * spaces (and the SACK blocks) wrap during the transfer. */
    sim_mbox_cfg m = {.seq_rewrite = true, .seq_target = true, .isn_a = 0xffffffffu - 300000,
                      .isn_b = 0xffffffffu - 20000};
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 100, 10000);
    scn x;
    scn_init(&x, &(scn_opts){.seed = 12, .mbox = &m, .ab = l, .ba = l, .custom_links = true});
    exchange(&x, 1000000, 1000000, 300 * SEC);
    scn_finish(&x);
}
END_TEST

START_TEST(same_seed_same_transfer)
{
    uint64_t t[2];
    uint32_t rtx[2], segs[2];
    for (int i = 0; i < 2; i++) {
        sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 100, 20000);
        scn x;
        scn_init(&x, &(scn_opts){.seed = 13, .ab = l, .ba = l, .custom_links = true});
        exchange(&x, 300000, 300000, 300 * SEC);
        sim_flow *c = sim_host_flow(x.c, 0);
        t[i] = c->t_closed;
        rtx[i] = c->stats.retrans_segs;
        segs[i] = c->stats.segs_out;
        scn_finish(&x);
    }
    ck_assert_uint_eq(t[0], t[1]);
    ck_assert_uint_eq(rtx[0], rtx[1]);
    ck_assert_uint_eq(segs[0], segs[1]);
}
END_TEST

/* ---------------------------------------------------------------- windows, close */

/* Ten full segments (MSS 1460 - 12 bytes of timestamps): the sender can
 * fill the window exactly, so it really reaches zero. */
static void small_rcvbuf(mptcp_config *c)
{
    c->rcvbuf = 10 * 1448;
}

START_TEST(zero_window_is_probed_and_reopened)
{
    scn x;
    scn_init(&x, &(scn_opts){.seed = 5, .cfg = small_rcvbuf});
    /* the server does not read for 5 s: its window closes */
    sim_flow_cfg sc = {.rx_seed = 11, .rx_start_us = 1 * SEC + 5 * SEC, .shutdown_when_sent = true,
                       .close_when_done = true};
    sim_flow_cfg cc = {.tx_seed = 11, .tx_bytes = 200000, .shutdown_when_sent = true,
                       .close_when_done = true};
    sim_host_listen(x.srv, &x.sip, &sc);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &cc, &err);
    scn_run(&x, 3 * SEC, NULL, NULL);
    sim_flow *s = server_flow(&x);
    ck_assert(sim_flow_stats(c));
    ck_assert_uint_eq(c->stats.snd_wnd, 0);
    ck_assert_uint_eq(s->rx.off, 0);
    ck_assert_uint_le(c->stats.bytes_acked, 10 * 1448 + 1);
    ck_assert(scn_run(&x, 120 * SEC, scn_both_closed, &x));
    ck_assert_uint_gt(c->stats.zero_window_probes, 0);
    ck_assert(sim_flow_rx_ok(s, 200000));
    ck_assert_uint_ge(s->t_eof, 6 * SEC);
    scn_finish(&x);
}
END_TEST

START_TEST(half_close_keeps_the_other_direction_open)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    /* client sends 100 kB and FIN at once; the server keeps sending 2 MB */
    exchange(&x, 100000, 2000000, 60 * SEC);
    sim_flow *c = sim_host_flow(x.c, 0), *s = server_flow(&x);
    ck_assert_uint_eq(s->ev[MPTCP_EV_PEER_SHUTDOWN], 1);
    ck_assert_uint_lt(s->t_eof, c->t_eof); /* the server saw EOF long before the client */
    ck_assert_uint_gt(c->t_eof - s->t_eof, 100 * MS);
    scn_finish(&x);
}
END_TEST

/* RST in each state. The side under test is put in |state| (by shutdowns and
 * links going down), then its peer aborts (a RST with an acceptable sequence
 * number) or, for SYN_RECEIVED, a RST is injected. */
enum { ST_ESTAB, ST_FIN_WAIT_1, ST_FIN_WAIT_2, ST_CLOSE_WAIT, ST_CLOSING, ST_LAST_ACK, ST_N };

static const mptcp_tcp_state rst_states[ST_N] = {
    MPTCP_TCP_ESTABLISHED, MPTCP_TCP_FIN_WAIT_1, MPTCP_TCP_FIN_WAIT_2,
    MPTCP_TCP_CLOSE_WAIT,  MPTCP_TCP_CLOSING,    MPTCP_TCP_LAST_ACK,
};

static void links_down(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    scn *x = arg;
    sim_link_set_down(x->path.ab, true);
    sim_link_set_down(x->path.ba, true);
}

START_TEST(rst_in_every_synchronized_state)
{
    int st = _i;
    scn x;
    scn_init(&x, &(scn_opts){.seed = 20 + (uint64_t)st});
    sim_flow_cfg none = {0};
    sim_host_listen(x.srv, &x.sip, &none);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 5 * SEC, client_connected, &x));
    sim_flow *s = server_flow(&x);
    uint64_t now = sim_now(x.s);
    /* |victim| ends up in the state; |killer| aborts */
    sim_flow *victim = c, *killer = s;
    sim_link *killer_path = x.path.ba; /* killer -> victim */
    switch (st) {
    case ST_ESTAB:
        break;
    case ST_FIN_WAIT_1: /* the client's FIN never arrives */
        sim_link_set_down(x.path.ab, true);
        mptcp_shutdown(c->conn, now);
        break;
    case ST_FIN_WAIT_2:
        mptcp_shutdown(c->conn, now);
        break;
    case ST_CLOSE_WAIT:
        victim = s, killer = c, killer_path = x.path.ab;
        mptcp_shutdown(c->conn, now);
        break;
    case ST_CLOSING: /* FINs cross, their ACKs are lost */
        mptcp_shutdown(c->conn, now);
        mptcp_shutdown(s->conn, now);
        sim_at(x.s, now + 1 * MS, links_down, &x, NULL); /* FINs already on the wire */
        break;
    case ST_LAST_ACK: /* the server's FIN never arrives */
        victim = s, killer = c, killer_path = x.path.ab;
        mptcp_shutdown(c->conn, now);
        scn_run(&x, 100 * MS, NULL, NULL);
        sim_link_set_down(x.path.ba, true);
        mptcp_shutdown(s->conn, sim_now(x.s));
        break;
    }
    scn_run(&x, 200 * MS, NULL, NULL);
    ck_assert(sim_flow_stats(victim));
    ck_assert_msg(victim->stats.state == rst_states[st], "victim in state %d, want %d",
                  victim->stats.state, rst_states[st]);
    ck_assert(!victim->closed);
    /* the killer's path is up; the other stays as it is */
    sim_link_set_down(killer_path, false);
    ck_assert_int_eq(mptcp_abort(killer->conn, sim_now(x.s)), 0);
    scn_run(&x, 1 * SEC, NULL, NULL);
    ck_assert(killer->closed);
    ck_assert_int_eq(killer->reason, MPTCP_CLOSE_ABORTED);
    ck_assert_msg(victim->closed, "state %d: RST did not close", st);
    if (st == ST_CLOSING || st == ST_LAST_ACK) /* RFC 9293: just enter CLOSED */
        ck_assert(victim->reason == MPTCP_CLOSE_RESET || victim->reason == MPTCP_CLOSE_NORMAL);
    else
        ck_assert_int_eq(victim->reason, MPTCP_CLOSE_RESET);
    sim_link_set_down(x.path.ab, false);
    sim_link_set_down(x.path.ba, false);
    scn_finish(&x);
}
END_TEST

typedef struct syn_spy {
    uint32_t syn_seq;
    uint16_t sport;
    bool seen;
} syn_spy;

static bool spy_syn(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    syn_spy *y = ctx;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (h.flags == MPTCP_TH_SYN && !y->seen) {
        y->seen = true;
        y->syn_seq = h.seq;
        y->sport = h.sport;
    }
    return false;
}

START_TEST(rst_in_syn_received_returns_to_listen)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    syn_spy y = {0};
    sim_link_set_filter(x.path.ab, spy_syn, &y);
    sim_link_set_down(x.path.ba, true); /* the SYN-ACK is lost: server sits in SYN_RECEIVED */
    sim_flow_cfg none = {0};
    sim_host_listen(x.srv, &x.sip, &none);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    scn_run(&x, 100 * MS, NULL, NULL);
    ck_assert(y.seen);
    /* A RST from the client's address in the server's window (seq = ISS + 1) */
    uint8_t seg[64];
    sim_tcp h = {y.sport, 80, y.syn_seq + 1, 0, MPTCP_TH_RST, 0};
    int len = sim_seg_build(seg, sizeof(seg), &h, NULL, 0, NULL, 0, &x.cip, &x.sip);
    sim_node_send(sim_host_node(x.c), &x.cip, &x.sip, seg, (size_t)len);
    scn_run(&x, 100 * MS, NULL, NULL);
    mptcp_stack_stats ss;
    mptcp_stack_get_stats(sim_host_stack(x.srv), &ss);
    ck_assert_uint_eq(ss.rst_in, 1);
    ck_assert_uint_eq(sim_host_flow_count(x.srv), 0); /* never accepted */
    /* the listener still works: the client's SYN retransmission connects */
    sim_link_set_down(x.path.ba, false);
    ck_assert(scn_run(&x, 10 * SEC, client_connected, &x));
    mptcp_abort(c->conn, sim_now(x.s));
    scn_finish(&x);
}
END_TEST

/* Drops the client's ACK of the server's FIN (once). */
typedef struct fin_ack_drop {
    uint32_t server_fin_end; /* seq after the server's FIN */
    bool armed, dropped;
} fin_ack_drop;

static bool spy_server_fin(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    fin_ack_drop *d = ctx;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (h.flags & MPTCP_TH_FIN) {
        d->server_fin_end = h.seq + (uint32_t)sim_seg_payload_len(p->data, p->len) + 1;
        d->armed = true;
    }
    return false;
}

static bool drop_ack_of_fin(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    fin_ack_drop *d = ctx;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (d->armed && !d->dropped && (h.flags & MPTCP_TH_ACK) && h.ack == d->server_fin_end) {
        d->dropped = true;
        return true;
    }
    return false;
}

START_TEST(time_wait_answers_a_retransmitted_fin_then_expires)
{
    scn x;
    scn_init(&x, &(scn_opts){0});
    fin_ack_drop d = {0};
    sim_link_set_filter(x.path.ba, spy_server_fin, &d);
    sim_link_set_filter(x.path.ab, drop_ack_of_fin, &d);
    /* the client closes first (it sends nothing): it is the one in TIME_WAIT */
    sim_flow_cfg sc = {.tx_seed = 2, .tx_bytes = 5000, .rx_seed = 1, .close_when_done = true,
                       .shutdown_when_sent = true};
    sim_flow_cfg cc = {.rx_seed = 2, .close_when_done = true, .shutdown_when_sent = true};
    sim_host_listen(x.srv, &x.sip, &sc);
    int err;
    sim_host_connect(x.c, &x.cip, &x.sip, &cc, &err);
    ck_assert(scn_run(&x, 30 * SEC, scn_both_closed, &x));
    ck_assert(d.dropped);
    sim_flow *s = server_flow(&x);
    ck_assert_int_eq(s->reason, MPTCP_CLOSE_NORMAL);
    ck_assert(sim_flow_rx_ok(sim_host_flow(x.c, 0), 5000));
    /* the server's FIN went out twice: the second got the ACK from TIME_WAIT */
    mptcp_stack_stats ss;
    mptcp_stack_get_stats(sim_host_stack(x.srv), &ss);
    ck_assert_uint_ge(ss.retrans_segs, 1);
    /* TIME_WAIT lasts time_wait_us (2 s by default), then the memory goes */
    sim_host_mem m;
    sim_host_get_mem(x.c, &m);
    size_t during = m.cur;
    sim_run_until(x.s, sim_now(x.s) + 3 * SEC);
    sim_host_get_mem(x.c, &m);
    ck_assert_uint_le(m.cur, during);
    ck_assert_uint_eq(m.cur, x.c_mem0);
    scn_finish(&x);
}
END_TEST

START_TEST(rst_in_time_wait_is_counted_and_leaks_nothing)
{
    /* RFC 9293 says a RST in TIME_WAIT closes it; RFC 1337 suggests ignoring
     * it. Either is fine here: the RST must be counted, nothing may leak,
     * and the TIME_WAIT state must still be there when the RST arrives. */
    scn x;
    scn_init(&x, &(scn_opts){.seed = 31});
    fin_ack_drop d = {0};
    syn_spy y = {0};
    sim_link_set_filter(x.path.ba, spy_server_fin, &d);
    sim_link_set_filter(x.path.ab, spy_syn, &y);
    sim_flow_cfg sc = {.tx_seed = 2, .tx_bytes = 3000, .rx_seed = 1, .close_when_done = true,
                       .shutdown_when_sent = true};
    sim_flow_cfg cc = {.rx_seed = 2, .close_when_done = true, .shutdown_when_sent = true};
    sim_host_listen(x.srv, &x.sip, &sc);
    int err;
    sim_host_connect(x.c, &x.cip, &x.sip, &cc, &err);
    ck_assert(scn_run(&x, 30 * SEC, scn_both_closed, &x));
    ck_assert(d.armed && y.seen);
    sim_host_mem m;
    sim_host_get_mem(x.c, &m);
    ck_assert_uint_gt(m.cur, x.c_mem0); /* still in TIME_WAIT */
    uint8_t seg[64];
    sim_tcp h = {80, y.sport, d.server_fin_end, 0, MPTCP_TH_RST, 0};
    int len = sim_seg_build(seg, sizeof(seg), &h, NULL, 0, NULL, 0, &x.sip, &x.cip);
    sim_node_send(sim_host_node(x.srv), &x.sip, &x.cip, seg, (size_t)len);
    scn_run(&x, 100 * MS, NULL, NULL);
    mptcp_stack_stats ss;
    mptcp_stack_get_stats(sim_host_stack(x.c), &ss);
    ck_assert_uint_eq(ss.rst_in, 1);
    ck_assert_uint_eq(sim_host_flow_count(x.c), 1);
    scn_finish(&x);
}
END_TEST

/* The ISN of each side's SYN (client) and SYN-ACK (server). */
typedef struct isn_spy {
    bool seen;
    uint32_t isn;
    uint16_t flags;
} isn_spy;

static bool spy_isn(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    isn_spy *y = ctx;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (h.flags == y->flags && !y->seen) {
        y->seen = true;
        y->isn = h.seq;
    }
    return false;
}

/* Runs the handshake of seed |seed| starting at |start| and returns the
 * client's (side 0) or server's (side 1) ISN. */
static uint32_t observed_isn(uint64_t seed, uint64_t start, int side, const sim_link_cfg *l)
{
    scn x;
    scn_init(&x, &(scn_opts){.seed = seed, .start_us = start, .ab = *l, .ba = *l,
                             .custom_links = true});
    isn_spy c = {.flags = MPTCP_TH_SYN}, sv = {.flags = MPTCP_TH_SYN | MPTCP_TH_ACK};
    sim_link_set_filter(x.path.ab, spy_isn, &c);
    sim_link_set_filter(x.path.ba, spy_isn, &sv);
    sim_flow_cfg none = {0};
    sim_host_listen(x.srv, &x.sip, &none);
    int err;
    sim_flow *f = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 5 * SEC, client_connected, &x));
    ck_assert(c.seen && sv.seen);
    mptcp_abort(f->conn, sim_now(x.s));
    scn_finish(&x);
    return side == 0 ? c.isn : sv.isn;
}

START_TEST(sender_sequence_space_wraps_at_2_32)
{
    /* No middlebox: the stack's own sequence numbers cross 2^32. RFC 6528's
     * ISN is M + F with M = now / 4 us, so starting the clock later by 4 us
     * per unit moves the ISN; a first run finds F, the second starts the
     * clock where the ISN of side _i (0 client, 1 server) is 2^32 - 300000
     * (same links, so the SYN reaches the server at the same offset):
     * its 2 MB transfer crosses the wrap early, under 1% loss. */
    int side = _i;
    uint64_t seed = 40 + (uint64_t)side, t0 = 1 * SEC;
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 100, 10000);
    uint32_t isn0 = observed_isn(seed, t0, side, &l);
    uint32_t target = 0xffffffffu - 300000u;
    uint64_t t1 = t0 + 4 * (uint64_t)(uint32_t)(target - isn0);
    scn x;
    scn_init(&x, &(scn_opts){.seed = seed, .start_us = t1, .ab = l, .ba = l,
                             .custom_links = true});
    isn_spy c = {.flags = MPTCP_TH_SYN}, sv = {.flags = MPTCP_TH_SYN | MPTCP_TH_ACK};
    sim_link_set_filter(x.path.ab, spy_isn, &c);
    sim_link_set_filter(x.path.ba, spy_isn, &sv);
    if (side == 0)
        exchange(&x, 2000000, 1000, 300 * SEC);
    else
        exchange(&x, 1000, 2000000, 300 * SEC);
    ck_assert_uint_eq(side == 0 ? c.isn : sv.isn, target);
    scn_finish(&x);
}
END_TEST

static void keepalive_cfg(mptcp_config *c)
{
    c->keepalive_idle_us = 10 * SEC;
    c->keepalive_intvl_us = 2 * SEC;
    c->keepalive_probes = 3;
}

START_TEST(keepalive_times_out_a_dead_peer)
{
    scn x;
    scn_init(&x, &(scn_opts){.cfg = keepalive_cfg});
    sim_flow_cfg none = {0};
    sim_host_listen(x.srv, &x.sip, &none);
    int err;
    sim_flow *c = sim_host_connect(x.c, &x.cip, &x.sip, &none, &err);
    ck_assert(scn_run(&x, 5 * SEC, client_connected, &x));
    /* alive and idle for a minute: probes are answered, nothing closes */
    scn_run(&x, 60 * SEC, NULL, NULL);
    ck_assert(!c->closed && !server_flow(&x)->closed);
    /* the peer vanishes */
    uint64_t t_dead = sim_now(x.s);
    sim_link_set_down(x.path.ab, true);
    sim_link_set_down(x.path.ba, true);
    ck_assert(scn_run(&x, 120 * SEC, client_closed, &x));
    ck_assert_int_eq(c->reason, MPTCP_CLOSE_TIMEOUT);
    /* at most idle + probes * interval after the last exchange */
    ck_assert_uint_le(c->t_closed - t_dead, 10 * SEC + 3 * 2 * SEC + 1 * SEC);
    sim_link_stats st;
    sim_link_get_stats(x.path.ab, &st);
    ck_assert_uint_ge(st.drop_down, 3);
    scn_run(&x, 120 * SEC, scn_both_closed, &x);
    scn_finish(&x);
}
END_TEST

Suite *scn_tcp_suite(void)
{
    Suite *s = suite_create("scn_tcp");
    TCase *tc = tcase_create("handshake");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_normal_takes_one_rtt);
    tcase_add_test(tc, handshake_simultaneous_open);
    tcase_add_test(tc, handshake_lost_syn);
    tcase_add_test(tc, handshake_lost_synack);
    tcase_add_test(tc, handshake_lost_third_ack);
    tcase_add_test(tc, handshake_lost_third_ack_server_idle);
    tcase_add_test(tc, handshake_refused_without_listener);
    tcase_add_test(tc, handshake_times_out_with_backoff);
    suite_add_tcase(s, tc);
    tc = tcase_create("bulk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bulk_client_to_server_clean);
    tcase_add_test(tc, bulk_server_to_client_clean);
    /* 0%, 1%, 2%, 5%, 10% loss. Both directions at once once caught pure
     * ACKs numbered with the rewound snd_nxt after an RTO (see
     * mptcp_tcp_send_ack): an ACK ping-pong that never delivered the
     * cumulative ACK. */
    tcase_add_loop_test(tc, bulk_both_ways_with_loss, 0, 5);
    tcase_add_test(tc, bulk_with_reordering);
    tcase_add_test(tc, bulk_with_duplication);
    tcase_add_test(tc, bulk_with_corruption_drops_bad_checksums);
    tcase_add_test(tc, bulk_with_everything_at_once);
    tcase_add_test(tc, bulk_through_nat_tso_and_lro);
    tcase_add_test(tc, sequence_numbers_wrap_past_2_32_behind_a_rewriting_firewall);
    tcase_add_loop_test(tc, sender_sequence_space_wraps_at_2_32, 0, 2);
    tcase_add_test(tc, same_seed_same_transfer);
    suite_add_tcase(s, tc);
    tc = tcase_create("close");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, zero_window_is_probed_and_reopened);
    tcase_add_test(tc, half_close_keeps_the_other_direction_open);
    tcase_add_loop_test(tc, rst_in_every_synchronized_state, 0, ST_N);
    tcase_add_test(tc, rst_in_syn_received_returns_to_listen);
    tcase_add_test(tc, time_wait_answers_a_retransmitted_fin_then_expires);
    tcase_add_test(tc, rst_in_time_wait_is_counted_and_leaks_nothing);
    tcase_add_test(tc, keepalive_times_out_a_dead_peer);
    suite_add_tcase(s, tc);
    return s;
}
