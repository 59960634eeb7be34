# fuzz/fuzz.mk: the fuzz targets (fuzz/README). Included by the top Makefile.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="addr qp"]
#        build with clang + libFuzzer + ASan + UBSan into build/fuzz, run each
#        target for FUZZ_SECONDS, print one line per target (fuzz/run)
#   make fuzz-build      only build them
#   make fuzz-regress    build each target with $(CC) and the usual flags
#        (SANITIZE=1 works) as $(BUILD)/fuzz-regress/NAME and run it over
#        fuzz/corpus/NAME and fuzz/regress/NAME (no clang needed)
#
# A target is fuzz/NAME_fuzz.c; sources from outside lib/ that it needs are
# listed in an optional fuzz/NAME.mk as NAME_FUZZ_SRCS := dir/file.c ...

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := $(sort $(patsubst fuzz/%_fuzz.c,%,$(wildcard fuzz/*_fuzz.c)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)

include $(filter-out fuzz/fuzz.mk,$(wildcard fuzz/*.mk))

# Coverage instrumentation for everything, the libFuzzer main only at link.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS := -Ilib -Ifuzz -DESTAFETTE_PREFIX='"$(PREFIX)"' -DESTAFETTE_FUZZ=1
FUZZ_CFLAGS   := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                 -fsanitize=fuzzer-no-link $(filter-out -Werror,$(WARN)) $(PKG_CFLAGS)
FUZZ_LIB_A    := $(FUZZ_BUILD)/libestafette.a
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/bin/%)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_LIB_A): $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

define FUZZ_template
$(FUZZ_BUILD)/bin/$(1): $(FUZZ_BUILD)/fuzz/$(1)_fuzz.o $$($(1)_FUZZ_SRCS:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_LIB_A)
	@mkdir -p $$(@D)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $$@ $$(filter %.o,$$^) $(FUZZ_LIB_A) $(LDLIBS_ALL)

$(BUILD)/fuzz-regress/$(1): $(BUILD)/fuzz/$(1)_fuzz.o $(BUILD)/fuzz/regress_main.o \
		$$($(1)_FUZZ_SRCS:%.c=$(BUILD)/%.o) $(LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $(LIB_A) $$(LDLIBS_ALL)
endef
$(foreach t,$(FUZZ_NAMES),$(eval $(call FUZZ_template,$(t))))

.PHONY: fuzz-build fuzz-regress fuzz-regress-build
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/%)
	@fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-regress-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz-regress/%)

fuzz-regress: fuzz-regress-build
	@status=0; for t in $(FUZZ_NAMES); do \
		$(BUILD)/fuzz-regress/$$t fuzz/corpus/$$t fuzz/regress/$$t || status=1; \
	done; exit $$status

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
