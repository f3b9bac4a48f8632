/* The stack against hand-made segments: checksum, malformed headers and
 * options, impossible flags, RST replies for closed ports, the listener's
 * SYN/ACK, RFC 5961 challenge ACKs, ACK of unsent data, PAWS, RST in
 * synchronized states, ICMP, config validation, allocation failures,
 * re-entrancy. Each drop is checked against its named counter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

#define PEER_PORT 1234
static const mptcp_addr *peer(void)
{
    static mptcp_addr a;
    a = fx_addr(9, PEER_PORT);
    return &a;
}
static const mptcp_addr *me(void)
{
    static mptcp_addr a;
    a = fx_addr(2, 80);
    return &a;
}

static mptcp_stack_stats stats(const fx_single *f)
{
    mptcp_stack_stats s;
    mptcp_stack_get_stats(f->st, &s);
    return s;
}

/* A listening stack and an established connection made from crafted
 * segments: the peer uses ISN 1000 and timestamps (TSval 100+). */
typedef struct est {
    fx_single f;
    uint32_t peer_nxt; /* the peer's next sequence number */
    uint32_t my_nxt;   /* the stack's next sequence number (what the peer ACKs) */
    uint32_t tsval;
    mptcp_conn *conn;
} est;

static void ts_opts(uint8_t o[12], uint32_t val, uint32_t ecr)
{
    o[0] = 1;
    o[1] = 1;
    o[2] = 8;
    o[3] = 10;
    for (int i = 0; i < 4; i++) {
        o[4 + i] = (uint8_t)(val >> (24 - 8 * i));
        o[8 + i] = (uint8_t)(ecr >> (24 - 8 * i));
    }
}

static void est_seg(est *e, uint32_t seq, uint16_t flags, const uint8_t *data, size_t len,
                    uint32_t tsval)
{
    uint8_t o[12];
    ts_opts(o, tsval, 0);
    fx_segspec s = {PEER_PORT, 80, seq, e->my_nxt, flags, 65535, o, 12, data, len};
    fx_single_input(&e->f, peer(), me(), &s);
}

static void est_init(est *e, const mptcp_config *cfg)
{
    memset(e, 0, sizeof *e);
    fx_single_init(&e->f, cfg, 42);
    ck_assert_int_eq(mptcp_listen(e->f.st, me()), 0);
    uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 2};
    fx_segspec syn = {PEER_PORT, 80, 1000, 0, MPTCP_TH_SYN, 65535, syn_opts, 20, NULL, 0};
    fx_single_input(&e->f, peer(), me(), &syn);
    ck_assert_uint_eq(e->f.n_out, 1);
    mptcp_seg sa;
    fx_seg_decode(fx_single_last(&e->f, 0), &sa);
    ck_assert_uint_eq(sa.hdr.flags, MPTCP_TH_SYN | MPTCP_TH_ACK);
    ck_assert_uint_eq(sa.hdr.ack, 1001);
    ck_assert(sa.opts.present & MPTCP_TCPO_MSS);
    ck_assert(sa.opts.present & MPTCP_TCPO_SACK_PERM);
    ck_assert(sa.opts.present & MPTCP_TCPO_TS);
    ck_assert(sa.opts.present & MPTCP_TCPO_WSCALE);
    ck_assert_uint_eq(sa.opts.ts_ecr, 100);
    e->my_nxt = sa.hdr.seq + 1;
    e->peer_nxt = 1001;
    e->tsval = 101;
    est_seg(e, e->peer_nxt, MPTCP_TH_ACK, NULL, 0, e->tsval);
    ck_assert_uint_eq(fx_single_count_ev(&e->f, MPTCP_EV_ACCEPTED), 1);
    e->conn = e->f.ev_conn[e->f.n_ev - 1];
}

