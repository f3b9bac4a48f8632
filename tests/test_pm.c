/* Path manager: endpoints and limits, ADD_ADDR retransmit until echoed,
 * REMOVE_ADDR, MP_PRIO, C flag, fullmesh, subflow retries. */
#include <check.h>
#include <string.h>

#include "helpers/fixture.h"
#include "pm.h"

#define LOCAL0 fx_ip4(10, 0, 0, 1, 40000)
#define REMOTE0 fx_ip4(10, 0, 0, 2, 443)

typedef struct fix {
    mptcp_pm_config cfg;
    mptcp_pm pm;
    mptcp_pm_subflow sf[MPTCP_MAX_SUBFLOWS];
    size_t n_sf;
    mptcp_pm_action act[32];
    size_t n_act;
} fix;

static void fix_init(fix *f)
{
    memset(f, 0, sizeof(*f));
    mptcp_pm_config_init(&f->cfg);
    mptcp_addr l = LOCAL0, r = REMOTE0;
    mptcp_pm_init(&f->pm, &f->cfg, &l, &r);
    f->sf[0] = (mptcp_pm_subflow){.id = 0, .local_id = 0, .remote_id = 0,
                                  .state = MPTCP_PM_SF_ESTABLISHED, .initial = true};
    f->n_sf = 1;
}

static size_t poll(fix *f, uint64_t now)
{
    f->n_act = mptcp_pm_poll(&f->pm, f->sf, f->n_sf, f->act, 32, now);
    return f->n_act;
}

static size_t count(const fix *f, mptcp_pm_action_type t)
{
    size_t c = 0;
    for (size_t i = 0; i < f->n_act; i++)
        c += f->act[i].type == t;
    return c;
}

/* Makes every OPEN_SUBFLOW of the last poll appear as an established subflow. */
static void apply_opens(fix *f)
{
    for (size_t i = 0; i < f->n_act; i++) {
        if (f->act[i].type != MPTCP_PM_ACT_OPEN_SUBFLOW)
            continue;
        ck_assert_uint_lt(f->n_sf, MPTCP_MAX_SUBFLOWS);
        f->sf[f->n_sf] = (mptcp_pm_subflow){.id = (uint8_t)(10 + f->n_sf),
                                            .local_id = f->act[i].local_id,
                                            .remote_id = f->act[i].remote_id,
                                            .state = MPTCP_PM_SF_ESTABLISHED,
                                            .backup = f->act[i].backup};
        f->n_sf++;
    }
}

static bool has_open(const fix *f, uint8_t lid, uint8_t rid)
{
    for (size_t i = 0; i < f->n_act; i++)
        if (f->act[i].type == MPTCP_PM_ACT_OPEN_SUBFLOW && f->act[i].local_id == lid &&
            f->act[i].remote_id == rid)
            return true;
    return false;
}

static mptcp_opt_add_addr add_addr(uint8_t id, mptcp_addr a, bool echo)
{
    mptcp_opt_add_addr o;
    memset(&o, 0, sizeof(o));
    o.echo = echo;
    o.addr_id = id;
    o.addr = a;
    return o;
}

/* ---------------------------------------------------------------- config */

START_TEST(endpoint_id_allocation_skips_recently_freed)
{
    mptcp_pm_config cfg;
    mptcp_pm_config_init(&cfg);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0), c = fx_ip4(10, 3, 0, 1, 0);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &a, 0, MPTCP_PM_F_SIGNAL), 1);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &b, 0, MPTCP_PM_F_SUBFLOW), 2);
    ck_assert_int_eq(mptcp_pm_endpoint_del(&cfg, 1), 0);
    /* The cursor moves on: 1 is not handed out again right away. */
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &c, 0, MPTCP_PM_F_SUBFLOW), 3);
    ck_assert_int_eq(mptcp_pm_endpoint_del(&cfg, 1), MPTCP_ENOTFOUND);
    ck_assert_ptr_null(mptcp_pm_endpoint_get(&cfg, 1));
    ck_assert_ptr_nonnull(mptcp_pm_endpoint_get(&cfg, 3));
    /* Explicit IDs: taken ones refused, free ones accepted; the cursor wraps. */
    mptcp_addr d = fx_ip4(10, 4, 0, 1, 0), e = fx_ip4(10, 5, 0, 1, 0);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &d, 3, 0), MPTCP_EADDRINUSE);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &d, 255, 0), 255);
    cfg.next_id = 255;
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &e, 0, 0), 1); /* 255 taken: wraps to 1 */
}
END_TEST

