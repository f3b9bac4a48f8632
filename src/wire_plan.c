/*
 * wire_plan.c - the option-space planner: which of the options a segment
 * would like to carry fit in the 40 option bytes, by priority, and which
 * MPTCP suboptions must not share a segment. Owns the policy only; the
 * byte layout is wire_tcp.c's and wire_seg.c's (the plan's length is what
 * mptcp_seg_write will produce). Rules: docs/wire.md "Planner"; RFC 8684
 * §3.1, §3.4.1, §3.5-3.7, RFC 7323 §3.2, and Linux's choices noted there.
 */
#include "wire_plan.h"

#include "wire_mptcp.h"
#include "wire_seg.h"
#include "wire_tcp.h"

typedef struct plan_state {
    const mptcp_seg_spec *want;
    uint32_t tcp;     /* MPTCP_TCPO_* chosen */
    uint8_t sack;     /* SACK blocks chosen */
    uint32_t mptcp;   /* want->mptcp[i] chosen */
    size_t mptcp_len; /* their unpadded sum */
    uint8_t lens[MPTCP_WIRE_PLAN_MAX];
} plan_state;

static size_t plan_len(const plan_state *s)
{
    size_t tcp = mptcp_wire_tcp_opts_len(&s->want->opts, s->tcp, s->sack);
    return mptcp_wire_seg_opt_space(tcp, s->mptcp_len);
}

/* Adds TCP option bits |bits| (and |sack| blocks) if the result still fits. */
static bool try_tcp(plan_state *s, uint32_t bits, uint8_t sack)
{
    uint32_t old_tcp = s->tcp;
    uint8_t old_sack = s->sack;

    s->tcp |= bits;
    if (sack)
        s->sack = sack;
    if (plan_len(s) <= MPTCP_TCP_OPT_SPACE)
        return true;
    s->tcp = old_tcp;
    s->sack = old_sack;
    return false;
}

static bool try_mptcp(plan_state *s, size_t i)
{
    s->mptcp |= 1u << i;
    s->mptcp_len += s->lens[i];
    if (plan_len(s) <= MPTCP_TCP_OPT_SPACE)
        return true;
    s->mptcp &= ~(1u << i);
    s->mptcp_len -= s->lens[i];
    return false;
}

static bool is_critical(mptcp_opt_form f)
{
    return mptcp_wire_mptcp_is_mpc(f) || mptcp_wire_mptcp_is_join(f) ||
           f == MPTCP_OPT_FASTCLOSE || f == MPTCP_OPT_TCPRST || f == MPTCP_OPT_FAIL;
}

