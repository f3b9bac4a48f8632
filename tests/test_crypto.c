/*
 * SHA-1, SHA-256, HMAC and the MPTCP derivations (RFC 8684 sections 3.1,
 * 3.2, 3.4.1) against published vectors and values from independent
 * implementations (python3 hashlib/hmac, the Linux kernel's KUnit vectors).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hmac.h"
#include "mptcp.h"
#include "sha1.h"
#include "sha256.h"

#define CRYPTO_VECTORS_HASH
#include "vectors/crypto_vectors.h"

#define MILLION 1000000u

/* Chunk sizes for feeding the incremental API: odd, below, at and above the
 * 64-byte block, so every buffering path is taken. */
static const size_t odd_chunks[] = { 1, 3, 7, 13, 61, 63, 64, 65, 127, 129, 1000, 5 };

static uint8_t *million_a(void)
{
    uint8_t *m = malloc(MILLION);
    ck_assert_ptr_nonnull(m);
    memset(m, 'a', MILLION);
    return m;
}

/* A deterministic pseudo-random message (xorshift32). */
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

/* ------------------------------------------------------------ SHA-256 */

START_TEST(sha256_fips_vectors)
{
    const struct sha_vec *v = &sha_vectors[_i];
    uint8_t out[MPTCP_SHA256_LEN];
    mptcp_sha256(v->msg, v->len, out);
    ck_assert_mem_eq(out, v->sha256, sizeof(out));
}
END_TEST

START_TEST(sha256_padding_boundaries)
{
    const struct sha_len_vec *v = &sha_len_vectors[_i];
    uint8_t msg[256], out[MPTCP_SHA256_LEN];
    for (size_t i = 0; i < v->len; i++)
        msg[i] = (uint8_t)i;
    mptcp_sha256(msg, v->len, out);
    ck_assert_mem_eq(out, v->sha256, sizeof(out));
}
END_TEST

START_TEST(sha256_million_a_oneshot)
{
    uint8_t *m = million_a(), out[MPTCP_SHA256_LEN];
    mptcp_sha256(m, MILLION, out);
    ck_assert_mem_eq(out, sha256_million_a, sizeof(out));
    free(m);
}
END_TEST

START_TEST(sha256_million_a_in_odd_chunks)
{
    uint8_t *m = million_a(), out[MPTCP_SHA256_LEN];
    mptcp_sha256_ctx ctx;
    size_t off = 0, k = 0;
    mptcp_sha256_init(&ctx);
    while (off < MILLION) {
        size_t n = MPTCP_MIN(odd_chunks[k++ % MPTCP_ARRAY_LEN(odd_chunks)], MILLION - off);
        mptcp_sha256_update(&ctx, m + off, n);
        off += n;
    }
    mptcp_sha256_final(&ctx, out);
    ck_assert_mem_eq(out, sha256_million_a, sizeof(out));
    free(m);
}
END_TEST

START_TEST(sha256_any_split_equals_oneshot)
{
    uint8_t msg[300], want[MPTCP_SHA256_LEN], got[MPTCP_SHA256_LEN];
    fill_pattern(msg, sizeof(msg), 0x5eed);
    for (size_t len = 0; len <= sizeof(msg); len += 23) {
        mptcp_sha256(msg, len, want);
        for (size_t a = 0; a <= len; a++) {
            size_t b = a + (len - a) / 2; /* three pieces: [0,a) [a,b) [b,len) */
            mptcp_sha256_ctx ctx;
            mptcp_sha256_init(&ctx);
            mptcp_sha256_update(&ctx, msg, a);
            mptcp_sha256_update(&ctx, msg + a, b - a);
            mptcp_sha256_update(&ctx, msg + b, len - b);
            mptcp_sha256_final(&ctx, got);
            ck_assert_mem_eq(got, want, sizeof(got));
        }
    }
}
END_TEST

START_TEST(sha256_zero_length_update_is_noop)
{
    uint8_t out[MPTCP_SHA256_LEN];
    mptcp_sha256_ctx ctx;
    mptcp_sha256_init(&ctx);
    mptcp_sha256_update(&ctx, NULL, 0);
    mptcp_sha256_update(&ctx, "ab", 2);
    mptcp_sha256_update(&ctx, NULL, 0);
    mptcp_sha256_update(&ctx, "c", 1);
    mptcp_sha256_final(&ctx, out);
    ck_assert_mem_eq(out, sha_vectors[0].sha256, sizeof(out)); /* "abc" */
}
END_TEST

