/*
 * seg_parse.c - fuzz target for the segment codec (RFC 9293 section 3.1
 * header and options, RFC 8684 section 3 MPTCP options).
 * Invariant: for any bytes as a TCP segment, mptcp_seg_parse fails with a
 * documented code or returns a parse that agrees with the raw bytes (header
 * fields, offsets inside the header, each option accepted by the segment
 * parser is what mptcp_opt_parse gives at that offset). Re-emitting the
 * parsed header, TCP options and accepted MPTCP options with
 * mptcp_seg_write either reports MPTCP_ENOSPACE (the canonical layout can be
 * longer than a tightly packed original) or produces a segment that parses
 * to the same header, options and payload, with a valid checksum when
 * addresses are given. mptcp_opt_plan_fit on the parsed options gives a
 * plan of at most 40 bytes whose subset mptcp_seg_write accepts, at the
 * planned length, never leaves out a connection-critical option, keeps
 * timestamps and SACK when everything fits, and is stable: planning its
 * own subset again keeps all of it.
 */
#include "fuzz_opt.h"

#define TCPO_WRITABLE (MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK_PERM | \
                       MPTCP_TCPO_SACK | MPTCP_TCPO_TS | MPTCP_TCPO_TFO)

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_against_bytes(const uint8_t *d, size_t n, const mptcp_seg *s)
{
    const mptcp_tcp_hdr *h = &s->hdr;
    FUZZ_CHECK(h->sport == be16(d) && h->dport == be16(d + 2), "ports");
    FUZZ_CHECK(h->seq == be32(d + 4) && h->ack == be32(d + 8), "seq/ack");
    FUZZ_CHECK(h->doff == (d[12] >> 4) * 4, "doff %u vs byte %u", h->doff, d[12]);
    FUZZ_CHECK(h->doff >= 20 && h->doff <= 60 && h->doff <= n, "doff %u, len %zu", h->doff, n);
    FUZZ_CHECK(h->flags == (((d[12] & 1) << 8) | d[13]), "flags %#x from %02x %02x", h->flags,
               d[12], d[13]);
    FUZZ_CHECK(h->window == be16(d + 14) && h->csum == be16(d + 16) && h->urg == be16(d + 18),
               "window/csum/urg");
    FUZZ_CHECK(s->payload_off == h->doff && s->payload_len == n - h->doff, "payload %zu+%zu",
               s->payload_off, s->payload_len);
    if (s->opts.present & MPTCP_TCPO_SACK)
        FUZZ_CHECK(s->opts.sack_count >= 1 && s->opts.sack_count <= 4, "sack_count %u",
                   s->opts.sack_count);
    if (s->opts.present & MPTCP_TCPO_TFO)
        FUZZ_CHECK(s->opts.tfo_cookie_len == 0 ||
                       (s->opts.tfo_cookie_len >= MPTCP_TFO_COOKIE_MIN &&
                        s->opts.tfo_cookie_len <= MPTCP_TFO_COOKIE_MAX),
                   "tfo cookie len %u", s->opts.tfo_cookie_len);
    FUZZ_CHECK(s->n_mptcp <= MPTCP_SEG_MAX_MPTCP && s->n_unknown <= MPTCP_SEG_MAX_UNKNOWN,
               "counts %u %u", s->n_mptcp, s->n_unknown);
    for (unsigned i = 0; i < s->n_mptcp; i++) {
        const mptcp_seg_mptcp *m = &s->mptcp[i];
        FUZZ_CHECK(m->offset >= 20 && m->offset + 2u <= h->doff && m->offset + m->len <= h->doff,
                   "mptcp[%u] at %u len %u, doff %u", i, m->offset, m->len, h->doff);
        FUZZ_CHECK(d[m->offset] == MPTCP_TCPOPT_MPTCP && d[m->offset + 1] == m->len,
                   "mptcp[%u] offset %u does not point at its option", i, m->offset);
        if (m->len >= 3)
            FUZZ_CHECK(m->subtype == d[m->offset + 2] >> 4, "mptcp[%u] subtype", i);
        if (m->err == 0) {
            mptcp_opt o;
            int r = mptcp_opt_parse(d + m->offset, h->doff - m->offset, &o);
            FUZZ_CHECK(r == m->len, "mptcp[%u]: accepted by seg_parse, opt_parse gives %d", i, r);
            const char *df = fuzz_opt_diff(&m->opt, &o);
            FUZZ_CHECK(df == NULL, "mptcp[%u]: seg_parse and opt_parse differ in %s", i, df);
        } else {
            FUZZ_CHECK(m->err < 0, "mptcp[%u].err %d", i, m->err);
        }
    }
    for (unsigned i = 0; i < s->n_unknown; i++) {
        const mptcp_seg_unknown *u = &s->unknown[i];
        FUZZ_CHECK(u->offset >= 20 && u->offset + u->len <= h->doff && d[u->offset] == u->kind,
                   "unknown[%u] kind %u at %u len %u", i, u->kind, u->offset, u->len);
    }
}

