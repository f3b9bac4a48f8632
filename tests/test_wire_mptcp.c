/*
 * MPTCP option codec (src/wire_mptcp.c): golden bytes from the RFC 8684
 * figures, exact lengths, write -> parse -> write identity over a table of
 * every valid form, every truncation, and a table of invalid inputs with
 * the exact error each must give. Inputs sit in exactly-sized heap buffers
 * so that ASan catches any read past the given length.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp.h"
#include "vectors/wire_golden.h"

/* A heap copy of exactly |n| bytes (at least one byte allocated). */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(q);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* Field-by-field equality of two decoded options (no memcmp: padding and
 * unused union members are not part of the value). */
static void assert_opt_eq(const mptcp_opt *a, const mptcp_opt *b)
{
    ck_assert_int_eq(a->form, b->form);
    switch (a->form) {
    case MPTCP_OPT_MPC_SYN: case MPTCP_OPT_MPC_SYNACK: case MPTCP_OPT_MPC_ACK:
    case MPTCP_OPT_MPC_DATA: case MPTCP_OPT_MPC_V0_SYN: case MPTCP_OPT_MPC_V0_ACK:
        ck_assert_uint_eq(a->u.mpc.version, b->u.mpc.version);
        ck_assert_uint_eq(a->u.mpc.flags, b->u.mpc.flags);
        ck_assert_uint_eq(a->u.mpc.snd_key, b->u.mpc.snd_key);
        ck_assert_uint_eq(a->u.mpc.rcv_key, b->u.mpc.rcv_key);
        ck_assert_uint_eq(a->u.mpc.data_len, b->u.mpc.data_len);
        ck_assert_int_eq(a->u.mpc.has_csum, b->u.mpc.has_csum);
        ck_assert_uint_eq(a->u.mpc.csum, b->u.mpc.csum);
        break;
    case MPTCP_OPT_JOIN_SYN: case MPTCP_OPT_JOIN_SYNACK: case MPTCP_OPT_JOIN_ACK:
        ck_assert_int_eq(a->u.join.backup, b->u.join.backup);
        ck_assert_uint_eq(a->u.join.addr_id, b->u.join.addr_id);
        ck_assert_uint_eq(a->u.join.token, b->u.join.token);
        ck_assert_uint_eq(a->u.join.nonce, b->u.join.nonce);
        ck_assert_uint_eq(a->u.join.thmac, b->u.join.thmac);
        ck_assert_mem_eq(a->u.join.hmac, b->u.join.hmac, 20);
        break;
    case MPTCP_OPT_DSS:
        /* fields whose flag is clear are not on the wire */
        ck_assert_int_eq(a->u.dss.has_ack, b->u.dss.has_ack);
        ck_assert_int_eq(a->u.dss.ack64, b->u.dss.ack64);
        if (a->u.dss.has_ack)
            ck_assert_uint_eq(a->u.dss.data_ack, b->u.dss.data_ack);
        ck_assert_int_eq(a->u.dss.has_map, b->u.dss.has_map);
        ck_assert_int_eq(a->u.dss.dsn64, b->u.dss.dsn64);
        if (a->u.dss.has_map) {
            ck_assert_uint_eq(a->u.dss.dsn, b->u.dss.dsn);
            ck_assert_uint_eq(a->u.dss.ssn, b->u.dss.ssn);
            ck_assert_uint_eq(a->u.dss.data_len, b->u.dss.data_len);
        }
        ck_assert_int_eq(a->u.dss.has_csum, b->u.dss.has_csum);
        if (a->u.dss.has_csum)
            ck_assert_uint_eq(a->u.dss.csum, b->u.dss.csum);
        ck_assert_int_eq(a->u.dss.fin, b->u.dss.fin);
        break;
    case MPTCP_OPT_ADD_ADDR:
        ck_assert_int_eq(a->u.add_addr.echo, b->u.add_addr.echo);
        ck_assert_uint_eq(a->u.add_addr.addr_id, b->u.add_addr.addr_id);
        ck_assert_uint_eq(a->u.add_addr.addr.family, b->u.add_addr.addr.family);
        ck_assert_uint_eq(a->u.add_addr.addr.port, b->u.add_addr.addr.port);
        ck_assert_mem_eq(a->u.add_addr.addr.ip, b->u.add_addr.addr.ip,
                         a->u.add_addr.addr.family == MPTCP_AF_INET ? 4 : 16);
        if (!a->u.add_addr.echo)
            ck_assert_uint_eq(a->u.add_addr.hmac, b->u.add_addr.hmac);
        break;
    case MPTCP_OPT_REMOVE_ADDR:
        ck_assert_uint_eq(a->u.rm_addr.count, b->u.rm_addr.count);
        ck_assert_mem_eq(a->u.rm_addr.ids, b->u.rm_addr.ids, a->u.rm_addr.count);
        break;
    case MPTCP_OPT_PRIO:
        ck_assert_int_eq(a->u.prio.backup, b->u.prio.backup);
        ck_assert_int_eq(a->u.prio.has_addr_id, b->u.prio.has_addr_id);
        if (a->u.prio.has_addr_id)
            ck_assert_uint_eq(a->u.prio.addr_id, b->u.prio.addr_id);
        break;
    case MPTCP_OPT_FAIL:
        ck_assert_uint_eq(a->u.fail.dsn, b->u.fail.dsn);
        break;
    case MPTCP_OPT_FASTCLOSE:
        ck_assert_uint_eq(a->u.fastclose.rcv_key, b->u.fastclose.rcv_key);
        break;
    case MPTCP_OPT_TCPRST:
        ck_assert_uint_eq(a->u.tcprst.flags, b->u.tcprst.flags);
        ck_assert_uint_eq(a->u.tcprst.reason, b->u.tcprst.reason);
        break;
    case MPTCP_OPT_EXPERIMENTAL:
        ck_assert_uint_eq(a->u.exp.nibble, b->u.exp.nibble);
        ck_assert_uint_eq(a->u.exp.len, b->u.exp.len);
        ck_assert_mem_eq(a->u.exp.data, b->u.exp.data, a->u.exp.len);
        break;
    default:
        ck_abort_msg("unexpected form %d", a->form);
    }
}

