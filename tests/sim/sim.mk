# tests/sim/sim.mk - the simulator's programs (included by the Makefile).
#
#   make demo    build $(O)/mptcp-demo (simulator + the optimized library)
#                and run one transfer through it; writes $(O)/demo.pcap
#   make bench   build $(O)/mptcp-bench and run it: two in-process stacks,
#                bulk transfer without loss, printed as ratios to memcpy
#
# tests/sim/*.c are also linked into the Check runner by tests/tests.mk (so
# no main() there); the programs' mains live in tests/sim/demo/ and tests/bench/.
# DEMO_ARGS / BENCH_ARGS pass options, e.g. make demo DEMO_ARGS="--seed 7 --mb 50".

SIM_PROG_SRC := $(sort $(wildcard tests/sim/*.c)) tests/helpers/pcap.c
SIM_PROG_HDR := $(wildcard tests/sim/*.h tests/helpers/pcap.h) mptcp.h
SIM_PROG_CFLAGS = -std=gnu11 -Wall -Wextra -Wshadow -Wvla $(if $(filter 1,$(WERROR)),-Werror) \
                  -O2 -g -I. -Isrc -Itests $(CFLAGS)
DEMO_ARGS  ?=
BENCH_ARGS ?=

$(O)/mptcp-demo: tests/sim/demo/demo.c $(SIM_PROG_SRC) $(SIM_PROG_HDR) $(O)/libmptcp.a
	@mkdir -p $(@D)
	$(CC) $(SIM_PROG_CFLAGS) -o $@ tests/sim/demo/demo.c $(SIM_PROG_SRC) $(O)/libmptcp.a -lm

$(O)/mptcp-bench: tests/bench/bench.c $(SIM_PROG_SRC) $(SIM_PROG_HDR) $(O)/libmptcp.a
	@mkdir -p $(@D)
	$(CC) $(SIM_PROG_CFLAGS) -o $@ tests/bench/bench.c $(SIM_PROG_SRC) $(O)/libmptcp.a

demo: $(O)/mptcp-demo
	$(O)/mptcp-demo --pcap $(O)/demo.pcap $(DEMO_ARGS)

bench: $(O)/mptcp-bench
	$(O)/mptcp-bench $(BENCH_ARGS)

# `make check` runs tests/sim/run-demo.sh, which needs the demo binary.
CHECK_BUILD += $(O)/mptcp-demo
