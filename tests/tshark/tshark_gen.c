/*
 * tshark_gen.c - writes one TCP segment per option form libmptcp can encode
 * (every MPTCP option form of RFC 8684 section 3 and the RFC 6824 v0 forms,
 * plus MSS, WS, SACK_PERM, SACK, TS and TFO) into a pcap, and an expectation
 * file that says, field by field, what a dissector must decode from each
 * packet. The expectations are derived from the structs handed to the
 * encoder (mptcp_seg_write/mptcp_opt_write), never from the bytes it wrote,
 * so compare_pdml.py checks our encoder against Wireshark's dissector.
 *
 * Usage: tshark_gen OUT.pcap OUT.expect
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/pcap.h"
#include "mptcp.h"

/* Distinctive values: a field that lands in the wrong place shows at once. */
#define KEY_A 0x0102030405060708ull
#define KEY_B 0x1112131415161718ull
#define TOKEN 0xa1b2c3d4u
#define NONCE_A 0xc1c2c3c4u
#define NONCE_B 0xc5c6c7c8u
#define THMAC 0xd1d2d3d4d5d6d7d8ull
#define DSN64 0x2122232425262728ull
#define ACK64 0x3132333435363738ull
#define SSN 0x41424344u
#define ADDR_HMAC 0x6162636465666768ull

/* Keys differ per packet (top byte XOR frame number): Wireshark's MPTCP
 * analysis links subflows by key, and one key in two streams would make
 * it compare them as one connection. */
#define KEY_A_OF(g) (KEY_A ^ ((uint64_t)((g)->n + 1) << 56))
#define KEY_B_OF(g) (KEY_B ^ ((uint64_t)((g)->n + 1) << 56))

typedef struct gen {
    mptcp_test_pcap *pc;
    FILE *ex;
    unsigned n;      /* packets written */
    unsigned fields; /* expectations written */
    unsigned gaps;   /* fields Wireshark 4.0 is known not to decode */
    int failed;
} gen;

static void fail(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tshark_gen: packet %u: ", g->n + 1);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g->failed = 1;
}

/* Expectation lines: "F <field> <type> <value>"; types: u (unsigned integer,
 * compared numerically), ip (address), hex (bytes), none (present, no value). */
static void ex_u(gen *g, const char *field, uint64_t v)
{
    fprintf(g->ex, "F %s u %" PRIu64 "\n", field, v);
    g->fields++;
}

static void ex_hex(gen *g, const char *field, const uint8_t *b, size_t n)
{
    fprintf(g->ex, "F %s hex ", field);
    for (size_t i = 0; i < n; i++)
        fprintf(g->ex, "%02x", b[i]);
    fputc('\n', g->ex);
    g->fields++;
}

static void ex_none(gen *g, const char *field)
{
    fprintf(g->ex, "F %s none -\n", field);
    g->fields++;
}

static void ex_addr(gen *g, const char *field, const mptcp_addr *a)
{
    const uint8_t *p = a->ip;
    if (a->family == MPTCP_AF_INET) {
        fprintf(g->ex, "F %s ip %u.%u.%u.%u\n", field, p[0], p[1], p[2], p[3]);
    } else {
        fprintf(g->ex, "F %s ip ", field);
        for (int i = 0; i < 16; i += 2)
            fprintf(g->ex, "%s%x", i ? ":" : "", (unsigned)(p[i] << 8 | p[i + 1]));
        fputc('\n', g->ex);
    }
    g->fields++;
}

/*
 * A field we encode that Wireshark 4.0 does not decode (NOTES.md says why):
 * "K <field> <type> <value>". If a later Wireshark decodes it, the value
 * must match; while it does not, the comparer lists it as a known gap.
 */
static void ex_gap_u(gen *g, const char *field, uint64_t v)
{
    fprintf(g->ex, "K %s u %" PRIu64 "\n", field, v);
    g->gaps++;
}

/* A field Wireshark adds from a reading we consider wrong (NOTES.md):
 * tolerated when present, never required. */
static void ex_tolerate(gen *g, const char *field)
{
    fprintf(g->ex, "K %s none -\n", field);
}

/* A Warning-level expert message tshark may show for this packet. */
static void ex_allow(gen *g, const char *msg)
{
    fprintf(g->ex, "X %s\n", msg);
}

static void ex_bit(gen *g, const char *field, unsigned v, unsigned bit)
{
    ex_u(g, field, (v & bit) ? 1 : 0);
}

/* ------------------------------------------------------------ MPTCP options */

