/*
 * dsn.h - the MPTCP data sequence machinery (RFC 8684 section 3.3): 64-bit
 * data sequence (DSN) arithmetic and 32-to-64-bit expansion, the receive
 * side mapping table of one subflow (mptcp_map_rx), the send side mapping
 * records of one subflow (mptcp_map_tx) and the connection-level window
 * helpers. No allocation; every table is a fixed array inside its struct.
 * docs/mptcp-dsn.md describes the data structures and the rules chosen.
 */
#ifndef MPTCP_DSN_H
#define MPTCP_DSN_H

#include "common.h"
#include "sack.h" /* mptcp_seq_lt/leq/gt/geq: 32-bit subflow sequence compare */

/* ------------------------------------------------------------ DSN arithmetic */

/* Modular 64-bit comparisons: the data sequence space wraps (RFC 8684
 * section 3.3 uses 64-bit sequence numbers that start at a random IDSN). */
static inline bool mptcp_dsn_lt(uint64_t a, uint64_t b) { return (int64_t)(a - b) < 0; }
static inline bool mptcp_dsn_leq(uint64_t a, uint64_t b) { return (int64_t)(a - b) <= 0; }
static inline bool mptcp_dsn_gt(uint64_t a, uint64_t b) { return (int64_t)(a - b) > 0; }
static inline bool mptcp_dsn_geq(uint64_t a, uint64_t b) { return (int64_t)(a - b) >= 0; }
static inline uint64_t mptcp_dsn_max(uint64_t a, uint64_t b) { return mptcp_dsn_gt(a, b) ? a : b; }
static inline uint64_t mptcp_dsn_min(uint64_t a, uint64_t b) { return mptcp_dsn_lt(a, b) ? a : b; }

/*
 * The 64-bit value whose low 32 bits are |low| and which is nearest to
 * |cur| (modulo 2^64), for the 32-bit DSN and DATA_ACK forms of the DSS
 * option (RFC 8684 section 3.3: "the lower 32 bits ... of the 64-bit
 * sequence number"). Works across 2^32 and 2^64 in both directions; a value
 * exactly 2^31 away resolves backwards. Receivers pass the data-level
 * rcv_nxt for a DSN, senders their data-level snd_una for a DATA_ACK.
 */
uint64_t mptcp_dsn_expand(uint64_t cur, uint32_t low);
/* mptcp_dsn_expand when |is64| is false, |v| unchanged otherwise (as the
 * codec stores both forms in one uint64_t, see mptcp_opt_dss). */
uint64_t mptcp_dsn_expand_opt(uint64_t cur, uint64_t v, bool is64);

/* ------------------------------------------------------ connection windows */

/*
 * RFC 8684 section 3.3.4: the window advertised on every subflow is the
 * connection-level receive window, relative to the DATA_ACK (rcv_nxt).
 * mptcp_dsn_rcv_wnd computes the 16-bit window field for a TCP header with
 * window scale |wscale| (0..14) from the free connection buffer |space|.
 * The right edge never moves left (RFC 9293 section 3.8.6 applied at data
 * level, as Linux keeps rcv_wnd_sent): *|edge_sent| holds the right edge
 * advertised so far (initialise it to rcv_nxt) and is updated to the edge
 * this field advertises.
 */
uint16_t mptcp_dsn_rcv_wnd(uint64_t rcv_nxt, uint32_t space, uint8_t wscale,
                           uint64_t *edge_sent);

/* Sender: the right edge of the peer's data-level window after a DATA_ACK
 * |data_ack| with window |wnd| bytes (already scaled); never moves left. */
static inline uint64_t mptcp_dsn_snd_edge(uint64_t cur_edge, uint64_t data_ack, uint32_t wnd)
{
    return mptcp_dsn_max(cur_edge, data_ack + wnd);
}

/* Outcome of mptcp_dsn_accept. */
enum {
    MPTCP_DSN_IN = 0,     /* some bytes are new and inside the window */
    MPTCP_DSN_OLD = 1,    /* every byte is below rcv_nxt: a duplicate, drop silently */
    MPTCP_DSN_BEYOND = 2, /* starts at or beyond the right edge: drop */
};

/*
 * Acceptance of mapped data [dsn, dsn + len) against the data-level window
 * [rcv_nxt, edge) (RFC 8684 section 3.3.4: data outside it is dropped;
 * older data is a duplicate reinjected on another subflow, dropped
 * silently). For MPTCP_DSN_IN, *|skip| is the number of leading bytes
 * below rcv_nxt and *|take| the number after them inside the window (> 0).
 * |len| 0 is MPTCP_DSN_OLD. Output pointers may be NULL.
 */
