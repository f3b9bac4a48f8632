/*
 * sim_path.c - builds a two-way path (links, optional middlebox, optional
 * pcap taps) between two nodes and installs the routes. Topology only: the
 * behaviour lives in sim_link.c and sim_mbox.c.
 */
#include "sim/sim_path.h"

#include <string.h>

static sim_elem *tap(sim *s, const sim_path_cfg *cfg, bool want, sim_elem *next, sim_tap **out)
{
    if (!cfg->pcap || !want)
        return next;
    sim_tap *t = sim_tap_new(s, cfg->pcap, cfg->pcap_max_bytes, next);
    if (out)
        *out = t;
    return sim_tap_elem(t);
}

int sim_path_new(sim *s, sim_path *out, sim_node *a, const mptcp_addr *a_ip, sim_node *b,
                 const mptcp_addr *b_ip, const sim_path_cfg *cfg)
{
    memset(out, 0, sizeof(*out));
    bool every = cfg->pcap_every_hop;
    /* B -> A, from A's end backwards: [tap] link ba [tap] (mbox b2a) [tap] */
    sim_elem *to_a = tap(s, cfg, true, sim_node_elem(a), &out->tap_in);
    out->ba = sim_link_new(s, "ba", &cfg->ba, to_a);
    sim_elem *b_first = sim_link_elem(out->ba);
    /* A -> B, from B's end backwards: [tap] (mbox a2b) [tap] link ab [tap] */
    sim_elem *to_b = tap(s, cfg, every, sim_node_elem(b), NULL);
    if (cfg->mbox) {
        b_first = tap(s, cfg, every, b_first, NULL);
        out->mbox = sim_mbox_new(s, "mbox", cfg->mbox, to_b, b_first);
        to_b = tap(s, cfg, every, sim_mbox_a2b(out->mbox), NULL);
        b_first = sim_mbox_b2a(out->mbox);
    }
    b_first = tap(s, cfg, every, b_first, NULL);
    out->ab = sim_link_new(s, "ab", &cfg->ab, to_b);
    sim_elem *a_first = tap(s, cfg, true, sim_link_elem(out->ab), &out->tap_out);
    const mptcp_addr *a_seen = cfg->mbox && cfg->mbox->nat ? &cfg->mbox->nat_ip : a_ip;
    if (sim_node_route(a, a_ip, b_ip, a_first) < 0)
        return -1;
    if (sim_node_route(b, b_ip, a_seen, b_first) < 0)
        return -1;
    return 0;
}

sim_link_cfg sim_link_cfg_make(uint64_t rate_bps, uint64_t rtt_us, uint32_t queue_pkts,
                               uint32_t loss_ppm)
{
    sim_link_cfg c;
    memset(&c, 0, sizeof(c));
    c.rate_bps = rate_bps;
    c.delay_us = rtt_us / 2;
    c.queue_pkts = queue_pkts;
    c.loss_ppm = loss_ppm;
    return c;
}
