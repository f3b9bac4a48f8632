/*
 * kcap_verify.c - checks a capture of a Linux kernel MPTCP v1 connection
 * with libmptcp's codec and crypto: every option parses and re-encodes to
 * the kernel's exact bytes; MP_JOIN tokens, first DSNs, MP_JOIN and ADD_ADDR
 * HMACs and TCP/DSS checksums agree with our derivations (RFC 8684 sections
 * 2.1-2.3, 3.1-3.4; RFC 9293 section 3.1 for the TCP checksum). It does not
 * model the protocol state machine: it pins bytes and crypto, not behaviour.
 * Usage: kcap_verify [--expect-dss-csum] [--bytes C:S]
 *                    [--seeds DIR --seed-prefix P] capture.pcap
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/pcap_read.h"
#include "mptcp.h"

#define MAX_SUBFLOWS 32
#define MAX_CONNS 8
#define MAX_ADDADDR 64
#define MAX_SEEDS 30
#define SEED_PAYLOAD 32
#define MAX_DIFF_REPORTS 20

/* ------------------------------------------------------------ checks */

typedef struct check {
    const char *name;
    unsigned long pass, fail;
} check;

enum {
    CK_SEG_PARSE,
    CK_TCP_CSUM,
    CK_OPT_PARSE,
    CK_OPT_REENCODE,
    CK_MPC_KEYS,
    CK_JOIN_TOKEN,
    CK_JOIN_THMAC,
    CK_JOIN_HMAC,
    CK_ADDADDR_HMAC,
    CK_ADDADDR_ECHO,
    CK_FIRST_DSN,
    CK_DSN_RANGE,
    CK_DATA_ACK_RANGE,
    CK_DATA_FIN,
    CK_DSS_CSUM,
    CK_CSUM_NEGOTIATION,
    CK_COUNT
};

static check checks[CK_COUNT] = {
    [CK_SEG_PARSE] = {"segment parses (mptcp_seg_parse == 0)", 0, 0},
    [CK_TCP_CSUM] = {"TCP checksum verifies", 0, 0},
    [CK_OPT_PARSE] = {"MPTCP option parses (err == 0)", 0, 0},
    [CK_OPT_REENCODE] = {"option re-encodes to the kernel's bytes", 0, 0},
    [CK_MPC_KEYS] = {"MP_CAPABLE keys consistent", 0, 0},
    [CK_JOIN_TOKEN] = {"MP_JOIN SYN token == token(key)", 0, 0},
    [CK_JOIN_THMAC] = {"MP_JOIN SYN/ACK truncated HMAC", 0, 0},
    [CK_JOIN_HMAC] = {"MP_JOIN ACK HMAC", 0, 0},
    [CK_ADDADDR_HMAC] = {"ADD_ADDR HMAC", 0, 0},
    [CK_ADDADDR_ECHO] = {"ADD_ADDR echoed by the peer", 0, 0},
    [CK_FIRST_DSN] = {"first DSN == IDSN + 1", 0, 0},
    [CK_DSN_RANGE] = {"mapping DSN within the sender's space", 0, 0},
    [CK_DATA_ACK_RANGE] = {"DATA_ACK within the peer's space", 0, 0},
    [CK_DATA_FIN] = {"DATA_FIN at the end of the stream", 0, 0},
    [CK_DSS_CSUM] = {"DSS checksum over the mapped payload", 0, 0},
    [CK_CSUM_NEGOTIATION] = {"checksum flag/presence as configured", 0, 0},
};

static unsigned long frame_no;

