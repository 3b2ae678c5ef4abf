# keyleak: plain Makefile. `make` builds ./keyleak; see README.md for the rest.

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DESTDIR ?=
REPO    ?= .
BUILD   ?= build
PKGS    := libpcre2-8 libgit2 libcjson zlib libcurl libarchive
# One list for `make deps` and the CI templates (ci/build-deps.txt).
DEBS    := $(shell sed -e 's/\#.*//' $(dir $(lastword $(MAKEFILE_LIST)))ci/build-deps.txt)

OPTFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wpointer-arith -Wvla -Wundef
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: src/util/http.c loads it (dlopen) only for
# --verify, `keyleak repos` / `audit --repos-from` (and `keyleak version`),
# sparing every other run its start-up cost.
PKG_LIBS   := $(filter-out -lcurl,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
# SARIF's informationUri, only when a build names keyleak's home.
INFORMATION_URI ?=
URI_FLAGS := $(if $(INFORMATION_URI),-DKL_INFORMATION_URI='"$(INFORMATION_URI)"')
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNINGS) -Iinclude -Isrc \
              $(PKG_CFLAGS) $(URI_FLAGS) $(CPPFLAGS) $(CFLAGS) $(SANITIZE)
ALL_LDFLAGS = $(LDFLAGS) $(SANITIZE) $(PKG_LIBS) -lpthread -lm -ldl

