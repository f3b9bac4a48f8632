/*
 * Send and receive rings (src/buf.c): wraparound, bytes kept after their
 * acknowledgement (an MPTCP connection ring), every overlap case of the
 * out-of-order store, RFC 2018 block order, the MPTCP_OOO_MAX drop, and a
 * seeded model test that reassembles a known stream from random segments.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

/* The out-of-order range table comes from this pool: static storage, so a
 * test that ends with ranges held leaks nothing. pool_fail makes the next
 * allocation fail. */
#define POOL_SLOTS 64
static mptcp_ooo_range pool[POOL_SLOTS][MPTCP_OOO_MAX];
static bool pool_busy[POOL_SLOTS];
static bool pool_fail;
static size_t pool_bytes;

static void *pool_alloc(void *user, size_t n)
{
    (void)user;
    if (pool_fail || n != sizeof pool[0])
        return NULL;
    for (size_t i = 0; i < POOL_SLOTS; i++) {
        if (!pool_busy[i]) {
            pool_busy[i] = true;
            return pool[i];
        }
    }
    return NULL;
}

static void pool_free(void *user, void *p, size_t n)
{
    (void)user;
    ck_assert_uint_eq(n, sizeof pool[0]);
    size_t i = (size_t)((mptcp_ooo_range(*)[MPTCP_OOO_MAX])p - pool);
    ck_assert(i < POOL_SLOTS && pool_busy[i]);
    pool_busy[i] = false;
}

static const mptcp_allocator pool_allocator = {pool_alloc, pool_free, NULL};
static const mptcp_mem tm = {&pool_allocator, &pool_bytes};

/* Check's ck_assert_* report every passing check to the runner through a
 * pipe; inside loops of many thousands of steps these cheap forms are used,
 * failing through ck_abort_msg with both values. */
#define REQ_EQ(a, b)                                                                   \
    do {                                                                               \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
        if (a_ != b_)                                                                  \
            ck_abort_msg("%s:%d: %s == %llu, %s == %llu", __FILE__, __LINE__, #a, a_,   \
                         #b, b_);                                                      \
    } while (0)
#define REQ(x)                                                           \
    do {                                                                 \
        if (!(x))                                                        \
            ck_abort_msg("%s:%d: %s is false", __FILE__, __LINE__, #x); \
    } while (0)

/* xorshift64*: deterministic, seeded per test. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return n == 0 ? 0 : (uint32_t)(rng_next(s) % n);
}

/* Byte |i| of the reference stream: not periodic in any small ring size. */
static uint8_t stream_byte(uint32_t i)
{
    uint32_t x = i * 2654435761u;
    return (uint8_t)(x >> 24 ^ x >> 11 ^ i);
}

static void fill_stream(uint8_t *p, uint32_t from, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = stream_byte(from + i);
}

/* Writes stream bytes [from, from+len) at offset from - rcv_nxt. */
static int32_t write_stream(mptcp_rcvbuf *rb, uint32_t rcv_nxt, uint32_t from, uint32_t len)
{
    uint8_t tmp[4096];
    REQ(len <= sizeof tmp);
    fill_stream(tmp, from, len);
    return mptcp_rcvbuf_write(rb, &tm, from - rcv_nxt, tmp, len);
}

static void assert_ranges(const mptcp_rcvbuf *rb, const uint32_t (*want)[2], uint32_t n)
{
    REQ_EQ(rb->n_ooo, n);
    for (uint32_t i = 0; i < n; i++) {
        REQ_EQ(rb->ooo[i].start, want[i][0]);
        REQ_EQ(rb->ooo[i].end, want[i][1]);
    }
}

/* Reads everything in order and checks it is stream bytes [from, ...). */
static uint32_t read_check(mptcp_rcvbuf *rb, uint32_t from)
{
    uint8_t out[4096];
    uint32_t n = mptcp_rcvbuf_read(rb, out, sizeof out);
    for (uint32_t i = 0; i < n; i++)
        REQ_EQ(out[i], stream_byte(from + i));
    return n;
}

/* ------------------------------------------------------------ sndbuf */

START_TEST(sndbuf_append_copy_consume_wraps)
{
    uint8_t mem[100], src[300], out[300];
    mptcp_sndbuf sb;
    mptcp_sndbuf_init(&sb, mem, sizeof mem);
    fill_stream(src, 0, sizeof src);

    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src, 70), 70);
    mptcp_sndbuf_consume(&sb, 60); /* head at 60, 10 bytes held */
    ck_assert_uint_eq(sb.len, 10);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 90);
    /* 120 offered, 90 taken: the ring wraps past index 99. */
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src + 70, 120), 90);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 0);
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src, 1), 0);

    /* Offsets are relative to the oldest unacked byte (stream byte 60). */
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 0, out, 100), 100);
    ck_assert_mem_eq(out, src + 60, 100);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 35, out, 10), 10); /* straddles the wrap */
    ck_assert_mem_eq(out, src + 95, 10);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 90, out, 50), 10); /* buffer ends first */
    ck_assert_mem_eq(out, src + 150, 10);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 100, out, 5), 0);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 4000000000u, out, 5), 0);

    mptcp_sndbuf_consume(&sb, 55);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 0, out, 45), 45);
    ck_assert_mem_eq(out, src + 115, 45);
    mptcp_sndbuf_consume(&sb, 45);
    ck_assert_uint_eq(sb.len, 0);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 100);
}
END_TEST