/* ------------------------------------------------------------ SHA-1 */

START_TEST(sha1_fips_vectors)
{
    const struct sha_vec *v = &sha_vectors[_i];
    uint8_t out[MPTCP_SHA1_LEN];
    mptcp_sha1(v->msg, v->len, out);
    ck_assert_mem_eq(out, v->sha1, sizeof(out));
}
END_TEST

START_TEST(sha1_padding_boundaries)
{
    const struct sha_len_vec *v = &sha_len_vectors[_i];
    uint8_t msg[256], out[MPTCP_SHA1_LEN];
    for (size_t i = 0; i < v->len; i++)
        msg[i] = (uint8_t)i;
    mptcp_sha1(msg, v->len, out);
    ck_assert_mem_eq(out, v->sha1, sizeof(out));
}
END_TEST

START_TEST(sha1_million_a_oneshot)
{
    uint8_t *m = million_a(), out[MPTCP_SHA1_LEN];
    mptcp_sha1(m, MILLION, out);
    ck_assert_mem_eq(out, sha1_million_a, sizeof(out));
    free(m);
}
END_TEST

START_TEST(sha1_million_a_in_odd_chunks)
{
    uint8_t *m = million_a(), out[MPTCP_SHA1_LEN];
    mptcp_sha1_ctx ctx;
    size_t off = 0, k = 0;
    mptcp_sha1_init(&ctx);
    while (off < MILLION) {
        size_t n = MPTCP_MIN(odd_chunks[k++ % MPTCP_ARRAY_LEN(odd_chunks)], MILLION - off);
        mptcp_sha1_update(&ctx, m + off, n);
        off += n;
    }
    mptcp_sha1_final(&ctx, out);
    ck_assert_mem_eq(out, sha1_million_a, sizeof(out));
    free(m);
}
END_TEST

START_TEST(sha1_any_split_equals_oneshot)
{
    uint8_t msg[300], want[MPTCP_SHA1_LEN], got[MPTCP_SHA1_LEN];
    fill_pattern(msg, sizeof(msg), 0xfeed);
    for (size_t len = 0; len <= sizeof(msg); len += 23) {
        mptcp_sha1(msg, len, want);
        for (size_t a = 0; a <= len; a++) {
            size_t b = a + (len - a) / 2;
            mptcp_sha1_ctx ctx;
            mptcp_sha1_init(&ctx);
            mptcp_sha1_update(&ctx, msg, a);
            mptcp_sha1_update(&ctx, msg + a, b - a);
            mptcp_sha1_update(&ctx, msg + b, len - b);
            mptcp_sha1_final(&ctx, got);
            ck_assert_mem_eq(got, want, sizeof(got));
        }
    }
}
END_TEST

/* ------------------------------------------------------------ HMAC */

START_TEST(hmac_sha256_rfc4231)
{
    const struct hmac_vec_32 *v = &rfc4231_vectors[_i];
    uint8_t out[MPTCP_SHA256_LEN];
    mptcp_hmac_sha256((const uint8_t *)v->key, v->key_len, (const uint8_t *)v->msg, v->msg_len,
                      out);
    /* Case 5 publishes only the leftmost 128 bits. */
    ck_assert_mem_eq(out, v->mac, v->out_len);
}
END_TEST

START_TEST(hmac_sha1_rfc2202)
{
    const struct hmac_vec_20 *v = &rfc2202_vectors[_i];
    uint8_t out[MPTCP_SHA1_LEN];
    mptcp_hmac_sha1((const uint8_t *)v->key, v->key_len, (const uint8_t *)v->msg, v->msg_len, out);
    ck_assert_mem_eq(out, v->mac, v->out_len);
}
END_TEST

