/*
 * wire_opts.c - fuzz target for the MPTCP option codec (RFC 8684 section 3).
 * Invariant: for any bytes, read as a TCP option area and as one MPTCP
 * option, mptcp_opt_parse either fails with a documented code or returns
 * the option's length byte; then mptcp_opt_len equals that length,
 * mptcp_opt_write reproduces it exactly into an exactly-sized buffer, the
 * written bytes parse back to an equal option (field by field, and a second
 * write is byte-identical), and every smaller buffer gets MPTCP_ENOBUF with
 * nothing written. The same bytes also build an option struct of any form:
 * mptcp_opt_len is 0 exactly when mptcp_opt_write says MPTCP_EINVAL, and
 * anything the writer accepts parses back to the same option.
 */
#include "fuzz_opt.h"

#define SENTINEL 0xa5

/* The codes mptcp.h lists for mptcp_opt_parse, plus MPTCP_EBADVALUE, which
 * the codec uses for a field value no sender may use (an ADD_ADDR port
 * field of 0, a DATA_FIN on an infinite mapping). */
static bool parse_err_documented(int r)
{
    return r == MPTCP_ETRUNCATED || r == MPTCP_EBADLEN || r == MPTCP_EBADFLAGS ||
           r == MPTCP_EBADVERSION || r == MPTCP_EMALFORMED || r == MPTCP_EBADVALUE;
}

/* Writes |o| into heap buffers of every capacity below |want| (ASan sees
 * any overflow), exactly |want|, and |want| + 8; returns the exact bytes
 * in |out| (capacity MPTCP_TCP_OPT_SPACE + 8). */
static void write_all_caps(const mptcp_opt *o, size_t want, uint8_t *out)
{
    for (size_t cap = 0; cap < want; cap++) {
        uint8_t *b = malloc(cap ? cap : 1);
        FUZZ_CHECK(b != NULL, "malloc");
        memset(b, SENTINEL, cap);
        mptcp_ssize w = mptcp_opt_write(b, cap, o);
        FUZZ_CHECK(w == MPTCP_ENOBUF, "form %d: cap %zu < %zu gave %td", o->form, cap, want, w);
        for (size_t i = 0; i < cap; i++)
            FUZZ_CHECK(b[i] == SENTINEL, "form %d: ENOBUF but byte %zu written", o->form, i);
        free(b);
    }
    uint8_t *b = malloc(want);
    FUZZ_CHECK(b != NULL, "malloc");
    mptcp_ssize w = mptcp_opt_write(b, want, o);
    FUZZ_CHECK(w == (mptcp_ssize)want, "form %d: exact cap %zu gave %td", o->form, want, w);
    memcpy(out, b, want);
    free(b);

    uint8_t big[MPTCP_TCP_OPT_SPACE + 8];
    memset(big, SENTINEL, sizeof big);
    w = mptcp_opt_write(big, want + 8, o);
    FUZZ_CHECK(w == (mptcp_ssize)want, "form %d: cap %zu gave %td", o->form, want + 8, w);
    FUZZ_CHECK(memcmp(big, out, want) == 0, "form %d: output depends on cap", o->form);
    for (size_t i = want; i < want + 8; i++)
        FUZZ_CHECK(big[i] == SENTINEL, "form %d: byte %zu past the length written", o->form, i);
}