/* ------------------------------------------------------------ golden */

static const uint8_t v4a[4] = { 192, 168, 0, 2 }, v4b[4] = { 10, 0, 0, 1 };
static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

typedef struct golden {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    mptcp_opt opt; /* what the bytes mean, written from the same figure */
} golden;

#define G(n, b, ...) { n, b, sizeof(b), __VA_ARGS__ }
#define MPC(form_, ver, fl, sk, rk, dl, hc, cs) \
    { .form = form_, .u.mpc = { .version = ver, .flags = fl, .snd_key = sk, .rcv_key = rk, \
                                .data_len = dl, .has_csum = hc, .csum = cs } }
#define DSS(A, a, ack, M, m, dsn_, ssn_, len_, hc, cs, F) \
    { .form = MPTCP_OPT_DSS, .u.dss = { .has_ack = A, .ack64 = a, .data_ack = ack, \
      .has_map = M, .dsn64 = m, .dsn = dsn_, .ssn = ssn_, .data_len = len_, \
      .has_csum = hc, .csum = cs, .fin = F } }

static golden goldens[35];
static size_t n_goldens;

static mptcp_opt addr_opt(bool echo, uint8_t id, int fam, const uint8_t *ip, uint16_t port,
                          uint64_t hmac)
{
    mptcp_opt o = { .form = MPTCP_OPT_ADD_ADDR };
    o.u.add_addr.echo = echo;
    o.u.add_addr.addr_id = id;
    o.u.add_addr.addr.family = (uint8_t)fam;
    o.u.add_addr.addr.port = port;
    memcpy(o.u.add_addr.addr.ip, ip, fam == MPTCP_AF_INET ? 4 : 16);
    o.u.add_addr.hmac = echo ? 0 : hmac;
    return o;
}