int mptcp_opt_plan_fit(const mptcp_seg_spec *want, mptcp_opt_plan *out)
{
    plan_state s;
    unsigned n_hs = 0, n_dss = 0, n_fail = 0, n_fc = 0, n_rst = 0;

    if (!want || !out || want->n_mptcp > MPTCP_WIRE_PLAN_MAX ||
        (want->n_mptcp && !want->mptcp))
        return MPTCP_EINVAL;
    memset(&s, 0, sizeof s);
    s.want = want;
    uint32_t tcp_want = want->opts.present & ~(uint32_t)MPTCP_TCPO_EOL;
    if (mptcp_wire_tcp_opts_check(&want->opts, tcp_want, want->opts.sack_count) < 0)
        return MPTCP_EINVAL;
    uint16_t fl = want->hdr.flags;
    bool syn = fl & MPTCP_TH_SYN, rst = fl & MPTCP_TH_RST;
    bool pure_ack = !(fl & (MPTCP_TH_SYN | MPTCP_TH_FIN | MPTCP_TH_RST)) && !want->payload_len;

    /* Validate every option, and refuse combinations that contradict
     * themselves: one handshake option, one DSS, one of each close signal. */
    for (size_t i = 0; i < want->n_mptcp; i++) {
        mptcp_opt_form f = want->mptcp[i].form;
        size_t n = mptcp_opt_len(&want->mptcp[i]);
        if (n == 0 || mptcp_wire_seg_check_form(f, fl, want->payload_len) < 0)
            return MPTCP_EINVAL;
        s.lens[i] = (uint8_t)n;
        n_hs += mptcp_wire_mptcp_is_mpc(f) || mptcp_wire_mptcp_is_join(f);
        n_dss += f == MPTCP_OPT_DSS;
        n_fail += f == MPTCP_OPT_FAIL;
        n_fc += f == MPTCP_OPT_FASTCLOSE;
        n_rst += f == MPTCP_OPT_TCPRST;
    }
    if (n_hs > 1 || n_dss > 1 || n_fail > 1 || n_fc > 1 || n_rst > 1)
        return MPTCP_EINVAL;

    /* Which non-critical suboptions may share this segment (Linux's
     * mptcp_established_options / mptcp_write_options):
     *  - a handshake option (MP_CAPABLE, MP_JOIN) admits only REMOVE_ADDR;
     *  - a RST carries only MP_FASTCLOSE, MP_FAIL, MP_TCPRST;
     *  - MP_FASTCLOSE on an ACK goes alone;
     *  - MP_FAIL on an ACK admits only DSS (the mapping it fails). */
    bool allow_dss = true, allow_rm = true, allow_rest = true;
    if (n_hs) {
        allow_dss = allow_rest = false;
    } else if (rst || n_fc) {
        allow_dss = allow_rm = allow_rest = false;
    } else if (n_fail) {
        allow_rm = allow_rest = false;
    }

    /* Priority 1: must fit, or the segment cannot be sent as asked. */
    uint32_t crit_tcp = tcp_want & (MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK_PERM);
    if (syn)
        crit_tcp |= tcp_want & MPTCP_TCPO_TS;
    s.tcp = crit_tcp;
    for (size_t i = 0; i < want->n_mptcp; i++) {
        if (is_critical(want->mptcp[i].form)) {
            s.mptcp |= 1u << i;
            s.mptcp_len += s.lens[i];
        }
    }
    if (plan_len(&s) > MPTCP_TCP_OPT_SPACE)
        return MPTCP_ENOSPACE;

    /* Priority 2. On a pure ACK the first ADD_ADDR outranks timestamps: an
     * IPv6 ADD_ADDR with port (30) cannot sit beside them (12), and Linux
     * then sends it without timestamps (add_addr_v6_port_drop_ts); it also
     * sends IPv6 ADD_ADDR alone, so a DSS without a mapping (a DATA_ACK the
     * next ACK repeats) is left out beside it (RFC 8684 §3.4.1). */
    size_t promoted = SIZE_MAX;
    if (pure_ack && allow_rest) {
        for (size_t i = 0; i < want->n_mptcp; i++) {
            if (want->mptcp[i].form == MPTCP_OPT_ADD_ADDR) {
                promoted = i;
                if (want->mptcp[i].u.add_addr.addr.family == MPTCP_AF_INET6)
                    for (size_t j = 0; j < want->n_mptcp; j++)
                        if (want->mptcp[j].form == MPTCP_OPT_DSS && !want->mptcp[j].u.dss.has_map)
                            allow_dss = false;
                try_mptcp(&s, i);
                break;
            }
        }
    }
    /* RFC 7323 §3.2: once negotiated, timestamps go on every segment; TFO
     * (RFC 7413) is best effort, the SYN works without it. */
    if (tcp_want & MPTCP_TCPO_TS)
        try_tcp(&s, MPTCP_TCPO_TS, 0);
    if (tcp_want & MPTCP_TCPO_TFO)
        try_tcp(&s, MPTCP_TCPO_TFO, 0);

    /* Priority 3: DSS (data mapping, DATA_ACK, DATA_FIN). */
    for (size_t i = 0; i < want->n_mptcp && allow_dss; i++)
        if (want->mptcp[i].form == MPTCP_OPT_DSS)
            try_mptcp(&s, i);

    /* Priority 4: SACK blocks, as many as fit, in the caller's order. */
    if (tcp_want & MPTCP_TCPO_SACK)
        for (uint8_t k = want->opts.sack_count; k >= 1; k--)
            if (try_tcp(&s, MPTCP_TCPO_SACK, k))
                break;

    /* Priority 5: address management and experimental, in the caller's order. */
    for (size_t i = 0; i < want->n_mptcp; i++) {
        mptcp_opt_form f = want->mptcp[i].form;
        if (i == promoted || is_critical(f) || f == MPTCP_OPT_DSS)
            continue;
        if (f == MPTCP_OPT_REMOVE_ADDR ? allow_rm : allow_rest)
            try_mptcp(&s, i);
    }

    out->tcp_fit = s.tcp;
    out->sack_count = (s.tcp & MPTCP_TCPO_SACK) ? s.sack : 0;
    out->mptcp_fit = s.mptcp;
    out->len = (uint8_t)plan_len(&s);
    return 0;
}