static void expect_mptcp(gen *g, const mptcp_opt *o, size_t len)
{
    static const uint8_t subtype[MPTCP_OPT_FORM_COUNT] = {
        [MPTCP_OPT_MPC_SYN] = MPTCP_SUB_CAPABLE,    [MPTCP_OPT_MPC_SYNACK] = MPTCP_SUB_CAPABLE,
        [MPTCP_OPT_MPC_ACK] = MPTCP_SUB_CAPABLE,    [MPTCP_OPT_MPC_DATA] = MPTCP_SUB_CAPABLE,
        [MPTCP_OPT_MPC_V0_SYN] = MPTCP_SUB_CAPABLE, [MPTCP_OPT_MPC_V0_ACK] = MPTCP_SUB_CAPABLE,
        [MPTCP_OPT_JOIN_SYN] = MPTCP_SUB_JOIN,      [MPTCP_OPT_JOIN_SYNACK] = MPTCP_SUB_JOIN,
        [MPTCP_OPT_JOIN_ACK] = MPTCP_SUB_JOIN,      [MPTCP_OPT_DSS] = MPTCP_SUB_DSS,
        [MPTCP_OPT_ADD_ADDR] = MPTCP_SUB_ADD_ADDR,  [MPTCP_OPT_REMOVE_ADDR] = MPTCP_SUB_REMOVE_ADDR,
        [MPTCP_OPT_PRIO] = MPTCP_SUB_PRIO,          [MPTCP_OPT_FAIL] = MPTCP_SUB_FAIL,
        [MPTCP_OPT_FASTCLOSE] = MPTCP_SUB_FASTCLOSE, [MPTCP_OPT_TCPRST] = MPTCP_SUB_TCPRST,
        [MPTCP_OPT_EXPERIMENTAL] = MPTCP_SUB_EXPERIMENTAL,
    };
    ex_u(g, "tcp.option_kind", MPTCP_TCPOPT_MPTCP);
    ex_u(g, "tcp.option_len", len);
    ex_u(g, "tcp.options.mptcp.subtype", subtype[o->form]);

    switch (o->form) {
    case MPTCP_OPT_MPC_SYN:
    case MPTCP_OPT_MPC_SYNACK:
    case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA:
    case MPTCP_OPT_MPC_V0_SYN:
    case MPTCP_OPT_MPC_V0_ACK: {
        const mptcp_opt_mpc *m = &o->u.mpc;
        ex_u(g, "tcp.options.mptcp.version", m->version);
        ex_u(g, "tcp.options.mptcp.flags", m->flags);
        ex_bit(g, "tcp.options.mptcp.checksumreq.flags", m->flags, MPTCP_MPC_A);
        ex_bit(g, "tcp.options.mptcp.extensibility.flag", m->flags, MPTCP_MPC_B);
        /* C exists in v1 only (RFC 8684 3.1); in RFC 6824 it was a crypto bit. */
        if (m->version)
            ex_bit(g, "tcp.options.mptcp.nomoresubflows.flag", m->flags, MPTCP_MPC_C);
        if (m->version && (m->flags & MPTCP_MPC_C)) {
            /* Wireshark 4.0 still counts C among the crypto bits: NOTES.md 1. */
            ex_tolerate(g, "mptcp.connection.unsupported_algorithm");
            ex_allow(g, "Unsupported algorithm");
        }
        /* H names the HMAC: SHA-256 in v1 (RFC 8684 3.1), SHA-1 in v0. */
        ex_bit(g, m->version ? "tcp.options.mptcp.sha256.flag" : "tcp.options.mptcp.sha1.flag",
               m->flags, MPTCP_MPC_H);
        ex_u(g, "tcp.options.mptcp.reserved.flag", (m->flags >> 1) & 0x0f);
        bool has_snd = o->form != MPTCP_OPT_MPC_SYN;
        bool has_rcv = o->form == MPTCP_OPT_MPC_ACK || o->form == MPTCP_OPT_MPC_DATA ||
                       o->form == MPTCP_OPT_MPC_V0_ACK;
        if (has_snd) {
            uint32_t token;
            uint64_t idsn;
            ex_u(g, "tcp.options.mptcp.sendkey", m->snd_key);
            /* Wireshark derives token and IDSN from the key: a free
             * cross-check of mptcp_key_derive (RFC 8684 3.1 / RFC 6824 3.1). */
            mptcp_key_derive(m->version, m->snd_key, &token, &idsn);
            ex_u(g, "mptcp.expected_token", token);
            ex_u(g, "mptcp.expected_idsn", idsn);
        }
        if (has_rcv)
            ex_u(g, "tcp.options.mptcp.recvkey", m->rcv_key);
        if (o->form == MPTCP_OPT_MPC_DATA) {
            ex_u(g, "tcp.options.mptcp.datalvllen", m->data_len);
            if (m->has_csum)
                ex_u(g, "tcp.options.mptcp.checksum", m->csum);
        }
        break;
    }
    case MPTCP_OPT_JOIN_SYN:
    case MPTCP_OPT_JOIN_SYNACK: {
        const mptcp_opt_join *j = &o->u.join;
        /* Wireshark's "flags" item spans the whole subtype byte (NOTES.md 2). */
        ex_u(g, "tcp.options.mptcp.flags", MPTCP_SUB_JOIN << 4 | (j->backup ? 1 : 0));
        ex_u(g, "tcp.options.mptcp.backup.flag", j->backup ? 1 : 0);
        ex_u(g, "tcp.options.mptcp.addrid", j->addr_id);
        if (o->form == MPTCP_OPT_JOIN_SYN)
            ex_u(g, "tcp.options.mptcp.recvtok", j->token);
        else
            ex_u(g, "tcp.options.mptcp.sendtrunchmac", j->thmac);
        ex_u(g, "tcp.options.mptcp.sendrand", j->nonce);
        break;
    }
    case MPTCP_OPT_JOIN_ACK:
        ex_u(g, "tcp.options.mptcp.reserved", 0);
        ex_hex(g, "tcp.options.mptcp.sendhmac", o->u.join.hmac, 20);
        break;
    case MPTCP_OPT_DSS: {
        const mptcp_opt_dss *d = &o->u.dss;
        unsigned fl = (d->has_ack ? MPTCP_DSS_A : 0) | (d->ack64 ? MPTCP_DSS_a : 0) |
                      (d->has_map ? MPTCP_DSS_M : 0) | (d->dsn64 ? MPTCP_DSS_m : 0) |
                      (d->fin ? MPTCP_DSS_F : 0);
        ex_u(g, "tcp.options.mptcp.flags", fl);
        ex_bit(g, "tcp.options.mptcp.datafin.flag", fl, MPTCP_DSS_F);
        ex_bit(g, "tcp.options.mptcp.dseqn8.flag", fl, MPTCP_DSS_m);
        ex_bit(g, "tcp.options.mptcp.dseqnpresent.flag", fl, MPTCP_DSS_M);
        ex_bit(g, "tcp.options.mptcp.dataack8.flag", fl, MPTCP_DSS_a);
        ex_bit(g, "tcp.options.mptcp.dataackpresent.flag", fl, MPTCP_DSS_A);
        if (d->has_ack) {
            ex_u(g, "tcp.options.mptcp.rawdataack",
                 d->ack64 ? d->data_ack : (d->data_ack & 0xffffffffu));
            /* The analysis shows the 64-bit value when it has one (absolute
             * numbers; a 32-bit one needs the connection's history). */
            if (d->ack64)
                ex_u(g, "mptcp.ack", d->data_ack);
        }
        if (d->has_map) {
            ex_u(g, "tcp.options.mptcp.rawdataseqno", d->dsn64 ? d->dsn : (d->dsn & 0xffffffffu));
            if (d->dsn64)
                ex_u(g, "mptcp.dss.dsn", d->dsn);
            else if (d->ack64) /* Wireshark 4.0 reads 'a' for 'm': NOTES.md 4 */
                ex_gap_u(g, "mptcp.dss.dsn", d->dsn & 0xffffffffu);
            ex_u(g, "tcp.options.mptcp.subflowseqno", d->ssn);
            ex_u(g, "tcp.options.mptcp.datalvllen", d->data_len);
            if (d->has_csum) /* not decoded by Wireshark 4.0: NOTES.md 3 */
                ex_gap_u(g, "tcp.options.mptcp.checksum", d->csum);
            if (d->data_len == 0) { /* RFC 8684 3.3.1: length 0 = infinite mapping */
                ex_none(g, "mptcp.dss.infinite_mapping");
                ex_allow(g, "Fallback to infinite mapping");
            }
        }
        break;
    }
    case MPTCP_OPT_ADD_ADDR: {
        const mptcp_opt_add_addr *a = &o->u.add_addr;
        ex_u(g, "tcp.options.mptcp.echo", a->echo ? 1 : 0);
        ex_u(g, "tcp.options.mptcp.addrid", a->addr_id);
        ex_addr(g, a->addr.family == MPTCP_AF_INET ? "tcp.options.mptcp.ipv4"
                                                   : "tcp.options.mptcp.ipv6",
                &a->addr);
        if (a->addr.port)
            ex_u(g, "tcp.options.mptcp.port", a->addr.port);
        if (!a->echo)
            ex_u(g, "tcp.options.mptcp.addaddrtrunchmac", a->hmac);
        break;
    }
    case MPTCP_OPT_REMOVE_ADDR:
        ex_u(g, "mptcp.rm_addr.count", o->u.rm_addr.count);
        for (unsigned i = 0; i < o->u.rm_addr.count; i++)
            ex_u(g, "tcp.options.mptcp.addrid", o->u.rm_addr.ids[i]);
        break;
    case MPTCP_OPT_PRIO:
        ex_u(g, "tcp.options.mptcp.flags", MPTCP_SUB_PRIO << 4 | (o->u.prio.backup ? 1 : 0));
        ex_u(g, "tcp.options.mptcp.backup.flag", o->u.prio.backup ? 1 : 0);
        if (o->u.prio.has_addr_id)
            ex_u(g, "tcp.options.mptcp.addrid", o->u.prio.addr_id);
        break;
    case MPTCP_OPT_FAIL:
        ex_u(g, "tcp.options.mptcp.reserved", 0);
        ex_u(g, "tcp.options.mptcp.rawdataseqno", o->u.fail.dsn);
        break;
    case MPTCP_OPT_FASTCLOSE:
        ex_u(g, "tcp.options.mptcp.reserved", 0);
        ex_u(g, "tcp.options.mptcp.recvkey", o->u.fastclose.rcv_key);
        break;
    case MPTCP_OPT_TCPRST: {
        unsigned f = o->u.tcprst.flags & 0x0f;
        ex_u(g, "tcp.options.mptcp.flags", MPTCP_SUB_TCPRST << 4 | f);
        ex_bit(g, "tcp.options.mptcp.flag_U.flag", f, 0x8);
        ex_bit(g, "tcp.options.mptcp.flag_V.flag", f, 0x4);
        ex_bit(g, "tcp.options.mptcp.flag_W.flag", f, 0x2);
        ex_bit(g, "tcp.options.mptcp.flag_T.flag", f, MPTCP_TCPRST_T);
        ex_u(g, "tcp.options.mptcp.rst_reason", o->u.tcprst.reason);
        break;
    }
    case MPTCP_OPT_EXPERIMENTAL:
        /* Opaque by definition (RFC 8684 3.8): nothing past the subtype. */
        break;
    default:
        fail(g, "no expectation for form %d", (int)o->form);
        break;
    }
}