static void ck(int id, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ck(int id, bool ok, const char *fmt, ...)
{
    if (ok) {
        checks[id].pass++;
        return;
    }
    checks[id].fail++;
    if (checks[id].fail > MAX_DIFF_REPORTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL [%s] frame %lu: ", checks[id].name, frame_no);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* ------------------------------------------------------------ state */

/* Payload bytes of one subflow direction, indexed by relative sequence. */
typedef struct stream {
    uint8_t *data;
    uint8_t *have; /* 1 per byte captured */
    size_t cap;
    /* segment boundaries, to accumulate checksums chunk by chunk */
    uint32_t *seg_start, *seg_len;
    size_t n_seg, cap_seg;
} stream;

typedef struct mapping {
    int sf, dir;
    uint64_t dsn;
    bool dsn64;
    uint32_t ssn;
    uint16_t len;
    bool has_csum, fin, implicit;
    uint16_t csum;
    unsigned long frame;
} mapping;

typedef struct conn {
    uint64_t key[2]; /* 0 = the MP_CAPABLE initiator (client), 1 = server */
    bool have_key[2];
    uint32_t token[2];
    uint64_t idsn[2];
    uint16_t mpc_data_len[2]; /* implicit mapping length, from MPC DATA */
    bool mpc_flags_seen;
    uint8_t mpc_flags[3]; /* SYN, SYN/ACK, ACK flag bytes */
} conn;

typedef struct subflow {
    mptcp_addr a, b; /* a = SYN sender */
    uint32_t isn[2]; /* dir 0 = a->b */
    bool have_isn[2];
    bool is_mpc, is_join;
    int conn;        /* -1 until known */
    int side_a;      /* which conn side a is (0 client, 1 server), -1 unknown */
    mptcp_opt_join jsyn, jsynack, jack;
    bool have_jsyn, have_jsynack, have_jack;
    unsigned long f_jsyn, f_jsynack, f_jack;
    stream st[2];
} subflow;

typedef struct addaddr {
    int sf, dir;
    mptcp_opt_add_addr o;
    unsigned long frame;
} addaddr;

typedef struct dataack {
    int sf, dir;
    uint64_t ack;
    bool ack64;
    unsigned long frame;
} dataack;

static subflow sfs[MAX_SUBFLOWS];
static int n_sf;
static conn conns[MAX_CONNS];
static int n_conn;
static addaddr aas[MAX_ADDADDR];
static int n_aa;
static mapping *maps;
static size_t n_map, cap_map;
static dataack *acks;
static size_t n_ack, cap_ack;

static unsigned long n_segments, n_payload_bytes, n_tcp_frames, n_non_mptcp;
static unsigned long form_count[MPTCP_OPT_FORM_COUNT];
static unsigned long dss_maps, dss_acks, dss_fins, dss_csums;
static unsigned long dss_by_len[41], dss_ack32, dss_ack64, dss_dsn32, dss_dsn64;

static bool opt_expect_csum;
static const char *seed_dir, *seed_prefix = "kernel-";
static char seed_sigs[MAX_SEEDS][96];
static int n_seeds;
static long long expect_bytes[2] = {-1, -1};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "kcap_verify: out of memory\n");
        exit(2);
    }
    return q;
}

static bool addr_eq(const mptcp_addr *x, const mptcp_addr *y)
{
    size_t n = x->family == MPTCP_AF_INET ? 4 : 16;
    return x->family == y->family && x->port == y->port && memcmp(x->ip, y->ip, n) == 0;
}

static const char *addr_str(const mptcp_addr *a, char *buf, size_t cap)
{
    if (a->family == MPTCP_AF_INET)
        snprintf(buf, cap, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3], a->port);
    else
        snprintf(buf, cap, "[%02x%02x:%02x%02x:...:%02x%02x]:%u", a->ip[0], a->ip[1], a->ip[2],
                 a->ip[3], a->ip[14], a->ip[15], a->port);
    return buf;
}

static void hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    out[o] = 0;
}

/* Finds the subflow of a segment and its direction (0 = from the SYN sender). */
static int subflow_find(const mptcp_addr *src, const mptcp_addr *dst, int *dir)
{
    for (int i = n_sf - 1; i >= 0; i--) {
        if (addr_eq(&sfs[i].a, src) && addr_eq(&sfs[i].b, dst)) {
            *dir = 0;
            return i;
        }
        if (addr_eq(&sfs[i].b, src) && addr_eq(&sfs[i].a, dst)) {
            *dir = 1;
            return i;
        }
    }
    return -1;
}

static void stream_put(stream *s, uint32_t rel, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    size_t end = (size_t)rel + n;
    if (rel > (64u << 20) || end > (64u << 20))
        return; /* far outside what the test sends: not a payload we track */
    if (end > s->cap) {
        size_t nc = s->cap ? s->cap : 65536;
        while (nc < end)
            nc *= 2;
        s->data = xrealloc(s->data, nc);
        s->have = xrealloc(s->have, nc);
        memset(s->have + s->cap, 0, nc - s->cap);
        s->cap = nc;
    }
    memcpy(s->data + rel, p, n);
    memset(s->have + rel, 1, n);
    if (s->n_seg == s->cap_seg) {
        s->cap_seg = s->cap_seg ? s->cap_seg * 2 : 256;
        s->seg_start = xrealloc(s->seg_start, s->cap_seg * sizeof(uint32_t));
        s->seg_len = xrealloc(s->seg_len, s->cap_seg * sizeof(uint32_t));
    }
    s->seg_start[s->n_seg] = rel;
    s->seg_len[s->n_seg] = (uint32_t)n;
    s->n_seg++;
}

/* ------------------------------------------------------------ seeds */

