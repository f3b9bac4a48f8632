/*
 * mptcp.h - the one public header of libmptcp, a sans-IO Multipath TCP
 * (RFC 8684) implementation.
 *
 * The header compiles alone as C11 and as C++. It needs only <stdint.h>,
 * <stddef.h> and <stdbool.h>. Names never clash with <linux/mptcp.h>: this
 * header avoids MPTCP_RST_*, MPTCP_EVENT_*, MPTCP_INFO*, MPTCP_PM_*,
 * MPTCP_SUBFLOW_*, MPTCP_ATTR_* and the struct names defined there.
 *
 * Sections:
 *   1. Common types and error codes
 *   2. Wire codec: TCP header, TCP options, every MPTCP option (public so
 *      that fuzzers, conformance checkers and other stacks' tests use it)
 *   3. Crypto and checksums
 *   4. The stack: configuration, callbacks, events, connections
 *   5. Multipath: endpoints, subflows, announcements, statistics
 *
 * Conventions: functions return 0 or a byte count on success and a negative
 * MPTCP_E* code on failure. Codec functions never read past the length they
 * are given and never write past the capacity they are given.
 */
#ifndef MPTCP_H
#define MPTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(MPTCP_STATIC)
#define MPTCP_API __attribute__((visibility("default")))
#else
#define MPTCP_API
#endif

#define MPTCP_VERSION_STRING "0.1.0"

/* ======================================================================
 * 1. Common types and error codes
 * ====================================================================== */

/* Signed size: a byte count or a negative MPTCP_E* code. */
typedef ptrdiff_t mptcp_ssize;

/* Error codes. Recoverable codes lie in -1xx; fatal ones below MPTCP_EFATAL. */
#define MPTCP_EINVAL (-101)      /* an argument is invalid */
#define MPTCP_ESTATE (-102)      /* not allowed in the current state */
#define MPTCP_EAGAIN (-103)      /* buffer full / nothing to read yet */
#define MPTCP_ENOBUF (-104)      /* the caller's buffer is too small */
#define MPTCP_EADDRINUSE (-105)  /* address/port or 4-tuple already used */
#define MPTCP_ENOTFOUND (-106)   /* no such connection, subflow or address */
#define MPTCP_ELIMIT (-107)      /* a configured limit is reached */
#define MPTCP_ECLOSED (-108)     /* the connection is closed */
#define MPTCP_EBUSY (-109)       /* called from inside a callback */
/* Codec errors: what exactly is wrong with bytes handed to a parser. */
#define MPTCP_EMALFORMED (-110)  /* malformed, no more specific code applies */
#define MPTCP_ETRUNCATED (-111)  /* bytes end before the header/option does */
#define MPTCP_EBADLEN (-112)     /* option length not allowed for its kind/subtype */
#define MPTCP_EBADFLAGS (-113)   /* flag combination not allowed */
#define MPTCP_EBADVERSION (-114) /* MP_CAPABLE version not supported */
#define MPTCP_EBADDOFF (-115)    /* TCP data offset below 5 or past the segment */
#define MPTCP_ENOSPACE (-116)    /* does not fit in the 40 option bytes */
#define MPTCP_EBADFORM (-117)    /* option form not allowed with these TCP flags */
#define MPTCP_EBADVALUE (-118)   /* a field value is out of range */
#define MPTCP_EFATAL (-500)      /* codes below this are fatal */
#define MPTCP_ENOMEM (-501)      /* the allocator failed */
#define MPTCP_EINTERNAL (-502)   /* an internal invariant broke (a bug) */

/* Returns a short, static, English name for |err| ("MPTCP_EINVAL: ..."). */
MPTCP_API const char *mptcp_strerror(int err);
/* Returns true when |err| is fatal (the stack must be freed). */
MPTCP_API bool mptcp_err_is_fatal(int err);

/* An IPv4 or IPv6 address with a port, in host byte order fields. */
#define MPTCP_AF_INET 4
#define MPTCP_AF_INET6 6
typedef struct mptcp_addr {
    uint8_t family; /* MPTCP_AF_INET or MPTCP_AF_INET6 */
    uint16_t port;  /* host byte order; 0 = none */
    uint8_t ip[16]; /* network byte order; IPv4 uses ip[0..3] */
} mptcp_addr;

/* ======================================================================
 * 2. Wire codec
 * ====================================================================== */

#define MPTCP_TCP_HDR_LEN 20    /* TCP header without options */
#define MPTCP_TCP_OPT_SPACE 40  /* maximum option bytes in a TCP header */
#define MPTCP_TCPOPT_MPTCP 30   /* TCP option kind of MPTCP */

/* TCP header flags (12 bits: the AE bit above CWR). */
#define MPTCP_TH_FIN 0x001
#define MPTCP_TH_SYN 0x002
#define MPTCP_TH_RST 0x004
#define MPTCP_TH_PSH 0x008
#define MPTCP_TH_ACK 0x010
#define MPTCP_TH_URG 0x020
#define MPTCP_TH_ECE 0x040
#define MPTCP_TH_CWR 0x080
#define MPTCP_TH_AE 0x100

/* The fixed TCP header. */
typedef struct mptcp_tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t doff;     /* header length in bytes (20..60), multiple of 4 */
    uint16_t flags;   /* MPTCP_TH_* (reserved bits dropped) */
    uint16_t window;  /* raw, unscaled */
    uint16_t csum;    /* as found on the wire */
    uint16_t urg;
} mptcp_tcp_hdr;

/* TCP options other than MPTCP: which ones a segment carries. */
#define MPTCP_TCPO_MSS (1u << 0)
#define MPTCP_TCPO_WSCALE (1u << 1)
#define MPTCP_TCPO_SACK_PERM (1u << 2)
#define MPTCP_TCPO_SACK (1u << 3)
#define MPTCP_TCPO_TS (1u << 4)
#define MPTCP_TCPO_TFO (1u << 5) /* kind 34: cookie request (len 2) or cookie */
#define MPTCP_TCPO_EOL (1u << 6) /* an EOL was seen */

#define MPTCP_TFO_COOKIE_MIN 4
#define MPTCP_TFO_COOKIE_MAX 16

typedef struct mptcp_sack_block {
    uint32_t left, right; /* left edge, right edge (first seq after the block) */
} mptcp_sack_block;

typedef struct mptcp_tcp_opts {
    uint32_t present; /* MPTCP_TCPO_* that parsed correctly */
    uint32_t bad;     /* MPTCP_TCPO_* recognised but malformed (bad length) */
    uint16_t mss;
    uint8_t wscale;   /* as sent (values above 14 are kept; RFC 7323 says use 14) */
    uint8_t sack_count; /* 1..4 */
    mptcp_sack_block sack[4];
    uint32_t ts_val, ts_ecr;
    uint8_t tfo_cookie_len; /* 0 = cookie request */
    uint8_t tfo_cookie[MPTCP_TFO_COOKIE_MAX];
} mptcp_tcp_opts;

/* MPTCP option subtypes (RFC 8684 section 3, IANA "MPTCP Option Subtypes"). */
#define MPTCP_SUB_CAPABLE 0x0
#define MPTCP_SUB_JOIN 0x1
#define MPTCP_SUB_DSS 0x2
#define MPTCP_SUB_ADD_ADDR 0x3
#define MPTCP_SUB_REMOVE_ADDR 0x4
#define MPTCP_SUB_PRIO 0x5
#define MPTCP_SUB_FAIL 0x6
#define MPTCP_SUB_FASTCLOSE 0x7
#define MPTCP_SUB_TCPRST 0x8
#define MPTCP_SUB_EXPERIMENTAL 0xf

