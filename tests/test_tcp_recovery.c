/* TCP loss recovery over the pair harness: SACK scoreboard + RFC 6675
 * recovery, fast retransmit vs RTO, NewReno without SACK, and the sack.c
 * arithmetic on its own. Every transfer is checked byte for byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"
#include "sack.h"

static bool connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static uint32_t seg_seq(const uint8_t *s)
{
    return (uint32_t)s[4] << 24 | (uint32_t)s[5] << 16 | (uint32_t)s[6] << 8 | s[7];
}

static size_t seg_payload(const uint8_t *s, size_t len)
{
    return len - (size_t)((s[12] >> 4) * 4);
}

/* Drops data segments from end 0 whose sequence offset (from the first data
 * byte) is listed, |times| times each. */
static struct {
    uint32_t base;
    uint32_t offs[8];
    int times[8];
    size_t n;
} drops;

static int drop_filter(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                       uint64_t *extra)
{
    (void)p;
    (void)idx;
    (void)extra;
    if (from != 0 || seg_payload(seg, len) == 0)
        return FX_PASS;
    uint32_t off = seg_seq(seg) - drops.base;
    for (size_t i = 0; i < drops.n; i++) {
        if (drops.offs[i] == off && drops.times[i] > 0) {
            drops.times[i]--;
            return FX_DROP;
        }
    }
    return FX_PASS;
}

typedef struct result {
    mptcp_conn_stats snd;
    bool ok;
} result;

static result run_transfer(const mptcp_config *cfg0, const mptcp_config *cfg1, size_t len,
                           uint64_t seed)
{
    fx_pair p;
    fx_pair_init(&p, cfg0, cfg1, seed, 10000);
    uint8_t *data = malloc(len);
    fx_fill(data, len, seed);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    mptcp_conn_stats st;
    mptcp_conn_get_stats(p.e[0].conn, &st);
    drops.base = st.snd_nxt;
    p.filter = drop_filter;
    fx_pair_send(&p, 0, data, len, 1);
    fx_pair_run(&p, p.now + 60000000);
    result r;
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, data, len) == 0);
    ck_assert(p.e[1].rx_eof);
    ck_assert_int_eq(mptcp_conn_get_stats(p.e[0].conn, &r.snd), 0);
    r.ok = true;
    fx_pair_fini(&p);
    free(data);
    return r;
}

#define SEG 1448u /* 1460 - 12 bytes of timestamps */

START_TEST(single_loss_recovered_by_fast_retransmit)
{
    drops.n = 1;
    drops.offs[0] = 20 * SEG;
    drops.times[0] = 1;
    result r = run_transfer(NULL, NULL, 200000, 11);
    ck_assert_uint_eq(r.snd.fast_retrans, 1);
    ck_assert_uint_eq(r.snd.rto_expiries, 0);
    ck_assert_uint_eq(r.snd.retrans_segs, 1);
    ck_assert_uint_gt(r.snd.sack_blocks_in, 0);
    ck_assert_uint_ge(r.snd.dup_acks_in, 3);
}
END_TEST

START_TEST(burst_loss_recovered_in_one_episode)
{
    drops.n = 4;
    for (int i = 0; i < 4; i++) {
        drops.offs[i] = (30 + (uint32_t)i) * SEG;
        drops.times[i] = 1;
    }
    result r = run_transfer(NULL, NULL, 300000, 12);
    ck_assert_uint_eq(r.snd.fast_retrans, 1);
    ck_assert_uint_eq(r.snd.rto_expiries, 0);
    ck_assert_uint_eq(r.snd.retrans_segs, 4);
}
END_TEST

START_TEST(scattered_losses_recovered_without_rto)
{
    drops.n = 3;
    drops.offs[0] = 25 * SEG;
    drops.offs[1] = 28 * SEG;
    drops.offs[2] = 33 * SEG;
    for (int i = 0; i < 3; i++)
        drops.times[i] = 1;
    result r = run_transfer(NULL, NULL, 300000, 13);
    ck_assert_uint_eq(r.snd.rto_expiries, 0);
    ck_assert_uint_ge(r.snd.fast_retrans, 1);
    ck_assert_uint_eq(r.snd.retrans_segs, 3);
}
END_TEST