START_TEST(endpoint_add_rejects_bad_input_and_full_table)
{
    mptcp_pm_config cfg;
    mptcp_pm_config_init(&cfg);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_addr bad = a;
    bad.family = 5;
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &bad, 0, 0), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &a, 0, 0x80), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &a, 0, MPTCP_PM_F_SIGNAL | MPTCP_PM_F_FULLMESH),
                     MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &a, 0, MPTCP_PM_F_SIGNAL), 1);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &a, 0, MPTCP_PM_F_SUBFLOW), MPTCP_EADDRINUSE);
    for (uint8_t i = 1; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        mptcp_addr x = fx_ip4(10, 9, 0, i, 0);
        ck_assert_int_gt(mptcp_pm_endpoint_add(&cfg, &x, 0, 0), 0);
    }
    mptcp_addr y = fx_ip4(10, 9, 9, 9, 0);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&cfg, &y, 0, 0), MPTCP_ELIMIT);
    /* change: only backup/fullmesh, and no fullmesh on a signal endpoint */
    ck_assert_int_eq(mptcp_pm_endpoint_change(&cfg, 1, MPTCP_PM_F_BACKUP), 0);
    ck_assert_uint_eq(mptcp_pm_endpoint_get(&cfg, 1)->flags, MPTCP_PM_F_SIGNAL | MPTCP_PM_F_BACKUP);
    ck_assert_int_eq(mptcp_pm_endpoint_change(&cfg, 1, MPTCP_PM_F_FULLMESH), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_endpoint_change(&cfg, 1, MPTCP_PM_F_SUBFLOW), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_endpoint_change(&cfg, 77, 0), MPTCP_ENOTFOUND);
}
END_TEST

START_TEST(limits_are_bounded)
{
    mptcp_pm_config cfg;
    mptcp_pm_config_init(&cfg);
    ck_assert_uint_eq(cfg.subflows_max, 2);
    ck_assert_uint_eq(cfg.add_addr_accept_max, 0);
    ck_assert_int_eq(mptcp_pm_limits_set(&cfg, 9, 0), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_pm_limits_set(&cfg, 0, 9), MPTCP_EINVAL);
    ck_assert_uint_eq(cfg.subflows_max, 2);
    ck_assert_int_eq(mptcp_pm_limits_set(&cfg, 4, 3), 0);
    ck_assert_uint_eq(cfg.subflows_max, 4);
    ck_assert_uint_eq(cfg.add_addr_accept_max, 3);
}
END_TEST

/* ---------------------------------------------------------------- ADD_ADDR tx */

START_TEST(announce_waits_for_establishment)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL), 1);
    ck_assert_uint_eq(poll(&f, 0), 0);
    mptcp_pm_set_established(&f.pm, false);
    ck_assert_uint_eq(poll(&f, 0), 1);
    ck_assert_int_eq(f.act[0].type, MPTCP_PM_ACT_SEND_ADD_ADDR);
    ck_assert(!f.act[0].echo);
    ck_assert_uint_eq(f.act[0].addr_id, 1);
    ck_assert(mptcp_pm_local_id_used(&f.pm, 1));
    ck_assert_uint_eq(poll(&f, 1), 0); /* sent once, not again */
}
END_TEST

START_TEST(announce_retransmits_until_echoed)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_pm_set_rto(&f.pm, 200000); /* 200 ms */
    ck_assert_uint_eq(poll(&f, 1000), 1);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), 1000 + 200000);
    ck_assert_int_eq(mptcp_pm_timers_run(&f.pm, 200999), 0); /* not yet */
    ck_assert_int_eq(mptcp_pm_timers_run(&f.pm, 201000), 1);
    ck_assert_uint_eq(poll(&f, 201000), 1);
    ck_assert_int_eq(f.act[0].type, MPTCP_PM_ACT_SEND_ADD_ADDR);
    ck_assert_uint_eq(mptcp_pm_ann_get(&f.pm, 1)->tx_count, 2);
    /* Backoff: the second interval is twice the first. */
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), 201000 + 400000);
    ck_assert_uint_eq(f.pm.stats.add_addr_retrans, 1);
    /* The echo (of either copy) stops it. */
    mptcp_opt_add_addr e = add_addr(1, a, true);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &e), MPTCP_PM_RX_ECHO_MATCHED);
    ck_assert_int_eq(mptcp_pm_ann_get(&f.pm, 1)->state, MPTCP_PM_ANN_ECHOED);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), UINT64_MAX);
    ck_assert_int_eq(mptcp_pm_timers_run(&f.pm, 10000000), 0);
    ck_assert_uint_eq(poll(&f, 10000000), 0);
}
END_TEST

START_TEST(announce_gives_up_after_retries)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    mptcp_pm_set_established(&f.pm, false);
    /* No RTO hint: every interval is add_addr_timeout (the maximum). */
    uint64_t now = 0;
    size_t sends = 0;
    for (int round = 0; round < 10; round++) {
        poll(&f, now);
        sends += count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR);
        uint64_t d = mptcp_pm_next_deadline(&f.pm);
        if (d == UINT64_MAX)
            break;
        ck_assert_uint_eq(d - now, f.cfg.add_addr_timeout_us);
        now = d;
        mptcp_pm_timers_run(&f.pm, now);
    }
    ck_assert_uint_eq(sends, 1u + f.cfg.add_addr_retries); /* 4 transmissions */
    ck_assert_int_eq(mptcp_pm_ann_get(&f.pm, 1)->state, MPTCP_PM_ANN_GAVE_UP);
    ck_assert_uint_eq(f.pm.stats.add_addr_gave_up, 1);
    ck_assert_uint_eq(poll(&f, now + 1), 0);
    /* A late echo is still taken. */
    mptcp_opt_add_addr e = add_addr(1, a, true);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &e), MPTCP_PM_RX_ECHO_MATCHED);
}
END_TEST

