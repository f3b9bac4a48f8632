# libmptcp - the one build file (fragments: tests/tests.mk, fuzz/fuzz.mk,
# tests/interop/interop.mk, bindings/tun/tun.mk, tests/sim/sim.mk).
#
#   make            build/libmptcp.a and build/libmptcp.so
#   make check      every test under ASan+UBSan (installs missing tools as root)
#   make demo       a transfer through the built-in simulator
#   make fuzz       libFuzzer targets (clang);  make fuzz-smoke: bounded runs
#   make cross      the core for Cortex-M4 (arm-none-eabi-gcc), with sizes
#   make bench      benchmarks, printed as ratios to a same-run baseline
#   make install    PREFIX=/usr/local DESTDIR=
#
# Variables: CC, CFLAGS, O (output dir), WERROR=0/1, PREFIX, DESTDIR.

O       ?= build
PREFIX  ?= /usr/local
WERROR  ?= 1
OPT     ?= -O2 -g

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif

LIB_CFLAGS  = -std=c11 $(WARN) $(OPT) -fPIC -fvisibility=hidden -I. -Isrc $(CFLAGS)
SAN_FLAGS   = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Tests, hosts and tools: GNU C for POSIX and Check's macros; still warning-free.
TEST_CFLAGS = -std=gnu11 -Wall -Wextra -Wshadow -Wvla $(if $(filter 1,$(WERROR)),-Werror) \
              $(OPT) -I. -Isrc -Itests $(CFLAGS)

LIB_SRC := $(sort $(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/obj/%.o)
SAN_OBJ := $(LIB_SRC:%.c=$(O)/san/%.o)

.PHONY: all lib check check-build deps demo fuzz fuzz-smoke cross bench install clean lint
all: lib
lib: $(O)/libmptcp.a $(O)/libmptcp.so

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(O)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(O)/libmptcp.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libmptcp.so: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libmptcp.so.0 -o $@ $^

# The sanitizer build of the library, linked into every test program.
$(O)/libmptcp-san.a: $(SAN_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# ---------------------------------------------------------------- tools
# scripts/deps.sh installs missing Debian packages when run as root, or
# prints the apt-get line to run. The stamp keeps it to once per build dir.
deps: $(O)/.deps-ok
$(O)/.deps-ok: scripts/deps.sh
	@mkdir -p $(@D)
	sh scripts/deps.sh
	@touch $@

CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

# Fragments append to CHECK_BUILD (things `make check` must build first).
CHECK_BUILD :=
-include tests/tests.mk
-include tests/sim/sim.mk
-include tests/interop/interop.mk
-include fuzz/fuzz.mk
-include bindings/tun/tun.mk

check: deps
	$(MAKE) --no-print-directory check-build
	sh scripts/run-checks.sh $(O)

check-build: lib $(CHECK_BUILD)

# ---------------------------------------------------------------- cross
# The core for an ARM Cortex-M4: no heap default, freestanding, sizes printed.
CROSS_CC     ?= arm-none-eabi-gcc
CROSS_SIZE   ?= arm-none-eabi-size
CROSS_CFLAGS  = -std=c11 $(WARN) -Os -mcpu=cortex-m4 -mthumb -ffreestanding \
                -ffunction-sections -fdata-sections -fstack-usage -DMPTCP_NO_MALLOC -I. -Isrc
CROSS_SRC    := $(filter-out src/mem_malloc.c,$(LIB_SRC))
CROSS_OBJ    := $(CROSS_SRC:%.c=$(O)/cortex-m4/%.o)

$(O)/cortex-m4/%.o: %.c
	@mkdir -p $(@D)
	$(CROSS_CC) $(CROSS_CFLAGS) -c $< -o $@

cross: deps $(CROSS_OBJ)
	@echo "Cortex-M4 (-Os -mthumb) size per object and total:"
	@$(CROSS_SIZE) -t $(CROSS_OBJ)

# ---------------------------------------------------------------- install
install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 mptcp.h $(DESTDIR)$(PREFIX)/include/mptcp.h
	install -m 644 $(O)/libmptcp.a $(DESTDIR)$(PREFIX)/lib/libmptcp.a
	install -m 755 $(O)/libmptcp.so $(DESTDIR)$(PREFIX)/lib/libmptcp.so.0
	ln -sf libmptcp.so.0 $(DESTDIR)$(PREFIX)/lib/libmptcp.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*MPTCP_VERSION_STRING "\(.*\)"/\1/p' mptcp.h)|g' \
	    libmptcp.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libmptcp.pc

# ---------------------------------------------------------------- lint
# No writable globals in the core (sans-IO, embeddable): nm must show no
# B/b/D/d/C symbols, and every exported symbol starts with mptcp_.
lint: $(LIB_OBJ)
	sh scripts/lint-symbols.sh $(LIB_OBJ)

clean:
	rm -rf $(O)

-include $(LIB_OBJ:.o=.d) $(SAN_OBJ:.o=.d)