START_TEST(lost_retransmission_is_repaired)
{
    /* RFC 6675 alone cannot see a lost retransmission; RACK (RFC 8985
     * section 6) does once data sent after it is SACKed: one episode, the
     * fast retransmit, its repair, and no RTO. */
    drops.n = 1;
    drops.offs[0] = 20 * SEG;
    drops.times[0] = 2;
    result r = run_transfer(NULL, NULL, 200000, 14);
    ck_assert_uint_eq(r.snd.fast_retrans, 1);
    ck_assert_uint_eq(r.snd.rto_expiries, 0);
    ck_assert_uint_eq(r.snd.retrans_segs, 2);
    ck_assert_uint_eq(r.snd.lost_rexmits, 1);
    ck_assert_uint_eq(r.snd.tlp_probes, 0);
}
END_TEST

START_TEST(newreno_without_sack_uses_fast_retransmit)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.sack = false;
    c.cc = MPTCP_CC_RENO;
    drops.n = 2;
    drops.offs[0] = 20 * SEG;
    drops.offs[1] = 24 * SEG;
    drops.times[0] = drops.times[1] = 1;
    result r = run_transfer(&c, NULL, 200000, 15);
    ck_assert(!r.snd.sack_ok);
    ck_assert_uint_eq(r.snd.fast_retrans, 1);
    ck_assert_uint_eq(r.snd.rto_expiries, 0);
    ck_assert_uint_eq(r.snd.retrans_segs, 2); /* the second hole via a partial ACK */
}
END_TEST

START_TEST(reordering_and_duplicates_deliver_exact_bytes)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 16, 5000);
    size_t len = 150000;
    uint8_t *data = malloc(len);
    fx_fill(data, len, 16);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    uint32_t base = p.sent[0];
    fx_pair_rule(&p, 0, base + 5, FX_DELAY, 3000);
    fx_pair_rule(&p, 0, base + 9, FX_DUP, 0);
    fx_pair_rule(&p, 0, base + 12, FX_DELAY, 20000);
    fx_pair_rule(&p, 1, 6, FX_DUP, 0);
    fx_pair_send(&p, 0, data, len, 1);
    fx_pair_run(&p, p.now + 30000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, data, len) == 0);
    mptcp_conn_stats r;
    mptcp_conn_get_stats(p.e[1].conn, &r);
    ck_assert_uint_ge(r.ooo_segs_in, 1);
    fx_pair_fini(&p);
    free(data);
}
END_TEST

/* ---------------------------------------------------------------- sack.c */

/* The scoreboard's table comes from a counting allocator (fixture.c). */
static fx_alloc sb_alloc;
static size_t sb_used;
static mptcp_allocator sb_allocator;
static mptcp_mem sb_mem;

static void sb_setup(void)
{
    memset(&sb_alloc, 0, sizeof sb_alloc);
    sb_used = 0;
    sb_allocator = fx_allocator(&sb_alloc);
    sb_mem.a = &sb_allocator;
    sb_mem.used = &sb_used;
}

START_TEST(scoreboard_merges_and_trims)
{
    mptcp_sack_sb sb;
    memset(&sb, 0, sizeof sb);
    mptcp_sack_block b[3] = {{2000, 3000}, {4000, 5000}, {3000, 4000}};
    ck_assert_uint_eq(mptcp_sack_update(&sb, &sb_mem, 1000, 10000, b, 3), 3);
    ck_assert_uint_eq(sb.n, 1);
    ck_assert_uint_eq(sb.blk[0].left, 2000);
    ck_assert_uint_eq(sb.blk[0].right, 5000);
    ck_assert_uint_eq(sb.sacked, 3000);
    mptcp_sack_block bad[2] = {{500, 900}, {9000, 11000}}; /* below una; beyond snd_max */
    ck_assert_uint_eq(mptcp_sack_update(&sb, &sb_mem, 1000, 10000, bad, 2), 0);
    mptcp_sack_trim(&sb, &sb_mem, 2500);
    ck_assert_uint_eq(sb.blk[0].left, 2500);
    ck_assert_uint_eq(sb.sacked, 2500);
    mptcp_sack_trim(&sb, &sb_mem, 6000);
    ck_assert_uint_eq(sb.n, 0);
}
END_TEST

