/*
 * tun_host.h - the TUN host: a libmptcp stack wired to one or more Linux TUN
 * devices (one per path), a route table, a monotonic clock, a random source,
 * path emulation and a pcap recorder. The application on top (main.c: the
 * netcat front end) only sees connections and events.
 *
 * Routing model (the same as Linux's per-endpoint policy routing for MPTCP):
 *   - a segment between a local and a remote address that the peer's
 *     packets arrived on through device D leaves through D too (symmetric
 *     paths: a peer that binds a subflow to one of its devices, as Linux
 *     does for an `ip mptcp endpoint ... dev D`, gets its answers there);
 *   - otherwise every local address (--addr) belongs to one device; a
 *     segment the stack sends from that address leaves through that device,
 *     whatever its destination, so each subflow keeps to its own path;
 *   - segments from other sources, and the choice of source address for an
 *     active open, use the route table: longest prefix match on the
 *     destination over connected prefixes (--addr A/LEN) and --route entries;
 *     a host with one device needs no routes;
 *   - received packets are accepted on any device when their destination is
 *     one of the local addresses (weak host model, RFC 1122 section 3.3.4.2).
 */
#ifndef MPTCP_TUN_HOST_H
#define MPTCP_TUN_HOST_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mptcp.h"
#include "tun_dev.h"
#include "tun_netem.h"

#define TUN_MAX_DEVS 8
#define TUN_MAX_LOCALS 32
#define TUN_MAX_ROUTES 64
#define TUN_MAX_PAIRS 64   /* remembered (local, remote) -> arrival device */
#define TUN_PKT_MAX 65536

enum { TUN_DIR_IN = 0, TUN_DIR_OUT = 1 }; /* IN: device -> stack; OUT: stack -> device */

typedef struct tun_dev_counters {
    uint64_t rx_pkts, rx_bytes;   /* read from the device */
    uint64_t tx_pkts, tx_bytes;   /* written to the device */
    uint64_t rx_bad_ip;           /* not a valid IPv4/IPv6 packet */
    uint64_t rx_not_tcp;          /* ICMP, UDP, ...: dropped, never answered */
    uint64_t rx_fragment;         /* fragments (no reassembly) */
    uint64_t rx_ext_unknown;      /* IPv6 extension header we cannot walk */
    uint64_t rx_not_local;        /* destination is not one of our addresses */
    uint64_t tx_err;              /* write() failed (the packet is lost) */
} tun_dev_counters;

typedef struct tun_dev {
    char name[TUN_DEV_NAME_MAX];
    int fd;
    int mtu;
    bool created;                 /* created by us: it goes away when we exit */
    tun_netem netem[2];           /* [TUN_DIR_IN], [TUN_DIR_OUT] */
    tun_dev_counters ctr;
} tun_dev;

/* A local address owned by the library. |flags| are its MPTCP endpoint
 * flags (MPTCP_ADDR_F_SIGNAL, _SUBFLOW, _BACKUP, _FULLMESH; 0: not an
 * endpoint), registered with mptcp_local_addr_add by the application. */
typedef struct tun_local {
    mptcp_addr addr;              /* port 0 */
    uint8_t plen;                 /* connected prefix length */
    int dev;
    unsigned flags;
} tun_local;

/* The device the peer's packets from |remote| to |local| last arrived on. */
typedef struct tun_pair {
    mptcp_addr local, remote;     /* ports 0 */
    int dev;
} tun_pair;

typedef struct tun_route {
    mptcp_addr prefix;
    uint8_t plen;
    int dev;
} tun_route;

