/*
 * pm.h - the path manager: a stack-level endpoint list with limits (the
 * model of Linux's `ip mptcp endpoint` / `ip mptcp limits`) and per
 * connection address state (RFC 8684 section 3.4). The PM is sans-IO and
 * decides only: mptcp_pm_poll() turns its state plus a view of the
 * connection's subflows into actions (open a subflow, send ADD_ADDR /
 * REMOVE_ADDR / MP_PRIO, close a subflow) that the connection carries out.
 * docs/pm-sched.md describes the policy.
 */
#ifndef MPTCP_PM_H
#define MPTCP_PM_H

#include "common.h"

/* Compile-time caps (override with -D). Limits set at run time stay <= caps. */
#ifndef MPTCP_PM_MAX_ENDPOINTS
#define MPTCP_PM_MAX_ENDPOINTS 8 /* stack-level endpoint table */
#endif
#ifndef MPTCP_MAX_ADDRS
#define MPTCP_MAX_ADDRS 8        /* remote addresses remembered per connection */
#endif
#ifndef MPTCP_MAX_SUBFLOWS
#define MPTCP_MAX_SUBFLOWS 8     /* subflows per connection, the initial one included */
#endif
#ifndef MPTCP_PM_MAX_PATHS
#define MPTCP_PM_MAX_PATHS 16    /* (local ID, remote ID) pairs the PM tracks per connection */
#endif
#ifndef MPTCP_PM_MAX_ECHO
#define MPTCP_PM_MAX_ECHO 8      /* ADD_ADDR echoes waiting to be sent */
#endif

/* Linux's MPTCP_PM_ADDR_MAX: the largest value either limit may take. */
#define MPTCP_PM_LIMIT_MAX 8

/* Endpoint flags (ip-mptcp(8): signal, subflow, backup, fullmesh). */
#define MPTCP_PM_F_SIGNAL 0x01u   /* announce with ADD_ADDR */
#define MPTCP_PM_F_SUBFLOW 0x02u  /* open subflows from this address */
#define MPTCP_PM_F_BACKUP 0x04u   /* announce/open as backup (MP_JOIN B, MP_PRIO) */
#define MPTCP_PM_F_FULLMESH 0x08u /* subflow to every known remote address */
#define MPTCP_PM_F_ALL 0x0fu

typedef struct mptcp_pm_endpoint {
    uint8_t id;      /* 1..255; 0 marks a free slot */
    uint8_t flags;   /* MPTCP_PM_F_* */
    mptcp_addr addr; /* port != 0: announced with that port */
} mptcp_pm_endpoint;

/* Stack-level PM configuration; one per stack, shared (read-only) by every
 * connection's mptcp_pm. */
typedef struct mptcp_pm_config {
    mptcp_pm_endpoint ep[MPTCP_PM_MAX_ENDPOINTS];
    uint8_t next_id;             /* ID allocation cursor (1..255) */
    uint8_t subflows_max;        /* additional subflows per connection (default 2) */
    uint8_t add_addr_accept_max; /* peer ADD_ADDRs acted on (default 0, as Linux) */
    uint8_t add_addr_retries;    /* ADD_ADDR retransmissions before giving up (3) */
    uint32_t add_addr_timeout_us; /* max ADD_ADDR retransmit interval (120 s); 0 = never */
    uint8_t subflow_retries;     /* re-attempts of a failed subflow (default 2) */
    uint32_t subflow_retry_us;   /* first retry delay, doubled per failure (1 s) */
} mptcp_pm_config;

/* Fills |cfg| with the defaults above and no endpoints. */
void mptcp_pm_config_init(mptcp_pm_config *cfg);
/* `ip mptcp limits set`: each value 0..MPTCP_PM_LIMIT_MAX and subflows <=
 * MPTCP_MAX_SUBFLOWS - 1. Returns 0 or MPTCP_EINVAL (nothing changed). */
int mptcp_pm_limits_set(mptcp_pm_config *cfg, uint8_t subflows, uint8_t add_addr_accepted);
/*
 * `ip mptcp endpoint add`: |id| 0 allocates the first free ID at or after
 * the cursor (wrapping 255 -> 1), so a just-deleted ID is not handed out
 * again until the cursor wraps. Returns the endpoint's ID (1..255),
 * MPTCP_EINVAL (bad family, unknown flag, fullmesh with signal as Linux
 * refuses), MPTCP_EADDRINUSE (ID or address+port already present) or
 * MPTCP_ELIMIT (table full).
 */
