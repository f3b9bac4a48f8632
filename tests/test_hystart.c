/*
 * HyStart++ (RFC 9406, src/cc.c) through the Reno and CUBIC ops: rounds of
 * ACKs with per-ACK RTT samples. Constant RTT keeps classic slow start; an
 * RTT rise of RttThresh moves to conservative slow start (a quarter of the
 * growth) and, after CSS_ROUNDS rounds, to congestion avoidance with
 * ssthresh = cwnd; a rise below the threshold or fewer than N_RTT_SAMPLE
 * samples changes nothing; an RTT back below the baseline resumes slow
 * start; a loss ends HyStart++ and hands the state back to CUBIC.
 */
#include <check.h>
#include <string.h>

#include "cc.h"

#define HMSS 1000u

static const mptcp_cc_ops *const hs_algos[] = {&mptcp_cc_reno, &mptcp_cc_cubic};

typedef struct hs_sim {
    mptcp_cc cc;
    uint64_t now;
    uint32_t outstanding; /* bytes in flight */
} hs_sim;


/* One ACK of two segments with an RTT sample of |rtt_us| (0: none); the
 * sender then fills the window again. Returns the bytes acknowledged. */
static uint32_t hs_ack(hs_sim *h, uint32_t rtt_us)
{
    uint32_t acked = h->outstanding < 2 * HMSS ? h->outstanding : 2 * HMSS;
    h->now += 100;
    h->cc.ops->on_ack(&h->cc, acked, h->outstanding, 20000, rtt_us, h->now);
    h->outstanding -= acked;
    if (h->outstanding < h->cc.cwnd)
        h->outstanding = h->cc.cwnd;
    return acked;
}

/* One round trip: what is in flight now gets acknowledged. Returns cwnd. */
static uint32_t hs_round(hs_sim *h, uint32_t rtt_us)
{
    uint32_t left = h->outstanding;
    while (left > 0) {
        uint32_t a = hs_ack(h, rtt_us);
        left -= a < left ? a : left;
    }
    return h->cc.cwnd;
}

/* A fresh sender of hs_algos[|algo|] (the loop index), after |rounds| round
 * trips at |rtt_us|: HyStart++ has its baseline RTT. */
static void hs_start(hs_sim *h, int algo, int rounds, uint32_t rtt_us)
{
    const mptcp_cc_ops *ops = hs_algos[algo];
    memset(h, 0, sizeof(*h));
    h->cc.ops = ops;
    ops->init(&h->cc, HMSS, 0);
    h->now = 1000000;
    h->outstanding = h->cc.cwnd;
    for (int r = 0; r < rounds; r++)
        hs_round(h, rtt_us);
}

/* Two rounds at 20 ms, then two at 30 ms: conservative slow start. */
static void hs_start_in_css(hs_sim *h, int algo)
{
    hs_start(h, algo, 2, 20000);
    hs_round(h, 30000);
    hs_round(h, 30000);
    ck_assert_int_eq(h->cc.hystart, MPTCP_HS_CSS);
}

START_TEST(constant_rtt_keeps_slow_start_doubling)
{
    hs_sim h;
    hs_start(&h, _i, 0, 0);
    uint32_t w = h.cc.cwnd;
    for (int r = 0; r < 6; r++) {
        uint32_t next = hs_round(&h, 20000);
        ck_assert_uint_eq(next, 2 * w);
        w = next;
    }
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
    ck_assert_uint_eq(h.cc.ssthresh, UINT32_MAX);
}
END_TEST

START_TEST(rtt_rise_enters_css_then_congestion_avoidance)
{
    hs_sim h;
    hs_start(&h, _i, 2, 20000);
    /* 20 ms / 8 = 2.5 ms is below MIN_RTT_THRESH: the threshold is 4 ms;
     * a round at 24 ms leaves slow start after N_RTT_SAMPLE samples */
    int acks = 0;
    while (h.cc.hystart == MPTCP_HS_SS && acks < 100) {
        hs_ack(&h, 24000);
        acks++;
    }
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_CSS);
    /* the round under way still has 20 ms samples: the next one decides,
     * after its first N_RTT_SAMPLE samples */
    ck_assert_int_gt(acks, 8);
    ck_assert_int_le(acks, 40);
    ck_assert_uint_eq(h.cc.hs.css_base_rtt, 24000);
    /* CSS: a quarter of slow start's growth, 500 bytes per 2-segment ACK */
    uint32_t w = h.cc.cwnd;
    hs_ack(&h, 24000);
    ck_assert_uint_eq(h.cc.cwnd, w + 2 * HMSS / 4);
    w = h.cc.cwnd;
    hs_round(&h, 24000);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_CSS);
    ck_assert_uint_ge(h.cc.cwnd, w + w / 4 - 2 * HMSS);
    ck_assert_uint_le(h.cc.cwnd, w + w / 4 + 2 * HMSS);
    /* CSS_ROUNDS rounds later: congestion avoidance with ssthresh = cwnd */
    int rounds = 1;
    while (h.cc.hystart == MPTCP_HS_CSS && rounds < 20) {
        w = h.cc.cwnd;
        uint32_t left = h.outstanding;
        while (left > 0 && h.cc.hystart == MPTCP_HS_CSS) {
            uint32_t a = hs_ack(&h, 24000);
            left -= a < left ? a : left;
        }
        rounds++;
    }
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_OFF);
    ck_assert_int_ge(rounds, 4);
    ck_assert_int_le(rounds, 6);
    ck_assert_uint_eq(h.cc.ssthresh, h.cc.cwnd);
    if (hs_algos[_i] == &mptcp_cc_cubic) {
        /* RFC 9438 section 4.10: the curve starts at its plateau */
        ck_assert_uint_eq(h.cc.cubic.w_max, h.cc.cwnd);
        ck_assert_uint_eq(h.cc.cubic.k_us, 0);
        ck_assert_uint_ne(h.cc.cubic.epoch_start_us, 0);
    }
    /* and grows like congestion avoidance from then on */
    w = h.cc.cwnd;
    hs_round(&h, 24000);
    ck_assert_uint_le(h.cc.cwnd, w + w / 8);
}
END_TEST