START_TEST(rto_hint_capped_by_add_addr_timeout_and_zero_disables)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    f.cfg.add_addr_timeout_us = 300000;
    mptcp_pm_set_established(&f.pm, false);
    mptcp_pm_set_rto(&f.pm, 200000);
    poll(&f, 0);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), 200000);
    mptcp_pm_timers_run(&f.pm, 200000);
    poll(&f, 200000);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), 200000 + 300000); /* 400 capped */

    fix g;
    fix_init(&g);
    mptcp_pm_endpoint_add(&g.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    g.cfg.add_addr_timeout_us = 0;
    mptcp_pm_set_established(&g.pm, false);
    ck_assert_uint_eq(poll(&g, 0), 1);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&g.pm), UINT64_MAX);
}
END_TEST

START_TEST(echo_must_match_id_and_address)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), other = fx_ip4(10, 1, 0, 9, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr e = add_addr(1, a, true);
    /* Not sent yet: an "echo" cannot be ours. */
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &e), MPTCP_PM_RX_ECHO_UNKNOWN);
    poll(&f, 0);
    mptcp_opt_add_addr wrong = add_addr(1, other, true);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &wrong), MPTCP_PM_RX_ECHO_UNKNOWN);
    mptcp_opt_add_addr wrong_id = add_addr(2, a, true);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &wrong_id), MPTCP_PM_RX_ECHO_UNKNOWN);
    ck_assert_uint_eq(f.pm.stats.echo_unknown, 3);
    ck_assert_int_eq(mptcp_pm_ann_get(&f.pm, 1)->state, MPTCP_PM_ANN_SENT);
}
END_TEST

/* ---------------------------------------------------------------- ADD_ADDR rx */

START_TEST(received_add_addr_recorded_and_echoed)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 2, 2);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_addr r1 = fx_ip4(10, 0, 1, 2, 0);
    mptcp_opt_add_addr o = add_addr(5, r1, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o), MPTCP_PM_RX_NEW);
    ck_assert_ptr_nonnull(mptcp_pm_remote_get(&f.pm, 5));
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
    ck_assert(f.act[0].echo);
    ck_assert_uint_eq(f.act[0].addr_id, 5);
    /* Non-fullmesh: one subflow from the initial local address (ID 0), to
     * the connection's port since ADD_ADDR carried none. */
    ck_assert(has_open(&f, 0, 5));
    for (size_t i = 0; i < f.n_act; i++)
        if (f.act[i].type == MPTCP_PM_ACT_OPEN_SUBFLOW)
            ck_assert_uint_eq(f.act[i].addr.port, 443);
}
END_TEST

START_TEST(reannounce_same_id_same_addr_is_idempotent)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 2, 1);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_addr r1 = fx_ip4(10, 0, 1, 2, 0);
    mptcp_opt_add_addr o = add_addr(5, r1, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o), MPTCP_PM_RX_NEW);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o), MPTCP_PM_RX_DUP);
    ck_assert_uint_eq(f.pm.add_addr_accepted, 1); /* not counted twice */
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1); /* one echo for both */
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 1);
    apply_opens(&f);
    /* Retransmitted again after our echo was lost: echoed again, no new subflow. */
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o), MPTCP_PM_RX_DUP);
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 0);
    /* Same ID, other address: ignored (a REMOVE_ADDR must come first). */
    mptcp_addr r2 = fx_ip4(10, 0, 7, 7, 0);
    mptcp_opt_add_addr c = add_addr(5, r2, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &c), MPTCP_PM_RX_IGNORED);
    ck_assert_uint_eq(f.pm.stats.add_addr_conflict, 1);
    ck_assert(mptcp_pm_remote_get(&f.pm, 5)->ip[2] == 1);
}
END_TEST

START_TEST(add_addr_beyond_limit_ignored_and_counted)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 1);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_addr r1 = fx_ip4(10, 0, 1, 2, 0), r2 = fx_ip4(10, 0, 2, 2, 0);
    mptcp_opt_add_addr o1 = add_addr(1, r1, false), o2 = add_addr(2, r2, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o1), MPTCP_PM_RX_NEW);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o2), MPTCP_PM_RX_IGNORED);
    ck_assert_uint_eq(f.pm.stats.add_addr_ignored, 1);
    ck_assert_ptr_null(mptcp_pm_remote_get(&f.pm, 2));
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 2); /* both echoed */
    ck_assert(has_open(&f, 0, 1));
    ck_assert(!has_open(&f, 0, 2));
    /* Default limit 0: nothing is acted on at all. */
    fix g;
    fix_init(&g);
    mptcp_pm_set_established(&g.pm, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&g.pm, &o1), MPTCP_PM_RX_IGNORED);
    poll(&g, 0);
    ck_assert_uint_eq(count(&g, MPTCP_PM_ACT_OPEN_SUBFLOW), 0);
    ck_assert_uint_eq(count(&g, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
}
END_TEST

START_TEST(add_addr_id0_only_for_initial_address)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 2, 2);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr same = add_addr(0, REMOTE0, false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &same), MPTCP_PM_RX_DUP);
    mptcp_opt_add_addr other = add_addr(0, fx_ip4(10, 7, 7, 7, 0), false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &other), MPTCP_PM_RX_IGNORED);
    ck_assert_uint_eq(f.pm.stats.add_addr_conflict, 1);
    ck_assert_uint_eq(f.pm.add_addr_accepted, 0);
}
END_TEST