START_TEST(listener_answers_syn_with_negotiated_options)
{
    est e;
    est_init(&e, NULL);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_int_eq(cs.state, MPTCP_TCP_ESTABLISHED);
    ck_assert(cs.ts_ok && cs.sack_ok && cs.wscale_ok);
    ck_assert_uint_eq(cs.snd_wscale, 2);
    ck_assert_uint_eq(cs.snd_wnd, 65535u << 2);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(bad_checksum_is_dropped_and_counted)
{
    fx_single f;
    fx_single_init(&f, NULL, 1);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    uint8_t buf[64];
    fx_segspec syn = {PEER_PORT, 80, 5, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
    size_t len = fx_seg_build(buf, sizeof buf, &syn, peer(), me());
    buf[17] ^= 0x01;
    ck_assert_int_eq(mptcp_input(f.st, peer(), me(), buf, len, 0), 0);
    ck_assert_uint_eq(stats(&f).drop_bad_csum, 1);
    ck_assert_uint_eq(f.n_out, 0);
    fx_single_fini(&f);
    /* with trust_checksum the host vouches for it: the SYN is answered */
    mptcp_config c;
    mptcp_config_init(&c);
    c.trust_checksum = true;
    fx_single_init(&f, &c, 1);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    ck_assert_int_eq(mptcp_input(f.st, peer(), me(), buf, len, 0), 0);
    ck_assert_uint_eq(stats(&f).drop_bad_csum, 0);
    ck_assert_uint_eq(f.n_out, 1);
    fx_single_fini(&f);
}
END_TEST

START_TEST(malformed_headers_and_options_are_dropped)
{
    fx_single f;
    fx_single_init(&f, NULL, 2);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    uint8_t buf[64];
    /* shorter than a header */
    ck_assert_int_eq(mptcp_input(f.st, peer(), me(), buf, 10, 0), 0);
    /* data offset below 5 and beyond the segment */
    fx_segspec s = {PEER_PORT, 80, 5, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
    size_t len = fx_seg_build(buf, sizeof buf, &s, peer(), me());
    buf[12] = 4 << 4;
    mptcp_tcp_csum_fill(buf, len, peer(), me());
    mptcp_input(f.st, peer(), me(), buf, len, 0);
    buf[12] = 15 << 4;
    mptcp_tcp_csum_fill(buf, len, peer(), me());
    mptcp_input(f.st, peer(), me(), buf, len, 0);
    /* an option with length 0, and one running past the header */
    uint8_t bad1[4] = {2, 0, 0, 0}, bad2[4] = {1, 8, 10, 0};
    s.opts = bad1;
    s.opts_len = 4;
    fx_single_input(&f, peer(), me(), &s);
    s.opts = bad2;
    fx_single_input(&f, peer(), me(), &s);
    ck_assert_uint_eq(stats(&f).drop_malformed, 5);
    ck_assert_uint_eq(f.n_out, 0);
    /* a known option with a wrong length is ignored, the SYN is answered */
    uint8_t odd[4] = {2, 3, 5, 1}; /* MSS with length 3 */
    s.opts = odd;
    fx_single_input(&f, peer(), me(), &s);
    ck_assert_uint_eq(stats(&f).bad_options, 1);
    ck_assert_uint_eq(f.n_out, 1);
    fx_single_fini(&f);
}
END_TEST

START_TEST(impossible_flags_are_dropped_silently)
{
    fx_single f;
    fx_single_init(&f, NULL, 3);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    const uint16_t flags[] = {MPTCP_TH_SYN | MPTCP_TH_FIN, MPTCP_TH_SYN | MPTCP_TH_RST, 0,
                              MPTCP_TH_FIN, MPTCP_TH_PSH | MPTCP_TH_URG};
    for (size_t i = 0; i < 5; i++) {
        fx_segspec s = {PEER_PORT, 80, 5, 0, flags[i], 1000, NULL, 0, NULL, 0};
        fx_single_input(&f, peer(), me(), &s);
    }
    ck_assert_uint_eq(stats(&f).drop_bad_flags, 5);
    ck_assert_uint_eq(f.n_out, 0);
    fx_single_fini(&f);
}
END_TEST

START_TEST(closed_port_gets_rst_but_rst_gets_nothing)
{
    fx_single f;
    fx_single_init(&f, NULL, 4);
    mptcp_addr closed = fx_addr(2, 81);
    fx_segspec syn = {PEER_PORT, 81, 777, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
    fx_single_input(&f, peer(), &closed, &syn);
    mptcp_seg r;
    fx_seg_decode(fx_single_last(&f, 0), &r);
    ck_assert_uint_eq(r.hdr.flags, MPTCP_TH_RST | MPTCP_TH_ACK);
    ck_assert_uint_eq(r.hdr.seq, 0);
    ck_assert_uint_eq(r.hdr.ack, 778);
    uint8_t data[10] = {0};
    fx_segspec ack = {PEER_PORT, 81, 777, 4242, MPTCP_TH_ACK, 1000, NULL, 0, data, 10};
    fx_single_input(&f, peer(), &closed, &ack);
    fx_seg_decode(fx_single_last(&f, 0), &r);
    ck_assert_uint_eq(r.hdr.flags, MPTCP_TH_RST);
    ck_assert_uint_eq(r.hdr.seq, 4242);
    fx_segspec rst = {PEER_PORT, 81, 777, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
    fx_single_input(&f, peer(), &closed, &rst);
    ck_assert_uint_eq(f.n_out, 2);
    ck_assert_uint_eq(stats(&f).drop_no_conn, 3);
    ck_assert_uint_eq(stats(&f).rst_out, 2);
    fx_single_fini(&f);
}
END_TEST

START_TEST(in_window_rst_not_at_rcv_nxt_gets_challenge_ack)
{
    est e;
    est_init(&e, NULL);
    size_t out = e.f.n_out;
    fx_segspec rst = {PEER_PORT, 80, e.peer_nxt + 100, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
    fx_single_input(&e.f, peer(), me(), &rst);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    mptcp_seg a;
    fx_seg_decode(fx_single_last(&e.f, 0), &a);
    ck_assert_uint_eq(a.hdr.flags, MPTCP_TH_ACK);
    ck_assert_uint_eq(a.hdr.ack, e.peer_nxt);
    ck_assert_uint_eq(stats(&e.f).challenge_acks, 1);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 0);
    /* out of window: dropped without an answer */
    rst.seq = e.peer_nxt + 10000000;
    fx_single_input(&e.f, peer(), me(), &rst);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    ck_assert_uint_eq(stats(&e.f).drop_out_of_window, 1);
    /* exactly at rcv_nxt: the connection is reset */
    rst.seq = e.peer_nxt;
    fx_single_input(&e.f, peer(), me(), &rst);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 1);
    ck_assert_int_eq(e.f.ev[e.f.n_ev - 1].u.closed.reason, MPTCP_CLOSE_RESET);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(in_window_syn_gets_challenge_ack)
{
    est e;
    est_init(&e, NULL);
    size_t out = e.f.n_out;
    fx_segspec syn = {PEER_PORT, 80, e.peer_nxt + 5, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
    fx_single_input(&e.f, peer(), me(), &syn);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    mptcp_seg a;
    fx_seg_decode(fx_single_last(&e.f, 0), &a);
    ck_assert_uint_eq(a.hdr.flags, MPTCP_TH_ACK);
    ck_assert_uint_eq(a.hdr.ack, e.peer_nxt);
    ck_assert_uint_eq(stats(&e.f).challenge_acks, 1);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_int_eq(cs.state, MPTCP_TCP_ESTABLISHED);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(ack_of_unsent_data_is_dropped_and_acked)
{
    est e;
    est_init(&e, NULL);
    size_t out = e.f.n_out;
    uint8_t d[5] = {1, 2, 3, 4, 5};
    uint8_t o[12];
    ts_opts(o, ++e.tsval, 0);
    fx_segspec s = {PEER_PORT, 80, e.peer_nxt, e.my_nxt + 5000, MPTCP_TH_ACK, 1000, o, 12, d, 5};
    fx_single_input(&e.f, peer(), me(), &s);
    ck_assert_uint_eq(stats(&e.f).drop_bad_ack, 1);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_uint_eq(cs.bytes_received, 0); /* the data was not taken */
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(data_in_order_out_of_window_and_paws)
{
    est e;
    est_init(&e, NULL);
    uint8_t d[100];
    fx_fill(d, sizeof d, 5);
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK | MPTCP_TH_PSH, d, 100, ++e.tsval);
    uint8_t got[200];
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, 0), 100);
    ck_assert(memcmp(got, d, 100) == 0);
    e.peer_nxt += 100;
    /* an old timestamp: PAWS drops it (even though in window) */
    size_t out = e.f.n_out;
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, 100, e.tsval - 5);
    ck_assert_uint_eq(stats(&e.f).drop_paws, 1);
    ck_assert_uint_eq(e.f.n_out, out + 1); /* answered by an ACK */
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, 0), MPTCP_EAGAIN);
    /* beyond the window: dropped and ACKed */
    est_seg(&e, e.peer_nxt + 5000000, MPTCP_TH_ACK, d, 100, ++e.tsval);
    ck_assert_uint_eq(stats(&e.f).drop_out_of_window, 1);
    /* an old duplicate (entirely below rcv_nxt): ACKed, not delivered again */
    est_seg(&e, e.peer_nxt - 100, MPTCP_TH_ACK, d, 100, ++e.tsval);
    ck_assert_uint_eq(stats(&e.f).drop_out_of_window, 2);
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, 0), MPTCP_EAGAIN);
    /* out of order then the hole: both delivered in order, SACK advertised */
    est_seg(&e, e.peer_nxt + 50, MPTCP_TH_ACK, d + 50, 50, ++e.tsval);
    mptcp_seg a;
    fx_seg_decode(fx_single_last(&e.f, 0), &a);
    ck_assert(a.opts.present & MPTCP_TCPO_SACK);
    ck_assert_uint_eq(a.opts.sack[0].left, e.peer_nxt + 50);
    ck_assert_uint_eq(a.opts.sack[0].right, e.peer_nxt + 100);
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, 50, ++e.tsval);
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, 0), 100);
    ck_assert(memcmp(got, d, 100) == 0);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(rst_in_each_synchronized_state_closes)
{
    /* ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, LAST_ACK: a RST at rcv_nxt closes
     * with MPTCP_CLOSE_RESET. */
    for (int variant = 0; variant < 4; variant++) {
        est e;
        est_init(&e, NULL);
        if (variant == 1 || variant == 3) { /* peer FIN: CLOSE_WAIT */
            est_seg(&e, e.peer_nxt, MPTCP_TH_ACK | MPTCP_TH_FIN, NULL, 0, ++e.tsval);
            e.peer_nxt++;
        }
        if (variant >= 2) /* our FIN: FIN_WAIT_1 or LAST_ACK */
            ck_assert_int_eq(mptcp_shutdown(e.conn, 0), 0);
        mptcp_conn_stats cs;
        mptcp_conn_get_stats(e.conn, &cs);
        const int want[4] = {MPTCP_TCP_ESTABLISHED, MPTCP_TCP_CLOSE_WAIT, MPTCP_TCP_FIN_WAIT_1,
                             MPTCP_TCP_LAST_ACK};
        ck_assert_int_eq(cs.state, want[variant]);
        fx_segspec rst = {PEER_PORT, 80, e.peer_nxt, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
        fx_single_input(&e.f, peer(), me(), &rst);
        ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 1);
        ck_assert_int_eq(e.f.ev[e.f.n_ev - 1].u.closed.reason, MPTCP_CLOSE_RESET);
        fx_single_fini(&e.f);
    }
}
END_TEST

