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

#endif /* MPTCP_WIRE_MPTCP_H */
