/*
 * Internet checksum (RFC 1071), RFC 1624 incremental update, the TCP
 * checksum over the IPv4/IPv6 pseudo-headers and the MPTCP DSS checksum
 * (RFC 8684 section 3.3.1): known values computed independently (python3),
 * chaining properties, and that corruption is detected.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "mptcp.h"

#define CRYPTO_VECTORS_CSUM
#include "vectors/crypto_vectors.h"

/* The textbook algorithm, written as differently from csum.c as possible:
 * big-endian 16-bit words one at a time, end-around carry at every step.
 * |odd| says the first byte is the low half of a word. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len, int odd)
{
    for (size_t i = 0; i < len; i++) {
        sum += ((i + (size_t)odd) & 1) ? p[i] : (uint32_t)p[i] << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

static uint16_t ref_csum(const uint8_t *p, size_t len)
{
    return (uint16_t)~ref_sum(0, p, len, 0);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static mptcp_addr addr4(const uint8_t ip[4])
{
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = MPTCP_AF_INET;
    memcpy(a.ip, ip, 4);
    return a;
}

static mptcp_addr addr6(const uint8_t ip[16])
{
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = MPTCP_AF_INET6;
    memcpy(a.ip, ip, 16);
    return a;
}

static const uint8_t ip4_src[4] = TCP4_SRC, ip4_dst[4] = TCP4_DST;
static const uint8_t ip6_src[16] = TCP6_SRC, ip6_dst[16] = TCP6_DST;

/* ------------------------------------------------------------ basics */

START_TEST(rfc1071_numerical_example)
{
    /* RFC 1071 section 3: the words sum to 0xddf2, checksum 0x220d. */
    ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, rfc1071_bytes, 8, 0)), 0x220d);
    ck_assert_uint_eq((uint16_t)~mptcp_csum_fold(mptcp_csum_add(0, rfc1071_bytes, 8, 0)), 0xddf2);
}
END_TEST

START_TEST(odd_length_pads_with_zero_low_byte)
{
    static const uint8_t b[3] = { 0x01, 0x02, 0x03 };
    /* 0x0102 + 0x0300 = 0x0402 */
    ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, b, 3, 0)), (uint16_t)~0x0402);
    ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, b, 1, 0)), (uint16_t)~0x0100);
}
END_TEST

START_TEST(empty_input_keeps_sum)
{
    ck_assert_uint_eq(mptcp_csum_add(0x1234, NULL, 0, 0), 0x1234);
    ck_assert_uint_eq(mptcp_csum_add(0x1234, NULL, 0, 1), 0x1234);
    ck_assert_uint_eq(mptcp_csum_fold(0), 0xffff);
}
END_TEST

START_TEST(fold_handles_large_partial_sums)
{
    /* Any 32-bit partial sum folds to its one's complement residue. */
    static const uint32_t sums[] = { 0xffffffffu, 0x0001ffffu, 0xfffe0001u, 0x80008000u, 0x10000u };
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(sums); i++) {
        uint32_t r = sums[i] % 0xffffu; /* residue; 0 is represented as 0xffff */
        uint16_t want = (uint16_t)~(r == 0 && sums[i] != 0 ? 0xffffu : r);
        ck_assert_uint_eq(mptcp_csum_fold(sums[i]), want);
    }
}
END_TEST

START_TEST(matches_reference_all_lengths_and_alignments)
{
    /* Start at every alignment 0..7 of the buffer, for lengths 0..300: the
     * word-at-a-time code must match the byte-at-a-time reference. */
    uint8_t buf[320];
    fill_pattern(buf, sizeof(buf), 77);
    for (size_t start = 0; start < 8; start++)
        for (size_t len = 0; len <= 300; len++)
            ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, buf + start, len, 0)),
                              ref_csum(buf + start, len));
}
END_TEST

START_TEST(all_ones_data_does_not_overflow)
{
    /* 64 KiB of 0xff: the largest possible word sums. */
    size_t n = 65536;
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0xff, n);
    ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, p, n, 0)), ref_csum(p, n));
    ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_add(0, p, n - 1, 0)), ref_csum(p, n - 1));
    free(p);
}
END_TEST