static void goldens_init(void)
{
    size_t i = 0;
    mptcp_opt o;
#define ADD(n, b, opt_) goldens[i++] = (golden){ n, b, sizeof(b), opt_ }
    ADD("mpc_syn", g_mpc_syn, ((mptcp_opt)MPC(MPTCP_OPT_MPC_SYN, 1, 0x81, 0, 0, 0, 0, 0)));
    ADD("mpc_synack", g_mpc_synack,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_SYNACK, 1, 0x01, G_KEY_B, 0, 0, 0, 0)));
    ADD("mpc_ack", g_mpc_ack,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_ACK, 1, 0x21, G_KEY_A, G_KEY_B, 0, 0, 0)));
    ADD("mpc_data", g_mpc_data,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_DATA, 1, 0x01, G_KEY_A, G_KEY_B, 100, 0, 0)));
    ADD("mpc_data_csum", g_mpc_data_csum,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_DATA, 1, 0x81, G_KEY_A, G_KEY_B, 1500, 1, 0xabcd)));
    ADD("mpc_v0_syn", g_mpc_v0_syn,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_V0_SYN, 0, 0x81, G_KEY_A, 0, 0, 0, 0)));
    ADD("mpc_v0_ack", g_mpc_v0_ack,
        ((mptcp_opt)MPC(MPTCP_OPT_MPC_V0_ACK, 0, 0x81, G_KEY_A, G_KEY_B, 0, 0, 0)));
    o = (mptcp_opt){ .form = MPTCP_OPT_JOIN_SYN,
                     .u.join = { .backup = 1, .addr_id = 3, .token = 0xaabbccdd,
                                 .nonce = 0x01020304 } };
    ADD("join_syn", g_join_syn, o);
    o = (mptcp_opt){ .form = MPTCP_OPT_JOIN_SYNACK,
                     .u.join = { .addr_id = 5, .thmac = 0x0011223344556677ull,
                                 .nonce = 0xcafef00d } };
    ADD("join_synack", g_join_synack, o);
    o = (mptcp_opt){ .form = MPTCP_OPT_JOIN_ACK };
    for (int k = 0; k < 20; k++)
        o.u.join.hmac[k] = (uint8_t)(k + 1);
    ADD("join_ack", g_join_ack, o);
    ADD("dss_empty", g_dss_empty, ((mptcp_opt)DSS(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
    ADD("dss_ack32", g_dss_ack32, ((mptcp_opt)DSS(1, 0, 0xdeadbeef, 0, 0, 0, 0, 0, 0, 0, 0)));
    ADD("dss_ack64", g_dss_ack64,
        ((mptcp_opt)DSS(1, 1, 0x0102030405060708ull, 0, 0, 0, 0, 0, 0, 0, 0)));
    ADD("dss_map32", g_dss_map32, ((mptcp_opt)DSS(0, 0, 0, 1, 0, 0x10203040, 1, 1000, 0, 0, 0)));
    ADD("dss_map64", g_dss_map64,
        ((mptcp_opt)DSS(0, 0, 0, 1, 1, 0x1122334455667788ull, 0x100, 1448, 0, 0, 0)));
    ADD("dss_ack32_map32_csum", g_dss_ack32_map32_csum,
        ((mptcp_opt)DSS(1, 0, 0x10, 1, 0, 0x20, 2, 3, 1, 0x1234, 0)));
    ADD("dss_full_csum", g_dss_full_csum, ((mptcp_opt)DSS(1, 1, 1, 1, 1, 2, 3, 4, 1, 0xffff, 0)));
    ADD("dss_fin", g_dss_fin,
        ((mptcp_opt)DSS(1, 1, 0x0a0b0c0d0e0f1011ull, 1, 1, 0x99, 0, 1, 0, 0, 1)));
    ADD("dss_infinite", g_dss_infinite, ((mptcp_opt)DSS(0, 0, 0, 1, 0, 0x1000, 0, 0, 1, 0, 0)));
    ADD("add_v4", g_add_v4, addr_opt(0, 1, MPTCP_AF_INET, v4a, 0, 0x0123456789abcdefull));
    ADD("add_v4_port", g_add_v4_port,
        addr_opt(0, 2, MPTCP_AF_INET, v4b, 8080, 0xfedcba9876543210ull));
    ADD("add_v4_echo", g_add_v4_echo, addr_opt(1, 1, MPTCP_AF_INET, v4a, 0, 0));
    ADD("add_v4_port_echo", g_add_v4_port_echo, addr_opt(1, 2, MPTCP_AF_INET, v4b, 8080, 0));
    ADD("add_v6", g_add_v6, addr_opt(0, 4, MPTCP_AF_INET6, v6a, 0, 0x1111111122222222ull));
    ADD("add_v6_port", g_add_v6_port,
        addr_opt(0, 6, MPTCP_AF_INET6, v6b, 443, 0x8899aabbccddeeffull));
    ADD("add_v6_echo", g_add_v6_echo, addr_opt(1, 4, MPTCP_AF_INET6, v6a, 0, 0));
    ADD("add_v6_port_echo", g_add_v6_port_echo, addr_opt(1, 6, MPTCP_AF_INET6, v6b, 443, 0));
    ADD("rm_one", g_rm_one,
        ((mptcp_opt){ .form = MPTCP_OPT_REMOVE_ADDR, .u.rm_addr = { 1, { 5 } } }));
    ADD("rm_three", g_rm_three,
        ((mptcp_opt){ .form = MPTCP_OPT_REMOVE_ADDR, .u.rm_addr = { 3, { 1, 2, 3 } } }));
    ADD("prio", g_prio, ((mptcp_opt){ .form = MPTCP_OPT_PRIO, .u.prio = { .backup = 1 } }));
    ADD("prio_v0", g_prio_v0,
        ((mptcp_opt){ .form = MPTCP_OPT_PRIO, .u.prio = { .has_addr_id = 1, .addr_id = 7 } }));
    ADD("fail", g_fail, ((mptcp_opt){ .form = MPTCP_OPT_FAIL, .u.fail = { 0x100000002ull } }));
    ADD("fastclose", g_fastclose,
        ((mptcp_opt){ .form = MPTCP_OPT_FASTCLOSE, .u.fastclose = { G_KEY_B } }));
    ADD("tcprst", g_tcprst,
        ((mptcp_opt){ .form = MPTCP_OPT_TCPRST, .u.tcprst = { MPTCP_TCPRST_T, 6 } }));
    ADD("exp", g_exp,
        ((mptcp_opt){ .form = MPTCP_OPT_EXPERIMENTAL,
                      .u.exp = { 3, 3, { 0xde, 0xad, 0xbe } } }));
#undef ADD
    n_goldens = i;
}

#define N_GOLDENS 35

START_TEST(golden_parse_decodes_fields)
{
    goldens_init();
    ck_assert_uint_eq(n_goldens, N_GOLDENS);
    const golden *g = &goldens[_i];
    uint8_t *p = exact_copy(g->bytes, g->len);
    mptcp_opt o;
    ck_assert_msg(mptcp_opt_parse(p, g->len, &o) == (int)g->len, "%s", g->name);
    assert_opt_eq(&o, &g->opt);
    free(p);
}
END_TEST

START_TEST(golden_write_encodes_bytes)
{
    goldens_init();
    const golden *g = &goldens[_i];
    ck_assert_uint_eq(mptcp_opt_len(&g->opt), g->len);
    uint8_t *buf = malloc(g->len);
    ck_assert_int_eq(mptcp_opt_write(buf, g->len, &g->opt), (mptcp_ssize)g->len);
    ck_assert_mem_eq(buf, g->bytes, g->len);
    free(buf);
}
END_TEST

START_TEST(golden_every_truncation_is_etruncated)
{
    goldens_init();
    const golden *g = &goldens[_i];
    for (size_t n = 0; n < g->len; n++) {
        uint8_t *p = exact_copy(g->bytes, n);
        mptcp_opt o;
        memset(&o, 0x5a, sizeof o);
        ck_assert_msg(mptcp_opt_parse(p, n, &o) == MPTCP_ETRUNCATED, "%s at %zu", g->name, n);
        ck_assert_uint_eq(((uint8_t *)&o)[0], 0x5a); /* untouched on failure */
        free(p);
    }
}
END_TEST

START_TEST(golden_write_short_buffer_is_enobuf_and_writes_nothing)
{
    goldens_init();
    const golden *g = &goldens[_i];
    uint8_t buf[48];
    for (size_t cap = 0; cap < g->len; cap++) {
        memset(buf, 0xee, sizeof buf);
        ck_assert_int_eq(mptcp_opt_write(buf, cap, &g->opt), MPTCP_ENOBUF);
        for (size_t k = 0; k < sizeof buf; k++)
            ck_assert_uint_eq(buf[k], 0xee);
    }
}
END_TEST

START_TEST(parse_ignores_bytes_after_the_option)
{
    uint8_t buf[40];
    memset(buf, 0xff, sizeof buf);
    memcpy(buf, g_dss_map32, sizeof g_dss_map32);
    mptcp_opt o;
    ck_assert_int_eq(mptcp_opt_parse(buf, sizeof buf, &o), (int)sizeof g_dss_map32);
    ck_assert_uint_eq(o.u.dss.data_len, 1000);
}
END_TEST

START_TEST(parse_ignores_reserved_bits)
{
    /* RFC 8684 figures mark these bits reserved: sent as zero, and we do not
     * fail a peer that sets them (docs/wire.md). */
    uint8_t join[sizeof g_join_syn], dss[sizeof g_dss_ack32], fail[sizeof g_fail];
    memcpy(join, g_join_syn, sizeof join);
    join[2] |= 0x0e;
    memcpy(dss, g_dss_ack32, sizeof dss);
    dss[2] |= 0x0f;
    dss[3] |= 0xe0;
    memcpy(fail, g_fail, sizeof fail);
    fail[2] |= 0x0f;
    fail[3] = 0xff;
    mptcp_opt o;
    uint8_t again[40];
    ck_assert_int_eq(mptcp_opt_parse(join, sizeof join, &o), 12);
    ck_assert(o.u.join.backup);
    ck_assert_int_eq(mptcp_opt_write(again, sizeof again, &o), 12);
    ck_assert_mem_eq(again, g_join_syn, 12); /* written back as zero */
    ck_assert_int_eq(mptcp_opt_parse(dss, sizeof dss, &o), 8);
    ck_assert_uint_eq(o.u.dss.data_ack, 0xdeadbeef);
    ck_assert_int_eq(mptcp_opt_parse(fail, sizeof fail, &o), 12);
    ck_assert_uint_eq(o.u.fail.dsn, 0x100000002ull);
}
END_TEST

START_TEST(mpc_syn_keeps_higher_versions_and_extra_crypto_bits)
{
    /* WIRE-NOTES: Linux answers a SYN of any version >= 1 with v1, so the
     * SYN form keeps the version; D..G beside H are an offer we can decline. */
    const uint8_t v2[] = { 0x1e, 0x04, 0x02, 0x01 };
    const uint8_t dg[] = { 0x1e, 0x04, 0x01, 0x1f };
    mptcp_opt o;
    ck_assert_int_eq(mptcp_opt_parse(v2, sizeof v2, &o), 4);
    ck_assert_int_eq(o.form, MPTCP_OPT_MPC_SYN);
    ck_assert_uint_eq(o.u.mpc.version, 2);
    ck_assert_int_eq(mptcp_opt_parse(dg, sizeof dg, &o), 4);
    ck_assert_uint_eq(o.u.mpc.flags, 0x1f);
}
END_TEST

/* ------------------------------------------------------- valid table */

typedef struct valid {
    mptcp_opt opt;
    size_t len; /* expected length, computed here from the RFC's sizes */
} valid;

#define MAX_VALID 256

/* Builds every valid form: MP_CAPABLE variants, MP_JOIN x B, every legal DSS
 * flag combination with and without checksum, every ADD_ADDR length,
 * REMOVE_ADDR with 1..37 IDs, MP_PRIO both forms, MP_TCPRST every flag
 * nibble, MP_EXPERIMENTAL with 0..37 data bytes. */
static size_t build_valid(valid *v)
{
    size_t n = 0;
    static const uint8_t mpc_flags[] = { 0x01, 0x81, 0x21, 0xa1, 0x03, 0x1f };
    for (size_t f = 0; f < sizeof mpc_flags; f++) {
        uint8_t fl = mpc_flags[f];
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_SYN, 1, fl, 0, 0, 0, 0, 0), 4 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_SYNACK, 1, fl, ~0ull, 0, 0, 0, 0), 12 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_ACK, 1, fl, 1, ~1ull, 0, 0, 0), 20 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_DATA, 1, fl, 2, 3, 65535, 0, 0), 22 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_DATA, 1, fl, 4, 5, 1, 1, 0xfffe), 24 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_V0_SYN, 0, fl, 6, 0, 0, 0, 0), 12 };
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_V0_ACK, 0, fl, 7, 8, 0, 0, 0), 20 };
    }
    for (uint8_t ver = 2; ver <= 15; ver += 13)
        v[n++] = (valid){ MPC(MPTCP_OPT_MPC_SYN, ver, 0x01, 0, 0, 0, 0, 0), 4 };
    for (int b = 0; b < 2; b++) {
        v[n++] = (valid){ { .form = MPTCP_OPT_JOIN_SYN,
                            .u.join = { .backup = b, .addr_id = 255, .token = 0xffffffff,
                                        .nonce = 0x80000001 } }, 12 };
        v[n++] = (valid){ { .form = MPTCP_OPT_JOIN_SYNACK,
                            .u.join = { .backup = b, .addr_id = 0, .thmac = ~0ull,
                                        .nonce = 1 } }, 16 };
    }
    v[n] = (valid){ { .form = MPTCP_OPT_JOIN_ACK }, 24 };
    memset(v[n].opt.u.join.hmac, 0xa5, 20);
    n++;
    /* DSS: A/a in {none, A, A+a} x M/m in {none, M, M+m} x F (with M) x csum (with M). */
    for (int ack = 0; ack < 3; ack++)
        for (int map = 0; map < 3; map++)
            for (int fin = 0; fin < 2; fin++)
                for (int cs = 0; cs < 2; cs++) {
                    if (!map && (fin || cs))
                        continue;
                    bool A = ack > 0, a = ack == 2, M = map > 0, m = map == 2;
                    size_t len = 4 + (A ? (a ? 8 : 4) : 0) + (M ? (m ? 8 : 4) + 6 : 0) +
                                 (cs ? 2 : 0);
                    v[n++] = (valid){ DSS(A, a, a ? 0xfedcba9876543210ull : 0x89abcdef, M, m,
                                          m ? 0x8000000000000001ull : 0xfffffffe, 0xdeadbeef,
                                          fin ? 1 : 1460, cs, 0x5555, fin), len };
                }
    /* ADD_ADDR: family x port x echo gives the 8 lengths of RFC 8684 §3.4.1. */
    for (int fam = 0; fam < 2; fam++)
        for (int port = 0; port < 2; port++)
            for (int echo = 0; echo < 2; echo++) {
                size_t len = (fam ? 20 : 8) + (port ? 2 : 0) + (echo ? 0 : 8);
                v[n++] = (valid){ addr_opt(echo, (uint8_t)(fam * 4 + port * 2 + echo),
                                           fam ? MPTCP_AF_INET6 : MPTCP_AF_INET,
                                           fam ? v6b : v4b, port ? 65535 : 0,
                                           0x0102030405060708ull), len };
            }
    for (uint8_t c = 1; c <= MPTCP_RM_ADDR_MAX; c++) {
        v[n] = (valid){ { .form = MPTCP_OPT_REMOVE_ADDR }, 3 + (size_t)c };
        v[n].opt.u.rm_addr.count = c;
        for (uint8_t k = 0; k < c; k++)
            v[n].opt.u.rm_addr.ids[k] = (uint8_t)(k * 7 + c);
        n++;
    }
    for (int b = 0; b < 2; b++) {
        v[n++] = (valid){ { .form = MPTCP_OPT_PRIO, .u.prio = { .backup = b } }, 3 };
        v[n++] = (valid){ { .form = MPTCP_OPT_PRIO,
                            .u.prio = { .backup = b, .has_addr_id = 1, .addr_id = 200 } }, 4 };
    }
    v[n++] = (valid){ { .form = MPTCP_OPT_FAIL, .u.fail = { ~0ull } }, 12 };
    v[n++] = (valid){ { .form = MPTCP_OPT_FASTCLOSE, .u.fastclose = { 0x8000000000000000ull } },
                      12 };
    for (uint8_t fl = 0; fl < 16; fl++)
        v[n++] = (valid){ { .form = MPTCP_OPT_TCPRST,
                            .u.tcprst = { fl, (uint8_t)(fl < 7 ? fl : 0xf0 + fl) } }, 4 };
    for (uint8_t l = 0; l <= MPTCP_EXP_DATA_MAX; l++) {
        v[n] = (valid){ { .form = MPTCP_OPT_EXPERIMENTAL }, 3 + (size_t)l };
        v[n].opt.u.exp.nibble = l & 0x0f;
        v[n].opt.u.exp.len = l;
        for (uint8_t k = 0; k < l; k++)
            v[n].opt.u.exp.data[k] = (uint8_t)(0xff - k);
        n++;
    }
    return n; /* MAX_VALID bounds it: valid_table_covers_every_form checks */
}