START_TEST(rst_in_fin_wait_2_and_time_wait)
{
    est e;
    est_init(&e, NULL);
    ck_assert_int_eq(mptcp_shutdown(e.conn, 0), 0);
    e.my_nxt++; /* the peer acknowledges our FIN */
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, NULL, 0, ++e.tsval);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_int_eq(cs.state, MPTCP_TCP_FIN_WAIT_2);
    fx_segspec rst = {PEER_PORT, 80, e.peer_nxt, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
    fx_single_input(&e.f, peer(), me(), &rst);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 1);
    ck_assert_int_eq(e.f.ev[e.f.n_ev - 1].u.closed.reason, MPTCP_CLOSE_RESET);
    fx_single_fini(&e.f);

    est_init(&e, NULL);
    ck_assert_int_eq(mptcp_shutdown(e.conn, 0), 0);
    e.my_nxt++;
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK | MPTCP_TH_FIN, NULL, 0, ++e.tsval);
    e.peer_nxt++;
    /* TIME_WAIT: the orderly close is reported, the TCB lingers */
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 1);
    ck_assert_int_eq(e.f.ev[e.f.n_ev - 1].u.closed.reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_ne(mptcp_next_timeout(e.f.st), UINT64_MAX);
    /* a retransmitted FIN is ACKed again */
    size_t out = e.f.n_out;
    est_seg(&e, e.peer_nxt - 1, MPTCP_TH_ACK | MPTCP_TH_FIN, NULL, 0, ++e.tsval);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    /* a RST ends TIME_WAIT early, silently */
    rst.seq = e.peer_nxt;
    fx_single_input(&e.f, peer(), me(), &rst);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 1);
    ck_assert_uint_eq(mptcp_next_timeout(e.f.st), UINT64_MAX);
    ck_assert_uint_eq(e.f.n_out, out + 1);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(rst_in_syn_received_frees_silently)
{
    fx_single f;
    fx_single_init(&f, NULL, 6);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    fx_segspec syn = {PEER_PORT, 80, 50, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
    fx_single_input(&f, peer(), me(), &syn);
    size_t live = f.alloc.live_blocks;
    fx_segspec rst = {PEER_PORT, 80, 51, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
    fx_single_input(&f, peer(), me(), &rst);
    ck_assert_uint_eq(f.n_ev, 0);
    ck_assert_uint_lt(f.alloc.live_blocks, live);
    ck_assert_uint_eq(mptcp_next_timeout(f.st), UINT64_MAX);
    fx_single_fini(&f);
}
END_TEST

START_TEST(syn_flood_is_bounded_by_max_conns)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.max_conns = 4;
    fx_single f;
    fx_single_init(&f, &c, 7);
    ck_assert_int_eq(mptcp_listen(f.st, me()), 0);
    for (uint16_t i = 0; i < 10; i++) {
        mptcp_addr src = fx_addr(9, (uint16_t)(2000 + i));
        fx_segspec syn = {src.port, 80, 50, 0, MPTCP_TH_SYN, 1000, NULL, 0, NULL, 0};
        fx_single_input(&f, &src, me(), &syn);
    }
    ck_assert_uint_eq(stats(&f).drop_listen_overflow, 6);
    ck_assert_uint_eq(f.n_out, 4);
    /* embryonic connections time out after the SYN/ACK retries */
    f.now = 600000000;
    ck_assert_int_eq(mptcp_handle_timeout(f.st, f.now), 0);
    for (int i = 0; i < 20 && mptcp_next_timeout(f.st) != UINT64_MAX; i++)
        mptcp_handle_timeout(f.st, mptcp_next_timeout(f.st));
    ck_assert_uint_eq(mptcp_next_timeout(f.st), UINT64_MAX);
    fx_single_fini(&f);
}
END_TEST

START_TEST(icmp_unreach_and_mtu)
{
    fx_single f;
    fx_single_init(&f, NULL, 8);
    mptcp_addr l = fx_addr(2, 0), r = fx_addr(9, 443);
    mptcp_conn *c;
    ck_assert_int_eq(mptcp_connect(f.st, &l, &r, 0, &c), 0);
    mptcp_addr la;
    mptcp_conn_get_addrs(c, &la, NULL);
    mptcp_addr other = fx_addr(9, 444);
    ck_assert_int_eq(mptcp_icmp_unreach(f.st, &la, &other, 0), MPTCP_ENOTFOUND);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(c, &cs);
    ck_assert_uint_eq(cs.mss, 536); /* RFC 9293 default until the SYN/ACK says more */
    ck_assert_int_eq(mptcp_icmp_mtu(f.st, &la, &r, 500, 0), 0);
    mptcp_conn_get_stats(c, &cs);
    ck_assert_uint_eq(cs.mss, 460);
    ck_assert_int_eq(mptcp_icmp_mtu(f.st, &la, &r, 40, 0), 0); /* below 68: ignored */
    mptcp_conn_get_stats(c, &cs);
    ck_assert_uint_eq(cs.mss, 460);
    ck_assert_int_eq(mptcp_icmp_unreach(f.st, &la, &r, 0), 0);
    ck_assert_uint_eq(fx_single_count_ev(&f, MPTCP_EV_CLOSED), 1);
    ck_assert_int_eq(f.ev[f.n_ev - 1].u.closed.reason, MPTCP_CLOSE_UNREACHABLE);
    fx_single_fini(&f);
}
END_TEST

static void noop_send(void *user, const mptcp_addr *src, const mptcp_addr *dst,
                      const uint8_t *seg, size_t len)
{
    (void)user;
    (void)src;
    (void)dst;
    (void)seg;
    (void)len;
}

START_TEST(config_validation_rejects_nonsense)
{
    uint64_t rng = 1;
    mptcp_callbacks nosend = {NULL, NULL, fx_random, NULL};
    ck_assert_ptr_null(mptcp_stack_new(NULL, &nosend, &rng));
    mptcp_callbacks ok = {noop_send, NULL, fx_random, NULL};
    mptcp_config c;
    mptcp_config_init(&c);
    c.rcvbuf = 100; /* smaller than one segment */
    ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
    mptcp_config_init(&c);
    c.delack_us = 300000; /* not below rto_min */
    ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
    mptcp_config_init(&c);
    c.struct_size = 3;
    ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
    mptcp_config_init(&c);
    c.max_conns = 0;
    ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
    mptcp_config_init(&c);
    c.cc = (mptcp_cc_algo)7;
    ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
    mptcp_stack *st = mptcp_stack_new(NULL, &ok, &rng); /* defaults, malloc */
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(mptcp_stack_free(st), 0);
}
END_TEST

START_TEST(allocation_failures_are_clean)
{
    /* mptcp_stack_new makes 7 allocations; failing any gives NULL, no leak. */
    for (uint64_t n = 1; n <= 7; n++) {
        fx_alloc a;
        memset(&a, 0, sizeof a);
        a.fail_at = n;
        mptcp_config c;
        mptcp_config_init(&c);
        c.alloc = fx_allocator(&a);
        uint64_t rng = 5;
        mptcp_callbacks ok = {noop_send, NULL, fx_random, NULL};
        ck_assert_ptr_null(mptcp_stack_new(&c, &ok, &rng));
        ck_assert_uint_eq(a.live_bytes, 0);
    }
    /* connect: the connection, the TCB, then its buffers */
    for (uint64_t n = 8; n <= 10; n++) {
        fx_alloc a;
        memset(&a, 0, sizeof a);
        a.fail_at = n;
        mptcp_config c;
        mptcp_config_init(&c);
        c.alloc = fx_allocator(&a);
        uint64_t rng = 5;
        mptcp_callbacks ok = {noop_send, NULL, fx_random, NULL};
        mptcp_stack *st = mptcp_stack_new(&c, &ok, &rng);
        ck_assert_ptr_nonnull(st);
        mptcp_addr l = fx_addr(2, 0), r = fx_addr(9, 443);
        mptcp_conn *conn;
        ck_assert_int_eq(mptcp_connect(st, &l, &r, 0, &conn), MPTCP_ENOMEM);
        mptcp_stack_stats ss;
        mptcp_stack_get_stats(st, &ss);
        ck_assert_uint_eq(ss.drop_no_mem, 1);
        ck_assert_int_eq(mptcp_stack_free(st), 0);
        ck_assert_uint_eq(a.live_bytes, 0);
    }
}
END_TEST

/* Re-entrancy: from inside the event callback input/timeout/free are refused. */
static struct {
    mptcp_stack *st;
    int input_rc, timeout_rc, free_rc;
    int seen;
} reent;

static void reent_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    (void)user;
    (void)c;
    (void)ev;
    uint8_t seg[20] = {0};
    mptcp_addr a = fx_addr(1, 1);
    reent.input_rc = mptcp_input(reent.st, &a, &a, seg, sizeof seg, 0);
    reent.timeout_rc = mptcp_handle_timeout(reent.st, 0);
    reent.free_rc = mptcp_stack_free(reent.st);
    reent.seen++;
}

