/*
 * wire_seg.c - whole TCP segments: mptcp_seg_parse (header, every option,
 * payload bounds, MPTCP forms checked against the TCP flags) and
 * mptcp_seg_write (header, options in the conventional order, NOP padding,
 * payload, checksum). Per-option rules live in wire_tcp.c and wire_mptcp.c;
 * which options to send is wire_plan.c's business.
 * Implements RFC 9293 §3.1 (header, data offset), RFC 8684 §3.1-3.2 (which
 * MP_CAPABLE / MP_JOIN form goes on which handshake segment), §3.6.
 */
#include "wire_seg.h"

#include "csum.h"
#include "wire_mptcp.h"
#include "wire_tcp.h"

int mptcp_wire_seg_check_form(mptcp_opt_form form, uint16_t flags, size_t payload_len)
{
    bool syn = flags & MPTCP_TH_SYN, ack = flags & MPTCP_TH_ACK, rst = flags & MPTCP_TH_RST;
    bool ok;

    switch (form) {
    case MPTCP_OPT_MPC_SYN: /* §3.1: the 4-byte form is the SYN's */
    case MPTCP_OPT_JOIN_SYN: /* §3.2: Figure 5 is the SYN */
        ok = syn && !ack;
        break;
    case MPTCP_OPT_MPC_SYNACK:
    case MPTCP_OPT_JOIN_SYNACK:
        ok = syn && ack;
        break;
    case MPTCP_OPT_MPC_V0_SYN: /* RFC 6824 §3.1: one form for SYN and SYN/ACK */
        ok = syn;
        break;
    case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_V0_ACK:
    case MPTCP_OPT_JOIN_ACK:
        ok = !syn && ack;
        break;
    case MPTCP_OPT_MPC_DATA:
        /* §3.1: the Data-Level Length is "present only in the third ACK if
         * carrying data": without payload the 20-byte form is the one. */
        ok = !syn && ack && payload_len > 0;
        break;
    case MPTCP_OPT_DSS:
    case MPTCP_OPT_ADD_ADDR:
    case MPTCP_OPT_REMOVE_ADDR:
    case MPTCP_OPT_PRIO:
    case MPTCP_OPT_FAIL:
    case MPTCP_OPT_FASTCLOSE:
        /* These act on an MPTCP connection that a SYN has not set up yet. */
        ok = !syn;
        break;
    case MPTCP_OPT_TCPRST: /* §3.6: carried by a RST */
        ok = rst && !syn;
        break;
    case MPTCP_OPT_EXPERIMENTAL: /* §3.8: opaque, no rule we can know */
        ok = true;
        break;
    default:
        ok = false;
        break;
    }
    return ok ? 0 : MPTCP_EBADFORM;
}

/* The option walker's hook: MPTCP options are decoded one by one with
 * their error kept; other kinds are listed as unknown. */
static void on_other_opt(void *ctx, const uint8_t *opt, uint8_t optlen, size_t off)
{
    mptcp_seg *s = ctx;
    size_t seg_off = MPTCP_TCP_HDR_LEN + off;

    if (opt[0] == MPTCP_TCPOPT_MPTCP) {
        /* Capacity is 40/2: every option takes at least two bytes. */
        if (s->n_mptcp >= MPTCP_SEG_MAX_MPTCP)
            return;
        mptcp_seg_mptcp *m = &s->mptcp[s->n_mptcp++];
        m->offset = (uint8_t)seg_off;
        m->len = optlen;
        m->subtype = optlen >= 3 ? (uint8_t)(opt[2] >> 4) : 0xff;
        int rc = mptcp_opt_parse(opt, optlen, &m->opt);
        m->err = rc < 0 ? rc : 0;
        return;
    }
    if (s->n_unknown >= MPTCP_SEG_MAX_UNKNOWN)
        return;
    mptcp_seg_unknown *u = &s->unknown[s->n_unknown++];
    u->kind = opt[0];
    u->len = optlen;
    u->offset = (uint8_t)seg_off;
}