START_TEST(valid_roundtrip_write_parse_write_identical)
{
    valid v[MAX_VALID];
    build_valid(v);
    const valid *t = &v[_i];
    ck_assert_uint_eq(mptcp_opt_len(&t->opt), t->len);
    uint8_t *a = malloc(t->len), *b = malloc(t->len);
    ck_assert_int_eq(mptcp_opt_write(a, t->len, &t->opt), (mptcp_ssize)t->len);
    ck_assert_uint_eq(a[0], 30);
    ck_assert_uint_eq(a[1], t->len);
    mptcp_opt o;
    ck_assert_int_eq(mptcp_opt_parse(a, t->len, &o), (int)t->len);
    assert_opt_eq(&o, &t->opt);
    ck_assert_int_eq(mptcp_opt_write(b, t->len, &o), (mptcp_ssize)t->len);
    ck_assert_mem_eq(a, b, t->len);
    /* and every truncation of it is ETRUNCATED */
    for (size_t n = 0; n < t->len; n++) {
        uint8_t *p = exact_copy(a, n);
        ck_assert_int_eq(mptcp_opt_parse(p, n, &o), MPTCP_ETRUNCATED);
        free(p);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(valid_table_covers_every_form)
{
    valid v[MAX_VALID];
    size_t n = build_valid(v);
    ck_assert_uint_lt(n, MAX_VALID);
    bool seen[MPTCP_OPT_FORM_COUNT] = { 0 };
    bool add_len[31] = { 0 };
    for (size_t i = 0; i < n; i++) {
        seen[v[i].opt.form] = true;
        if (v[i].opt.form == MPTCP_OPT_ADD_ADDR)
            add_len[v[i].len] = true;
    }
    for (int f = MPTCP_OPT_NONE + 1; f < MPTCP_OPT_FORM_COUNT; f++)
        ck_assert_msg(seen[f], "form %d missing", f);
    static const int lens[] = { 8, 10, 16, 18, 20, 22, 28, 30 };
    for (size_t k = 0; k < 8; k++)
        ck_assert(add_len[lens[k]]);
}
END_TEST

/* ----------------------------------------------------- invalid input */

typedef struct bad {
    const char *name;
    uint8_t bytes[40];
    uint8_t len;
    int err;
} bad;

static const bad bads[] = {
    { "empty", { 0 }, 0, MPTCP_ETRUNCATED },
    { "kind only", { 30 }, 1, MPTCP_ETRUNCATED },
    { "not kind 30", { 2, 4, 5, 0xb4 }, 4, MPTCP_EMALFORMED },
    { "length 0", { 30, 0, 0x20, 0 }, 4, MPTCP_EBADLEN },
    { "length 2", { 30, 2, 0x20, 0 }, 4, MPTCP_EBADLEN },
    { "length 41", { 30, 41 }, 40, MPTCP_EBADLEN },
    { "length past input", { 30, 12, 0x10, 0 }, 8, MPTCP_ETRUNCATED },
    { "subtype 9", { 30, 4, 0x90, 0 }, 4, MPTCP_EMALFORMED },
    { "subtype 0xe", { 30, 4, 0xe0, 0 }, 4, MPTCP_EMALFORMED },
    /* MP_CAPABLE, RFC 8684 §3.1 */
    { "mpc len 3", { 30, 3, 0x01 }, 3, MPTCP_EBADLEN },
    { "mpc len 5", { 30, 5, 0x01, 0x01 }, 5, MPTCP_EBADLEN },
    { "mpc len 13", { 30, 13, 0x01, 0x01 }, 13, MPTCP_EBADLEN },
    { "mpc len 21", { 30, 21, 0x01, 0x01 }, 21, MPTCP_EBADLEN },
    { "mpc len 23", { 30, 23, 0x01, 0x01 }, 23, MPTCP_EBADLEN },
    { "mpc len 25", { 30, 25, 0x01, 0x01 }, 25, MPTCP_EBADLEN },
    { "mpc v0 4-byte", { 30, 4, 0x00, 0x01 }, 4, MPTCP_EBADLEN },
    { "mpc v0 data 22", { 30, 22, 0x00, 0x01 }, 22, MPTCP_EBADLEN },
    { "mpc v2 synack", { 30, 12, 0x02, 0x01 }, 12, MPTCP_EBADVERSION },
    { "mpc v15 ack", { 30, 20, 0x0f, 0x01 }, 20, MPTCP_EBADVERSION },
    { "mpc v2 data", { 30, 24, 0x02, 0x01 }, 24, MPTCP_EBADVERSION },
    { "mpc syn B set", { 30, 4, 0x01, 0x41 }, 4, MPTCP_EBADFLAGS },
    { "mpc syn no crypto", { 30, 4, 0x01, 0x80 }, 4, MPTCP_EBADFLAGS },
    { "mpc syn G without H", { 30, 4, 0x01, 0x02 }, 4, MPTCP_EBADFLAGS },
    { "mpc synack flags 0", { 30, 12, 0x01, 0x00 }, 12, MPTCP_EBADFLAGS },
    { "mpc ack B|H", { 30, 20, 0x01, 0x41 }, 20, MPTCP_EBADFLAGS },
    { "mpc v0 no H", { 30, 12, 0x00, 0x80 }, 12, MPTCP_EBADFLAGS },
    /* MP_JOIN, §3.2 */
    { "join len 3", { 30, 3, 0x10 }, 3, MPTCP_EBADLEN },
    { "join len 11", { 30, 11, 0x10 }, 11, MPTCP_EBADLEN },
    { "join len 13", { 30, 13, 0x10 }, 13, MPTCP_EBADLEN },
    { "join len 20", { 30, 20, 0x10 }, 20, MPTCP_EBADLEN },
    { "join len 28", { 30, 28, 0x10 }, 28, MPTCP_EBADLEN },
    /* DSS, §3.3 */
    { "dss a without A", { 30, 4, 0x20, 0x02 }, 4, MPTCP_EBADFLAGS },
    { "dss a without A, 12", { 30, 12, 0x20, 0x02 }, 12, MPTCP_EBADFLAGS },
    { "dss m without M", { 30, 4, 0x20, 0x08 }, 4, MPTCP_EBADFLAGS },
    { "dss F without M", { 30, 4, 0x20, 0x10 }, 4, MPTCP_EBADFLAGS },
    { "dss F|A without M", { 30, 8, 0x20, 0x11 }, 8, MPTCP_EBADFLAGS },
    { "dss len 3", { 30, 3, 0x20 }, 3, MPTCP_EBADLEN },
    { "dss no flags len 5", { 30, 5, 0x20, 0x00 }, 5, MPTCP_EBADLEN },
    { "dss A len 12", { 30, 12, 0x20, 0x01 }, 12, MPTCP_EBADLEN },
    { "dss A 'checksum' 10", { 30, 10, 0x20, 0x01 }, 10, MPTCP_EBADLEN },
    { "dss A|a len 8", { 30, 8, 0x20, 0x03 }, 8, MPTCP_EBADLEN },
    { "dss M len 15", { 30, 15, 0x20, 0x04 }, 15, MPTCP_EBADLEN },
    { "dss M len 18", { 30, 18, 0x20, 0x04 }, 18, MPTCP_EBADLEN },
    { "dss M|m len 14", { 30, 14, 0x20, 0x0c }, 14, MPTCP_EBADLEN },
    { "dss full len 30", { 30, 30, 0x20, 0x0f }, 30, MPTCP_EBADLEN },
    { "dss fin on infinite map", { 30, 14, 0x20, 0x14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, 14,
      MPTCP_EBADVALUE },
    /* ADD_ADDR, §3.4.1 */
    { "add len 3", { 30, 3, 0x30 }, 3, MPTCP_EBADLEN },
    { "add len 9", { 30, 9, 0x31 }, 9, MPTCP_EBADLEN },
    { "add len 12", { 30, 12, 0x30 }, 12, MPTCP_EBADLEN },
    { "add len 24", { 30, 24, 0x30 }, 24, MPTCP_EBADLEN },
    { "add len 32", { 30, 32, 0x30 }, 32, MPTCP_EBADLEN },
    { "add echo len 16", { 30, 16, 0x31, 1 }, 16, MPTCP_EBADLEN },
    { "add echo len 30", { 30, 30, 0x31, 1 }, 30, MPTCP_EBADLEN },
    { "add no echo len 8", { 30, 8, 0x30, 1, 10, 0, 0, 1 }, 8, MPTCP_EBADLEN },
    { "add no echo len 22", { 30, 22, 0x30, 1 }, 22, MPTCP_EBADLEN },
    { "add v0 IPv4 (nibble 4)", { 30, 8, 0x34, 1, 10, 0, 0, 1 }, 8, MPTCP_EBADLEN },
    { "add v0 IPv6 (nibble 6)", { 30, 20, 0x36, 1 }, 20, MPTCP_EBADLEN },
    { "add port 0", { 30, 10, 0x31, 1, 10, 0, 0, 1, 0, 0 }, 10, MPTCP_EBADVALUE },
    /* REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST */
    { "rm no id", { 30, 3, 0x40 }, 3, MPTCP_EBADLEN },
    { "prio len 5", { 30, 5, 0x51, 1, 2 }, 5, MPTCP_EBADLEN },
    { "fail len 11", { 30, 11, 0x60 }, 11, MPTCP_EBADLEN },
    { "fail len 13", { 30, 13, 0x60 }, 13, MPTCP_EBADLEN },
    { "fail len 20", { 30, 20, 0x60 }, 20, MPTCP_EBADLEN },
    { "fastclose len 4", { 30, 4, 0x70, 0 }, 4, MPTCP_EBADLEN },
    { "fastclose len 16", { 30, 16, 0x70, 0 }, 16, MPTCP_EBADLEN },
    { "tcprst len 3", { 30, 3, 0x81 }, 3, MPTCP_EBADLEN },
    { "tcprst len 5", { 30, 5, 0x81, 1, 0 }, 5, MPTCP_EBADLEN },
};
#define N_BADS (sizeof bads / sizeof bads[0])

START_TEST(invalid_input_gives_its_error)
{
    const bad *b = &bads[_i];
    uint8_t *p = exact_copy(b->bytes, b->len);
    mptcp_opt o;
    memset(&o, 0x5a, sizeof o);
    int rc = mptcp_opt_parse(p, b->len, &o);
    ck_assert_msg(rc == b->err, "%s: got %d (%s), want %d", b->name, rc, mptcp_strerror(rc),
                  b->err);
    ck_assert_uint_eq(((uint8_t *)&o)[0], 0x5a);
    free(p);
}
END_TEST

START_TEST(parse_null_is_einval)
{
    mptcp_opt o;
    ck_assert_int_eq(mptcp_opt_parse(NULL, 4, &o), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_opt_parse(g_mpc_syn, 4, NULL), MPTCP_EINVAL);
}
END_TEST

/* Options the writer must refuse: mptcp_opt_len 0, mptcp_opt_write EINVAL. */
static mptcp_opt unwritable(int i)
{
    mptcp_opt o;
    memset(&o, 0, sizeof o);
    switch (i) {
    case 0: o.form = MPTCP_OPT_NONE; break;
    case 1: o.form = MPTCP_OPT_FORM_COUNT; break;
    case 2: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_SYN, 0, 0x01, 0, 0, 0, 0, 0); break;
    case 3: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_SYN, 16, 0x01, 0, 0, 0, 0, 0); break;
    case 4: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_SYNACK, 0, 0x01, 0, 0, 0, 0, 0); break;
    case 5: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_ACK, 2, 0x01, 0, 0, 0, 0, 0); break;
    case 6: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_V0_SYN, 1, 0x01, 0, 0, 0, 0, 0); break;
    case 7: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_SYN, 1, 0x41, 0, 0, 0, 0, 0); break;
    case 8: o = (mptcp_opt)MPC(MPTCP_OPT_MPC_DATA, 1, 0x80, 0, 0, 0, 0, 0); break;
    case 9: o = (mptcp_opt)DSS(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0); break;
    case 10: o = (mptcp_opt)DSS(0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0); break;
    case 11: o = (mptcp_opt)DSS(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1); break;
    case 12: o = (mptcp_opt)DSS(1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0); break;
    case 13: o = (mptcp_opt)DSS(1, 0, 0x100000000ull, 0, 0, 0, 0, 0, 0, 0, 0); break;
    case 14: o = (mptcp_opt)DSS(0, 0, 0, 1, 0, 0x100000000ull, 0, 1, 0, 0, 0); break;
    case 15: o = (mptcp_opt)DSS(0, 0, 0, 1, 1, 5, 0, 0, 0, 0, 1); break;
    case 16: o = addr_opt(0, 1, MPTCP_AF_INET, v4a, 0, 0); o.u.add_addr.addr.family = 0; break;
    case 17: o = addr_opt(1, 1, MPTCP_AF_INET, v4a, 0, 0); o.u.add_addr.addr.family = 5; break;
    case 18: o.form = MPTCP_OPT_REMOVE_ADDR; o.u.rm_addr.count = 0; break;
    case 19: o.form = MPTCP_OPT_REMOVE_ADDR; o.u.rm_addr.count = MPTCP_RM_ADDR_MAX + 1; break;
    case 20: o.form = MPTCP_OPT_TCPRST; o.u.tcprst.flags = 0x10; break;
    case 21: o.form = MPTCP_OPT_EXPERIMENTAL; o.u.exp.nibble = 0x10; break;
    case 22: o.form = MPTCP_OPT_EXPERIMENTAL; o.u.exp.len = MPTCP_EXP_DATA_MAX + 1; break;
    default: o.form = (mptcp_opt_form)-1; break;
    }
    return o;
}
#define N_UNWRITABLE 24

