# bpfx: a plain GNU Makefile.
#   make            build/libbpfx.a, build/libbpfx.so, build/bpfx
#   make check      every test (also under ASan+UBSan)
#   make demo       compile and run an example BPF program
#   make bench      benchmarks, as ratios against peers measured in the same run
#   make install    PREFIX=/usr/local

PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
CLANG_BPF ?= clang-19
VERSION := 0.1.0

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
ifdef CI
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ifdef SANITIZE
CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
EXTRA_LDLIBS += -fsanitize=address,undefined
endif
# Where the host's asm/ headers are, for BPF programs compiled at test time.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
override CFLAGS += $(WARN) -std=gnu11 -fPIC -fvisibility=hidden -Iinclude -Isrc $(EXTRA_CFLAGS) \
	-DBPF_SYS_INCLUDE='"/usr/include/$(MULTIARCH)"'
LDLIBS := -lelf -lbpf -lz -lpthread $(EXTRA_LDLIBS)
# capstone disassembles JIT output for `bpfx jit --dump`: the CLI's only
CLI_LDLIBS := -lcapstone

LIB_SRCS := $(filter-out src/cli/%,$(wildcard src/*/*.c src/*/*/*.c))
CLI_SRCS := $(wildcard src/cli/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
HDRS := $(wildcard include/bpfx/*.h src/*.h src/*/*.h)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-ok check check-unit check-data check-progs check-bad check-fuzz check-asan fuzz demo bench install clean

all: deps-ok $(BUILD)/libbpfx.a $(BUILD)/libbpfx.so $(BUILD)/bpfx

# Installs the Debian packages the build needs when one is missing.
deps-ok:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh
deps:
	scripts/install-deps.sh

$(BUILD)/%.o: %.c $(HDRS) | deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libbpfx.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libbpfx.so: $(LIB_OBJS) src/libbpfx.map
	$(CC) $(CFLAGS) -shared -Wl,--version-script=src/libbpfx.map -Wl,-soname,libbpfx.so.0 -o $@ $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bpfx: $(CLI_OBJS) $(BUILD)/libbpfx.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libbpfx.a $(LDLIBS) $(CLI_LDLIBS)
	ln -sf bpfx $(BUILD)/bpfx_conformance_plugin

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbpfx.a tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libbpfx.a $(LDLIBS)

# The data-driven runners: tests/run_*.c
$(BUILD)/tests/run_%: tests/run_%.c $(BUILD)/libbpfx.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbpfx.a $(LDLIBS)

# The last line counts the suites: unit (with the export check), data,
# progs, bad, fuzz, each built plainly and with the sanitizers.
check: all check-unit check-data check-progs check-bad check-fuzz check-asan
	@echo "check: 10 passed, 0 failed"

check-unit: $(UNIT_BINS) $(BUILD)/libbpfx.so
	@scripts/run-tests.sh unit $(UNIT_BINS)
	@scripts/check-exports.sh $(BUILD)/libbpfx.so

# the .data corpus, and the conformance plugin the ways the suite starts it
check-data: $(BUILD)/tests/run_data $(BUILD)/bpfx
	$(BUILD)/tests/run_data tests/data
	tests/run_plugin.sh $(BUILD)/bpfx_conformance_plugin

check-progs: $(BUILD)/tests/run_progs
	CLANG_BPF=$(CLANG_BPF) $(BUILD)/tests/run_progs tests/progs $(BUILD)/progs

check-bad: $(BUILD)/tests/run_bad
	CLANG_BPF=$(CLANG_BPF) $(BUILD)/tests/run_bad tests/bad $(BUILD)/bad

# The same suites built with AddressSanitizer and UBSan.
check-asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 check-unit check-data check-progs check-bad check-fuzz

# Fuzzers (fuzz/): a bounded verifier soundness run in check; make fuzz
# runs both longer (libFuzzer with clang-19 where it links, else the
# object fuzzer replays its seed corpus).
FUZZ_SEEDS ?= 100000
FUZZ_TIME ?= 60
$(BUILD)/fuzz/verifier_soundness: fuzz/verifier_soundness.c $(BUILD)/libbpfx.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbpfx.a $(LDLIBS)
$(BUILD)/fuzz/object_fuzz: fuzz/object_fuzz.c $(BUILD)/libbpfx.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSTANDALONE -o $@ $< $(BUILD)/libbpfx.a $(LDLIBS)
check-fuzz: $(BUILD)/fuzz/verifier_soundness
	$(BUILD)/fuzz/verifier_soundness -s 1 -n 10000
	@for f in fuzz/repro/*.s; do $(BUILD)/fuzz/verifier_soundness -f $$f >/dev/null || exit 1; done; \
		echo "fuzz/repro: $$(ls fuzz/repro/*.s | wc -l) passed, 0 failed"
fuzz: all $(BUILD)/fuzz/verifier_soundness $(BUILD)/fuzz/object_fuzz
	$(BUILD)/fuzz/verifier_soundness -s 1 -n $(FUZZ_SEEDS)
	fuzz/run-object-fuzz.sh $(BUILD) $(CLANG_BPF) $(FUZZ_TIME)

demo: all
	examples/demo.sh $(BUILD)/bpfx $(CLANG_BPF)

bench: all
	$(MAKE) -C bench BUILD=$(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/bpfx/bpf $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libbpfx.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libbpfx.so $(DESTDIR)$(PREFIX)/lib/libbpfx.so.0
	ln -sf libbpfx.so.0 $(DESTDIR)$(PREFIX)/lib/libbpfx.so
	install -m 644 include/bpfx/bpfx.h $(DESTDIR)$(PREFIX)/include/bpfx/
	install -m 644 include/bpfx/bpf/*.h $(DESTDIR)$(PREFIX)/include/bpfx/bpf/
	install -m 755 $(BUILD)/bpfx $(DESTDIR)$(PREFIX)/bin/
	ln -sf bpfx $(DESTDIR)$(PREFIX)/bin/bpfx_conformance_plugin
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' src/libbpfx.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libbpfx.pc

clean:
	rm -rf build
