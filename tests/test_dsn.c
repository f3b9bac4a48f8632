/* Data sequence machinery (src/dsn.c, RFC 8684 section 3.3): 32->64-bit
 * expansion, data-level windows, receive mapping table with DSS checksums,
 * send mapping records, and a seeded model test of the whole path. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "dsn.h"

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: deterministic, seeded per test */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi) /* [lo, hi] */
{
    return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1));
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 8)) ^ 0x5a);
}

/* ------------------------------------------------------------ expansion */

static const struct {
    uint64_t cur;
    uint32_t low;
    uint64_t want;
} expand_vec[] = {
    { 0x0000000100000005ull, 0x00000007u, 0x0000000100000007ull }, /* same epoch, ahead */
    { 0x0000000100000007ull, 0x00000005u, 0x0000000100000005ull }, /* same epoch, behind */
    { 0x00000001fffffff0ull, 0x00000010u, 0x0000000200000010ull }, /* forward over 2^32 */
    { 0x0000000200000010ull, 0xfffffff0u, 0x00000001fffffff0ull }, /* backward over 2^32 */
    { 0xfffffffffffffff0ull, 0x00000010u, 0x0000000000000010ull }, /* forward over 2^64 */
    { 0x0000000000000010ull, 0xfffffff0u, 0xfffffffffffffff0ull }, /* backward over 2^64 */
    { 0xffffffff00000000ull, 0x7fffffffu, 0xffffffff7fffffffull }, /* 2^31-1 ahead */
    { 0x0000000180000000ull, 0x00000000u, 0x0000000100000000ull }, /* exactly 2^31: backward */
    { 0x123456789abcdef0ull, 0x1abcdef1u, 0x123456781abcdef1ull }, /* 2^31+1 ahead = behind */
    { 0x123456789abcdef0ull, 0x1abcdeefu, 0x123456791abcdeefull }, /* 2^31-1 ahead */
    { 0x0000000000000000ull, 0x00000000u, 0x0000000000000000ull },
    { 0xffffffffffffffffull, 0xffffffffu, 0xffffffffffffffffull },
    { 0xffffffffffffffffull, 0x00000000u, 0x0000000000000000ull }, /* +1 wraps 2^64 */
    { 0x0000000000000000ull, 0xffffffffu, 0xffffffffffffffffull }, /* -1 wraps 2^64 */
};

START_TEST(dsn_expand_table)
{
    ck_assert_uint_eq(mptcp_dsn_expand(expand_vec[_i].cur, expand_vec[_i].low),
                      expand_vec[_i].want);
}
END_TEST

START_TEST(dsn_expand_any_distance_below_2_31)
{
    static const uint64_t bases[] = {
        0, 1, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x100000000ull,
        0x17fffffffull, 0x1ffffffffull, 0x8000000000000000ull, 0xfffffffeffffffffull,
        0xffffffff00000000ull, 0xffffffffffffffffull, 0xfffffffffffffff0ull,
    };
    static const int64_t deltas[] = {
        0, 1, -1, 2, -2, 0x7fffffff, -0x7fffffff, 0x40000000, -0x40000000,
        0xffff, -0xffff, 0x10000, -0x10000, 12345678, -12345678,
    };
    uint64_t seed = 1;
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
            uint64_t want = bases[b] + (uint64_t)deltas[d];
            ck_assert_uint_eq(mptcp_dsn_expand(bases[b], (uint32_t)want), want);
        }
        uint32_t wrong = 0;
        for (int k = 0; k < 20000; k++) {
            int64_t delta = (int64_t)(rng_next(&seed) % 0xffffffffull) - 0x7fffffff;
            uint64_t want = bases[b] + (uint64_t)delta;
            wrong += mptcp_dsn_expand(bases[b], (uint32_t)want) != want;
        }
        ck_assert_uint_eq(wrong, 0);
    }
}
END_TEST

START_TEST(dsn_expand_opt_keeps_64bit_values)
{
    ck_assert_uint_eq(mptcp_dsn_expand_opt(5, 0xdeadbeef00000001ull, true),
                      0xdeadbeef00000001ull);
    ck_assert_uint_eq(mptcp_dsn_expand_opt(0x500000000ull, 0xdeadbeef00000001ull, false),
                      0x500000001ull);
}
END_TEST

START_TEST(dsn_compare_wraps_2_64)
{
    ck_assert(mptcp_dsn_lt(0xfffffffffffffff0ull, 5));
    ck_assert(mptcp_dsn_gt(5, 0xfffffffffffffff0ull));
    ck_assert(mptcp_dsn_leq(7, 7) && mptcp_dsn_geq(7, 7));
    ck_assert(!mptcp_dsn_lt(7, 7));
    ck_assert_uint_eq(mptcp_dsn_max(0xffffffffffffffffull, 1), 1);
    ck_assert_uint_eq(mptcp_dsn_min(0xffffffffffffffffull, 1), 0xffffffffffffffffull);
}
END_TEST

/* ---------------------------------------------------------------- windows */

START_TEST(rcv_wnd_scaled_and_capped)
{
    uint64_t edge = 1000;
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(1000, 40000, 0, &edge), 40000);
    ck_assert_uint_eq(edge, 41000);
    edge = 1000;
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(1000, 1u << 20, 2, &edge), 0xffff);
    ck_assert_uint_eq(edge, 1000 + (0xffffull << 2));
    edge = 1000;
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(1000, 1u << 20, 7, &edge), 8192);
    ck_assert_uint_eq(edge, 1000 + (1u << 20));
    edge = 1000;
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(1000, 1000, 9, &edge), 1); /* rounds down */
    ck_assert_uint_eq(edge, 1512);
}
END_TEST

