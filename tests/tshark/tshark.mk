# tshark conformance: tests/tshark/run-tshark.sh (run by `make check`)
# writes a pcap with tshark_gen and compares tshark's dissection of it with
# what was encoded, field by field.
TSHARK_GEN_SRC := tests/tshark/tshark_gen.c tests/helpers/pcap.c

$(O)/tshark/tshark_gen: $(TSHARK_GEN_SRC) tests/helpers/pcap.h mptcp.h $(O)/libmptcp-san.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -o $@ $(TSHARK_GEN_SRC) $(O)/libmptcp-san.a

CHECK_BUILD += $(O)/tshark/tshark_gen