START_TEST(chained_chunks_equal_oneshot)
{
    /* Split at every point (odd offsets included), and into three pieces. */
    uint8_t buf[301];
    fill_pattern(buf, sizeof(buf), 99);
    uint16_t want = mptcp_csum_fold(mptcp_csum_add(0, buf, sizeof(buf), 0));
    ck_assert_uint_eq(want, ref_csum(buf, sizeof(buf)));
    for (size_t a = 0; a <= sizeof(buf); a++) {
        uint32_t s = mptcp_csum_add(0, buf, a, 0);
        s = mptcp_csum_add(s, buf + a, sizeof(buf) - a, a);
        ck_assert_uint_eq(mptcp_csum_fold(s), want);
        size_t b = a + (sizeof(buf) - a) / 3;
        s = mptcp_csum_add(0, buf, a, 0);
        s = mptcp_csum_add(s, buf + a, b - a, a);
        s = mptcp_csum_add(s, buf + b, sizeof(buf) - b, b);
        ck_assert_uint_eq(mptcp_csum_fold(s), want);
    }
}
END_TEST

START_TEST(byte_at_a_time_chain_equals_oneshot)
{
    uint8_t buf[97];
    fill_pattern(buf, sizeof(buf), 5);
    uint32_t s = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        s = mptcp_csum_add(s, buf + i, 1, i);
    ck_assert_uint_eq(mptcp_csum_fold(s), ref_csum(buf, sizeof(buf)));
}
END_TEST

/* ------------------------------------------------------------ RFC 1624 */

START_TEST(update16_equals_recomputation)
{
    /* A 20-byte "header" with a fixed non-zero word (as a TCP pseudo-header
     * always has: protocol 6), one 16-bit field changed old -> new over a
     * grid of values including 0x0000 and 0xffff. */
    uint8_t h[20];
    fill_pattern(h, sizeof(h), 1234);
    h[0] = 0;
    h[1] = 6;
    unsigned checked = 0;
    for (uint32_t o = 0; o <= 0x10000; o += 257) {
        uint16_t old_val = (uint16_t)(o > 0xffff ? 0xffff : o);
        for (uint32_t n = 0; n <= 0x10000; n += 263) {
            uint16_t new_val = (uint16_t)(n > 0xffff ? 0xffff : n);
            mptcp_put_be16(h + 8, old_val);
            uint16_t before = mptcp_csum_fold(mptcp_csum_add(0, h, sizeof(h), 0));
            mptcp_put_be16(h + 8, new_val);
            uint16_t after = mptcp_csum_fold(mptcp_csum_add(0, h, sizeof(h), 0));
            ck_assert_uint_eq(mptcp_csum_update16(before, old_val, new_val), after);
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 60000);
}
END_TEST

START_TEST(update16_tcp_port_rewrite_still_verifies)
{
    /* A NAT rewriting the source port and patching the checksum (RFC 1624)
     * leaves a segment that verifies under the new port. */
    uint8_t seg[sizeof(tcp4_data)];
    mptcp_addr s = addr4(ip4_src), d = addr4(ip4_dst);
    memcpy(seg, tcp4_data, sizeof(seg));
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    for (uint32_t port = 1; port < 0x10000; port += 97) {
        uint16_t old_port = mptcp_get_be16(seg);
        uint16_t c = mptcp_get_be16(seg + 16);
        mptcp_put_be16(seg, (uint16_t)port);
        mptcp_put_be16(seg + 16, mptcp_csum_update16(c, old_port, (uint16_t)port));
        ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
    }
}
END_TEST

/* ------------------------------------------------------------ TCP */

START_TEST(tcp4_syn_known_checksum)
{
    uint8_t seg[sizeof(tcp4_syn)];
    mptcp_addr s = addr4(ip4_src), d = addr4(ip4_dst);
    memcpy(seg, tcp4_syn, sizeof(seg));
    seg[16] = 0xde; /* fill must ignore whatever is in the field */
    seg[17] = 0xad;
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    ck_assert_uint_eq(mptcp_get_be16(seg + 16), TCP4_SYN_CSUM);
    ck_assert_mem_eq(seg + 18, tcp4_syn + 18, sizeof(seg) - 18);
    ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
}
END_TEST

START_TEST(tcp4_odd_length_data_known_checksum)
{
    uint8_t seg[sizeof(tcp4_data)];
    mptcp_addr s = addr4(ip4_src), d = addr4(ip4_dst);
    memcpy(seg, tcp4_data, sizeof(seg));
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    ck_assert_uint_eq(mptcp_get_be16(seg + 16), TCP4_DATA_CSUM);
    ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
}
END_TEST

START_TEST(tcp6_known_checksum)
{
    uint8_t seg[sizeof(tcp6_ack)];
    mptcp_addr s = addr6(ip6_src), d = addr6(ip6_dst);
    memcpy(seg, tcp6_ack, sizeof(seg));
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    ck_assert_uint_eq(mptcp_get_be16(seg + 16), TCP6_ACK_CSUM);
    ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
}
END_TEST

/* Every single-bit flip in the segment, and in the addresses of the
 * pseudo-header, must fail verification. */
static void check_flips(uint8_t *seg, size_t len, mptcp_addr s, mptcp_addr d)
{
    size_t alen = s.family == MPTCP_AF_INET ? 4 : 16;
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, len, &s, &d), 0);
    ck_assert(mptcp_tcp_csum_ok(seg, len, &s, &d));
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 8; b++) {
            seg[i] ^= (uint8_t)(1u << b);
            ck_assert_msg(!mptcp_tcp_csum_ok(seg, len, &s, &d), "flip byte %zu bit %d", i, b);
            seg[i] ^= (uint8_t)(1u << b);
        }
    }
    for (size_t i = 0; i < alen; i++) {
        for (int b = 0; b < 8; b++) {
            s.ip[i] ^= (uint8_t)(1u << b);
            ck_assert(!mptcp_tcp_csum_ok(seg, len, &s, &d));
            s.ip[i] ^= (uint8_t)(1u << b);
            d.ip[i] ^= (uint8_t)(1u << b);
            ck_assert(!mptcp_tcp_csum_ok(seg, len, &s, &d));
            d.ip[i] ^= (uint8_t)(1u << b);
        }
    }
    /* Swapping source and destination is caught only when they differ in
     * sum, so not asserted; a wrong length always changes the sum: */
    ck_assert(!mptcp_tcp_csum_ok(seg, len - 1, &s, &d));
    ck_assert(mptcp_tcp_csum_ok(seg, len, &s, &d));
}

