# halfclose - build, test, demo, install.  `make help` lists the targets.

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
BINDIR  ?= $(PREFIX)/bin
VERSION := 0.1.0
BUILD   := build

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
# `make CFLAGS=...` replaces the optimisation flags, never the language and warnings.
override CFLAGS += -std=gnu11 $(WARN) -D_FORTIFY_SOURCE=2
SHIM_CFLAGS = $(CFLAGS) -fPIC -fvisibility=hidden
LDHARDEN := -Wl,-z,relro,-z,now

CORE_SRC := $(filter-out shim/wrap_%.c,$(wildcard shim/*.c))
WRAP_SRC := $(wildcard shim/wrap_*.c)
SHIM_HDR := $(wildcard shim/*.h)
CLIENT_SRC := $(wildcard tests/clients/*.c)
BENCH_SRC := $(wildcard tools/bench/*.c)
BENCH_BINS := $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
CLIENTS := $(patsubst tests/clients/%.c,$(BUILD)/clients/%,$(CLIENT_SRC))
UNIT_SRC := $(wildcard tests/unit/*.c)

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

# Debian packages the build, the tests and the demo need, with the real servers
# and clients of the matrix (tests/matrix).
DEPS := gcc make libc6-dev pkg-config uthash-dev check libsubunit-dev ncat socat python3 openssl strace \
        libasan8 libubsan1 libtsan2 \
        redis-server redis-tools libhiredis-dev memcached nginx-light postgresql curl \
        python3-redis python3-urllib3 python3-pymemcache
# ... and what `make bench` needs on top.
BENCH_DEPS := valgrind wrk

.PHONY: all deps check unit unit-asan unit-tsan integration matrix demo bench install uninstall clean help

all: $(BUILD)/libhalfclose.so $(BUILD)/halfclose $(CLIENTS)

help:
	@echo "make            build $(BUILD)/libhalfclose.so, $(BUILD)/halfclose and the test clients"
	@echo "make deps       install the Debian packages that are missing"
	@echo "make check      deps + build + unit tests (plain, ASan+UBSan, TSan) + integration tests + matrix"
	@echo "make demo       deps + build + the seed's failure and its cure against ncat -i 2"
	@echo "make bench      deps + build + what the shim costs, as ratios against the same runs without it"
	@echo "make install    PREFIX=$(PREFIX): $(LIBDIR)/libhalfclose.so and $(BINDIR)/halfclose"

# Idempotent: asks apt only for what dpkg says is missing; `apt-get update` once.
deps:
	@missing=$$(for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD) $(BUILD)/clients $(BUILD)/matrix $(BUILD)/bench $(BUILD)/asan $(BUILD)/tsan:
	mkdir -p $@

# The library: core + wrappers, hidden by default, only HC_EXPORT symbols leave.
$(BUILD)/libhalfclose.so: $(CORE_SRC) $(WRAP_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(SHIM_CFLAGS) -shared -o $@ $(CORE_SRC) $(WRAP_SRC) $(LDHARDEN) -ldl -lpthread

$(BUILD)/halfclose: tools/halfclose.c | $(BUILD)
	$(CC) $(CFLAGS) -DHC_VERSION='"$(VERSION)"' -DHC_LIBDIR='"$(LIBDIR)"' -o $@ $< $(LDHARDEN)

$(BUILD)/clients/%: tests/clients/%.c tests/clients/client.h | $(BUILD)/clients
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/matrix/hiredis_ping: tests/matrix/clients/hiredis_ping.c tests/clients/client.h | $(BUILD)/matrix
	$(CC) $(CFLAGS) -o $@ $< -lhiredis

$(BUILD)/bench/%: tools/bench/%.c | $(BUILD)/bench
	$(CC) $(CFLAGS) -o $@ $< -lpthread

# Unit tests link the core directly (no interposition), three ways.
$(BUILD)/unit_tests: $(UNIT_SRC) $(CORE_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(CFLAGS) -O1 -Ishim $(CHECK_CFLAGS) -o $@ $(UNIT_SRC) $(CORE_SRC) $(CHECK_LIBS) -ldl -lpthread

$(BUILD)/asan/unit_tests: $(UNIT_SRC) $(CORE_SRC) $(SHIM_HDR) | $(BUILD)/asan
	$(CC) $(CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    -Ishim $(CHECK_CFLAGS) -o $@ $(UNIT_SRC) $(CORE_SRC) $(CHECK_LIBS) -ldl -lpthread

$(BUILD)/tsan/unit_tests: $(UNIT_SRC) $(CORE_SRC) $(SHIM_HDR) | $(BUILD)/tsan
	$(CC) $(CFLAGS) -O1 -fsanitize=thread -fPIE -pie \
	    -Ishim $(CHECK_CFLAGS) -o $@ $(UNIT_SRC) $(CORE_SRC) $(CHECK_LIBS) -ldl -lpthread

# Check forks a child per test; a sanitizer report fails that test and so the run.
unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

unit-asan: $(BUILD)/asan/unit_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(BUILD)/asan/unit_tests

unit-tsan: $(BUILD)/tsan/unit_tests
	TSAN_OPTIONS=halt_on_error=1 setarch -R $(BUILD)/tsan/unit_tests

integration: all
	HC_BUILD=$(abspath $(BUILD)) tests/integration/run.sh

# Real servers (redis, memcached, nginx, socat, ncat, PostgreSQL) and real clients.
matrix: all $(BUILD)/matrix/hiredis_ping
	HC_BUILD=$(abspath $(BUILD)) tests/matrix/run.sh

check: deps
	$(MAKE) all
	$(MAKE) unit unit-asan unit-tsan
	$(MAKE) integration
	$(MAKE) matrix

demo: deps
	$(MAKE) all
	HC_BUILD=$(abspath $(BUILD)) tools/demo.sh

# The launcher is built again for the LIBDIR of this install, whatever `make` used.
bench:
	$(MAKE) deps DEPS="$(DEPS) $(BENCH_DEPS)"
	$(MAKE) all $(BENCH_BINS)
	HC_BUILD=$(abspath $(BUILD)) tools/bench.sh

install: $(BUILD)/libhalfclose.so tools/halfclose.c
	$(CC) $(CFLAGS) -DHC_VERSION='"$(VERSION)"' -DHC_LIBDIR='"$(LIBDIR)"' -o $(BUILD)/halfclose.install \
	    tools/halfclose.c $(LDHARDEN)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR)
	install -m 0644 $(BUILD)/libhalfclose.so $(DESTDIR)$(LIBDIR)/libhalfclose.so
	install -m 0755 $(BUILD)/halfclose.install $(DESTDIR)$(BINDIR)/halfclose

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libhalfclose.so $(DESTDIR)$(BINDIR)/halfclose

clean:
	rm -rf $(BUILD)