/* Compares the parse of a re-emitted segment with the original parse. */
static void check_same(const mptcp_seg *a, const mptcp_seg *b, const mptcp_opt *mp, size_t n_mp,
                       uint32_t tcp_present, uint8_t sack_count)
{
    FUZZ_CHECK(a->hdr.sport == b->hdr.sport && a->hdr.dport == b->hdr.dport &&
                   a->hdr.seq == b->hdr.seq && a->hdr.ack == b->hdr.ack &&
                   a->hdr.flags == b->hdr.flags && a->hdr.window == b->hdr.window &&
                   a->hdr.urg == b->hdr.urg,
               "header changed through write+parse");
    FUZZ_CHECK(b->opts.bad == 0, "re-emitted options are bad: %#x", b->opts.bad);
    FUZZ_CHECK((b->opts.present & TCPO_WRITABLE) == tcp_present, "tcp opts %#x, wrote %#x",
               b->opts.present, tcp_present);
    const mptcp_tcp_opts *x = &a->opts, *y = &b->opts;
    if (tcp_present & MPTCP_TCPO_MSS)
        FUZZ_CHECK(x->mss == y->mss, "mss %u -> %u", x->mss, y->mss);
    if (tcp_present & MPTCP_TCPO_WSCALE)
        FUZZ_CHECK(x->wscale == y->wscale, "wscale %u -> %u", x->wscale, y->wscale);
    if (tcp_present & MPTCP_TCPO_TS)
        FUZZ_CHECK(x->ts_val == y->ts_val && x->ts_ecr == y->ts_ecr, "timestamps");
    if (tcp_present & MPTCP_TCPO_SACK) {
        FUZZ_CHECK(y->sack_count == sack_count, "sack_count %u -> %u", sack_count,
                   y->sack_count);
        for (unsigned i = 0; i < sack_count; i++)
            FUZZ_CHECK(x->sack[i].left == y->sack[i].left && x->sack[i].right == y->sack[i].right,
                       "sack block %u", i);
    }
    if (tcp_present & MPTCP_TCPO_TFO)
        FUZZ_CHECK(x->tfo_cookie_len == y->tfo_cookie_len &&
                       memcmp(x->tfo_cookie, y->tfo_cookie, x->tfo_cookie_len) == 0,
                   "tfo cookie");
    FUZZ_CHECK(b->n_mptcp == n_mp, "%zu MPTCP options written, %u parsed", n_mp, b->n_mptcp);
    for (size_t i = 0; i < n_mp; i++) {
        FUZZ_CHECK(b->mptcp[i].err == 0, "re-emitted mptcp[%zu] (%s) err %d (%s)", i,
                   mptcp_opt_form_name(mp[i].form), b->mptcp[i].err,
                   mptcp_strerror(b->mptcp[i].err));
        const char *df = fuzz_opt_diff(&mp[i], &b->mptcp[i].opt);
        FUZZ_CHECK(df == NULL, "re-emitted mptcp[%zu] (%s): %s differs", i,
                   mptcp_opt_form_name(mp[i].form), df);
    }
    FUZZ_CHECK(b->n_unknown == 0, "re-emitted segment has unknown options");
    FUZZ_CHECK(b->payload_len == a->payload_len, "payload length");
}

/* Writes |spec|; on success parses the result and compares. Returns the
 * write's result. */
