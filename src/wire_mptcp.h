/*
 * wire_mptcp.h - internal helpers of wire_mptcp.c (the public codec calls
 * mptcp_opt_parse/len/write/form_name are declared in mptcp.h).
 */
#ifndef MPTCP_WIRE_MPTCP_H
#define MPTCP_WIRE_MPTCP_H

#include "common.h"

/* The MPTCP subtype a form is written with (MPTCP_SUB_*), 0xff for none. */
uint8_t mptcp_wire_mptcp_subtype(mptcp_opt_form form);

/* True for the MP_CAPABLE forms (v1 and v0). */
bool mptcp_wire_mptcp_is_mpc(mptcp_opt_form form);
/* True for the MP_JOIN forms. */
bool mptcp_wire_mptcp_is_join(mptcp_opt_form form);

/* The DSS of |n| bytes at |p| (n = its length byte, at most the bytes
 * there) into |d|, every field set (those the flags leave out to zero):
 * the checks and result of mptcp_opt_parse for a DSS, without an
 * mptcp_opt. 0 or a negative MPTCP_E* code. */
int mptcp_wire_dss_parse(const uint8_t *p, uint8_t n, mptcp_opt_dss *d);

/* The DSS forms an established subflow sends (RFC 8684 3.3), written in
 * place, byte for byte what mptcp_opt_write writes for the same fields:
 * the 4-byte DATA_ACK alone (8 bytes), or with a mapping with a 64-bit DSN
 * (22 bytes, 24 with the checksum). They return the bytes written, 0 when
 * they do not fit in |cap| or (a DATA_FIN on a mapping of length 0) the
 * option is invalid. */
size_t mptcp_wire_dss_ack_write(uint8_t *dst, size_t cap, uint32_t data_ack);
size_t mptcp_wire_dss_map_write(uint8_t *dst, size_t cap, uint32_t data_ack, uint64_t dsn,
                                uint32_t ssn, uint16_t data_len, bool fin, bool has_csum,
                                uint16_t csum);

#endif /* MPTCP_WIRE_MPTCP_H */
