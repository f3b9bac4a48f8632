/*
 * isn.c - initial sequence numbers per RFC 6528 section 3:
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), with M a
 * timer ticking every 4 microseconds (taken from the caller's now_us, never
 * a clock read) and F the first 32 bits of SHA-256 over the 4-tuple and the
 * stack's 256-bit secret (drawn from cb.random at stack creation). It does
 * not pick the secret or remember anything between calls.
 */
#include "sha256.h"
#include "tcp.h"

static void put_addr(mptcp_sha256_ctx *h, const mptcp_addr *a)
{
    uint8_t port[2];
    mptcp_put_be16(port, a->port);
    mptcp_sha256_update(h, &a->family, 1);
    mptcp_sha256_update(h, a->ip, a->family == MPTCP_AF_INET ? 4 : 16);
    mptcp_sha256_update(h, port, 2);
}

uint32_t mptcp_isn_generate(const uint8_t secret[32], const mptcp_addr *local,
                            const mptcp_addr *remote, uint64_t now_us)
{
    mptcp_sha256_ctx h;
    uint8_t digest[MPTCP_SHA256_LEN];
    mptcp_sha256_init(&h);
    put_addr(&h, local);
    put_addr(&h, remote);
    mptcp_sha256_update(&h, secret, 32);
    mptcp_sha256_final(&h, digest);
    return (uint32_t)(now_us / 4) + mptcp_get_be32(digest);
}