START_TEST(tcp4_filled_verifies_and_any_bit_flip_fails)
{
    uint8_t seg[sizeof(tcp4_data)];
    memcpy(seg, tcp4_data, sizeof(seg));
    check_flips(seg, sizeof(seg), addr4(ip4_src), addr4(ip4_dst));
}
END_TEST

START_TEST(tcp6_filled_verifies_and_any_bit_flip_fails)
{
    uint8_t seg[sizeof(tcp6_ack)];
    memcpy(seg, tcp6_ack, sizeof(seg));
    check_flips(seg, sizeof(seg), addr6(ip6_src), addr6(ip6_dst));
}
END_TEST

START_TEST(tcp_random_segments_roundtrip)
{
    /* Many lengths (odd and even) and both families. */
    uint8_t seg[1500];
    mptcp_addr s4 = addr4(ip4_src), d4 = addr4(ip4_dst);
    mptcp_addr s6 = addr6(ip6_src), d6 = addr6(ip6_dst);
    for (size_t len = 20; len <= sizeof(seg); len += 37) {
        fill_pattern(seg, len, (uint32_t)len);
        ck_assert_int_eq(mptcp_tcp_csum_fill(seg, len, &s4, &d4), 0);
        ck_assert(mptcp_tcp_csum_ok(seg, len, &s4, &d4));
        ck_assert(!mptcp_tcp_csum_ok(seg, len, &s6, &d6));
        ck_assert_int_eq(mptcp_tcp_csum_fill(seg, len, &s6, &d6), 0);
        ck_assert(mptcp_tcp_csum_ok(seg, len, &s6, &d6));
    }
}
END_TEST

START_TEST(tcp_csum_negative_zero_also_verifies)
{
    /* One's complement has two zeros: a sender may put 0xffff where 0x0000
     * was computed (or the reverse); both sum to -0 and must verify. Find a
     * segment whose checksum comes out 0x0000 by adjusting one word. */
    uint8_t seg[40];
    mptcp_addr s = addr4(ip4_src), d = addr4(ip4_dst);
    memcpy(seg, tcp4_syn, sizeof(seg));
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    uint16_t c = mptcp_get_be16(seg + 16);
    /* Move the checksum's value into the urgent pointer (one's complement
     * addition): the total is unchanged, so the field must now come out 0. */
    uint32_t urg = (uint32_t)mptcp_get_be16(seg + 18) + c;
    mptcp_put_be16(seg + 18, (uint16_t)((urg & 0xffff) + (urg >> 16)));
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, sizeof(seg), &s, &d), 0);
    ck_assert_uint_eq(mptcp_get_be16(seg + 16), 0x0000);
    ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
    mptcp_put_be16(seg + 16, 0xffff);
    ck_assert(mptcp_tcp_csum_ok(seg, sizeof(seg), &s, &d));
}
END_TEST