int mptcp_pm_endpoint_add(mptcp_pm_config *cfg, const mptcp_addr *addr, uint8_t id,
                          uint8_t flags);
/* `ip mptcp endpoint delete id`: frees the slot. The caller then calls
 * mptcp_pm_local_removed() on every connection. Returns 0 or
 * MPTCP_ENOTFOUND. */
int mptcp_pm_endpoint_del(mptcp_pm_config *cfg, uint8_t id);
/* `ip mptcp endpoint change`: sets or clears BACKUP and FULLMESH (only those,
 * as Linux). |flags| holds the new values of both bits. The caller then
 * calls mptcp_pm_local_set_backup() on every connection when BACKUP changed.
 * Returns 0, MPTCP_ENOTFOUND, MPTCP_EINVAL (other bits, fullmesh on a signal
 * endpoint). */
int mptcp_pm_endpoint_change(mptcp_pm_config *cfg, uint8_t id, uint8_t flags);
/* The endpoint with |id|, or NULL. */
const mptcp_pm_endpoint *mptcp_pm_endpoint_get(const mptcp_pm_config *cfg, uint8_t id);

/* ------------------------------------------------------------------ */
/* Per-connection state. */

typedef enum mptcp_pm_ann_state {
    MPTCP_PM_ANN_FREE = 0,
    MPTCP_PM_ANN_PENDING, /* to be sent (first time or retransmission) */
    MPTCP_PM_ANN_SENT,    /* sent, waiting for the echo until |deadline| */
    MPTCP_PM_ANN_ECHOED,  /* the peer echoed it: done */
    MPTCP_PM_ANN_GAVE_UP  /* retransmissions exhausted without an echo */
} mptcp_pm_ann_state;

typedef struct mptcp_pm_ann {
    uint8_t state;     /* mptcp_pm_ann_state */
    uint8_t id;
    uint8_t tx_count;  /* transmissions so far (1 = the first one) */
    mptcp_addr addr;
    uint64_t deadline; /* SENT: retransmit/give-up time; else UINT64_MAX */
} mptcp_pm_ann;

typedef struct mptcp_pm_remote {
    bool used;
    uint8_t id;
    mptcp_addr addr; /* port 0 = the connection's remote port */
} mptcp_pm_remote;

typedef enum mptcp_pm_path_state {
    MPTCP_PM_PATH_FREE = 0,
    MPTCP_PM_PATH_OPENING,    /* OPEN_SUBFLOW handed out, subflow not seen yet */
    MPTCP_PM_PATH_OPEN,       /* seen in the subflow list; never reopened by the PM */
    MPTCP_PM_PATH_RETRY_WAIT, /* the attempt failed; retry at |retry_at| */
    MPTCP_PM_PATH_RETRY,      /* retry due */
    MPTCP_PM_PATH_GAVE_UP     /* failed subflow_retries + 1 times */
} mptcp_pm_path_state;

typedef struct mptcp_pm_path {
    uint8_t state; /* mptcp_pm_path_state */
    uint8_t local_id, remote_id;
    uint8_t fails;
    uint64_t retry_at;
} mptcp_pm_path;

typedef struct mptcp_pm_echo {
    uint8_t id;
    mptcp_addr addr;
} mptcp_pm_echo;

/* Counters: peer behaviour the PM did not act on, and retransmissions. */
typedef struct mptcp_pm_stats {
    uint32_t add_addr_rx;        /* valid non-echo ADD_ADDRs received */
    uint32_t add_addr_dup;       /* same ID and address again (echoed, no change) */
    uint32_t add_addr_ignored;   /* beyond add_addr_accept_max (echoed, not used) */
    uint32_t add_addr_conflict;  /* known ID with another address, or ID 0 not the
                                    initial address (echoed, ignored) */
    uint32_t add_addr_no_room;   /* remote table full */
    uint32_t echo_unknown;       /* echo of nothing we announced */
    uint32_t add_addr_retrans;   /* our ADD_ADDR retransmissions */
    uint32_t add_addr_gave_up;
    uint32_t rm_addr_rx;         /* IDs received in REMOVE_ADDR */
    uint32_t subflow_failed;
    uint32_t subflow_gave_up;
    uint32_t echo_dropped;       /* echo queue full */
} mptcp_pm_stats;