/* -------------------------------------------------------------- TCP options */

/* In the order mptcp_seg_write documents: MSS, SACK_PERM, TS, WS, SACK, TFO
 * (NOP padding is not compared: its placement is the encoder's choice). */
static void expect_tcp_opts(gen *g, const mptcp_tcp_opts *t)
{
    if (t->present & MPTCP_TCPO_MSS) {
        ex_u(g, "tcp.option_kind", 2);
        ex_u(g, "tcp.option_len", 4);
        ex_u(g, "tcp.options.mss_val", t->mss);
    }
    if (t->present & MPTCP_TCPO_SACK_PERM) {
        ex_u(g, "tcp.option_kind", 4);
        ex_u(g, "tcp.option_len", 2);
    }
    if (t->present & MPTCP_TCPO_TS) {
        ex_u(g, "tcp.option_kind", 8);
        ex_u(g, "tcp.option_len", 10);
        ex_u(g, "tcp.options.timestamp.tsval", t->ts_val);
        ex_u(g, "tcp.options.timestamp.tsecr", t->ts_ecr);
    }
    if (t->present & MPTCP_TCPO_WSCALE) {
        ex_u(g, "tcp.option_kind", 3);
        ex_u(g, "tcp.option_len", 3);
        ex_u(g, "tcp.options.wscale.shift", t->wscale);
        ex_u(g, "tcp.options.wscale.multiplier", 1u << t->wscale);
    }
    if (t->present & MPTCP_TCPO_SACK) {
        ex_u(g, "tcp.option_kind", 5);
        ex_u(g, "tcp.option_len", 2 + 8u * t->sack_count);
        for (unsigned i = 0; i < t->sack_count; i++) {
            ex_u(g, "tcp.options.sack_le", t->sack[i].left);
            ex_u(g, "tcp.options.sack_re", t->sack[i].right);
        }
        ex_u(g, "tcp.options.sack.count", t->sack_count);
    }
    if (t->present & MPTCP_TCPO_TFO) {
        ex_u(g, "tcp.option_kind", 34);
        ex_u(g, "tcp.option_len", 2u + t->tfo_cookie_len);
        if (t->tfo_cookie_len)
            ex_hex(g, "tcp.options.tfo.cookie", t->tfo_cookie, t->tfo_cookie_len);
        else
            ex_none(g, "tcp.options.tfo.request");
    }
}