START_TEST(entry_points_refuse_reentry_from_callbacks)
{
    uint64_t rng = 9;
    mptcp_callbacks cb = {noop_send, reent_event, fx_random, NULL};
    reent.st = mptcp_stack_new(NULL, &cb, &rng);
    ck_assert_ptr_nonnull(reent.st);
    mptcp_addr l = fx_addr(2, 0), r = fx_addr(9, 443);
    mptcp_conn *c;
    ck_assert_int_eq(mptcp_connect(reent.st, &l, &r, 0, &c), 0);
    ck_assert_int_eq(mptcp_abort(c, 0), 0); /* MPTCP_EV_CLOSED is delivered */
    ck_assert_int_eq(reent.seen, 1);
    ck_assert_int_eq(reent.input_rc, MPTCP_EBUSY);
    ck_assert_int_eq(reent.timeout_rc, MPTCP_EBUSY);
    ck_assert_int_eq(reent.free_rc, MPTCP_EBUSY);
    ck_assert_int_eq(mptcp_stack_free(reent.st), 0);
}
END_TEST

START_TEST(time_going_backwards_is_counted_not_trusted)
{
    fx_single f;
    fx_single_init(&f, NULL, 10);
    ck_assert_int_eq(mptcp_handle_timeout(f.st, 5000000), 0);
    ck_assert_int_eq(mptcp_handle_timeout(f.st, 4000000), 0);
    ck_assert_uint_eq(stats(&f).time_backwards, 1);
    fx_single_fini(&f);
}
END_TEST

