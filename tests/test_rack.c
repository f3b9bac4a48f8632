/*
 * RACK transmit records (src/rack.c) on their own: recording sends and
 * retransmissions (splits, a full ring merging into the newest record,
 * strictly increasing send times), delivery by cumulative ACK and SACK
 * (RACK.xmit_ts/rtt, min RTT, reordering), the reordering window rules
 * without D-SACK, time-based loss marking with its timeout, lost
 * retransmissions, the pipe, forgetting marks after an RTO, the TLP
 * segment, and sequence numbers that wrap. RFC 8985 section 6.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rack.h"
#include "sack.h"

#define B0 1000u /* first sequence number of the records */
#define SZ 1000u /* bytes per segment in these tests */

static mptcp_rack *rk_new(uint32_t cap, uint32_t base)
{
    mptcp_rack *r = malloc(mptcp_rack_size(cap));
    ck_assert_ptr_nonnull(r);
    mptcp_rack_init(r, cap, base);
    return r;
}

/* Segment k (0-based) of SZ bytes from |base|, sent at |t|. */
static void send_seg(mptcp_rack *r, uint32_t base, uint32_t k, uint32_t t)
{
    mptcp_rack_sent(r, base + k * SZ, base + (k + 1) * SZ, t);
}

static uint32_t ack_sack(mptcp_rack *r, uint32_t ack, uint32_t l, uint32_t rgt, uint32_t now)
{
    mptcp_sack_block b = {l, rgt};
    return mptcp_rack_delivered(r, ack, &b, l == rgt ? 0 : 1, now);
}

START_TEST(records_follow_sends_and_cumulative_acks)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 3; k++)
        send_seg(r, B0, k, 10 * (k + 1));
    ck_assert_uint_eq(r->n, 3);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 3 * SZ);
    /* ACK of the first two: the RTT of the newest one (sent at 20) */
    ck_assert_uint_eq(mptcp_rack_delivered(r, B0 + 2 * SZ, NULL, 0, 120), 100);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_uint_eq(r->base, B0 + 2 * SZ);
    ck_assert_uint_eq(r->xmit_ts, 20);
    ck_assert_uint_eq(r->end_seq, B0 + 2 * SZ);
    ck_assert_uint_eq(r->rtt_us, 100);
    ck_assert_uint_eq(r->min_rtt_us, 100);
    ck_assert_uint_eq(mptcp_rack_pipe(r), SZ);
    /* a partial ACK moves the base inside the record */
    mptcp_rack_delivered(r, B0 + 2 * SZ + 400, NULL, 0, 130);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_uint_eq(mptcp_rack_pipe(r), SZ - 400);
    mptcp_rack_delivered(r, B0 + 3 * SZ, NULL, 0, 140);
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 0);
    free(r);
}
END_TEST

START_TEST(sent_after_a_sacked_segment_and_rtt_old_is_lost)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 4; k++)
        send_seg(r, B0, k, 10 * (k + 1)); /* 10, 20, 30, 40 */
    /* segment 2 (sent at 30) is SACKed at 130: RACK rtt 100 */
    ck_assert_uint_eq(ack_sack(r, B0, B0 + 2 * SZ, B0 + 3 * SZ, 130), 100);
    ck_assert_uint_eq(r->sacked, 1);
    ck_assert_uint_eq(r->xmit_ts, 30);
    uint32_t newly, lrx;
    /* with no reordering window, segments 0 and 1 (sent before 30, RTT
     * elapsed) are lost; 3 was sent after the RACK segment: unknown */
    ck_assert_uint_eq(mptcp_rack_detect(r, 130, 0, &newly, &lrx), 0);
    ck_assert_uint_eq(newly, 2);
    ck_assert_uint_eq(lrx, 0);
    ck_assert_uint_eq(r->lost, 2);
    uint32_t seq, len;
    ck_assert(mptcp_rack_next_lost(r, 1448, &seq, &len));
    ck_assert_uint_eq(seq, B0);
    ck_assert_uint_eq(len, SZ);
    ck_assert(mptcp_rack_next_lost(r, 600, &seq, &len));
    ck_assert_uint_eq(len, 600); /* capped at the MSS */
    ck_assert_uint_eq(mptcp_rack_pipe(r), SZ); /* only segment 3 */
    free(r);
}
END_TEST

