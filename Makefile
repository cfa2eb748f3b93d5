# Blixard build. One static library (build/libblixard.a) from src/ raft/ vm/ net/,
# linked by the one binary (build/blixard: daemon and CLI), by every test and
# by every fuzz target. Includes are written from the repository root
# ("src/store/store.h", "raft/fsm.h"); which folder may include which is
# checked by `make check-layers` (docs/ARCHITECTURE.md).
#
#   make            build/blixard, build/toml-decoder, unit test binaries
#   make test       every test (unit, TOML conformance, integration), after check-layers
#   make check-layers  fail on an include against the layers' direction
#   make asan       the same tests, built under ASan/UBSan into build-asan/
#   make fuzz-toml  run the TOML libFuzzer target (FUZZ_SECONDS, default 600)
#   make fuzz-spec  run the JSON spec/command (API body) libFuzzer target
#   make fuzz-qmp   run the QMP reply (line splitter + parser) libFuzzer target
#   make fuzz-tailscale  run the LocalAPI status libFuzzer target
#   make fuzz-invite     run the invite token libFuzzer target
#   make fuzz-token      run the API token (Authorization header) libFuzzer target
#   make fuzz-all        every fuzz target in turn (FUZZ_SECONDS each)
#   make install    binary, man page, shell completions, systemd unit, default config
#                   (PREFIX, DESTDIR)

BUILD    ?= build
CC       ?= cc
PKGS     := libuv lmdb libcjson libcurl libcrypto libh2o raft libvirt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

WARN     := -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=1 $(WARN) $(CFLAGS) $(SAN) \
              $(PKG_CFLAGS) -I.
LDFLAGS  += $(SAN)
# jemalloc for the daemon's many small, short-lived allocations (cJSON trees
# on every write): ~16 % more writes at 64 connections (docs/BENCHMARKS.md).
# Not under the sanitizers, which bring an allocator of their own.
ifeq ($(SAN),)
MALLOC_LIBS := $(shell pkg-config --libs jemalloc)
endif
LDLIBS   := $(PKG_LIBS) $(MALLOC_LIBS) -lm