START_TEST(rcv_wnd_never_retracts_edge)
{
    uint64_t base = 0xfffffffffffff000ull; /* the edge crosses 2^64 */
    uint64_t edge = base;
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(base, 10000, 3, &edge), 1250);
    ck_assert_uint_eq(edge, base + 10000);
    /* The application did not read; 3000 bytes arrived: 7000 free. */
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(base + 3000, 7000, 3, &edge), 875);
    ck_assert_uint_eq(edge, base + 10000);
    /* Buffer shrank to 1000 free: the field still reaches the old edge. */
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(base + 3001, 1000, 3, &edge), 875);
    ck_assert_uint_eq(edge, base + 3001 + 7000);
    ck_assert(mptcp_dsn_geq(edge, base + 10000));
    /* Space grows: the edge moves right. */
    ck_assert_uint_eq(mptcp_dsn_rcv_wnd(base + 3001, 80000, 3, &edge), 10000);
    ck_assert_uint_eq(edge, base + 83001);
}
END_TEST

START_TEST(snd_edge_never_moves_left)
{
    ck_assert_uint_eq(mptcp_dsn_snd_edge(1000, 500, 400), 1000);
    ck_assert_uint_eq(mptcp_dsn_snd_edge(1000, 700, 400), 1100);
    ck_assert_uint_eq(mptcp_dsn_snd_edge(0xfffffffffffffff0ull, 0xfffffffffffffff0ull, 0x20),
                      0x10);
}
END_TEST

START_TEST(accept_classifies_old_new_beyond)
{
    uint32_t skip, take;
    uint64_t r = 0xfffffffffffffff0ull, edge = r + 100; /* window across 2^64 */

    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r - 50, 50, &skip, &take), MPTCP_DSN_OLD);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r - 50, 10, &skip, &take), MPTCP_DSN_OLD);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r, 0, &skip, &take), MPTCP_DSN_OLD);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r - 10, 30, &skip, &take), MPTCP_DSN_IN);
    ck_assert_uint_eq(skip, 10);
    ck_assert_uint_eq(take, 20);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r + 90, 30, &skip, &take), MPTCP_DSN_IN);
    ck_assert_uint_eq(skip, 0);
    ck_assert_uint_eq(take, 10);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r + 100, 1, &skip, &take), MPTCP_DSN_BEYOND);
    ck_assert_uint_eq(take, 0);
    ck_assert_int_eq(mptcp_dsn_accept(r, r, r - 5, 10, &skip, &take), MPTCP_DSN_BEYOND);
    ck_assert_int_eq(mptcp_dsn_accept(r, edge, r + 50, 10, NULL, NULL), MPTCP_DSN_IN);
}
END_TEST

/* ------------------------------------------------------------ receive side */

#define IRS 0xfffffff0u /* relative sequences cross 2^32 quickly */

static mptcp_map mk(uint64_t dsn, uint32_t ssn, uint16_t len, bool fin)
{
    mptcp_map m;
    memset(&m, 0, sizeof(m));
    m.dsn = dsn;
    m.ssn = ssn;
    m.data_len = len;
    m.fin = fin;
    return m;
}

static mptcp_map mk_csum(uint64_t dsn, uint32_t ssn, uint16_t data_len, bool fin,
                         const uint8_t *payload)
{
    mptcp_map m = mk(dsn, ssn, data_len, fin);
    m.has_csum = true;
    m.csum = mptcp_dss_csum(dsn, ssn, data_len, payload, mptcp_map_payload(&m));
    return m;
}

START_TEST(rx_add_dup_conflict_old_full)
{
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_rx_init(&rx, IRS, false);

    m = mk(5000, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_DUP);
    ck_assert_uint_eq(rx.n, 1);
    /* Same subflow bytes, other DSN / other length: the mapping changed. */
    m = mk(9000, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    m = mk(5000, 1, 120, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    m = mk(5049, 50, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    m = mk(4990, 0xfffffff0u, 20, false); /* ends inside the first one */
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    /* Checksum presence must match the negotiation (3.3.1). */
    m = mk(5100, 101, 100, false);
    m.has_csum = true;
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECSUM);
    ck_assert_uint_eq(rx.n, 1);
    /* Next mappings, added out of order, are kept sorted. */
    m = mk(5300, 301, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    m = mk(5100, 101, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert_uint_eq(rx.ent[1].m.ssn, 101);
    ck_assert_uint_eq(rx.ent[2].m.ssn, 301);
    m = mk(5200, 201, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    m = mk(5400, 401, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_EFULL);
    /* Consuming retires the first; a retransmitted copy of it is old. */
    mptcp_map_rx_consume(&rx, 100);
    ck_assert_uint_eq(rx.n, 3);
    m = mk(5000, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_OLD);
    m = mk(5400, 401, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
}
END_TEST

START_TEST(rx_get_pieces_and_unmapped_gaps)
{
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    mptcp_map_rx_init(&rx, IRS, false);

    m = mk(0xfffffffffffffff0ull, 1, 100, false); /* DSNs cross 2^64 */
    mptcp_map_rx_add(&rx, &m);
    m = mk(0x54, 101, 100, false);
    mptcp_map_rx_add(&rx, &m);
    m = mk(0x200, 221, 10, false);
    mptcp_map_rx_add(&rx, &m);

    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 250, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 0xfffffffffffffff0ull);
    ck_assert_uint_eq(p.len, 100);
    ck_assert(!p.fin);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 31, 10, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 0xfffffffffffffff0ull + 30);
    ck_assert_uint_eq(p.len, 10);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 101, 250, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 0x54);
    ck_assert_uint_eq(p.len, 100);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 201, 250, &p), MPTCP_MAP_PIECE_UNMAPPED);
    ck_assert_uint_eq(p.len, 20); /* up to the next mapping */
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 231, 50, &p), MPTCP_MAP_PIECE_UNMAPPED);
    ck_assert_uint_eq(p.len, 50);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 0, &p), MPTCP_MAP_PIECE_UNMAPPED);
    ck_assert_uint_eq(p.len, 0);

    mptcp_map_rx_consume(&rx, 150);
    ck_assert_uint_eq(rx.n, 2);
    mptcp_map_rx_consume(&rx, 50);
    ck_assert_uint_eq(rx.n, 1);
    mptcp_map_rx_consume(&rx, 30);
    ck_assert_uint_eq(rx.n, 0);
}
END_TEST

