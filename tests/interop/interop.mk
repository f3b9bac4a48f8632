# Interop tests against the Linux kernel's MPTCP (run by tests/interop/run-*.sh).
# kcap_verify reads a capture of a kernel MPTCP connection and checks it with
# our codec and crypto; it links the ASan+UBSan library like every test.
KCAP_SRC := tests/interop/kcap_verify.c tests/helpers/pcap_read.c
KCAP_OBJ := $(KCAP_SRC:%.c=$(O)/interop/%.o)

$(O)/interop/%.o: %.c | $(O)/.deps-ok
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(O)/kcap_verify: $(KCAP_OBJ) $(O)/libmptcp-san.a
	$(CC) $(SAN_FLAGS) -o $@ $(KCAP_OBJ) $(O)/libmptcp-san.a

CHECK_BUILD += $(O)/kcap_verify
-include $(KCAP_OBJ:.o=.d)