typedef struct tun_host {
    tun_dev dev[TUN_MAX_DEVS];
    int n_dev;
    tun_local local[TUN_MAX_LOCALS];
    int n_local;
    tun_route route[TUN_MAX_ROUTES];
    int n_route;
    tun_pair pair[TUN_MAX_PAIRS]; /* reply paths (see the routing model) */
    int n_pair, next_pair;

    mptcp_stack *st;
    void (*app_event)(void *app, mptcp_conn *c, const mptcp_event *ev);
    void *app;

    uint64_t now_us;              /* last CLOCK_MONOTONIC reading */
    uint64_t wall_offset_us;      /* CLOCK_REALTIME - CLOCK_MONOTONIC at start (pcap) */
    bool seeded;                  /* --seed: deterministic random bytes */
    uint64_t rng;
    uint16_t ip_id;
    int verbose;                  /* log level shown: 0 errors .. 3 debug */
    struct mptcp_test_pcap *pcap;
    bool pcap_failed;
    uint64_t tx_no_route;         /* segments with no device to leave by */
    uint64_t tx_bad_family;       /* src/dst families differ (a stack bug) */
    uint64_t input_errors;        /* mptcp_input returned an error */
    int fatal;                    /* a fatal MPTCP_E* code from the stack, or 0 */
    uint8_t pkt[TUN_PKT_MAX];     /* receive buffer (mptcp_input reads it) */
    uint8_t txpkt[TUN_PKT_MAX];   /* build buffer for cb.send */
} tun_host;

/* Empties |h| (no devices, no stack). */
void tun_host_init(tun_host *h);
/* Adds a device (opened now). Returns its index or -1 with a reason in err. */
int tun_host_add_dev(tun_host *h, const char *name, char *err, size_t errlen);
/* Adds a local address on device |dev| with connected prefix |plen|; a
 * prefix shorter than the address also becomes a route via |dev|. */
int tun_host_add_local(tun_host *h, const mptcp_addr *a, unsigned plen, int dev);
int tun_host_add_route(tun_host *h, const mptcp_addr *prefix, unsigned plen, int dev);

/* Remembers that a packet from |remote| to |local| arrived on device |dev|. */
void tun_host_note_arrival(tun_host *h, const mptcp_addr *local, const mptcp_addr *remote,
                           int dev);
/* Device index for a segment from |src| to |dst|, or -1 (see the model above). */
int tun_route_out(const tun_host *h, const mptcp_addr *src, const mptcp_addr *dst);
/* Longest prefix match of |dst| over the route table, or -1. */
int tun_route_lookup(const tun_host *h, const mptcp_addr *dst);
/* Source address for an active open to |dst|: a local address on the
 * routed device, else the first local address of the family. NULL: none. */
const tun_local *tun_route_source(const tun_host *h, const mptcp_addr *dst);
/* The local address equal to |a|, or NULL. */
const tun_local *tun_host_find_local(const tun_host *h, const mptcp_addr *a);

/* Records every segment into a pcap (LINKTYPE_RAW) at the stack boundary. */
int tun_host_open_pcap(tun_host *h, const char *path);
/* Creates the stack. With |seed| non-NULL, random bytes come from a
 * splitmix64 stream seeded with *seed; otherwise from getrandom(). */
int tun_host_start(tun_host *h, const mptcp_config *cfg, const uint64_t *seed);

/* Reads CLOCK_MONOTONIC into h->now_us and returns it. */
uint64_t tun_host_clock(tun_host *h);
/* Fills pollfds for the devices (POLLIN). Returns how many. */
int tun_host_pollfds(const tun_host *h, struct pollfd *pfd, int max);
/* Reads every packet waiting on device |d| (bounded per call) and feeds the
 * TCP segments for local addresses to the stack (through netem). */
void tun_host_rx(tun_host *h, int d);
/* Releases due netem packets and runs due stack timers. */
void tun_host_service(tun_host *h);
/* The earliest deadline: stack timers or netem queues; UINT64_MAX: none. */
uint64_t tun_host_deadline(const tun_host *h);
/* True when netem queues still hold packets. */
bool tun_host_queues_busy(const tun_host *h);

/* Counters of the devices, netem and the stack, for --stats. */
void tun_host_print_stats(const tun_host *h, FILE *f);
/* Frees the stack, netem queues, closes the pcap and the devices. */
void tun_host_free(tun_host *h);

#endif /* MPTCP_TUN_HOST_H */
