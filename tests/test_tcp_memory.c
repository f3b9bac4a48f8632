/* Memory per connection, measured through the allocator hooks: what an
 * idle plain TCP connection holds on each side (besides its ring memory)
 * after a transfer that used and released the lazily allocated tables (the
 * out-of-order range table and the SACK scoreboard), and the defined
 * outcomes when those allocations fail: the out-of-order segment is not
 * stored (counted, resent by the peer), SACK blocks are ignored (counted,
 * recovery goes on without them); never a crash, never a lost byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"
#include "tcp.h"

/* The target of issue 3 section 5: state per idle connection without its
 * buffers. */
#define IDLE_CONN_MAX 512

#define XFER (256 * 1024)
#define RING (64 * 1024)

static uint8_t *data_a, *data_b;

static void bufs_setup(void)
{
    data_a = malloc(XFER);
    data_b = malloc(XFER);
    ck_assert(data_a && data_b);
    fx_fill(data_a, XFER, 11);
    fx_fill(data_b, XFER, 12);
}

static void bufs_teardown(void)
{
    free(data_a);
    free(data_b);
}

static void cfg_init(mptcp_config *c)
{
    mptcp_config_init(c);
    c->sndbuf = RING;
    c->rcvbuf = RING;
}

static bool connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool both_received(fx_pair *p)
{
    return p->e[0].rx_len == XFER && p->e[1].rx_len == XFER;
}

static bool both_received_a(fx_pair *p)
{
    return p->e[1].rx_len == XFER;
}

static mptcp_stack_stats st_stats(const fx_end *e)
{
    mptcp_stack_stats s;
    mptcp_stack_get_stats(e->st, &s);
    return s;
}

static mptcp_conn_stats conn_stats(const fx_end *e)
{
    mptcp_conn_stats s;
    ck_assert_int_eq(mptcp_conn_get_stats(e->conn, &s), 0);
    return s;
}

/* Losses and reordering both ways, in the middle of the transfer. */
static void add_trouble(fx_pair *p)
{
    static const uint32_t drop0[] = {10, 11, 25, 40, 41, 42, 70};
    static const uint32_t drop1[] = {12, 30, 31, 55};
    for (size_t i = 0; i < sizeof drop0 / sizeof drop0[0]; i++)
        fx_pair_rule(p, 0, drop0[i], FX_DROP, 0);
    for (size_t i = 0; i < sizeof drop1 / sizeof drop1[0]; i++)
        fx_pair_rule(p, 1, drop1[i], FX_DROP, 0);
    fx_pair_rule(p, 0, 18, FX_DELAY, 30000);
    fx_pair_rule(p, 1, 20, FX_DELAY, 30000);
    fx_pair_rule(p, 0, 50, FX_DUP, 0);
}

/* Connects, moves XFER bytes each way through add_trouble, then lets both
 * sides go idle (every byte acknowledged, delayed ACKs sent). */
static void transfer(fx_pair *p)
{
    add_trouble(p);
    fx_pair_connect(p);
    ck_assert(fx_pair_run_until(p, connected, 5000000));
    fx_pair_send(p, 0, data_a, XFER, 0);
    fx_pair_send(p, 1, data_b, XFER, 0);
    ck_assert(fx_pair_run_until(p, both_received, p->now + 120000000));
    fx_pair_run(p, p->now + 2000000);
    ck_assert(memcmp(p->e[1].rx, data_a, XFER) == 0);
    ck_assert(memcmp(p->e[0].rx, data_b, XFER) == 0);
    for (int i = 0; i < 2; i++) {
        mptcp_conn_stats cs = conn_stats(&p->e[i]);
        ck_assert_int_eq(cs.state, MPTCP_TCP_ESTABLISHED);
        ck_assert_uint_eq(cs.snd_una, cs.snd_nxt); /* idle: all acknowledged */
    }
}

START_TEST(idle_connection_state_without_buffers_is_under_512_bytes)
{
    mptcp_config c;
    cfg_init(&c);
    fx_pair p;
    fx_pair_init(&p, &c, &c, 77, 10000);
    size_t base[2] = {p.e[0].alloc.live_bytes, p.e[1].alloc.live_bytes};
    transfer(&p);
    /* The lazy tables were used (out-of-order data held, SACK blocks
     * received) on both sides, and released since. */
    for (int i = 0; i < 2; i++) {
        mptcp_conn_stats cs = conn_stats(&p.e[i]);
        ck_assert_uint_gt(cs.ooo_segs_in, 0);
        ck_assert_uint_gt(cs.sack_blocks_in, 0);
        ck_assert_uint_gt(cs.retrans_segs, 0);
        ck_assert_uint_gt(p.e[i].alloc.peak_bytes,
                          base[i] + 2 * RING); /* the tables came and went */
    }
    for (int i = 0; i < 2; i++) {
        /* Buffer memory: the two rings and the RACK transmit records that
         * go with the send ring (rack.h: one per segment the ring can hold). */
        size_t bufs = mptcp_tcp_buffer_bytes(&c);
        size_t held = p.e[i].alloc.live_bytes - base[i] - bufs;
        ck_assert_msg(held < IDLE_CONN_MAX,
                      "side %d: an idle connection holds %zu bytes besides its buffers", i, held);
    }
    fx_pair_fini(&p);
}
END_TEST

