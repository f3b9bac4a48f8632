/* Token table (src/token.c): insert/lookup/remove, capacity, deletion
 * keeping probe runs intact, and key generation that redraws colliding
 * tokens (RFC 8684 section 3.1). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "token.h"

#define MAXN 200
static mptcp_token_slot mem[512]; /* >= mptcp_token_table_size(MAXN) */
static int conns[MAXN + 1];

static void setup_table(mptcp_token_table *t, uint32_t max)
{
    ck_assert_uint_le(mptcp_token_table_size(max), sizeof(mem));
    ck_assert_int_eq(mptcp_token_init(t, mem, sizeof(mem), max), 0);
}

START_TEST(token_size_and_init_checks)
{
    mptcp_token_table t;
    ck_assert_uint_eq(mptcp_token_table_size(0), 0);
    ck_assert_uint_eq(mptcp_token_table_size((1u << 30) + 1), 0);
    ck_assert_uint_eq(mptcp_token_table_size(1), 4 * sizeof(mptcp_token_slot));
    ck_assert_uint_eq(mptcp_token_table_size(3), 8 * sizeof(mptcp_token_slot));
    ck_assert_uint_ge(mptcp_token_table_size(MAXN), 2 * MAXN * sizeof(mptcp_token_slot));
    ck_assert_int_eq(mptcp_token_init(&t, mem, mptcp_token_table_size(MAXN) - 1, MAXN),
                     MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_token_init(&t, NULL, sizeof(mem), MAXN), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_token_init(&t, mem, sizeof(mem), 0), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_token_init(&t, (char *)mem + 1, sizeof(mem) - 16, 4), MPTCP_EINVAL);
}
END_TEST

static uint32_t tok_of(uint32_t i) { return i * 0x01000193u + 0x811c9dc5u; }

START_TEST(token_insert_lookup_remove_many)
{
    mptcp_token_table t;
    setup_table(&t, MAXN);
    for (uint32_t i = 0; i < MAXN; i++)
        ck_assert_int_eq(mptcp_token_insert(&t, tok_of(i), &conns[i]), 0);
    ck_assert_uint_eq(t.count, MAXN);
    for (uint32_t i = 0; i < MAXN; i++)
        ck_assert_ptr_eq(mptcp_token_lookup(&t, tok_of(i)), &conns[i]);
    ck_assert_ptr_null(mptcp_token_lookup(&t, tok_of(MAXN)));
    ck_assert_int_eq(mptcp_token_insert(&t, tok_of(5), &conns[MAXN]), MPTCP_EADDRINUSE);
    ck_assert_ptr_eq(mptcp_token_lookup(&t, tok_of(5)), &conns[5]);
    ck_assert_int_eq(mptcp_token_insert(&t, 1, NULL), MPTCP_EINVAL);
    /* Remove every odd one; the even ones stay reachable. */
    for (uint32_t i = 1; i < MAXN; i += 2)
        ck_assert_int_eq(mptcp_token_remove(&t, tok_of(i)), 0);
    ck_assert_int_eq(mptcp_token_remove(&t, tok_of(1)), MPTCP_ENOTFOUND);
    ck_assert_uint_eq(t.count, MAXN / 2);
    for (uint32_t i = 0; i < MAXN; i++) {
        if (i & 1)
            ck_assert_ptr_null(mptcp_token_lookup(&t, tok_of(i)));
        else
            ck_assert_ptr_eq(mptcp_token_lookup(&t, tok_of(i)), &conns[i]);
    }
}
END_TEST

