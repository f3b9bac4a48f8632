/*
 * csum.c - the Internet checksum (RFC 1071) and its uses: the TCP checksum
 * over the IPv4 (RFC 9293 section 3.1) and IPv6 (RFC 8200 section 8.1)
 * pseudo-headers, RFC 1624 incremental update, and the MPTCP DSS checksum
 * (RFC 8684 section 3.3.1). Owns arithmetic only; which segment or mapping
 * gets checked, and what a failure means, is decided elsewhere.
 */
#include "csum.h"

/* Constant-folded by the compiler: true on a little-endian host. */
static inline bool host_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static inline uint32_t fold16(uint64_t s)
{
    /* 2^16 == 1 modulo 0xffff, so adding the halves keeps the one's
     * complement sum (the end-around carry of RFC 1071 section 2). */
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint32_t)s;
}

static inline uint32_t swap16(uint32_t v)
{
    return ((v & 0xffu) << 8) | (v >> 8);
}

/*
 * Sum of |len| bytes as native-endian 16-bit words, padded with a zero byte
 * when |len| is odd, folded to 16 bits. RFC 1071 section 2(B): the sum is
 * byte-order independent up to a final swap, so words are loaded in host
 * order (no per-word shifts). 64-bit words are added with their carries
 * counted apart (2^64 == 1 modulo 0xffff, so a carry is worth 1): half the
 * loads and adds of 32-bit words, in portable C (a 32-bit core does each
 * add as two).
 */
static uint32_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t acc = 0, carry = 0;
    uint64_t w0, w1, w2, w3;

    while (len >= 32) {
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        acc += w0;
        carry += acc < w0;
        acc += w1;
        carry += acc < w1;
        acc += w2;
        carry += acc < w2;
        acc += w3;
        carry += acc < w3;
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        memcpy(&w0, p, 8);
        acc += w0;
        carry += acc < w0;
        p += 8;
        len -= 8;
    }
    if (len) {
        /* Tail of 1..7 bytes: the missing bytes are the zero padding. */
        uint8_t t[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
        memcpy(t, p, len);
        memcpy(&w0, t, 8);
        acc += w0;
        carry += acc < w0;
    }
    /* carry < 2^59, so the three halves cannot overflow 64 bits. */
    return fold16((acc & 0xffffffffu) + (acc >> 32) + carry);
}

/* The same sum over the bytes copied from |src| to |dst| in one pass: the
 * segment builder reads each payload byte once for both. */
static uint32_t copy_sum_native(uint8_t *dst, const uint8_t *src, size_t len)
{
    uint64_t acc = 0, carry = 0;
    uint64_t w0, w1, w2, w3;

    while (len >= 32) {
        /* Word by word (load, store, add): grouped loads and stores get
         * paired into vector moves whose halves then cost extra
         * instructions to reach the adder. */
        memcpy(&w0, src, 8);
        acc += w0;
        carry += acc < w0;
        memcpy(dst, &w0, 8);
        memcpy(&w1, src + 8, 8);
        acc += w1;
        carry += acc < w1;
        memcpy(dst + 8, &w1, 8);
        memcpy(&w2, src + 16, 8);
        acc += w2;
        carry += acc < w2;
        memcpy(dst + 16, &w2, 8);
        memcpy(&w3, src + 24, 8);
        acc += w3;
        carry += acc < w3;
        memcpy(dst + 24, &w3, 8);
        src += 32;
        dst += 32;
        len -= 32;
    }
    while (len >= 8) {
        memcpy(&w0, src, 8);
        memcpy(dst, &w0, 8);
        acc += w0;
        carry += acc < w0;
        src += 8;
        dst += 8;
        len -= 8;
    }
    if (len) {
        uint8_t t[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
        memcpy(t, src, len);
        memcpy(dst, t, len);
        memcpy(&w0, t, 8);
        acc += w0;
        carry += acc < w0;
    }
    return fold16((acc & 0xffffffffu) + (acc >> 32) + carry);
}

uint32_t mptcp_csum_add(uint32_t sum, const void *data, size_t len, size_t offset)
{
    uint32_t s;
    if (len == 0)
        return sum;
    s = sum_native(data, len);
    /* Native words on a little-endian host are byte-swapped network words;
     * a chunk starting at an odd offset has its bytes in the other half of
     * each word. Either swaps the 16-bit sum, both cancel. */
    if (host_le() != ((offset & 1u) != 0))
        s = swap16(s);
    return fold16((uint64_t)sum + s);
}

uint32_t mptcp_csum_copy(uint32_t sum, uint8_t *dst, const uint8_t *src, size_t len,
                         size_t offset)
{
    if (len == 0)
        return sum;
    uint32_t s = copy_sum_native(dst, src, len);
    if (host_le() != ((offset & 1u) != 0))
        s = swap16(s);
    return fold16((uint64_t)sum + s);
}

uint16_t mptcp_csum_fold(uint32_t sum)
{
    return (uint16_t)~fold16(sum);
}

uint16_t mptcp_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
    /* RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). Unlike equation 2 it
     * never produces the -0 (0xffff) that a full recomputation would not. */
    uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_val + new_val;
    return (uint16_t)~fold16(s);
}

