/*
 * hmac.h - HMAC (RFC 2104) over SHA-1 and SHA-256. The one-shot functions
 * mptcp_hmac_sha1() and mptcp_hmac_sha256() are public in mptcp.h; this
 * header adds the message-in-pieces form crypto.c uses so that MPTCP inputs
 * (keys, nonces, addresses) need no concatenation buffer.
 */
#ifndef MPTCP_HMAC_H
#define MPTCP_HMAC_H

#include "common.h"

/* One piece of an HMAC message. */
typedef struct mptcp_hmac_part {
    const uint8_t *p;
    size_t len;
} mptcp_hmac_part;

/* HMAC over the concatenation of |n| parts; identical to the one-shot
 * functions over the joined bytes. |key| may be any length. */
void mptcp_hmac_sha256_parts(const uint8_t *key, size_t key_len, const mptcp_hmac_part *parts,
                             size_t n, uint8_t out[MPTCP_SHA256_LEN]);
void mptcp_hmac_sha1_parts(const uint8_t *key, size_t key_len, const mptcp_hmac_part *parts,
                           size_t n, uint8_t out[MPTCP_SHA1_LEN]);

#endif /* MPTCP_HMAC_H */