START_TEST(reordering_window_defers_the_verdict)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 4; k++)
        send_seg(r, B0, k, 10 * (k + 1));
    ack_sack(r, B0, B0 + 3 * SZ, B0 + 4 * SZ, 140); /* segment 3, rtt 100 */
    uint32_t newly, lrx;
    /* segment 0 (sent at 10): 10 + 100 + 25 - 140 < 0, lost; segment 1 has
     * 5 us to go, segment 2 15 us: the timeout is the largest remaining
     * time (section 6.2 step 5) */
    ck_assert_uint_eq(mptcp_rack_detect(r, 140, 25, &newly, &lrx), 15);
    ck_assert_uint_eq(newly, 1);
    ck_assert_uint_eq(mptcp_rack_detect(r, 150, 25, &newly, &lrx), 5);
    ck_assert_uint_eq(newly, 1); /* segment 1 */
    ck_assert_uint_eq(mptcp_rack_detect(r, 155, 25, &newly, &lrx), 0);
    ck_assert_uint_eq(newly, 1); /* segment 2, exactly on time */
    ck_assert_uint_eq(r->lost, 3);
    /* a SACK that arrives late clears the mark */
    ack_sack(r, B0, B0 + 2 * SZ, B0 + 3 * SZ, 160);
    ck_assert_uint_eq(r->lost, 2);
    free(r);
}
END_TEST

START_TEST(reordering_window_rules_without_dsack)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 6; k++)
        send_seg(r, B0, k, 10 * (k + 1));
    ack_sack(r, B0, B0 + SZ, B0 + 2 * SZ, 80020); /* min RTT 80000 */
    ck_assert_uint_eq(mptcp_rack_reo_wnd(r, false, 0), 20000);     /* min_rtt / 4 */
    ck_assert_uint_eq(mptcp_rack_reo_wnd(r, false, 15000), 15000); /* at most SRTT */
    ck_assert_uint_eq(mptcp_rack_reo_wnd(r, true, 90000), 0);      /* recovering */
    ack_sack(r, B0, B0 + SZ, B0 + 4 * SZ, 80040);
    ck_assert_uint_eq(r->sacked, 3);
    ck_assert_uint_eq(mptcp_rack_reo_wnd(r, false, 90000), 0); /* DupThresh SACKed */
    ck_assert(!r->reordering_seen);
    /* segment 0, never retransmitted, is delivered below fack: reordering */
    mptcp_rack_delivered(r, B0 + SZ, NULL, 0, 80050);
    ck_assert(r->reordering_seen);
    ck_assert_uint_eq(mptcp_rack_reo_wnd(r, true, 90000), 20000);
    free(r);
}
END_TEST

START_TEST(lost_retransmission_is_found)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 3; k++)
        send_seg(r, B0, k, 10 * (k + 1));
    ack_sack(r, B0, B0 + SZ, B0 + 3 * SZ, 130);
    uint32_t newly, lrx;
    mptcp_rack_detect(r, 130, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 1); /* segment 0 */
    /* retransmitted at 200, then new data at 210, SACKed at 310 */
    mptcp_rack_sent(r, B0, B0 + SZ, 200);
    ck_assert_uint_eq(r->lost, 0);
    ck_assert_uint_eq(mptcp_rack_pipe(r), SZ);
    send_seg(r, B0, 3, 210);
    ck_assert_uint_eq(mptcp_rack_detect(r, 300, 0, &newly, &lrx), 0);
    ck_assert_uint_eq(newly, 0); /* nothing sent after it was delivered yet */
    ack_sack(r, B0, B0 + SZ, B0 + 4 * SZ, 310);
    ck_assert_uint_eq(r->xmit_ts, 210);
    mptcp_rack_detect(r, 310, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 1);
    ck_assert_uint_eq(lrx, 1); /* the retransmission itself was lost */
    uint32_t seq, len;
    ck_assert(mptcp_rack_next_lost(r, 1448, &seq, &len));
    ck_assert_uint_eq(seq, B0);
    free(r);
}
END_TEST

