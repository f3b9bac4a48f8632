/* The deadline min-heap (src/timer.c): the top is always the earliest key
 * through inserts, moves in both directions and removals. */
#include <check.h>
#include <string.h>

#include "helpers/fixture.h"
#include "timer.h"

#define N 200

static uint64_t brute_min(const mptcp_timer_node *nodes, size_t n)
{
    uint64_t m = MPTCP_TIMER_NONE;
    for (size_t i = 0; i < n; i++)
        if (nodes[i].key < m)
            m = nodes[i].key;
    return m;
}

START_TEST(heap_top_is_always_the_minimum)
{
    mptcp_timer_node nodes[N];
    mptcp_timer_node *slots[N];
    mptcp_timer_heap h = {slots, 0, N};
    for (size_t i = 0; i < N; i++)
        mptcp_timer_node_init(&nodes[i]);
    uint64_t rng = 99;
    for (int round = 0; round < 5000; round++) {
        size_t i = fx_splitmix64(&rng) % N;
        uint64_t r = fx_splitmix64(&rng);
        uint64_t key = (r % 4 == 0) ? MPTCP_TIMER_NONE : r % 1000000;
        mptcp_timer_set(&h, &nodes[i], key);
        mptcp_timer_node *top = mptcp_timer_top(&h);
        uint64_t m = brute_min(nodes, N);
        if (m == MPTCP_TIMER_NONE) {
            ck_assert_ptr_null(top);
        } else {
            ck_assert_ptr_nonnull(top);
            ck_assert_uint_eq(top->key, m);
        }
        /* every queued node knows its slot (plain loop: Check's asserts are
         * slow in bulk) */
        uint32_t bad = 0;
        for (uint32_t k = 0; k < h.n; k++)
            bad += h.v[k]->idx != k;
        ck_assert_uint_eq(bad, 0);
    }
    size_t queued = 0;
    for (size_t i = 0; i < N; i++)
        queued += nodes[i].idx != MPTCP_TIMER_NOT_QUEUED;
    ck_assert_uint_eq(queued, h.n);
}
END_TEST

START_TEST(idle_connections_do_not_cost_timer_work)
{
    /* 50 established, idle connections (no keepalive) leave no deadline. */
    mptcp_config c;
    mptcp_config_init(&c);
    c.max_conns = 64;
    c.sndbuf = c.rcvbuf = 4096;
    fx_pair p;
    fx_pair_init(&p, &c, &c, 50, 1000);
    for (int i = 0; i < 50; i++) {
        mptcp_addr l = fx_addr(1, 0), r = fx_addr(2, 80);
        mptcp_conn *conn;
        ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), 0);
    }
    fx_pair_run(&p, p.now + 1000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CONNECTED], 50);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_ACCEPTED], 50);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_fini(&p);
}
END_TEST

Suite *stack_timer_suite(void)
{
    Suite *s = suite_create("stack_timer");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, heap_top_is_always_the_minimum);
    tcase_add_test(tc, idle_connections_do_not_cost_timer_work);
    suite_add_tcase(s, tc);
    return s;
}
