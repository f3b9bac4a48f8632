# Check suites: every tests/*.c, tests/helpers/*.c and tests/sim/*.c is
# linked into one runner, build/check_mptcp, against the ASan+UBSan library.
TEST_SRC := $(sort $(wildcard tests/*.c tests/helpers/*.c tests/sim/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(O)/tests/%.o)

# suites.inc lists every "Suite *x_suite(void)" defined in tests/*.c.
$(O)/tests/suites.inc: $(filter-out tests/check_main.c,$(wildcard tests/*.c))
	@mkdir -p $(@D)
	grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $^ /dev/null | sed 's/^Suite \*\(.*\)(void)/SUITE(\1)/' | sort > $@.tmp
	mv $@.tmp $@

$(O)/tests/tests/check_main.o: $(O)/tests/suites.inc
$(O)/tests/tests/check_main.o: TEST_CFLAGS += -I$(O)/tests

$(O)/tests/%.o: %.c | $(O)/.deps-ok
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(O)/check_mptcp: $(TEST_OBJ) $(O)/libmptcp-san.a
	$(CC) $(SAN_FLAGS) -o $@ $(TEST_OBJ) $(O)/libmptcp-san.a $(CHECK_LIBS)

CHECK_BUILD += $(O)/check_mptcp
-include $(TEST_OBJ:.o=.d)
-include tests/tshark/tshark.mk
