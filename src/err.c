/*
 * err.c - names of the MPTCP_E* codes. Every code in mptcp.h has a case here;
 * tests/test_err.c checks that each one has a distinct, non-generic name.
 */
#include "common.h"

const char *mptcp_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case MPTCP_EINVAL: return "MPTCP_EINVAL: invalid argument";
    case MPTCP_ESTATE: return "MPTCP_ESTATE: not allowed in this state";
    case MPTCP_EAGAIN: return "MPTCP_EAGAIN: try again later";
    case MPTCP_ENOBUF: return "MPTCP_ENOBUF: buffer too small";
    case MPTCP_EADDRINUSE: return "MPTCP_EADDRINUSE: address in use";
    case MPTCP_ENOTFOUND: return "MPTCP_ENOTFOUND: not found";
    case MPTCP_ELIMIT: return "MPTCP_ELIMIT: limit reached";
    case MPTCP_ECLOSED: return "MPTCP_ECLOSED: connection closed";
    case MPTCP_EBUSY: return "MPTCP_EBUSY: not allowed from a callback";
    case MPTCP_EMALFORMED: return "MPTCP_EMALFORMED: malformed input";
    case MPTCP_ETRUNCATED: return "MPTCP_ETRUNCATED: input ends too early";
    case MPTCP_EBADLEN: return "MPTCP_EBADLEN: length not allowed";
    case MPTCP_EBADFLAGS: return "MPTCP_EBADFLAGS: flag combination not allowed";
    case MPTCP_EBADVERSION: return "MPTCP_EBADVERSION: unsupported MPTCP version";
    case MPTCP_EBADDOFF: return "MPTCP_EBADDOFF: bad TCP data offset";
    case MPTCP_ENOSPACE: return "MPTCP_ENOSPACE: exceeds the TCP option space";
    case MPTCP_EBADFORM: return "MPTCP_EBADFORM: option form not allowed with these TCP flags";
    case MPTCP_EBADVALUE: return "MPTCP_EBADVALUE: field value out of range";
    case MPTCP_ENOMEM: return "MPTCP_ENOMEM: out of memory";
    case MPTCP_EINTERNAL: return "MPTCP_EINTERNAL: internal error";
    default: return "unknown error code";
    }
}

bool mptcp_err_is_fatal(int err)
{
    return err < MPTCP_EFATAL;
}