/* Every MPTCP option form, with its exact length. */
typedef enum mptcp_opt_form {
    MPTCP_OPT_NONE = 0,
    MPTCP_OPT_MPC_SYN,       /* v1 SYN: 4 */
    MPTCP_OPT_MPC_SYNACK,    /* v1 SYN/ACK: 12 (sender key) */
    MPTCP_OPT_MPC_ACK,       /* v1 third ACK: 20 (both keys) */
    MPTCP_OPT_MPC_DATA,      /* v1 ACK with data: 22, or 24 with checksum */
    MPTCP_OPT_MPC_V0_SYN,    /* RFC 6824 SYN and SYN/ACK: 12 (sender key) */
    MPTCP_OPT_MPC_V0_ACK,    /* RFC 6824 third ACK: 20 */
    MPTCP_OPT_JOIN_SYN,      /* 12 */
    MPTCP_OPT_JOIN_SYNACK,   /* 16 */
    MPTCP_OPT_JOIN_ACK,      /* 24 */
    MPTCP_OPT_DSS,           /* 4..28 by flags */
    MPTCP_OPT_ADD_ADDR,      /* 8, 10, 16, 18, 20, 22, 28, 30 */
    MPTCP_OPT_REMOVE_ADDR,   /* 3 + n */
    MPTCP_OPT_PRIO,          /* 3; RFC 6824 form with address ID: 4 */
    MPTCP_OPT_FAIL,          /* 12 */
    MPTCP_OPT_FASTCLOSE,     /* 12 */
    MPTCP_OPT_TCPRST,        /* 4 */
    MPTCP_OPT_EXPERIMENTAL,  /* 3 + n, opaque */
    MPTCP_OPT_FORM_COUNT
} mptcp_opt_form;

/* MP_CAPABLE flag bits (the byte after subtype/version). */
#define MPTCP_MPC_A 0x80 /* checksum required */
#define MPTCP_MPC_B 0x40 /* extensibility */
#define MPTCP_MPC_C 0x20 /* do not open subflows to the source address */
#define MPTCP_MPC_H 0x01 /* HMAC-SHA256 (v1) / HMAC-SHA1 (v0) */

typedef struct mptcp_opt_mpc {
    uint8_t version;   /* 1, or 0 for the RFC 6824 forms; the SYN form keeps
                          any version >= 1 as found (the reply is v1) */
    uint8_t flags;     /* MPTCP_MPC_* plus the D..G bits as found; B is
                          never set and H always is (EBADFLAGS otherwise) */
    uint64_t snd_key;  /* sender's key: SYN/ACK, ACK, DATA, v0 */
    uint64_t rcv_key;  /* receiver's key: ACK, DATA, v0 ACK */
    uint16_t data_len; /* DATA form: data-level length */
    bool has_csum;     /* DATA form: 24 bytes with checksum */
    uint16_t csum;
} mptcp_opt_mpc;

typedef struct mptcp_opt_join {
    bool backup;       /* B flag (SYN, SYN/ACK) */
    uint8_t addr_id;   /* SYN, SYN/ACK */
    uint32_t token;    /* SYN: receiver's token */
    uint32_t nonce;    /* SYN, SYN/ACK */
    uint64_t thmac;    /* SYN/ACK: leftmost 64 bits of the HMAC */
    uint8_t hmac[20];  /* ACK: leftmost 160 bits of the HMAC */
} mptcp_opt_join;

/* DSS flag bits. */
#define MPTCP_DSS_A 0x01 /* Data ACK present */
#define MPTCP_DSS_a 0x02 /* Data ACK is 8 octets */
#define MPTCP_DSS_M 0x04 /* mapping present */
#define MPTCP_DSS_m 0x08 /* DSN is 8 octets */
#define MPTCP_DSS_F 0x10 /* DATA_FIN */

typedef struct mptcp_opt_dss {
    bool has_ack, ack64;   /* flags A and a */
    uint64_t data_ack;     /* 32-bit form: low 32 bits */
    bool has_map, dsn64;   /* flags M and m */
    uint64_t dsn;          /* 32-bit form: low 32 bits */
    uint32_t ssn;          /* relative subflow sequence number */
    uint16_t data_len;     /* 0 = infinite mapping */
    bool has_csum;         /* mapping carries a checksum (+2 bytes) */
    uint16_t csum;
    bool fin;              /* flag F (requires a mapping of length >= 1) */
} mptcp_opt_dss;

typedef struct mptcp_opt_add_addr {
    bool echo;          /* E flag: echo, carries no HMAC */
    uint8_t addr_id;
    mptcp_addr addr;    /* family, ip, port (port 0 = no port field) */
    uint64_t hmac;      /* rightmost 64 bits; only when !echo */
} mptcp_opt_add_addr;

#define MPTCP_RM_ADDR_MAX 37 /* 40 option bytes - 3 */
typedef struct mptcp_opt_rm_addr {
    uint8_t count;                   /* 1..MPTCP_RM_ADDR_MAX */
    uint8_t ids[MPTCP_RM_ADDR_MAX];
} mptcp_opt_rm_addr;

typedef struct mptcp_opt_prio {
    bool backup;
    bool has_addr_id;  /* RFC 6824 4-byte form */
    uint8_t addr_id;
} mptcp_opt_prio;

typedef struct mptcp_opt_fail {
    uint64_t dsn;
} mptcp_opt_fail;

typedef struct mptcp_opt_fastclose {
    uint64_t rcv_key;  /* the receiver's key */
} mptcp_opt_fastclose;

/* MP_TCPRST reason codes (RFC 8684 section 3.6). */
#define MPTCP_RSTCODE_UNSPEC 0
#define MPTCP_RSTCODE_MPTCP 1
#define MPTCP_RSTCODE_RESOURCE 2
#define MPTCP_RSTCODE_PROHIBITED 3
#define MPTCP_RSTCODE_WQ2BIG 4
#define MPTCP_RSTCODE_BADPERF 5
#define MPTCP_RSTCODE_MIDDLEBOX 6
#define MPTCP_TCPRST_T 0x1 /* transient */

typedef struct mptcp_opt_tcprst {
    uint8_t flags;   /* low nibble: U V W T; MPTCP_TCPRST_T */
    uint8_t reason;  /* MPTCP_RSTCODE_* or any other value as found */
} mptcp_opt_tcprst;

#define MPTCP_EXP_DATA_MAX 37
typedef struct mptcp_opt_exp {
    uint8_t nibble;  /* low nibble of the subtype byte */
    uint8_t len;     /* bytes in data */
    uint8_t data[MPTCP_EXP_DATA_MAX];
} mptcp_opt_exp;

/* One MPTCP option, decoded. |form| says which member of |u| is valid. */
typedef struct mptcp_opt {
    mptcp_opt_form form;
    union {
        mptcp_opt_mpc mpc;
        mptcp_opt_join join;
        mptcp_opt_dss dss;
        mptcp_opt_add_addr add_addr;
        mptcp_opt_rm_addr rm_addr;
        mptcp_opt_prio prio;
        mptcp_opt_fail fail;
        mptcp_opt_fastclose fastclose;
        mptcp_opt_tcprst tcprst;
        mptcp_opt_exp exp;
    } u;
} mptcp_opt;

