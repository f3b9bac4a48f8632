# bindings/tun: mptcp-tun, the Linux TUN host (a netcat over libmptcp), used
# by the interop tests (tests/interop/run-tcp-interop.sh), and
# mptcp-tun-selftest, device-free checks of its IP parser, emulation and
# route table. Built without sanitizers against the release library: it is
# also a throughput tool.
TUN_SRC := $(filter-out bindings/tun/tun_selftest.c,$(sort $(wildcard bindings/tun/*.c))) \
           tests/helpers/pcap.c
TUN_OBJ := $(TUN_SRC:%.c=$(O)/tun/%.o)
TUN_TEST_OBJ := $(filter-out $(O)/tun/bindings/tun/main.o,$(TUN_OBJ)) \
                $(O)/tun/bindings/tun/tun_selftest.o
TUN_CFLAGS = $(TEST_CFLAGS) -Ibindings/tun

$(O)/tun/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TUN_CFLAGS) -MMD -MP -c $< -o $@

$(O)/mptcp-tun: $(TUN_OBJ) $(O)/libmptcp.a
	$(CC) -o $@ $(TUN_OBJ) $(O)/libmptcp.a -lm

$(O)/mptcp-tun-selftest: $(TUN_TEST_OBJ) $(O)/libmptcp.a
	$(CC) -o $@ $(TUN_TEST_OBJ) $(O)/libmptcp.a -lm

.PHONY: tun
tun: $(O)/mptcp-tun $(O)/mptcp-tun-selftest

CHECK_BUILD += $(O)/mptcp-tun $(O)/mptcp-tun-selftest
-include $(TUN_OBJ:.o=.d) $(O)/tun/bindings/tun/tun_selftest.d
