/*
 * sim_host.h - an mptcp_stack as a simulator node, with a small test
 * application per connection: it sends a seeded stream, checks every byte it
 * receives against the peer's stream (and its SHA-256), half-closes and
 * closes when told, and keeps the events and a statistics snapshot for the
 * test to look at. Memory goes through a counting allocator (leaks, peak).
 */
#ifndef MPTCP_SIM_HOST_H
#define MPTCP_SIM_HOST_H

#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"

typedef struct sim_host sim_host;

/* What one side of a connection does. */
typedef struct sim_flow_cfg {
    uint64_t tx_seed;         /* stream this side sends */
    uint64_t tx_bytes;        /* how much of it (0: nothing) */
    bool shutdown_when_sent;  /* mptcp_shutdown (FIN) once tx_bytes are handed over */
    bool close_when_done;     /* mptcp_close once sent and the peer's EOF was read */
    uint64_t rx_seed;         /* stream expected from the peer */
    uint64_t rx_start_us;     /* do not read before this time (zero-window tests) */
    bool rx_never;            /* never read */
    size_t rx_chunk;          /* bytes per mptcp_recv (default 65536) */
} sim_flow_cfg;

#define SIM_EV_MAX 32 /* room for the MPTCP event types to come */

typedef struct sim_flow {
    sim_host *host;
    mptcp_conn *conn;          /* NULL once MPTCP_EV_CLOSED was delivered */
    sim_flow_cfg cfg;
    bool active;               /* opened by sim_host_connect */
    uint64_t tx_off;           /* bytes taken by mptcp_send */
    sim_check rx;              /* bytes received and checked */
    bool connected, peer_shutdown, eof, shut_sent, close_called, closed;
    mptcp_close_reason reason;
    uint64_t t_open, t_connected, t_tx_done, t_eof, t_closed;
    uint32_t ev[SIM_EV_MAX];   /* count per MPTCP_EV_* */
    int last_err;              /* last unexpected return code of an API call */
    const char *last_err_op;   /* which call returned it */
    mptcp_conn_stats stats;    /* snapshot at the latest event (and on demand) */
    bool have_stats;
    /* tx staging */
    uint8_t *stage;
    uint64_t stage_off;
    size_t stage_len;
} sim_flow;

/* A host with a stack configured by |cfg| (NULL: defaults), random bytes
 * from |seed|. Freed with the simulation. */
sim_host *sim_host_new(sim *s, const char *name, const mptcp_config *cfg, uint64_t seed);
sim_node *sim_host_node(sim_host *h);
mptcp_stack *sim_host_stack(sim_host *h);

/* Listens on |local|; accepted connections run |cfg|. Returns mptcp_listen's code. */
int sim_host_listen(sim_host *h, const mptcp_addr *local, const sim_flow_cfg *cfg);
/* Opens a connection now. NULL if mptcp_connect failed (its code in *err). */
sim_flow *sim_host_connect(sim_host *h, const mptcp_addr *local, const mptcp_addr *remote,
                           const sim_flow_cfg *cfg, int *err);

size_t sim_host_flow_count(const sim_host *h);
sim_flow *sim_host_flow(sim_host *h, size_t i);

/* Sends and reads what can be sent and read now (call after changing cfg). */
void sim_flow_pump(sim_flow *f);
/* Refreshes f->stats (false once the connection is gone). */
bool sim_flow_stats(sim_flow *f);
/* True when every byte of the expected stream up to |len| arrived, in order,
 * unaltered (and nothing more). */
bool sim_flow_rx_ok(const sim_flow *f, uint64_t len);

typedef struct sim_host_mem {
    size_t cur, peak;
    uint64_t allocs, frees;
} sim_host_mem;
void sim_host_get_mem(const sim_host *h, sim_host_mem *out);
/* Unexpected return codes from mptcp_input / mptcp_handle_timeout. */
uint64_t sim_host_api_errors(const sim_host *h);

#endif /* MPTCP_SIM_HOST_H */