START_TEST(rm_addr_frees_accept_slot)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 1);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr o1 = add_addr(1, fx_ip4(10, 0, 1, 2, 0), false);
    mptcp_opt_add_addr o2 = add_addr(2, fx_ip4(10, 0, 2, 2, 0), false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o1), MPTCP_PM_RX_NEW);
    mptcp_opt_rm_addr rm = {.count = 1, .ids = {1}};
    ck_assert_int_eq(mptcp_pm_rm_addr_received(&f.pm, &rm), 1);
    ck_assert_ptr_null(mptcp_pm_remote_get(&f.pm, 1));
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o2), MPTCP_PM_RX_NEW);
}
END_TEST

/* ---------------------------------------------------------------- subflows */

START_TEST(subflow_endpoints_open_to_initial_address_within_limit)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 2, 0);
    for (uint8_t i = 1; i <= 3; i++) {
        mptcp_addr a = fx_ip4(10, i, 0, 1, 0);
        ck_assert_int_eq(mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW), i);
    }
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 2);
    ck_assert(has_open(&f, 1, 0));
    ck_assert(has_open(&f, 2, 0));
    ck_assert_uint_eq(f.act[0].local.ip[1], 1);
    ck_assert_uint_eq(f.act[0].addr.port, 443);
    /* In progress but not listed yet: still counted, nothing more. */
    ck_assert_uint_eq(poll(&f, 1), 0);
    ck_assert(!mptcp_pm_join_allowed(&f.pm, f.sf, f.n_sf));
    /* Once listed they stay counted. */
    poll(&f, 0);
    f.n_act = 0;
    f.sf[1] = (mptcp_pm_subflow){.id = 1, .local_id = 1, .remote_id = 0,
                                 .state = MPTCP_PM_SF_ESTABLISHED};
    f.sf[2] = (mptcp_pm_subflow){.id = 2, .local_id = 2, .remote_id = 0,
                                 .state = MPTCP_PM_SF_ESTABLISHED};
    f.n_sf = 3;
    ck_assert_uint_eq(poll(&f, 2), 0);
    /* One closes (normally): the slot goes to endpoint 3, and the closed one
     * is not reopened. */
    f.n_sf = 2;
    poll(&f, 3);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 1);
    ck_assert(has_open(&f, 3, 0));
}
END_TEST

START_TEST(c_flag_blocks_subflows_to_initial_address)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW);
    mptcp_pm_endpoint_add(&f.cfg, &b, 0, MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH);
    mptcp_pm_set_established(&f.pm, true);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 0);
    /* An announced address is fair game: the plain endpoint and the fullmesh
     * endpoint each open one subflow to it, none to remote ID 0. */
    mptcp_opt_add_addr o = add_addr(3, fx_ip4(10, 0, 3, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o);
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 2);
    ck_assert(has_open(&f, 1, 3));
    ck_assert(has_open(&f, 2, 3));
    for (size_t i = 0; i < f.n_act; i++)
        if (f.act[i].type == MPTCP_PM_ACT_OPEN_SUBFLOW)
            ck_assert_uint_ne(f.act[i].remote_id, 0);
}
END_TEST

START_TEST(fullmesh_opens_every_pair)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 8 - 1, 3);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH);
    mptcp_pm_endpoint_add(&f.cfg, &b, 0,
                          MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH | MPTCP_PM_F_BACKUP);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr o1 = add_addr(1, fx_ip4(10, 0, 1, 2, 0), false);
    mptcp_opt_add_addr o2 = add_addr(2, fx_ip4(10, 0, 2, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o1);
    mptcp_pm_add_addr_received(&f.pm, &o2);
    poll(&f, 0);
    /* 2 local x 3 remote (initial + 2 announced) = 6; none from ID 0, since
     * a fullmesh endpoint covers the announced addresses. */
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 6);
    for (uint8_t l = 1; l <= 2; l++)
        for (uint8_t r = 0; r <= 2; r++)
            ck_assert(has_open(&f, l, r));
    ck_assert(!has_open(&f, 0, 1));
    for (size_t i = 0; i < f.n_act; i++)
        if (f.act[i].type == MPTCP_PM_ACT_OPEN_SUBFLOW)
            ck_assert(f.act[i].backup == (f.act[i].local_id == 2));
    apply_opens(&f);
    ck_assert_uint_eq(poll(&f, 1), 0);
}
END_TEST