START_TEST(rx_data_fin_with_payload)
{
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    mptcp_map_rx_init(&rx, IRS, false);

    m = mk(7000, 1, 51, true); /* 50 bytes + DATA_FIN */
    ck_assert_uint_eq(mptcp_map_payload(&m), 50);
    ck_assert_uint_eq(mptcp_map_fin_dsn(&m), 7050);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 30, &p), MPTCP_MAP_PIECE_OK);
    ck_assert(!p.fin);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 31, 100, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.len, 20);
    ck_assert(p.fin);
    ck_assert_uint_eq(p.fin_dsn, 7050);
    /* The byte after the payload is not mapped: the DATA_FIN has none. */
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 51, 1, &p), MPTCP_MAP_PIECE_UNMAPPED);
}
END_TEST

/* Bug G (Linux 6.18 interop): the kernel sent 1424 bytes of a mapping
 * {DSN, SSN, 1744}, then a bare DATA_FIN, then the last 320 bytes under
 * {DSN, SSN, 1745, F}: the same mapping with the DATA_FIN's data-level byte
 * (RFC 8684 section 3.3.3). Not a conflict; the held mapping and its
 * checksum (computed over the option as first sent) stay. */
START_TEST(rx_remap_with_data_fin_is_the_same_mapping)
{
    uint8_t data[1744];
    mptcp_map_rx rx;
    mptcp_map m, f;
    mptcp_map_piece p;
    fill_pattern(data, sizeof(data), 7);
    for (int csum = 0; csum < 2; csum++) {
        mptcp_map_rx_init(&rx, IRS, csum != 0);
        m = csum ? mk_csum(0x3560716ull, 5588457, 1744, false, data) : mk(0x3560716ull, 5588457, 1744, false);
        rx.consumed = 5588457; /* earlier mappings are consumed */
        rx.fed = 5588457;
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
        uint32_t seq = IRS + 5588457;
        if (csum)
            ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, seq, data, 1424), 1424);
        ck_assert_int_eq(mptcp_map_rx_get(&rx, seq, 1424, &p), csum ? MPTCP_MAP_PIECE_WAIT : MPTCP_MAP_PIECE_OK);
        if (!csum)
            mptcp_map_rx_consume(&rx, 1424);
        /* The rest comes with {same DSN, same SSN, 1745, F}. */
        f = csum ? mk_csum(0x3560716ull, 5588457, 1745, true, data) : mk(0x3560716ull, 5588457, 1745, true);
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &f), MPTCP_MAP_DUP_FIN);
        ck_assert_uint_eq(mptcp_map_fin_dsn(&f), 0x3560716ull + 1744);
        ck_assert_uint_eq(rx.n, 1);
        ck_assert_uint_eq(rx.ent[0].m.data_len, 1744);
        ck_assert(!rx.ent[0].m.fin);
        /* Again: still nothing changes; without the F flag: a duplicate. */
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &f), MPTCP_MAP_DUP_FIN);
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_DUP);
        if (csum) {
            ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, seq + 1424, data + 1424, 320), 320);
            ck_assert_int_eq(mptcp_map_rx_get(&rx, seq, 1744, &p), MPTCP_MAP_PIECE_OK);
            ck_assert_uint_eq(p.len, 1744);
            ck_assert(rx.csum_ok_seen);
        } else {
            ck_assert_int_eq(mptcp_map_rx_get(&rx, seq + 1424, 320, &p), MPTCP_MAP_PIECE_OK);
            ck_assert_uint_eq(p.dsn, 0x3560716ull + 1424);
            ck_assert_uint_eq(p.len, 320);
        }
        /* A length other than payload + DATA_FIN is still a changed mapping. */
        f = mk(0x3560716ull, 5588457, 1746, true);
        f.has_csum = csum != 0;
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &f), MPTCP_MAP_ECONFLICT);
        f = mk(0x3560717ull, 5588457, 1745, true);
        f.has_csum = csum != 0;
        ck_assert_int_eq(mptcp_map_rx_add(&rx, &f), MPTCP_MAP_ECONFLICT);
    }
    /* The other order: held with the DATA_FIN, the copy without it. */
    mptcp_map_rx_init(&rx, IRS, false);
    m = mk(9000, 1, 101, true);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    m = mk(9000, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_DUP);
    ck_assert(rx.ent[0].m.fin);
}
END_TEST

START_TEST(rx_data_fin_without_payload)
{
    mptcp_map_rx rx;
    mptcp_map m, out;
    mptcp_map_rx_init(&rx, IRS, true);

    mptcp_map_tx_fin_only(0x100000000ull, true, &m);
    ck_assert_uint_eq(m.ssn, 0);
    ck_assert_uint_eq(m.data_len, 1);
    ck_assert(m.fin && m.has_csum);
    ck_assert_uint_eq(m.csum, mptcp_dss_csum(0x100000000ull, 0, 1, NULL, 0));
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_FIN_ONLY);
    ck_assert_uint_eq(rx.n, 0);
    ck_assert_uint_eq(mptcp_map_fin_dsn(&m), 0x100000000ull);

    /* From a decoded option with a 32-bit DSN just past 2^32. */
    mptcp_opt_dss o;
    memset(&o, 0, sizeof(o));
    o.has_map = true;
    o.dsn = 5;
    o.ssn = 0;
    o.data_len = 1;
    o.fin = true;
    o.has_csum = true;
    ck_assert_int_eq(mptcp_map_rx_add_dss(&rx, &o, 0xfffffff0ull, &out), MPTCP_MAP_FIN_ONLY);
    ck_assert_uint_eq(out.dsn, 0x100000005ull);
    ck_assert_uint_eq(mptcp_map_fin_dsn(&out), 0x100000005ull);
}
END_TEST