static void seed_maybe(const mptcp_seg *sg, const uint8_t *seg, size_t len)
{
    if (!seed_dir || n_seeds >= MAX_SEEDS)
        return;
    char sig[96];
    size_t o = (size_t)snprintf(sig, sizeof(sig), "f%03x-p%d", sg->hdr.flags & 0x1ff,
                                sg->payload_len > 0);
    for (int i = 0; i < sg->n_mptcp && o + 8 < sizeof(sig); i++) {
        const mptcp_seg_mptcp *m = &sg->mptcp[i];
        unsigned extra = 0;
        if (m->err == 0 && m->opt.form == MPTCP_OPT_DSS)
            extra = (unsigned)(m->opt.u.dss.has_ack | m->opt.u.dss.ack64 << 1 |
                               m->opt.u.dss.has_map << 2 | m->opt.u.dss.dsn64 << 3 |
                               m->opt.u.dss.fin << 4 | m->opt.u.dss.has_csum << 5);
        else if (m->err == 0 && m->opt.form == MPTCP_OPT_ADD_ADDR)
            extra = m->opt.u.add_addr.echo;
        o += (size_t)snprintf(sig + o, sizeof(sig) - o, "-%d.%x",
                              m->err == 0 ? (int)m->opt.form : 99, extra);
    }
    for (int i = 0; i < n_seeds; i++)
        if (strcmp(seed_sigs[i], sig) == 0)
            return;
    snprintf(seed_sigs[n_seeds], sizeof(seed_sigs[0]), "%s", sig);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s%02d.bin", seed_dir, seed_prefix, n_seeds);
    n_seeds++;
    size_t keep = sg->payload_off + (sg->payload_len < SEED_PAYLOAD ? sg->payload_len
                                                                      : SEED_PAYLOAD);
    if (keep > len)
        keep = len;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(seg, 1, keep, f) != keep) {
        fprintf(stderr, "kcap_verify: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fclose(f);
}

/* ------------------------------------------------------------ per segment */

static void reencode(const mptcp_seg_mptcp *m, const uint8_t *seg)
{
    uint8_t ours[64];
    mptcp_ssize n = mptcp_opt_write(ours, sizeof(ours), &m->opt);
    const uint8_t *theirs = seg + m->offset;
    bool ok = n == (mptcp_ssize)m->len && memcmp(ours, theirs, m->len) == 0;
    if (ok) {
        ck(CK_OPT_REENCODE, true, " ");
        return;
    }
    char h1[160], h2[160], where[160] = "";
    hex(theirs, m->len, h1, sizeof(h1));
    if (n > 0) {
        hex(ours, (size_t)n, h2, sizeof(h2));
        size_t w = 0;
        for (size_t i = 0; i < (size_t)n && i < m->len; i++)
            if (ours[i] != theirs[i])
                w += (size_t)snprintf(where + w, sizeof(where) - w, " byte %zu: %02x vs %02x;",
                                      i, theirs[i], ours[i]);
    } else {
        snprintf(h2, sizeof(h2), "error %d (%s)", (int)n, mptcp_strerror((int)n));
    }
    ck(CK_OPT_REENCODE, false, "%s: kernel %s (len %u), ours %s (len %td);%s",
       mptcp_opt_form_name(m->opt.form), h1, m->len, h2, n, where);
}

static int conn_new(void)
{
    if (n_conn == MAX_CONNS) {
        fprintf(stderr, "kcap_verify: more than %d MPTCP connections\n", MAX_CONNS);
        exit(2);
    }
    memset(&conns[n_conn], 0, sizeof(conns[0]));
    return n_conn++;
}

static void add_mapping(int sf, int dir, uint64_t dsn, bool dsn64, uint32_t ssn, uint16_t len,
                        bool has_csum, uint16_t csum, bool fin, bool implicit)
{
    if (n_map == cap_map) {
        cap_map = cap_map ? cap_map * 2 : 1024;
        maps = xrealloc(maps, cap_map * sizeof(*maps));
    }
    maps[n_map++] = (mapping){sf, dir, dsn, dsn64, ssn, len, has_csum, fin, implicit, csum,
                              frame_no};
}

static void on_segment(const pcap_read_tcp *t)
{
    mptcp_seg sg;
    mptcp_addr src = t->src, dst = t->dst;
    n_tcp_frames++;
    if (t->len < t->ip_len) {
        ck(CK_SEG_PARSE, false, "capture truncated (%zu of %zu bytes)", t->len, t->ip_len);
        return;
    }
    int rc = mptcp_seg_parse(t->seg, t->len, &sg);
    ck(CK_SEG_PARSE, rc == 0, "mptcp_seg_parse: %d (%s)", rc, mptcp_strerror(rc));
    if (rc != 0)
        return;
    n_segments++;
    n_payload_bytes += sg.payload_len;
    src.port = sg.hdr.sport;
    dst.port = sg.hdr.dport;
    char sa[64], da[64];
    ck(CK_TCP_CSUM, mptcp_tcp_csum_ok(t->seg, t->len, &src, &dst),
       "%s -> %s checksum 0x%04x does not verify", addr_str(&src, sa, sizeof(sa)),
       addr_str(&dst, da, sizeof(da)), sg.hdr.csum);
    seed_maybe(&sg, t->seg, t->len);

    int dir = 0;
    int sfi = subflow_find(&src, &dst, &dir);
    bool syn = sg.hdr.flags & MPTCP_TH_SYN, ack = sg.hdr.flags & MPTCP_TH_ACK;
    if (syn && !ack && (sfi < 0 || (sfi >= 0 && dir == 0 && sfs[sfi].have_isn[0] &&
                                    sfs[sfi].isn[0] != sg.hdr.seq))) {
        if (n_sf == MAX_SUBFLOWS) {
            fprintf(stderr, "kcap_verify: more than %d subflows\n", MAX_SUBFLOWS);
            exit(2);
        }
        sfi = n_sf++;
        memset(&sfs[sfi], 0, sizeof(sfs[0]));
        sfs[sfi].a = src;
        sfs[sfi].b = dst;
        sfs[sfi].conn = -1;
        sfs[sfi].side_a = -1;
        dir = 0;
    }
    if (sfi < 0) {
        if (sg.n_mptcp)
            ck(CK_MPC_KEYS, false, "MPTCP options on a subflow whose SYN was not captured");
        n_non_mptcp++;
        return;
    }
    subflow *sf = &sfs[sfi];
    if (syn) {
        sf->isn[dir] = sg.hdr.seq;
        sf->have_isn[dir] = true;
    }
    if (sg.payload_len && sf->have_isn[dir])
        stream_put(&sf->st[dir], sg.hdr.seq - sf->isn[dir], t->seg + sg.payload_off,
                   sg.payload_len);
    if (sg.n_mptcp == 0)
        n_non_mptcp++;

    for (int i = 0; i < sg.n_mptcp; i++) {
        const mptcp_seg_mptcp *m = &sg.mptcp[i];
        ck(CK_OPT_PARSE, m->err == 0, "option at offset %u (subtype %u, len %u): %d (%s)",
           m->offset, m->subtype, m->len, m->err, mptcp_strerror(m->err));
        if (m->err != 0)
            continue;
        const mptcp_opt *o = &m->opt;
        form_count[o->form]++;
        reencode(m, t->seg);
        conn *c = sf->conn >= 0 ? &conns[sf->conn] : NULL;
        /* side of the sender of this segment within the connection */
        int side = sf->side_a < 0 ? -1 : (dir == 0 ? sf->side_a : 1 - sf->side_a);
        switch (o->form) {
        case MPTCP_OPT_MPC_SYN:
            if (!sf->is_mpc) {
                sf->is_mpc = true;
                sf->conn = conn_new();
                sf->side_a = 0;
                conns[sf->conn].mpc_flags[0] = o->u.mpc.flags;
            }
            break;
        case MPTCP_OPT_MPC_SYNACK:
            if (c && side == 1) {
                c->key[1] = o->u.mpc.snd_key;
                c->have_key[1] = true;
                c->mpc_flags[1] = o->u.mpc.flags;
            } else {
                ck(CK_MPC_KEYS, false, "MP_CAPABLE SYN/ACK without its SYN");
            }
            break;
        case MPTCP_OPT_MPC_ACK:
        case MPTCP_OPT_MPC_DATA:
            if (!c || side < 0) {
                ck(CK_MPC_KEYS, false, "MP_CAPABLE ACK on a subflow without MPC SYN");
                break;
            }
            /* snd_key is the sender's, rcv_key the receiver's (RFC 8684 3.1) */
            if (c->have_key[side])
                ck(CK_MPC_KEYS, c->key[side] == o->u.mpc.snd_key,
                   "sender key changed: %016" PRIx64 " then %016" PRIx64, c->key[side],
                   o->u.mpc.snd_key);
            c->key[side] = o->u.mpc.snd_key;
            c->have_key[side] = true;
            ck(CK_MPC_KEYS, c->have_key[1 - side] && c->key[1 - side] == o->u.mpc.rcv_key,
               "receiver key %016" PRIx64 " differs from the one in the SYN/ACK %016" PRIx64,
               o->u.mpc.rcv_key, c->key[1 - side]);
            if (o->form == MPTCP_OPT_MPC_ACK)
                c->mpc_flags[2] = o->u.mpc.flags;
            if (o->form == MPTCP_OPT_MPC_DATA) {
                uint64_t idsn;
                mptcp_key_derive(1, o->u.mpc.snd_key, NULL, &idsn);
                /* The implicit mapping: DSN = IDSN + 1, SSN 1 (RFC 8684 3.1.1) */
                add_mapping(sfi, dir, idsn + 1, true, 1, o->u.mpc.data_len, o->u.mpc.has_csum,
                            o->u.mpc.csum, false, true);
                c->mpc_data_len[side] = o->u.mpc.data_len;
                dss_maps++;
            }
            break;
        case MPTCP_OPT_JOIN_SYN:
            sf->is_join = true;
            sf->jsyn = o->u.join;
            sf->have_jsyn = true;
            sf->f_jsyn = frame_no;
            break;
        case MPTCP_OPT_JOIN_SYNACK:
            sf->jsynack = o->u.join;
            sf->have_jsynack = true;
            sf->f_jsynack = frame_no;
            break;
        case MPTCP_OPT_JOIN_ACK:
            sf->jack = o->u.join;
            sf->have_jack = true;
            sf->f_jack = frame_no;
            break;
        case MPTCP_OPT_DSS: {
            const mptcp_opt_dss *d = &o->u.dss;
            dss_by_len[m->len <= 40 ? m->len : 0]++;
            if (d->has_ack)
                *(d->ack64 ? &dss_ack64 : &dss_ack32) += 1;
            if (d->has_map)
                *(d->dsn64 ? &dss_dsn64 : &dss_dsn32) += 1;
            if (d->has_map) {
                dss_maps++;
                if (d->has_csum)
                    dss_csums++;
                if (d->fin)
                    dss_fins++;
                add_mapping(sfi, dir, d->dsn, d->dsn64, d->ssn, d->data_len, d->has_csum,
                            d->csum, d->fin, false);
            }
            if (d->has_ack) {
                dss_acks++;
                if (n_ack == cap_ack) {
                    cap_ack = cap_ack ? cap_ack * 2 : 1024;
                    acks = xrealloc(acks, cap_ack * sizeof(*acks));
                }
                acks[n_ack++] = (dataack){sfi, dir, d->data_ack, d->ack64, frame_no};
            }
            break;
        }
        case MPTCP_OPT_ADD_ADDR:
            if (n_aa < MAX_ADDADDR)
                aas[n_aa++] = (addaddr){sfi, dir, o->u.add_addr, frame_no};
            break;
        default:
            break;
        }
    }
}

/* ------------------------------------------------------------ end checks */

/* Conn side of the sender of direction |dir| on subflow |s|, or -1. */
static int sender_side(const subflow *s, int dir)
{
    if (s->conn < 0 || s->side_a < 0)
        return -1;
    return dir == 0 ? s->side_a : 1 - s->side_a;
}

/* Expands a 32-bit DSN or DATA_ACK next to |ref| (RFC 8684 3.3.1). */
static uint64_t expand(uint64_t v, bool is64, uint64_t ref)
{
    if (is64)
        return v;
    uint64_t x = (ref & ~(uint64_t)0xffffffffu) | (v & 0xffffffffu);
    if (x + 0x80000000u < ref)
        x += (uint64_t)1 << 32;
    else if (x > ref + 0x80000000u)
        x -= (uint64_t)1 << 32;
    return x;
}

static void check_conns(void)
{
    for (int i = 0; i < n_conn; i++) {
        conn *c = &conns[i];
        ck(CK_MPC_KEYS, c->have_key[0] && c->have_key[1],
           "connection %d: MP_CAPABLE handshake incomplete (client key %s, server key %s)", i,
           c->have_key[0] ? "seen" : "missing", c->have_key[1] ? "seen" : "missing");
        for (int s = 0; s < 2; s++)
            mptcp_key_derive(1, c->key[s], &c->token[s], &c->idsn[s]);
        printf("connection %d: client key %016" PRIx64 " token %08" PRIx32 " idsn %016" PRIx64
               "\n              server key %016" PRIx64 " token %08" PRIx32 " idsn %016" PRIx64
               "\n", i, c->key[0], c->token[0], c->idsn[0], c->key[1], c->token[1],
               c->idsn[1]);
        bool want_a = opt_expect_csum;
        frame_no = 0;
        for (int k = 0; k < 3; k++)
            ck(CK_CSUM_NEGOTIATION, !!(c->mpc_flags[k] & MPTCP_MPC_A) == want_a,
               "MP_CAPABLE %s flags 0x%02x: A (checksum) should be %d",
               k == 0 ? "SYN" : k == 1 ? "SYN/ACK" : "ACK", c->mpc_flags[k], want_a);
    }
}

static unsigned long joins_ok;

static void check_joins(void)
{
    for (int i = 0; i < n_sf; i++) {
        subflow *s = &sfs[i];
        if (!s->is_join)
            continue;
        frame_no = s->f_jsyn;
        /* The SYN carries the receiver's token (RFC 8684 3.2). */
        int ci = -1, recv_side = -1;
        for (int k = 0; k < n_conn && ci < 0; k++)
            for (int side = 0; side < 2; side++)
                if (conns[k].have_key[side] && conns[k].token[side] == s->jsyn.token) {
                    ci = k;
                    recv_side = side;
                }
        ck(CK_JOIN_TOKEN, ci >= 0,
           "MP_JOIN SYN token %08" PRIx32 " is no token of a key seen in MP_CAPABLE",
           s->jsyn.token);
        if (ci < 0)
            continue;
        s->conn = ci;
        s->side_a = 1 - recv_side;
        conn *c = &conns[ci];
        uint64_t ka = c->key[s->side_a], kb = c->key[recv_side];
        if (!s->have_jsynack || !s->have_jack) {
            ck(CK_JOIN_THMAC, false, "MP_JOIN subflow without %s",
               !s->have_jsynack ? "SYN/ACK" : "third ACK");
            continue;
        }
        frame_no = s->f_jsynack;
        /* Responder B: HMAC(K_B||K_A, R_B||R_A), leftmost 64 bits. */
        uint64_t th = mptcp_join_thmac(1, kb, ka, s->jsynack.nonce, s->jsyn.nonce);
        bool ok1 = th == s->jsynack.thmac;
        ck(CK_JOIN_THMAC, ok1, "SYN/ACK thmac %016" PRIx64 ", ours %016" PRIx64,
           s->jsynack.thmac, th);
        frame_no = s->f_jack;
        /* Initiator A: HMAC(K_A||K_B, R_A||R_B), leftmost 160 bits. */
        uint8_t h[20];
        mptcp_join_hmac(1, ka, kb, s->jsyn.nonce, s->jsynack.nonce, h);
        bool ok2 = memcmp(h, s->jack.hmac, 20) == 0;
        char h1[48], h2[48];
        hex(s->jack.hmac, 20, h1, sizeof(h1));
        hex(h, 20, h2, sizeof(h2));
        ck(CK_JOIN_HMAC, ok2, "ACK hmac %s, ours %s", h1, h2);
        if (ok1 && ok2)
            joins_ok++;
    }
}

static unsigned long addaddr_ok, addaddr_echo_ok;

static void check_addaddr(void)
{
    for (int i = 0; i < n_aa; i++) {
        const addaddr *a = &aas[i];
        frame_no = a->frame;
        int side = sender_side(&sfs[a->sf], a->dir);
        if (side < 0) {
            ck(CK_ADDADDR_HMAC, false, "ADD_ADDR on a subflow of no known connection");
            continue;
        }
        const conn *c = &conns[sfs[a->sf].conn];
        if (a->o.echo) {
            /* an echo must follow an announcement from the other side */
            bool found = false;
            for (int k = 0; k < i && !found; k++)
                found = !aas[k].o.echo && aas[k].o.addr_id == a->o.addr_id &&
                        addr_eq(&aas[k].o.addr, &a->o.addr) &&
                        sender_side(&sfs[aas[k].sf], aas[k].dir) == 1 - side;
            ck(CK_ADDADDR_ECHO, found, "echo of id %u with no announcement before it",
               a->o.addr_id);
            addaddr_echo_ok += found;
            continue;
        }
        /* Sender key first (RFC 8684 3.4.1). */
        uint64_t h = mptcp_add_addr_hmac(c->key[side], c->key[1 - side], a->o.addr_id,
                                         &a->o.addr);
        char as[64];
        ck(CK_ADDADDR_HMAC, h == a->o.hmac,
           "ADD_ADDR id %u %s hmac %016" PRIx64 ", ours %016" PRIx64, a->o.addr_id,
           addr_str(&a->o.addr, as, sizeof(as)), a->o.hmac, h);
        addaddr_ok += h == a->o.hmac;
        bool echoed = false;
        for (int k = i + 1; k < n_aa && !echoed; k++)
            echoed = aas[k].o.echo && aas[k].o.addr_id == a->o.addr_id &&
                     sender_side(&sfs[aas[k].sf], aas[k].dir) == 1 - side;
        ck(CK_ADDADDR_ECHO, echoed, "ADD_ADDR id %u never echoed", a->o.addr_id);
    }
}

static unsigned long csum_verified, csum_multi;
static uint64_t stream_bytes[MAX_CONNS][2];

static void check_dss(void)
{
    for (int ci = 0; ci < n_conn; ci++) {
        conn *c = &conns[ci];
        for (int side = 0; side < 2; side++) {
            uint64_t base = c->idsn[side] + 1;
            uint64_t min_off = UINT64_MAX, end_off = 0, fin_off = UINT64_MAX;
            unsigned long n = 0, min_frame = 0;
            for (size_t i = 0; i < n_map; i++) {
                const mapping *m = &maps[i];
                if (sfs[m->sf].conn != ci || sender_side(&sfs[m->sf], m->dir) != side)
                    continue;
                frame_no = m->frame;
                uint64_t dsn = expand(m->dsn, m->dsn64, base);
                uint64_t off = dsn - base;
                ck(CK_DSN_RANGE, off < ((uint64_t)1 << 31),
                   "mapping DSN %016" PRIx64 " is %" PRIu64 " bytes from IDSN+1 %016" PRIx64, dsn,
                   off, base);
                if (off >= ((uint64_t)1 << 31))
                    continue;
                n++;
                if (!m->implicit && off < min_off) {
                    min_off = off;
                    min_frame = m->frame;
                }
                if (off + m->len > end_off)
                    end_off = off + m->len;
                if (m->fin && off + m->len - 1 < fin_off)
                    fin_off = off + m->len - 1;
            }
            if (n == 0)
                continue;
            frame_no = min_frame;
            /* The first explicit mapping starts at IDSN + 1, or right after
             * the implicit mapping of an MP_CAPABLE with data. */
            bool first_ok = min_off == 0 || min_off == c->mpc_data_len[side];
            ck(CK_FIRST_DSN, first_ok,
               "connection %d %s: first DSN is IDSN+1+%" PRIu64 " (implicit MPC mapping %u)", ci,
               side ? "server" : "client", min_off, c->mpc_data_len[side]);
            frame_no = 0;
            ck(CK_DATA_FIN, fin_off != UINT64_MAX && fin_off + 1 == end_off,
               "connection %d %s: DATA_FIN at offset %" PRIu64 ", data ends at %" PRIu64, ci,
               side ? "server" : "client", fin_off, end_off);
            stream_bytes[ci][side] = fin_off != UINT64_MAX ? fin_off : end_off;
            if (ci == 0 && expect_bytes[side] >= 0)
                ck(CK_DATA_FIN, stream_bytes[ci][side] == (uint64_t)expect_bytes[side],
                   "%s sent %lld bytes, the DSN space says %" PRIu64, side ? "server" : "client",
                   expect_bytes[side], stream_bytes[ci][side]);
        }
    }
    /* DATA_ACKs acknowledge the peer's DSN space: IDSN_peer + 1 + [0, bytes + 1]. */
    for (size_t i = 0; i < n_ack; i++) {
        const dataack *a = &acks[i];
        int side = sender_side(&sfs[a->sf], a->dir);
        if (side < 0)
            continue;
        const conn *c = &conns[sfs[a->sf].conn];
        uint64_t base = c->idsn[1 - side] + 1;
        uint64_t v = expand(a->ack, a->ack64, base);
        frame_no = a->frame;
        ck(CK_DATA_ACK_RANGE, v - base < ((uint64_t)1 << 31),
           "DATA_ACK %016" PRIx64 " outside the peer's space starting %016" PRIx64, v, base);
    }
    /* DSS checksums over the mapped payload, chunk by captured segment. */
    for (size_t i = 0; i < n_map; i++) {
        const mapping *m = &maps[i];
        frame_no = m->frame;
        bool want = opt_expect_csum;
        ck(CK_CSUM_NEGOTIATION, m->has_csum == want, "mapping %s a checksum",
           m->has_csum ? "carries" : "lacks");
        if (!m->has_csum)
            continue;
        int side = sender_side(&sfs[m->sf], m->dir);
        if (side < 0)
            continue;
        uint64_t dsn = expand(m->dsn, m->dsn64, conns[sfs[m->sf].conn].idsn[side] + 1);
        /* A DATA_FIN takes one byte of the data-level length but none of
         * the subflow payload (RFC 8684 3.3.1). */
        uint32_t plen = (uint32_t)m->len - (m->fin ? 1u : 0u);
        const stream *st = &sfs[m->sf].st[m->dir];
        uint32_t lo = m->ssn, hi = m->ssn + plen;
        bool have = (size_t)hi <= st->cap;
        for (uint32_t k = lo; have && k < hi; k++)
            have = st->have[k];
        if (!have) {
            ck(CK_DSS_CSUM, false, "mapped payload ssn %u+%u not fully captured", lo, plen);
            continue;
        }
        uint32_t sum = mptcp_dss_csum_begin(dsn, m->ssn, m->len);
        uint32_t done = lo, chunks = 0;
        /* Accumulate piecewise along the captured segment boundaries (odd
         * lengths exercise the |offset| chaining of mptcp_csum_add). */
        for (size_t k = 0; k < st->n_seg && done < hi; k++) {
            uint32_t s0 = st->seg_start[k], s1 = s0 + st->seg_len[k];
            if (s1 <= done || s0 > done)
                continue;
            uint32_t e = s1 < hi ? s1 : hi;
            sum = mptcp_csum_add(sum, st->data + done, e - done, done - lo);
            done = e;
            chunks++;
        }
        if (done < hi)
            sum = mptcp_csum_add(sum, st->data + done, hi - done, done - lo);
        uint16_t ours = mptcp_csum_fold(sum);
        uint16_t flat = mptcp_dss_csum(dsn, m->ssn, m->len, st->data + lo, plen);
        ck(CK_DSS_CSUM, ours == m->csum && flat == m->csum,
           "%s mapping dsn %016" PRIx64 " ssn %u len %u%s: kernel 0x%04x, ours 0x%04x "
           "(contiguous 0x%04x)", m->implicit ? "MPC" : "DSS", dsn, m->ssn, m->len,
           m->fin ? " +FIN" : "", m->csum, ours, flat);
        csum_verified += ours == m->csum;
        csum_multi += chunks > 1;
    }
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr, "usage: kcap_verify [--expect-dss-csum] [--bytes CLIENT:SERVER] "
                    "[--seeds DIR [--seed-prefix P]] capture.pcap\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-dss-csum") == 0) {
            opt_expect_csum = true;
        } else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            seed_dir = argv[++i];
        } else if (strcmp(argv[i], "--seed-prefix") == 0 && i + 1 < argc) {
            seed_prefix = argv[++i];
        } else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%lld:%lld", &expect_bytes[0], &expect_bytes[1]) != 2)
                return usage();
        } else if (argv[i][0] == '-' || path) {
            return usage();
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage();
    if (seed_dir)
        mkdir(seed_dir, 0755);

    pcap_read_file r;
    if (pcap_read_open(&r, path) != 0) {
        fprintf(stderr, "kcap_verify: %s\n", r.err);
        return 2;
    }
    pcap_read_pkt p;
    int rc;
    unsigned long frames = 0;
    while ((rc = pcap_read_next(&r, &p)) == 1) {
        frames++;
        frame_no = frames;
        pcap_read_tcp t;
        int k = pcap_read_tcp_of(r.linktype, p.data, p.caplen, &t);
        if (k < 0)
            ck(CK_SEG_PARSE, false, "malformed IP header");
        else if (k == 1)
            on_segment(&t);
    }
    if (rc < 0) {
        fprintf(stderr, "kcap_verify: %s\n", r.err);
        pcap_read_close(&r);
        return 2;
    }
    pcap_read_close(&r);

    check_conns();
    check_joins();
    check_addaddr();
    check_dss();

    /* What the capture must contain, or the test proves too little. */
    struct {
        const char *what;
        unsigned long n;
    } need[] = {
        {"MP_CAPABLE SYN", form_count[MPTCP_OPT_MPC_SYN]},
        {"MP_CAPABLE SYN/ACK", form_count[MPTCP_OPT_MPC_SYNACK]},
        {"MP_CAPABLE ACK", form_count[MPTCP_OPT_MPC_ACK]},
        {"verified MP_JOIN SYN + SYN/ACK + ACK", joins_ok},
        {"verified ADD_ADDR with HMAC", addaddr_ok},
        {"ADD_ADDR echo", addaddr_echo_ok},
        {"DSS with a mapping", dss_maps},
        {"DSS with a DATA_ACK", dss_acks},
        {"DSS with DATA_FIN", dss_fins},
        {"verified DSS checksum", opt_expect_csum ? csum_verified : 1},
    };
    bool missing = false;

    printf("\nframes %lu, TCP segments %lu (payload %lu bytes; %lu without MPTCP options), "
           "subflows %d, connections %d\n", frames, n_segments, n_payload_bytes, n_non_mptcp,
           n_sf, n_conn);
    printf("%-28s %8s\n", "option form", "count");
    for (int f = 1; f < MPTCP_OPT_FORM_COUNT; f++)
        if (form_count[f])
            printf("%-28s %8lu\n", mptcp_opt_form_name((mptcp_opt_form)f), form_count[f]);
    printf("%-28s %8lu (maps %lu incl. MPC data, acks %lu, DATA_FIN %lu, with csum %lu)\n",
           "  DSS detail", form_count[MPTCP_OPT_DSS], dss_maps, dss_acks, dss_fins, dss_csums);
    printf("  DSS lengths:");
    for (int l = 0; l <= 40; l++)
        if (dss_by_len[l])
            printf(" %d bytes x%lu,", l, dss_by_len[l]);
    printf(" DATA_ACK 32/64-bit %lu/%lu, DSN 32/64-bit %lu/%lu\n", dss_ack32, dss_ack64,
           dss_dsn32, dss_dsn64);
    if (opt_expect_csum)
        printf("DSS checksums verified: %lu (%lu of them over payload spanning several "
               "segments)\n", csum_verified, csum_multi);
    if (n_conn > 0)
        printf("data: client sent %" PRIu64 " bytes, server %" PRIu64 " (from the DSN space)\n",
               stream_bytes[0][0], stream_bytes[0][1]);
    printf("\n%-44s %8s %6s\n", "check", "passed", "failed");
    unsigned long total_fail = 0;
    for (int i = 0; i < CK_COUNT; i++) {
        printf("%-44s %8lu %6lu\n", checks[i].name, checks[i].pass, checks[i].fail);
        total_fail += checks[i].fail;
    }
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (need[i].n == 0) {
            printf("FAIL: the capture contains no %s\n", need[i].what);
            missing = true;
        }
    }
    if (seed_dir)
        printf("wrote %d seeds to %s\n", n_seeds, seed_dir);
    for (int i = 0; i < n_sf; i++)
        for (int d = 0; d < 2; d++) {
            free(sfs[i].st[d].data);
            free(sfs[i].st[d].have);
            free(sfs[i].st[d].seg_start);
            free(sfs[i].st[d].seg_len);
        }
    free(maps);
    free(acks);
    if (total_fail || missing) {
        printf("kcap_verify: FAIL (%lu failed checks%s)\n", total_fail,
               missing ? ", required content missing" : "");
        return 1;
    }
    printf("kcap_verify: all checks passed\n");
    return 0;
}
