/*
 * wire_tcp.h - internal interface of wire_tcp.c: the fixed TCP header and the
 * TCP options other than MPTCP (RFC 9293, RFC 7323, RFC 2018, RFC 7413).
 */
#ifndef MPTCP_WIRE_TCP_H
#define MPTCP_WIRE_TCP_H

#include "common.h"

/* Every MPTCP_TCPO_* bit a writer understands (EOL is parse-only). */
#define MPTCP_WIRE_TCPO_WRITABLE                                                         \
    (MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_SACK |     \
     MPTCP_TCPO_TS | MPTCP_TCPO_TFO)

/* Decodes the 20-byte fixed header; |len| must be at least 20. doff is in
 * bytes and not validated here (mptcp_seg_parse does that). */
void mptcp_wire_tcp_hdr_parse(const uint8_t *p, mptcp_tcp_hdr *h);
/* Encodes the fixed header (20 bytes) with data offset |doff| bytes. */
void mptcp_wire_tcp_hdr_write(uint8_t *p, const mptcp_tcp_hdr *h, size_t doff);

/*
 * Called by the option walker for every option it does not decode itself
 * (MPTCP, unknown kinds): |opt| points at the kind byte, |optlen| is the
 * length byte (>= 2, within the option area), |off| the offset of the kind
 * byte from the start of the option area.
 */
typedef void (*mptcp_wire_tcp_other_fn)(void *ctx, const uint8_t *opt, uint8_t optlen,
                                        size_t off);

/*
 * Walks the option area |p|..|p|+|len|: decodes MSS, WS, SACK-permitted, SACK,
 * timestamps and TFO into |o| (malformed or repeated ones go to o->bad),
 * hands every other option to |other| (may be NULL). Stops at EOL. Returns
 * 0, or MPTCP_EBADLEN when an option's length is below 2, runs past |len|,
 * or is missing (a kind byte is the last byte of the area).
 */
int mptcp_wire_tcp_opts_parse(const uint8_t *p, size_t len, mptcp_tcp_opts *o,
                              mptcp_wire_tcp_other_fn other, void *ctx);

/* Checks the option values a writer would use for |bits| (SACK count 1..4,
 * TFO cookie length 0 or 4..16). Returns 0 or MPTCP_EINVAL. */
int mptcp_wire_tcp_opts_check(const mptcp_tcp_opts *o, uint32_t bits, uint8_t sack_count);

/* Bytes (a multiple of 4) the options in |bits| take in the conventional
 * layout; |sack_count| blocks from o->sack when MPTCP_TCPO_SACK is set. */
size_t mptcp_wire_tcp_opts_len(const mptcp_tcp_opts *o, uint32_t bits, uint8_t sack_count);

/* Writes them; |dst| must hold mptcp_wire_tcp_opts_len() bytes. Returns it. */
size_t mptcp_wire_tcp_opts_write(uint8_t *dst, const mptcp_tcp_opts *o, uint32_t bits,
                                 uint8_t sack_count);

#endif /* MPTCP_WIRE_TCP_H */