/* Round trip of an option the parser (or the writer) accepted, |len| long. */
static void roundtrip(const mptcp_opt *o, size_t len, const char *origin)
{
    FUZZ_CHECK(o->form > MPTCP_OPT_NONE && o->form < MPTCP_OPT_FORM_COUNT, "%s: form %d", origin,
               o->form);
    FUZZ_CHECK(len >= 3 && len <= MPTCP_TCP_OPT_SPACE, "%s: length %zu", origin, len);
    size_t l = mptcp_opt_len(o);
    FUZZ_CHECK(l == len, "%s: form %s: mptcp_opt_len %zu != %zu", origin,
               mptcp_opt_form_name(o->form), l, len);

    uint8_t w1[MPTCP_TCP_OPT_SPACE + 8];
    write_all_caps(o, len, w1);
    FUZZ_CHECK(w1[0] == MPTCP_TCPOPT_MPTCP && w1[1] == len, "%s: header %u %u", origin, w1[0],
               w1[1]);

    /* Parse exactly the written bytes (heap copy: ASan sees over-reads). */
    uint8_t *c = malloc(len);
    FUZZ_CHECK(c != NULL, "malloc");
    memcpy(c, w1, len);
    mptcp_opt o2;
    int r = mptcp_opt_parse(c, len, &o2);
    free(c);
    FUZZ_CHECK(r == (int)len, "%s: form %s: written bytes parse to %d (%s)", origin,
               mptcp_opt_form_name(o->form), r, r < 0 ? mptcp_strerror(r) : "length");
    const char *d = fuzz_opt_diff(o, &o2);
    FUZZ_CHECK(d == NULL, "%s: form %s: field %s changed through write+parse", origin,
               mptcp_opt_form_name(o->form), d);

    uint8_t w2[MPTCP_TCP_OPT_SPACE + 8];
    mptcp_ssize w = mptcp_opt_write(w2, sizeof w2, &o2);
    FUZZ_CHECK(w == (mptcp_ssize)len && memcmp(w1, w2, len) == 0,
               "%s: form %s: second write differs", origin, mptcp_opt_form_name(o->form));
}

static void parse_one(const uint8_t *p, size_t n)
{
    mptcp_opt o;
    int r = mptcp_opt_parse(p, n, &o);
    if (r < 0) {
        FUZZ_CHECK(parse_err_documented(r), "mptcp_opt_parse gave undocumented %d (%s)", r,
                   mptcp_strerror(r));
        FUZZ_CHECK(n == 0 || p[0] == MPTCP_TCPOPT_MPTCP || r == MPTCP_EMALFORMED ||
                       r == MPTCP_ETRUNCATED,
                   "kind %u rejected with %d", p[0], r);
        return;
    }
    FUZZ_CHECK(n >= 3 && p[0] == MPTCP_TCPOPT_MPTCP, "accepted kind %u", n ? p[0] : 0);
    FUZZ_CHECK((size_t)r <= n, "length %d beyond the %zu bytes given", r, n);
    FUZZ_CHECK(r == p[1], "returned %d but the length byte says %u", r, p[1]);
    roundtrip(&o, (size_t)r, "parsed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The bytes as one MPTCP option, from offset 0. */
    parse_one(data, size);

    /* The bytes as a TCP option area: every kind-30 option in the walk,
     * each given the rest of the area (as a segment parser would). */
    size_t off = 0;
    while (off < size) {
        uint8_t kind = data[off];
        if (kind == 0)
            break; /* EOL */
        if (kind == 1) {
            off++;
            continue; /* NOP */
        }
        if (off + 1 >= size || data[off + 1] < 2)
            break;
        if (kind == MPTCP_TCPOPT_MPTCP && off > 0)
            parse_one(data + off, size - off);
        off += data[off + 1];
    }

    /* The bytes as field values for the writer. */
    fuzz_input in = fuzz_input_init(data, size);
    mptcp_opt o;
    fuzz_opt_take(&in, &o);
    size_t l = mptcp_opt_len(&o);
    uint8_t buf[64];
    mptcp_ssize w = mptcp_opt_write(buf, sizeof buf, &o);
    if (l == 0) {
        FUZZ_CHECK(w == MPTCP_EINVAL, "form %d: mptcp_opt_len 0 but write gave %td", o.form, w);
    } else {
        FUZZ_CHECK(w == (mptcp_ssize)l, "form %d: mptcp_opt_len %zu but write gave %td", o.form,
                   l, w);
        roundtrip(&o, l, "built");
    }
    return 0;
}
