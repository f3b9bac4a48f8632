/*
 * wire_mptcp.c - every MPTCP option (TCP option kind 30): strict parse into
 * mptcp_opt, exact length, write, names. Owns the per-option rules (lengths,
 * versions, flag combinations); does not know TCP flags or segment context
 * (wire_seg.c cross-checks forms against SYN/ACK/RST) nor any state.
 * Implements RFC 8684 §3.1 (MP_CAPABLE), §3.2 (MP_JOIN), §3.3 (DSS),
 * §3.4.1-2 (ADD_ADDR, REMOVE_ADDR), §3.3.8 (MP_PRIO), §3.5 (MP_FASTCLOSE),
 * §3.6 (MP_TCPRST), §3.7 (MP_FAIL), §3.8 (MP_EXPERIMENTAL), and the RFC 6824
 * (v0) MP_CAPABLE and MP_PRIO forms. docs/wire.md lists our strict readings.
 */
#include "wire_mptcp.h"

#define OPT_MAX MPTCP_TCP_OPT_SPACE

/* A switch, not a table of pointers: under -fPIC a pointer table lands in
 * writable relocated data (.data.rel.ro), which `make lint` forbids. */
const char *mptcp_opt_form_name(mptcp_opt_form form)
{
    switch (form) {
    case MPTCP_OPT_NONE: return "none";
    case MPTCP_OPT_MPC_SYN: return "MP_CAPABLE SYN";
    case MPTCP_OPT_MPC_SYNACK: return "MP_CAPABLE SYN/ACK";
    case MPTCP_OPT_MPC_ACK: return "MP_CAPABLE ACK";
    case MPTCP_OPT_MPC_DATA: return "MP_CAPABLE ACK+data";
    case MPTCP_OPT_MPC_V0_SYN: return "MP_CAPABLE v0 SYN";
    case MPTCP_OPT_MPC_V0_ACK: return "MP_CAPABLE v0 ACK";
    case MPTCP_OPT_JOIN_SYN: return "MP_JOIN SYN";
    case MPTCP_OPT_JOIN_SYNACK: return "MP_JOIN SYN/ACK";
    case MPTCP_OPT_JOIN_ACK: return "MP_JOIN ACK";
    case MPTCP_OPT_DSS: return "DSS";
    case MPTCP_OPT_ADD_ADDR: return "ADD_ADDR";
    case MPTCP_OPT_REMOVE_ADDR: return "REMOVE_ADDR";
    case MPTCP_OPT_PRIO: return "MP_PRIO";
    case MPTCP_OPT_FAIL: return "MP_FAIL";
    case MPTCP_OPT_FASTCLOSE: return "MP_FASTCLOSE";
    case MPTCP_OPT_TCPRST: return "MP_TCPRST";
    case MPTCP_OPT_EXPERIMENTAL: return "MP_EXPERIMENTAL";
    default: return "invalid";
    }
}

uint8_t mptcp_wire_mptcp_subtype(mptcp_opt_form form)
{
    switch (form) {
    case MPTCP_OPT_MPC_SYN: case MPTCP_OPT_MPC_SYNACK: case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA: case MPTCP_OPT_MPC_V0_SYN: case MPTCP_OPT_MPC_V0_ACK:
        return MPTCP_SUB_CAPABLE;
    case MPTCP_OPT_JOIN_SYN: case MPTCP_OPT_JOIN_SYNACK: case MPTCP_OPT_JOIN_ACK:
        return MPTCP_SUB_JOIN;
    case MPTCP_OPT_DSS: return MPTCP_SUB_DSS;
    case MPTCP_OPT_ADD_ADDR: return MPTCP_SUB_ADD_ADDR;
    case MPTCP_OPT_REMOVE_ADDR: return MPTCP_SUB_REMOVE_ADDR;
    case MPTCP_OPT_PRIO: return MPTCP_SUB_PRIO;
    case MPTCP_OPT_FAIL: return MPTCP_SUB_FAIL;
    case MPTCP_OPT_FASTCLOSE: return MPTCP_SUB_FASTCLOSE;
    case MPTCP_OPT_TCPRST: return MPTCP_SUB_TCPRST;
    case MPTCP_OPT_EXPERIMENTAL: return MPTCP_SUB_EXPERIMENTAL;
    default: return 0xff;
    }
}