START_TEST(token_full_table_limit)
{
    mptcp_token_table t;
    setup_table(&t, 10);
    for (uint32_t i = 0; i < 10; i++)
        ck_assert_int_eq(mptcp_token_insert(&t, tok_of(i), &conns[i]), 0);
    ck_assert_int_eq(mptcp_token_insert(&t, tok_of(10), &conns[10]), MPTCP_ELIMIT);
    /* A duplicate is reported as such even when full. */
    ck_assert_int_eq(mptcp_token_insert(&t, tok_of(3), &conns[10]), MPTCP_EADDRINUSE);
    ck_assert_int_eq(mptcp_token_remove(&t, tok_of(3)), 0);
    ck_assert_int_eq(mptcp_token_insert(&t, tok_of(10), &conns[10]), 0);
    ck_assert_ptr_eq(mptcp_token_lookup(&t, tok_of(10)), &conns[10]);
}
END_TEST

/* Tokens that all hash to the same home slot: found by search over the
 * (cheap) slot hash, so the probe runs are long and wrap the array end. */
static uint32_t same_home(const mptcp_token_table *t, uint32_t home, uint32_t *from)
{
    for (uint32_t x = *from;; x++) {
        uint32_t h = x * 0x9e3779b1u;
        if (((h ^ h >> 16) & t->mask) == home) {
            *from = x + 1;
            return x;
        }
    }
}