/* --------------------------------------------------------------- segments */

typedef struct seg_case {
    const char *name;
    uint16_t flags;
    mptcp_tcp_opts opts;
    mptcp_opt mptcp[3];
    size_t n_mptcp;
    size_t payload_len;
    bool v6;
} seg_case;

static void addr4(mptcp_addr *a, uint8_t last, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->family = MPTCP_AF_INET;
    a->ip[0] = 192;
    a->ip[1] = 0;
    a->ip[2] = 2;
    a->ip[3] = last;
    a->port = port;
}

static void addr6(mptcp_addr *a, uint8_t last, uint16_t port)
{
    static const uint8_t pfx[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                    0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0};
    memset(a, 0, sizeof(*a));
    a->family = MPTCP_AF_INET6;
    memcpy(a->ip, pfx, 16);
    a->ip[15] = last;
    a->port = port;
}

static void emit(gen *g, const seg_case *c)
{
    unsigned idx = g->n;
    mptcp_addr src, dst;
    uint16_t sport = (uint16_t)(40000 + idx), dport = (uint16_t)(50000 + idx);
    if (c->v6) {
        addr6(&src, 1, sport);
        addr6(&dst, 2, dport);
    } else {
        addr4(&src, 1, sport);
        addr4(&dst, 2, dport);
    }

    uint8_t payload[64];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(0x80 + i);
    if (c->payload_len > sizeof(payload)) {
        fail(g, "payload too long");
        return;
    }

    mptcp_seg_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.hdr.sport = sport;
    spec.hdr.dport = dport;
    spec.hdr.seq = 0x0a0b0c0du + idx;
    spec.hdr.ack = (c->flags & MPTCP_TH_ACK) ? 0x1a1b1c1du : 0;
    spec.hdr.flags = c->flags;
    spec.hdr.window = (uint16_t)(0x7000 + idx);
    spec.opts = c->opts;
    spec.mptcp = c->mptcp;
    spec.n_mptcp = c->n_mptcp;
    spec.payload = payload;
    spec.payload_len = c->payload_len;

    /* Each MPTCP option alone through mptcp_opt_write: its length must be
     * the one mptcp_opt_len promises. */
    size_t opt_len[3];
    for (size_t i = 0; i < c->n_mptcp; i++) {
        uint8_t buf[40];
        mptcp_ssize w = mptcp_opt_write(buf, sizeof(buf), &c->mptcp[i]);
        opt_len[i] = mptcp_opt_len(&c->mptcp[i]);
        if (w <= 0 || (size_t)w != opt_len[i]) {
            fail(g, "%s: mptcp_opt_write returned %td, mptcp_opt_len %zu", c->name, w,
                 opt_len[i]);
            return;
        }
    }

    uint8_t seg[120];
    mptcp_ssize n = mptcp_seg_write(seg, sizeof(seg), &spec, &src, &dst);
    if (n < (mptcp_ssize)(MPTCP_TCP_HDR_LEN + c->payload_len)) {
        fail(g, "%s: mptcp_seg_write returned %td (%s)", c->name, n,
             n < 0 ? mptcp_strerror((int)n) : "short");
        return;
    }
    if (mptcp_test_pcap_write_tcp(g->pc, (uint64_t)(idx + 1) * 1000u, &src, &dst, seg,
                                  (size_t)n) != 0) {
        fail(g, "%s: pcap write failed", c->name);
        return;
    }
    g->n++;

    fprintf(g->ex, "P %u %s\n", g->n, c->name);
    ex_addr(g, c->v6 ? "ipv6.src" : "ip.src", &src);
    ex_addr(g, c->v6 ? "ipv6.dst" : "ip.dst", &dst);
    if (!c->v6)
        ex_u(g, "ip.checksum.status", 1); /* 1 = Good */
    ex_u(g, "tcp.srcport", sport);
    ex_u(g, "tcp.dstport", dport);
    ex_u(g, "tcp.seq_raw", spec.hdr.seq);
    ex_u(g, "tcp.ack_raw", spec.hdr.ack);
    ex_u(g, "tcp.flags", c->flags);
    ex_u(g, "tcp.window_size_value", spec.hdr.window);
    ex_u(g, "tcp.urgent_pointer", 0);
    ex_u(g, "tcp.hdr_len", (size_t)n - c->payload_len);
    ex_u(g, "tcp.len", c->payload_len);
    ex_u(g, "tcp.checksum.status", 1); /* our TCP checksum, verified by tshark */
    if (c->flags & MPTCP_TH_RST)
        ex_allow(g, "Connection reset (RST)");
    if ((c->flags & MPTCP_TH_SYN) && !(c->opts.present & MPTCP_TCPO_MSS))
        ex_none(g, "tcp.options.mss.absent"); /* a Note: correct, RFC 9293 3.7.1 */
    expect_tcp_opts(g, &c->opts);
    for (size_t i = 0; i < c->n_mptcp; i++)
        expect_mptcp(g, &c->mptcp[i], opt_len[i]);
}