bool mptcp_wire_mptcp_is_mpc(mptcp_opt_form form)
{
    return mptcp_wire_mptcp_subtype(form) == MPTCP_SUB_CAPABLE;
}

bool mptcp_wire_mptcp_is_join(mptcp_opt_form form)
{
    return mptcp_wire_mptcp_subtype(form) == MPTCP_SUB_JOIN;
}

/* RFC 8684 §3.1: B set means an extension we do not know, so the option
 * "MUST be silently ignored"; H is the only algorithm we have, and with no
 * crypto bit at all the option is invalid. Other crypto bits beside H (D..G
 * in v1, C..G in v0, RFC 6824 §3.1) are an offer of algorithms we may
 * decline, so they are kept as found (Linux instead ignores such an option:
 * docs/wire.md). */
static bool mpc_flags_ok(uint8_t flags)
{
    return !(flags & MPTCP_MPC_B) && (flags & MPTCP_MPC_H);
}

/* ---------------------------------------------------------------- parse */

static int parse_mpc(const uint8_t *p, uint8_t n, mptcp_opt *o)
{
    uint8_t ver = p[2] & 0x0f;
    mptcp_opt_mpc *m = &o->u.mpc;

    /* RFC 8684 §3.1 (Figure 4): the length alone tells the v1 form; v0
     * (RFC 6824 §3.1) has only 12 (SYN, SYN/ACK) and 20 (ACK). */
    switch (n) {
    case 4:
        if (ver == 0)
            return MPTCP_EBADLEN;
        /* Linux answers any SYN version >= 1 with v1: keep it for the caller. */
        o->form = MPTCP_OPT_MPC_SYN;
        break;
    case 12:
    case 20:
        if (ver > 1)
            return MPTCP_EBADVERSION;
        if (n == 12)
            o->form = ver ? MPTCP_OPT_MPC_SYNACK : MPTCP_OPT_MPC_V0_SYN;
        else
            o->form = ver ? MPTCP_OPT_MPC_ACK : MPTCP_OPT_MPC_V0_ACK;
        break;
    case 22:
    case 24:
        if (ver == 0)
            return MPTCP_EBADLEN;
        if (ver != 1)
            return MPTCP_EBADVERSION;
        o->form = MPTCP_OPT_MPC_DATA;
        break;
    default:
        return MPTCP_EBADLEN;
    }
    if (!mpc_flags_ok(p[3]))
        return MPTCP_EBADFLAGS;
    m->version = ver;
    m->flags = p[3];
    if (n >= 12)
        m->snd_key = mptcp_get_be64(p + 4);
    if (n >= 20)
        m->rcv_key = mptcp_get_be64(p + 12);
    if (n >= 22)
        m->data_len = mptcp_get_be16(p + 20);
    if (n == 24) {
        m->has_csum = true;
        m->csum = mptcp_get_be16(p + 22);
    }
    return 0;
}

static int parse_join(const uint8_t *p, uint8_t n, mptcp_opt *o)
{
    mptcp_opt_join *j = &o->u.join;

    /* RFC 8684 §3.2 Figures 5-7; reserved bits are ignored. */
    switch (n) {
    case 12:
        o->form = MPTCP_OPT_JOIN_SYN;
        j->backup = p[2] & 0x01;
        j->addr_id = p[3];
        j->token = mptcp_get_be32(p + 4);
        j->nonce = mptcp_get_be32(p + 8);
        return 0;
    case 16:
        o->form = MPTCP_OPT_JOIN_SYNACK;
        j->backup = p[2] & 0x01;
        j->addr_id = p[3];
        j->thmac = mptcp_get_be64(p + 4);
        j->nonce = mptcp_get_be32(p + 12);
        return 0;
    case 24:
        o->form = MPTCP_OPT_JOIN_ACK;
        memcpy(j->hmac, p + 4, 20);
        return 0;
    default:
        return MPTCP_EBADLEN;
    }
}