START_TEST(sndbuf_random_model)
{
    uint8_t mem[97]; /* not a power of two */
    uint8_t tmp[300];
    mptcp_sndbuf sb;
    mptcp_sndbuf_init(&sb, mem, sizeof mem);
    uint64_t rs = 0x5eed0001u;
    uint32_t una = 0, nxt = 0; /* stream positions: oldest held, next to append */
    for (int it = 0; it < 20000; it++) {
        switch (rng_below(&rs, 3)) {
        case 0: {
            uint32_t n = rng_below(&rs, 150);
            fill_stream(tmp, nxt, n);
            uint32_t took = mptcp_sndbuf_append(&sb, tmp, n);
            REQ_EQ(took, n < 97 - (nxt - una) ? n : 97 - (nxt - una));
            nxt += took;
            break;
        }
        case 1: {
            uint32_t off = rng_below(&rs, 110), n = rng_below(&rs, 110);
            uint32_t got = mptcp_sndbuf_copy(&sb, off, tmp, n);
            uint32_t held = nxt - una;
            REQ_EQ(got, off >= held ? 0 : (n < held - off ? n : held - off));
            for (uint32_t i = 0; i < got; i++)
                REQ_EQ(tmp[i], stream_byte(una + off + i));
            break;
        }
        default: {
            uint32_t n = rng_below(&rs, nxt - una + 1);
            mptcp_sndbuf_consume(&sb, n);
            una += n;
            break;
        }
        }
        REQ_EQ(sb.len, nxt - una);
    }
    ck_assert_uint_gt(nxt, 50000); /* the ring wrapped hundreds of times */
}
END_TEST

START_TEST(sndbuf_zero_capacity)
{
    mptcp_sndbuf sb;
    uint8_t b[4] = { 1, 2, 3, 4 }, out[4];
    mptcp_sndbuf_init(&sb, NULL, 0);
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, b, 4), 0);
    ck_assert_uint_eq(mptcp_sndbuf_copy(&sb, 0, out, 4), 0);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 0);
}
END_TEST

/* Ring to ring (the subflow's send ring filled from the connection's):
 * both rings wrap, at different points, and either can limit the count. */
START_TEST(sndbuf_append_from_ring_to_ring_model)
{
    uint8_t mem_a[97], mem_b[61], tmp[300];
    mptcp_sndbuf a, b;
    mptcp_sndbuf_init(&a, mem_a, sizeof mem_a);
    mptcp_sndbuf_init(&b, mem_b, sizeof mem_b);
    uint64_t rs = 0x5eed0002u;
    uint32_t a_una = 0, a_nxt = 0; /* stream positions held by a */
    uint32_t b_una = 0, b_nxt = 0; /* positions held by b (a's stream, b_una.. in order) */
    uint32_t wraps = 0;
    for (int it = 0; it < 20000; it++) {
        uint32_t n = rng_below(&rs, 80);
        fill_stream(tmp, a_nxt, n);
        a_nxt += mptcp_sndbuf_append(&a, tmp, n);
        /* b takes the next bytes of a's stream from where it stopped */
        uint32_t off = b_nxt - a_una, want = rng_below(&rs, 90);
        uint32_t held = a_nxt - a_una;
        uint32_t b_free = mptcp_sndbuf_free(&b);
        uint32_t exp = off >= held ? 0 : want < held - off ? want : held - off;
        exp = exp < b_free ? exp : b_free;
        uint32_t at = (b.head + b.len) % sizeof mem_b, from = (a.head + off) % sizeof mem_a;
        wraps += exp > 0 && (at + exp > sizeof mem_b || from + exp > sizeof mem_a);
        REQ_EQ(mptcp_sndbuf_append_from(&b, &a, off, want), exp);
        b_nxt += exp;
        REQ_EQ(mptcp_sndbuf_copy(&b, 0, tmp, b.len), b_nxt - b_una);
        for (uint32_t i = 0; i < b.len; i++)
            REQ_EQ(tmp[i], stream_byte(b_una + i));
        /* acknowledgments: b first (its bytes), a never past b's start */
        uint32_t k = rng_below(&rs, b.len + 1);
        mptcp_sndbuf_consume(&b, k);
        b_una += k;
        k = rng_below(&rs, b_una - a_una + 1);
        mptcp_sndbuf_consume(&a, k);
        a_una += k;
    }
    ck_assert_uint_gt(b_nxt, 50000);
    ck_assert_uint_gt(wraps, 100);
    /* nothing beyond the source's end; an empty destination takes nothing */
    ck_assert_uint_eq(mptcp_sndbuf_append_from(&b, &a, a.len, 10), 0);
    mptcp_sndbuf z;
    mptcp_sndbuf_init(&z, NULL, 0);
    ck_assert_uint_eq(mptcp_sndbuf_append_from(&z, &a, 0, 10), 0);
}
END_TEST