typedef struct mptcp_pm {
    const mptcp_pm_config *cfg;
    bool established;   /* MPTCP fully established: the PM may act */
    bool deny_join_id0; /* peer's MP_CAPABLE C flag (RFC 8684 section 3.1) */
    mptcp_addr local0;  /* initial subflow's addresses: local ID 0 and remote ID 0 */
    mptcp_addr remote0;
    uint32_t rto_hint_us;   /* largest subflow RTO, 0 = unknown */
    uint8_t add_addr_accepted;
    uint8_t local_ids[32];  /* bitmap: local IDs used on this connection */
    mptcp_pm_ann ann[MPTCP_PM_MAX_ENDPOINTS];
    mptcp_pm_remote remote[MPTCP_MAX_ADDRS];
    mptcp_pm_path path[MPTCP_PM_MAX_PATHS];
    mptcp_pm_echo echo[MPTCP_PM_MAX_ECHO];
    uint8_t n_echo;
    uint8_t rm_ids[MPTCP_RM_ADDR_MAX]; /* local IDs to announce as removed */
    uint8_t n_rm;
    uint8_t close_remote[32]; /* bitmap: close subflows to these remote IDs */
    uint8_t close_local[32];  /* bitmap: close subflows from these local IDs */
    uint8_t prio_set[32];     /* bitmap: local IDs with an MP_PRIO change pending */
    uint8_t prio_val[32];     /* bitmap: the new backup value per local ID */
    uint8_t removed[32];      /* bitmap: local IDs withdrawn on this connection
                                 (REMOVE_ADDR sent); never used again by the PM
                                 until re-added (mptcp_pm_local_restore) */
    mptcp_pm_stats stats;
} mptcp_pm;

/* Initializes |pm| for a connection whose initial subflow runs |local| ->
 * |remote|. |cfg| must outlive |pm|. The PM does nothing until
 * mptcp_pm_set_established(). */
void mptcp_pm_init(mptcp_pm *pm, const mptcp_pm_config *cfg, const mptcp_addr *local,
                   const mptcp_addr *remote);
/* The connection is fully established (RFC 8684 section 3.2: joins only
 * then). |deny_join_id0| is the peer's MP_CAPABLE C flag. */
void mptcp_pm_set_established(mptcp_pm *pm, bool deny_join_id0);
/* Largest RTO among the subflows (0 unknown): the first ADD_ADDR timeout. */
void mptcp_pm_set_rto(mptcp_pm *pm, uint32_t rto_us);

/* A view of one existing subflow, as the connection sees it. */
typedef enum mptcp_pm_sf_state {
    MPTCP_PM_SF_CONNECTING = 0,
    MPTCP_PM_SF_ESTABLISHED,
    MPTCP_PM_SF_CLOSING
} mptcp_pm_sf_state;

typedef struct mptcp_pm_subflow {
    uint8_t id;        /* the connection's subflow handle */
    uint8_t local_id;  /* our address ID on it */
    uint8_t remote_id; /* the peer's address ID on it */
    uint8_t state;     /* mptcp_pm_sf_state */
    bool initial;      /* the MP_CAPABLE subflow (not counted in the limit) */
    bool backup;       /* our current backup setting for it */
} mptcp_pm_subflow;

typedef enum mptcp_pm_action_type {
    MPTCP_PM_ACT_CLOSE_SUBFLOW = 1, /* subflow_id; RM_ADDR received or local removed */
    MPTCP_PM_ACT_SEND_RM_ADDR,      /* rm */
    MPTCP_PM_ACT_SEND_PRIO,         /* subflow_id, backup */
    MPTCP_PM_ACT_SEND_ADD_ADDR,     /* addr_id, addr, echo */
    MPTCP_PM_ACT_OPEN_SUBFLOW       /* local_id, local, remote_id, remote, backup */
} mptcp_pm_action_type;

typedef struct mptcp_pm_action {
    mptcp_pm_action_type type;
    uint8_t subflow_id;
    uint8_t addr_id;   /* SEND_ADD_ADDR */
    bool echo;         /* SEND_ADD_ADDR: E flag */
    bool backup;       /* SEND_PRIO, OPEN_SUBFLOW (MP_JOIN B flag) */
    uint8_t local_id, remote_id;
    mptcp_addr local;  /* OPEN_SUBFLOW source (port 0: ephemeral) */
    mptcp_addr addr;   /* SEND_ADD_ADDR address; OPEN_SUBFLOW destination */
    mptcp_opt_rm_addr rm;
} mptcp_pm_action;

/*
 * mptcp_pm_poll: what should be done now. |sf| lists the connection's
 * current subflows (|n_sf| of them). Writes up to |cap| actions into |out|
 * and returns how many. Returned actions are committed (an OPEN_SUBFLOW is
 * counted as in progress, an ADD_ADDR as sent at |now_us|); what did not fit
 * stays pending for the next call. Order: CLOSE_SUBFLOW, SEND_RM_ADDR,
 * SEND_PRIO, ADD_ADDR echoes, ADD_ADDR announcements, OPEN_SUBFLOW.
 */