START_TEST(rx_add_dss_expands_32bit_dsn)
{
    mptcp_map_rx rx;
    mptcp_map out;
    mptcp_opt_dss o;
    mptcp_map_rx_init(&rx, IRS, false);
    memset(&o, 0, sizeof(o));
    o.has_map = true;
    o.dsn = 0x00000010u; /* rcv_nxt is just below 2^64: this one is past the wrap */
    o.ssn = 1;
    o.data_len = 10;
    ck_assert_int_eq(mptcp_map_rx_add_dss(&rx, &o, 0xfffffffffffffff8ull, &out),
                     MPTCP_MAP_ADDED);
    ck_assert_uint_eq(out.dsn, 0x10);
    o.dsn64 = true;
    o.dsn = 0xabcdef0000000000ull;
    o.ssn = 11;
    ck_assert_int_eq(mptcp_map_rx_add_dss(&rx, &o, 0, &out), MPTCP_MAP_ADDED);
    ck_assert_uint_eq(out.dsn, 0xabcdef0000000000ull);
}
END_TEST

/* Chunk sizes for feeding a 1000-byte mapping (sum 1000 each). */
static const uint32_t chunkings[][8] = {
    { 1000 },
    { 1, 999 },
    { 7, 333, 1, 459, 200 },
    { 3, 3, 3, 991 },
    { 999, 1 },
    { 500, 1, 1, 1, 497 },
};

static void feed_chunks(mptcp_map_rx *rx, uint32_t seq, const uint8_t *data, int which,
                        bool check_wait_until_end)
{
    uint32_t off = 0;
    mptcp_map_piece p;
    for (int k = 0; k < 8 && chunkings[which][k]; k++) {
        uint32_t n = chunkings[which][k];
        ck_assert_uint_eq(mptcp_map_rx_csum_feed(rx, seq + off, data + off, n), n);
        off += n;
        if (check_wait_until_end && off < 1000) {
            ck_assert_int_eq(mptcp_map_rx_get(rx, seq, off, &p), MPTCP_MAP_PIECE_WAIT);
            ck_assert_uint_eq(p.len, off);
        }
    }
    ck_assert_uint_eq(off, 1000);
}

START_TEST(rx_csum_ok_across_odd_chunks)
{
    uint8_t data[1000];
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    fill_pattern(data, sizeof(data), (uint32_t)_i);
    mptcp_map_rx_init(&rx, IRS, true);
    m = mk_csum(0x1122334455667788ull, 1, 1000, false, data);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert(!rx.csum_ok_seen);
    feed_chunks(&rx, IRS + 1, data, _i, true);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 1000, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.len, 1000);
    ck_assert_uint_eq(p.dsn, 0x1122334455667788ull);
    ck_assert(rx.csum_ok_seen);
    /* Feeding the same bytes again (a retransmission) changes nothing. */
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 1000), 1000);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 1000, &p), MPTCP_MAP_PIECE_OK);
}
END_TEST

START_TEST(rx_csum_bad_byte_detected_at_completion)
{
    uint8_t data[1000];
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    fill_pattern(data, sizeof(data), 3);
    mptcp_map_rx_init(&rx, IRS, true);
    m = mk_csum(77, 1, 1000, false, data);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    data[(_i * 157) % 1000] ^= 0x10; /* a middlebox changed one byte */
    feed_chunks(&rx, IRS + 1, data, _i, true);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 1000, &p), MPTCP_MAP_PIECE_BAD);
    ck_assert_uint_eq(p.len, 1000);
    ck_assert(!rx.csum_ok_seen);
}
END_TEST

START_TEST(rx_csum_two_mappings_one_feed)
{
    uint8_t data[300];
    mptcp_map_rx rx;
    mptcp_map m1, m2;
    mptcp_map_piece p;
    fill_pattern(data, sizeof(data), 9);
    mptcp_map_rx_init(&rx, IRS, true);
    m1 = mk_csum(1000, 1, 101, false, data); /* odd length: the next starts odd */
    m2 = mk_csum(1101, 102, 200, true, data + 101); /* 199 bytes + DATA_FIN */
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m1), MPTCP_MAP_ADDED);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m2), MPTCP_MAP_ADDED);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 300), 300);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 300, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.len, 101);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 102, 199, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.len, 199);
    ck_assert(p.fin);
    ck_assert_uint_eq(p.fin_dsn, 1300);
    /* A wrong data_len in the pseudo-header (FIN not counted) fails. */
    mptcp_map_rx_init(&rx, IRS, true);
    m2 = mk_csum(1101, 102, 199, false, data + 101);
    m2.data_len = 200;
    m2.fin = true;
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m1), MPTCP_MAP_ADDED);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m2), MPTCP_MAP_ADDED);
    mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 300);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 102, 199, &p), MPTCP_MAP_PIECE_BAD);
}
END_TEST

START_TEST(rx_csum_mapping_after_its_bytes_rejected)
{
    uint8_t data[100];
    mptcp_map_rx rx;
    mptcp_map m;
    fill_pattern(data, sizeof(data), 1);
    mptcp_map_rx_init(&rx, IRS, true);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 50), 0);
    m = mk_csum(1, 1, 100, false, data);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    /* Without checksums the same late mapping is fine. */
    mptcp_map_rx_init(&rx, IRS, false);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 50), 0);
    m = mk(1, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 50), 50);
}
END_TEST