/* ------------------------------------------------------------ rcvbuf table */

START_TEST(rcvbuf_in_order_write_and_read)
{
    uint8_t mem[64];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 64);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 40), 40);
    ck_assert_uint_eq(rb.len, 40);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 24);
    ck_assert_uint_eq(read_check(&rb, 0), 40);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 64);
    ck_assert_int_eq(mptcp_rcvbuf_write(&rb, &tm, 0, mem, 0), 0); /* empty write */
}
END_TEST

START_TEST(rcvbuf_ooo_then_hole_filled_exactly)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 20), 0);
    static const uint32_t r1[][2] = { { 10, 30 } };
    assert_ranges(&rb, r1, 1);
    ck_assert_uint_eq(rb.len, 0);
    /* Exactly the hole [0, 10): the range joins and the end moves to 30. */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 10), 30);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_uint_eq(read_check(&rb, 0), 30);
}
END_TEST

START_TEST(rcvbuf_write_bridges_several_ranges)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 30, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 50, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 70, 10), 0);
    static const uint32_t r4[][2] = { { 10, 20 }, { 30, 40 }, { 50, 60 }, { 70, 80 } };
    assert_ranges(&rb, r4, 4);
    /* [15, 55) covers the hole between 20 and 30, all of [30, 40), the hole
     * to 50, and half of [50, 60). */
    ck_assert_int_eq(write_stream(&rb, 0, 15, 40), 0);
    static const uint32_t r2[][2] = { { 10, 60 }, { 70, 80 } };
    assert_ranges(&rb, r2, 2);
    ck_assert_uint_eq(rb.recent, 0);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 10), 60);
    static const uint32_t r1[][2] = { { 10, 20 } }; /* [70, 80) moved down by 60 */
    assert_ranges(&rb, r1, 1);
    ck_assert_uint_eq(read_check(&rb, 0), 60);
}
END_TEST

START_TEST(rcvbuf_partial_overlaps_front_and_back)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 40, 20), 0);  /* [40, 60) */
    ck_assert_int_eq(write_stream(&rb, 0, 30, 15), 0);  /* overlaps the front */
    static const uint32_t a[][2] = { { 30, 60 } };
    assert_ranges(&rb, a, 1);
    ck_assert_int_eq(write_stream(&rb, 0, 55, 15), 0);  /* overlaps the back */
    static const uint32_t b[][2] = { { 30, 70 } };
    assert_ranges(&rb, b, 1);
    ck_assert_int_eq(write_stream(&rb, 0, 20, 60), 0);  /* covers it entirely */
    static const uint32_t c[][2] = { { 20, 80 } };
    assert_ranges(&rb, c, 1);
    ck_assert_int_eq(write_stream(&rb, 0, 25, 5), 0);   /* inside: nothing new */
    assert_ranges(&rb, c, 1);
    /* In-order write that overlaps the range's front. */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 30), 80);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_uint_eq(read_check(&rb, 0), 80);
}
END_TEST

START_TEST(rcvbuf_adjacent_ranges_merge)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 30, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 20, 10), 0); /* touches both: [10, 40) */
    static const uint32_t a[][2] = { { 10, 40 } };
    assert_ranges(&rb, a, 1);
    ck_assert_int_eq(write_stream(&rb, 0, 40, 5), 0);  /* touches the end */
    ck_assert_int_eq(write_stream(&rb, 0, 5, 5), 0);   /* touches the start */
    static const uint32_t b[][2] = { { 5, 45 } };
    assert_ranges(&rb, b, 1);
}
END_TEST

START_TEST(rcvbuf_in_order_write_absorbs_ranges_and_shifts_rest)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 25, 5), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 40, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 60, 10), 0);
    /* [0, 27) reaches into [25, 30): the end moves to 30. */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 27), 30);
    static const uint32_t a[][2] = { { 10, 20 }, { 30, 40 } };
    assert_ranges(&rb, a, 2);
    ck_assert_uint_eq(read_check(&rb, 0), 30);
    /* An in-order write that reaches no range leaves them, shifted. */
    ck_assert_int_eq(write_stream(&rb, 30, 30, 4), 4);
    static const uint32_t b[][2] = { { 6, 16 }, { 26, 36 } };
    assert_ranges(&rb, b, 2);
}
END_TEST

START_TEST(rcvbuf_overlap_with_in_order_data_is_skipped)
{
    uint8_t mem[100];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 30), 30);
    ck_assert_int_eq(write_stream(&rb, 30, 40, 10), 0);
    /* A retransmission of [20, 45): 10 bytes already in order, 10 new. */
    ck_assert_int_eq(write_stream(&rb, 30, 20, 25), 20);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_uint_eq(rb.len, 50);
    /* Entirely old: nothing changes. */
    ck_assert_int_eq(write_stream(&rb, 50, 10, 20), 0);
    ck_assert_int_eq(write_stream(&rb, 50, 0, 50), 0);
    ck_assert_uint_eq(rb.len, 50);
    ck_assert_uint_eq(read_check(&rb, 0), 50);
}
END_TEST

