# estafette: top-level build. GNU make; objects go out of tree under $(BUILD).
#
#   make                 build every program into $(BUILD)/bin
#   make check           unit tests (lib/*_test.c) and integration tests (tests/integration)
#   make sanitize        the same under ASan + UBSan (+ LeakSanitizer), in build/sanitize
#   make install         PREFIX=/usr/local DESTDIR= : the tree of scripts/manifest
#   make run             a complete sandbox instance in ./run (scripts/sandbox)
#   make bench           bench/run
#
# Each program directory has a module.mk that appends to PROGRAMS and sets
# <prog>_SRCS; lib/*.c are found by wildcard, and lib/<module>_test.c is the unit
# test of lib/<module>.c.

comma    := ,
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SANITIZE ?=

CC       ?= cc
PKGS     := openssl libidn2 libcdb libcrypt libunbound libpcre2-8 ldap pam libpq libmariadb

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wno-unused-parameter
HARDEN   := -fstack-protector-strong -fPIE
ifeq ($(SANITIZE),)
OPT      := -O2 -g -D_FORTIFY_SOURCE=2
else
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
endif

# Each package on its own, so that one broken .pc file (libunbound.pc wants libevent's)
# costs only that package's flags; a missing one falls back to its plain -l flags.
fallback_openssl    := -lssl -lcrypto
fallback_libpcre2-8 := -lpcre2-8
fallback_ldap       := -lldap -llber
fallback_libpq      := -lpq
fallback_libmariadb := -lmariadb
pkg_libs = $(or $(shell pkg-config --libs $(1) 2>/dev/null),$(fallback_$(1)),-l$(patsubst lib%,%,$(1)))
PKG_CFLAGS := $(foreach p,$(PKGS),$(shell pkg-config --cflags $(p) 2>/dev/null))
PKG_LIBS   := $(foreach p,$(PKGS),$(call pkg_libs,$(p)))

CPPFLAGS_ALL := -Ilib -DESTAFETTE_PREFIX='"$(PREFIX)"' $(CPPFLAGS)
CFLAGS_ALL   := -std=gnu11 $(WARN) $(HARDEN) $(OPT) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL  := -pie -Wl,-z,relro,-z,now $(if $(SANITIZE),-fsanitize=address$(comma)undefined) $(LDFLAGS)
LDLIBS_ALL   := $(PKG_LIBS) $(LDLIBS)

LIB_SRCS   := $(filter-out %_test.c,$(wildcard lib/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A      := $(BUILD)/libestafette.a
UNIT_SRCS  := $(sort $(wildcard lib/*_test.c */*_test.c))
UNIT_BINS  := $(UNIT_SRCS:%.c=$(BUILD)/tests/%)
UNIT_RUNNER_OBJ := $(BUILD)/tests/unit/unit.o

.DEFAULT_GOAL := all
PROGRAMS :=
include $(sort $(wildcard */module.mk))

PROG_BINS := $(PROGRAMS:%=$(BUILD)/bin/%)

.PHONY: all check unit integration sanitize install run bench clean fuzz
.DELETE_ON_ERROR:
.SECONDARY:

all: $(PROG_BINS) $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# lib/NAME_test.c tests lib/NAME.c (in the library). DIR/NAME_test.c in a program's
# directory tests DIR/NAME.c; a module.mk adds any further objects such a test needs as
# prerequisites: $(BUILD)/tests/DIR/NAME_test: $(BUILD)/DIR/other.o
$(BUILD)/tests/lib/%_test: $(BUILD)/lib/%_test.o $(UNIT_RUNNER_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIB_A) $(LDLIBS_ALL)

$(BUILD)/tests/%_test: $(BUILD)/%_test.o $(BUILD)/%.o $(UNIT_RUNNER_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIB_A) $(LDLIBS_ALL)

$(BUILD)/tests/unit/unit.o: tests/unit/unit.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/%_test.o: %_test.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# One link rule per program: $(BUILD)/bin/<prog> from <prog>_SRCS and the library.
define PROGRAM_template
$(BUILD)/bin/$(1): $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))

check: $(PROG_BINS) $(UNIT_BINS)
	@scripts/check $(BUILD) $(UNIT_BINS)

unit: $(UNIT_BINS)
	@scripts/run-unit $(UNIT_BINS)

integration: $(PROG_BINS)
	@ESTAFETTE_BUILD=$(BUILD) python3 tests/integration/run.py

# Set-id programs cannot run under the sanitizers' runtimes (the kernel gives them no
# LD_PRELOAD-like environment and LeakSanitizer cannot trace them): tests that exec a
# set-id copy as another user skip that part when ESTAFETTE_SANITIZE is set.
sanitize:
	ESTAFETTE_SANITIZE=1 $(MAKE) BUILD=build/sanitize SANITIZE=1 check

install: $(PROG_BINS)
	scripts/install-tree --prefix "$(PREFIX)" --destdir "$(DESTDIR)" --build "$(BUILD)"

run: all
	scripts/sandbox $(RUN_ARGS)

bench: all
	bench/run $(BENCH_ARGS)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

-include fuzz/fuzz.mk