START_TEST(fullmesh_respects_subflow_limit)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 3, 3);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH);
    mptcp_pm_endpoint_add(&f.cfg, &b, 0, MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr o1 = add_addr(1, fx_ip4(10, 0, 1, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o1);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 3);
    apply_opens(&f);
    ck_assert_uint_eq(poll(&f, 1), 0);
    /* An IPv6 announcement: no IPv4 endpoint may be paired with it. */
    mptcp_addr v6;
    memset(&v6, 0, sizeof(v6));
    v6.family = MPTCP_AF_INET6;
    v6.ip[0] = 0x20;
    mptcp_pm_limits_set(&f.cfg, 7, 3);
    mptcp_opt_add_addr o6 = add_addr(9, v6, false);
    mptcp_pm_add_addr_received(&f.pm, &o6);
    poll(&f, 2);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 1); /* the 4th IPv4 pair only */
    ck_assert(has_open(&f, 2, 1));
    ck_assert(!has_open(&f, 1, 9));
    ck_assert(!has_open(&f, 2, 9));
    ck_assert(!has_open(&f, 0, 9)); /* the initial local address is IPv4 too */
}
END_TEST

START_TEST(failed_subflow_retried_with_backoff_then_given_up)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW);
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    ck_assert(has_open(&f, 1, 0));
    uint64_t now = 5000;
    for (uint32_t k = 0; k < f.cfg.subflow_retries; k++) {
        mptcp_pm_subflow_failed(&f.pm, 1, 0, now);
        ck_assert_uint_eq(poll(&f, now), 0); /* waits */
        uint64_t d = mptcp_pm_next_deadline(&f.pm);
        ck_assert_uint_eq(d - now, (uint64_t)f.cfg.subflow_retry_us << k);
        now = d;
        ck_assert_int_eq(mptcp_pm_timers_run(&f.pm, now), 1);
        poll(&f, now);
        ck_assert(has_open(&f, 1, 0));
    }
    mptcp_pm_subflow_failed(&f.pm, 1, 0, now);
    ck_assert_uint_eq(f.pm.stats.subflow_gave_up, 1);
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), UINT64_MAX);
    ck_assert_uint_eq(poll(&f, now + 100000000), 0);
}
END_TEST

/* ---------------------------------------------------------------- removal */

START_TEST(peer_rm_addr_closes_its_subflows)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr o1 = add_addr(1, fx_ip4(10, 0, 1, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o1);
    poll(&f, 0);
    apply_opens(&f);
    /* and one joined from the peer with remote ID 7 */
    f.sf[f.n_sf++] = (mptcp_pm_subflow){.id = 30, .local_id = 0, .remote_id = 7,
                                        .state = MPTCP_PM_SF_ESTABLISHED};
    mptcp_opt_rm_addr rm = {.count = 3, .ids = {1, 7, 42}};
    ck_assert_int_eq(mptcp_pm_rm_addr_received(&f.pm, &rm), 1);
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_CLOSE_SUBFLOW), 2);
    ck_assert_int_eq(f.act[0].type, MPTCP_PM_ACT_CLOSE_SUBFLOW);
    ck_assert_uint_eq(f.act[0].remote_id, 1);
    ck_assert_uint_eq(f.act[1].subflow_id, 30);
    /* Closing is asked once, and the removed address is not rejoined. */
    ck_assert_uint_eq(poll(&f, 2), 0);
    f.n_sf = 1;
    ck_assert_uint_eq(poll(&f, 3), 0);
}
END_TEST

START_TEST(local_endpoint_removal_sends_rm_addr_and_closes)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    mptcp_pm_endpoint_add(&f.cfg, &b, 0, MPTCP_PM_F_SUBFLOW);
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
    apply_opens(&f);
    ck_assert_uint_eq(f.n_sf, 2);
    mptcp_pm_endpoint_del(&f.cfg, 1);
    mptcp_pm_local_removed(&f.pm, 1);
    mptcp_pm_endpoint_del(&f.cfg, 2);
    mptcp_pm_local_removed(&f.pm, 2);
    mptcp_pm_local_removed(&f.pm, 77); /* never used: nothing to announce */
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_CLOSE_SUBFLOW), 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_RM_ADDR), 1);
    const mptcp_pm_action *rm = NULL;
    for (size_t i = 0; i < f.n_act; i++)
        if (f.act[i].type == MPTCP_PM_ACT_SEND_RM_ADDR)
            rm = &f.act[i];
    ck_assert_uint_eq(rm->rm.count, 2);
    ck_assert_uint_eq(rm->rm.ids[0], 1);
    ck_assert_uint_eq(rm->rm.ids[1], 2);
    ck_assert(!mptcp_pm_local_id_used(&f.pm, 1));
    ck_assert_uint_eq(mptcp_pm_next_deadline(&f.pm), UINT64_MAX); /* no retransmit */
    ck_assert_uint_eq(poll(&f, 2), 0);
}
END_TEST