START_TEST(rcvbuf_beyond_space_is_cut_off)
{
    uint8_t mem[100];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 60), 60);  /* space now 40 */
    ck_assert_int_eq(write_stream(&rb, 60, 90, 30), 0); /* [30, 60) cut to [30, 40) */
    static const uint32_t a[][2] = { { 30, 40 } };
    assert_ranges(&rb, a, 1);
    ck_assert_int_eq(write_stream(&rb, 60, 100, 5), 0); /* starts at the edge: dropped */
    ck_assert_int_eq(write_stream(&rb, 60, 150, 5), 0);
    assert_ranges(&rb, a, 1);
    /* In-order write larger than the space fills it exactly. */
    ck_assert_int_eq(write_stream(&rb, 60, 60, 500), 40);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 0);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_int_eq(write_stream(&rb, 100, 100, 10), 0); /* full: nothing fits */
    ck_assert_uint_eq(read_check(&rb, 0), 100);
}
END_TEST

START_TEST(rcvbuf_held_bytes_not_rewritten)
{
    uint8_t mem[100], junk[50], out[50];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 20, 10), 0);
    memset(junk, 0xEE, sizeof junk);
    /* [10, 40) of junk: only the gaps [10, 20) and [30, 40) take it. */
    ck_assert_int_eq(mptcp_rcvbuf_write(&rb, &tm, 10, junk, 30), 0);
    ck_assert_int_eq(mptcp_rcvbuf_write(&rb, &tm, 0, junk, 10), 40);
    ck_assert_uint_eq(mptcp_rcvbuf_read(&rb, out, 40), 40);
    for (uint32_t i = 0; i < 40; i++)
        ck_assert_uint_eq(out[i], i >= 20 && i < 30 ? stream_byte(i) : 0xEE);
}
END_TEST

START_TEST(rcvbuf_ooo_max_drops_without_storing)
{
    uint8_t mem[4 * MPTCP_OOO_MAX + 64];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    for (uint32_t i = 0; i < MPTCP_OOO_MAX; i++)
        ck_assert_int_eq(write_stream(&rb, 0, 4 * i + 2, 1), 0);
    ck_assert_uint_eq(rb.n_ooo, MPTCP_OOO_MAX);
    mptcp_rcvbuf before;
    memcpy(&before, &rb, sizeof rb);
    uint8_t snapshot[sizeof mem];
    memcpy(snapshot, mem, sizeof mem);
    /* A new isolated range beyond the last one, and one between two. */
    ck_assert_int_eq(write_stream(&rb, 0, 4 * MPTCP_OOO_MAX + 10, 3), -1);
    ck_assert_int_eq(write_stream(&rb, 0, 4, 1), -1);
    ck_assert_mem_eq(&rb, &before, sizeof rb);
    ck_assert_mem_eq(mem, snapshot, sizeof mem);
    /* Extending an existing range needs no new slot. */
    ck_assert_int_eq(write_stream(&rb, 0, 3, 1), 0);
    ck_assert_uint_eq(rb.n_ooo, MPTCP_OOO_MAX);
    ck_assert_uint_eq(rb.ooo[0].end, 4);
    /* Filling a hole that joins two ranges frees one slot. */
    ck_assert_int_eq(write_stream(&rb, 0, 4, 2), 0);
    ck_assert_uint_eq(rb.n_ooo, MPTCP_OOO_MAX - 1);
    ck_assert_int_eq(write_stream(&rb, 0, 4 * MPTCP_OOO_MAX + 10, 3), 0);
    ck_assert_uint_eq(rb.n_ooo, MPTCP_OOO_MAX);
    /* In-order data is always taken. */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 2), 7);
    ck_assert_uint_eq(rb.n_ooo, MPTCP_OOO_MAX - 1);
}
END_TEST

START_TEST(rcvbuf_sack_order_most_recent_first)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_ooo_range out[MPTCP_OOO_MAX];
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 4), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 50, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 30, 10), 0);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 4), 3);
    ck_assert_uint_eq(out[0].start, 30);
    ck_assert_uint_eq(out[1].start, 10);
    ck_assert_uint_eq(out[2].start, 50);
    /* Extending [50, 60) makes it the first block. */
    ck_assert_int_eq(write_stream(&rb, 0, 60, 5), 0);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 2), 2); /* capped at max */
    ck_assert_uint_eq(out[0].start, 50);
    ck_assert_uint_eq(out[0].end, 65);
    ck_assert_uint_eq(out[1].start, 10);
    /* A duplicate inside [10, 20) still reports its block first (RFC 2018
     * section 4: the block containing the segment that triggered the ACK). */
    ck_assert_int_eq(write_stream(&rb, 0, 12, 3), 0);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 1), 1);
    ck_assert_uint_eq(out[0].start, 10);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 0), 0);
}
END_TEST