START_TEST(rx_infinite_mapping_goes_linear)
{
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    mptcp_map_rx_init(&rx, IRS, false);

    m = mk(1000, 1, 100, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    /* An infinite mapping disagreeing with held bytes is a conflict. */
    m = mk(5000, 51, 0, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ECONFLICT);
    ck_assert(!rx.linear);
    /* Agreeing from the middle of the held mapping: it is truncated. */
    m = mk(1050, 51, 0, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_INFINITE);
    ck_assert(rx.linear);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 200, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 1000);
    ck_assert_uint_eq(p.len, 50);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 51, 0x10000000u, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 1050);
    ck_assert_uint_eq(p.len, 0x10000000u);
    /* Far away, across the 2^32 subflow wrap. */
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 51 + 0x70000000u, 5, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 1050 + 0x70000000ull);
    /* Later DSS mappings no longer apply. */
    m = mk(1, 1000, 10, false);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_IGNORED);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1000, NULL, 0), 0);
}
END_TEST

START_TEST(rx_infinite_with_csum_stops_checking)
{
    uint8_t data[100];
    mptcp_map_rx rx;
    mptcp_map m;
    mptcp_map_piece p;
    fill_pattern(data, sizeof(data), 4);
    mptcp_map_rx_init(&rx, IRS, true);
    m = mk_csum(1000, 1, 100, false, data);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, IRS + 1, data, 40), 40);
    /* The infinite mapping carries a checksum field of 0 (3.7). */
    m = mk(1040, 41, 0, false);
    m.has_csum = true;
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_INFINITE);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 100, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.len, 40);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 41, 60, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 1040);
}
END_TEST

START_TEST(rx_fallback_set_linear)
{
    mptcp_map_rx rx;
    mptcp_map_piece p;
    mptcp_map_rx_init(&rx, IRS, false);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 10, &p), MPTCP_MAP_PIECE_UNMAPPED);
    /* RFC 8684 section 3.7: no DSS before fully established -> fallback,
     * the first byte is the peer's IDSN + 1. */
    ck_assert_int_eq(mptcp_map_rx_set_linear(&rx, IRS + 1, 0xffffffffffffffffull), 0);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 1, 10, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 0xffffffffffffffffull);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS + 2, 10, &p), MPTCP_MAP_PIECE_OK);
    ck_assert_uint_eq(p.dsn, 0);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, IRS, 10, &p), MPTCP_MAP_PIECE_UNMAPPED);
    ck_assert_uint_eq(p.len, 1);
}
END_TEST

/* --------------------------------------------------------------- send side */

#define ISS 0xffffff00u

START_TEST(tx_record_lookup_and_merge)
{
    mptcp_map_tx tx;
    mptcp_map m;
    mptcp_map_tx_init(&tx, ISS, false);

    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1000, ISS + 1, 1000, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 2000, ISS + 1001, 2000, NULL), 0); /* merges */
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1, &m), 3000);
    ck_assert_uint_eq(m.dsn, 1000);
    ck_assert_uint_eq(m.ssn, 1);
    ck_assert_uint_eq(m.data_len, 3000);
    ck_assert(!m.fin && !m.has_csum);
    /* Every segment of the chunk carries the same whole mapping. */
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1461, &m), 1540);
    ck_assert_uint_eq(m.dsn, 1000);
    ck_assert_uint_eq(m.data_len, 3000);
    /* Sent: a contiguous chunk no longer merges. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 4000, ISS + 3001, 500, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
    /* A DSN jump (reinjected data) starts a new mapping even if unsent. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 90000, ISS + 3501, 500, NULL), 0);
    ck_assert_uint_eq(tx.n, 3);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 3600, &m), 401);
    ck_assert_uint_eq(m.dsn, 90000);
    ck_assert_uint_eq(m.ssn, 3501);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 4001, &m), MPTCP_ENOTFOUND);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS, &m), MPTCP_ENOTFOUND);
    /* Bad input. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1, ISS + 3900, 10, NULL), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1, ISS + 5000, 0, NULL), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1, ISS + 5000, 65536, NULL), MPTCP_EINVAL);
    /* Merging stops at 65535. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 200000, ISS + 10001, 65000, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 265000, ISS + 75001, 600, NULL), 0);
    ck_assert_uint_eq(tx.n, 5);
}
END_TEST

/* After a fallback the peer maps our subflow bytes linearly after the last
 * mapping it took (RFC 8684 3.7): the table remembers the newest chunk a
 * segment carried, in both spaces; an unsent chunk (a reinjection queued
 * behind it) or a retransmission of an older one does not move it, and it
 * outlives the chunk's acknowledgment. */
