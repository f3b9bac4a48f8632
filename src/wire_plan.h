/*
 * wire_plan.h - internal interface of wire_plan.c (mptcp_opt_plan_fit is
 * declared in mptcp.h). Nothing here yet beyond the public call.
 */
#ifndef MPTCP_WIRE_PLAN_H
#define MPTCP_WIRE_PLAN_H

#include "common.h"

/* Most MPTCP options one plan can consider (bits of mptcp_opt_plan.mptcp_fit). */
#define MPTCP_WIRE_PLAN_MAX 32

#endif /* MPTCP_WIRE_PLAN_H */