START_TEST(rcvbuf_recent_survives_in_order_advance)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_ooo_range out[4];
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 40, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 70, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 0, 40, 5), 0); /* [40, 50) is the recent one */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 10), 20);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 4), 2);
    ck_assert_uint_eq(out[0].start, 20); /* [40, 50) shifted by 20 */
    ck_assert_uint_eq(out[1].start, 50);
    /* The recent range itself gets absorbed: the lowest remaining goes first. */
    ck_assert_int_eq(write_stream(&rb, 20, 20, 20), 30);
    ck_assert_uint_eq(mptcp_rcvbuf_sack_ranges(&rb, out, 4), 1);
    ck_assert_uint_eq(out[0].start, 20);
    ck_assert_uint_eq(out[0].end, 30);
}
END_TEST

START_TEST(rcvbuf_wraps_around_ring_end)
{
    uint8_t mem[50];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 40), 40);
    ck_assert_uint_eq(read_check(&rb, 0), 40); /* head at 40 */
    /* Out-of-order range that straddles the ring's end (indexes 45..54%50). */
    ck_assert_int_eq(write_stream(&rb, 40, 45, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 40, 40, 5), 15);
    ck_assert_int_eq(write_stream(&rb, 55, 55, 35), 35);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 0);
    ck_assert_uint_eq(read_check(&rb, 40), 50);
}
END_TEST

/* mptcp_rcvbuf_span: the readable bytes up to the ring's wrap point, in
 * place (the MPTCP receive pump writes them to the data-level ring). */
START_TEST(rcvbuf_span_stops_at_the_wrap_point)
{
    uint8_t mem[50];
    mptcp_rcvbuf rb;
    const uint8_t *p = NULL;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 0, 10, &p), 0); /* nothing held */
    ck_assert_int_eq(write_stream(&rb, 0, 0, 40), 40);
    ck_assert_uint_eq(read_check(&rb, 0), 40); /* head at 40 */
    ck_assert_int_eq(write_stream(&rb, 40, 40, 30), 30); /* indexes 40..49, 0..19 */
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 0, 100, &p), 10);
    ck_assert_ptr_eq(p, mem + 40);
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 3, 4, &p), 4);
    ck_assert_ptr_eq(p, mem + 43);
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 10, 100, &p), 20);
    ck_assert_ptr_eq(p, mem);
    ck_assert_uint_eq(p[0], stream_byte(50));
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 25, 100, &p), 5);
    ck_assert_uint_eq(p[4], stream_byte(69));
    ck_assert_uint_eq(mptcp_rcvbuf_span(&rb, 30, 1, &p), 0); /* past the in-order end */
    ck_assert_uint_eq(rb.len, 30); /* nothing consumed */
}
END_TEST

START_TEST(rcvbuf_range_table_only_while_out_of_order)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 10), 10);
    ck_assert_ptr_null(rb.ooo); /* in order: no table */
    ck_assert_uint_eq(pool_bytes, 0);
    ck_assert_int_eq(write_stream(&rb, 10, 20, 10), 0);
    ck_assert_ptr_nonnull(rb.ooo);
    ck_assert_uint_eq(pool_bytes, MPTCP_OOO_MAX * sizeof(mptcp_ooo_range));
    ck_assert_int_eq(write_stream(&rb, 10, 40, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 10, 10, 10), 20); /* first range absorbed */
    ck_assert_ptr_nonnull(rb.ooo);
    ck_assert_int_eq(write_stream(&rb, 30, 30, 10), 20); /* the last one too */
    ck_assert_ptr_null(rb.ooo);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_uint_eq(pool_bytes, 0);
    ck_assert_uint_eq(read_check(&rb, 0), 50);
    /* release frees a table still in use */
    ck_assert_int_eq(write_stream(&rb, 50, 60, 5), 0);
    ck_assert_uint_ne(pool_bytes, 0);
    mptcp_rcvbuf_release(&rb, &tm);
    ck_assert_ptr_null(rb.ooo);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_uint_eq(pool_bytes, 0);
}
END_TEST

START_TEST(rcvbuf_no_memory_stores_nothing)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    ck_assert_int_eq(write_stream(&rb, 0, 0, 10), 10);
    pool_fail = true;
    ck_assert_int_eq(write_stream(&rb, 10, 20, 10), MPTCP_RCVBUF_NO_MEM);
    ck_assert_uint_eq(rb.n_ooo, 0);
    ck_assert_ptr_null(rb.ooo);
    /* in-order data needs no table and still goes in */
    ck_assert_int_eq(write_stream(&rb, 10, 10, 10), 10);
    ck_assert_uint_eq(rb.len, 20);
    pool_fail = false;
    ck_assert_int_eq(write_stream(&rb, 20, 30, 10), 0);
    ck_assert_int_eq(write_stream(&rb, 20, 20, 10), 20);
    ck_assert_uint_eq(read_check(&rb, 0), 40);
    ck_assert_uint_eq(pool_bytes, 0);
}
END_TEST