int mptcp_dsn_accept(uint64_t rcv_nxt, uint64_t edge, uint64_t dsn, uint32_t len,
                     uint32_t *skip, uint32_t *take);

/* --------------------------------------------------------------- mappings */

/* One DSS mapping as the option carries it (RFC 8684 section 3.3.1), with
 * the DSN already 64 bits. */
typedef struct mptcp_map {
    uint64_t dsn;      /* DSN of the first mapped byte (or of the DATA_FIN) */
    uint32_t ssn;      /* subflow sequence relative to the ISN: first data byte = 1 */
    uint16_t data_len; /* data-level length, counting the DATA_FIN; 0 = infinite */
    bool fin;          /* DATA_FIN: the last of the data_len DSNs */
    bool has_csum;
    uint16_t csum;     /* host order, as mptcp_opt_dss.csum */
} mptcp_map;

/* Subflow payload bytes a mapping covers: the DATA_FIN takes a DSN but no
 * subflow byte (RFC 8684 section 3.3: "the DATA_FIN ... data-level length
 * ... one more"). */
static inline uint32_t mptcp_map_payload(const mptcp_map *m)
{
    return (uint32_t)m->data_len - (m->fin && m->data_len ? 1u : 0u);
}

/* DSN of the DATA_FIN of a mapping with fin set. */
static inline uint64_t mptcp_map_fin_dsn(const mptcp_map *m)
{
    return m->dsn + m->data_len - 1;
}

/* ------------------------------------------------------------ receive side */

#ifndef MPTCP_MAP_RX_MAX
#define MPTCP_MAP_RX_MAX 4 /* mappings held per subflow: current + next ones */
#endif

/* mptcp_map_rx_add outcomes. Negatives are protocol errors of the peer:
 * the caller resets the subflow (MP_TCPRST "MPTCP-specific error", as Linux
 * does for MAPPING_INVALID) or falls back (RFC 8684 section 3.7). */
enum {
    MPTCP_MAP_ADDED = 0,     /* stored */
    MPTCP_MAP_DUP = 1,       /* identical to one held: nothing changed */
    MPTCP_MAP_OLD = 2,       /* covers only consumed bytes (retransmission): ignored */
    MPTCP_MAP_FIN_ONLY = 3,  /* DATA_FIN with no payload (data_len 1): not stored;
                                its DSN is mptcp_map_fin_dsn(m) */
    MPTCP_MAP_INFINITE = 4,  /* infinite mapping: linear mode entered */
    MPTCP_MAP_IGNORED = 5,   /* already in linear mode: DSS mappings no longer apply */
    MPTCP_MAP_DUP_FIN = 6,   /* a held mapping again, now with the DATA_FIN (one more
                                data-level byte, RFC 8684 section 3.3.3): nothing
                                changed; its DSN is mptcp_map_fin_dsn(m) */
    MPTCP_MAP_ECONFLICT = -1, /* overlaps held bytes with a different mapping */
    MPTCP_MAP_ECSUM = -2,     /* checksum present but not negotiated, or absent
                                 but negotiated (RFC 8684 section 3.3.1) */
    MPTCP_MAP_EFULL = -3,     /* MPTCP_MAP_RX_MAX held: drop the segment unacknowledged */
};

/* State of a mapping's DSS checksum. */
enum {
    MPTCP_MAP_CSUM_NONE = 0,    /* not negotiated */
    MPTCP_MAP_CSUM_PENDING = 1, /* not all bytes summed yet */
    MPTCP_MAP_CSUM_OK = 2,
    MPTCP_MAP_CSUM_BAD = 3,
};

typedef struct mptcp_map_rx_ent {
    mptcp_map m;
    uint32_t len;     /* payload bytes: mptcp_map_payload(&m) */
    uint32_t summed;  /* payload bytes added to sum, in order from m.ssn */
    uint32_t sum;     /* partial DSS checksum: pseudo-header + summed bytes */
    uint8_t csum_state;
} mptcp_map_rx_ent;