int mptcp_csum_pseudo(const mptcp_addr *src, const mptcp_addr *dst, size_t tcp_len,
                      uint32_t *sum)
{
    size_t n;

    if (!src || !dst || !sum || src->family != dst->family)
        return MPTCP_EINVAL;
    if (src->family == MPTCP_AF_INET) {
        /* src(4) dst(4) zero(1) protocol(1) TCP length(2) */
        if (tcp_len > 0xffffu)
            return MPTCP_EINVAL;
        n = 4;
    } else if (src->family == MPTCP_AF_INET6) {
        /* src(16) dst(16) upper-layer length(4) zero(3) next header(1) */
#if SIZE_MAX > 0xffffffffu
        if (tcp_len > 0xffffffffu) /* only where size_t can exceed it */
            return MPTCP_EINVAL;
#endif
        n = 16;
    } else {
        return MPTCP_EINVAL;
    }
    /* Every field is whole 16-bit words, so the sum is taken from the
     * fields as numbers instead of laying them out in a buffer first: the
     * addresses as big-endian 32-bit words (2^16 == 1 modulo 0xffff, so a
     * 32-bit word counts as its two halves), the protocol, and the length
     * (two words for IPv6's 32 bits, one for IPv4's 16). */
    uint64_t w = (uint64_t)MPTCP_IPPROTO_TCP + (tcp_len & 0xffffu) + (tcp_len >> 16);
    for (size_t i = 0; i < n; i += 4)
        w += (uint64_t)mptcp_get_be32(src->ip + i) + mptcp_get_be32(dst->ip + i);
    *sum = fold16(w);
    return 0;
}

int mptcp_tcp_csum_fill(uint8_t *seg, size_t len, const mptcp_addr *src, const mptcp_addr *dst)
{
    uint32_t sum;
    int rc;

    if (!seg || len < MPTCP_TCP_HDR_LEN)
        return MPTCP_EINVAL;
    rc = mptcp_csum_pseudo(src, dst, len, &sum);
    if (rc)
        return rc;
    /* RFC 9293 section 3.1: the checksum field counts as zero while summing. */
    seg[MPTCP_TCP_CSUM_OFF] = 0;
    seg[MPTCP_TCP_CSUM_OFF + 1] = 0;
    sum = mptcp_csum_add(sum, seg, len, 0);
    mptcp_put_be16(seg + MPTCP_TCP_CSUM_OFF, mptcp_csum_fold(sum));
    return 0;
}

void mptcp_tcp_csum_fill_payload(uint8_t *seg, size_t len, size_t hlen, uint32_t payload_sum,
                                 const mptcp_addr *src, const mptcp_addr *dst)
{
    uint32_t sum;

    if (mptcp_csum_pseudo(src, dst, len, &sum) != 0)
        return;
    seg[MPTCP_TCP_CSUM_OFF] = 0;
    seg[MPTCP_TCP_CSUM_OFF + 1] = 0;
    sum = mptcp_csum_add(sum, seg, hlen, 0);
    mptcp_put_be16(seg + MPTCP_TCP_CSUM_OFF, mptcp_csum_fold(sum + payload_sum));
}

bool mptcp_tcp_csum_ok(const uint8_t *seg, size_t len, const mptcp_addr *src,
                       const mptcp_addr *dst)
{
    uint32_t sum;

    if (!seg || len < MPTCP_TCP_HDR_LEN || mptcp_csum_pseudo(src, dst, len, &sum) != 0)
        return false;
    /* Summed with the checksum in place, a correct segment gives -0. */
    return mptcp_csum_fold(mptcp_csum_add(sum, seg, len, 0)) == 0;
}

uint32_t mptcp_dss_csum_begin(uint64_t dsn, uint32_t ssn, uint16_t data_len)
{
    uint8_t ph[16];
    /* Section 3.3.1: the DSN is always the full 64 bits here, even when the
     * option carried 32; the checksum field's place is summed as zero. */
    mptcp_put_be64(ph, dsn);
    mptcp_put_be32(ph + 8, ssn);
    mptcp_put_be16(ph + 12, data_len);
    ph[14] = 0;
    ph[15] = 0;
    return mptcp_csum_add(0, ph, sizeof(ph), 0);
}

uint16_t mptcp_dss_csum(uint64_t dsn, uint32_t ssn, uint16_t data_len, const uint8_t *payload,
                        size_t len)
{
    uint32_t sum = mptcp_dss_csum_begin(dsn, ssn, data_len);
    return mptcp_csum_fold(mptcp_csum_add(sum, payload, len, 0));
}