/* ------------------------------------------------- RFC 5961 section 7, D-SACK */

/* An ACK from the peer with timestamps and the SACK blocks |b| (n of them). */
static void est_sack(est *e, uint32_t ack, const mptcp_sack_block *b, unsigned n)
{
    uint8_t o[12 + 4 + 32];
    ts_opts(o, ++e->tsval, 0);
    o[12] = 1;
    o[13] = 1;
    o[14] = 5;
    o[15] = (uint8_t)(2 + 8 * n);
    for (unsigned k = 0; k < n; k++) {
        for (int i = 0; i < 4; i++) {
            o[16 + 8 * k + i] = (uint8_t)(b[k].left >> (24 - 8 * i));
            o[20 + 8 * k + i] = (uint8_t)(b[k].right >> (24 - 8 * i));
        }
    }
    fx_segspec sp = {PEER_PORT, 80, e->peer_nxt, ack, MPTCP_TH_ACK, 65535, o, 16 + 8 * n,
                     NULL, 0};
    fx_single_input(&e->f, peer(), me(), &sp);
}

/* The latest segment the stack sent, decoded. */
static mptcp_seg last_out(const est *e)
{
    mptcp_seg a;
    fx_seg_decode(fx_single_last(&e->f, 0), &a);
    return a;
}

/* A flood of what a blind attacker can send (in-window RSTs and SYNs, pure
 * ACKs out of window, ACKs of unsent data, data beyond the window), all in
 * one instant: |n| of each. Returns the answers the stack sent. */