START_TEST(retransmission_acked_by_its_original_is_ambiguous)
{
    mptcp_rack *r = rk_new(16, B0);
    send_seg(r, B0, 0, 0);
    send_seg(r, B0, 1, 0);
    ack_sack(r, B0, B0 + SZ, B0 + 2 * SZ, 100); /* min RTT 100 */
    mptcp_rack_sent(r, B0, B0 + SZ, 150);        /* a retransmission */
    /* the ACK 20 us later comes from the original: no sample, RACK stays */
    ck_assert_uint_eq(mptcp_rack_delivered(r, B0 + 2 * SZ, NULL, 0, 170), 0);
    ck_assert_uint_eq(r->xmit_ts, 1); /* segment 1, stamped after segment 0 */
    ck_assert_uint_eq(r->rtt_us, 99);
    ck_assert_uint_eq(r->min_rtt_us, 99);
    free(r);
}
END_TEST

START_TEST(same_microsecond_sends_keep_their_order)
{
    mptcp_rack *r = rk_new(16, B0);
    send_seg(r, B0, 0, 50);
    send_seg(r, B0, 1, 50);
    mptcp_rack_sent(r, B0, B0 + SZ, 50); /* retransmitted within the same us */
    /* segment 1 was sent before the retransmission: its delivery must not
     * declare the retransmission lost */
    ack_sack(r, B0, B0 + SZ, B0 + 2 * SZ, 150);
    uint32_t newly, lrx;
    mptcp_rack_detect(r, 1000, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 0);
    ck_assert_uint_eq(r->last_xmit, 52);
    free(r);
}
END_TEST

START_TEST(partial_retransmission_splits_a_record)
{
    mptcp_rack *r = rk_new(16, B0);
    mptcp_rack_sent(r, B0, B0 + 3 * SZ, 10); /* one 3000-byte send */
    ck_assert_uint_eq(r->n, 1);
    mptcp_rack_sent(r, B0 + SZ, B0 + 2 * SZ, 20); /* its middle again */
    ck_assert_uint_eq(r->n, 3);
    /* only the middle record is a retransmission sent at 20 */
    ack_sack(r, B0, B0 + 2 * SZ, B0 + 3 * SZ, 110); /* the tail, sent at 10 */
    uint32_t newly, lrx;
    mptcp_rack_detect(r, 110, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 1); /* the head; the middle was sent after */
    uint32_t seq, len;
    ck_assert(mptcp_rack_next_lost(r, 1448, &seq, &len));
    ck_assert_uint_eq(seq, B0);
    ck_assert_uint_eq(len, SZ);
    ck_assert_uint_eq(mptcp_rack_pipe(r), SZ);
    free(r);
}
END_TEST

START_TEST(full_ring_merges_into_the_newest_record)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 20; k++)
        send_seg(r, B0, k, 10 * (k + 1));
    ck_assert_uint_eq(r->n, 16);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 20 * SZ);
    uint32_t seq, len;
    ck_assert(mptcp_rack_last(r, 1448, &seq, &len));
    ck_assert_uint_eq(seq + len, B0 + 20 * SZ);
    ck_assert_uint_eq(len, 1448); /* the merged record's last MSS */
    /* a retransmission into a full ring cannot split: no crash, no loss */
    mptcp_rack_sent(r, B0 + 500, B0 + 700, 300);
    ck_assert_uint_eq(r->n, 16);
    mptcp_rack_delivered(r, B0 + 20 * SZ, NULL, 0, 400);
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->sacked, 0);
    ck_assert_uint_eq(r->lost, 0);
    free(r);
}
END_TEST

