/*
 * scn_tcp.c - see scn_tcp.h. Test-only code (GNU C, Check assertions): the
 * set-up and teardown of the plain TCP simulator scenarios; the scenarios
 * themselves (RFC 9293, RFC 8985 behaviour) are in tests/test_scn_tcp*.c.
 */
#include "helpers/fixture.h"
#include "helpers/scn_tcp.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000ull
#define MS 1000ull

void scn_init(scn *x, const scn_opts *o)
{
    memset(x, 0, sizeof(*x));
    x->s = sim_new(o->seed ? o->seed : 1, o->start_us ? o->start_us : 1 * SEC);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.cc = o->cc;
    if (o->cfg)
        o->cfg(&cfg);
    x->c = sim_host_new(x->s, "client", &cfg, 1000 + o->seed);
    x->srv = sim_host_new(x->s, "server", &cfg, 2000 + o->seed);
    x->cip = fx_ip4(10, 0, 0, 1, 0);
    x->sip = fx_ip4(10, 0, 1, 1, 80);
    sim_path_cfg pc;
    memset(&pc, 0, sizeof(pc));
    if (o->custom_links) {
        pc.ab = o->ab;
        pc.ba = o->ba;
    } else {
        pc.ab = sim_link_cfg_make(50000000, 10 * MS, 200, 0);
        pc.ba = pc.ab;
    }
    pc.mbox = o->mbox;
    const char *pcap = getenv("SCN_PCAP");
    if (pcap && *pcap) {
        char name[256];
        snprintf(name, sizeof(name), "%s.%llu", pcap, (unsigned long long)o->seed);
        x->pcap = pc.pcap = mptcp_test_pcap_open(name);
    }
    ck_assert_int_eq(sim_path_new(x->s, &x->path, sim_host_node(x->c), &x->cip,
                                  sim_host_node(x->srv), &x->sip, &pc),
                     0);
    sim_host_mem m;
    sim_host_get_mem(x->c, &m);
    x->c_mem0 = m.cur;
    sim_host_get_mem(x->srv, &m);
    x->s_mem0 = m.cur;
}

bool scn_run(scn *x, uint64_t limit_us, bool (*done)(void *), void *arg)
{
    int r = sim_run_while(x->s, sim_now(x->s) + limit_us, done, arg);
    ck_assert_int_ne(r, -1);
    return r == 1;
}

void scn_finish(scn *x)
{
    sim_run_until(x->s, sim_now(x->s) + 120 * SEC);
    sim_host_mem m;
    sim_host_get_mem(x->c, &m);
    ck_assert_uint_eq(m.cur, x->c_mem0);
    sim_host_get_mem(x->srv, &m);
    ck_assert_uint_eq(m.cur, x->s_mem0);
    ck_assert_uint_eq(sim_host_api_errors(x->c), 0);
    ck_assert_uint_eq(sim_host_api_errors(x->srv), 0);
    sim_free(x->s);
    mptcp_test_pcap_close(x->pcap);
}

bool scn_both_closed(void *arg)
{
    scn *x = arg;
    sim_flow *c = sim_host_flow(x->c, 0), *s = sim_host_flow(x->srv, 0);
    return c && s && c->closed && s->closed;
}