START_TEST(tcp_pseudo_then_pieces_equals_fill)
{
    /* Header and payload in separate buffers, chained after the pseudo sum. */
    uint8_t seg[sizeof(tcp4_data)];
    mptcp_addr s = addr4(ip4_src), d = addr4(ip4_dst);
    uint32_t sum;
    memcpy(seg, tcp4_data, sizeof(seg));
    seg[16] = seg[17] = 0;
    ck_assert_int_eq(mptcp_csum_pseudo(&s, &d, sizeof(seg), &sum), 0);
    sum = mptcp_csum_add(sum, seg, 48, 0);
    sum = mptcp_csum_add(sum, seg + 48, sizeof(seg) - 48, 48);
    ck_assert_uint_eq(mptcp_csum_fold(sum), TCP4_DATA_CSUM);
}
END_TEST

START_TEST(tcp_csum_rejects_bad_arguments)
{
    uint8_t seg[64];
    mptcp_addr s4 = addr4(ip4_src), d4 = addr4(ip4_dst), d6 = addr6(ip6_dst), bad = s4;
    uint32_t sum;
    memset(seg, 0, sizeof(seg));
    bad.family = 0;
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, 19, &s4, &d4), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_tcp_csum_fill(NULL, 20, &s4, &d4), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, 20, &s4, &d6), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, 20, &bad, &bad), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, 20, NULL, &d4), MPTCP_EINVAL);
    ck_assert(!mptcp_tcp_csum_ok(seg, 19, &s4, &d4));
    ck_assert(!mptcp_tcp_csum_ok(seg, 20, &s4, &d6));
    ck_assert(!mptcp_tcp_csum_ok(seg, 20, &s4, NULL));
    ck_assert_int_eq(mptcp_csum_pseudo(&s4, &d4, 65536, &sum), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_csum_pseudo(&s4, &d4, 65535, &sum), 0);
    ck_assert_int_eq(mptcp_csum_pseudo(&s4, &d4, 20, NULL), MPTCP_EINVAL);
    /* IPv6 has a 32-bit length field (jumbograms, RFC 2675). */
    mptcp_addr s6 = addr6(ip6_src);
    ck_assert_int_eq(mptcp_csum_pseudo(&s6, &d6, 65536, &sum), 0);
    /* Untouched on failure. */
    ck_assert_uint_eq(seg[16], 0);
    ck_assert_uint_eq(seg[17], 0);
}
END_TEST

/* ------------------------------------------------------------ DSS */

static const uint8_t *dss_payload(const struct dss_vec *v, uint8_t *scratch)
{
    if (!v->pattern)
        return (const uint8_t *)v->payload;
    for (size_t i = 0; i < v->len; i++)
        scratch[i] = (uint8_t)(i * 7 + 3);
    return scratch;
}

START_TEST(dss_csum_known_mappings)
{
    const struct dss_vec *v = &dss_vectors[_i];
    uint8_t scratch[1000];
    const uint8_t *p = dss_payload(v, scratch);
    ck_assert_uint_eq(mptcp_dss_csum(v->dsn, v->ssn, v->data_len, p, v->len), v->csum);
}
END_TEST

START_TEST(dss_csum_chunks_equal_oneshot)
{
    const struct dss_vec *v = &dss_vectors[2];
    uint8_t scratch[1000];
    const uint8_t *p = dss_payload(v, scratch);
    /* Segments of a mapping arrive in pieces of any size (odd ones too). */
    for (size_t piece = 1; piece <= 97; piece += 2) {
        uint32_t sum = mptcp_dss_csum_begin(v->dsn, v->ssn, v->data_len);
        for (size_t off = 0; off < v->len; off += piece)
            sum = mptcp_csum_add(sum, p + off, MPTCP_MIN(piece, v->len - off), off);
        ck_assert_uint_eq(mptcp_csum_fold(sum), v->csum);
    }
}
END_TEST

START_TEST(dss_csum_uses_full_64bit_dsn)
{
    /* A 32-bit DSN on the wire is expanded first: the upper half counts. */
    const uint8_t *p = (const uint8_t *)dss_vectors[0].payload;
    uint16_t full = mptcp_dss_csum(0x0000000100000001u, 1, 13, p, 13);
    uint16_t low = mptcp_dss_csum(0x0000000000000001u, 1, 13, p, 13);
    ck_assert_uint_eq(full, dss_vectors[0].csum);
    ck_assert_uint_ne(full, low);
}
END_TEST