/*
 * mptcp_opt_parse decodes one MPTCP option. |p| points at the kind byte (30)
 * and |len| is the number of bytes available (at least the option's length
 * byte says). The form is chosen by subtype, version, flags and length alone.
 * Checks run in this order: kind (MPTCP_EMALFORMED), length byte present
 * (MPTCP_ETRUNCATED), length byte 3..40 (MPTCP_EBADLEN), option complete
 * (MPTCP_ETRUNCATED), then the subtype's own rules: MPTCP_EBADLEN (length
 * not allowed for the subtype, version or E flag), MPTCP_EBADVERSION,
 * MPTCP_EBADFLAGS (MP_CAPABLE B set or H clear; DSS a without A, m without
 * M, F without M), MPTCP_EBADVALUE (ADD_ADDR port 0, DATA_FIN on an infinite
 * mapping), MPTCP_EMALFORMED (unassigned subtype 0x9..0xe). Reserved bits
 * are ignored. docs/wire.md lists every rule. Returns the option's length on
 * success, MPTCP_EINVAL for NULL pointers. |out| is written on success only.
 */
MPTCP_API int mptcp_opt_parse(const uint8_t *p, size_t len, mptcp_opt *out);

/* Exact length in bytes that mptcp_opt_write produces for |o| (no padding),
 * or 0 when |o| cannot be written: an invalid form, a combination the parser
 * would reject, or a value a field cannot carry (a 32-bit DSS DSN or
 * DATA_ACK above 2^32-1, REMOVE_ADDR count outside 1..37, ADD_ADDR family
 * not MPTCP_AF_INET/INET6, a nibble above 15). A parsed option always has
 * a length, and writing it gives back the same bytes. */
MPTCP_API size_t mptcp_opt_len(const mptcp_opt *o);

/*
 * mptcp_opt_write encodes |o| into |dst| (capacity |cap|). Reserved bits are
 * written as zero. Returns the bytes written, MPTCP_ENOBUF (nothing written)
 * or MPTCP_EINVAL (|o| is not a valid form).
 */
MPTCP_API mptcp_ssize mptcp_opt_write(uint8_t *dst, size_t cap, const mptcp_opt *o);

/* A short name for a form ("MP_JOIN SYN/ACK"), for logs and tests. */
MPTCP_API const char *mptcp_opt_form_name(mptcp_opt_form form);

/* A parsed segment. */
#define MPTCP_SEG_MAX_MPTCP 20   /* 40 / 2: malformed 2-byte kind-30 options count too */
#define MPTCP_SEG_MAX_UNKNOWN 20 /* 40 / 2 */
typedef struct mptcp_seg_mptcp {
    int err;        /* 0, or the MPTCP_E* code mptcp_opt_parse gave */
    uint8_t offset; /* option's offset from the start of the segment */
    uint8_t len;    /* option's length byte */
    uint8_t subtype; /* high nibble of byte 2; 0xff when len < 3 */
    mptcp_opt opt;  /* valid when err == 0 */
} mptcp_seg_mptcp;

typedef struct mptcp_seg_unknown {
    uint8_t kind, len, offset;
} mptcp_seg_unknown;

typedef struct mptcp_seg {
    mptcp_tcp_hdr hdr;
    mptcp_tcp_opts opts;
    uint8_t n_mptcp;
    mptcp_seg_mptcp mptcp[MPTCP_SEG_MAX_MPTCP];
    uint8_t n_unknown; /* options of unknown kind, skipped */
    mptcp_seg_unknown unknown[MPTCP_SEG_MAX_UNKNOWN];
    size_t payload_off; /* == hdr.doff */
    size_t payload_len;
} mptcp_seg;

/*
 * mptcp_seg_parse decodes a TCP segment (header, options, payload bounds).
 * Returns 0 when the header and the option list are walkable; individual
 * options that are recognised but malformed (or repeated: two MSS options)
 * are reported in opts.bad or mptcp[i].err and do not fail the parse. An
 * MPTCP option whose form does not match the TCP flags gets err =
 * MPTCP_EBADFORM: MP_CAPABLE/MP_JOIN SYN forms need SYN without ACK, SYN/ACK
 * forms SYN+ACK (the v0 12-byte form either), ACK forms ACK without SYN,
 * the MP_CAPABLE data form also a payload; DSS, ADD_ADDR, REMOVE_ADDR,
 * MP_PRIO, MP_FAIL, MP_FASTCLOSE are refused on a SYN; MP_TCPRST needs RST.
 * Options of unknown kind are listed in unknown[]. Returns MPTCP_EINVAL
 * (NULL), MPTCP_ETRUNCATED (shorter than 20 bytes), MPTCP_EBADDOFF (data
 * offset below 20 or past |len|), or MPTCP_EBADLEN (an option length below
 * 2, missing, or past the header); |out| is then only partly filled. The
 * checksum is not checked (see mptcp_tcp_csum_ok).
 */
MPTCP_API int mptcp_seg_parse(const uint8_t *seg, size_t len, mptcp_seg *out);

/* What a segment should carry, for the writer and the planner. */
typedef struct mptcp_seg_spec {
    mptcp_tcp_hdr hdr;           /* doff and csum are computed */
    mptcp_tcp_opts opts;         /* uses opts.present (bad is ignored) */
    const mptcp_opt *mptcp;      /* MPTCP options, in the order to write */
    size_t n_mptcp;
    const uint8_t *payload;
    size_t payload_len;
} mptcp_seg_spec;

/*
 * mptcp_seg_write encodes a whole segment: header, options in the
 * conventional order, each TCP option group 32-bit aligned: MSS,
 * SACK_PERM+TS or NOP NOP TS (or NOP NOP SACK_PERM), NOP WS, NOP NOP SACK,
 * NOPs+TFO; then the MPTCP options back to back in the given order, NOPs
 * after them up to a multiple of 4; then the payload (|payload| may already
 * sit at its place in |dst|: it is moved with memmove). spec->hdr.doff and
 * csum are ignored. The checksum field is zero unless |src| and |dst_addr|
 * are both given, then it is filled (mptcp_tcp_csum_fill). The writer does
 * not check MPTCP forms against the TCP flags (mptcp_opt_plan_fit does), so
 * tests can build such segments. Returns bytes written, MPTCP_ENOSPACE
 * (options exceed 40 bytes), MPTCP_ENOBUF, or MPTCP_EINVAL (an option
 * mptcp_opt_len refuses, a bad SACK count or TFO cookie length, flags above
 * 0x1ff, only one address given, address families that differ or are
 * unknown). Nothing is written on failure.
 */
MPTCP_API mptcp_ssize mptcp_seg_write(uint8_t *dst, size_t cap, const mptcp_seg_spec *spec,
                                      const mptcp_addr *src, const mptcp_addr *dst_addr);

