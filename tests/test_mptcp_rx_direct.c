/* The receive path that hands a subflow's in-order payload straight to the
 * connection's receive ring (tcp_in.c data_direct hook ->
 * mptcp_conn_sf_rx_direct) instead of storing it in the subflow's ring and
 * copying it again. Each case checks which path the bytes took
 * (mptcp_subflow_stats.rx_direct_bytes) and that the stream read is the
 * stream sent, byte for byte: in order on one subflow, stored ahead of the
 * data level's in-order end by a second subflow, behind a hole in the
 * subflow (the ring path until the hole is filled) and with DSS checksums
 * (always the ring path: the checksum covers the whole mapping). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

static bool both_connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool two_up(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2 && p->e[1].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2;
}

static bool both_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1 && p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

static uint64_t direct_bytes(fx_pair *p, int end, int id)
{
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p->e[end].conn, id, &s), 0);
    return s.rx_direct_bytes;
}

/* Connects (with a join from 10.0.0.3 when |join|), sends |len| bytes from
 * the client and runs until everything is read; the connection stays up so
 * that the subflows' counters can be read. */
typedef struct rx_case {
    fx_pair p;
    uint8_t *data;
    size_t len;
} rx_case;

static void rx_case_run(rx_case *k, const mptcp_config *cfg, uint64_t seed, bool join,
                        size_t len, const uint32_t *drop_idx, size_t n_drop)
{
    fx_pair_init_mp(&k->p, cfg, cfg, seed, 5000);
    fx_pair_connect(&k->p);
    ck_assert(fx_pair_run_until(&k->p, both_connected, k->p.now + 1000000));
    fx_pair_run(&k->p, k->p.now + 50000);
    if (join) {
        mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
        ck_assert_int_eq(mptcp_subflow_open(k->p.e[0].conn, &l, &r, false, k->p.now), 1);
        ck_assert(fx_pair_run_until(&k->p, two_up, k->p.now + 1000000));
    }
    /* Drops count from the client's next segment. */
    for (size_t i = 0; i < n_drop; i++)
        fx_pair_rule(&k->p, 0, k->p.sent[0] + drop_idx[i], FX_DROP, 0);
    k->len = len;
    k->data = malloc(len);
    fx_fill(k->data, len, seed);
    fx_pair_send(&k->p, 0, k->data, len, 0);
    fx_pair_run(&k->p, k->p.now + 10000000);
    ck_assert_uint_eq(k->p.e[1].rx_len, len);
    ck_assert(memcmp(k->p.e[1].rx, k->data, len) == 0);
}

static void rx_case_close(rx_case *k)
{
    /* The close still works after either path: DATA_FIN both ways. */
    mptcp_close(k->p.e[0].conn, k->p.now);
    k->p.e[1].close_on_eof = true;
    ck_assert(fx_pair_run_until(&k->p, both_closed, k->p.now + 30000000));
    ck_assert_int_eq(k->p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(k->p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    free(k->data);
    fx_pair_fini(&k->p);
}

START_TEST(in_order_payload_on_one_subflow_skips_the_subflow_ring)
{
    rx_case k;
    rx_case_run(&k, NULL, 301, false, 1u << 20, NULL, 0);
    /* Lossless, one subflow, no checksums, a reader that keeps up: every
     * byte arrives in order with its mapping known. */
    ck_assert_uint_eq(direct_bytes(&k.p, 1, 0), k.len);
    /* The sender's side saw no data arrive: nothing counted there. */
    ck_assert_uint_eq(direct_bytes(&k.p, 0, 0), 0);
    rx_case_close(&k);
}
END_TEST

START_TEST(a_second_subflow_stores_ahead_of_the_data_level_end_directly)
{
    rx_case k;
    /* One data segment of the client's is lost once: the data level has a
     * hole until it is retransmitted, while the other subflow goes on. */
    const uint32_t drops[] = {20};
    rx_case_run(&k, NULL, 302, true, 2u << 20, drops, 1);
    mptcp_subflow_stats s[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(mptcp_subflow_get_stats(k.p.e[1].conn, i, &s[i]), 0);
    ck_assert_uint_gt(s[0].tcp.bytes_received, k.len / 20);
    ck_assert_uint_gt(s[1].tcp.bytes_received, k.len / 20);
    /* The subflow without the loss handed every byte over directly, also
     * the ones that arrived while the hole was open: those went into the
     * connection ring beyond its in-order end. The subflow with the hole
     * kept what followed it in its own ring until the retransmission. */
    int lossy = s[0].rx_direct_bytes < s[0].tcp.bytes_received ? 0 : 1;
    ck_assert_uint_eq(s[1 - lossy].rx_direct_bytes, s[1 - lossy].tcp.bytes_received);
    ck_assert_uint_lt(s[lossy].rx_direct_bytes, s[lossy].tcp.bytes_received);
    ck_assert_uint_gt(s[lossy].rx_direct_bytes, 0);
    mptcp_stack_stats st;
    mptcp_stack_get_stats(k.p.e[0].st, &st);
    ck_assert_uint_ge(st.retrans_segs, 1);
    rx_case_close(&k);
}
END_TEST

START_TEST(payload_behind_a_hole_in_the_subflow_goes_through_its_ring)
{
    rx_case k;
    /* The 5th and 40th data segments of the transfer are lost once. */
    const uint32_t drops[] = {4, 39};
    rx_case_run(&k, NULL, 303, false, 1u << 20, drops, 2);
    uint64_t d = direct_bytes(&k.p, 1, 0);
    /* What arrived behind each hole waited in the subflow's ring until the
     * retransmission filled it, and was then pumped: not all direct... */
    ck_assert_uint_lt(d, k.len);
    /* ...but the segments in order before and after the holes were. */
    ck_assert_uint_gt(d, k.len / 2);
    mptcp_stack_stats st;
    mptcp_stack_get_stats(k.p.e[0].st, &st);
    ck_assert_uint_ge(st.retrans_segs, 2);
    rx_case_close(&k);
}
END_TEST

START_TEST(checksummed_payload_always_goes_through_the_subflow_ring)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.mptcp = true;
    c.checksum = true;
    rx_case k;
    rx_case_run(&k, &c, 304, true, 1u << 20, NULL, 0);
    /* The DSS checksum covers the whole mapping: it is verified when the
     * mapping is complete, so no byte may reach the data level first. */
    ck_assert_uint_eq(direct_bytes(&k.p, 1, 0), 0);
    ck_assert_uint_eq(direct_bytes(&k.p, 1, 1), 0);
    mptcp_mp_stats m;
    mptcp_conn_get_mp_stats(k.p.e[1].conn, &m);
    ck_assert(m.checksum);
    ck_assert_uint_eq(m.dss_csum_bad, 0);
    rx_case_close(&k);
}
END_TEST

Suite *mptcp_rx_direct_suite(void)
{
    Suite *s = suite_create("mptcp_rx_direct");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, in_order_payload_on_one_subflow_skips_the_subflow_ring);
    tcase_add_test(tc, a_second_subflow_stores_ahead_of_the_data_level_end_directly);
    tcase_add_test(tc, payload_behind_a_hole_in_the_subflow_goes_through_its_ring);
    tcase_add_test(tc, checksummed_payload_always_goes_through_the_subflow_ring);
    suite_add_tcase(s, tc);
    return s;
}