size_t mptcp_pm_poll(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n_sf,
                     mptcp_pm_action *out, size_t cap, uint64_t now_us);

/* Result of mptcp_pm_add_addr_received(). */
typedef enum mptcp_pm_rx {
    MPTCP_PM_RX_NEW = 0,       /* recorded (and echoed) */
    MPTCP_PM_RX_DUP,           /* same ID and address: idempotent (echoed) */
    MPTCP_PM_RX_IGNORED,       /* over the limit, conflicting or no room (echoed) */
    MPTCP_PM_RX_ECHO_MATCHED,  /* echo of our announcement: retransmission stops */
    MPTCP_PM_RX_ECHO_UNKNOWN   /* echo of nothing we announced: counted */
} mptcp_pm_rx;

/* A received ADD_ADDR whose HMAC the caller verified (echoes carry none). */
mptcp_pm_rx mptcp_pm_add_addr_received(mptcp_pm *pm, const mptcp_opt_add_addr *opt);
/* A received REMOVE_ADDR: forgets the addresses and queues closing every
 * subflow to those remote IDs. Returns how many IDs were known (as remote
 * addresses or the initial address). */
int mptcp_pm_rm_addr_received(mptcp_pm *pm, const mptcp_opt_rm_addr *rm);

/* A subflow attempt from |local_id| to |remote_id| failed before it was
 * established (RST to the SYN, MP_JOIN refused, SYN timeout): schedules a
 * bounded retry. The caller drops the subflow from its list. */
void mptcp_pm_subflow_failed(mptcp_pm *pm, uint8_t local_id, uint8_t remote_id,
                             uint64_t now_us);
/*
 * Local address |id| is withdrawn: queues REMOVE_ADDR if it was announced or
 * used, and closing its subflows. Two cases (RFC 8684 section 3.4.2):
 * - after mptcp_pm_endpoint_del (stack-wide deletion): the endpoint is gone,
 *   so nothing is left to block; a later endpoint with the same ID is a new
 *   address and is used normally;
 * - the endpoint still exists (per-connection withdrawal, mptcp_addr_remove,
 *   or |id| 0 = the initial local address): the PM neither opens subflows
 *   from it nor announces it again on this connection until
 *   mptcp_pm_local_restore(), or until the host announces it again (an
 *   announcement slot for |id| reappears, as mptcp_announce creates).
 */
void mptcp_pm_local_removed(mptcp_pm *pm, uint8_t id);
/* Local address |id| may be used again on this connection after
 * mptcp_pm_local_removed (the host re-added it). */
void mptcp_pm_local_restore(mptcp_pm *pm, uint8_t id);
/* Whether local address |id| is withdrawn on this connection (a host-driven
 * subflow from it should be refused or at least not be the PM's doing). */
bool mptcp_pm_local_is_removed(const mptcp_pm *pm, uint8_t id);
/* Local address |id| (0 = the initial one) changes its backup priority:
 * queues MP_PRIO on every established subflow from it. */
void mptcp_pm_local_set_backup(mptcp_pm *pm, uint8_t id, bool backup);

/* Whether an incoming MP_JOIN may be accepted: below subflows_max. */
bool mptcp_pm_join_allowed(const mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n_sf);
/* Whether local ID |id| is in use on this connection (announced or a
 * subflow source). */
bool mptcp_pm_local_id_used(const mptcp_pm *pm, uint8_t id);
/* The remote address with |id| (0 = the initial one), or NULL. */
const mptcp_addr *mptcp_pm_remote_get(const mptcp_pm *pm, uint8_t id);
/* The announcement state of local ID |id| (MPTCP_PM_ANN_FREE if none). */
const mptcp_pm_ann *mptcp_pm_ann_get(const mptcp_pm *pm, uint8_t id);

/* Earliest deadline (ADD_ADDR retransmit, subflow retry); UINT64_MAX: none. */
uint64_t mptcp_pm_next_deadline(const mptcp_pm *pm);
/* Runs what is due at |now_us|: queues ADD_ADDR retransmissions (or gives
 * up) and makes subflow retries eligible; mptcp_pm_poll() emits them.
 * Returns the number of state changes. */
int mptcp_pm_timers_run(mptcp_pm *pm, uint64_t now_us);

#endif /* MPTCP_PM_H */