START_TEST(rcvbuf_held_finds_first_duplicate_run)
{
    uint8_t mem[200];
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    uint32_t s = 0, e = 0;
    ck_assert(!mptcp_rcvbuf_held(&rb, 10, 10, &s, &e)); /* nothing held */
    ck_assert_int_eq(write_stream(&rb, 0, 10, 10), 0);  /* [10, 20) */
    ck_assert_int_eq(write_stream(&rb, 0, 30, 10), 0);  /* [30, 40) */
    ck_assert(!mptcp_rcvbuf_held(&rb, 20, 10, &s, &e));
    ck_assert(mptcp_rcvbuf_held(&rb, 12, 4, &s, &e));
    ck_assert_uint_eq(s, 12);
    ck_assert_uint_eq(e, 16);
    ck_assert(mptcp_rcvbuf_held(&rb, 5, 30, &s, &e)); /* first run only */
    ck_assert_uint_eq(s, 10);
    ck_assert_uint_eq(e, 20);
    ck_assert(mptcp_rcvbuf_held(&rb, 25, 10, &s, &e));
    ck_assert_uint_eq(s, 30);
    ck_assert_uint_eq(e, 35);
    mptcp_rcvbuf_release(&rb, &tm);
}
END_TEST

START_TEST(rcvbuf_zero_capacity)
{
    mptcp_rcvbuf rb;
    uint8_t b[4] = { 0 };
    mptcp_rcvbuf_init(&rb, NULL, 100);
    ck_assert_uint_eq(mptcp_rcvbuf_space(&rb), 0);
    ck_assert_int_eq(mptcp_rcvbuf_write(&rb, &tm, 0, b, 4), 0);
    ck_assert_int_eq(mptcp_rcvbuf_write(&rb, &tm, 2, b, 4), 0);
    ck_assert_uint_eq(mptcp_rcvbuf_read(&rb, b, 4), 0);
}
END_TEST

/* ------------------------------------------------------------ model test */

#define MODEL_LEN 30000u
#define MODEL_CAP 1500u

/* The model: a flag per stream byte, "received" (in order or not). */
typedef struct model {
    uint8_t held[MODEL_LEN + 1];
    uint32_t read, nxt; /* stream positions: next to read, in-order end */
} model;

static uint32_t model_ranges(const model *m, uint32_t (*r)[2], uint32_t max)
{
    uint32_t n = 0;
    uint32_t end = MPTCP_MIN(MODEL_LEN, m->nxt + MODEL_CAP); /* nothing is held beyond */
    for (uint32_t i = m->nxt; i < end; i++) {
        if (!m->held[i] || (i > m->nxt && m->held[i - 1]))
            continue;
        uint32_t j = i;
        while (j < end && m->held[j])
            j++;
        if (n < max) {
            r[n][0] = i - m->nxt;
            r[n][1] = j - m->nxt;
        }
        n++;
    }
    return n;
}

static const uint64_t model_seeds[] = { 1, 2, 3, 0xdeadbeef, 0x123456789abcdefull, 42, 7, 99 };

START_TEST(rcvbuf_random_segments_reassemble_stream)
{
    static model m;
    static uint8_t mem[MODEL_CAP];
    static uint32_t want[MPTCP_OOO_MAX + 2][2];
    memset(&m, 0, sizeof m);
    mptcp_rcvbuf rb;
    mptcp_rcvbuf_init(&rb, mem, sizeof mem);
    uint64_t rs = model_seeds[_i];
    uint32_t drops = 0, merges = 0, writes = 0;

    for (uint32_t it = 0; m.read < MODEL_LEN; it++) {
        REQ(it < 400000); /* progress guaranteed below */
        uint32_t space = MODEL_CAP - (m.nxt - m.read);
        if (rng_below(&rs, 4) == 0) {
            /* Read a random amount and compare with the stream. */
            uint8_t out[700];
            uint32_t want_n = rng_below(&rs, sizeof out);
            uint32_t got = mptcp_rcvbuf_read(&rb, out, want_n);
            REQ_EQ(got, MPTCP_MIN(want_n, m.nxt - m.read));
            for (uint32_t i = 0; i < got; i++)
                REQ_EQ(out[i], stream_byte(m.read + i));
            m.read += got;
            continue;
        }
        /* A segment around the window: some old (before nxt), some past
         * the window's edge, some exactly at nxt so progress is made. */
        /* Mostly short segments so the range store fills up. */
        uint32_t len = 1 + (rng_below(&rs, 3) == 0 ? rng_below(&rs, 120) : rng_below(&rs, 6));
        uint32_t lo = m.nxt > 150 ? m.nxt - 150 : 0;
        uint32_t from = rng_below(&rs, 10) == 0 ? m.nxt
                                                : lo + rng_below(&rs, space + 200 + (m.nxt - lo));
        if (from >= MODEL_LEN)
            continue;
        len = MPTCP_MIN(len, MODEL_LEN - from);

        /* Expected result from the model: mark the new bytes, remembering
         * which were new so a drop can be undone. */
        uint32_t before_n = model_ranges(&m, want, 0);
        uint32_t s = MPTCP_MAX(from, m.nxt), e = MPTCP_MIN(from + len, m.nxt + space);
        static uint8_t was[MODEL_LEN];
        for (uint32_t i = s; i < e; i++) {
            was[i] = m.held[i];
            m.held[i] = 1;
        }
        uint32_t old_nxt = m.nxt, adv = 0;
        while (m.nxt + adv < MODEL_LEN && m.held[m.nxt + adv])
            adv++;
        m.nxt += adv;
        uint32_t after_n = model_ranges(&m, want, MPTCP_OOO_MAX + 2);
        bool drop = after_n > MPTCP_OOO_MAX;

        int32_t r = write_stream(&rb, old_nxt, from, len);
        writes++;
        if (drop) {
            REQ_EQ(r, -1);
            REQ_EQ(before_n, MPTCP_OOO_MAX);
            for (uint32_t i = s; i < e; i++)
                m.held[i] = was[i];
            m.nxt = old_nxt;
            drops++;
            continue;
        }
        REQ_EQ(r, (int32_t)adv);
        if (after_n < before_n)
            merges++;
        assert_ranges(&rb, (const uint32_t(*)[2])want, after_n);
        REQ_EQ(rb.len, m.nxt - m.read);
        if (adv == 0 && s < e) {
            /* RFC 2018 section 4: the first block holds this segment. */
            mptcp_ooo_range first;
            REQ_EQ(mptcp_rcvbuf_sack_ranges(&rb, &first, 1), 1);
            REQ(first.start <= s - m.nxt);
            REQ(first.end >= e - m.nxt);
        }
    }
    ck_assert_uint_eq(m.nxt, MODEL_LEN);
    ck_assert_uint_eq(rb.n_ooo, 0);
    /* The run went through the interesting cases, not just in-order data. */
    ck_assert_uint_gt(drops, 0);
    ck_assert_uint_gt(merges, 100);
    ck_assert_uint_gt(writes, 1000);
}
END_TEST

