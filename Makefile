# halfclose - build, test, demo, install.  `make help` lists the targets.

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
VERSION := 0.1.0
BUILD   := build

CC      ?= gcc
CLANG   ?= clang-14
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
# `make CFLAGS=...` replaces the optimisation flags, never the language and warnings.
override CFLAGS += -std=gnu11 $(WARN) -D_FORTIFY_SOURCE=2
# -fexceptions: a thread cancelled inside a wrapped read runs the wrapper's cleanup.
SHIM_CFLAGS = $(CFLAGS) -fPIC -fvisibility=hidden -fexceptions
LDHARDEN := -Wl,-z,relro,-z,now
# ASan+UBSan as the unit tests and the preloaded library use them: every report is fatal.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

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
# and clients of the matrix (tests/matrix) and of the session tests
# (tests/session: MariaDB, PyMySQL, aiosmtpd, h2), what make deb and tests/ops
# use (dpkg-shlibdeps, lintian, the man page linters, node_exporter), and mount
# for the overlayfs of t_secure_exec (its unshare and setpriv come with
# util-linux, essential).
DEPS := gcc make libc6-dev pkg-config uthash-dev check libsubunit-dev ncat socat python3 openssl strace \
        libasan8 libubsan1 libtsan2 clang-14 libclang-rt-14-dev \
        redis-server redis-tools libhiredis-dev memcached nginx-light postgresql curl \
        python3-redis python3-urllib3 python3-pymemcache iptables libnetfilter-queue-dev golang-go \
        mariadb-server mariadb-client python3-pymysql python3-aiosmtpd python3-h2 mount \
        dpkg-dev lintian mandoc man-db groff-base prometheus-node-exporter systemd python3-yaml iproute2 procps
# ... and what `make bench` needs on top (perf counts system calls without tracing them; without
# it, or where the kernel refuses its tracepoints, strace does).
BENCH_DEPS := valgrind wrk linux-perf

.PHONY: all deps check unit unit-asan unit-tsan integration integration-asan integration-tsan fuzz matrix demo \
        bench bench-counts bench-readme install uninstall clean help

all: $(BUILD)/libhalfclose.so $(BUILD)/halfclose $(CLIENTS)

help:
	@echo "make            build $(BUILD)/libhalfclose.so, $(BUILD)/halfclose and the test clients"
	@echo "make deps       install the Debian packages that are missing"
	@echo "make check      deps + build + unit tests (plain, ASan+UBSan, TSan) + integration tests + supervise"
	@echo "                + session + matrix + ops + race + chaos-short + integration tests against the ASan+UBSan and the TSan library"
	@echo "                + the config and /proc fuzzers"
	@echo "make supervise  build + static and Go programs under the launcher's supervisor (part of check)"
	@echo "make session    build + connections with state against real servers: redis sessions healed"
	@echo "                with their AUTH/SELECT/HELLO, MariaDB, SMTP, PostgreSQL, HTTP/2 never swapped"
	@echo "                (part of check)"
	@echo "make race       build + the FIN-in-flight race on every request, and its replay (part of check)"
	@echo "make chaos      build + CHAOS_REQUESTS=$(CHAOS_REQUESTS) requests per run against a misbehaving server,"
	@echo "                without and with the library: no duplicate, no wrong reply, no hang, no fd leak"
	@echo "                (chaos-short: $(CHAOS_SHORT_REQUESTS) requests, part of check)"
	@echo "make ops        build + deb + live counters through node_exporter, halfclose measure against the"
	@echo "                matrix's servers, the package installed into a scratch root, the documents"
	@echo "                against the code (part of check)"
	@echo "make deb        $(BUILD)/halfclose_$(VERSION)_ARCH.deb (dpkg-deb)"
	@echo "make demo       deps + build + the seed's failure and its cure against ncat -i 2 (C and Go clients)"
	@echo "make bench      deps + build + what the shim costs: system calls and instructions it adds (counts),"
	@echo "                and ratios against the same runs without it (interleaved pairs); ROWS=\"pingpong"
	@echo "                redis\" runs only those rows; the table in $(BUILD)/bench.txt and bench.md"
	@echo "make bench-counts  the counts alone (about a minute, meaningful on a busy machine)"
	@echo "make bench-readme  make bench, then README.md's Cost section from its $(BUILD)/bench.md"
	@echo "make install    PREFIX=$(PREFIX): $(LIBDIR)/libhalfclose.so, $(BINDIR)/halfclose, the man pages"

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