START_TEST(is_lost_and_pipe_follow_rfc6675)
{
    mptcp_sack_sb sb;
    memset(&sb, 0, sizeof sb);
    const uint32_t mss = 1000;
    /* una=0, sent up to 10000; SACKed 1000-2000 and 3000-4000 */
    mptcp_sack_block b[2] = {{1000, 2000}, {3000, 4000}};
    mptcp_sack_update(&sb, &sb_mem, 0, 10000, b, 2);
    ck_assert(!mptcp_sack_is_lost(&sb, 0, mss)); /* 2 blocks, 2000 bytes: not > 2*mss */
    mptcp_sack_block c = {5000, 5001};
    mptcp_sack_update(&sb, &sb_mem, 0, 10000, &c, 1);
    ck_assert(mptcp_sack_is_lost(&sb, 0, mss)); /* three discontiguous ranges above */
    ck_assert(!mptcp_sack_is_lost(&sb, 2000, mss));
    /* pipe: hole 0-1000 lost (0); 2000-3000 not lost (1000); 4000-5000 (1000);
     * 5001-10000 (4999) */
    ck_assert_uint_eq(mptcp_sack_pipe(&sb, 0, 10000, mss), 1000 + 1000 + 4999);
    uint32_t seq, len;
    ck_assert(mptcp_sack_next_lost(&sb, 0, mss, &seq, &len));
    ck_assert_uint_eq(seq, 0);
    ck_assert_uint_eq(len, 1000);
    sb.high_rxt = 1000; /* retransmitted: counts in the pipe, next_lost moves on */
    ck_assert_uint_eq(mptcp_sack_pipe(&sb, 0, 10000, mss), 1000 + 1000 + 1000 + 4999);
    ck_assert(!mptcp_sack_next_lost(&sb, 0, mss, &seq, &len));
    mptcp_sack_reset(&sb, &sb_mem);
    ck_assert_uint_eq(sb_alloc.live_bytes, 0);
}
END_TEST

START_TEST(scoreboard_keeps_lowest_ranges_when_full)
{
    mptcp_sack_sb sb;
    memset(&sb, 0, sizeof sb);
    for (uint32_t i = MPTCP_SACK_SB_MAX + 2; i > 0; i--) {
        mptcp_sack_block b = {i * 1000, i * 1000 + 500};
        mptcp_sack_update(&sb, &sb_mem, 0, 100000, &b, 1);
    }
    ck_assert_uint_eq(sb.n, MPTCP_SACK_SB_MAX);
    ck_assert_uint_eq(sb.blk[0].left, 1000);
    for (uint8_t i = 1; i < sb.n; i++)
        ck_assert(sb.blk[i - 1].right < sb.blk[i].left);
    mptcp_sack_reset(&sb, &sb_mem);
    ck_assert_uint_eq(sb_alloc.live_bytes, 0);
}
END_TEST