START_TEST(tx_newest_sent_chunk_is_remembered_for_a_fallback)
{
    mptcp_map_tx tx;
    mptcp_map m;
    mptcp_map_tx_init(&tx, ISS, false);
    ck_assert(!tx.sent_any);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1000, ISS + 1, 500, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 700, ISS + 501, 500, NULL), 0); /* reinjected */
    ck_assert(!tx.sent_any);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1, &m), 500);
    ck_assert(tx.sent_any);
    ck_assert_uint_eq(tx.sent_end_ssn, 501);
    ck_assert_uint_eq(tx.sent_end_dsn, 1500);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 501, &m), 500);
    ck_assert_uint_eq(tx.sent_end_ssn, 1001);
    ck_assert_uint_eq(tx.sent_end_dsn, 1200);
    /* A retransmission of the first chunk changes nothing. */
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1, &m), 500);
    ck_assert_uint_eq(tx.sent_end_ssn, 1001);
    ck_assert_uint_eq(tx.sent_end_dsn, 1200);
    /* Nor a new chunk that no segment carried yet, nor the acknowledgment. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1500, ISS + 1001, 300, NULL), 0);
    ck_assert_uint_eq(mptcp_map_tx_ack(&tx, ISS + 1001), 2);
    ck_assert_uint_eq(tx.sent_end_ssn, 1001);
    ck_assert_uint_eq(tx.sent_end_dsn, 1200);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1001, &m), 300);
    ck_assert_uint_eq(tx.sent_end_ssn, 1301);
    ck_assert_uint_eq(tx.sent_end_dsn, 1800);
}
END_TEST

START_TEST(tx_csum_matches_one_shot_over_merged_odd_chunks)
{
    uint8_t data[4000];
    mptcp_map_tx tx;
    mptcp_map m;
    fill_pattern(data, sizeof(data), 11);
    mptcp_map_tx_init(&tx, ISS, true);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 50, ISS + 1, 10, NULL), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 50, ISS + 1, 1, data), 0);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 51, ISS + 2, 999, data + 1), 0);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 1050, ISS + 1001, 3000, data + 1000), 0);
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 4051), MPTCP_ESTATE); /* not the end */
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 4050), 0);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1, &m), 4000);
    ck_assert_uint_eq(m.data_len, 4001);
    ck_assert(m.fin && m.has_csum);
    ck_assert_uint_eq(m.csum, mptcp_dss_csum(50, 1, 4001, data, 4000));
    /* What the receiver makes of it. */
    mptcp_map_rx rx;
    mptcp_map_piece p;
    mptcp_map_rx_init(&rx, ISS, true);
    ck_assert_int_eq(mptcp_map_rx_add(&rx, &m), MPTCP_MAP_ADDED);
    mptcp_map_rx_csum_feed(&rx, ISS + 1, data, 1460);
    mptcp_map_rx_csum_feed(&rx, ISS + 1461, data + 1460, 2540);
    ck_assert_int_eq(mptcp_map_rx_get(&rx, ISS + 1, 4000, &p), MPTCP_MAP_PIECE_OK);
    ck_assert(p.fin);
    ck_assert_uint_eq(p.fin_dsn, 4050);
}
END_TEST

START_TEST(tx_set_fin_rules)
{
    mptcp_map_tx tx;
    mptcp_map m;
    mptcp_map_tx_init(&tx, ISS, false);
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 5), MPTCP_ENOTFOUND);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 0, ISS + 1, 100, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, ISS + 1, &m), 100);
    /* Already on the wire without F: the mapping may not change. */
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 100), MPTCP_ESTATE);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 100, ISS + 101, 65535, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 65635), MPTCP_ESTATE); /* no room for F */
    mptcp_map_tx_init(&tx, ISS, false);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 0, ISS + 1, 100, NULL), 0);
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 100), 0);
    ck_assert_int_eq(mptcp_map_tx_set_fin(&tx, 100), MPTCP_ESTATE);
    /* A chunk with the DATA_FIN does not grow. */
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 100, ISS + 101, 10, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
}
END_TEST

START_TEST(tx_ack_and_reinjection_ranges_wrap)
{
    mptcp_map_tx tx;
    mptcp_dsn_range r[8];
    const uint64_t D = 0xfffffffffffff000ull; /* DSNs cross 2^64, seqs cross 2^32 */
    mptcp_map_tx_init(&tx, ISS, false);

    mptcp_map m;
    ck_assert_int_eq(mptcp_map_tx_add(&tx, D, ISS + 1, 1000, NULL), 0);
    mptcp_map_tx_for_seg(&tx, ISS + 1, &m);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, D + 1000, ISS + 1001, 3000, NULL), 0);
    mptcp_map_tx_for_seg(&tx, ISS + 1001, &m);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, 0x500, ISS + 4001, 1000, NULL), 0); /* reinjected */
    mptcp_map_tx_for_seg(&tx, ISS + 4001, &m);
    ck_assert_int_eq(mptcp_map_tx_add(&tx, D + 4000, ISS + 5001, 1000, NULL), 0);
    ck_assert_uint_eq(tx.n, 4);

    /* Nothing acked: two ranges (the first two chunks merge). */
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1, D, r, 8), 3);
    ck_assert_uint_eq(r[0].start, D);
    ck_assert_uint_eq(r[0].end, D + 4000);
    ck_assert_uint_eq(r[1].start, 0x500);
    ck_assert_uint_eq(r[1].end, 0x500 + 1000);
    ck_assert_uint_eq(r[2].start, D + 4000);
    ck_assert_uint_eq(r[2].end, D + 5000); /* past 2^64 */
    /* |max| limits the output. */
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1, D, r, 1), 1);
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1, D, r, 0), 0);

    /* Subflow ack inside the second chunk: first one dropped, second trimmed. */
    ck_assert_uint_eq(mptcp_map_tx_ack(&tx, ISS + 1500), 1);
    ck_assert_uint_eq(tx.n, 3);
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1500, D, r, 8), 3);
    ck_assert_uint_eq(r[0].start, D + 1499);
    /* DATA_ACK beyond part of it trims too (and drops ranges below it). */
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1500, D + 2000, r, 8), 3);
    ck_assert_uint_eq(r[0].start, D + 2000);
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 1500, 0x600, r, 8), 1);
    ck_assert_uint_eq(r[0].start, 0x600);
    ck_assert_uint_eq(r[0].end, 0x500 + 1000);

    /* Ack across the 2^32 subflow wrap drops everything. */
    ck_assert_uint_eq(mptcp_map_tx_ack(&tx, ISS + 6001), 3);
    ck_assert_uint_eq(tx.n, 0);
    ck_assert_uint_eq(mptcp_map_tx_unacked(&tx, ISS + 6001, 0, r, 8), 0);
    ck_assert_uint_eq(mptcp_map_tx_ack(&tx, ISS + 7001), 0);
}
END_TEST