/* DSS length implied by the flags, without the optional checksum. */
static size_t dss_base_len(bool has_ack, bool ack64, bool has_map, bool dsn64)
{
    size_t n = 4;
    if (has_ack)
        n += ack64 ? 8 : 4;
    if (has_map)
        n += (dsn64 ? 8 : 4) + 4 + 2;
    return n;
}

/* The DSS body (RFC 8684 3.3, Figure 9) of option |p|, |n| bytes long
 * (the length byte's value, n <= the bytes at |p|); every field of |d| is
 * set, those the flags leave out to zero, as mptcp_opt_parse gives them.
 * The receive path's fast path for a segment whose only MPTCP option is a
 * DSS calls it directly (no mptcp_opt to clear and copy). */
int mptcp_wire_dss_parse(const uint8_t *p, uint8_t n, mptcp_opt_dss *d)
{
    const uint8_t *q = p + 4;

    memset(d, 0, sizeof *d);
    if (n < 4) /* the flags byte is part of every DSS */
        return MPTCP_EBADLEN;
    uint8_t f = p[3];
    if (f == MPTCP_DSS_A && n == 8) {
        /* The 4-byte DATA_ACK alone: most segments (the checks below
         * pass for it and read the same). */
        d->has_ack = true;
        d->data_ack = mptcp_get_be32(q);
        return 0;
    }
    d->has_ack = f & MPTCP_DSS_A;
    d->ack64 = f & MPTCP_DSS_a;
    d->has_map = f & MPTCP_DSS_M;
    d->dsn64 = f & MPTCP_DSS_m;
    d->fin = f & MPTCP_DSS_F;
    /* RFC 8684 §3.3 (Figure 9): 'a' sizes the Data ACK and 'm' the DSN, so
     * they mean nothing without A and M; F is part of the mapping (§3.3.3:
     * the DATA_FIN octet is counted in the Data-Level Length). */
    if ((d->ack64 && !d->has_ack) || (d->dsn64 && !d->has_map) || (d->fin && !d->has_map))
        return MPTCP_EBADFLAGS;
    size_t base = dss_base_len(d->has_ack, d->ack64, d->has_map, d->dsn64);
    if (n == base + 2 && d->has_map)
        d->has_csum = true;
    else if (n != base)
        return MPTCP_EBADLEN;
    if (d->has_ack) {
        d->data_ack = d->ack64 ? mptcp_get_be64(q) : mptcp_get_be32(q);
        q += d->ack64 ? 8 : 4;
    }
    if (d->has_map) {
        d->dsn = d->dsn64 ? mptcp_get_be64(q) : mptcp_get_be32(q);
        q += d->dsn64 ? 8 : 4;
        d->ssn = mptcp_get_be32(q);
        d->data_len = mptcp_get_be16(q + 4);
        if (d->has_csum)
            d->csum = mptcp_get_be16(q + 6);
        /* A DATA_FIN takes one octet of the mapping, so it cannot ride on an
         * infinite mapping (length 0, §3.7). */
        if (d->fin && d->data_len == 0)
            return MPTCP_EBADVALUE;
    }
    return 0;
}

static int parse_dss(const uint8_t *p, uint8_t n, mptcp_opt *o)
{
    o->form = MPTCP_OPT_DSS;
    return mptcp_wire_dss_parse(p, n, &o->u.dss);
}