START_TEST(small_rtt_rise_does_not_exit)
{
    hs_sim h;
    hs_start(&h, _i, 2, 80000);
    /* RttThresh = 80 ms / 8 = 10 ms: 9.999 ms more is not enough */
    uint32_t w = h.cc.cwnd;
    hs_round(&h, 89999);
    ck_assert_uint_eq(hs_round(&h, 89999), 4 * w);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
    /* from 89.999 ms the threshold is 11.249 ms */
    hs_round(&h, 101247);
    hs_round(&h, 101247);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
    /* from 101.247 ms it is 12.655 ms */
    hs_round(&h, 113902);
    hs_round(&h, 113902);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_CSS);
}
END_TEST

START_TEST(too_few_samples_decide_nothing)
{
    hs_sim h;
    hs_start(&h, _i, 1, 20000);
    /* ACKs without an RTT sample do not count toward N_RTT_SAMPLE */
    hs_round(&h, 0);
    hs_round(&h, 0);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
    /* seven samples in a round (the others without) decide nothing */
    uint32_t left = h.outstanding;
    for (int k = 0; left > 0; k++) {
        uint32_t a = hs_ack(&h, k < 7 ? 60000 : 0);
        left -= a < left ? a : left;
    }
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
}
END_TEST

START_TEST(rtt_back_below_baseline_resumes_slow_start)
{
    hs_sim h;
    hs_start_in_css(&h, _i);
    ck_assert_uint_eq(h.cc.hs.css_base_rtt, 30000);
    hs_round(&h, 25000); /* below the 30 ms baseline: the exit was spurious */
    hs_round(&h, 25000);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_SS);
    uint32_t w = h.cc.cwnd;
    ck_assert_uint_eq(hs_round(&h, 25000), 2 * w);
}
END_TEST

START_TEST(loss_ends_hystart_and_gives_the_state_back)
{
    hs_sim h;
    hs_start_in_css(&h, _i);
    uint32_t w = h.cc.cwnd;
    h.cc.ops->on_loss(&h.cc, w, h.now);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_OFF);
    ck_assert_uint_lt(h.cc.ssthresh, w);
    if (hs_algos[_i] == &mptcp_cc_cubic) {
        /* CUBIC's first reduction: W_max = cwnd before it (no stale state
         * from the union) */
        ck_assert_uint_eq(h.cc.cubic.w_max, w);
        ck_assert_uint_eq(h.cc.cubic.cwnd_prior, w);
        ck_assert_uint_eq(h.cc.cubic.w_last_max, 0);
    }
    /* after a timeout, slow start up to ssthresh is the classic one */
    h.cc.ops->on_rto(&h.cc, w, h.now);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_OFF);
    uint32_t c = h.cc.cwnd;
    h.cc.ops->on_ack(&h.cc, 2 * HMSS, c, 20000, 90000, h.now += 100);
    ck_assert_uint_eq(h.cc.cwnd, c + MPTCP_MIN(2 * HMSS, h.cc.ssthresh - c));
}
END_TEST

START_TEST(rto_in_slow_start_ends_hystart)
{
    hs_sim h;
    hs_start(&h, _i, 1, 20000);
    h.cc.ops->on_rto(&h.cc, h.cc.cwnd, h.now);
    ck_assert_int_eq(h.cc.hystart, MPTCP_HS_OFF);
    ck_assert_uint_eq(h.cc.cwnd, HMSS);
    if (hs_algos[_i] == &mptcp_cc_cubic)
        ck_assert_uint_eq(h.cc.cubic.w_max, 0); /* section 4.8 */
}
END_TEST

Suite *hystart_suite(void)
{
    Suite *s = suite_create("hystart");
    TCase *tc = tcase_create("rfc9406");
    tcase_add_loop_test(tc, constant_rtt_keeps_slow_start_doubling, 0, 2);
    tcase_add_loop_test(tc, rtt_rise_enters_css_then_congestion_avoidance, 0, 2);
    tcase_add_loop_test(tc, small_rtt_rise_does_not_exit, 0, 2);
    tcase_add_loop_test(tc, too_few_samples_decide_nothing, 0, 2);
    tcase_add_loop_test(tc, rtt_back_below_baseline_resumes_slow_start, 0, 2);
    tcase_add_loop_test(tc, loss_ends_hystart_and_gives_the_state_back, 0, 2);
    tcase_add_loop_test(tc, rto_in_slow_start_ends_hystart, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