START_TEST(id_reused_after_removal_announces_new_address)
{
    fix f;
    fix_init(&f);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 5, MPTCP_PM_F_SIGNAL);
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    mptcp_pm_endpoint_del(&f.cfg, 5);
    mptcp_pm_local_removed(&f.pm, 5);
    ck_assert_int_eq(mptcp_pm_endpoint_add(&f.cfg, &b, 5, MPTCP_PM_F_SIGNAL), 5);
    poll(&f, 1);
    /* REMOVE_ADDR(5) goes out before the new ADD_ADDR(5). */
    ck_assert_uint_eq(f.n_act, 2);
    ck_assert_int_eq(f.act[0].type, MPTCP_PM_ACT_SEND_RM_ADDR);
    ck_assert_int_eq(f.act[1].type, MPTCP_PM_ACT_SEND_ADD_ADDR);
    ck_assert_uint_eq(f.act[1].addr.ip[1], 2);
}
END_TEST

/* ---------------------------------------------------------------- MP_PRIO */

START_TEST(mp_prio_queued_per_subflow_of_the_address)
{
    fix f;
    fix_init(&f);
    mptcp_pm_set_established(&f.pm, false);
    f.sf[1] = (mptcp_pm_subflow){.id = 4, .local_id = 0, .remote_id = 3,
                                 .state = MPTCP_PM_SF_ESTABLISHED};
    f.sf[2] = (mptcp_pm_subflow){.id = 5, .local_id = 2, .remote_id = 0,
                                 .state = MPTCP_PM_SF_ESTABLISHED};
    f.sf[3] = (mptcp_pm_subflow){.id = 6, .local_id = 0, .remote_id = 4,
                                 .state = MPTCP_PM_SF_CONNECTING};
    f.n_sf = 4;
    mptcp_pm_local_set_backup(&f.pm, 0, true);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_PRIO), 2); /* ids 0 and 4, not 5 or 6 */
    ck_assert_uint_eq(f.act[0].subflow_id, 0);
    ck_assert_uint_eq(f.act[1].subflow_id, 4);
    ck_assert(f.act[0].backup && f.act[1].backup);
    ck_assert_uint_eq(poll(&f, 1), 0); /* sent once */
    /* Flip and flip back before polling: the last value wins, and subflows
     * already there need nothing. */
    mptcp_pm_local_set_backup(&f.pm, 2, true);
    mptcp_pm_local_set_backup(&f.pm, 2, false);
    ck_assert_uint_eq(poll(&f, 2), 0);
    /* With too little output room, the change stays queued. */
    mptcp_pm_local_set_backup(&f.pm, 0, true);
    ck_assert_uint_eq(mptcp_pm_poll(&f.pm, f.sf, f.n_sf, f.act, 1, 3), 0);
    ck_assert_uint_eq(poll(&f, 4), 2);
}
END_TEST

START_TEST(poll_keeps_what_does_not_fit)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 2, 2);
    for (uint8_t i = 1; i <= 3; i++) {
        mptcp_addr a = fx_ip4(10, i, 0, 1, 0);
        mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SIGNAL);
    }
    mptcp_pm_set_established(&f.pm, false);
    mptcp_pm_action one[1];
    size_t total = 0;
    for (int i = 0; i < 10; i++)
        total += mptcp_pm_poll(&f.pm, f.sf, f.n_sf, one, 1, 0);
    ck_assert_uint_eq(total, 3);
    for (uint8_t i = 1; i <= 3; i++)
        ck_assert_int_eq(mptcp_pm_ann_get(&f.pm, i)->state, MPTCP_PM_ANN_SENT);
}
END_TEST

/* NOTE D (interop): Linux's in-kernel PM pairs every FULLMESH endpoint with
 * an accepted ADD_ADDR, SUBFLOW flag or not, and the endpoint holding the
 * initial address does so as local ID 0. 2 x 2 addresses give 4 subflows. */