$(BUILD) $(BUILD)/clients $(BUILD)/matrix $(BUILD)/bench $(BUILD)/asan $(BUILD)/tsan $(BUILD)/fuzz:
	mkdir -p $@

# The library: core + wrappers, hidden by default, only HC_EXPORT symbols leave.
$(BUILD)/libhalfclose.so: $(CORE_SRC) $(WRAP_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(SHIM_CFLAGS) -shared -o $@ $(CORE_SRC) $(WRAP_SRC) $(LDHARDEN) -ldl -lpthread

# The same, sanitized, for the integration tests to preload after the sanitizer's runtime.
$(BUILD)/asan/libhalfclose.so: $(CORE_SRC) $(WRAP_SRC) $(SHIM_HDR) | $(BUILD)/asan
	$(CC) $(SHIM_CFLAGS) -O1 $(ASAN_FLAGS) -shared -o $@ $(CORE_SRC) $(WRAP_SRC) $(LDHARDEN) -ldl -lpthread

$(BUILD)/tsan/libhalfclose.so: $(CORE_SRC) $(WRAP_SRC) $(SHIM_HDR) | $(BUILD)/tsan
	$(CC) $(SHIM_CFLAGS) -O1 -fsanitize=thread -shared -o $@ $(CORE_SRC) $(WRAP_SRC) $(LDHARDEN) -ldl -lpthread

# The launcher links the core it reuses under the supervisor (config, probe,
# reconnect, log; real.c binds libc with dlsym(RTLD_NEXT) from an executable too).
# The supervisor is the folder tools/supervise/ (a file per concern).
SV_SRC := $(wildcard tools/supervise/*.c)
SV_HDR := $(wildcard tools/supervise/*.h)
LAUNCHER_SRC := tools/halfclose.c $(SV_SRC) tools/stats.c tools/stats_print.c tools/measure.c
LAUNCHER_HDR := tools/supervise.h tools/commands.h tools/stats.h $(SV_HDR)
# launcher-cc OUT LIBDIR PREFIX: the launcher for a library installed in LIBDIR
# (an absolute path; below PREFIX it is also found relative to the launcher).
launcher-cc = $(CC) $(CFLAGS) -DHC_VERSION='"$(VERSION)"' -DHC_LIBDIR='"$(2)"' \
    -DHC_LIBDIR_REL='"$(if $(filter $(3)/%,$(2)),$(patsubst $(3)/%,%,$(2)),lib)"' -Ishim -Itools -o $(1) \
    $(LAUNCHER_SRC) $(CORE_SRC) $(LDHARDEN) -ldl -lpthread
$(BUILD)/halfclose: $(LAUNCHER_SRC) $(LAUNCHER_HDR) $(CORE_SRC) $(SHIM_HDR) | $(BUILD)
	$(call launcher-cc,$@,$(LIBDIR),$(PREFIX))

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
	$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) \
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

# The integration tests again, the clients preloading a sanitized library.  Not
# run that way, because they build LD_PRELOAD themselves and so would test the
# plain library again, or break the runtime-first rule:
#   t_early_calls   preloads its own library before the shim and asserts the
#                   loader's exact init order;
#   t_launcher      the launcher puts the library beside it first in LD_PRELOAD;
#   t_probe_budget  counts system calls under strace -E LD_PRELOAD=$HC_LIB.
#   t_secure_exec   preloads the bare name libhalfclose.so into a setuid
#                   program, which ld.so takes only from a trusted system
#                   directory, set-user-ID: the test puts $HC_LIB there (a
#                   sanitizer runtime would have to go there setuid too).
SAN_SKIP := t_early_calls t_launcher t_probe_budget t_secure_exec
SAN_TESTS = $(filter-out $(SAN_SKIP),$(basename $(notdir $(wildcard tests/integration/t_*.sh))))

# run-sanitized NAME RUNTIME OPTIONS: run.sh with LD_PRELOAD=RUNTIME (which must
# come first):$(BUILD)/NAME/libhalfclose.so for the shim halves.  OPTIONS send
# every report to a file in $(BUILD)/NAME/reports: an abort in a client that is
# meant to fail would pass unseen; a file there fails the run whatever the tests
# said, and the first is shown in full (CI keeps no build directory).
define run-sanitized
	rm -rf $(BUILD)/$(1)/reports && mkdir -p $(BUILD)/$(1)/reports
	@echo "integration tests against $(BUILD)/$(1)/libhalfclose.so; not run that way (SAN_SKIP): $(SAN_SKIP)"
	HC_BUILD=$(abspath $(BUILD)) HC_PRELOAD=$(2):$(abspath $(BUILD)/$(1)/libhalfclose.so) $(3) \
	    tests/integration/run.sh $(SAN_TESTS); rc=$$?; \
	set -- $(BUILD)/$(1)/reports/*; \
	if [ -e "$$1" ]; then \
	    echo "$(1): $$# sanitizer report(s) in $(BUILD)/$(1)/reports; the first:"; cat "$$1"; \
	    grep -h '^SUMMARY' "$$@"; rc=1; fi; \
	exit $$rc
endef
# REPORTS NAME: the log_path for the sanitizer reports of NAME.
REPORTS = $(abspath $(BUILD))/$(1)/reports/report

# ASan+UBSan: a report aborts the client.  gcc's libubsan prints on stderr
# whatever its log_path (its __sanitizer_set_report_path binds to libasan's), so
# ASan reports UBSan's abort (handle_abort) into the file.  Leak detection is
# off: the clients (python, socat, ncat, ...) leave memory to the exit, which is
# not ours to report; unit-asan checks the core for leaks.
integration-asan: all $(BUILD)/asan/libhalfclose.so
	$(call run-sanitized,asan,$(shell $(CC) -print-file-name=libasan.so), \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_abort=1:log_path=$(call REPORTS,asan) \
	    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$(call REPORTS,asan))

# TSan.  gcc 12's runtime dies with "unexpected memory mapping" where the kernel
# randomises more address bits than it knows (vm.mmap_rnd_bits 32,
# google/sanitizers#1716), so ASLR is off as for unit-tsan: setarch -R is
# inherited by every process the tests start.
integration-tsan: all $(BUILD)/tsan/libhalfclose.so
	$(call run-sanitized,tsan,$(shell $(CC) -print-file-name=libtsan.so), \
	    TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:log_path=$(call REPORTS,tsan) setarch -R)

# The configuration parser under libFuzzer, from the seeds in tests/fuzz/corpus
# and a fixed random seed, for FUZZ_SECONDS.  A crash (a sanitizer report or a
# broken promise of config.h) fails the run; libFuzzer leaves its input in
# $(BUILD)/fuzz (crash-*); replay it with `$(BUILD)/fuzz/fuzz_config FILE`.
FUZZ_SECONDS ?= 25
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(CORE_SRC) $(SHIM_HDR) | $(BUILD)/fuzz
	$(CLANG) $(CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Ishim -o $@ tests/fuzz/fuzz_config.c $(CORE_SRC) -ldl -lpthread

# The /proc and ELF parsers the same way (shim/procfs.c); the
# three share FUZZ_SECONDS: 2/5 for the configuration, 1/5 for procfs, the rest
# for the protocol code.
$(BUILD)/fuzz/fuzz_procfs: tests/fuzz/fuzz_procfs.c shim/procfs.c shim/procfs.h | $(BUILD)/fuzz
	$(CLANG) $(CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Ishim -o $@ tests/fuzz/fuzz_procfs.c shim/procfs.c

# The protocol code (shim/proto.c, shim/resp*.c, shim/safe.c): a conversation cut into
# writes and replies, every promise of resp.h checked.
SESSION_FUZZ_SRC := shim/proto.c shim/resp.c shim/resp_cmd.c shim/resp_wire.c shim/buf.c shim/safe.c
$(BUILD)/fuzz/fuzz_session: tests/fuzz/fuzz_session.c $(SESSION_FUZZ_SRC) $(SHIM_HDR) | $(BUILD)/fuzz
	$(CLANG) $(CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Ishim -o $@ tests/fuzz/fuzz_session.c $(SESSION_FUZZ_SRC)

# run-fuzzer NAME SECONDS SEEDS OPTIONS: $(BUILD)/fuzz/fuzz_NAME from the seeds
# in SEEDS (and what it found so far this run), its log in fuzz_NAME.log.
define run-fuzzer
	rm -rf $(BUILD)/fuzz/corpus_$(1) && mkdir -p $(BUILD)/fuzz/corpus_$(1)
	$(BUILD)/fuzz/fuzz_$(1) -seed=1 -max_total_time=$(2) -timeout=5 -rss_limit_mb=2048 $(4) \
	    -artifact_prefix=$(BUILD)/fuzz/ -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus_$(1) $(3) >$(BUILD)/fuzz/fuzz_$(1).log 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then tail -n 60 $(BUILD)/fuzz/fuzz_$(1).log; \
	    echo "fuzz_$(1): FAILED; the input is in $(BUILD)/fuzz/ (see 'Test unit written to' above)"; exit 1; fi; \
	grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' $(BUILD)/fuzz/fuzz_$(1).log
endef

FUZZ_CONFIG_SECONDS = $(shell echo $$(( $(FUZZ_SECONDS) * 2 / 5 )))
FUZZ_PROCFS_SECONDS = $(shell echo $$(( $(FUZZ_SECONDS) / 5 )))
FUZZ_SESSION_SECONDS = $(shell echo $$(( $(FUZZ_SECONDS) - $(FUZZ_SECONDS) * 3 / 5 )))
fuzz: $(BUILD)/fuzz/fuzz_config $(BUILD)/fuzz/fuzz_procfs $(BUILD)/fuzz/fuzz_session
	$(call run-fuzzer,config,$(FUZZ_CONFIG_SECONDS),tests/fuzz/corpus,-max_len=8192 -dict=tests/fuzz/config.dict)
	$(call run-fuzzer,procfs,$(FUZZ_PROCFS_SECONDS),tests/fuzz/corpus_procfs,-max_len=65536)
	$(call run-fuzzer,session,$(FUZZ_SESSION_SECONDS),tests/fuzz/corpus_session,-max_len=4096 -dict=tests/fuzz/session.dict)

# Real servers (redis, memcached, nginx, socat, ncat, PostgreSQL) and real clients.
matrix: all $(BUILD)/matrix/hiredis_ping
	HC_BUILD=$(abspath $(BUILD)) tests/matrix/run.sh

# The FIN-in-flight race on every request, and the replay that cures it
# (tests/race/run.sh: a private network namespace, FINs held by an NFQUEUE).
.PHONY: race
NFQ_CFLAGS = $(shell pkg-config --cflags libnetfilter_queue 2>/dev/null)
NFQ_LIBS   = $(shell pkg-config --libs libnetfilter_queue 2>/dev/null)
$(BUILD)/race:
	mkdir -p $@

$(BUILD)/race/fin_delay: tests/race/fin_delay.c | $(BUILD)/race
	$(CC) $(CFLAGS) $(NFQ_CFLAGS) -o $@ $< $(NFQ_LIBS)

$(BUILD)/race/race_client: tests/race/race_client.c tests/clients/client.h | $(BUILD)/race
	$(CC) $(CFLAGS) -o $@ $<

race: all $(BUILD)/race/fin_delay $(BUILD)/race/race_client
	HC_BUILD=$(abspath $(BUILD)) tests/race/run.sh

# Many threads, processes and event loops against a server that misbehaves at
# random (idle close, half-close, resets before and after executing, restarts;
# SYNs dropped and FINs delayed in a private network namespace), the same
# workload without the library and with it; tests/chaos/check.py checks that no
# request ran twice, no reply went to the wrong request, nothing hung or leaked,
# and that every failure is one the plain run shows too (tests/chaos/run.sh).
# CHAOS_REQUESTS per run (each of the two); chaos-short is the part of check.
.PHONY: chaos chaos-short
CHAOS_REQUESTS ?= 100000
CHAOS_SHORT_REQUESTS ?= 10000
CHAOS_BINS := $(BUILD)/chaos/chaos_server $(BUILD)/chaos/chaos_client
$(BUILD)/chaos:
	mkdir -p $@

# chaos_common.[ch]: what the server and the client share; the client's modes are
# chaos_pool.c, chaos_fork.c and chaos_loop.c (chaos_client.h between its files).
CHAOS_COMMON := tests/chaos/chaos_common.c tests/chaos/chaos_common.h tests/clients/client.h
CHAOS_CLIENT_SRC := $(addprefix tests/chaos/,chaos_client.c chaos_pool.c chaos_fork.c chaos_loop.c)

$(BUILD)/chaos/chaos_server: tests/chaos/chaos_server.c $(CHAOS_COMMON) | $(BUILD)/chaos
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^)

$(BUILD)/chaos/chaos_client: $(CHAOS_CLIENT_SRC) tests/chaos/chaos_client.h $(CHAOS_COMMON) | $(BUILD)/chaos
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) -lpthread

chaos: all $(BUILD)/race/fin_delay $(CHAOS_BINS)
	HC_BUILD=$(abspath $(BUILD)) HC_CHAOS_REQUESTS=$(CHAOS_REQUESTS) tests/chaos/run.sh

chaos-short:
	$(MAKE) chaos CHAOS_REQUESTS=$(CHAOS_SHORT_REQUESTS)

# Static and Go programs under the launcher's supervisor (issue 7):
# tests/supervise/run.sh runs the Go programs of tests/go (static: CGO_ENABLED=0,
# stdlib only, no module, nothing fetched; the Go caches in the build directory)
# and C clients linked with -static.
.PHONY: supervise
# common_resp.go is no program: the RESP clients (GO_RESP_BINS) are built with it.
GO_COMMON := tests/go/common_resp.go
GO_SRC := $(filter-out $(GO_COMMON),$(wildcard tests/go/*.go))
GO_BINS := $(patsubst tests/go/%.go,$(BUILD)/go/%,$(GO_SRC))
GO_RESP_BINS := $(BUILD)/go/redis_ping $(BUILD)/go/pool_client $(BUILD)/go/redis_session
STATIC_CLIENTS := $(BUILD)/static/reqresp $(BUILD)/static/seed_client $(BUILD)/static/fd_crowd \
                  $(BUILD)/static/dup_onto_range $(BUILD)/static/close_paths
GO_ENV = CGO_ENABLED=0 GOCACHE=$(abspath $(BUILD))/gocache GOPATH=$(abspath $(BUILD))/gopath \
         GOENV=off GOFLAGS= GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local

$(BUILD)/go/%: tests/go/%.go
	@mkdir -p $(@D)
	$(GO_ENV) go build -trimpath -o $@ $<

$(GO_RESP_BINS): $(BUILD)/go/%: tests/go/%.go $(GO_COMMON)
	@mkdir -p $(@D)
	$(GO_ENV) go build -trimpath -o $@ $^

# glibc's static getaddrinfo warns at link time (NSS); numeric addresses need no NSS.
$(BUILD)/static/%: tests/clients/%.c tests/clients/client.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $< 2>$@.log; rc=$$?; \
	    grep -v "statically linked applications requires at runtime\|in function .dial_tcp.:" $@.log >&2; \
	    rm -f $@.log; exit $$rc

supervise: all $(GO_BINS) $(STATIC_CLIENTS)
	HC_BUILD=$(abspath $(BUILD)) tests/supervise/run.sh

# Connections that carry state (issue 13): tests/session/run.sh starts real
# servers (redis with requirepass and an ACL user, MariaDB, aiosmtpd,
# PostgreSQL and nginx h2c behind an idle-closing socat relay) and runs real,
# unmodified clients (redis-cli, hiredis, redis-py, the mariadb CLI, PyMySQL,
# smtplib, psql, python3-h2, a static Go client under the supervisor), each
# without and with the library.
.PHONY: session
$(BUILD)/session/hiredis_session: tests/session/clients/hiredis_session.c tests/clients/client.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lhiredis

session: all $(BUILD)/session/hiredis_session $(BUILD)/go/redis_session
	HC_BUILD=$(abspath $(BUILD)) tests/session/run.sh

# Operations (issue 16): tests/ops, run like the integration tests.
.PHONY: ops
ops: all deb $(BUILD)/go/seed_client
	HC_BUILD=$(abspath $(BUILD)) HC_TEST_DIR=tests/ops tests/integration/run.sh

check: deps
	$(MAKE) all
	$(MAKE) unit unit-asan unit-tsan
	$(MAKE) integration
	$(MAKE) supervise
	$(MAKE) session
	$(MAKE) matrix
	$(MAKE) ops
	$(MAKE) race
	$(MAKE) chaos-short
	$(MAKE) integration-asan integration-tsan fuzz

demo: deps
	$(MAKE) all $(BUILD)/go/seed_client
	HC_BUILD=$(abspath $(BUILD)) tools/demo.sh

# make bench [ROWS="writes pingpong heal redis session wrk scale supervise"]: tools/bench.sh and
# tools/bench/row_*.sh.  bench-counts: only the deterministic rows (HC_BENCH_PART=counts).
# bench-readme: a full run, then its table into README.md (tools/bench/readme.py; BENCH_NOTE="..."
# adds a paragraph before it).
ROWS ?=
bench bench-counts:
	$(MAKE) deps DEPS="$(DEPS) $(BENCH_DEPS)"
	$(MAKE) all $(BENCH_BINS)
	HC_BUILD=$(abspath $(BUILD)) HC_BENCH_COMMAND="make $@$(if $(ROWS), ROWS=\"$(ROWS)\")" \
	    $(if $(filter bench-counts,$@),HC_BENCH_PART=counts) tools/bench.sh $(ROWS)

bench-readme: export BENCH_NOTE ?=
bench-readme:
	$(MAKE) bench ROWS="$(ROWS)"
	tools/bench/readme.py $(BUILD)/bench.md README.md

# The launcher is built again for the LIBDIR of this install, whatever `make` used.
install: $(BUILD)/libhalfclose.so $(LAUNCHER_SRC) $(LAUNCHER_HDR)
	$(call launcher-cc,$(BUILD)/halfclose.install,$(LIBDIR),$(PREFIX))
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 0644 $(BUILD)/libhalfclose.so $(DESTDIR)$(LIBDIR)/libhalfclose.so
	install -m 0755 $(BUILD)/halfclose.install $(DESTDIR)$(BINDIR)/halfclose
	install -m 0644 man/halfclose.1 $(DESTDIR)$(MANDIR)/man1/halfclose.1
	install -m 0644 man/libhalfclose.7 $(DESTDIR)$(MANDIR)/man7/libhalfclose.7

# The Debian package (tools/mkdeb.sh): the library in its own directory under
# the multiarch library directory, the launcher built for it, the man pages.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_LIBDIR = /usr/lib/$(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)/halfclose
DEB = $(BUILD)/halfclose_$(VERSION)_$(DEB_ARCH).deb
.PHONY: deb
deb: $(BUILD)/libhalfclose.so $(LAUNCHER_SRC) $(LAUNCHER_HDR) $(CORE_SRC) $(SHIM_HDR) man/halfclose.1 \
        man/libhalfclose.7 README.md tools/mkdeb.sh
	$(call launcher-cc,$(BUILD)/halfclose.deb,$(DEB_LIBDIR),/usr)
	tools/mkdeb.sh $(DEB) $(VERSION) $(DEB_ARCH) $(DEB_LIBDIR) $(BUILD)/halfclose.deb $(BUILD)/libhalfclose.so

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libhalfclose.so $(DESTDIR)$(BINDIR)/halfclose \
	    $(DESTDIR)$(MANDIR)/man1/halfclose.1 $(DESTDIR)$(MANDIR)/man7/libhalfclose.7

clean:
	rm -rf $(BUILD)