START_TEST(hmac_parts_equal_joined_message)
{
    uint8_t key[100], msg[200], want[MPTCP_SHA256_LEN], got[MPTCP_SHA256_LEN];
    uint8_t want1[MPTCP_SHA1_LEN], got1[MPTCP_SHA1_LEN];
    fill_pattern(key, sizeof(key), 11);
    fill_pattern(msg, sizeof(msg), 12);
    /* Key lengths below, at and above the 64-byte block. */
    static const size_t klens[] = { 0, 16, 63, 64, 65, 100 };
    for (size_t k = 0; k < MPTCP_ARRAY_LEN(klens); k++) {
        for (size_t cut = 0; cut <= sizeof(msg); cut += 17) {
            mptcp_hmac_part parts[3] = { { msg, cut / 2 }, { msg + cut / 2, cut - cut / 2 },
                                         { msg + cut, sizeof(msg) - cut } };
            mptcp_hmac_sha256(key, klens[k], msg, sizeof(msg), want);
            mptcp_hmac_sha256_parts(key, klens[k], parts, 3, got);
            ck_assert_mem_eq(got, want, sizeof(got));
            mptcp_hmac_sha1(key, klens[k], msg, sizeof(msg), want1);
            mptcp_hmac_sha1_parts(key, klens[k], parts, 3, got1);
            ck_assert_mem_eq(got1, want1, sizeof(got1));
        }
    }
}
END_TEST

START_TEST(hmac_key_change_changes_mac)
{
    uint8_t key[16] = { 0 }, a[MPTCP_SHA256_LEN], b[MPTCP_SHA256_LEN];
    mptcp_hmac_sha256(key, sizeof(key), (const uint8_t *)"x", 1, a);
    key[15] ^= 1;
    mptcp_hmac_sha256(key, sizeof(key), (const uint8_t *)"x", 1, b);
    ck_assert_mem_ne(a, b, sizeof(a));
}
END_TEST

/* ------------------------------------------------------------ MPTCP */

START_TEST(key_derive_v1_sha256)
{
    const struct key_vec *v = &key_vectors[_i];
    uint32_t token = 0;
    uint64_t idsn = 0;
    mptcp_key_derive(1, v->key, &token, &idsn);
    ck_assert_uint_eq(token, v->token_v1);
    ck_assert_uint_eq(idsn, v->idsn_v1);
}
END_TEST

START_TEST(key_derive_v0_sha1)
{
    const struct key_vec *v = &key_vectors[_i];
    uint32_t token = 0;
    uint64_t idsn = 0;
    mptcp_key_derive(0, v->key, &token, &idsn);
    ck_assert_uint_eq(token, v->token_v0);
    ck_assert_uint_eq(idsn, v->idsn_v0);
}
END_TEST

START_TEST(key_derive_matches_digest_ends)
{
    /* Token = digest bytes 0..3, IDSN = the last 8 bytes: checked against
     * our own hash so that the byte selection is pinned for many keys. */
    uint64_t key = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200; i++, key = key * 6364136223846793005u + 1442695040888963407u) {
        uint8_t in[8], d2[MPTCP_SHA256_LEN], d1[MPTCP_SHA1_LEN];
        uint32_t t;
        uint64_t s;
        for (int b = 0; b < 8; b++)
            in[b] = (uint8_t)(key >> (56 - 8 * b));
        mptcp_sha256(in, 8, d2);
        mptcp_sha1(in, 8, d1);
        mptcp_key_derive(1, key, &t, &s);
        ck_assert_uint_eq(t, mptcp_get_be32(d2));
        ck_assert_uint_eq(s, mptcp_get_be64(d2 + 24));
        mptcp_key_derive(0, key, &t, &s);
        ck_assert_uint_eq(t, mptcp_get_be32(d1));
        ck_assert_uint_eq(s, mptcp_get_be64(d1 + 12));
    }
}
END_TEST

START_TEST(key_derive_accepts_null_outputs)
{
    uint32_t token = 0;
    uint64_t idsn = 0;
    mptcp_key_derive(1, key_vectors[0].key, &token, NULL);
    ck_assert_uint_eq(token, key_vectors[0].token_v1);
    mptcp_key_derive(1, key_vectors[0].key, NULL, &idsn);
    ck_assert_uint_eq(idsn, key_vectors[0].idsn_v1);
    mptcp_key_derive(0, key_vectors[0].key, NULL, NULL); /* must not crash */
}
END_TEST