static size_t flood(est *e, unsigned n)
{
    size_t out = e->f.n_out;
    uint8_t d[10] = {0};
    for (unsigned i = 0; i < n; i++) {
        fx_segspec rst = {PEER_PORT, 80, e->peer_nxt + 100 + i, 0, MPTCP_TH_RST, 0, NULL, 0,
                          NULL, 0};
        fx_single_input(&e->f, peer(), me(), &rst);
        fx_segspec syn = {PEER_PORT, 80, e->peer_nxt + 7 + i, 0, MPTCP_TH_SYN, 1000, NULL, 0,
                          NULL, 0};
        fx_single_input(&e->f, peer(), me(), &syn);
        est_seg(e, e->peer_nxt + 3000000 + i, MPTCP_TH_ACK, NULL, 0, e->tsval);
        est_seg(e, e->peer_nxt + 3000000 + i, MPTCP_TH_ACK, d, sizeof d, e->tsval);
        fx_segspec bad = {PEER_PORT, 80, e->peer_nxt, e->my_nxt + 100000 + i, MPTCP_TH_ACK,
                          65535, NULL, 0, NULL, 0};
        fx_single_input(&e->f, peer(), me(), &bad);
    }
    return e->f.n_out - out;
}

START_TEST(ack_throttle_bounds_answers_per_interval)
{
    est e;
    est_init(&e, NULL); /* defaults: 1 answer per 500 ms per connection */
    mptcp_stack_stats s0 = stats(&e.f);
    ck_assert_uint_eq(flood(&e, 40), 1);
    mptcp_stack_stats s1 = stats(&e.f);
    ck_assert_uint_eq(s1.acks_ratelimited - s0.acks_ratelimited, 5 * 40 - 1);
    ck_assert_uint_eq(s1.challenge_acks - s0.challenge_acks, 1);
    /* still inside the interval: nothing */
    e.f.now += 499999;
    ck_assert_uint_eq(flood(&e, 3), 0);
    /* the next interval: one more */
    e.f.now += 1;
    ck_assert_uint_eq(flood(&e, 3), 1);
    /* the connection is unharmed: data in order is taken and ACKed */
    uint8_t d[200], got[300];
    fx_fill(d, sizeof d, 9);
    size_t out = e.f.n_out;
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK | MPTCP_TH_PSH, d, sizeof d, ++e.tsval);
    e.peer_nxt += sizeof d;
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, e.f.now), (int)sizeof d);
    ck_assert(memcmp(got, d, sizeof d) == 0);
    e.f.now += 100000; /* the delayed ACK */
    mptcp_handle_timeout(e.f.st, e.f.now);
    ck_assert_uint_gt(e.f.n_out, out);
    ck_assert_uint_eq(last_out(&e).hdr.ack, e.peer_nxt);
    mptcp_conn_stats cs;
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_int_eq(cs.state, MPTCP_TCP_ESTABLISHED);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_CLOSED), 0);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(ack_throttle_is_configurable)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.ack_limit = 7;
    c.ack_limit_us = 1000000;
    est e;
    est_init(&e, &c);
    ck_assert_uint_eq(flood(&e, 20), 7);
    e.f.now += 999999;
    ck_assert_uint_eq(flood(&e, 2), 0);
    e.f.now += 1;
    ck_assert_uint_eq(flood(&e, 20), 7);
    fx_single_fini(&e.f);
    /* 0: no limit, every one answered */
    mptcp_config_init(&c);
    c.ack_limit = 0;
    est_init(&e, &c);
    ck_assert_uint_eq(flood(&e, 10), 50);
    ck_assert_uint_eq(stats(&e.f).acks_ratelimited, 0);
    fx_single_fini(&e.f);
    /* out-of-range settings are refused */
    uint64_t rng = 1;
    mptcp_callbacks cb = {noop_send, NULL, fx_random, NULL};
    mptcp_config_init(&c);
    c.ack_limit = 256;
    ck_assert_ptr_null(mptcp_stack_new(&c, &cb, &rng));
    mptcp_config_init(&c);
    c.ack_limit_us = 0;
    ck_assert_ptr_null(mptcp_stack_new(&c, &cb, &rng));
    mptcp_config_init(&c);
    c.ack_limit_us = 0x80000000u;
    ck_assert_ptr_null(mptcp_stack_new(&c, &cb, &rng));
}
END_TEST