/* Reads [off, off + len) through mptcp_sndbuf_span, as a subflow's segment
 * reads the connection ring (off may be a negative 32-bit difference). */
static uint32_t span_read(const mptcp_sndbuf *sb, uint32_t off, uint8_t *out, uint32_t len)
{
    uint32_t done = 0;
    while (done < len) {
        const uint8_t *p;
        uint32_t k = mptcp_sndbuf_span(sb, off + done, len - done, &p);
        if (k == 0)
            break;
        memcpy(out + done, p, k);
        done += k;
    }
    return done;
}

START_TEST(sndbuf_kept_bytes_stay_readable_and_take_room_until_unpinned)
{
    uint8_t mem[100], src[400], out[100];
    mptcp_sndbuf sb;
    mptcp_sndbuf_init(&sb, mem, sizeof mem);
    fill_stream(src, 0, sizeof src);
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src, 80), 80);
    /* 50 acknowledged but kept: offset 0 is stream byte 50, the 50 before
     * it are still there at negative offsets and still take room. */
    mptcp_sndbuf_consume_keep(&sb, 50);
    ck_assert_uint_eq(sb.len, 30);
    ck_assert_uint_eq(sb.kept, 50);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 20);
    ck_assert_uint_eq(span_read(&sb, 0u - 50u, out, 80), 80);
    ck_assert_mem_eq(out, src, 80);
    ck_assert_uint_eq(span_read(&sb, 0u - 51u, out, 10), 0); /* not held */
    ck_assert_uint_eq(span_read(&sb, 30, out, 10), 0);       /* beyond the end */
    /* Appending stops at the kept bytes: they are not overwritten. */
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src + 80, 40), 20);
    ck_assert_uint_eq(span_read(&sb, 0u - 50u, out, 100), 100); /* wraps at index 100 */
    ck_assert_mem_eq(out, src, 100);
    /* Unpinning frees the oldest first; asking to keep more changes nothing. */
    mptcp_sndbuf_unpin(&sb, 60);
    ck_assert_uint_eq(sb.kept, 50);
    mptcp_sndbuf_unpin(&sb, 10);
    ck_assert_uint_eq(sb.kept, 10);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 40);
    ck_assert_uint_eq(span_read(&sb, 0u - 10u, out, 60), 60);
    ck_assert_mem_eq(out, src + 40, 60);
    ck_assert_uint_eq(mptcp_sndbuf_append(&sb, src + 100, 40), 40); /* wraps */
    ck_assert_uint_eq(span_read(&sb, 0u - 10u, out, 100), 100);
    ck_assert_mem_eq(out, src + 40, 100);
    /* Empty and nothing kept: the ring restarts at index 0. */
    mptcp_sndbuf_consume_keep(&sb, 90);
    mptcp_sndbuf_unpin(&sb, 0);
    ck_assert_uint_eq(sb.len, 0);
    ck_assert_uint_eq(sb.kept, 0);
    ck_assert_uint_eq(sb.head, 0);
}
END_TEST