LIB_SRCS  := $(sort $(filter-out src/cli/% src/build/%,$(wildcard src/*/*.c src/*/*/*.c)))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
RULE_JSON := $(sort $(wildcard rules/*.json))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/embedded_rules.o \
             $(BUILD)/embedded_hook.o $(BUILD)/embedded_html.o
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS   := include/keyleak.h src/internal.h $(wildcard src/*/*.h src/*/*/*.h)

.PHONY: all run test unit install uninstall clean deps deps-check print-deps check fuzz bench deb deb-deps

all: keyleak

keyleak: $(CLI_OBJS) $(BUILD)/libkeyleak.a
	$(CC) -o $@ $(CLI_OBJS) $(BUILD)/libkeyleak.a $(ALL_LDFLAGS)

$(BUILD)/libkeyleak.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The rule files are compiled into the binary so it needs nothing beside it.
$(BUILD)/embed_files: src/build/embed_files.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -o $@ $<

$(BUILD)/embedded_rules.c: $(BUILD)/embed_files $(RULE_JSON)
	$(BUILD)/embed_files kl_embedded_rules $(RULE_JSON) > $@.tmp && mv $@.tmp $@

HOOK_FILES := hooks/pre-commit hooks/pre-push hooks/pre-receive
$(BUILD)/embedded_hook.c: $(BUILD)/embed_files $(HOOK_FILES)
	$(BUILD)/embed_files kl_embedded_hook $(HOOK_FILES) > $@.tmp && mv $@.tmp $@

# The HTML report's stylesheet and script (src/report/html.c inlines them).
HTML_FILES := src/report/html/report.css src/report/html/report.js
$(BUILD)/embedded_html.c: $(BUILD)/embed_files $(HTML_FILES)
	$(BUILD)/embed_files kl_embedded_html $(HTML_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/embedded_%.o: $(BUILD)/embedded_%.c src/internal.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libkeyleak.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libkeyleak.a $(ALL_LDFLAGS)

unit: $(UNIT_BINS)

# Install the Debian packages keyleak builds against.
deps:
	@echo "keyleak: installing build dependencies: $(DEBS)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBS)

print-deps:
	@echo $(DEBS)

deps-check:
	@pkg-config --exists $(PKGS) 2>/dev/null || $(MAKE) --no-print-directory deps

run: deps-check
	@$(MAKE) --no-print-directory all
	./keyleak audit $(REPO)

test: deps-check
	@$(MAKE) --no-print-directory all unit
	@sh tests/run.sh

# The man page, completions, hook scripts and CI templates go under
# $(DATADIR); INSTALL_BIN installs another build of the binary (make deb).
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
INSTALL_BIN ?= keyleak
# Every hook script and CI template, including ones added later.
SHARE_FILES := $(sort $(wildcard hooks/* ci/*))

install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/keyleak
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	  $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
	  $(DESTDIR)$(DATADIR)/keyleak/hooks $(DESTDIR)$(DATADIR)/keyleak/ci
	install -m 0644 doc/keyleak.1 $(DESTDIR)$(MANDIR)/man1/keyleak.1
	install -m 0644 completions/keyleak.bash $(DESTDIR)$(BASHCOMPDIR)/keyleak
	install -m 0644 completions/_keyleak $(DESTDIR)$(ZSHCOMPDIR)/_keyleak
	install -m 0644 completions/keyleak.fish $(DESTDIR)$(FISHCOMPDIR)/keyleak.fish
	for f in $(SHARE_FILES); do \
	  mode=0644; [ -x "$$f" ] && mode=0755; \
	  install -m $$mode "$$f" $(DESTDIR)$(DATADIR)/keyleak/$$f || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/keyleak $(DESTDIR)$(MANDIR)/man1/keyleak.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/keyleak $(DESTDIR)$(ZSHCOMPDIR)/_keyleak \
	  $(DESTDIR)$(FISHCOMPDIR)/keyleak.fish
	rm -f $(SHARE_FILES:%=$(DESTDIR)$(DATADIR)/keyleak/%)
	-rmdir $(DESTDIR)$(DATADIR)/keyleak/hooks $(DESTDIR)$(DATADIR)/keyleak/ci \
	  $(DESTDIR)$(DATADIR)/keyleak 2>/dev/null

clean:
	rm -rf $(BUILD) keyleak

# ------------------------------------------------ sanitizers and fuzzing
# `make check`: unit and end-to-end tests against a build with ASan, UBSan
# and LeakSanitizer in its own directory; any sanitizer report fails it
# (reports go to files, so one inside a test that ignores stderr still
# counts). `make fuzz`: libFuzzer targets in tests/fuzz, FUZZ_SECONDS each.
CHECK_BUILD    ?= build/asan
# clang when present: gcc's UBSan ignores log_path next to ASan.
CHECK_CC       ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
CHECK_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=all
CHECK_REPORTS  := $(CHECK_BUILD)/sanitizer-reports
CHECK_ENV      := ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_string_checks=1:fast_unwind_on_malloc=0:log_path=$(CURDIR)/$(CHECK_REPORTS)/asan \
                  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/$(CHECK_REPORTS)/ubsan \
                  LSAN_OPTIONS=log_path=$(CURDIR)/$(CHECK_REPORTS)/lsan:suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
FUZZ_BUILD     ?= build/fuzz
FUZZ_CC        ?= clang
FUZZ_SECONDS   ?= 60
FUZZ_FLAGS     ?= -timeout=20 -rss_limit_mb=2048 -max_len=65536
FUZZ_SANITIZE  := -fsanitize=fuzzer-no-link,address,undefined \
                  -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_TARGETS   := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))

# The CLI linked inside a build directory (check and valgrind use it).
$(BUILD)/keyleak: $(CLI_OBJS) $(BUILD)/libkeyleak.a
	$(CC) -o $@ $(CLI_OBJS) $(BUILD)/libkeyleak.a $(ALL_LDFLAGS)

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(BUILD)/libkeyleak.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
	  $(BUILD)/libkeyleak.a $(ALL_LDFLAGS)

check: deps-check
	@$(MAKE) --no-print-directory BUILD=$(CHECK_BUILD) CC=$(CHECK_CC) \
	  OPTFLAGS="-O1 -g" SANITIZE="$(CHECK_SANITIZE)" $(CHECK_BUILD)/keyleak unit
	@rm -rf $(CHECK_REPORTS) && mkdir -p -m 1777 $(CHECK_REPORTS)
	@$(CHECK_ENV) BUILD=$(CHECK_BUILD) KEYLEAK=$(CURDIR)/$(CHECK_BUILD)/keyleak \
	  sh tests/run.sh; status=$$?; \
	if [ -n "$$(ls -A $(CHECK_REPORTS))" ]; then \
	  echo "check: sanitizer reports in $(CHECK_REPORTS):"; \
	  head -n 40 $(CHECK_REPORTS)/*; exit 1; fi; \
	exit $$status

# The main end-to-end cases under valgrind (memcheck, full leak check).
.PHONY: valgrind
valgrind: deps-check
	@$(MAKE) --no-print-directory all
	@python3 tests/valgrind.py

fuzz: deps-check
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	  OPTFLAGS="-O1 -g" SANITIZE="$(FUZZ_SANITIZE)" \
	  $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  if ! $(FUZZ_BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	      -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/$$t- \
	      $(FUZZ_FLAGS) $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
	      >$(FUZZ_BUILD)/$$t.log 2>&1; then \
	    tail -n 60 $(FUZZ_BUILD)/$$t.log; \
	    echo "fuzz: $$t FAILED (log: $(FUZZ_BUILD)/$$t.log)"; exit 1; fi; \
	  grep -E '^#[0-9]+.*(DONE|pulse|NEW)' $(FUZZ_BUILD)/$$t.log | tail -n 1; \
	  grep -E 'stat::number_of_executed_units' $(FUZZ_BUILD)/$$t.log; \
	done

# Benchmark against grep, git and the peers (bench/bench.py says how). Corpora
# are built once into BENCH_DIR; BENCH_TREE= / BENCH_REPO= use your own.
BENCH_DIR ?= /tmp/keyleak-bench
bench: all
	@BENCH_DIR=$(BENCH_DIR) sh bench/setup.sh
	@BENCH_DIR=$(BENCH_DIR) KEYLEAK=$(CURDIR)/keyleak python3 bench/bench.py

# Re-check the hand-labelled findings on real repositories (tests/accuracy):
# REPOS=DIR holds them (owner+name/repo, owner/name or name); skips if absent.
.PHONY: accuracy
accuracy: all
	@python3 tests/accuracy/check.py --repos "$(REPOS)" --keyleak $(CURDIR)/keyleak

# ------------------------------------------------------- Debian package
# `make deb`: keyleak_<version>_<arch>.deb (and its -dbgsym) in DEB_DIR,
# built by dpkg-buildpackage from debian/ in a copy of the files git
# tracks (plus new, unignored ones), so the tree and its build/ are left
# alone. Needs debhelper and the build dependencies (`make deb-deps`).
DEB_DIR  ?= dist
DEB_DEPS := build-essential debhelper fakeroot $(DEBS)

deb-deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	  --no-install-recommends $(DEB_DEPS)

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
	  { echo "make deb: needs dpkg-dev and debhelper (make deb-deps)"; exit 2; }
	rm -rf $(DEB_DIR)/src && mkdir -p $(DEB_DIR)/src/keyleak
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard | \
	    tar --null -T - --ignore-failed-read -cf - 2>/dev/null; \
	else \
	  tar --exclude=./build --exclude=./$(DEB_DIR) --exclude=./keyleak -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src/keyleak
	cd $(DEB_DIR)/src/keyleak && \
	  DEB_BUILD_OPTIONS="parallel=$$(nproc) $(DEB_BUILD_OPTIONS)" \
	  dpkg-buildpackage -us -uc -b
	mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/
	rm -rf $(DEB_DIR)/src
	@ls -1 $(DEB_DIR)/*.deb
