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
 * order (no per-word shifts) and 32-bit words are added into a 64-bit
 * accumulator, which cannot overflow before 2^32 words.
 */
static uint32_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;
    uint32_t w0, w1, w2, w3;

    while (len >= 16) {
        memcpy(&w0, p, 4);
        memcpy(&w1, p + 4, 4);
        memcpy(&w2, p + 8, 4);
        memcpy(&w3, p + 12, 4);
        acc += (uint64_t)w0 + w1 + w2 + w3;
        p += 16;
        len -= 16;
    }
    while (len >= 4) {
        memcpy(&w0, p, 4);
        acc += w0;
        p += 4;
        len -= 4;
    }
    if (len) {
        /* Tail of 1..3 bytes: the missing bytes are the zero padding. */
        uint8_t t[4] = { 0, 0, 0, 0 };
        memcpy(t, p, len);
        memcpy(&w0, t, 4);
        acc += w0;
    }
    return fold16(acc);
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
    uint8_t ph[40];
    size_t n;

    if (!src || !dst || !sum || src->family != dst->family)
        return MPTCP_EINVAL;
    if (src->family == MPTCP_AF_INET) {
        /* src(4) dst(4) zero(1) protocol(1) TCP length(2) */
        if (tcp_len > 0xffffu)
            return MPTCP_EINVAL;
        memcpy(ph, src->ip, 4);
        memcpy(ph + 4, dst->ip, 4);
        ph[8] = 0;
        ph[9] = MPTCP_IPPROTO_TCP;
        mptcp_put_be16(ph + 10, (uint16_t)tcp_len);
        n = 12;
    } else if (src->family == MPTCP_AF_INET6) {
        /* src(16) dst(16) upper-layer length(4) zero(3) next header(1) */
#if SIZE_MAX > 0xffffffffu
        if (tcp_len > 0xffffffffu) /* only where size_t can exceed it */
            return MPTCP_EINVAL;
#endif
        memcpy(ph, src->ip, 16);
        memcpy(ph + 16, dst->ip, 16);
        mptcp_put_be32(ph + 32, (uint32_t)tcp_len);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = MPTCP_IPPROTO_TCP;
        n = 40;
    } else {
        return MPTCP_EINVAL;
    }
    *sum = mptcp_csum_add(0, ph, n, 0);
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