/* ------------------------------------------------------------------ cases */

#define SYN MPTCP_TH_SYN
#define ACK MPTCP_TH_ACK
#define SYNACK (MPTCP_TH_SYN | MPTCP_TH_ACK)
#define RST MPTCP_TH_RST

static seg_case mk(const char *name, uint16_t flags)
{
    seg_case c;
    memset(&c, 0, sizeof(c));
    c.name = name;
    c.flags = flags;
    return c;
}

static mptcp_opt *add(seg_case *c, mptcp_opt_form form)
{
    mptcp_opt *o = &c->mptcp[c->n_mptcp++];
    memset(o, 0, sizeof(*o));
    o->form = form;
    return o;
}

static void gen_mpc(gen *g)
{
    seg_case c;
    mptcp_opt *o;

    c = mk("MP_CAPABLE v1 SYN", SYN);
    o = add(&c, MPTCP_OPT_MPC_SYN);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_A | MPTCP_MPC_H;
    emit(g, &c);

    c = mk("MP_CAPABLE v1 SYN C flag, no checksum", SYN);
    o = add(&c, MPTCP_OPT_MPC_SYN);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_C | MPTCP_MPC_H;
    emit(g, &c);

    c = mk("MP_CAPABLE v1 SYN/ACK", SYNACK);
    o = add(&c, MPTCP_OPT_MPC_SYNACK);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_B_OF(g);
    emit(g, &c);

    c = mk("MP_CAPABLE v1 ACK", ACK);
    o = add(&c, MPTCP_OPT_MPC_ACK);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_A | MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_A_OF(g);
    o->u.mpc.rcv_key = KEY_B_OF(g);
    emit(g, &c);

    c = mk("MP_CAPABLE v1 ACK+data (22)", ACK | MPTCP_TH_PSH);
    o = add(&c, MPTCP_OPT_MPC_DATA);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_A_OF(g);
    o->u.mpc.rcv_key = KEY_B_OF(g);
    o->u.mpc.data_len = 13;
    c.payload_len = 13;
    emit(g, &c);

    c = mk("MP_CAPABLE v1 ACK+data+checksum (24)", ACK | MPTCP_TH_PSH);
    o = add(&c, MPTCP_OPT_MPC_DATA);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_A | MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_A_OF(g);
    o->u.mpc.rcv_key = KEY_B_OF(g);
    o->u.mpc.data_len = 17;
    o->u.mpc.has_csum = true;
    o->u.mpc.csum = 0x7172;
    c.payload_len = 17;
    emit(g, &c);

    c = mk("MP_CAPABLE v0 SYN", SYN);
    o = add(&c, MPTCP_OPT_MPC_V0_SYN);
    o->u.mpc.version = 0;
    o->u.mpc.flags = MPTCP_MPC_A | MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_A_OF(g);
    emit(g, &c);

    c = mk("MP_CAPABLE v0 ACK", ACK);
    o = add(&c, MPTCP_OPT_MPC_V0_ACK);
    o->u.mpc.version = 0;
    o->u.mpc.flags = MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_A_OF(g);
    o->u.mpc.rcv_key = KEY_B_OF(g);
    emit(g, &c);
}