START_TEST(join_hmac_vectors)
{
    const struct join_vec *v = &join_vectors[_i];
    uint64_t own = v->b_sends ? JOIN_KEY_B : JOIN_KEY_A;
    uint64_t peer = v->b_sends ? JOIN_KEY_A : JOIN_KEY_B;
    uint32_t own_r = v->b_sends ? JOIN_R_B : JOIN_R_A;
    uint32_t peer_r = v->b_sends ? JOIN_R_A : JOIN_R_B;
    uint8_t out[20];
    mptcp_join_hmac(v->version, own, peer, own_r, peer_r, out);
    ck_assert_mem_eq(out, v->hmac, 20);
    ck_assert_uint_eq(mptcp_join_thmac(v->version, own, peer, own_r, peer_r), v->thmac);
}
END_TEST

START_TEST(join_hmac_linux_kunit_vectors)
{
    const struct kunit_join_vec *v = &kunit_join_vectors[_i];
    uint8_t out[20];
    mptcp_join_hmac(1, v->key1, v->key2, v->nonce1, v->nonce2, out);
    ck_assert_mem_eq(out, v->hmac, 20);
    ck_assert_uint_eq(mptcp_join_thmac(1, v->key1, v->key2, v->nonce1, v->nonce2),
                      mptcp_get_be64(v->hmac));
}
END_TEST

START_TEST(join_hmac_is_hmac_of_key_pair_and_nonces)
{
    /* Cross-check the construction through the public HMAC functions. */
    uint8_t key[16], msg[8], full[MPTCP_SHA256_LEN], full1[MPTCP_SHA1_LEN], out[20];
    mptcp_put_be64(key, JOIN_KEY_A);
    mptcp_put_be64(key + 8, JOIN_KEY_B);
    mptcp_put_be32(msg, JOIN_R_A);
    mptcp_put_be32(msg + 4, JOIN_R_B);
    mptcp_hmac_sha256(key, 16, msg, 8, full);
    mptcp_join_hmac(1, JOIN_KEY_A, JOIN_KEY_B, JOIN_R_A, JOIN_R_B, out);
    ck_assert_mem_eq(out, full, 20);
    mptcp_hmac_sha1(key, 16, msg, 8, full1);
    mptcp_join_hmac(0, JOIN_KEY_A, JOIN_KEY_B, JOIN_R_A, JOIN_R_B, out);
    ck_assert_mem_eq(out, full1, 20);
}
END_TEST

START_TEST(join_hmac_directions_differ)
{
    /* Swapping the roles must give a different MAC: a reflected SYN/ACK
     * HMAC must not validate as the ACK's. */
    ck_assert_uint_ne(mptcp_join_thmac(1, JOIN_KEY_A, JOIN_KEY_B, JOIN_R_A, JOIN_R_B),
                      mptcp_join_thmac(1, JOIN_KEY_B, JOIN_KEY_A, JOIN_R_B, JOIN_R_A));
    ck_assert_uint_ne(mptcp_join_thmac(1, JOIN_KEY_A, JOIN_KEY_B, JOIN_R_A, JOIN_R_B),
                      mptcp_join_thmac(0, JOIN_KEY_A, JOIN_KEY_B, JOIN_R_A, JOIN_R_B));
}
END_TEST

START_TEST(add_addr_hmac_vectors)
{
    const struct add_addr_vec *v = &add_addr_vectors[_i];
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = v->family;
    a.port = v->port;
    memcpy(a.ip, v->ip, 16);
    ck_assert_uint_eq(mptcp_add_addr_hmac(JOIN_KEY_A, JOIN_KEY_B, v->addr_id, &a), v->hmac);
    /* The receiver checks with the keys swapped: it must not match. */
    ck_assert_uint_ne(mptcp_add_addr_hmac(JOIN_KEY_B, JOIN_KEY_A, v->addr_id, &a), v->hmac);
}
END_TEST

START_TEST(add_addr_hmac_ignores_unused_ip_bytes)
{
    /* IPv4 uses ip[0..3] only; garbage after it must not change the MAC. */
    mptcp_addr a;
    memset(&a, 0xee, sizeof(a));
    a.family = MPTCP_AF_INET;
    a.port = 0;
    memcpy(a.ip, add_addr_vectors[0].ip, 4);
    ck_assert_uint_eq(mptcp_add_addr_hmac(JOIN_KEY_A, JOIN_KEY_B, 1, &a),
                      add_addr_vectors[0].hmac);
}
END_TEST