START_TEST(ack_throttle_budget_is_per_connection)
{
    /* CVE-2016-5696: a shared budget would let the answers on one
     * connection reveal what happened on another. Exhausting connection A's
     * budget leaves B's challenge ACK alone. */
    est e;
    est_init(&e, NULL);
    ck_assert_uint_eq(flood(&e, 5), 1);
    const uint16_t port_b = PEER_PORT + 1;
    mptcp_addr pb = fx_addr(9, port_b);
    uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 2};
    fx_segspec syn = {port_b, 80, 5000, 0, MPTCP_TH_SYN, 65535, syn_opts, 20, NULL, 0};
    fx_single_input(&e.f, &pb, me(), &syn);
    mptcp_seg sa = last_out(&e);
    uint8_t o[12];
    ts_opts(o, 101, 0);
    fx_segspec ack = {port_b, 80, 5001, sa.hdr.seq + 1, MPTCP_TH_ACK, 65535, o, 12, NULL, 0};
    fx_single_input(&e.f, &pb, me(), &ack);
    ck_assert_uint_eq(fx_single_count_ev(&e.f, MPTCP_EV_ACCEPTED), 2);
    size_t out = e.f.n_out;
    fx_segspec rst = {port_b, 80, 5001 + 50, 0, MPTCP_TH_RST, 0, NULL, 0, NULL, 0};
    fx_single_input(&e.f, &pb, me(), &rst);
    ck_assert_uint_eq(e.f.n_out, out + 1); /* B's own budget */
    mptcp_seg a = last_out(&e);
    ck_assert_uint_eq(a.hdr.dport, port_b);
    ck_assert_uint_eq(a.hdr.ack, 5001);
    fx_single_input(&e.f, &pb, me(), &rst);
    ck_assert_uint_eq(e.f.n_out, out + 1); /* now spent too */
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(duplicates_are_always_answered_with_dsack)
{
    est e;
    est_init(&e, NULL);
    uint8_t d[300];
    fx_fill(d, sizeof d, 3);
    uint32_t base = e.peer_nxt;
    est_seg(&e, base, MPTCP_TH_ACK, d, 100, ++e.tsval);
    e.peer_nxt += 100;
    /* Retransmissions of bytes already taken, many in one instant: each gets
     * its ACK at once with the copy's range first (RFC 2883 section 4.1.1). */
    mptcp_stack_stats s0 = stats(&e.f);
    for (int i = 0; i < 10; i++) {
        size_t out = e.f.n_out;
        est_seg(&e, base, MPTCP_TH_ACK, d, 100, e.tsval);
        ck_assert_uint_eq(e.f.n_out, out + 1);
        mptcp_seg a = last_out(&e);
        ck_assert_uint_eq(a.hdr.ack, base + 100);
        ck_assert(a.opts.present & MPTCP_TCPO_SACK);
        ck_assert_uint_eq(a.opts.sack_count, 1);
        ck_assert_uint_eq(a.opts.sack[0].left, base);
        ck_assert_uint_eq(a.opts.sack[0].right, base + 100);
    }
    mptcp_stack_stats s1 = stats(&e.f);
    ck_assert_uint_eq(s1.dsack_out - s0.dsack_out, 10);
    ck_assert_uint_eq(s1.acks_ratelimited, s0.acks_ratelimited);
    /* partly duplicate: [base+50, base+150) reports [base+50, base+100) */
    est_seg(&e, base + 50, MPTCP_TH_ACK, d + 50, 100, ++e.tsval);
    e.peer_nxt += 50;
    mptcp_seg a = last_out(&e);
    ck_assert_uint_eq(a.hdr.ack, base + 150);
    ck_assert_uint_eq(a.opts.sack_count, 1);
    ck_assert_uint_eq(a.opts.sack[0].left, base + 50);
    ck_assert_uint_eq(a.opts.sack[0].right, base + 100);
    /* a copy of out-of-order data (RFC 2883 section 4.2): the copy, then
     * the range that holds it */
    est_seg(&e, base + 200, MPTCP_TH_ACK, d + 200, 100, ++e.tsval);
    a = last_out(&e);
    ck_assert_uint_eq(a.opts.sack_count, 1);
    est_seg(&e, base + 220, MPTCP_TH_ACK, d + 220, 30, ++e.tsval);
    a = last_out(&e);
    ck_assert_uint_eq(a.hdr.ack, base + 150);
    ck_assert_uint_eq(a.opts.sack_count, 2);
    ck_assert_uint_eq(a.opts.sack[0].left, base + 220);
    ck_assert_uint_eq(a.opts.sack[0].right, base + 250);
    ck_assert_uint_eq(a.opts.sack[1].left, base + 200);
    ck_assert_uint_eq(a.opts.sack[1].right, base + 300);
    /* the hole: everything delivered once, in order */
    est_seg(&e, base + 150, MPTCP_TH_ACK, d + 150, 50, ++e.tsval);
    a = last_out(&e);
    ck_assert_uint_eq(a.hdr.ack, base + 300);
    ck_assert(!(a.opts.present & MPTCP_TCPO_SACK));
    uint8_t got[400];
    ck_assert_int_eq(mptcp_recv(e.conn, got, sizeof got, e.f.now), 300);
    ck_assert(memcmp(got, d, 300) == 0);
    ck_assert_uint_eq(stats(&e.f).dsack_out - s0.dsack_out, 12);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(no_dsack_without_sack_permitted)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.sack = false;
    est e;
    memset(&e, 0, sizeof e);
    fx_single_init(&e.f, &c, 42);
    ck_assert_int_eq(mptcp_listen(e.f.st, me()), 0);
    uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 2};
    fx_segspec syn = {PEER_PORT, 80, 1000, 0, MPTCP_TH_SYN, 65535, syn_opts, 20, NULL, 0};
    fx_single_input(&e.f, peer(), me(), &syn);
    mptcp_seg sa = last_out(&e);
    ck_assert(!(sa.opts.present & MPTCP_TCPO_SACK_PERM));
    e.my_nxt = sa.hdr.seq + 1;
    e.peer_nxt = 1001;
    e.tsval = 101;
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, NULL, 0, e.tsval);
    uint8_t d[100] = {1};
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, 100, ++e.tsval);
    size_t out = e.f.n_out;
    est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, 100, e.tsval);
    ck_assert_uint_eq(e.f.n_out, out + 1); /* answered */
    mptcp_seg a = last_out(&e);
    ck_assert(!(a.opts.present & MPTCP_TCPO_SACK));
    ck_assert_uint_eq(stats(&e.f).dsack_out, 0);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(received_dsack_is_not_taken_as_sack)
{
    est e;
    est_init(&e, NULL);
    static uint8_t d[3000];
    fx_fill(d, sizeof d, 4);
    ck_assert_int_eq(mptcp_send(e.conn, d, sizeof d, e.f.now), (int)sizeof d);
    const uint32_t x = e.my_nxt;
    mptcp_conn_stats cs;
    const uint32_t seg = 1448; /* MSS 1460 less the timestamps */
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_uint_eq(cs.snd_nxt, x + 2 * seg); /* the short tail waits (Nagle) */
    /* The first segment arrived twice: ACK with a D-SACK block below it. */
    mptcp_sack_block below[1] = {{x, x + seg}};
    size_t out = e.f.n_out;
    est_sack(&e, x + seg, below, 1);
    ck_assert_uint_eq(stats(&e.f).dsack_in, 1);
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_uint_eq(cs.sack_blocks_in, 0);
    /* A duplicate inside the second block: only the second is SACK. */
    mptcp_sack_block inside[2] = {{x + seg + 100, x + seg + 150}, {x + seg + 100, x + 2 * seg}};
    est_sack(&e, x + seg, inside, 2);
    ck_assert_uint_eq(stats(&e.f).dsack_in, 2);
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_uint_eq(cs.sack_blocks_in, 1);
    ck_assert_uint_eq(cs.retrans_segs, 0);
    ck_assert_uint_eq(cs.fast_retrans, 0);
    ck_assert_uint_eq(e.f.n_out, out); /* nothing to send for either */
    /* An ordinary SACK block is still SACK. */
    mptcp_sack_block plain[1] = {{x + seg + 200, x + 2 * seg}};
    est_sack(&e, x + seg, plain, 1);
    ck_assert_uint_eq(stats(&e.f).dsack_in, 2);
    mptcp_conn_get_stats(e.conn, &cs);
    ck_assert_uint_eq(cs.sack_blocks_in, 2);
    fx_single_fini(&e.f);
}
END_TEST