static void gen_join(gen *g)
{
    for (int backup = 0; backup <= 1; backup++) {
        seg_case c;
        mptcp_opt *o;
        c = mk(backup ? "MP_JOIN SYN backup" : "MP_JOIN SYN", SYN);
        c.v6 = backup;
        o = add(&c, MPTCP_OPT_JOIN_SYN);
        o->u.join.backup = backup;
        o->u.join.addr_id = (uint8_t)(0x17 + backup);
        o->u.join.token = TOKEN;
        o->u.join.nonce = NONCE_A;
        emit(g, &c);

        c = mk(backup ? "MP_JOIN SYN/ACK backup" : "MP_JOIN SYN/ACK", SYNACK);
        c.v6 = backup;
        o = add(&c, MPTCP_OPT_JOIN_SYNACK);
        o->u.join.backup = backup;
        o->u.join.addr_id = (uint8_t)(0x27 + backup);
        o->u.join.thmac = THMAC;
        o->u.join.nonce = NONCE_B;
        emit(g, &c);
    }
    seg_case c = mk("MP_JOIN ACK", ACK);
    mptcp_opt *o = add(&c, MPTCP_OPT_JOIN_ACK);
    for (int i = 0; i < 20; i++)
        o->u.join.hmac[i] = (uint8_t)(0xe0 + i);
    emit(g, &c);
}

static void dss(gen *g, const char *name, uint16_t flags, bool has_ack, bool ack64, bool has_map,
                bool dsn64, uint16_t data_len, size_t payload, bool csum, bool fin)
{
    seg_case c = mk(name, flags);
    mptcp_opt *o = add(&c, MPTCP_OPT_DSS);
    mptcp_opt_dss *d = &o->u.dss;
    d->has_ack = has_ack;
    d->ack64 = ack64;
    d->data_ack = has_ack ? (ack64 ? ACK64 : (ACK64 & 0xffffffffu)) : 0;
    d->has_map = has_map;
    d->dsn64 = dsn64;
    d->dsn = has_map ? (dsn64 ? DSN64 : (DSN64 & 0xffffffffu)) : 0;
    d->ssn = has_map ? SSN : 0;
    d->data_len = data_len;
    d->has_csum = csum;
    d->csum = csum ? 0x5a5b : 0;
    d->fin = fin;
    c.payload_len = payload;
    emit(g, &c);
}

static void gen_dss(gen *g)
{
    dss(g, "DSS ack32", ACK, true, false, false, false, 0, 0, false, false);
    dss(g, "DSS ack64", ACK, true, true, false, false, 0, 0, false, false);
    dss(g, "DSS map32", ACK | MPTCP_TH_PSH, false, false, true, false, 20, 20, false, false);
    dss(g, "DSS map64", ACK | MPTCP_TH_PSH, false, false, true, true, 21, 21, false, false);
    dss(g, "DSS ack64 map32", ACK | MPTCP_TH_PSH, true, true, true, false, 19, 19, false, false);
    dss(g, "DSS ack32 map32", ACK | MPTCP_TH_PSH, true, false, true, false, 22, 22, false, false);
    dss(g, "DSS ack64 map64", ACK | MPTCP_TH_PSH, true, true, true, true, 23, 23, false, false);
    dss(g, "DSS ack32 map64 checksum", ACK | MPTCP_TH_PSH, true, false, true, true, 24, 24, true,
        false);
    dss(g, "DSS ack64 map64 checksum (28)", ACK | MPTCP_TH_PSH, true, true, true, true, 25, 25,
        true, false);
    dss(g, "DSS map32 checksum", ACK | MPTCP_TH_PSH, false, false, true, false, 26, 26, true,
        false);
    dss(g, "DSS DATA_FIN alone", ACK, true, true, true, true, 1, 0, false, true);
    dss(g, "DSS DATA_FIN on data", ACK | MPTCP_TH_PSH | MPTCP_TH_FIN, true, false, true, false, 9,
        8, false, true);
    dss(g, "DSS infinite mapping", ACK | MPTCP_TH_PSH, true, true, true, true, 0, 10, false, false);
    dss(g, "DSS infinite mapping checksum", ACK | MPTCP_TH_PSH, true, false, true, true, 0, 10,
        true, false);
}

static void gen_add_addr(gen *g)
{
    static char names[8][48]; /* seg_case keeps a pointer to its name */
    for (int v6 = 0; v6 <= 1; v6++)
        for (int port = 0; port <= 1; port++)
            for (int echo = 0; echo <= 1; echo++) {
                int k = v6 * 4 + port * 2 + echo;
                snprintf(names[k], sizeof(names[k]), "ADD_ADDR %s%s%s", v6 ? "IPv6" : "IPv4",
                         port ? " port" : "", echo ? " echo" : "");
                seg_case c = mk(names[k], ACK);
                c.v6 = v6;
                mptcp_opt *o = add(&c, MPTCP_OPT_ADD_ADDR);
                o->u.add_addr.echo = echo;
                o->u.add_addr.addr_id = (uint8_t)(0x30 + k);
                if (v6) {
                    addr6(&o->u.add_addr.addr, (uint8_t)(0x90 + k), 0);
                } else {
                    addr4(&o->u.add_addr.addr, (uint8_t)(0x90 + k), 0);
                    o->u.add_addr.addr.ip[0] = 198;
                    o->u.add_addr.addr.ip[1] = 51;
                    o->u.add_addr.addr.ip[2] = 100;
                }
                o->u.add_addr.addr.port = port ? (uint16_t)(0x1f90 + k) : 0;
                o->u.add_addr.hmac = echo ? 0 : ADDR_HMAC + (uint64_t)k;
                emit(g, &c);
            }
}

