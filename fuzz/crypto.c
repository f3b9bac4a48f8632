/*
 * crypto.c - fuzz target for hashes, MPTCP key material and checksums
 * (RFC 8684 sections 3.1, 3.2, 3.3.1, 3.4.1; RFC 1071, RFC 1624).
 * Invariant: for keys, nonces, addresses, split points and data chosen by
 * the input, the library agrees with direct computations: SHA-1, SHA-256
 * and HMAC with an independent reference (ref_hash.h); mptcp_key_derive
 * with the digest of the big-endian key; mptcp_join_hmac with HMAC over
 * key||key, nonce||nonce and mptcp_join_thmac with its first 8 bytes;
 * mptcp_add_addr_hmac with the last 8 bytes of HMAC-SHA256 over
 * id||address||port; mptcp_csum_add chained over any split with the one-shot
 * sum and a plain RFC 1071 sum; mptcp_dss_csum with its pseudo-header;
 * mptcp_csum_update16 with recomputation; mptcp_tcp_csum_fill with the
 * pseudo-header checksum, after which mptcp_tcp_csum_ok holds, and fails
 * once any single bit flips.
 */
#include "fuzz_input.h"
#include "mptcp.h"
#include "ref_hash.h"

#define MAX_DATA 4096

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* RFC 1071 one's-complement sum of 16-bit big-endian words, an odd last
 * byte padded with zero; |sum| carries on from earlier data (even length). */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

static uint16_t ref_csum(const uint8_t *p, size_t n)
{
    return (uint16_t)~ref_sum(0, p, n);
}

static void check_hashes(const uint8_t *key, size_t key_len, const uint8_t *d, size_t n)
{
    uint8_t a[32], b[32];
    mptcp_sha256(d, n, a);
    ref_sha256(d, n, b);
    FUZZ_CHECK(memcmp(a, b, 32) == 0, "sha256 of %zu bytes", n);
    mptcp_sha1(d, n, a);
    ref_sha1(d, n, b);
    FUZZ_CHECK(memcmp(a, b, 20) == 0, "sha1 of %zu bytes", n);
    mptcp_hmac_sha256(key, key_len, d, n, a);
    ref_hmac(1, key, key_len, d, n, b);
    FUZZ_CHECK(memcmp(a, b, 32) == 0, "hmac-sha256 key %zu msg %zu", key_len, n);
    mptcp_hmac_sha1(key, key_len, d, n, a);
    ref_hmac(0, key, key_len, d, n, b);
    FUZZ_CHECK(memcmp(a, b, 20) == 0, "hmac-sha1 key %zu msg %zu", key_len, n);
}

static void check_keys(int version, uint64_t k1, uint64_t k2, uint32_t n1, uint32_t n2,
                       uint8_t addr_id, const mptcp_addr *addr)
{
    uint8_t kb[16], dg[32];
    put_be64(kb, k1);
    put_be64(kb + 8, k2);

    /* Token: the most significant 32 bits; IDSN: the least significant
     * 64 bits of the digest (RFC 8684 section 3.1; RFC 6824 for SHA-1). */
    for (int v = 0; v <= 1; v++) {
        uint32_t tok = 0, tok2 = 0;
        uint64_t idsn = 0, idsn2 = 0;
        size_t dl = v ? 32 : 20;
        if (v)
            ref_sha256(kb, 8, dg);
        else
            ref_sha1(kb, 8, dg);
        mptcp_key_derive(v, k1, &tok, &idsn);
        FUZZ_CHECK(tok == ref_be32(dg), "v%d token %#x, want %#x", v, tok, ref_be32(dg));
        FUZZ_CHECK(idsn == get_be64(dg + dl - 8), "v%d idsn", v);
        mptcp_key_derive(v, k1, &tok2, NULL);
        mptcp_key_derive(v, k1, NULL, &idsn2);
        mptcp_key_derive(v, k1, NULL, NULL);
        FUZZ_CHECK(tok2 == tok && idsn2 == idsn, "v%d: NULL outputs change results", v);
    }

    /* MP_JOIN: HMAC(own_key||peer_key, own_nonce||peer_nonce) (section 3.2). */
    uint8_t msg[8], out[20];
    for (int i = 0; i < 4; i++) {
        msg[i] = (uint8_t)(n1 >> (24 - 8 * i));
        msg[4 + i] = (uint8_t)(n2 >> (24 - 8 * i));
    }
    ref_hmac(version, kb, 16, msg, 8, dg);
    mptcp_join_hmac(version, k1, k2, n1, n2, out);
    FUZZ_CHECK(memcmp(out, dg, 20) == 0, "v%d join hmac", version);
    uint64_t th = mptcp_join_thmac(version, k1, k2, n1, n2);
    FUZZ_CHECK(th == get_be64(out), "v%d thmac %#llx, hmac starts %#llx", version,
               (unsigned long long)th, (unsigned long long)get_be64(out));

    /* ADD_ADDR: HMAC-SHA256(k1||k2, id || addr || port(0 if none)), the
     * rightmost 64 bits (section 3.4.1). */
    uint8_t am[1 + 16 + 2];
    size_t al = addr->family == MPTCP_AF_INET ? 4 : 16;
    am[0] = addr_id;
    memcpy(am + 1, addr->ip, al);
    am[1 + al] = (uint8_t)(addr->port >> 8);
    am[2 + al] = (uint8_t)addr->port;
    ref_hmac(1, kb, 16, am, 3 + al, dg);
    uint64_t ah = mptcp_add_addr_hmac(k1, k2, addr_id, addr);
    FUZZ_CHECK(ah == get_be64(dg + 24), "add_addr hmac family %u port %u", addr->family,
               addr->port);
}