/*
 * The option-space planner. Given the options a segment would like to carry
 * (|want|: header flags, opts.present/sack_count, the MPTCP options, and
 * payload_len), it picks what fits in 40 bytes, by priority:
 *   1. must fit (else MPTCP_ENOSPACE): MP_CAPABLE, MP_JOIN, MP_FASTCLOSE,
 *      MP_TCPRST, MP_FAIL; MSS, WS, SACK_PERM; on a SYN also TS;
 *   2. on a pure ACK the first ADD_ADDR; then TS (RFC 7323: once
 *      negotiated, on every segment); then TFO (best effort);
 *   3. DSS;
 *   4. SACK blocks, as many as fit (most recent first, the caller's order);
 *   5. ADD_ADDR, MP_PRIO, REMOVE_ADDR, MP_EXPERIMENTAL, in the caller's order.
 * Exclusions, as Linux sends them: beside MP_CAPABLE or MP_JOIN only
 * REMOVE_ADDR; a RST carries only MP_FASTCLOSE, MP_FAIL, MP_TCPRST;
 * MP_FASTCLOSE on an ACK goes alone; MP_FAIL on an ACK admits only DSS; an
 * IPv6 ADD_ADDR on a pure ACK leaves out a DSS that has no mapping.
 * Result: bit i of mptcp_fit set when want->mptcp[i] fits; tcp_fit holds the
 * MPTCP_TCPO_* bits that fit; sack_count the SACK blocks that fit; len the
 * padded option length mptcp_seg_write produces for exactly that selection.
 * The caller sends what did not fit later. docs/wire.md has the rationale.
 */
typedef struct mptcp_opt_plan {
    uint32_t tcp_fit;
    uint8_t sack_count;
    uint32_t mptcp_fit;
    uint8_t len;
} mptcp_opt_plan;

/* Returns 0, or MPTCP_EINVAL (a NULL pointer, more than 32 MPTCP options,
 * an option mptcp_opt_len refuses or whose form does not match the flags
 * (the mptcp_seg_parse rules), two handshake options, two DSS, two
 * MP_FAIL/MP_FASTCLOSE/MP_TCPRST, a bad SACK count or TFO cookie) or
 * MPTCP_ENOSPACE (the priority-1 items together do not fit). */
MPTCP_API int mptcp_opt_plan_fit(const mptcp_seg_spec *want, mptcp_opt_plan *out);

/* ======================================================================
 * 3. Crypto and checksums
 * ====================================================================== */

#define MPTCP_SHA1_LEN 20
#define MPTCP_SHA256_LEN 32

/* One-shot SHA-1 and SHA-256 (FIPS 180-4) of |len| bytes (|data| may be
 * NULL when |len| is 0). SHA-1 serves only RFC 6824 (v0) compatibility. */
MPTCP_API void mptcp_sha1(const void *data, size_t len, uint8_t out[MPTCP_SHA1_LEN]);
MPTCP_API void mptcp_sha256(const void *data, size_t len, uint8_t out[MPTCP_SHA256_LEN]);
/* HMAC (RFC 2104) with a key of any length (longer than 64 bytes: hashed
 * first) over |msg_len| bytes; |out| gets the full digest. */
MPTCP_API void mptcp_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg,
                               size_t msg_len, uint8_t out[MPTCP_SHA1_LEN]);
MPTCP_API void mptcp_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
                                 size_t msg_len, uint8_t out[MPTCP_SHA256_LEN]);

/*
 * Token and initial data sequence number of a 64-bit key. |version| 1 uses
 * SHA-256 (as does any value other than 0), 0 uses SHA-1 (RFC 6824). The
 * key is hashed as 8 big-endian bytes; the token is the most significant 32
 * bits of the digest (bytes 0..3), the IDSN the least significant 64 bits
 * (SHA-256 bytes 24..31, SHA-1 bytes 12..19), as in RFC 8684 section 3.1.
 * Either output pointer may be NULL.
 */
MPTCP_API void mptcp_key_derive(int version, uint64_t key, uint32_t *token, uint64_t *idsn);

/*
 * MP_JOIN HMAC as sent by one side: HMAC(key = own_key || peer_key,
 * msg = own_nonce || peer_nonce), with HMAC-SHA256 (version 1) or
 * HMAC-SHA1 (version 0; any other value means 1). Keys and nonces are
 * written big-endian. |out| gets the leftmost 160 bits (the third ACK's
 * field; all of HMAC-SHA1); the SYN/ACK carries the leftmost 64, see
 * mptcp_join_thmac. The responder passes (its key, the initiator's key,
 * its nonce, the initiator's nonce); the initiator the mirror image.
 * Compare received values with mptcp_crypto_equal (src/crypto.h).
 */
MPTCP_API void mptcp_join_hmac(int version, uint64_t own_key, uint64_t peer_key,
                               uint32_t own_nonce, uint32_t peer_nonce, uint8_t out[20]);
/* The SYN/ACK's truncated HMAC: the leftmost 64 bits, as a big-endian value. */
MPTCP_API uint64_t mptcp_join_thmac(int version, uint64_t own_key, uint64_t peer_key,
                                    uint32_t own_nonce, uint32_t peer_nonce);

/*
 * ADD_ADDR HMAC (v1): HMAC-SHA256(key = sender_key || receiver_key,
 * msg = addr_id || address (4 or 16 bytes) || port (2 bytes, 0 when the
 * option has no port)), rightmost 64 bits as a big-endian value. The
 * address bytes are addr->ip as stored (network order), the port is
 * addr->port written big-endian. A receiver validating an option passes
 * the peer's key as |sender_key| and its own as |receiver_key|. The RFC 6824
 * (v0) ADD_ADDR has no HMAC. Returns 0 when |addr| is NULL or its
 * family is neither MPTCP_AF_INET nor MPTCP_AF_INET6.
 */
MPTCP_API uint64_t mptcp_add_addr_hmac(uint64_t sender_key, uint64_t receiver_key,
                                       uint8_t addr_id, const mptcp_addr *addr);

/*
 * Internet checksum (RFC 1071). mptcp_csum_add accumulates |len| bytes into
 * a 32-bit partial sum; |offset| is the number of bytes summed so far, so
 * that chunks of odd length chain correctly. mptcp_csum_fold folds and
 * complements a partial sum into the 16-bit checksum (host byte order).
 * A partial sum is only meaningful modulo 0xffff: compare folded values.
 * |data| may be NULL when |len| is 0. Words are big-endian 16-bit values, so
 * the folded checksum is written to the wire with a big-endian store.
 */
MPTCP_API uint32_t mptcp_csum_add(uint32_t sum, const void *data, size_t len, size_t offset);
MPTCP_API uint16_t mptcp_csum_fold(uint32_t sum);
/* RFC 1624 incremental update (equation 3) of checksum |csum| when a
 * 16-bit field goes from |old_val| to |new_val| (all host byte order). It
 * equals a recomputation except for data that becomes all zero (which a
 * TCP pseudo-header, with protocol 6, never is). */
MPTCP_API uint16_t mptcp_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);

/* TCP checksum over the IPv4 (RFC 9293 section 3.1) or IPv6 (RFC 8200
 * section 8.1) pseudo-header and the |len| bytes of |seg|. fill treats the
 * checksum field (bytes 16..17) as zero, computes and stores it; it returns
 * 0, or MPTCP_EINVAL (NULL pointer, |len| < 20, families differ or are
 * unknown, |len| too large for the pseudo-header's length field) and then
 * leaves |seg| untouched. ok sums with the field in place; false on a bad
 * checksum or on the arguments fill rejects. Both 0x0000 and 0xffff
 * verify where one's complement arithmetic says they should. */
MPTCP_API int mptcp_tcp_csum_fill(uint8_t *seg, size_t len, const mptcp_addr *src,
                                  const mptcp_addr *dst);
MPTCP_API bool mptcp_tcp_csum_ok(const uint8_t *seg, size_t len, const mptcp_addr *src,
                                 const mptcp_addr *dst);