static int parse_add_addr(const uint8_t *p, uint8_t n, mptcp_opt *o)
{
    mptcp_opt_add_addr *a = &o->u.add_addr;
    bool echo_len, port;
    size_t iplen;

    /* RFC 8684 §3.4.1 (Figure 12): there is no IP version field, so the
     * length encodes family, port and HMAC; E must agree with it. */
    switch (n) {
    case 8: iplen = 4; port = false; echo_len = true; break;
    case 10: iplen = 4; port = true; echo_len = true; break;
    case 16: iplen = 4; port = false; echo_len = false; break;
    case 18: iplen = 4; port = true; echo_len = false; break;
    case 20: iplen = 16; port = false; echo_len = true; break;
    case 22: iplen = 16; port = true; echo_len = true; break;
    case 28: iplen = 16; port = false; echo_len = false; break;
    case 30: iplen = 16; port = true; echo_len = false; break;
    default: return MPTCP_EBADLEN;
    }
    o->form = MPTCP_OPT_ADD_ADDR;
    a->echo = p[2] & 0x01;
    if (a->echo != echo_len)
        return MPTCP_EBADLEN;
    a->addr_id = p[3];
    a->addr.family = iplen == 4 ? MPTCP_AF_INET : MPTCP_AF_INET6;
    memcpy(a->addr.ip, p + 4, iplen);
    if (port) {
        a->addr.port = mptcp_get_be16(p + 4 + iplen);
        /* Port 0 is no TCP port; a sender without a port omits the field. */
        if (a->addr.port == 0)
            return MPTCP_EBADVALUE;
    }
    if (!a->echo)
        a->hmac = mptcp_get_be64(p + n - 8);
    return 0;
}

int mptcp_opt_parse(const uint8_t *p, size_t len, mptcp_opt *out)
{
    mptcp_opt o;
    int rc;

    if (!p || !out)
        return MPTCP_EINVAL;
    if (len < 1)
        return MPTCP_ETRUNCATED;
    if (p[0] != MPTCP_TCPOPT_MPTCP)
        return MPTCP_EMALFORMED;
    if (len < 2)
        return MPTCP_ETRUNCATED;
    uint8_t n = p[1];
    /* Every MPTCP option has a subtype byte, and no option fits a TCP
     * header beyond its 40 option bytes: decided from the length byte. */
    if (n < 3 || n > OPT_MAX)
        return MPTCP_EBADLEN;
    if (n > len)
        return MPTCP_ETRUNCATED;

    memset(&o, 0, sizeof o);
    switch (p[2] >> 4) {
    case MPTCP_SUB_CAPABLE:
        rc = parse_mpc(p, n, &o);
        break;
    case MPTCP_SUB_JOIN:
        rc = parse_join(p, n, &o);
        break;
    case MPTCP_SUB_DSS:
        rc = parse_dss(p, n, &o);
        break;
    case MPTCP_SUB_ADD_ADDR:
        rc = parse_add_addr(p, n, &o);
        break;
    case MPTCP_SUB_REMOVE_ADDR: /* §3.4.2: 3 + one byte per address ID */
        if (n < 4)
            return MPTCP_EBADLEN;
        o.form = MPTCP_OPT_REMOVE_ADDR;
        o.u.rm_addr.count = (uint8_t)(n - 3);
        memcpy(o.u.rm_addr.ids, p + 3, (size_t)(n - 3));
        rc = 0;
        break;
    case MPTCP_SUB_PRIO: /* §3.3.8: 3; RFC 6824 §3.3.8 adds an address ID: 4 */
        if (n != 3 && n != 4)
            return MPTCP_EBADLEN;
        o.form = MPTCP_OPT_PRIO;
        o.u.prio.backup = p[2] & 0x01;
        o.u.prio.has_addr_id = n == 4;
        o.u.prio.addr_id = n == 4 ? p[3] : 0;
        rc = 0;
        break;
    case MPTCP_SUB_FAIL: /* §3.7 (Figure 16): 12, a 64-bit DSN */
        if (n != 12)
            return MPTCP_EBADLEN;
        o.form = MPTCP_OPT_FAIL;
        o.u.fail.dsn = mptcp_get_be64(p + 4);
        rc = 0;
        break;
    case MPTCP_SUB_FASTCLOSE: /* §3.5 (Figure 15): 12, the receiver's key */
        if (n != 12)
            return MPTCP_EBADLEN;
        o.form = MPTCP_OPT_FASTCLOSE;
        o.u.fastclose.rcv_key = mptcp_get_be64(p + 4);
        rc = 0;
        break;
    case MPTCP_SUB_TCPRST: /* §3.6 (Figure 17): 4, flags nibble + reason */
        if (n != 4)
            return MPTCP_EBADLEN;
        o.form = MPTCP_OPT_TCPRST;
        o.u.tcprst.flags = p[2] & 0x0f;
        o.u.tcprst.reason = p[3];
        rc = 0;
        break;
    case MPTCP_SUB_EXPERIMENTAL: /* §3.8: opaque, handed through */
        o.form = MPTCP_OPT_EXPERIMENTAL;
        o.u.exp.nibble = p[2] & 0x0f;
        o.u.exp.len = (uint8_t)(n - 3);
        memcpy(o.u.exp.data, p + 3, (size_t)(n - 3));
        rc = 0;
        break;
    default: /* 0x9..0xe: unassigned in the IANA registry */
        return MPTCP_EMALFORMED;
    }
    if (rc < 0)
        return rc;
    *out = o;
    return n;
}