static void gen_misc(gen *g)
{
    seg_case c;
    mptcp_opt *o;

    c = mk("REMOVE_ADDR one ID", ACK);
    o = add(&c, MPTCP_OPT_REMOVE_ADDR);
    o->u.rm_addr.count = 1;
    o->u.rm_addr.ids[0] = 0x42;
    emit(g, &c);

    c = mk("REMOVE_ADDR five IDs", ACK);
    o = add(&c, MPTCP_OPT_REMOVE_ADDR);
    o->u.rm_addr.count = 5;
    for (int i = 0; i < 5; i++)
        o->u.rm_addr.ids[i] = (uint8_t)(0x51 + 3 * i);
    emit(g, &c);

    c = mk("MP_PRIO backup", ACK);
    o = add(&c, MPTCP_OPT_PRIO);
    o->u.prio.backup = true;
    emit(g, &c);

    c = mk("MP_PRIO not backup", ACK);
    o = add(&c, MPTCP_OPT_PRIO);
    o->u.prio.backup = false;
    emit(g, &c);

    c = mk("MP_PRIO v0 with address ID", ACK);
    o = add(&c, MPTCP_OPT_PRIO);
    o->u.prio.backup = true;
    o->u.prio.has_addr_id = true;
    o->u.prio.addr_id = 0x63;
    emit(g, &c);

    c = mk("MP_FAIL", ACK);
    o = add(&c, MPTCP_OPT_FAIL);
    o->u.fail.dsn = DSN64;
    emit(g, &c);

    c = mk("MP_FASTCLOSE on ACK", ACK);
    o = add(&c, MPTCP_OPT_FASTCLOSE);
    o->u.fastclose.rcv_key = KEY_B_OF(g);
    emit(g, &c);

    static const struct {
        const char *name;
        uint8_t flags, reason;
    } rst[] = {
        {"MP_TCPRST unspecified", 0, MPTCP_RSTCODE_UNSPEC},
        {"MP_TCPRST MPTCP error, transient", MPTCP_TCPRST_T, MPTCP_RSTCODE_MPTCP},
        {"MP_TCPRST lack of resources, transient", MPTCP_TCPRST_T, MPTCP_RSTCODE_RESOURCE},
        {"MP_TCPRST administratively prohibited", 0, MPTCP_RSTCODE_PROHIBITED},
        {"MP_TCPRST too much outstanding data", 0, MPTCP_RSTCODE_WQ2BIG},
        {"MP_TCPRST unacceptable performance, T", MPTCP_TCPRST_T, MPTCP_RSTCODE_BADPERF},
        {"MP_TCPRST middlebox interference", 0, MPTCP_RSTCODE_MIDDLEBOX},
        {"MP_TCPRST unassigned reason 0x9c, U V W T", 0xf, 0x9c},
    };
    for (size_t i = 0; i < sizeof(rst) / sizeof(rst[0]); i++) {
        c = mk(rst[i].name, RST | ACK);
        o = add(&c, MPTCP_OPT_TCPRST);
        o->u.tcprst.flags = rst[i].flags;
        o->u.tcprst.reason = rst[i].reason;
        emit(g, &c);
    }

    c = mk("MP_FASTCLOSE + MP_TCPRST on RST", RST | ACK);
    o = add(&c, MPTCP_OPT_FASTCLOSE);
    o->u.fastclose.rcv_key = KEY_A_OF(g);
    o = add(&c, MPTCP_OPT_TCPRST);
    o->u.tcprst.flags = MPTCP_TCPRST_T;
    o->u.tcprst.reason = MPTCP_RSTCODE_MPTCP;
    emit(g, &c);

    c = mk("MP_EXPERIMENTAL 5 bytes", ACK);
    o = add(&c, MPTCP_OPT_EXPERIMENTAL);
    o->u.exp.nibble = 0xa;
    o->u.exp.len = 5;
    for (int i = 0; i < 5; i++)
        o->u.exp.data[i] = (uint8_t)(0xb1 + i);
    emit(g, &c);

    c = mk("MP_EXPERIMENTAL empty", ACK);
    o = add(&c, MPTCP_OPT_EXPERIMENTAL);
    o->u.exp.nibble = 0x3;
    o->u.exp.len = 0;
    emit(g, &c);
}