START_TEST(invalid_struct_is_not_written)
{
    mptcp_opt o = unwritable(_i);
    uint8_t buf[40];
    memset(buf, 0xee, sizeof buf);
    ck_assert_uint_eq(mptcp_opt_len(&o), 0);
    ck_assert_int_eq(mptcp_opt_write(buf, sizeof buf, &o), MPTCP_EINVAL);
    for (size_t k = 0; k < sizeof buf; k++)
        ck_assert_uint_eq(buf[k], 0xee);
}
END_TEST

START_TEST(write_null_is_einval)
{
    mptcp_opt o = { .form = MPTCP_OPT_PRIO };
    uint8_t buf[4];
    ck_assert_int_eq(mptcp_opt_write(NULL, 4, &o), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_opt_write(buf, 4, NULL), MPTCP_EINVAL);
    ck_assert_uint_eq(mptcp_opt_len(NULL), 0);
}
END_TEST

START_TEST(add_addr_echo_ignores_hmac_field)
{
    mptcp_opt o = addr_opt(1, 1, MPTCP_AF_INET, v4a, 0, 0);
    o.u.add_addr.hmac = 0x1234; /* not sent with E=1 */
    uint8_t buf[8];
    ck_assert_int_eq(mptcp_opt_write(buf, sizeof buf, &o), 8);
    ck_assert_mem_eq(buf, g_add_v4_echo, 8);
}
END_TEST