START_TEST(fullmesh_endpoint_without_subflow_flag_serves_announced_addresses)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), l0 = LOCAL0;
    l0.port = 0;
    int ida = mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW | MPTCP_PM_F_FULLMESH);
    int id0 = mptcp_pm_endpoint_add(&f.cfg, &l0, 0, MPTCP_PM_F_FULLMESH | MPTCP_PM_F_BACKUP);
    ck_assert_int_gt(ida, 0);
    ck_assert_int_gt(id0, 0);
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 1); /* a -> initial remote */
    ck_assert(has_open(&f, (uint8_t)ida, 0));
    apply_opens(&f);
    mptcp_opt_add_addr o = add_addr(1, fx_ip4(10, 0, 1, 2, 0), false);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &o), MPTCP_PM_RX_NEW);
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 2);
    ck_assert(has_open(&f, (uint8_t)ida, 1));
    ck_assert(has_open(&f, 0, 1)); /* the initial address's endpoint, as ID 0 */
    ck_assert(!has_open(&f, (uint8_t)id0, 1));
    for (size_t i = 0; i < f.n_act; i++) {
        if (f.act[i].type != MPTCP_PM_ACT_OPEN_SUBFLOW || f.act[i].local_id != 0)
            continue;
        ck_assert(memcmp(f.act[i].local.ip, l0.ip, 4) == 0);
        ck_assert(f.act[i].backup); /* the endpoint's backup flag */
    }
    apply_opens(&f);
    ck_assert_uint_eq(f.n_sf, 4); /* 2 x 2 */
    ck_assert_uint_eq(poll(&f, 2), 0);
    /* A fullmesh-only endpoint opens nothing toward the initial remote
     * address: that is the SUBFLOW flag's job (select_local_address). */
    fix g;
    fix_init(&g);
    mptcp_pm_limits_set(&g.cfg, 4, 2);
    mptcp_pm_endpoint_add(&g.cfg, &a, 0, MPTCP_PM_F_FULLMESH);
    mptcp_pm_set_established(&g.pm, false);
    ck_assert_uint_eq(poll(&g, 0), 0);
    mptcp_pm_add_addr_received(&g.pm, &o);
    poll(&g, 1);
    ck_assert_uint_eq(count(&g, MPTCP_PM_ACT_OPEN_SUBFLOW), 1);
    ck_assert(has_open(&g, 1, 1));
    ck_assert(!has_open(&g, 0, 1)); /* fullmesh endpoints replace the default */
}
END_TEST

/* Without a fullmesh endpoint of the family, an accepted ADD_ADDR gets one
 * subflow from the initial local address (Linux's "default" local address);
 * a plain SUBFLOW endpoint does not change that. */
START_TEST(announced_address_without_fullmesh_uses_initial_local_address)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW);
    mptcp_addr v6;
    memset(&v6, 0, sizeof(v6));
    v6.family = MPTCP_AF_INET6;
    v6.ip[0] = 0x20;
    mptcp_pm_endpoint_add(&f.cfg, &v6, 0, MPTCP_PM_F_FULLMESH); /* other family */
    mptcp_pm_set_established(&f.pm, false);
    mptcp_opt_add_addr o = add_addr(4, fx_ip4(10, 0, 4, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 2);
    ck_assert(has_open(&f, 1, 0));
    ck_assert(has_open(&f, 0, 4));
    ck_assert(!has_open(&f, 1, 4));
    for (size_t i = 0; i < f.n_act; i++)
        if (f.act[i].type == MPTCP_PM_ACT_OPEN_SUBFLOW && f.act[i].local_id == 0)
            ck_assert_uint_eq(f.act[i].local.ip[3], 1); /* LOCAL0 */
}
END_TEST

/* BUG F (interop): an address withdrawn on a connection (mptcp_addr_remove:
 * the endpoint stays in the table) is not used again by the PM on it: no new
 * subflow from it, no new ADD_ADDR, until re-added. */
START_TEST(address_removed_on_connection_is_not_reused)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 2, 0, 1, 0);
    mptcp_pm_endpoint_add(&f.cfg, &a, 0, MPTCP_PM_F_SUBFLOW);
    mptcp_pm_endpoint_add(&f.cfg, &b, 0, MPTCP_PM_F_SIGNAL);
    mptcp_pm_set_established(&f.pm, false);
    poll(&f, 0);
    ck_assert(has_open(&f, 1, 0));
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
    apply_opens(&f);
    mptcp_opt_add_addr echo = add_addr(2, b, true);
    ck_assert_int_eq(mptcp_pm_add_addr_received(&f.pm, &echo), MPTCP_PM_RX_ECHO_MATCHED);
    /* Withdraw both on this connection only. */
    mptcp_pm_local_removed(&f.pm, 1);
    mptcp_pm_local_removed(&f.pm, 2);
    ck_assert(mptcp_pm_local_is_removed(&f.pm, 1));
    ck_assert(mptcp_pm_local_is_removed(&f.pm, 2));
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_CLOSE_SUBFLOW), 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_RM_ADDR), 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 0);
    /* The subflow closes and leaves the list: still nothing, later too. */
    f.sf[1].state = MPTCP_PM_SF_CLOSING;
    ck_assert_uint_eq(poll(&f, 2), 0);
    f.n_sf = 1;
    for (uint64_t t = 3; t < 10; t++)
        ck_assert_uint_eq(poll(&f, t * 1000000), 0);
    ck_assert_uint_eq(mptcp_pm_timers_run(&f.pm, 100000000), 0);
    ck_assert_uint_eq(poll(&f, 100000000), 0);
    /* Re-added: usable again. */
    mptcp_pm_local_restore(&f.pm, 1);
    poll(&f, 100000001);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 1);
    ck_assert(has_open(&f, 1, 0));
    /* The host announcing it again (mptcp_announce fills a slot) re-adds. */
    mptcp_pm_ann *slot = &f.pm.ann[0];
    ck_assert_int_eq(slot->state, MPTCP_PM_ANN_FREE);
    slot->state = MPTCP_PM_ANN_PENDING;
    slot->id = 2;
    slot->addr = b;
    slot->deadline = UINT64_MAX;
    poll(&f, 100000002);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1);
    ck_assert(!mptcp_pm_local_is_removed(&f.pm, 2));
}
END_TEST