static mptcp_ssize emit_and_compare(const mptcp_seg *s, const mptcp_seg_spec *spec,
                                    const mptcp_addr *src, const mptcp_addr *dst)
{
    size_t cap = MPTCP_TCP_HDR_LEN + MPTCP_TCP_OPT_SPACE + spec->payload_len;
    uint8_t *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL, "malloc");
    mptcp_ssize w = mptcp_seg_write(buf, cap, spec, src, dst);
    if (w < 0) {
        free(buf);
        return w;
    }
    FUZZ_CHECK((size_t)w <= cap && (size_t)w >= MPTCP_TCP_HDR_LEN + spec->payload_len,
               "wrote %td of %zu", w, cap);
    mptcp_seg s2;
    int r = mptcp_seg_parse(buf, (size_t)w, &s2);
    FUZZ_CHECK(r == 0, "re-emitted segment does not parse: %d (%s)", r, mptcp_strerror(r));
    FUZZ_CHECK((size_t)w == s2.hdr.doff + spec->payload_len, "length %td, doff %u", w,
               s2.hdr.doff);
    FUZZ_CHECK(spec->payload_len == 0 ||
                   memcmp(buf + s2.hdr.doff, spec->payload, spec->payload_len) == 0,
               "payload bytes changed");
    uint8_t sc = (spec->opts.present & MPTCP_TCPO_SACK) ? spec->opts.sack_count : 0;
    check_same(s, &s2, spec->mptcp, spec->n_mptcp, spec->opts.present & TCPO_WRITABLE, sc);
    if (src) {
        FUZZ_CHECK(mptcp_tcp_csum_ok(buf, (size_t)w, src, dst), "checksum filled but not ok");
    } else {
        FUZZ_CHECK(s2.hdr.csum == 0, "no addresses, but checksum %#x", s2.hdr.csum);
    }
    free(buf);
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer and replay.c hand over exact-size heap copies: ASan sees
     * any read past |size|. */
    mptcp_seg s;
    int r = mptcp_seg_parse(data, size, &s);
    if (r != 0) {
        FUZZ_CHECK(r == MPTCP_ETRUNCATED || r == MPTCP_EBADDOFF || r == MPTCP_EBADLEN,
                   "undocumented error %d (%s)", r, mptcp_strerror(r));
        if (size < MPTCP_TCP_HDR_LEN)
            FUZZ_CHECK(r == MPTCP_ETRUNCATED, "short segment gave %d", r);
        return 0;
    }
    FUZZ_CHECK(size >= MPTCP_TCP_HDR_LEN, "parsed %zu bytes", size);
    check_against_bytes(data, size, &s);

    /* Re-emit what parsed. Options with errors and unknown kinds drop out;
     * EOL is not something to write. */
    mptcp_opt mp[MPTCP_SEG_MAX_MPTCP];
    size_t n_mp = 0;
    for (unsigned i = 0; i < s.n_mptcp; i++)
        if (s.mptcp[i].err == 0)
            mp[n_mp++] = s.mptcp[i].opt;
    mptcp_seg_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.hdr = s.hdr;
    spec.opts = s.opts;
    spec.opts.present &= TCPO_WRITABLE;
    spec.opts.bad = 0;
    spec.mptcp = mp;
    spec.n_mptcp = n_mp;
    spec.payload = data + s.payload_off;
    spec.payload_len = s.payload_len;

    mptcp_ssize w = emit_and_compare(&s, &spec, NULL, NULL);
    FUZZ_CHECK(w > 0 || w == MPTCP_ENOSPACE, "re-emit failed: %td (%s)", w,
               mptcp_strerror((int)w));
    if (w > 0) {
        /* The same with a checksum over a pseudo-header; the family is
         * picked by the input's length so both get exercised. */
        mptcp_addr src, dst;
        memset(&src, 0, sizeof src);
        memset(&dst, 0, sizeof dst);
        src.family = dst.family = (size & 1) ? MPTCP_AF_INET6 : MPTCP_AF_INET;
        for (int i = 0; i < 16; i++) {
            src.ip[i] = (uint8_t)(0x0a + i * 7 + size);
            dst.ip[i] = (uint8_t)(0xc0 + i * 13);
        }
        mptcp_ssize w2 = emit_and_compare(&s, &spec, &src, &dst);
        FUZZ_CHECK(w2 == w, "with addresses %td, without %td", w2, w);
    }

    /* The option-space planner over the same wish list. It refuses a list
     * that contradicts itself (two handshake options, two DSS, two of one
     * close signal: wire_plan.c) with MPTCP_EINVAL, which a hostile segment
     * can carry; so plan the list without such repeats (first one kept). */
    mptcp_opt pw[MPTCP_SEG_MAX_MPTCP];
    size_t n_pw = 0;
    unsigned seen = 0;
    for (size_t i = 0; i < n_mp; i++) {
        mptcp_opt_form f = mp[i].form;
        unsigned cls = f >= MPTCP_OPT_MPC_SYN && f <= MPTCP_OPT_JOIN_ACK ? 1u
                       : f == MPTCP_OPT_DSS                              ? 2u
                       : f == MPTCP_OPT_FAIL                             ? 4u
                       : f == MPTCP_OPT_FASTCLOSE                        ? 8u
                       : f == MPTCP_OPT_TCPRST                           ? 16u
                                                                         : 0u;
        if (cls & seen)
            continue;
        seen |= cls;
        pw[n_pw++] = mp[i];
    }
    mptcp_opt_plan plan;
    if (n_pw != n_mp) {
        r = mptcp_opt_plan_fit(&spec, &plan);
        FUZZ_CHECK(r == MPTCP_EINVAL, "plan_fit on repeated exclusive options gave %d", r);
    }
    spec.mptcp = pw;
    spec.n_mptcp = n_pw;
    n_mp = n_pw;
    memset(&plan, 0xee, sizeof plan);
    r = mptcp_opt_plan_fit(&spec, &plan);
    FUZZ_CHECK(r == 0 || r == MPTCP_ENOSPACE, "plan_fit gave %d (%s)", r, mptcp_strerror(r));
    if (r != 0)
        return 0;
    FUZZ_CHECK(plan.len <= MPTCP_TCP_OPT_SPACE && plan.len % 4 == 0, "plan.len %u", plan.len);
    FUZZ_CHECK((plan.tcp_fit & ~spec.opts.present) == 0, "plan keeps tcp opts %#x not wanted %#x",
               plan.tcp_fit, spec.opts.present);
    FUZZ_CHECK(n_mp == 32 || (plan.mptcp_fit >> n_mp) == 0, "plan.mptcp_fit %#x for %zu options",
               plan.mptcp_fit, n_mp);
    if (plan.tcp_fit & MPTCP_TCPO_SACK)
        FUZZ_CHECK(plan.sack_count >= 1 && plan.sack_count <= spec.opts.sack_count,
                   "plan.sack_count %u of %u", plan.sack_count, spec.opts.sack_count);
    /* Connection-critical options are never left out (the planner says
     * MPTCP_ENOSPACE instead); when everything fits, neither are timestamps
     * and SACK blocks (on a non-SYN it may drop SYN-only options: MSS, WS,
     * SACK_PERM, TFO). Other MPTCP options may be left out by its sharing
     * rules (Linux's mptcp_write_options), not checked here. */
    for (size_t i = 0; i < n_mp; i++) {
        mptcp_opt_form f = pw[i].form;
        bool critical = (f >= MPTCP_OPT_MPC_SYN && f <= MPTCP_OPT_JOIN_ACK) ||
                        f == MPTCP_OPT_FASTCLOSE || f == MPTCP_OPT_TCPRST || f == MPTCP_OPT_FAIL;
        FUZZ_CHECK(!critical || (plan.mptcp_fit & (1u << i)), "plan leaves out critical %s",
                   mptcp_opt_form_name(f));
    }
    if (w > 0) {
        uint32_t must = spec.opts.present;
        if (!(spec.hdr.flags & MPTCP_TH_SYN))
            must &= MPTCP_TCPO_TS | MPTCP_TCPO_SACK;
        FUZZ_CHECK((plan.tcp_fit & must) == must, "all fits, plan drops tcp %#x of %#x",
                   must & ~plan.tcp_fit, must);
        if (must & MPTCP_TCPO_SACK)
            FUZZ_CHECK(plan.sack_count == spec.opts.sack_count, "all fits, plan keeps %u of %u SACK",
                       plan.sack_count, spec.opts.sack_count);
    }
    mptcp_opt fit[MPTCP_SEG_MAX_MPTCP];
    size_t n_fit = 0;
    for (size_t i = 0; i < n_mp; i++)
        if (plan.mptcp_fit & (1u << i))
            fit[n_fit++] = pw[i];
    mptcp_seg_spec fs = spec;
    fs.opts.present = plan.tcp_fit;
    fs.opts.sack_count = (plan.tcp_fit & MPTCP_TCPO_SACK) ? plan.sack_count : 0;
    fs.mptcp = fit;
    fs.n_mptcp = n_fit;
    mptcp_ssize wf = emit_and_compare(&s, &fs, NULL, NULL);
    FUZZ_CHECK(wf > 0, "writing the planned subset failed: %td (%s)", wf, mptcp_strerror((int)wf));
    FUZZ_CHECK((size_t)wf - fs.payload_len - MPTCP_TCP_HDR_LEN == plan.len,
               "planned %u option bytes, writer used %zu", plan.len,
               (size_t)wf - fs.payload_len - MPTCP_TCP_HDR_LEN);

    /* The plan's subset is itself a valid wish list that fits: planning it
     * again keeps all of it, at the same length. */
    mptcp_opt_plan again;
    r = mptcp_opt_plan_fit(&fs, &again);
    FUZZ_CHECK(r == 0, "re-planning the planned subset gave %d (%s)", r, mptcp_strerror(r));
    uint32_t all = n_fit == 32 ? UINT32_MAX : (uint32_t)((1ull << n_fit) - 1);
    FUZZ_CHECK(again.tcp_fit == fs.opts.present && again.mptcp_fit == all &&
                   again.sack_count == fs.opts.sack_count && again.len == plan.len,
               "re-planning the planned subset drops something: tcp %#x/%#x mptcp %#x/%#x "
               "sack %u/%u len %u/%u",
               again.tcp_fit, fs.opts.present, again.mptcp_fit, all, again.sack_count,
               fs.opts.sack_count, again.len, plan.len);
    return 0;
}