int mptcp_seg_parse(const uint8_t *seg, size_t len, mptcp_seg *out)
{
    if (!seg || !out)
        return MPTCP_EINVAL;
    memset(out, 0, sizeof *out);
    if (len < MPTCP_TCP_HDR_LEN)
        return MPTCP_ETRUNCATED;
    mptcp_wire_tcp_hdr_parse(seg, &out->hdr);
    /* RFC 9293 §3.1: Data Offset counts 32-bit words, at least 5. */
    if (out->hdr.doff < MPTCP_TCP_HDR_LEN || out->hdr.doff > len)
        return MPTCP_EBADDOFF;
    int rc = mptcp_wire_tcp_opts_parse(seg + MPTCP_TCP_HDR_LEN,
                                       out->hdr.doff - (size_t)MPTCP_TCP_HDR_LEN, &out->opts,
                                       on_other_opt, out);
    if (rc < 0)
        return rc;
    out->payload_off = out->hdr.doff;
    out->payload_len = len - out->hdr.doff;
    for (unsigned i = 0; i < out->n_mptcp; i++) {
        mptcp_seg_mptcp *m = &out->mptcp[i];
        if (m->err == 0)
            m->err = mptcp_wire_seg_check_form(m->opt.form, out->hdr.flags, out->payload_len);
    }
    return 0;
}

mptcp_ssize mptcp_seg_write(uint8_t *dst, size_t cap, const mptcp_seg_spec *spec,
                            const mptcp_addr *src, const mptcp_addr *dst_addr)
{
    uint32_t pseudo;

    if (!dst || !spec || (spec->n_mptcp && !spec->mptcp) ||
        (spec->payload_len && !spec->payload) || spec->hdr.flags > 0x1ff ||
        (!src != !dst_addr))
        return MPTCP_EINVAL;
    uint32_t bits = spec->opts.present & ~(uint32_t)MPTCP_TCPO_EOL;
    if (mptcp_wire_tcp_opts_check(&spec->opts, bits, spec->opts.sack_count) < 0)
        return MPTCP_EINVAL;
    size_t tcp_len = mptcp_wire_tcp_opts_len(&spec->opts, bits, spec->opts.sack_count);
    size_t mptcp_len = 0;
    for (size_t i = 0; i < spec->n_mptcp; i++) {
        size_t n = mptcp_opt_len(&spec->mptcp[i]);
        if (n == 0)
            return MPTCP_EINVAL;
        if (mptcp_len <= MPTCP_TCP_OPT_SPACE) /* keeps the sum bounded */
            mptcp_len += n;
    }
    size_t opt_len = mptcp_wire_seg_opt_space(tcp_len, mptcp_len);
    if (opt_len > MPTCP_TCP_OPT_SPACE)
        return MPTCP_ENOSPACE;
    size_t hdr_len = MPTCP_TCP_HDR_LEN + opt_len;
    if (cap < hdr_len || spec->payload_len > cap - hdr_len)
        return MPTCP_ENOBUF;
    size_t total = hdr_len + spec->payload_len;
    /* Validate the addresses before writing anything (same rules as the
     * checksum: one family, IPv4 length within 16 bits). */
    if (src && mptcp_csum_pseudo(src, dst_addr, total, &pseudo) < 0)
        return MPTCP_EINVAL;

    /* Payload first: memmove lets a caller build it in place at dst+hdr_len. */
    if (spec->payload_len)
        memmove(dst + hdr_len, spec->payload, spec->payload_len);
    mptcp_tcp_hdr h = spec->hdr;
    h.csum = 0;
    mptcp_wire_tcp_hdr_write(dst, &h, hdr_len);
    uint8_t *q = dst + MPTCP_TCP_HDR_LEN;
    q += mptcp_wire_tcp_opts_write(q, &spec->opts, bits, spec->opts.sack_count);
    for (size_t i = 0; i < spec->n_mptcp; i++)
        q += mptcp_opt_write(q, (size_t)(dst + hdr_len - q), &spec->mptcp[i]);
    /* RFC 9293 §3.1: pad to the data offset; NOPs, as Linux pads its DSS. */
    memset(q, 1, (size_t)(dst + hdr_len - q));
    if (src) {
        int rc = mptcp_tcp_csum_fill(dst, total, src, dst_addr);
        if (rc < 0)
            return rc;
    }
    return (mptcp_ssize)total;
}