START_TEST(dss_csum_every_field_matters)
{
    const struct dss_vec *v = &dss_vectors[0];
    const uint8_t *p = (const uint8_t *)v->payload;
    uint8_t q[13];
    for (int b = 0; b < 64; b++)
        ck_assert_uint_ne(mptcp_dss_csum(v->dsn ^ (1ull << b), v->ssn, v->data_len, p, v->len),
                          v->csum);
    for (int b = 0; b < 32; b++)
        ck_assert_uint_ne(mptcp_dss_csum(v->dsn, v->ssn ^ (1u << b), v->data_len, p, v->len),
                          v->csum);
    for (int b = 0; b < 16; b++)
        ck_assert_uint_ne(mptcp_dss_csum(v->dsn, v->ssn, (uint16_t)(v->data_len ^ (1u << b)), p,
                                         v->len), v->csum);
    for (size_t i = 0; i < sizeof(q); i++) {
        memcpy(q, p, sizeof(q));
        q[i] ^= 0x10;
        ck_assert_uint_ne(mptcp_dss_csum(v->dsn, v->ssn, v->data_len, q, sizeof(q)), v->csum);
    }
}
END_TEST

START_TEST(dss_csum_receiver_check_sums_to_zero)
{
    /* The receiver may also sum the pseudo-header with the received
     * checksum in the zero field's place: a correct mapping gives -0. */
    const struct dss_vec *v = &dss_vectors[0];
    uint8_t ph[16];
    mptcp_put_be64(ph, v->dsn);
    mptcp_put_be32(ph + 8, v->ssn);
    mptcp_put_be16(ph + 12, v->data_len);
    mptcp_put_be16(ph + 14, v->csum);
    uint32_t s = mptcp_csum_add(0, ph, 16, 0);
    s = mptcp_csum_add(s, v->payload, v->len, 16);
    ck_assert_uint_eq(mptcp_csum_fold(s), 0);
}
END_TEST

/* ------------------------------------------------------------ one-pass forms */

START_TEST(copy_sums_like_add_and_copies_exactly)
{
    /* Every length to 200 and every start parity: the bytes land in dst
     * and nothing around them, and the sum is the one mptcp_csum_add gives
     * (also against the textbook reference). */
    uint8_t src[256], dst[272];
    fill_pattern(src, sizeof(src), 77);
    for (size_t len = 0; len <= 200; len++) {
        for (size_t off = 0; off < 2; off++) {
            memset(dst, 0xa5, sizeof(dst));
            uint32_t got = mptcp_csum_copy(0x1234, dst + 8, src + 3, len, off);
            ck_assert_uint_eq(got, mptcp_csum_add(0x1234, src + 3, len, off));
            ck_assert_mem_eq(dst + 8, src + 3, len);
            for (size_t i = 0; i < 8; i++)
                ck_assert_uint_eq(dst[i], 0xa5);
            for (size_t i = 8 + len; i < sizeof(dst); i++)
                ck_assert_uint_eq(dst[i], 0xa5);
        }
        ck_assert_uint_eq(mptcp_csum_fold(mptcp_csum_copy(0, dst, src, len, 0)),
                          ref_csum(src, len));
    }
}
END_TEST

START_TEST(pseudo_equals_laid_out_header)
{
    /* The pseudo-header summed from the fields equals the sum of the bytes
     * laid out as RFC 9293 section 3.1 and RFC 8200 section 8.1 draw them,
     * for lengths that exercise both halves of the length field. */
    static const uint32_t lens[] = {0, 1, 20, 1480, 0xffff, 0x10000, 0x12345678};
    for (size_t k = 0; k < MPTCP_ARRAY_LEN(lens); k++) {
        uint8_t ph[40];
        uint32_t sum;
        mptcp_addr s4 = addr4(ip4_src), d4 = addr4(ip4_dst);
        if (lens[k] <= 0xffff) {
            memcpy(ph, ip4_src, 4);
            memcpy(ph + 4, ip4_dst, 4);
            ph[8] = 0;
            ph[9] = 6;
            mptcp_put_be16(ph + 10, (uint16_t)lens[k]);
            ck_assert_int_eq(mptcp_csum_pseudo(&s4, &d4, lens[k], &sum), 0);
            ck_assert_uint_eq(mptcp_csum_fold(sum), ref_csum(ph, 12));
        } else {
            ck_assert_int_eq(mptcp_csum_pseudo(&s4, &d4, lens[k], &sum), MPTCP_EINVAL);
        }
        mptcp_addr s6 = addr6(ip6_src), d6 = addr6(ip6_dst);
        memcpy(ph, ip6_src, 16);
        memcpy(ph + 16, ip6_dst, 16);
        mptcp_put_be32(ph + 32, lens[k]);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = 6;
        ck_assert_int_eq(mptcp_csum_pseudo(&s6, &d6, lens[k], &sum), 0);
        ck_assert_uint_eq(mptcp_csum_fold(sum), ref_csum(ph, 40));
    }
}
END_TEST