/* Split [0, n) at up to 8 input-chosen points and sum chunk by chunk. */
static uint32_t chain_sum(fuzz_input *in, uint32_t sum, const uint8_t *d, size_t n)
{
    unsigned cuts = take_u8(in) % 9;
    size_t pos = 0;
    for (unsigned i = 0; i < cuts && pos < n; i++) {
        size_t step = (size_t)take_range(in, 0, n - pos);
        sum = mptcp_csum_add(sum, d + pos, step, pos);
        pos += step;
    }
    return mptcp_csum_add(sum, d + pos, n - pos, pos);
}

static void check_csums(fuzz_input *in, uint64_t dsn, uint32_t ssn, uint16_t dlen,
                        const uint8_t *d, size_t n)
{
    uint16_t ref = ref_csum(d, n);
    uint16_t one = mptcp_csum_fold(mptcp_csum_add(0, d, n, 0));
    FUZZ_CHECK(one == ref, "csum of %zu bytes %#x, want %#x", n, one, ref);
    uint16_t chained = mptcp_csum_fold(chain_sum(in, 0, d, n));
    FUZZ_CHECK(chained == ref, "chained csum %#x, one-shot %#x", chained, ref);

    /* DSS checksum: 64-bit DSN, 32-bit SSN, 16-bit length, 16 zero bits,
     * then the payload (RFC 8684 section 3.3.1). */
    uint8_t ph[16];
    put_be64(ph, dsn);
    for (int i = 0; i < 4; i++)
        ph[8 + i] = (uint8_t)(ssn >> (24 - 8 * i));
    ph[12] = (uint8_t)(dlen >> 8);
    ph[13] = (uint8_t)dlen;
    ph[14] = ph[15] = 0;
    uint16_t dref = (uint16_t)~ref_sum(ref_sum(0, ph, 16), d, n);
    uint16_t dss = mptcp_dss_csum(dsn, ssn, dlen, d, n);
    FUZZ_CHECK(dss == dref, "dss csum %#x, want %#x", dss, dref);
    uint16_t dss2 = mptcp_csum_fold(chain_sum(in, mptcp_dss_csum_begin(dsn, ssn, dlen), d, n));
    FUZZ_CHECK(dss2 == dref, "chained dss csum %#x, want %#x", dss2, dref);

    /* RFC 1624 incremental update of one aligned 16-bit word. */
    if (n >= 2) {
        static uint8_t m[MAX_DATA];
        size_t pos = (size_t)take_range(in, 0, n / 2 - 1) * 2;
        uint16_t nv = take_u16(in);
        memcpy(m, d, n);
        uint16_t old = (uint16_t)(m[pos] << 8 | m[pos + 1]);
        m[pos] = (uint8_t)(nv >> 8);
        m[pos + 1] = (uint8_t)nv;
        uint16_t re = ref_csum(m, n);
        uint16_t up = mptcp_csum_update16(ref, old, nv);
        bool all_zero = true;
        for (size_t i = 0; i < n && all_zero; i++)
            all_zero = m[i] == 0;
        /* Only all-zero data may show the +0/-0 ambiguity (RFC 1624 s. 3). */
        FUZZ_CHECK(up == re || (all_zero && (up == 0 || up == 0xffff)),
                   "update16(%#x, %#x -> %#x) = %#x, recomputed %#x", ref, old, nv, up, re);
    }
}