START_TEST(form_names_are_distinct)
{
    for (int f = 0; f < MPTCP_OPT_FORM_COUNT; f++) {
        const char *s = mptcp_opt_form_name((mptcp_opt_form)f);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "invalid");
        for (int g = 0; g < f; g++)
            ck_assert_str_ne(s, mptcp_opt_form_name((mptcp_opt_form)g));
    }
    ck_assert_str_eq(mptcp_opt_form_name(MPTCP_OPT_JOIN_SYNACK), "MP_JOIN SYN/ACK");
    ck_assert_str_eq(mptcp_opt_form_name(MPTCP_OPT_FORM_COUNT), "invalid");
    ck_assert_str_eq(mptcp_opt_form_name((mptcp_opt_form)-3), "invalid");
}
END_TEST

/* Every 4-byte input: parse either fails with a codec error or succeeds
 * with its length byte, and a success writes back to the same bytes except
 * for reserved bits. Exhaustive over subtype/flags bytes. */
START_TEST(every_short_option_parses_consistently)
{
    uint8_t in[4] = { 30, 0, 0, 0 };
    for (unsigned len = 0; len < 6; len++)
        for (unsigned b2 = 0; b2 < 256; b2++)
            for (unsigned b3 = 0; b3 < 256; b3 += 1) {
                in[1] = (uint8_t)len;
                in[2] = (uint8_t)b2;
                in[3] = (uint8_t)b3;
                uint8_t *p = exact_copy(in, 4);
                mptcp_opt o;
                int rc = mptcp_opt_parse(p, 4, &o);
                if (rc > 0) {
                    uint8_t out[4];
                    ck_assert_int_eq(rc, (int)len);
                    ck_assert_int_eq(mptcp_opt_write(out, sizeof out, &o), rc);
                    mptcp_opt o2;
                    ck_assert_int_eq(mptcp_opt_parse(out, sizeof out, &o2), rc);
                    assert_opt_eq(&o2, &o);
                } else {
                    ck_assert_int_le(rc, MPTCP_EMALFORMED);
                    ck_assert_int_ge(rc, MPTCP_EBADVALUE);
                }
                free(p);
            }
}
END_TEST

