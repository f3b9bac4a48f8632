/*
 * crypto.h - internal helpers next to the public MPTCP derivations of
 * mptcp.h section 3 (mptcp_key_derive, mptcp_join_hmac, mptcp_join_thmac,
 * mptcp_add_addr_hmac).
 */
#ifndef MPTCP_CRYPTO_H
#define MPTCP_CRYPTO_H

#include "common.h"

/* Compares |n| bytes in time independent of where they differ, for checking
 * a received MP_JOIN HMAC (RFC 8684 section 3.2) without leaking a prefix
 * match through timing. True when equal. */
bool mptcp_crypto_equal(const void *a, const void *b, size_t n);

/* Same for two 64-bit truncated HMACs (MP_JOIN SYN/ACK, ADD_ADDR). */
bool mptcp_crypto_equal64(uint64_t a, uint64_t b);

#endif /* MPTCP_CRYPTO_H */