typedef struct mptcp_map_rx {
    uint32_t irs;       /* subflow initial receive sequence: absolute = irs + relative */
    uint32_t consumed;  /* relative sequence of the first byte not consumed */
    bool csum;          /* DSS checksums negotiated for the connection */
    bool linear;        /* infinite mapping or fallback: bytes map linearly */
    bool csum_ok_seen;  /* a checksum verified once (Linux valid_csum_seen, section 3.7) */
    uint8_t n;          /* entries in ent[] */
    uint32_t fed;       /* relative sequence up to which payload was fed (csum) */
    uint32_t lin_ssn;   /* linear mode: relative sequence of DSN lin_dsn */
    uint64_t lin_dsn;
    mptcp_map_rx_ent ent[MPTCP_MAP_RX_MAX]; /* sorted by ssn, disjoint, end > consumed */
} mptcp_map_rx;

/* A piece of in-order subflow bytes and what it maps to (mptcp_map_rx_get). */
typedef struct mptcp_map_piece {
    uint64_t dsn;       /* DSN of the piece's first byte (MPTCP_MAP_PIECE_OK/WAIT/BAD) */
    uint32_t len;       /* bytes from the asked sequence this answer covers */
    bool fin;           /* the piece ends its mapping and the mapping has the DATA_FIN */
    uint64_t fin_dsn;   /* DSN of that DATA_FIN when fin */
} mptcp_map_piece;

/* mptcp_map_rx_get outcomes. */
enum {
    MPTCP_MAP_PIECE_OK = 0,       /* deliverable at [dsn, dsn + len) */
    MPTCP_MAP_PIECE_WAIT = 1,     /* mapped, but its checksum is not complete yet */
    MPTCP_MAP_PIECE_BAD = 2,      /* mapped, and its mapping failed the checksum */
    MPTCP_MAP_PIECE_UNMAPPED = 3, /* no mapping covers these |len| bytes */
};

/* Starts the table of a subflow whose initial receive sequence is |irs|. */
void mptcp_map_rx_init(mptcp_map_rx *rx, uint32_t irs, bool csum);

/* Adds a received mapping (DSN already expanded, see
 * mptcp_map_rx_add_dss). Returns an MPTCP_MAP_* outcome above. */
int mptcp_map_rx_add(mptcp_map_rx *rx, const mptcp_map *m);

/* The same from a decoded DSS option (which must have has_map): a 32-bit
 * DSN is expanded against the data-level |rcv_nxt| (RFC 8684 section 3.3,
 * as Linux expands against ack_seq). *|out| (may be NULL) gets the mapping. */
int mptcp_map_rx_add_dss(mptcp_map_rx *rx, const mptcp_opt_dss *o, uint64_t rcv_nxt,
                         mptcp_map *out);

/*
 * Enters linear mode (RFC 8684 section 3.7, infinite mapping or fallback):
 * subflow byte |seq| (absolute) is DSN |dsn| and every later byte follows.
 * Held mappings ending at or before |seq| stay in force for earlier bytes;
 * held bytes at or after |seq| must agree, else MPTCP_MAP_ECONFLICT and
 * nothing changes. Checksums are no longer checked for linear bytes.
 */
int mptcp_map_rx_set_linear(mptcp_map_rx *rx, uint32_t seq, uint64_t dsn);

/*
 * DSS checksum accumulation: feed in-order subflow payload once, in order,
 * as it becomes in-order (|seq| absolute; chunks of any size, split across
 * mappings as needed), after adding the mappings that arrived with it.
 * Bytes already fed are skipped. A mapping's checksum is decided when its
 * last byte is fed (RFC 8684 section 3.3.1: it covers the whole mapping).
 * Returns how many of the |len| bytes a held mapping or linear mode covers
 * (the others are unmapped and not summed). Without negotiated checksums it
 * only returns that count.
 */
uint32_t mptcp_map_rx_csum_feed(mptcp_map_rx *rx, uint32_t seq, const uint8_t *data,
                                uint32_t len);

/* Maps in-order bytes [seq, seq + avail) (|seq| absolute): fills *|p| with
 * the longest leading piece that has one answer, returns MPTCP_MAP_PIECE_*.
 * |avail| 0 gives UNMAPPED with len 0. */
int mptcp_map_rx_get(const mptcp_map_rx *rx, uint32_t seq, uint32_t avail, mptcp_map_piece *p);

/* The caller consumed (delivered or discarded) |n| bytes at the consumption
 * point; mappings that end at or before it are retired. */
void mptcp_map_rx_consume(mptcp_map_rx *rx, uint32_t n);

/* --------------------------------------------------------------- send side */