START_TEST(scoreboard_table_lives_only_while_blocks_are_held)
{
    mptcp_sack_sb sb;
    memset(&sb, 0, sizeof sb);
    mptcp_sack_block stale = {500, 900};
    ck_assert_int_eq(mptcp_sack_update(&sb, &sb_mem, 1000, 10000, &stale, 1), 0);
    ck_assert_ptr_null(sb.blk); /* nothing valid: no table */
    mptcp_sack_block b = {2000, 3000};
    ck_assert_int_eq(mptcp_sack_update(&sb, &sb_mem, 1000, 10000, &b, 1), 1);
    ck_assert_ptr_nonnull(sb.blk);
    ck_assert_uint_eq(sb_alloc.live_bytes, MPTCP_SACK_SB_MAX * sizeof(mptcp_sack_block));
    mptcp_sack_trim(&sb, &sb_mem, 2500);
    ck_assert_ptr_nonnull(sb.blk);
    mptcp_sack_trim(&sb, &sb_mem, 3000); /* cumulative ACK passes the last block */
    ck_assert_ptr_null(sb.blk);
    ck_assert_uint_eq(sb.n, 0);
    ck_assert_uint_eq(sb_alloc.live_bytes, 0);
    /* the allocator fails: nothing merged, MPTCP_ENOMEM, no crash */
    sb_alloc.fail_at = sb_alloc.calls + 1;
    ck_assert_int_eq(mptcp_sack_update(&sb, &sb_mem, 3000, 10000, &b, 1), 0); /* stale */
    mptcp_sack_block c = {4000, 5000};
    ck_assert_int_eq(mptcp_sack_update(&sb, &sb_mem, 3000, 10000, &c, 1), MPTCP_ENOMEM);
    ck_assert_uint_eq(sb.n, 0);
    ck_assert_uint_eq(sb.sacked, 0);
    ck_assert(!mptcp_sack_covers(&sb, 4000, NULL));
    ck_assert_uint_eq(mptcp_sack_pipe(&sb, 3000, 10000, 1000), 7000);
    /* the next attempt succeeds */
    ck_assert_int_eq(mptcp_sack_update(&sb, &sb_mem, 3000, 10000, &c, 1), 1);
    ck_assert(mptcp_sack_covers(&sb, 4000, NULL));
    mptcp_sack_reset(&sb, &sb_mem);
    ck_assert_ptr_null(sb.blk);
    ck_assert_uint_eq(sb_alloc.live_bytes, 0);
}
END_TEST

START_TEST(dsack_blocks_are_recognised)
{
    /* RFC 2883 section 4: below the cumulative ACK, or inside the second block. */
    mptcp_sack_block below[2] = {{1000, 1500}, {3000, 4000}};
    ck_assert(mptcp_sack_is_dsack(2000, below, 2));
    mptcp_sack_block straddle[1] = {{1800, 2500}};
    ck_assert(mptcp_sack_is_dsack(2000, straddle, 1));
    mptcp_sack_block inside[2] = {{3200, 3400}, {3000, 4000}};
    ck_assert(mptcp_sack_is_dsack(2000, inside, 2));
    mptcp_sack_block plain[2] = {{5000, 6000}, {3000, 4000}};
    ck_assert(!mptcp_sack_is_dsack(2000, plain, 2));
    mptcp_sack_block overlap[2] = {{3500, 4500}, {3000, 4000}}; /* not inside */
    ck_assert(!mptcp_sack_is_dsack(2000, overlap, 2));
    mptcp_sack_block empty[1] = {{1500, 1500}};
    ck_assert(!mptcp_sack_is_dsack(2000, empty, 1));
    ck_assert(!mptcp_sack_is_dsack(2000, plain, 0));
    /* sequence wrap */
    mptcp_sack_block wrapped[1] = {{0xfffffff0u, 0x10u}};
    ck_assert(mptcp_sack_is_dsack(0x20u, wrapped, 1));
}
END_TEST

Suite *tcp_recovery_suite(void)
{
    Suite *s = suite_create("tcp_recovery");
    TCase *tc = tcase_create("recovery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, single_loss_recovered_by_fast_retransmit);
    tcase_add_test(tc, burst_loss_recovered_in_one_episode);
    tcase_add_test(tc, scattered_losses_recovered_without_rto);
    tcase_add_test(tc, lost_retransmission_is_repaired);
    tcase_add_test(tc, newreno_without_sack_uses_fast_retransmit);
    tcase_add_test(tc, reordering_and_duplicates_deliver_exact_bytes);
    suite_add_tcase(s, tc);
    TCase *tsb = tcase_create("scoreboard");
    tcase_add_checked_fixture(tsb, sb_setup, NULL);
    tcase_add_test(tsb, scoreboard_merges_and_trims);
    tcase_add_test(tsb, scoreboard_table_lives_only_while_blocks_are_held);
    tcase_add_test(tsb, dsack_blocks_are_recognised);
    tcase_add_test(tsb, is_lost_and_pipe_follow_rfc6675);
    tcase_add_test(tsb, scoreboard_keeps_lowest_ranges_when_full);
    suite_add_tcase(s, tsb);
    return s;
}