START_TEST(add_addr_hmac_rejects_bad_family)
{
    mptcp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = 5;
    ck_assert_uint_eq(mptcp_add_addr_hmac(JOIN_KEY_A, JOIN_KEY_B, 1, &a), 0);
    ck_assert_uint_eq(mptcp_add_addr_hmac(JOIN_KEY_A, JOIN_KEY_B, 1, NULL), 0);
}
END_TEST

START_TEST(crypto_equal_compares_every_byte)
{
    uint8_t a[20], b[20];
    fill_pattern(a, sizeof(a), 3);
    memcpy(b, a, sizeof(b));
    ck_assert(mptcp_crypto_equal(a, b, sizeof(a)));
    ck_assert(mptcp_crypto_equal(a, b, 0));
    for (size_t i = 0; i < sizeof(a); i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            ck_assert(!mptcp_crypto_equal(a, b, sizeof(a)));
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    ck_assert(mptcp_crypto_equal64(0x0123456789abcdefu, 0x0123456789abcdefu));
    for (int bit = 0; bit < 64; bit++)
        ck_assert(!mptcp_crypto_equal64(0x0123456789abcdefu, 0x0123456789abcdefu ^ (1ull << bit)));
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc;

    tc = tcase_create("sha256");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, sha256_fips_vectors, 0, (int)MPTCP_ARRAY_LEN(sha_vectors));
    tcase_add_loop_test(tc, sha256_padding_boundaries, 0, (int)MPTCP_ARRAY_LEN(sha_len_vectors));
    tcase_add_test(tc, sha256_million_a_oneshot);
    tcase_add_test(tc, sha256_million_a_in_odd_chunks);
    tcase_add_test(tc, sha256_any_split_equals_oneshot);
    tcase_add_test(tc, sha256_zero_length_update_is_noop);
    suite_add_tcase(s, tc);

    tc = tcase_create("sha1");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, sha1_fips_vectors, 0, (int)MPTCP_ARRAY_LEN(sha_vectors));
    tcase_add_loop_test(tc, sha1_padding_boundaries, 0, (int)MPTCP_ARRAY_LEN(sha_len_vectors));
    tcase_add_test(tc, sha1_million_a_oneshot);
    tcase_add_test(tc, sha1_million_a_in_odd_chunks);
    tcase_add_test(tc, sha1_any_split_equals_oneshot);
    suite_add_tcase(s, tc);

    tc = tcase_create("hmac");
    tcase_add_loop_test(tc, hmac_sha256_rfc4231, 0, (int)MPTCP_ARRAY_LEN(rfc4231_vectors));
    tcase_add_loop_test(tc, hmac_sha1_rfc2202, 0, (int)MPTCP_ARRAY_LEN(rfc2202_vectors));
    tcase_add_test(tc, hmac_parts_equal_joined_message);
    tcase_add_test(tc, hmac_key_change_changes_mac);
    suite_add_tcase(s, tc);

    tc = tcase_create("mptcp");
    tcase_add_loop_test(tc, key_derive_v1_sha256, 0, (int)MPTCP_ARRAY_LEN(key_vectors));
    tcase_add_loop_test(tc, key_derive_v0_sha1, 0, (int)MPTCP_ARRAY_LEN(key_vectors));
    tcase_add_test(tc, key_derive_matches_digest_ends);
    tcase_add_test(tc, key_derive_accepts_null_outputs);
    tcase_add_loop_test(tc, join_hmac_vectors, 0, (int)MPTCP_ARRAY_LEN(join_vectors));
    tcase_add_loop_test(tc, join_hmac_linux_kunit_vectors, 0,
                        (int)MPTCP_ARRAY_LEN(kunit_join_vectors));
    tcase_add_test(tc, join_hmac_is_hmac_of_key_pair_and_nonces);
    tcase_add_test(tc, join_hmac_directions_differ);
    tcase_add_loop_test(tc, add_addr_hmac_vectors, 0, (int)MPTCP_ARRAY_LEN(add_addr_vectors));
    tcase_add_test(tc, add_addr_hmac_ignores_unused_ip_bytes);
    tcase_add_test(tc, add_addr_hmac_rejects_bad_family);
    tcase_add_test(tc, crypto_equal_compares_every_byte);
    suite_add_tcase(s, tc);
    return s;
}