START_TEST(fill_payload_equals_fill)
{
    /* A segment whose payload was summed while copied gets the checksum
     * a full fill computes, IPv4 and IPv6, odd and even payload lengths. */
    uint8_t a[1600], b[1600], payload[1500];
    fill_pattern(payload, sizeof(payload), 5);
    mptcp_addr s4 = addr4(ip4_src), d4 = addr4(ip4_dst);
    mptcp_addr s6 = addr6(ip6_src), d6 = addr6(ip6_dst);
    for (size_t plen = 0; plen < 1500; plen += 37) {
        for (int v6 = 0; v6 < 2; v6++) {
            const mptcp_addr *src = v6 ? &s6 : &s4, *dst = v6 ? &d6 : &d4;
            size_t hlen = 20 + 4 * (plen % 11);
            fill_pattern(a, hlen, (uint32_t)plen + 1);
            uint32_t psum = mptcp_csum_copy(0, a + hlen, payload, plen, 0);
            memcpy(b, a, hlen + plen);
            mptcp_tcp_csum_fill_payload(a, hlen + plen, hlen, psum, src, dst);
            ck_assert_int_eq(mptcp_tcp_csum_fill(b, hlen + plen, src, dst), 0);
            ck_assert_mem_eq(a, b, hlen + plen);
            ck_assert(mptcp_tcp_csum_ok(a, hlen + plen, src, dst));
        }
    }
}
END_TEST

Suite *csum_suite(void)
{
    Suite *s = suite_create("csum");
    TCase *tc;

    tc = tcase_create("inet");
    tcase_add_test(tc, rfc1071_numerical_example);
    tcase_add_test(tc, odd_length_pads_with_zero_low_byte);
    tcase_add_test(tc, empty_input_keeps_sum);
    tcase_add_test(tc, fold_handles_large_partial_sums);
    tcase_add_test(tc, matches_reference_all_lengths_and_alignments);
    tcase_add_test(tc, all_ones_data_does_not_overflow);
    tcase_add_test(tc, chained_chunks_equal_oneshot);
    tcase_add_test(tc, byte_at_a_time_chain_equals_oneshot);
    tcase_add_test(tc, update16_equals_recomputation);
    tcase_add_test(tc, update16_tcp_port_rewrite_still_verifies);
    suite_add_tcase(s, tc);

    tc = tcase_create("tcp");
    tcase_add_test(tc, tcp4_syn_known_checksum);
    tcase_add_test(tc, tcp4_odd_length_data_known_checksum);
    tcase_add_test(tc, tcp6_known_checksum);
    tcase_add_test(tc, tcp4_filled_verifies_and_any_bit_flip_fails);
    tcase_add_test(tc, tcp6_filled_verifies_and_any_bit_flip_fails);
    tcase_add_test(tc, tcp_random_segments_roundtrip);
    tcase_add_test(tc, tcp_csum_negative_zero_also_verifies);
    tcase_add_test(tc, tcp_pseudo_then_pieces_equals_fill);
    tcase_add_test(tc, tcp_csum_rejects_bad_arguments);
    tcase_add_test(tc, copy_sums_like_add_and_copies_exactly);
    tcase_add_test(tc, pseudo_equals_laid_out_header);
    tcase_add_test(tc, fill_payload_equals_fill);
    suite_add_tcase(s, tc);

    tc = tcase_create("dss");
    tcase_add_loop_test(tc, dss_csum_known_mappings, 0, (int)MPTCP_ARRAY_LEN(dss_vectors));
    tcase_add_test(tc, dss_csum_chunks_equal_oneshot);
    tcase_add_test(tc, dss_csum_uses_full_64bit_dsn);
    tcase_add_test(tc, dss_csum_every_field_matters);
    tcase_add_test(tc, dss_csum_receiver_check_sums_to_zero);
    suite_add_tcase(s, tc);
    return s;
}