START_TEST(zero_window_probes_are_always_answered)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.rcvbuf = 2920;
    est e;
    est_init(&e, &c);
    static uint8_t d[1460];
    fx_fill(d, sizeof d, 8);
    for (int i = 0; i < 2; i++) {
        est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, sizeof d, ++e.tsval);
        e.peer_nxt += sizeof d;
    }
    mptcp_seg a = last_out(&e);
    ck_assert_uint_eq(a.hdr.ack, e.peer_nxt);
    ck_assert_uint_eq(a.hdr.window, 0); /* the buffer is full, nobody reads */
    /* the peer probes the zero window with one new byte, many times: every
     * probe gets the ACK it waits for, the byte is not taken */
    ck_assert_uint_eq(flood(&e, 3), 1); /* the budget is spent on other things */
    mptcp_stack_stats s0 = stats(&e.f);
    for (int i = 0; i < 5; i++) {
        size_t out = e.f.n_out;
        est_seg(&e, e.peer_nxt, MPTCP_TH_ACK, d, 1, ++e.tsval);
        ck_assert_uint_eq(e.f.n_out, out + 1);
        a = last_out(&e);
        ck_assert_uint_eq(a.hdr.ack, e.peer_nxt);
        ck_assert_uint_eq(a.hdr.window, 0);
    }
    ck_assert_uint_eq(stats(&e.f).acks_ratelimited, s0.acks_ratelimited);
    fx_single_fini(&e.f);
}
END_TEST

Suite *stack_input_suite(void)
{
    Suite *s = suite_create("stack_input");
    TCase *tc = tcase_create("input");
    tcase_add_test(tc, listener_answers_syn_with_negotiated_options);
    tcase_add_test(tc, bad_checksum_is_dropped_and_counted);
    tcase_add_test(tc, malformed_headers_and_options_are_dropped);
    tcase_add_test(tc, impossible_flags_are_dropped_silently);
    tcase_add_test(tc, closed_port_gets_rst_but_rst_gets_nothing);
    tcase_add_test(tc, in_window_rst_not_at_rcv_nxt_gets_challenge_ack);
    tcase_add_test(tc, in_window_syn_gets_challenge_ack);
    tcase_add_test(tc, ack_of_unsent_data_is_dropped_and_acked);
    tcase_add_test(tc, data_in_order_out_of_window_and_paws);
    tcase_add_test(tc, rst_in_each_synchronized_state_closes);
    tcase_add_test(tc, rst_in_fin_wait_2_and_time_wait);
    tcase_add_test(tc, rst_in_syn_received_frees_silently);
    tcase_add_test(tc, syn_flood_is_bounded_by_max_conns);
    tcase_add_test(tc, icmp_unreach_and_mtu);
    tcase_add_test(tc, config_validation_rejects_nonsense);
    tcase_add_test(tc, allocation_failures_are_clean);
    tcase_add_test(tc, entry_points_refuse_reentry_from_callbacks);
    tcase_add_test(tc, time_going_backwards_is_counted_not_trusted);
    tcase_add_test(tc, ack_throttle_bounds_answers_per_interval);
    tcase_add_test(tc, ack_throttle_is_configurable);
    tcase_add_test(tc, ack_throttle_budget_is_per_connection);
    tcase_add_test(tc, duplicates_are_always_answered_with_dsack);
    tcase_add_test(tc, no_dsack_without_sack_permitted);
    tcase_add_test(tc, received_dsack_is_not_taken_as_sack);
    tcase_add_test(tc, zero_window_probes_are_always_answered);
    suite_add_tcase(s, tc);
    return s;
}