static void gen_tcp_opts(gen *g)
{
    seg_case c;
    mptcp_opt *o;

    /* A full SYN the way Linux sends one, with MP_CAPABLE. */
    c = mk("SYN MSS SACK_PERM TS WS + MP_CAPABLE", SYN);
    c.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE;
    c.opts.mss = 1460;
    c.opts.ts_val = 0x71727374u;
    c.opts.ts_ecr = 0;
    c.opts.wscale = 7;
    o = add(&c, MPTCP_OPT_MPC_SYN);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_H;
    emit(g, &c);

    c = mk("SYN/ACK MSS WS TS + MP_CAPABLE", SYNACK);
    c.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE;
    c.opts.mss = 1400;
    c.opts.ts_val = 0x81828384u;
    c.opts.ts_ecr = 0x71727374u;
    c.opts.wscale = 14;
    o = add(&c, MPTCP_OPT_MPC_SYNACK);
    o->u.mpc.version = 1;
    o->u.mpc.flags = MPTCP_MPC_H;
    o->u.mpc.snd_key = KEY_B_OF(g);
    emit(g, &c);

    c = mk("SYN TFO cookie request", SYN);
    c.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_TFO;
    c.opts.mss = 536;
    c.opts.tfo_cookie_len = 0;
    emit(g, &c);

    c = mk("SYN TFO cookie 8 bytes + data", SYN);
    c.opts.present = MPTCP_TCPO_TFO;
    c.opts.tfo_cookie_len = 8;
    for (int i = 0; i < 8; i++)
        c.opts.tfo_cookie[i] = (uint8_t)(0xc0 + i);
    c.payload_len = 5;
    emit(g, &c);

    c = mk("SYN/ACK TFO cookie 16 bytes", SYNACK);
    c.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_TFO;
    c.opts.mss = 9000;
    c.opts.tfo_cookie_len = 16;
    for (int i = 0; i < 16; i++)
        c.opts.tfo_cookie[i] = (uint8_t)(0xd0 + i);
    emit(g, &c);

    for (int n = 1; n <= 4; n++) {
        static const char *names[] = {"ACK SACK 1 block", "ACK SACK 2 blocks + TS",
                                      "ACK SACK 3 blocks + TS", "ACK SACK 4 blocks"};
        c = mk(names[n - 1], ACK);
        c.opts.present = MPTCP_TCPO_SACK | (n == 2 || n == 3 ? MPTCP_TCPO_TS : 0);
        c.opts.ts_val = 0x91929394u;
        c.opts.ts_ecr = 0x95969798u;
        c.opts.sack_count = (uint8_t)n;
        /* Above the ACK number (0x1a1b1c1d), so no block reads as a D-SACK. */
        for (int i = 0; i < n; i++) {
            c.opts.sack[i].left = 0x1a1b2000u + 0x1000u * (uint32_t)i;
            c.opts.sack[i].right = c.opts.sack[i].left + 0x100u + (uint32_t)i;
        }
        emit(g, &c);
    }

    c = mk("ACK TS + DSS ack64 map64 checksum", ACK | MPTCP_TH_PSH);
    c.opts.present = MPTCP_TCPO_TS;
    c.opts.ts_val = 0xa1a2a3a4u;
    c.opts.ts_ecr = 0xa5a6a7a8u;
    o = add(&c, MPTCP_OPT_DSS);
    o->u.dss.has_ack = o->u.dss.ack64 = true;
    o->u.dss.data_ack = ACK64;
    o->u.dss.has_map = o->u.dss.dsn64 = true;
    o->u.dss.dsn = DSN64;
    o->u.dss.ssn = SSN;
    o->u.dss.data_len = 7;
    o->u.dss.has_csum = true;
    o->u.dss.csum = mptcp_dss_csum(DSN64, SSN, 7, (const uint8_t *)"\x80\x81\x82\x83\x84\x85\x86", 7);
    c.payload_len = 7;
    emit(g, &c);

    c = mk("ACK TS + DSS ack32 + ADD_ADDR IPv4 echo + MP_PRIO", ACK);
    c.opts.present = MPTCP_TCPO_TS;
    c.opts.ts_val = 0xb1b2b3b4u;
    c.opts.ts_ecr = 0xb5b6b7b8u;
    o = add(&c, MPTCP_OPT_DSS);
    o->u.dss.has_ack = true;
    o->u.dss.data_ack = 0xc1c2c3c4u;
    o = add(&c, MPTCP_OPT_ADD_ADDR);
    o->u.add_addr.echo = true;
    o->u.add_addr.addr_id = 9;
    addr4(&o->u.add_addr.addr, 77, 0);
    o = add(&c, MPTCP_OPT_PRIO);
    o->u.prio.backup = true;
    emit(g, &c);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.pcap OUT.expect\n", argv[0]);
        return 2;
    }
    gen g;
    memset(&g, 0, sizeof(g));
    g.pc = mptcp_test_pcap_open(argv[1]);
    g.ex = fopen(argv[2], "w");
    if (!g.pc || !g.ex) {
        perror("tshark_gen: open");
        return 1;
    }
    fprintf(g.ex, "# libmptcp tshark expectations: P <frame> <name>, F <field> <type> <value>,"
                  " X <allowed warning>\n");
    gen_mpc(&g);
    gen_join(&g);
    gen_dss(&g);
    gen_add_addr(&g);
    gen_misc(&g);
    gen_tcp_opts(&g);
    if (mptcp_test_pcap_close(g.pc) != 0 || fclose(g.ex) != 0) {
        perror("tshark_gen: close");
        return 1;
    }
    if (g.failed)
        return 1;
    printf("tshark_gen: %u segments, %u expected fields, %u more that Wireshark 4.0 may not decode\n",
           g.n, g.fields, g.gaps);
    fflush(stdout);
    return 0;
}
