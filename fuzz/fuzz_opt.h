/*
 * fuzz_opt.h - helpers shared by the codec fuzz targets: fuzz_opt_diff
 * compares two decoded MPTCP options field by field, looking only at the
 * fields that the form carries on the wire (RFC 8684 section 3 layouts);
 * fuzz_opt_take builds an option struct of any form from fuzz input.
 */
#ifndef MPTCP_FUZZ_OPT_H
#define MPTCP_FUZZ_OPT_H

#include "fuzz_input.h"
#include "mptcp.h"

#define DIFF(field)                                                             \
    do {                                                                        \
        if ((a->field) != (b->field))                                           \
            return #field;                                                      \
    } while (0)

/* Returns NULL when |a| and |b| carry the same option, else the name of
 * the first field that differs. 32-bit DSS sequence numbers compare on
 * their low 32 bits, which is all the wire carries. */
static inline const char *fuzz_opt_diff(const mptcp_opt *a, const mptcp_opt *b)
{
    DIFF(form);
    switch (a->form) {
    case MPTCP_OPT_MPC_SYN:
    case MPTCP_OPT_MPC_SYNACK:
    case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA:
    case MPTCP_OPT_MPC_V0_SYN:
    case MPTCP_OPT_MPC_V0_ACK:
        DIFF(u.mpc.version);
        DIFF(u.mpc.flags);
        if (a->form != MPTCP_OPT_MPC_SYN)
            DIFF(u.mpc.snd_key);
        if (a->form == MPTCP_OPT_MPC_ACK || a->form == MPTCP_OPT_MPC_DATA ||
            a->form == MPTCP_OPT_MPC_V0_ACK)
            DIFF(u.mpc.rcv_key);
        if (a->form == MPTCP_OPT_MPC_DATA) {
            DIFF(u.mpc.data_len);
            DIFF(u.mpc.has_csum);
            if (a->u.mpc.has_csum)
                DIFF(u.mpc.csum);
        }
        return NULL;
    case MPTCP_OPT_JOIN_SYN:
    case MPTCP_OPT_JOIN_SYNACK:
        DIFF(u.join.backup);
        DIFF(u.join.addr_id);
        DIFF(u.join.nonce);
        if (a->form == MPTCP_OPT_JOIN_SYN)
            DIFF(u.join.token);
        else
            DIFF(u.join.thmac);
        return NULL;
    case MPTCP_OPT_JOIN_ACK:
        if (memcmp(a->u.join.hmac, b->u.join.hmac, sizeof a->u.join.hmac) != 0)
            return "u.join.hmac";
        return NULL;
    case MPTCP_OPT_DSS:
        DIFF(u.dss.has_ack);
        if (a->u.dss.has_ack) {
            DIFF(u.dss.ack64);
            if (a->u.dss.ack64)
                DIFF(u.dss.data_ack);
            else if ((uint32_t)a->u.dss.data_ack != (uint32_t)b->u.dss.data_ack)
                return "u.dss.data_ack (low 32 bits)";
        }
        DIFF(u.dss.has_map);
        DIFF(u.dss.fin);
        if (a->u.dss.has_map) {
            DIFF(u.dss.dsn64);
            if (a->u.dss.dsn64)
                DIFF(u.dss.dsn);
            else if ((uint32_t)a->u.dss.dsn != (uint32_t)b->u.dss.dsn)
                return "u.dss.dsn (low 32 bits)";
            DIFF(u.dss.ssn);
            DIFF(u.dss.data_len);
            DIFF(u.dss.has_csum);
            if (a->u.dss.has_csum)
                DIFF(u.dss.csum);
        }
        return NULL;
    case MPTCP_OPT_ADD_ADDR:
        DIFF(u.add_addr.echo);
        DIFF(u.add_addr.addr_id);
        DIFF(u.add_addr.addr.family);
        DIFF(u.add_addr.addr.port);
        if (memcmp(a->u.add_addr.addr.ip, b->u.add_addr.addr.ip,
                   a->u.add_addr.addr.family == MPTCP_AF_INET ? 4 : 16) != 0)
            return "u.add_addr.addr.ip";
        if (!a->u.add_addr.echo)
            DIFF(u.add_addr.hmac);
        return NULL;
    case MPTCP_OPT_REMOVE_ADDR:
        DIFF(u.rm_addr.count);
        if (a->u.rm_addr.count <= MPTCP_RM_ADDR_MAX &&
            memcmp(a->u.rm_addr.ids, b->u.rm_addr.ids, a->u.rm_addr.count) != 0)
            return "u.rm_addr.ids";
        return NULL;
    case MPTCP_OPT_PRIO:
        DIFF(u.prio.backup);
        DIFF(u.prio.has_addr_id);
        if (a->u.prio.has_addr_id)
            DIFF(u.prio.addr_id);
        return NULL;
    case MPTCP_OPT_FAIL:
        DIFF(u.fail.dsn);
        return NULL;
    case MPTCP_OPT_FASTCLOSE:
        DIFF(u.fastclose.rcv_key);
        return NULL;
    case MPTCP_OPT_TCPRST:
        if ((a->u.tcprst.flags & 0xf) != (b->u.tcprst.flags & 0xf))
            return "u.tcprst.flags (low nibble)";
        DIFF(u.tcprst.reason);
        return NULL;
    case MPTCP_OPT_EXPERIMENTAL:
        if ((a->u.exp.nibble & 0xf) != (b->u.exp.nibble & 0xf))
            return "u.exp.nibble (low nibble)";
        DIFF(u.exp.len);
        if (a->u.exp.len <= MPTCP_EXP_DATA_MAX &&
            memcmp(a->u.exp.data, b->u.exp.data, a->u.exp.len) != 0)
            return "u.exp.data";
        return NULL;
    default:
        return "form (not a valid form)";
    }
}
#undef DIFF