START_TEST(tx_ring_full_then_reused)
{
    mptcp_map_tx tx;
    mptcp_map m;
    uint32_t seq = ISS + 1;
    mptcp_map_tx_init(&tx, ISS, false);
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < MPTCP_MAP_TX_MAX; i++) {
            /* DSN gaps keep each chunk its own mapping. */
            ck_assert_int_eq(mptcp_map_tx_add(&tx, (uint64_t)seq * 2, seq, 100, NULL), 0);
            seq += 100;
        }
        ck_assert_int_eq(mptcp_map_tx_add(&tx, (uint64_t)seq * 2, seq, 100, NULL),
                         MPTCP_ELIMIT);
        ck_assert_int_eq(mptcp_map_tx_for_seg(&tx, seq - 50, &m), 50);
        ck_assert_uint_eq(m.dsn, (uint64_t)(seq - 100) * 2);
        ck_assert_uint_eq(mptcp_map_tx_ack(&tx, seq - 100), MPTCP_MAP_TX_MAX - 1);
        ck_assert_uint_eq(mptcp_map_tx_ack(&tx, seq), 1);
    }
}
END_TEST

/* ------------------------------------------------------------- model test */

#define MODEL_LEN 300000u

/*
 * tx mapping -> segments -> rx mapping -> DSN reconstruction. One subflow
 * carries the stream in random chunks (with reinjection-like DSN jumps
 * folded back in order), random MSS, random 32/64-bit DSN forms, random
 * retransmissions of earlier segments (TCP drops their bytes, the mapping
 * is seen again), DSS checksums on or off. The receiver must rebuild every
 * byte at its DSN and see the DATA_FIN at the end.
 */
START_TEST(model_tx_segments_rx_rebuild_stream)
{
    static uint8_t stream[MODEL_LEN], rebuilt[MODEL_LEN], got[MODEL_LEN];
    uint64_t seed = 0x5eed0000u + (uint64_t)_i;
    const bool csum = (_i & 1) != 0;
    const uint64_t base = (_i & 2) ? 0xfffffffffffe0000ull : rng_next(&seed);
    const uint32_t iss = (_i & 2) ? 0xfffe0000u : (uint32_t)rng_next(&seed);
    mptcp_map_tx tx;
    mptcp_map_rx rx;
    uint32_t handed = 0, sent = 0, rcvd = 0, consumed = 0;
    uint64_t rcv_nxt = base;
    bool fin_seen = false, fin_set = false;
    uint64_t fin_dsn = 0;
    struct seg_rec { uint32_t seq, len; } hist[64];
    unsigned nhist = 0;
    uint32_t twice = 0;

    for (uint32_t i = 0; i < MODEL_LEN; i++)
        stream[i] = (uint8_t)rng_next(&seed);
    memset(rebuilt, 0, sizeof(rebuilt));
    memset(got, 0, sizeof(got));
    mptcp_map_tx_init(&tx, iss, csum);
    mptcp_map_rx_init(&rx, iss, csum);

    while (consumed < MODEL_LEN || (!fin_seen)) {
        /* Scheduler hands a chunk (when room). */
        if (handed < MODEL_LEN && rng_range(&seed, 0, 2) != 0) {
            uint32_t n = rng_range(&seed, 1, 9000);
            if (n > MODEL_LEN - handed)
                n = MODEL_LEN - handed;
            int rc = mptcp_map_tx_add(&tx, base + handed, iss + 1 + handed, n, stream + handed);
            ck_assert(rc == 0 || rc == MPTCP_ELIMIT);
            if (rc == 0)
                handed += n;
        }
        if (handed == MODEL_LEN && !fin_set) {
            int rc = mptcp_map_tx_set_fin(&tx, base + MODEL_LEN);
            ck_assert(rc == 0 || rc == MPTCP_ESTATE);
            fin_set = true;
            if (rc != 0) {
                mptcp_map fm;
                mptcp_map_tx_fin_only(base + MODEL_LEN, csum, &fm);
                /* Delivered whenever: the receiver learns the DATA_FIN DSN. */
                ck_assert_int_eq(mptcp_map_rx_add(&rx, &fm), MPTCP_MAP_FIN_ONLY);
                fin_dsn = mptcp_map_fin_dsn(&fm);
                fin_seen = true;
            }
        }
        /* Send one segment. */
        if (sent < handed) {
            mptcp_map m;
            uint32_t mss = rng_range(&seed, 1, 1460);
            int32_t room = mptcp_map_tx_for_seg(&tx, iss + 1 + sent, &m);
            ck_assert_int_gt(room, 0);
            uint32_t len = MPTCP_MIN((uint32_t)room, mss);
            ck_assert_uint_eq(m.dsn + (sent - (m.ssn - 1)), base + sent);
            /* The wire: 32-bit DSN sometimes. */
            mptcp_opt_dss o;
            memset(&o, 0, sizeof(o));
            o.has_map = true;
            o.dsn64 = rng_range(&seed, 0, 1) != 0;
            o.dsn = o.dsn64 ? m.dsn : (uint32_t)m.dsn;
            o.ssn = m.ssn;
            o.data_len = m.data_len;
            o.fin = m.fin;
            o.has_csum = m.has_csum;
            o.csum = m.csum;
            mptcp_map got_m;
            int rc = mptcp_map_rx_add_dss(&rx, &o, rcv_nxt, &got_m);
            ck_assert(rc == MPTCP_MAP_ADDED || rc == MPTCP_MAP_DUP);
            ck_assert_uint_eq(got_m.dsn, m.dsn);
            if (m.fin) {
                fin_seen = true;
                fin_dsn = mptcp_map_fin_dsn(&m);
            }
            /* TCP delivers it in order; feed the bytes. */
            ck_assert_uint_eq(mptcp_map_rx_csum_feed(&rx, iss + 1 + sent, stream + sent, len),
                              len);
            hist[nhist++ % 64] = (struct seg_rec){ iss + 1 + sent, len };
            sent += len;
            rcvd = sent;
        }
        /* A spurious retransmission of an old segment: its mapping is seen
         * again (DUP while held, OLD once retired); TCP drops its bytes. */
        if (nhist && rng_range(&seed, 0, 7) == 0) {
            unsigned k = (unsigned)rng_range(&seed, 0, MPTCP_MIN(nhist, 64u) - 1);
            mptcp_map m;
            int32_t room = mptcp_map_tx_for_seg(&tx, hist[k].seq, &m);
            if (room > 0) {
                int rc = mptcp_map_rx_add(&rx, &m);
                ck_assert(rc == MPTCP_MAP_DUP || rc == MPTCP_MAP_OLD);
            }
        }
        /* The connection takes what is deliverable. */
        for (;;) {
            mptcp_map_piece p;
            if (consumed == rcvd)
                break;
            int st = mptcp_map_rx_get(&rx, iss + 1 + consumed, rcvd - consumed, &p);
            if (st == MPTCP_MAP_PIECE_WAIT) {
                ck_assert(csum);
                break;
            }
            ck_assert_int_eq(st, MPTCP_MAP_PIECE_OK);
            uint32_t skip, take;
            ck_assert_int_eq(mptcp_dsn_accept(rcv_nxt, rcv_nxt + MODEL_LEN, p.dsn, p.len,
                                              &skip, &take), MPTCP_DSN_IN);
            ck_assert_uint_eq(skip, 0);
            ck_assert_uint_eq(take, p.len);
            uint32_t off = (uint32_t)(p.dsn - base);
            ck_assert_uint_le(off + p.len, MODEL_LEN);
            /* Plain loop (ck_assert per byte costs a mark point each). */
            for (uint32_t b = 0; b < p.len; b++) {
                twice += got[off + b];
                got[off + b] = 1;
                rebuilt[off + b] = stream[consumed + b];
            }
            rcv_nxt += p.len;
            if (p.fin) {
                ck_assert_uint_eq(p.fin_dsn, base + MODEL_LEN);
            }
            mptcp_map_rx_consume(&rx, p.len);
            consumed += p.len;
        }
        /* The subflow acks what was received; records go away. */
        if (rng_range(&seed, 0, 3) == 0) {
            mptcp_map_tx_ack(&tx, iss + 1 + rcvd);
            mptcp_dsn_range r[4];
            uint32_t nr = mptcp_map_tx_unacked(&tx, iss + 1 + rcvd, base + consumed, r, 4);
            if (sent == rcvd)
                ck_assert_uint_le(nr, 1); /* only unsent records remain */
            for (uint32_t k = 0; k < nr; k++)
                ck_assert(mptcp_dsn_geq(r[k].start, base + rcvd));
        }
    }
    ck_assert_uint_eq(consumed, MODEL_LEN);
    ck_assert_uint_eq(twice, 0); /* no DSN delivered twice */
    ck_assert(memcmp(rebuilt, stream, MODEL_LEN) == 0);
    ck_assert(fin_seen);
    ck_assert_uint_eq(fin_dsn, base + MODEL_LEN);
    ck_assert_uint_eq(rcv_nxt, base + MODEL_LEN);
    if (csum)
        ck_assert(rx.csum_ok_seen);
}
END_TEST