/* ---------------------------------------------------------------- write */

static size_t mpc_len(mptcp_opt_form form, const mptcp_opt_mpc *m)
{
    uint8_t want_ver = form == MPTCP_OPT_MPC_V0_SYN || form == MPTCP_OPT_MPC_V0_ACK ? 0 : 1;

    if (form == MPTCP_OPT_MPC_SYN) {
        if (m->version < 1 || m->version > 15)
            return 0;
    } else if (m->version != want_ver) {
        return 0;
    }
    if (!mpc_flags_ok(m->flags))
        return 0;
    switch (form) {
    case MPTCP_OPT_MPC_SYN: return 4;
    case MPTCP_OPT_MPC_SYNACK: case MPTCP_OPT_MPC_V0_SYN: return 12;
    case MPTCP_OPT_MPC_ACK: case MPTCP_OPT_MPC_V0_ACK: return 20;
    default: return m->has_csum ? 24 : 22;
    }
}

static size_t dss_len(const mptcp_opt_dss *d)
{
    if ((d->ack64 && !d->has_ack) || (d->dsn64 && !d->has_map) || (d->fin && !d->has_map) ||
        (d->has_csum && !d->has_map))
        return 0;
    /* The 4-byte forms carry the low 32 bits: refuse values they would cut. */
    if (d->has_ack && !d->ack64 && d->data_ack > UINT32_MAX)
        return 0;
    if (d->has_map && !d->dsn64 && d->dsn > UINT32_MAX)
        return 0;
    if (d->fin && d->data_len == 0)
        return 0;
    return dss_base_len(d->has_ack, d->ack64, d->has_map, d->dsn64) + (d->has_csum ? 2 : 0);
}

size_t mptcp_opt_len(const mptcp_opt *o)
{
    if (!o)
        return 0;
    switch (o->form) {
    case MPTCP_OPT_MPC_SYN: case MPTCP_OPT_MPC_SYNACK: case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA: case MPTCP_OPT_MPC_V0_SYN: case MPTCP_OPT_MPC_V0_ACK:
        return mpc_len(o->form, &o->u.mpc);
    case MPTCP_OPT_JOIN_SYN: return 12;
    case MPTCP_OPT_JOIN_SYNACK: return 16;
    case MPTCP_OPT_JOIN_ACK: return 24;
    case MPTCP_OPT_DSS: return dss_len(&o->u.dss);
    case MPTCP_OPT_ADD_ADDR: {
        const mptcp_opt_add_addr *a = &o->u.add_addr;
        size_t n;
        if (a->addr.family == MPTCP_AF_INET)
            n = 8;
        else if (a->addr.family == MPTCP_AF_INET6)
            n = 20;
        else
            return 0;
        return n + (a->addr.port ? 2 : 0) + (a->echo ? 0 : 8);
    }
    case MPTCP_OPT_REMOVE_ADDR:
        if (o->u.rm_addr.count < 1 || o->u.rm_addr.count > MPTCP_RM_ADDR_MAX)
            return 0;
        return 3 + (size_t)o->u.rm_addr.count;
    case MPTCP_OPT_PRIO: return o->u.prio.has_addr_id ? 4 : 3;
    case MPTCP_OPT_FAIL: return 12;
    case MPTCP_OPT_FASTCLOSE: return 12;
    case MPTCP_OPT_TCPRST: return o->u.tcprst.flags > 0x0f ? 0 : 4;
    case MPTCP_OPT_EXPERIMENTAL:
        if (o->u.exp.nibble > 0x0f || o->u.exp.len > MPTCP_EXP_DATA_MAX)
            return 0;
        return 3 + (size_t)o->u.exp.len;
    default:
        return 0;
    }
}