START_TEST(token_removal_keeps_probe_runs_and_reuses_slots)
{
    mptcp_token_table t;
    uint32_t tok[6], from = 1;
    setup_table(&t, 8); /* 16 slots */
    ck_assert_uint_eq(t.mask, 15);
    for (int i = 0; i < 6; i++)
        tok[i] = same_home(&t, 14, &from); /* run 14,15,0,1,2,3 wraps */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(mptcp_token_insert(&t, tok[i], &conns[i]), 0);
    ck_assert_uint_eq(t.slot[1].token, tok[3]);
    /* Remove from the middle of the run: later members must stay found
     * (no tombstone: the run is shifted back into the hole). */
    ck_assert_int_eq(mptcp_token_remove(&t, tok[1]), 0);
    for (int i = 0; i < 6; i++) {
        if (i == 1)
            ck_assert_ptr_null(mptcp_token_lookup(&t, tok[i]));
        else
            ck_assert_ptr_eq(mptcp_token_lookup(&t, tok[i]), &conns[i]);
    }
    ck_assert_ptr_null(t.slot[3].conn); /* the run is one shorter */
    /* Reinsert: it takes the freed end of the run. */
    ck_assert_int_eq(mptcp_token_insert(&t, tok[1], &conns[1]), 0);
    ck_assert_uint_eq(t.slot[3].token, tok[1]);
    /* Churn: remove and insert repeatedly; the table never clogs. */
    for (int round = 0; round < 1000; round++) {
        int k = round % 6;
        ck_assert_int_eq(mptcp_token_remove(&t, tok[k]), 0);
        ck_assert_int_eq(mptcp_token_insert(&t, tok[k], &conns[k]), 0);
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i <= t.mask; i++)
        used += t.slot[i].conn != NULL;
    ck_assert_uint_eq(used, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_ptr_eq(mptcp_token_lookup(&t, tok[i]), &conns[i]);
    /* An unrelated token with another home in a full-ish region. */
    uint32_t other = same_home(&t, 2, &from);
    ck_assert_ptr_null(mptcp_token_lookup(&t, other));
    ck_assert_int_eq(mptcp_token_insert(&t, other, &conns[7]), 0);
    ck_assert_int_eq(mptcp_token_remove(&t, tok[0]), 0);
    ck_assert_ptr_eq(mptcp_token_lookup(&t, other), &conns[7]);
}
END_TEST

/* Scripted random source: returns the listed keys in turn. */
typedef struct script {
    const uint64_t *keys;
    unsigned n, next;
} script;

static void script_random(void *user, uint8_t *out, size_t len)
{
    script *s = user;
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_lt(s->next, s->n);
    uint64_t k = s->keys[s->next++];
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(k >> (56 - 8 * i));
}

START_TEST(token_new_key_redraws_colliding_token)
{
    static const uint64_t keys[] = { 0x0102030405060708ull, 0x0102030405060708ull,
                                     0x1122334455667788ull };
    script sc = { keys, 3, 0 };
    mptcp_token_table t;
    uint64_t key, idsn, want_idsn;
    uint32_t token, want_tok;
    int version = _i; /* v1 (SHA-256) and v0 (SHA-1) */
    setup_table(&t, 16);

    ck_assert_int_eq(mptcp_token_new_key(&t, script_random, &sc, version, &key, &token, &idsn),
                     0);
    ck_assert_uint_eq(key, keys[0]);
    mptcp_key_derive(version, keys[0], &want_tok, &want_idsn);
    ck_assert_uint_eq(token, want_tok);
    ck_assert_uint_eq(idsn, want_idsn);
    ck_assert_int_eq(mptcp_token_insert(&t, token, &conns[0]), 0);
    /* The source repeats the key: its token is taken, a new key is drawn. */
    ck_assert_int_eq(mptcp_token_new_key(&t, script_random, &sc, version, &key, &token, &idsn),
                     0);
    ck_assert_uint_eq(sc.next, 3);
    ck_assert_uint_eq(key, keys[2]);
    mptcp_key_derive(version, keys[2], &want_tok, &want_idsn);
    ck_assert_uint_eq(token, want_tok);
    ck_assert_uint_eq(idsn, want_idsn);
    ck_assert_ptr_null(mptcp_token_lookup(&t, token));
}
END_TEST

START_TEST(token_new_key_rejects_zero_and_gives_up)
{
    uint64_t keys[MPTCP_TOKEN_MAX_TRIES + 2];
    script sc = { keys, MPTCP_TOKEN_MAX_TRIES + 2, 0 };
    mptcp_token_table t;
    uint64_t key = 99, idsn = 99;
    uint32_t token = 99, tok;
    setup_table(&t, 16);

    /* Zero keys are redrawn. */
    keys[0] = 0;
    keys[1] = 0;
    keys[2] = 42;
    ck_assert_int_eq(mptcp_token_new_key(&t, script_random, &sc, 1, &key, &token, NULL), 0);
    ck_assert_uint_eq(key, 42);
    ck_assert_uint_eq(sc.next, 3);
    ck_assert_int_eq(mptcp_token_insert(&t, token, &conns[0]), 0);

    /* A source stuck on one key: bounded attempts, then MPTCP_ELIMIT and
     * the outputs untouched. */
    for (unsigned i = 0; i < MPTCP_TOKEN_MAX_TRIES + 2; i++)
        keys[i] = 42;
    sc.next = 0;
    key = 7;
    token = 7;
    idsn = 7;
    ck_assert_int_eq(mptcp_token_new_key(&t, script_random, &sc, 1, &key, &token, &idsn),
                     MPTCP_ELIMIT);
    ck_assert_uint_eq(sc.next, MPTCP_TOKEN_MAX_TRIES);
    ck_assert_uint_eq(key, 7);
    ck_assert_uint_eq(token, 7);
    ck_assert_uint_eq(idsn, 7);
    mptcp_key_derive(1, 42, &tok, NULL);
    ck_assert_ptr_eq(mptcp_token_lookup(&t, tok), &conns[0]);
    ck_assert_int_eq(mptcp_token_new_key(&t, NULL, &sc, 1, &key, &token, &idsn), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_token_new_key(&t, script_random, &sc, 1, NULL, &token, &idsn),
                     MPTCP_EINVAL);
}
END_TEST

Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, token_size_and_init_checks);
    tcase_add_test(tc, token_insert_lookup_remove_many);
    tcase_add_test(tc, token_full_table_limit);
    tcase_add_test(tc, token_removal_keeps_probe_runs_and_reuses_slots);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_loop_test(tc, token_new_key_redraws_colliding_token, 0, 2);
    tcase_add_test(tc, token_new_key_rejects_zero_and_gives_up);
    suite_add_tcase(s, tc);
    return s;
}
