/*
 * crypto.c - the MPTCP uses of the hashes: key -> token and IDSN
 * (RFC 8684 section 3.1; RFC 6824 section 3.1 for v0), the MP_JOIN HMACs
 * (RFC 8684 section 3.2) and the ADD_ADDR HMAC (RFC 8684 section 3.4.1).
 * Owns which bytes go in and which bits come out; the primitives are in
 * sha1.c, sha256.c, hmac.c. No state: keys and nonces come from the caller.
 */
#include "crypto.h"
#include "hmac.h"
#include "sha1.h"
#include "sha256.h"

void mptcp_key_derive(int version, uint64_t key, uint32_t *token, uint64_t *idsn)
{
    uint8_t in[8];
    uint8_t d[MPTCP_SHA256_LEN];
    size_t dlen;

    /* Section 3.1: the key is hashed in network byte order; the token is the
     * most significant 32 bits of the digest, the IDSN the least
     * significant 64 (for SHA-1 that is bytes 12..19 of 20). */
    mptcp_put_be64(in, key);
    if (version == 0) {
        mptcp_sha1(in, sizeof(in), d);
        dlen = MPTCP_SHA1_LEN;
    } else {
        mptcp_sha256(in, sizeof(in), d);
        dlen = MPTCP_SHA256_LEN;
    }
    if (token)
        *token = mptcp_get_be32(d);
    if (idsn)
        *idsn = mptcp_get_be64(d + dlen - 8);
}

/* The 16-byte HMAC key of sections 3.2 and 3.4.1: the sender's key first. */
static void key_pair(uint8_t k[16], uint64_t first, uint64_t second)
{
    mptcp_put_be64(k, first);
    mptcp_put_be64(k + 8, second);
}

void mptcp_join_hmac(int version, uint64_t own_key, uint64_t peer_key, uint32_t own_nonce,
                     uint32_t peer_nonce, uint8_t out[20])
{
    uint8_t k[16], msg[8];

    /* Section 3.2: HMAC(Key=(Key-B + Key-A), Msg=(R-B + R-A)) for the
     * responder and the mirror image for the initiator: in each direction
     * the sender's own key and nonce come first. */
    key_pair(k, own_key, peer_key);
    mptcp_put_be32(msg, own_nonce);
    mptcp_put_be32(msg + 4, peer_nonce);
    if (version == 0) {
        /* RFC 6824: HMAC-SHA1, whose 160 bits are exactly the ACK field. */
        mptcp_hmac_sha1(k, sizeof(k), msg, sizeof(msg), out);
    } else {
        uint8_t full[MPTCP_SHA256_LEN];
        mptcp_hmac_sha256(k, sizeof(k), msg, sizeof(msg), full);
        memcpy(out, full, 20); /* the third ACK carries the leftmost 160 bits */
    }
}

uint64_t mptcp_join_thmac(int version, uint64_t own_key, uint64_t peer_key, uint32_t own_nonce,
                          uint32_t peer_nonce)
{
    uint8_t h[20];
    mptcp_join_hmac(version, own_key, peer_key, own_nonce, peer_nonce, h);
    return mptcp_get_be64(h); /* the SYN/ACK's leftmost 64 bits */
}

uint64_t mptcp_add_addr_hmac(uint64_t sender_key, uint64_t receiver_key, uint8_t addr_id,
                             const mptcp_addr *addr)
{
    uint8_t k[16], id = addr_id, port[2];
    uint8_t h[MPTCP_SHA256_LEN];
    size_t alen;

    if (!addr)
        return 0;
    if (addr->family == MPTCP_AF_INET)
        alen = 4;
    else if (addr->family == MPTCP_AF_INET6)
        alen = 16;
    else
        return 0;
    /* Section 3.4.1: Msg = Address ID || IP Address || Port; the port is
     * part of the message even when the option carries none (then it is
     * zero), as the Linux kernel also computes it. */
    key_pair(k, sender_key, receiver_key);
    mptcp_put_be16(port, addr->port);
    const mptcp_hmac_part parts[3] = { { &id, 1 }, { addr->ip, alen }, { port, 2 } };
    mptcp_hmac_sha256_parts(k, sizeof(k), parts, 3, h);
    /* The option carries the rightmost 64 bits, unlike MP_JOIN's leftmost. */
    return mptcp_get_be64(h + MPTCP_SHA256_LEN - 8);
}

bool mptcp_crypto_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

bool mptcp_crypto_equal64(uint64_t a, uint64_t b)
{
    uint64_t d = a ^ b;
    /* Fold to one bit without a data-dependent branch. */
    d |= d >> 32;
    d |= d >> 16;
    d |= d >> 8;
    d |= d >> 4;
    d |= d >> 2;
    d |= d >> 1;
    return (d & 1u) == 0;
}