size_t mptcp_wire_dss_ack_write(uint8_t *dst, size_t cap, uint32_t data_ack)
{
    if (cap < 8)
        return 0;
    dst[0] = MPTCP_TCPOPT_MPTCP;
    dst[1] = 8;
    dst[2] = (uint8_t)(MPTCP_SUB_DSS << 4);
    dst[3] = MPTCP_DSS_A;
    mptcp_put_be32(dst + 4, data_ack);
    return 8;
}

size_t mptcp_wire_dss_map_write(uint8_t *dst, size_t cap, uint32_t data_ack, uint64_t dsn,
                                uint32_t ssn, uint16_t data_len, bool fin, bool has_csum,
                                uint16_t csum)
{
    size_t n = has_csum ? 24 : 22; /* dss_base_len(A, 4-byte ack, M, m) + checksum */
    if (cap < n || (fin && data_len == 0)) /* a DATA_FIN takes an octet (dss_len) */
        return 0;
    dst[0] = MPTCP_TCPOPT_MPTCP;
    dst[1] = (uint8_t)n;
    dst[2] = (uint8_t)(MPTCP_SUB_DSS << 4);
    dst[3] = (uint8_t)(MPTCP_DSS_A | MPTCP_DSS_M | MPTCP_DSS_m | (fin ? MPTCP_DSS_F : 0));
    mptcp_put_be32(dst + 4, data_ack);
    mptcp_put_be64(dst + 8, dsn);
    mptcp_put_be32(dst + 16, ssn);
    mptcp_put_be16(dst + 20, data_len);
    if (has_csum)
        mptcp_put_be16(dst + 22, csum);
    return n;
}