START_TEST(ooo_table_allocation_failure_drops_the_segment_only)
{
    mptcp_config c;
    cfg_init(&c);
    fx_pair p;
    fx_pair_init(&p, &c, &c, 78, 10000);
    fx_pair_rule(&p, 0, 10, FX_DROP, 0);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, 5000000));
    /* the receiver's next allocation (the range table for the segment
     * after the lost one) fails */
    p.e[1].alloc.fail_at = p.e[1].alloc.calls + 1;
    fx_pair_send(&p, 0, data_a, XFER, 0);
    ck_assert(fx_pair_run_until(&p, both_received_a, p.now + 120000000));
    ck_assert(memcmp(p.e[1].rx, data_a, XFER) == 0);
    mptcp_stack_stats s1 = st_stats(&p.e[1]);
    ck_assert_uint_eq(s1.drop_ooo_no_mem, 1);
    /* later out-of-order segments got the table */
    ck_assert_uint_gt(conn_stats(&p.e[1]).ooo_segs_in, 0);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(scoreboard_allocation_failure_recovers_without_sack)
{
    mptcp_config c;
    cfg_init(&c);
    fx_pair p;
    fx_pair_init(&p, &c, &c, 79, 10000);
    fx_pair_rule(&p, 0, 10, FX_DROP, 0);
    fx_pair_rule(&p, 0, 11, FX_DROP, 0);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, 5000000));
    /* the sender's next allocation (the scoreboard) fails */
    p.e[0].alloc.fail_at = p.e[0].alloc.calls + 1;
    fx_pair_send(&p, 0, data_a, XFER, 0);
    ck_assert(fx_pair_run_until(&p, both_received_a, p.now + 120000000));
    ck_assert(memcmp(p.e[1].rx, data_a, XFER) == 0);
    mptcp_stack_stats s0 = st_stats(&p.e[0]);
    ck_assert_uint_eq(s0.sack_no_mem, 1);
    ck_assert_uint_gt(conn_stats(&p.e[0]).retrans_segs, 0);
    fx_pair_fini(&p);
}
END_TEST

/* Fails the n-th allocation after the handshake on side |_i / 2|, n =
 * 1 + _i % 2 (this transfer makes two or more table allocations per
 * side; RACK-TLP repairs most losses within one episode), during a transfer with losses both ways: every byte arrives
 * once, nothing leaks (fx_pair_fini checks the allocator). */
START_TEST(any_failed_table_allocation_is_survived)
{
    int side = _i / 2;
    uint64_t n = 1 + (uint64_t)(_i % 2);
    mptcp_config c;
    cfg_init(&c);
    fx_pair p;
    fx_pair_init(&p, &c, &c, 80 + (uint64_t)_i, 10000);
    add_trouble(&p);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, 5000000));
    p.e[side].alloc.fail_at = p.e[side].alloc.calls + n;
    fx_pair_send(&p, 0, data_a, XFER, 0);
    fx_pair_send(&p, 1, data_b, XFER, 0);
    ck_assert(fx_pair_run_until(&p, both_received, p.now + 300000000));
    ck_assert(memcmp(p.e[1].rx, data_a, XFER) == 0);
    ck_assert(memcmp(p.e[0].rx, data_b, XFER) == 0);
    /* the failure did happen, and was counted where it hit */
    ck_assert_uint_ge(p.e[side].alloc.calls, p.e[side].alloc.fail_at);
    mptcp_stack_stats ss = st_stats(&p.e[side]);
    ck_assert_uint_eq(ss.drop_ooo_no_mem + ss.sack_no_mem, 1);
    fx_pair_fini(&p);
}
END_TEST

Suite *tcp_memory_suite(void)
{
    Suite *s = suite_create("tcp_memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, bufs_setup, bufs_teardown);
    tcase_add_test(tc, idle_connection_state_without_buffers_is_under_512_bytes);
    tcase_add_test(tc, ooo_table_allocation_failure_drops_the_segment_only);
    tcase_add_test(tc, scoreboard_allocation_failure_recovers_without_sack);
    tcase_add_loop_test(tc, any_failed_table_allocation_is_survived, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