/* Fills |o| (all of it, so no field is left indeterminate) with a form and
 * field values chosen by the input. Values are mostly in range; a "wild"
 * bit lets some fields go out of range, to probe the writer's checks. */
static inline void fuzz_opt_take(fuzz_input *in, mptcp_opt *o)
{
    memset(o, 0, sizeof *o);
    uint8_t sel = take_u8(in);
    bool wild = (sel & 0x80) != 0;
    o->form = (mptcp_opt_form)((sel & 0x7f) % MPTCP_OPT_FORM_COUNT);
    switch (o->form) {
    case MPTCP_OPT_MPC_SYN:
    case MPTCP_OPT_MPC_SYNACK:
    case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA:
    case MPTCP_OPT_MPC_V0_SYN:
    case MPTCP_OPT_MPC_V0_ACK: {
        bool v0 = o->form == MPTCP_OPT_MPC_V0_SYN || o->form == MPTCP_OPT_MPC_V0_ACK;
        o->u.mpc.version = wild ? take_u8(in) : (v0 ? 0 : 1);
        o->u.mpc.flags = take_u8(in);
        o->u.mpc.snd_key = take_u64(in);
        o->u.mpc.rcv_key = take_u64(in);
        o->u.mpc.data_len = take_u16(in);
        o->u.mpc.has_csum = take_bool(in);
        o->u.mpc.csum = take_u16(in);
        break;
    }
    case MPTCP_OPT_JOIN_SYN:
    case MPTCP_OPT_JOIN_SYNACK:
    case MPTCP_OPT_JOIN_ACK:
        o->u.join.backup = take_bool(in);
        o->u.join.addr_id = take_u8(in);
        o->u.join.token = take_u32(in);
        o->u.join.nonce = take_u32(in);
        o->u.join.thmac = take_u64(in);
        take_bytes(in, o->u.join.hmac, sizeof o->u.join.hmac);
        break;
    case MPTCP_OPT_DSS: {
        uint8_t f = take_u8(in);
        o->u.dss.has_ack = f & MPTCP_DSS_A;
        o->u.dss.ack64 = f & MPTCP_DSS_a;
        o->u.dss.has_map = f & MPTCP_DSS_M;
        o->u.dss.dsn64 = f & MPTCP_DSS_m;
        o->u.dss.fin = f & MPTCP_DSS_F;
        o->u.dss.has_csum = f & 0x20;
        o->u.dss.data_ack = take_u64(in);
        o->u.dss.dsn = take_u64(in);
        o->u.dss.ssn = take_u32(in);
        o->u.dss.data_len = take_u16(in);
        o->u.dss.csum = take_u16(in);
        break;
    }
    case MPTCP_OPT_ADD_ADDR: {
        uint8_t f = take_u8(in);
        o->u.add_addr.echo = f & 1;
        o->u.add_addr.addr_id = take_u8(in);
        o->u.add_addr.addr.family = wild ? take_u8(in) : (f & 2) ? MPTCP_AF_INET6 : MPTCP_AF_INET;
        o->u.add_addr.addr.port = (f & 4) ? take_u16(in) : 0;
        take_bytes(in, o->u.add_addr.addr.ip,
                   o->u.add_addr.addr.family == MPTCP_AF_INET && !wild ? 4 : 16);
        o->u.add_addr.hmac = take_u64(in);
        break;
    }
    case MPTCP_OPT_REMOVE_ADDR:
        o->u.rm_addr.count = wild ? take_u8(in) : (uint8_t)take_range(in, 1, MPTCP_RM_ADDR_MAX);
        take_bytes(in, o->u.rm_addr.ids, sizeof o->u.rm_addr.ids);
        break;
    case MPTCP_OPT_PRIO:
        o->u.prio.backup = take_bool(in);
        o->u.prio.has_addr_id = take_bool(in);
        o->u.prio.addr_id = take_u8(in);
        break;
    case MPTCP_OPT_FAIL:
        o->u.fail.dsn = take_u64(in);
        break;
    case MPTCP_OPT_FASTCLOSE:
        o->u.fastclose.rcv_key = take_u64(in);
        break;
    case MPTCP_OPT_TCPRST:
        o->u.tcprst.flags = wild ? take_u8(in) : take_u8(in) & 0xf;
        o->u.tcprst.reason = take_u8(in);
        break;
    case MPTCP_OPT_EXPERIMENTAL:
        o->u.exp.nibble = wild ? take_u8(in) : take_u8(in) & 0xf;
        o->u.exp.len = wild ? take_u8(in) : (uint8_t)take_range(in, 0, MPTCP_EXP_DATA_MAX);
        take_bytes(in, o->u.exp.data, sizeof o->u.exp.data);
        break;
    default:
        break; /* MPTCP_OPT_NONE: the writer must refuse it */
    }
}

#endif /* MPTCP_FUZZ_OPT_H */