START_TEST(forget_clears_marks_after_rto)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 4; k++)
        send_seg(r, B0, k, 10);
    ack_sack(r, B0, B0 + 2 * SZ, B0 + 4 * SZ, 200);
    uint32_t newly, lrx;
    mptcp_rack_detect(r, 200, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 2);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 0);
    mptcp_rack_forget(r);
    ck_assert_uint_eq(r->sacked, 0);
    ck_assert_uint_eq(r->lost, 0);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 4 * SZ);
    ck_assert(!mptcp_rack_next_lost(r, 1448, &newly, &lrx));
    free(r);
}
END_TEST

START_TEST(sequence_numbers_and_clock_wrap)
{
    const uint32_t base = 0xffffffffu - 1500u;
    const uint32_t t0 = 0xffffffffu - 30u; /* the 32-bit microsecond clock wraps too */
    mptcp_rack *r = rk_new(16, base);
    for (uint32_t k = 0; k < 4; k++)
        send_seg(r, base, k, t0 + 10 * k);
    ck_assert_uint_eq(mptcp_rack_pipe(r), 4 * SZ);
    ck_assert_uint_eq(ack_sack(r, base, base + 2 * SZ, base + 4 * SZ, t0 + 130), 100);
    uint32_t newly, lrx;
    mptcp_rack_detect(r, t0 + 130, 0, &newly, &lrx);
    ck_assert_uint_eq(newly, 2);
    mptcp_rack_delivered(r, base + 4 * SZ, NULL, 0, t0 + 200);
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->base, base + 4 * SZ);
    free(r);
}
END_TEST

START_TEST(invalid_sack_blocks_are_ignored)
{
    mptcp_rack *r = rk_new(16, B0);
    for (uint32_t k = 0; k < 3; k++)
        send_seg(r, B0, k, 10);
    mptcp_sack_block b[3] = {{B0 + 2 * SZ, B0 + SZ},        /* reversed */
                             {B0 - 500, B0},                /* below the ACK */
                             {B0 + SZ + 10, B0 + 2 * SZ}};  /* not a whole record */
    ck_assert_uint_eq(mptcp_rack_delivered(r, B0, b, 3, 100), 0);
    ck_assert_uint_eq(r->sacked, 0);
    ck_assert(!r->have_xmit);
    uint32_t newly, lrx;
    ck_assert_uint_eq(mptcp_rack_detect(r, 1000, 0, &newly, &lrx), 0);
    ck_assert_uint_eq(newly, 0);
    free(r);
}
END_TEST

START_TEST(capacity_follows_the_send_buffer)
{
    ck_assert_uint_eq(mptcp_rack_cap_for(0), 16);
    ck_assert_uint_eq(mptcp_rack_cap_for(8192), 16);
    ck_assert_uint_eq(mptcp_rack_cap_for(256 * 1024), 512);
    ck_assert_uint_eq(mptcp_rack_cap_for(64u << 20), 1024);
    ck_assert_uint_ge(mptcp_rack_size(512), 512 * sizeof(mptcp_rack_rec));
}
END_TEST

Suite *rack_suite(void)
{
    Suite *s = suite_create("rack");
    TCase *tc = tcase_create("records");
    tcase_add_test(tc, records_follow_sends_and_cumulative_acks);
    tcase_add_test(tc, sent_after_a_sacked_segment_and_rtt_old_is_lost);
    tcase_add_test(tc, reordering_window_defers_the_verdict);
    tcase_add_test(tc, reordering_window_rules_without_dsack);
    tcase_add_test(tc, lost_retransmission_is_found);
    tcase_add_test(tc, retransmission_acked_by_its_original_is_ambiguous);
    tcase_add_test(tc, same_microsecond_sends_keep_their_order);
    tcase_add_test(tc, partial_retransmission_splits_a_record);
    tcase_add_test(tc, full_ring_merges_into_the_newest_record);
    tcase_add_test(tc, forget_clears_marks_after_rto);
    tcase_add_test(tc, sequence_numbers_and_clock_wrap);
    tcase_add_test(tc, invalid_sack_blocks_are_ignored);
    tcase_add_test(tc, capacity_follows_the_send_buffer);
    suite_add_tcase(s, tc);
    return s;
}