/* Removing ID 0 (the initial local address) on the connection: no new
 * subflow from it toward announced addresses. Deleting an endpoint stack-wide
 * leaves nothing blocked: the same ID added again is a new address. */
START_TEST(removed_initial_address_and_stack_deletion)
{
    fix f;
    fix_init(&f);
    mptcp_pm_limits_set(&f.cfg, 4, 2);
    mptcp_pm_set_established(&f.pm, false);
    mptcp_pm_local_removed(&f.pm, 0);
    poll(&f, 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_CLOSE_SUBFLOW), 1); /* the initial subflow */
    f.sf[0].state = MPTCP_PM_SF_CLOSING;
    mptcp_opt_add_addr o = add_addr(3, fx_ip4(10, 0, 3, 2, 0), false);
    mptcp_pm_add_addr_received(&f.pm, &o);
    poll(&f, 1);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_OPEN_SUBFLOW), 0);
    ck_assert_uint_eq(count(&f, MPTCP_PM_ACT_SEND_ADD_ADDR), 1); /* the echo only */
    ck_assert(f.act[0].echo);

    fix g;
    fix_init(&g);
    mptcp_addr a = fx_ip4(10, 1, 0, 1, 0), b = fx_ip4(10, 9, 0, 1, 0);
    mptcp_pm_endpoint_add(&g.cfg, &a, 6, MPTCP_PM_F_SUBFLOW);
    mptcp_pm_set_established(&g.pm, false);
    poll(&g, 0);
    apply_opens(&g);
    mptcp_pm_endpoint_del(&g.cfg, 6);
    mptcp_pm_local_removed(&g.pm, 6);
    ck_assert(!mptcp_pm_local_is_removed(&g.pm, 6));
    poll(&g, 1);
    g.n_sf = 1; /* closed and gone */
    ck_assert_int_eq(mptcp_pm_endpoint_add(&g.cfg, &b, 6, MPTCP_PM_F_SUBFLOW), 6);
    poll(&g, 2);
    ck_assert(has_open(&g, 6, 0));
    ck_assert_uint_eq(g.act[0].local.ip[1], 9);
}
END_TEST

Suite *pm_suite(void)
{
    Suite *s = suite_create("pm");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, endpoint_id_allocation_skips_recently_freed);
    tcase_add_test(tc, endpoint_add_rejects_bad_input_and_full_table);
    tcase_add_test(tc, limits_are_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("announce");
    tcase_add_test(tc, announce_waits_for_establishment);
    tcase_add_test(tc, announce_retransmits_until_echoed);
    tcase_add_test(tc, announce_gives_up_after_retries);
    tcase_add_test(tc, rto_hint_capped_by_add_addr_timeout_and_zero_disables);
    tcase_add_test(tc, echo_must_match_id_and_address);
    tcase_add_test(tc, poll_keeps_what_does_not_fit);
    suite_add_tcase(s, tc);
    tc = tcase_create("add_addr_rx");
    tcase_add_test(tc, received_add_addr_recorded_and_echoed);
    tcase_add_test(tc, reannounce_same_id_same_addr_is_idempotent);
    tcase_add_test(tc, add_addr_beyond_limit_ignored_and_counted);
    tcase_add_test(tc, add_addr_id0_only_for_initial_address);
    tcase_add_test(tc, rm_addr_frees_accept_slot);
    suite_add_tcase(s, tc);
    tc = tcase_create("subflows");
    tcase_add_test(tc, subflow_endpoints_open_to_initial_address_within_limit);
    tcase_add_test(tc, c_flag_blocks_subflows_to_initial_address);
    tcase_add_test(tc, fullmesh_opens_every_pair);
    tcase_add_test(tc, fullmesh_respects_subflow_limit);
    tcase_add_test(tc, failed_subflow_retried_with_backoff_then_given_up);
    tcase_add_test(tc, fullmesh_endpoint_without_subflow_flag_serves_announced_addresses);
    tcase_add_test(tc, announced_address_without_fullmesh_uses_initial_local_address);
    suite_add_tcase(s, tc);
    tc = tcase_create("removal_prio");
    tcase_add_test(tc, peer_rm_addr_closes_its_subflows);
    tcase_add_test(tc, local_endpoint_removal_sends_rm_addr_and_closes);
    tcase_add_test(tc, id_reused_after_removal_announces_new_address);
    tcase_add_test(tc, address_removed_on_connection_is_not_reused);
    tcase_add_test(tc, removed_initial_address_and_stack_deletion);
    tcase_add_test(tc, mp_prio_queued_per_subflow_of_the_address);
    suite_add_tcase(s, tc);
    return s;
}