mptcp_ssize mptcp_opt_write(uint8_t *dst, size_t cap, const mptcp_opt *o)
{
    if (dst && o && o->form == MPTCP_OPT_DSS) {
        /* RFC 8684 3.3: the 8-byte DATA_ACK-only DSS rides on most data
         * segments (their chunk's mapping went out before) and on every
         * pure ACK: written here without the general sizing; the bytes
         * are those of the general path below. */
        const mptcp_opt_dss *d = &o->u.dss;
        if (d->has_ack && !d->ack64 && !d->has_map && !d->dsn64 && !d->fin && !d->has_csum &&
            d->data_ack <= UINT32_MAX) {
            if (cap < 8)
                return MPTCP_ENOBUF;
            return (mptcp_ssize)mptcp_wire_dss_ack_write(dst, cap, (uint32_t)d->data_ack);
        }
    }
    size_t n = mptcp_opt_len(o);

    if (!dst || n == 0)
        return MPTCP_EINVAL;
    if (n > cap)
        return MPTCP_ENOBUF;
    memset(dst, 0, n); /* reserved bits and bytes are sent as zero */
    dst[0] = MPTCP_TCPOPT_MPTCP;
    dst[1] = (uint8_t)n;
    dst[2] = (uint8_t)(mptcp_wire_mptcp_subtype(o->form) << 4);

    switch (o->form) {
    case MPTCP_OPT_MPC_SYN: case MPTCP_OPT_MPC_SYNACK: case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA: case MPTCP_OPT_MPC_V0_SYN: case MPTCP_OPT_MPC_V0_ACK: {
        const mptcp_opt_mpc *m = &o->u.mpc;
        dst[2] |= m->version;
        dst[3] = m->flags;
        if (n >= 12)
            mptcp_put_be64(dst + 4, m->snd_key);
        if (n >= 20)
            mptcp_put_be64(dst + 12, m->rcv_key);
        if (n >= 22)
            mptcp_put_be16(dst + 20, m->data_len);
        if (n == 24)
            mptcp_put_be16(dst + 22, m->csum);
        break;
    }
    case MPTCP_OPT_JOIN_SYN:
        dst[2] |= o->u.join.backup ? 1 : 0;
        dst[3] = o->u.join.addr_id;
        mptcp_put_be32(dst + 4, o->u.join.token);
        mptcp_put_be32(dst + 8, o->u.join.nonce);
        break;
    case MPTCP_OPT_JOIN_SYNACK:
        dst[2] |= o->u.join.backup ? 1 : 0;
        dst[3] = o->u.join.addr_id;
        mptcp_put_be64(dst + 4, o->u.join.thmac);
        mptcp_put_be32(dst + 12, o->u.join.nonce);
        break;
    case MPTCP_OPT_JOIN_ACK:
        memcpy(dst + 4, o->u.join.hmac, 20);
        break;
    case MPTCP_OPT_DSS: {
        const mptcp_opt_dss *d = &o->u.dss;
        uint8_t *q = dst + 4;
        dst[3] = (uint8_t)((d->has_ack ? MPTCP_DSS_A : 0) | (d->ack64 ? MPTCP_DSS_a : 0) |
                           (d->has_map ? MPTCP_DSS_M : 0) | (d->dsn64 ? MPTCP_DSS_m : 0) |
                           (d->fin ? MPTCP_DSS_F : 0));
        if (d->has_ack) {
            if (d->ack64)
                mptcp_put_be64(q, d->data_ack);
            else
                mptcp_put_be32(q, (uint32_t)d->data_ack);
            q += d->ack64 ? 8 : 4;
        }
        if (d->has_map) {
            if (d->dsn64)
                mptcp_put_be64(q, d->dsn);
            else
                mptcp_put_be32(q, (uint32_t)d->dsn);
            q += d->dsn64 ? 8 : 4;
            mptcp_put_be32(q, d->ssn);
            mptcp_put_be16(q + 4, d->data_len);
            if (d->has_csum)
                mptcp_put_be16(q + 6, d->csum);
        }
        break;
    }
    case MPTCP_OPT_ADD_ADDR: {
        const mptcp_opt_add_addr *a = &o->u.add_addr;
        size_t iplen = a->addr.family == MPTCP_AF_INET ? 4 : 16;
        dst[2] |= a->echo ? 1 : 0;
        dst[3] = a->addr_id;
        memcpy(dst + 4, a->addr.ip, iplen);
        if (a->addr.port)
            mptcp_put_be16(dst + 4 + iplen, a->addr.port);
        if (!a->echo)
            mptcp_put_be64(dst + n - 8, a->hmac);
        break;
    }
    case MPTCP_OPT_REMOVE_ADDR:
        memcpy(dst + 3, o->u.rm_addr.ids, o->u.rm_addr.count);
        break;
    case MPTCP_OPT_PRIO:
        dst[2] |= o->u.prio.backup ? 1 : 0;
        if (o->u.prio.has_addr_id)
            dst[3] = o->u.prio.addr_id;
        break;
    case MPTCP_OPT_FAIL:
        mptcp_put_be64(dst + 4, o->u.fail.dsn);
        break;
    case MPTCP_OPT_FASTCLOSE:
        mptcp_put_be64(dst + 4, o->u.fastclose.rcv_key);
        break;
    case MPTCP_OPT_TCPRST:
        dst[2] |= o->u.tcprst.flags;
        dst[3] = o->u.tcprst.reason;
        break;
    case MPTCP_OPT_EXPERIMENTAL:
        dst[2] |= o->u.exp.nibble;
        memcpy(dst + 3, o->u.exp.data, o->u.exp.len);
        break;
    default:
        return MPTCP_EINTERNAL; /* unreachable: mptcp_opt_len returned 0 */
    }
    return (mptcp_ssize)n;
}