static void check_tcp_csum(fuzz_input *in, const mptcp_addr *src, const mptcp_addr *dst,
                           const uint8_t *d, size_t n)
{
    static uint8_t seg[MAX_DATA], ph[40 + MAX_DATA];
    memcpy(seg, d, n);
    int r = mptcp_tcp_csum_fill(seg, n, src, dst);
    if (n < 18) {
        FUZZ_CHECK(r < 0, "filled a checksum into %zu bytes", n);
        return;
    }
    if (n < MPTCP_TCP_HDR_LEN)
        return; /* a header fragment: either answer is fine */
    FUZZ_CHECK(r == 0, "csum_fill on %zu bytes gave %d (%s)", n, r, mptcp_strerror(r));
    FUZZ_CHECK(memcmp(seg, d, 16) == 0 && memcmp(seg + 18, d + 18, n - 18) == 0,
               "csum_fill changed bytes outside the checksum field");

    /* The pseudo-header (RFC 9293 section 3.1; RFC 8200 section 8.1). */
    size_t pl;
    if (src->family == MPTCP_AF_INET) {
        memcpy(ph, src->ip, 4);
        memcpy(ph + 4, dst->ip, 4);
        ph[8] = 0;
        ph[9] = 6;
        ph[10] = (uint8_t)(n >> 8);
        ph[11] = (uint8_t)n;
        pl = 12;
    } else {
        memcpy(ph, src->ip, 16);
        memcpy(ph + 16, dst->ip, 16);
        ph[32] = ph[33] = 0;
        ph[34] = (uint8_t)(n >> 8);
        ph[35] = (uint8_t)n;
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = 6;
        pl = 40;
    }
    memcpy(ph + pl, d, n);
    ph[pl + 16] = ph[pl + 17] = 0;
    uint16_t want = ref_csum(ph, pl + n);
    uint16_t got = (uint16_t)(seg[16] << 8 | seg[17]);
    FUZZ_CHECK(got == want, "v%u checksum %#x, want %#x", src->family, got, want);
    FUZZ_CHECK(mptcp_tcp_csum_ok(seg, n, src, dst), "filled checksum not ok");

    /* One flipped bit always changes a one's-complement sum. */
    size_t bit = (size_t)take_range(in, 0, n * 8 - 1);
    seg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    FUZZ_CHECK(!mptcp_tcp_csum_ok(seg, n, src, dst), "bit %zu flipped, checksum still ok", bit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_input_init(data, size);
    int version = take_u8(&in) & 1;
    uint64_t k1 = take_u64(&in), k2 = take_u64(&in);
    uint32_t n1 = take_u32(&in), n2 = take_u32(&in);
    uint8_t addr_id = take_u8(&in);
    mptcp_addr a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.family = b.family = take_bool(&in) ? MPTCP_AF_INET6 : MPTCP_AF_INET;
    a.port = take_u16(&in);
    b.port = take_u16(&in);
    take_bytes(&in, a.ip, a.family == MPTCP_AF_INET ? 4 : 16);
    take_bytes(&in, b.ip, b.family == MPTCP_AF_INET ? 4 : 16);
    uint64_t dsn = take_u64(&in);
    uint32_t ssn = take_u32(&in);
    uint16_t dlen = take_u16(&in);
    uint8_t key[255];
    size_t key_len = take_u8(&in);
    take_bytes(&in, key, key_len);
    /* The rest is data for hashing and checksums; the last 16 bytes of the
     * input (when there are more than 16 left) drive splits and flips. */
    size_t n;
    const uint8_t *d = take_rest(&in, &n);
    fuzz_input ctl = fuzz_input_init(NULL, 0);
    if (n > 16) {
        ctl = fuzz_input_init(d + n - 16, 16);
        n -= 16;
    }
    if (n > MAX_DATA)
        n = MAX_DATA;

    check_hashes(key, key_len, d, n);
    check_keys(version, k1, k2, n1, n2, addr_id, &a);
    check_csums(&ctl, dsn, ssn, dlen, d, n);
    check_tcp_csum(&ctl, &a, &b, d, n);
    return 0;
}