Suite *wire_mptcp_suite(void)
{
    Suite *s = suite_create("wire_mptcp");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, golden_parse_decodes_fields, 0, N_GOLDENS);
    tcase_add_loop_test(tc, golden_write_encodes_bytes, 0, N_GOLDENS);
    tcase_add_loop_test(tc, golden_every_truncation_is_etruncated, 0, N_GOLDENS);
    tcase_add_loop_test(tc, golden_write_short_buffer_is_enobuf_and_writes_nothing, 0, N_GOLDENS);
    tcase_add_test(tc, parse_ignores_bytes_after_the_option);
    tcase_add_test(tc, parse_ignores_reserved_bits);
    tcase_add_test(tc, mpc_syn_keeps_higher_versions_and_extra_crypto_bits);
    tcase_add_test(tc, add_addr_echo_ignores_hmac_field);
    suite_add_tcase(s, tc);

    valid v[MAX_VALID];
    size_t n_valid = build_valid(v);
    tc = tcase_create("roundtrip");
    tcase_add_loop_test(tc, valid_roundtrip_write_parse_write_identical, 0, (int)n_valid);
    tcase_add_test(tc, valid_table_covers_every_form);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_add_loop_test(tc, invalid_input_gives_its_error, 0, (int)N_BADS);
    tcase_add_loop_test(tc, invalid_struct_is_not_written, 0, N_UNWRITABLE);
    tcase_add_test(tc, parse_null_is_einval);
    tcase_add_test(tc, write_null_is_einval);
    tcase_add_test(tc, form_names_are_distinct);
    tcase_add_test(tc, every_short_option_parses_consistently);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