/*
 * DSS checksum (RFC 8684 section 3.3.1): over a pseudo-header of the 64-bit
 * DSN, the 32-bit relative subflow sequence, the 16-bit data-level length
 * and 16 zero bits, then the mapped payload. Start with
 * mptcp_dss_csum_begin, add payload chunks in order with mptcp_csum_add
 * (|offset| counts the payload bytes already added; the 16-byte
 * pseudo-header keeps parity even) and finish with mptcp_csum_fold; or use
 * mptcp_dss_csum for one contiguous payload. |dsn| is always the full
 * 64-bit DSN, expanded first when the option carried 32 bits.
 */
MPTCP_API uint32_t mptcp_dss_csum_begin(uint64_t dsn, uint32_t ssn, uint16_t data_len);
MPTCP_API uint16_t mptcp_dss_csum(uint64_t dsn, uint32_t ssn, uint16_t data_len,
                                  const uint8_t *payload, size_t len);

/* ======================================================================
 * 4. The stack
 *
 * One mptcp_stack owns every connection, listener and timer. The host feeds
 * it received TCP segments (mptcp_input) and timer expiries
 * (mptcp_handle_timeout), and it calls back to send segments, report events
 * and ask for random bytes. Time is always passed in, in microseconds, from
 * any monotonic origin; the stack never reads a clock.
 * ====================================================================== */

typedef struct mptcp_stack mptcp_stack;
typedef struct mptcp_conn mptcp_conn;