LIB_SRCS := $(filter-out src/cli/main.c,$(wildcard src/*.c src/*/*.c raft/*.c vm/*.c net/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# tests/lib: the unit tests' fakes (submitter over a real FSM, driver, clock)
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/%)

.PHONY: all test check-layers fuzz-lib fuzz-build fuzz-all asan fuzz-toml fuzz-spec fuzz-qmp fuzz-tailscale fuzz-invite fuzz-token clean \
        format install uninstall
all: $(BUILD)/blixard $(TOOL_BINS) $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libblixard.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/blixard: $(BUILD)/obj/src/cli/main.o $(BUILD)/libblixard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libblixard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/harness.o \
    $(TESTLIB_OBJS) $(BUILD)/libblixard.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/scheduler.sh: the scheduling throughput benchmark
$(BUILD)/sched_bench: $(BUILD)/obj/bench/sched_bench.o $(BUILD)/libblixard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test: all check-layers
	BUILD=$(BUILD) tests/run.sh

check-layers:
	@scripts/check-layers.sh

asan:
	$(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" CFLAGS="-O1 -g -Wno-stringop-overread" test

FUZZ_SECONDS ?= 600
FUZZ_BUILD   ?= build-fuzz
FUZZ_TARGETS := toml spec qmp tailscale invite token
# The fuzz targets link the same library as everything else, built by clang
# with the fuzzer's coverage and ASan/UBSan into $(FUZZ_BUILD)/.
# Every sanitizer report ends the run (-fno-sanitize-recover=all): a finding
# is a failure with a reproducer, never a line in a log that passes.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=1 $(WARN) -g -O1 $(PKG_CFLAGS) -I.
fuzz-lib:
	@mkdir -p $(FUZZ_BUILD)
	@echo '$(FUZZ_SAN)' | cmp -s - $(FUZZ_BUILD)/.san || \
	    { rm -rf $(FUZZ_BUILD)/obj $(FUZZ_BUILD)/libblixard.a; echo '$(FUZZ_SAN)' >$(FUZZ_BUILD)/.san; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/libblixard.a
fuzz-build: fuzz-lib
	@mkdir -p $(FUZZ_BUILD)/fuzz
	for t in $(FUZZ_TARGETS); do \
	    clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) \
	        -o $(FUZZ_BUILD)/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c $(FUZZ_BUILD)/libblixard.a \
	        $(PKG_LIBS) -lm || exit 1; \
	done

# $(call fuzz,NAME,FLAGS): run $(FUZZ_BUILD)/fuzz/fuzz_NAME for FUZZ_SECONDS
# on corpus-NAME (tests/suites/fuzz.sh: short runs)
define fuzz
@mkdir -p $(FUZZ_BUILD)/fuzz/corpus-$(1) $(FUZZ_BUILD)/fuzz/findings
$(FUZZ_BUILD)/fuzz/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) $(2) \
    -artifact_prefix=$(FUZZ_BUILD)/fuzz/findings/$(1)- \
    $(FUZZ_BUILD)/fuzz/corpus-$(1) tests/fuzz/corpus-$(1)
endef

fuzz-toml: fuzz-build
	$(call fuzz,toml,-max_len=65536 -dict=tests/fuzz/toml.dict)
fuzz-spec: fuzz-build
	$(call fuzz,spec,-max_len=65536)
fuzz-qmp: fuzz-build
	$(call fuzz,qmp,-max_len=200000)
fuzz-tailscale: fuzz-build
	$(call fuzz,tailscale,-max_len=65536)
fuzz-invite: fuzz-build
	$(call fuzz,invite,-max_len=16384)
fuzz-token: fuzz-build
	$(call fuzz,token,-max_len=4096)

# every target in turn, FUZZ_SECONDS each (tests/suites/fuzz.sh does it too,
# with the coverage each reached)
fuzz-all: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/suites/fuzz.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the man page, the
# systemd unit (pointing at this BINDIR and SYSCONFDIR) and the default config,
# which is never written over an existing one.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
CONF       := $(DESTDIR)$(SYSCONFDIR)/blixard/blixard.toml
install: $(BUILD)/blixard
	install -D -m 0755 $(BUILD)/blixard $(DESTDIR)$(BINDIR)/blixard
	install -D -m 0644 docs/blixard.1 $(DESTDIR)$(MANDIR)/man1/blixard.1
	install -d -m 0755 $(DESTDIR)$(DATADIR)/bash-completion/completions \
	    $(DESTDIR)$(DATADIR)/zsh/vendor-completions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	$(BUILD)/blixard completion bash >$(DESTDIR)$(DATADIR)/bash-completion/completions/blixard
	$(BUILD)/blixard completion zsh >$(DESTDIR)$(DATADIR)/zsh/vendor-completions/_blixard
	$(BUILD)/blixard completion fish >$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/blixard.fish
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's#@BINDIR@#$(BINDIR)#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' \
	    dist/blixard.service.in >$(DESTDIR)$(UNITDIR)/blixard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/blixard.service
	@if [ -e $(CONF) ]; then echo "kept $(CONF)"; \
	else install -D -m 0644 examples/blixard.toml $(CONF); fi

uninstall:
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/blixard \
	    $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_blixard \
	    $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/blixard.fish
	rm -f $(DESTDIR)$(BINDIR)/blixard $(DESTDIR)$(MANDIR)/man1/blixard.1 \
	    $(DESTDIR)$(UNITDIR)/blixard.service
	@echo "left $(CONF) and the data directory"

format:
	clang-format -i $(wildcard src/*.[ch] src/*/*.[ch] raft/*.[ch] vm/*.[ch] net/*.[ch] tests/unit/*.[ch] tests/lib/*.[ch] tests/tools/*.c tests/fuzz/*.c)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