START_TEST(sndbuf_counting_ring_without_memory)
{
    /* A subflow's ring: it counts bytes stored elsewhere, with the same
     * capacity limit, and has nothing to read. */
    mptcp_sndbuf sb;
    mptcp_sndbuf_init(&sb, NULL, 0);
    sb.cap = 1000;
    mptcp_sndbuf_extend(&sb, 700);
    ck_assert_uint_eq(sb.len, 700);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 300);
    mptcp_sndbuf_consume(&sb, 650);
    mptcp_sndbuf_extend(&sb, 900); /* wraps in the counting */
    ck_assert_uint_eq(sb.len, 950);
    ck_assert_uint_eq(mptcp_sndbuf_free(&sb), 50);
    mptcp_sndbuf_consume(&sb, 950);
    ck_assert_uint_eq(sb.len, 0);
    ck_assert_uint_eq(sb.head, 0);
}
END_TEST

/* Seeded model: appends, acknowledgements that keep, unpins and reads at
 * random offsets (kept bytes included) against the reference stream, over
 * a ring size that is no power of two. */
START_TEST(sndbuf_keep_unpin_random_model)
{
    enum { CAP = 997 };
    static uint8_t mem[CAP], src[CAP], out[CAP];
    uint64_t rs = 0x5eedf00d1234ull;
    mptcp_sndbuf sb;
    mptcp_sndbuf_init(&sb, mem, CAP);
    uint32_t una = 0, kept_from = 0, end = 0; /* stream positions */
    for (int step = 0; step < 20000; step++) {
        switch (rng_below(&rs, 4)) {
        case 0: {
            uint32_t n = rng_below(&rs, 400);
            fill_stream(src, end, n);
            uint32_t took = mptcp_sndbuf_append(&sb, src, n);
            REQ_EQ(took, n < CAP - (end - kept_from) ? n : CAP - (end - kept_from));
            end += took;
            break;
        }
        case 1: {
            uint32_t n = rng_below(&rs, end - una + 1);
            mptcp_sndbuf_consume_keep(&sb, n);
            una += n;
            break;
        }
        case 2: {
            uint32_t keep = rng_below(&rs, una - kept_from + 1);
            mptcp_sndbuf_unpin(&sb, keep);
            kept_from = una - keep;
            break;
        }
        default: {
            uint32_t from = kept_from + rng_below(&rs, end - kept_from + 1);
            uint32_t n = rng_below(&rs, end - from + 1);
            REQ_EQ(span_read(&sb, from - una, out, n), n);
            for (uint32_t i = 0; i < n; i++)
                REQ_EQ(out[i], stream_byte(from + i));
            break;
        }
        }
        REQ_EQ(sb.len, end - una);
        REQ_EQ(sb.kept, una - kept_from);
        REQ_EQ(mptcp_sndbuf_free(&sb), CAP - (end - kept_from));
    }
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("sndbuf");
    tcase_add_test(tc, sndbuf_append_copy_consume_wraps);
    tcase_add_test(tc, sndbuf_random_model);
    tcase_add_test(tc, sndbuf_zero_capacity);
    tcase_add_test(tc, sndbuf_append_from_ring_to_ring_model);
    tcase_add_test(tc, sndbuf_kept_bytes_stay_readable_and_take_room_until_unpinned);
    tcase_add_test(tc, sndbuf_counting_ring_without_memory);
    tcase_add_test(tc, sndbuf_keep_unpin_random_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("rcvbuf");
    tcase_add_test(tc, rcvbuf_in_order_write_and_read);
    tcase_add_test(tc, rcvbuf_ooo_then_hole_filled_exactly);
    tcase_add_test(tc, rcvbuf_write_bridges_several_ranges);
    tcase_add_test(tc, rcvbuf_partial_overlaps_front_and_back);
    tcase_add_test(tc, rcvbuf_adjacent_ranges_merge);
    tcase_add_test(tc, rcvbuf_in_order_write_absorbs_ranges_and_shifts_rest);
    tcase_add_test(tc, rcvbuf_overlap_with_in_order_data_is_skipped);
    tcase_add_test(tc, rcvbuf_beyond_space_is_cut_off);
    tcase_add_test(tc, rcvbuf_held_bytes_not_rewritten);
    tcase_add_test(tc, rcvbuf_ooo_max_drops_without_storing);
    tcase_add_test(tc, rcvbuf_sack_order_most_recent_first);
    tcase_add_test(tc, rcvbuf_recent_survives_in_order_advance);
    tcase_add_test(tc, rcvbuf_wraps_around_ring_end);
    tcase_add_test(tc, rcvbuf_span_stops_at_the_wrap_point);
    tcase_add_test(tc, rcvbuf_zero_capacity);
    tcase_add_test(tc, rcvbuf_range_table_only_while_out_of_order);
    tcase_add_test(tc, rcvbuf_no_memory_stores_nothing);
    tcase_add_test(tc, rcvbuf_held_finds_first_duplicate_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("rcvbuf_model");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, rcvbuf_random_segments_reassemble_stream, 0,
                        (int)(sizeof model_seeds / sizeof model_seeds[0]));
    suite_add_tcase(s, tc);
    return s;
}