/* Memory: |free| receives the size given to |alloc| (pools need no header). */
typedef struct mptcp_allocator {
    void *(*alloc)(void *user, size_t size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} mptcp_allocator;

/* Congestion control of a (sub)flow. */
typedef enum mptcp_cc_algo {
    MPTCP_CC_CUBIC = 0, /* RFC 9438, the default */
    MPTCP_CC_RENO = 1   /* RFC 5681 + RFC 6582 NewReno */
} mptcp_cc_algo;

/* Coupled congestion control of an MPTCP connection's subflows (slow
 * start, recovery and timeouts stay NewReno's; the increase is coupled). */
typedef enum mptcp_coupled_cc {
    MPTCP_COUPLED_NONE = 0, /* uncoupled: every subflow runs cfg.cc */
    MPTCP_COUPLED_LIA,      /* RFC 6356 */
    MPTCP_COUPLED_OLIA,     /* Khalili et al., IEEE/ACM ToN 2013 */
    MPTCP_COUPLED_BALIA     /* Peng et al., IEEE/ACM ToN 2016 */
} mptcp_coupled_cc;

typedef struct mptcp_config {
    size_t struct_size;       /* set by mptcp_config_init */
    mptcp_allocator alloc;    /* alloc == NULL: malloc/free (absent with MPTCP_NO_MALLOC) */
    uint32_t max_conns;       /* connections incl. embryonic ones (default 64) */
    uint32_t sndbuf;          /* send buffer bytes per connection (default 256 KiB) */
    uint32_t rcvbuf;          /* receive buffer bytes per connection (default 256 KiB) */
    uint16_t mss;             /* MSS we advertise (default 1460) */
    bool sack;                /* offer SACK (default true) */
    bool timestamps;          /* offer timestamps (default true) */
    bool window_scaling;      /* offer window scaling (default true) */
    mptcp_cc_algo cc;         /* default MPTCP_CC_CUBIC */
    bool trust_checksum;      /* host already verified TCP checksums (default false) */
    uint32_t delack_us;       /* delayed ACK timeout (default 40000) */
    uint8_t delack_segs;      /* ACK at least every N full segments (default 2) */
    uint32_t rto_initial_us;  /* default 1 s (RFC 6298) */
    uint32_t rto_min_us;      /* default 200 ms */
    uint32_t rto_max_us;      /* default 60 s */
    uint8_t syn_retries;      /* default 6 */
    uint8_t data_retries;     /* RTO expiries before giving up (default 15) */
    uint32_t time_wait_us;    /* TIME_WAIT length, default 2 s: short for embedded hosts */
    uint32_t keepalive_idle_us;  /* 0 = off (default) */
    uint32_t keepalive_intvl_us; /* default 75 s */
    uint8_t keepalive_probes;    /* default 9 */
    uint32_t fin_wait2_us;    /* orphaned FIN_WAIT_2 timeout (default 60 s) */
    uint32_t max_listeners;   /* listening addresses (default 8) */
    /* RFC 5961 section 7 ACK throttling, per connection: at most ack_limit
     * answers per ack_limit_us to challenge ACK triggers (in-window RST or
     * SYN, ACK of unsent data) and to unacceptable segments without new
     * data (out of window, PAWS); the rest are not answered and counted in
     * acks_ratelimited. Default 1 per 500 ms (Linux tcp_invalid_ratelimit).
     * Per connection, not stack-wide: a shared budget is the side channel
     * of CVE-2016-5696. Duplicates of data we already received are always
     * answered (the sender needs that ACK and its D-SACK). ack_limit 0: no
     * limit. */
    uint32_t ack_limit;
    uint32_t ack_limit_us;
    /* Multipath (section 5). */
    bool mptcp;               /* offer/accept MPTCP v1; false (the default for now):
                                 plain TCP only, MPTCP options are ignored */
    bool checksum;            /* require DSS checksums (MP_CAPABLE A flag, default false) */
    bool deny_join_id0;       /* MP_CAPABLE C flag: no joins to our initial address */
    uint8_t max_subflows;     /* additional subflows per connection, 0..7 (default 2) */
    uint8_t add_addr_accept_max; /* peer ADD_ADDRs acted on, 0..8 (default 0, as Linux) */
    uint8_t scheduler;        /* mptcp_sched_algo (default MPTCP_SCHED_DEFAULT) */
    uint8_t coupled_cc;       /* mptcp_coupled_cc for the subflows of an MPTCP
                                 connection (default MPTCP_COUPLED_NONE: each
                                 subflow runs cfg.cc alone, as Linux does) */
    bool fastclose_ack;       /* mptcp_abort sends MP_FASTCLOSE on an ACK and
                                 waits for the peer's RST (RFC 8684 3.5, first
                                 variant); default false: on a RST on every
                                 subflow, as Linux sends it */
} mptcp_config;

/* Fills |cfg| with the defaults above. */
MPTCP_API void mptcp_config_init(mptcp_config *cfg);

/* Event types. */
typedef enum mptcp_ev_type {
    MPTCP_EV_CONNECTED = 1, /* active open finished */
    MPTCP_EV_ACCEPTED,      /* a listener got a new, established connection */
    MPTCP_EV_READABLE,      /* new bytes can be read with mptcp_recv */
    MPTCP_EV_WRITABLE,      /* send buffer space opened after MPTCP_EAGAIN */
    MPTCP_EV_PEER_SHUTDOWN, /* the peer closed its direction (FIN); recv returns 0 at end */
    MPTCP_EV_CLOSED,        /* the connection is gone; u.closed says why. Last event. */
    /* Multipath events (section 5); subflow_id says which subflow. */
    MPTCP_EV_SUBFLOW_UP,    /* a subflow is established (u.subflow) */
    MPTCP_EV_SUBFLOW_DOWN,  /* a subflow is gone (u.subflow: reason, MP_TCPRST code) */
    MPTCP_EV_ADDR_ANNOUNCED, /* the peer announced an address (u.addr, ADD_ADDR) */
    MPTCP_EV_ADDR_REMOVED,  /* the peer removed an address ID (u.addr.id, REMOVE_ADDR) */
    MPTCP_EV_PRIO_CHANGED,  /* the peer set a subflow's backup flag (u.subflow.backup) */
    MPTCP_EV_FALLBACK,      /* the connection fell back to plain TCP (RFC 8684 3.7) */
    MPTCP_EV_MP_FAIL,       /* a DSS checksum failed (sent or received MP_FAIL) */
    MPTCP_EV_EXPERIMENTAL,  /* an MP_EXPERIMENTAL option arrived on subflow_id
                               (u.exp: its bytes); the stack does nothing else
                               with it (RFC 8684 section 3.8) */
    MPTCP_EV_TYPE_COUNT
} mptcp_ev_type;

typedef enum mptcp_close_reason {
    MPTCP_CLOSE_NORMAL = 0,  /* orderly close finished */
    MPTCP_CLOSE_RESET,       /* the peer sent a RST */
    MPTCP_CLOSE_REFUSED,     /* RST answered our SYN */
    MPTCP_CLOSE_TIMEOUT,     /* retransmissions or keepalive gave up */
    MPTCP_CLOSE_ABORTED,     /* we aborted (mptcp_abort), a RST was sent */
    MPTCP_CLOSE_UNREACHABLE, /* the host reported the peer unreachable */
    MPTCP_CLOSE_FASTCLOSE,   /* MP_FASTCLOSE received (RFC 8684 section 3.5) */
    MPTCP_CLOSE_MPTCP_RST    /* reset with MP_TCPRST: see rst_code (section 3.6) */
} mptcp_close_reason;

typedef struct mptcp_event {
    mptcp_ev_type type;
    int subflow_id;            /* -1 when the event concerns the connection */
    union {
        struct {
            mptcp_close_reason reason;
            bool has_rst_code;  /* the peer's RST carried MP_TCPRST */
            uint8_t rst_code;   /* MPTCP_RSTCODE_* */
        } closed;
        struct {
            mptcp_addr local;  /* the local address and port it was accepted on */
        } accepted;
        struct {
            mptcp_addr local, remote;
            uint8_t local_id, remote_id;
            bool backup;        /* the peer's view (MP_JOIN B / MP_PRIO) */
            mptcp_close_reason reason; /* SUBFLOW_DOWN */
            bool has_rst_code;
            uint8_t rst_code;
        } subflow;
        struct {
            uint8_t id;
            mptcp_addr addr;    /* ANNOUNCED; port 0: the connection's port */
        } addr;
        mptcp_opt_exp exp;      /* EXPERIMENTAL: low nibble of the subtype byte
                                   and the bytes after it, as received */
    } u;
} mptcp_event;

/* Host callbacks, copied at mptcp_stack_new. Pointers passed to a callback
 * are valid only during the call. |log| may be NULL. */
typedef struct mptcp_callbacks {
    /* Transmit one TCP segment (checksum filled) from |src| to |dst|. */
    void (*send)(void *user, const mptcp_addr *src, const mptcp_addr *dst,
                 const uint8_t *seg, size_t len);
    /* A connection event. From here the host may call mptcp_send, _recv,
     * _shutdown, _close, _abort and getters; mptcp_input,
     * mptcp_handle_timeout and mptcp_stack_free return MPTCP_EBUSY. */
    void (*event)(void *user, mptcp_conn *conn, const mptcp_event *ev);
    /* Fill |out| with |len| random bytes (keys, ISN secret, nonces). */
    void (*random)(void *user, uint8_t *out, size_t len);
    /* Optional diagnostics; |level| 0 error .. 3 debug. */
    void (*log)(void *user, int level, const char *msg);
} mptcp_callbacks;

/*
 * mptcp_stack_new creates a stack. |cfg| may be NULL for defaults; it and
 * |cb| are copied. |cb->send| and |cb->random| are required. Returns NULL on
 * an invalid configuration or when the allocator fails.
 */
MPTCP_API mptcp_stack *mptcp_stack_new(const mptcp_config *cfg, const mptcp_callbacks *cb,
                                       void *user);
/* Frees the stack and every connection in it, sending nothing. */
MPTCP_API int mptcp_stack_free(mptcp_stack *st);

/*
 * mptcp_input processes one TCP segment received from |src| for |dst|
 * (ports are taken from the segment; those in src/dst are ignored). |seg| is
 * not kept. Malformed or unwanted segments are dropped or answered (RST,
 * challenge ACK) and counted: that is not an error. Returns 0, MPTCP_EINVAL,
 * MPTCP_EBUSY (from a callback) or MPTCP_ENOMEM (fatal).
 */
MPTCP_API int mptcp_input(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                          const uint8_t *seg, size_t len, uint64_t now_us);

/* The earliest time mptcp_handle_timeout must be called; UINT64_MAX: none. */
MPTCP_API uint64_t mptcp_next_timeout(const mptcp_stack *st);
/* Runs every timer due at |now_us|. Returns 0 or MPTCP_EBUSY. */
MPTCP_API int mptcp_handle_timeout(mptcp_stack *st, uint64_t now_us);

/* Accept connections on |local| (address and port; an all-zero address of
 * the family means any). Returns 0, MPTCP_EADDRINUSE, MPTCP_ELIMIT. */
MPTCP_API int mptcp_listen(mptcp_stack *st, const mptcp_addr *local);
/* Stops listening on |local|. Returns 0 or MPTCP_ENOTFOUND. */
MPTCP_API int mptcp_unlisten(mptcp_stack *st, const mptcp_addr *local);

/*
 * mptcp_connect starts an active open from |local| (port 0: the stack picks
 * an ephemeral port) to |remote|; the SYN is sent before it returns.
 * MPTCP_EV_CONNECTED or MPTCP_EV_CLOSED follows. Returns 0 and the
 * connection in |*out|, MPTCP_EINVAL, MPTCP_EADDRINUSE, MPTCP_ELIMIT,
 * MPTCP_ENOMEM.
 */
MPTCP_API int mptcp_connect(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                            uint64_t now_us, mptcp_conn **out);

/* Copies up to |len| bytes into the send buffer and sends what the windows
 * allow. Returns the bytes taken (may be fewer than len), MPTCP_EAGAIN (buffer
 * full; MPTCP_EV_WRITABLE follows), MPTCP_ESTATE (shut down for writing),
 * MPTCP_ECLOSED. */
MPTCP_API mptcp_ssize mptcp_send(mptcp_conn *c, const void *data, size_t len, uint64_t now_us);
/* Reads up to |len| in-order bytes; frees receive window (and may send a
 * window update). Returns bytes read, 0 at end of stream (peer FIN and all
 * read), MPTCP_EAGAIN (nothing yet), MPTCP_ECLOSED. */
MPTCP_API mptcp_ssize mptcp_recv(mptcp_conn *c, void *buf, size_t len, uint64_t now_us);
/* Half-close: a FIN follows the data already in the send buffer. */
MPTCP_API int mptcp_shutdown(mptcp_conn *c, uint64_t now_us);
/* Full close: shutdown, and the connection is freed by the stack once the
 * close finishes (MPTCP_EV_CLOSED is still delivered; no other event after
 * close). Unread received data makes it an abort (RST), as RFC 9293 section
 * 3.6 suggests; so does data arriving after close. Calling it while
 * MPTCP_EV_CLOSED is queued but not yet delivered returns 0. Returns 0,
 * MPTCP_EINVAL, MPTCP_ECLOSED (already closed). The host must not use |c|
 * after MPTCP_EV_CLOSED. An orderly close is reported (CLOSED, NORMAL) once
 * both FINs are exchanged and acknowledged and everything received was read
 * (or the host closed); TIME_WAIT then runs inside the stack. */
MPTCP_API int mptcp_close(mptcp_conn *c, uint64_t now_us);
/* Abort: send a RST, drop all state; MPTCP_EV_CLOSED (ABORTED) follows.
 * An MPTCP connection sends MP_FASTCLOSE (RFC 8684 section 3.5) with it:
 * on a RST on every subflow; or, with cfg.fastclose_ack, on an ACK on one
 * subflow (RSTs on the others), retransmitted after the subflow's RTO up to
 * 3 times until the peer's RST arrives, then on a RST; CLOSED (ABORTED)
 * comes when that subflow is gone. */
MPTCP_API int mptcp_abort(mptcp_conn *c, uint64_t now_us);

/* The host's data pointer of a connection (NULL until set). */
MPTCP_API void mptcp_conn_set_user(mptcp_conn *c, void *user);
MPTCP_API void *mptcp_conn_get_user(const mptcp_conn *c);
/* Local and remote address+port. Either pointer may be NULL. */
MPTCP_API int mptcp_conn_get_addrs(const mptcp_conn *c, mptcp_addr *local, mptcp_addr *remote);

/* TCP states (RFC 9293 section 3.3.2). */
typedef enum mptcp_tcp_state {
    MPTCP_TCP_CLOSED = 0, MPTCP_TCP_LISTEN, MPTCP_TCP_SYN_SENT, MPTCP_TCP_SYN_RECEIVED,
    MPTCP_TCP_ESTABLISHED, MPTCP_TCP_FIN_WAIT_1, MPTCP_TCP_FIN_WAIT_2, MPTCP_TCP_CLOSE_WAIT,
    MPTCP_TCP_CLOSING, MPTCP_TCP_LAST_ACK, MPTCP_TCP_TIME_WAIT
} mptcp_tcp_state;

/* A snapshot of one connection (of one subflow, for MPTCP later). */
typedef struct mptcp_conn_stats {
    mptcp_tcp_state state;
    uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
    uint16_t mss;             /* effective send MSS (payload bytes) */
    uint8_t snd_wscale, rcv_wscale;
    bool sack_ok, ts_ok, wscale_ok;
    uint32_t srtt_us, rttvar_us, rto_us;
    uint32_t cwnd, ssthresh;  /* bytes */
    uint64_t bytes_sent;      /* payload bytes handed to TCP, incl. retransmissions */
    uint64_t bytes_acked;
    uint64_t bytes_received;  /* in-order payload bytes delivered to the buffer */
    uint32_t segs_out, segs_in;
    uint32_t retrans_segs, fast_retrans, rto_expiries, dup_acks_in, sack_blocks_in;
    uint32_t ooo_segs_in;     /* segments that arrived out of order */
    uint32_t zero_window_probes;
    uint32_t tlp_probes;      /* tail loss probes sent (RFC 8985 section 7) */
    uint32_t lost_rexmits;    /* retransmissions found lost again by RACK (RFC 8985 section 6) */
} mptcp_conn_stats;
MPTCP_API int mptcp_conn_get_stats(const mptcp_conn *c, mptcp_conn_stats *out);

/* Stack-wide counters; drop counters are named after the failed check. */
typedef struct mptcp_stack_stats {
    uint64_t segs_in, segs_out, bytes_in, bytes_out;
    uint64_t retrans_segs;
    uint64_t rst_in, rst_out, challenge_acks;
    uint64_t conns_opened, conns_accepted, conns_closed;
    uint64_t drop_bad_csum;      /* TCP checksum wrong */
    uint64_t drop_malformed;     /* header or option list not walkable */
    uint64_t drop_bad_flags;     /* impossible flag combination (SYN+FIN, none, ...) */
    uint64_t drop_no_conn;       /* no connection/listener (answered by RST) */
    uint64_t drop_out_of_window; /* unacceptable sequence number (answered by ACK) */
    uint64_t drop_paws;          /* PAWS: old timestamp */
    uint64_t drop_bad_ack;       /* ACK of unsent data */
    uint64_t drop_listen_overflow; /* SYN when max_conns is reached */
    uint64_t drop_rcvbuf_full;   /* data beyond the receive window/buffer */
    uint64_t time_backwards;     /* calls whose now_us went backwards */
    uint64_t bad_options;        /* segments with a known TCP option of a wrong length
                                    (the option is ignored, the segment is not dropped) */
    uint64_t drop_no_mem;        /* SYN or connect refused: the allocator failed */
    uint64_t drop_ooo_no_mem;    /* out-of-order segment not stored (not SACKed): no
                                    memory for the range table; the peer resends it */
    uint64_t sack_no_mem;        /* ACKs whose SACK blocks were ignored: no memory for
                                    the scoreboard (recovery goes on without SACK) */
    uint64_t dsack_in;           /* RFC 2883 D-SACK blocks received (not taken as SACK) */
    uint64_t dsack_out;          /* D-SACK blocks sent (a duplicate segment arrived) */
    uint64_t acks_ratelimited;   /* answers not sent: cfg.ack_limit (RFC 5961 section 7) */
} mptcp_stack_stats;
MPTCP_API void mptcp_stack_get_stats(const mptcp_stack *st, mptcp_stack_stats *out);

/*
 * ICMP is the host's business; it reports what concerns a connection here.
 * mptcp_icmp_unreach: destination unreachable for the 4-tuple; an
 * established connection treats it as a soft error (RFC 1122), a SYN_SENT
 * one closes with MPTCP_CLOSE_UNREACHABLE. mptcp_icmp_mtu: a path MTU of
 * |mtu| bytes (IP packet) lowers the send MSS. Return 0 or MPTCP_ENOTFOUND.
 */
MPTCP_API int mptcp_icmp_unreach(mptcp_stack *st, const mptcp_addr *local,
                                 const mptcp_addr *remote, uint64_t now_us);
MPTCP_API int mptcp_icmp_mtu(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                             uint32_t mtu, uint64_t now_us);

/* ======================================================================
 * 5. Multipath (RFC 8684)
 *
 * With cfg.mptcp every connection offers MPTCP v1 and falls
 * back to plain TCP, transparently for the byte stream, when the peer or a
 * middlebox does not carry it (MPTCP_EV_FALLBACK). One mptcp_conn is the
 * MPTCP connection; its subflows are numbered by a subflow id (0 = the
 * initial subflow, then 1, 2, ...; ids are not reused in a connection).
 * Path management is automatic from the local endpoints (like Linux's
 * `ip mptcp endpoint`) and host-driven through the calls below.
 * ====================================================================== */

typedef enum mptcp_sched_algo {
    MPTCP_SCHED_DEFAULT = 0, /* min-RTT + opportunistic retransmission/penalization */
    MPTCP_SCHED_MINRTT,      /* min-RTT alone */
    MPTCP_SCHED_ROUNDROBIN,
    MPTCP_SCHED_REDUNDANT
} mptcp_sched_algo;

/* Local endpoint flags (ip-mptcp(8) signal / subflow / backup / fullmesh). */
#define MPTCP_ADDR_F_SIGNAL 0x01u   /* announce it with ADD_ADDR */
#define MPTCP_ADDR_F_SUBFLOW 0x02u  /* open subflows from it */
#define MPTCP_ADDR_F_BACKUP 0x04u   /* use it as backup (MP_JOIN B, MP_PRIO) */
#define MPTCP_ADDR_F_FULLMESH 0x08u /* a subflow to every known remote address */

/* Registers a local endpoint for every connection of the stack. |addr|
 * port 0: announced without a port. Returns the address ID (1..255),
 * MPTCP_EINVAL, MPTCP_EADDRINUSE or MPTCP_ELIMIT. New connections use it;
 * established ones announce it (SIGNAL) on their next step. */
MPTCP_API int mptcp_local_addr_add(mptcp_stack *st, const mptcp_addr *addr, unsigned flags);
/* Deletes endpoint |id|: every connection sends REMOVE_ADDR for it and closes
 * its subflows from it. Returns 0 or MPTCP_ENOTFOUND. */
MPTCP_API int mptcp_local_addr_remove(mptcp_stack *st, uint8_t id, uint64_t now_us);
/* `ip mptcp limits`: additional subflows per connection (0..7) and peer
 * ADD_ADDRs acted on (0..8). Returns 0 or MPTCP_EINVAL. */
MPTCP_API int mptcp_limits_set(mptcp_stack *st, uint8_t subflows, uint8_t add_addr_accepted);

/* Like mptcp_connect; |use_mptcp| false makes this one connection plain
 * TCP whatever cfg.mptcp says. */
MPTCP_API int mptcp_connect_ex(mptcp_stack *st, const mptcp_addr *local,
                               const mptcp_addr *remote, bool use_mptcp, uint64_t now_us,
                               mptcp_conn **out);

/* Opens a subflow (MP_JOIN) from |local| (port 0: ephemeral) to |remote|
 * (port 0: the connection's remote port). Returns the subflow id (>= 1),
 * MPTCP_ESTATE (not MPTCP, or not fully established yet), MPTCP_ELIMIT,
 * MPTCP_EINVAL, MPTCP_EADDRINUSE, MPTCP_ENOMEM. MPTCP_EV_SUBFLOW_UP or
 * _DOWN follows. */
MPTCP_API int mptcp_subflow_open(mptcp_conn *c, const mptcp_addr *local,
                                 const mptcp_addr *remote, bool backup, uint64_t now_us);
/* Closes subflow |id| (a FIN; the data it holds is resent on the others).
 * Returns 0, MPTCP_ENOTFOUND, MPTCP_ESTATE (the last subflow: use
 * mptcp_close). */
MPTCP_API int mptcp_subflow_close(mptcp_conn *c, int id, uint64_t now_us);
/* Sets our backup flag on subflow |id| and tells the peer (MP_PRIO).
 * Returns 0, MPTCP_ENOTFOUND, MPTCP_ESTATE. */
MPTCP_API int mptcp_subflow_set_backup(mptcp_conn *c, int id, bool backup, uint64_t now_us);
/* Announces |addr| (ADD_ADDR with HMAC, retransmitted until echoed) on
 * this connection. Returns the address ID used, MPTCP_ESTATE, MPTCP_ELIMIT. */
MPTCP_API int mptcp_announce(mptcp_conn *c, const mptcp_addr *addr, uint64_t now_us);
/* Withdraws local address ID |id| on this connection (REMOVE_ADDR) and closes
 * its subflows. Returns 0, MPTCP_ENOTFOUND, MPTCP_ESTATE. */
MPTCP_API int mptcp_addr_remove(mptcp_conn *c, uint8_t id, uint64_t now_us);

/* A snapshot of the connection level. */
typedef struct mptcp_mp_stats {
    bool mptcp;              /* MPTCP negotiated (false: plain TCP from the start) */
    bool fallback;           /* fell back to TCP after offering/negotiating MPTCP */
    bool fully_established;  /* both keys known to both ends (RFC 8684 3.1) */
    bool checksum;           /* DSS checksums in use */
    uint32_t local_token, remote_token;
    uint64_t snd_una, snd_nxt;   /* data level (64-bit DSN) */
    uint64_t rcv_nxt;
    uint32_t snd_wnd;        /* peer's data-level window beyond snd_una */
    uint8_t n_subflows;      /* subflows currently held */
    uint64_t bytes_sent, bytes_acked, bytes_received; /* data level */
    uint64_t reinjected_bytes;   /* data resent on another subflow */
    uint32_t joins_in, joins_out, join_bad_hmac;
    uint32_t add_addr_in, add_addr_bad_hmac, rm_addr_in, prio_in;
    uint32_t dss_csum_bad, mp_fail_in, mp_fail_out;
    uint32_t rst_in_code[8];     /* MP_TCPRST reasons received (7+ counted at 7) */
    uint32_t map_errors;         /* invalid mappings (subflow reset) */
    uint32_t events_dropped;     /* event ring overflow */
    /* Receive side: bytes a subflow acknowledged that the data level threw
     * away (only bytes after the peer's DATA_FIN), and the times subflow
     * bytes had to wait in their subflow because the data-level ring had no
     * room up to their DSN yet (the peer sent beyond the window we offer,
     * RFC 8684 3.3.4) or its out-of-order range table was full. */
    uint64_t rcv_dropped;
    uint32_t rcv_wait_space, rcv_ooo_full;
    uint32_t data_rtos;          /* data-level retransmission timeouts (RFC 8684 3.3.6) */
    /* Send side: subflows send from the connection's ring, which keeps
     * bytes DATA_ACKed while a subflow may still resend them; times a
     * subflow holding too many of them (a dead or very slow path) got a
     * copy in a ring of its own instead. */
    uint32_t snd_copied_out;
    /* Joins we opened that met the peer's own SYN on their 4-tuple (a
     * simultaneous open, which MP_JOIN has no form for, RFC 8684 3.2): reset
     * with MP_TCPRST "MPTCP-specific error". */
    uint32_t join_simul_open;
    /* Peer FINs on our fallen-back subflow that waited for the peer to
     * learn of our own fallback first (RFC 8684 3.7, 3.3.3: a reset answers
     * if the FIN only closed the subflow). */
    uint32_t fin_held;
} mptcp_mp_stats;
MPTCP_API int mptcp_conn_get_mp_stats(const mptcp_conn *c, mptcp_mp_stats *out);

/* Fills |ids| with up to |max| subflow ids; returns how many exist. */
MPTCP_API int mptcp_conn_subflows(const mptcp_conn *c, int *ids, int max);

/* A snapshot of one subflow. */
typedef struct mptcp_subflow_stats {
    int id;
    mptcp_addr local, remote;
    uint8_t local_id, remote_id;
    bool backup, peer_backup;    /* ours (MP_PRIO/B sent), the peer's */
    bool join;                   /* an MP_JOIN subflow (false: the initial one) */
    bool usable;                 /* carries data now */
    /* Payload bytes that went straight from the segment into the
     * connection's receive ring (in order in the subflow, mapping known, no
     * DSS checksum, inside the data-level window); the others went through
     * the subflow's own ring first. */
    uint64_t rx_direct_bytes;
    mptcp_conn_stats tcp;        /* the TCP view of the subflow */
} mptcp_subflow_stats;
MPTCP_API int mptcp_subflow_get_stats(const mptcp_conn *c, int id, mptcp_subflow_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MPTCP_H */