Suite *dsn_suite(void)
{
    Suite *s = suite_create("dsn");
    TCase *tc;

    tc = tcase_create("expand");
    tcase_add_loop_test(tc, dsn_expand_table, 0, (int)(sizeof(expand_vec) / sizeof(expand_vec[0])));
    tcase_add_test(tc, dsn_expand_any_distance_below_2_31);
    tcase_add_test(tc, dsn_expand_opt_keeps_64bit_values);
    tcase_add_test(tc, dsn_compare_wraps_2_64);
    suite_add_tcase(s, tc);

    tc = tcase_create("window");
    tcase_add_test(tc, rcv_wnd_scaled_and_capped);
    tcase_add_test(tc, rcv_wnd_never_retracts_edge);
    tcase_add_test(tc, snd_edge_never_moves_left);
    tcase_add_test(tc, accept_classifies_old_new_beyond);
    suite_add_tcase(s, tc);

    tc = tcase_create("map_rx");
    tcase_add_test(tc, rx_add_dup_conflict_old_full);
    tcase_add_test(tc, rx_get_pieces_and_unmapped_gaps);
    tcase_add_test(tc, rx_data_fin_with_payload);
    tcase_add_test(tc, rx_data_fin_without_payload);
    tcase_add_test(tc, rx_remap_with_data_fin_is_the_same_mapping);
    tcase_add_test(tc, rx_add_dss_expands_32bit_dsn);
    tcase_add_loop_test(tc, rx_csum_ok_across_odd_chunks, 0,
                        (int)(sizeof(chunkings) / sizeof(chunkings[0])));
    tcase_add_loop_test(tc, rx_csum_bad_byte_detected_at_completion, 0,
                        (int)(sizeof(chunkings) / sizeof(chunkings[0])));
    tcase_add_test(tc, rx_csum_two_mappings_one_feed);
    tcase_add_test(tc, rx_csum_mapping_after_its_bytes_rejected);
    tcase_add_test(tc, rx_infinite_mapping_goes_linear);
    tcase_add_test(tc, rx_infinite_with_csum_stops_checking);
    tcase_add_test(tc, rx_fallback_set_linear);
    suite_add_tcase(s, tc);

    tc = tcase_create("map_tx");
    tcase_add_test(tc, tx_record_lookup_and_merge);
    tcase_add_test(tc, tx_csum_matches_one_shot_over_merged_odd_chunks);
    tcase_add_test(tc, tx_set_fin_rules);
    tcase_add_test(tc, tx_ack_and_reinjection_ranges_wrap);
    tcase_add_test(tc, tx_ring_full_then_reused);
    tcase_add_test(tc, tx_newest_sent_chunk_is_remembered_for_a_fallback);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, model_tx_segments_rx_rebuild_stream, 0, 8);
    suite_add_tcase(s, tc);
    return s;
}