#ifndef MPTCP_MAP_TX_MAX
#define MPTCP_MAP_TX_MAX 16 /* chunks a subflow may hold unacknowledged */
#endif

/* One chunk handed to the subflow by the scheduler: one DSS mapping. */
typedef struct mptcp_map_tx_ent {
    uint64_t dsn;
    uint32_t ssn;      /* relative subflow sequence of the first byte */
    uint16_t len;      /* payload bytes (1..65535, 65534 with a DATA_FIN) */
    bool fin;          /* the mapping carries the DATA_FIN after the payload */
    bool sent;         /* a segment carried this mapping: it can no longer change */
    uint32_t paysum;   /* partial checksum of the payload (when csum) */
} mptcp_map_tx_ent;

typedef struct mptcp_map_tx {
    uint32_t iss;      /* subflow initial send sequence: absolute = iss + relative */
    bool csum;         /* DSS checksums negotiated */
    uint8_t head;      /* ring index of the oldest chunk */
    uint8_t n;
    mptcp_map_tx_ent ent[MPTCP_MAP_TX_MAX]; /* in subflow order, contiguous or not */
    /* The newest chunk a segment carried (its mapping is on the wire): the
     * end of it in both spaces, for the linear map after a fallback. */
    bool sent_any;
    uint32_t sent_end_ssn;  /* relative */
    uint64_t sent_end_dsn;
} mptcp_map_tx;

/* A DSN range [start, end). */
typedef struct mptcp_dsn_range {
    uint64_t start, end;
} mptcp_dsn_range;

void mptcp_map_tx_init(mptcp_map_tx *tx, uint32_t iss, bool csum);

/*
 * Records that the scheduler handed [dsn, dsn + len) to this subflow at
 * subflow sequence |seq| (absolute). |len| 1..65535. |payload| holds the
 * |len| bytes when checksums are on (may be NULL otherwise). A chunk that
 * continues the newest one in both spaces, not yet sent, merges into it
 * while the mapping stays within 65535 bytes. Returns 0, MPTCP_EINVAL
 * (bad length, NULL payload with checksums, |seq| not after the newest
 * chunk) or MPTCP_ELIMIT (MPTCP_MAP_TX_MAX chunks held).
 */
int mptcp_map_tx_add(mptcp_map_tx *tx, uint64_t dsn, uint32_t seq, uint32_t len,
                     const uint8_t *payload);

/*
 * Puts the DATA_FIN on the newest chunk when it ends at |fin_dsn| and has
 * not been sent (its mapping must not change once on the wire). Returns 0,
 * MPTCP_ESTATE (sent, or ending elsewhere, or full length: send
 * mptcp_map_tx_fin_only instead) or MPTCP_ENOTFOUND (no chunk).
 */
int mptcp_map_tx_set_fin(mptcp_map_tx *tx, uint64_t fin_dsn);

/*
 * The DSS mapping for an outgoing segment whose payload starts at |seq|
 * (absolute): the whole mapping of the chunk holding |seq| (one mapping per
 * chunk; the caller decides which of its segments carry it, RFC 8684
 * 3.3.1), with its checksum when negotiated. Returns the payload bytes from
 * |seq| to the end of that chunk (the segment must stop there), or
 * MPTCP_ENOTFOUND. Marks the chunk sent (and, the first time, the newest
 * sent: sent_end_*).
 */
int32_t mptcp_map_tx_for_seg(mptcp_map_tx *tx, uint32_t seq, mptcp_map *out);

/* A DATA_FIN without payload (RFC 8684 section 3.3: subflow sequence 0,
 * data-level length 1, DSN of the DATA_FIN). */
void mptcp_map_tx_fin_only(uint64_t fin_dsn, bool csum, mptcp_map *out);

/* The subflow acknowledged everything before |snd_una| (absolute):
 * chunks wholly below it are dropped. Returns the number dropped. */
uint32_t mptcp_map_tx_ack(mptcp_map_tx *tx, uint32_t snd_una);

/*
 * DSN ranges this subflow still holds unacknowledged at subflow level
 * (above |snd_una|) and at data level (at or above |data_una|), for
 * reinjection on other subflows when it fails (RFC 8684 section 3.3.6).
 * Adjacent ranges are merged. Writes at most |max|, returns the count.
 */
uint32_t mptcp_map_tx_unacked(const mptcp_map_tx *tx, uint32_t snd_una, uint64_t data_una,
                              mptcp_dsn_range *out, uint32_t max);

#endif /* MPTCP_DSN_H */
