/*
 * wire_seg.h - internal helpers of wire_seg.c (mptcp_seg_parse and
 * mptcp_seg_write are declared in mptcp.h).
 */
#ifndef MPTCP_WIRE_SEG_H
#define MPTCP_WIRE_SEG_H

#include "common.h"

/*
 * Whether MPTCP option form |form| may appear on a segment with TCP flags
 * |flags| (MPTCP_TH_*) and |payload_len| bytes of payload. Returns 0 or
 * MPTCP_EBADFORM. The rules are listed in docs/wire.md.
 */
int mptcp_wire_seg_check_form(mptcp_opt_form form, uint16_t flags, size_t payload_len);

/* Option bytes (padded to a multiple of 4) of |n| MPTCP options of total
 * unpadded length |mptcp_len| after |tcp_len| bytes of TCP options. */
static inline size_t mptcp_wire_seg_opt_space(size_t tcp_len, size_t mptcp_len)
{
    return tcp_len + ((mptcp_len + 3) & ~(size_t)3);
}

#endif /* MPTCP_WIRE_SEG_H */
