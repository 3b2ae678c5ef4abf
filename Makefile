# keyleak: plain Makefile. `make` builds ./keyleak; see README.md for the rest.

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DESTDIR ?=
REPO    ?= .
BUILD   ?= build
PKGS    := libpcre2-8 libgit2 libcjson
DEBS    := libpcre2-dev libgit2-dev libcjson-dev pkg-config git

OPTFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wpointer-arith -Wvla -Wundef
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNINGS) -Iinclude -Isrc \
              $(PKG_CFLAGS) $(CFLAGS) $(SANITIZE)
ALL_LDFLAGS = $(LDFLAGS) $(SANITIZE) $(PKG_LIBS) -lpthread -lm

LIB_SRCS  := $(sort $(filter-out src/cli/% src/build/%,$(wildcard src/*/*.c)))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
RULE_JSON := $(sort $(wildcard rules/*.json))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/embedded_rules.o
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS   := include/keyleak.h src/internal.h $(wildcard src/*/*.h)

.PHONY: all run test unit install uninstall clean deps deps-check check fuzz bench

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
$(BUILD)/embed_rules: src/build/embed_rules.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -o $@ $<

$(BUILD)/embedded_rules.c: $(BUILD)/embed_rules $(RULE_JSON)
	$(BUILD)/embed_rules $(RULE_JSON) > $@.tmp && mv $@.tmp $@

$(BUILD)/embedded_rules.o: $(BUILD)/embedded_rules.c src/internal.h
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

deps-check:
	@pkg-config --exists $(PKGS) 2>/dev/null || $(MAKE) --no-print-directory deps

run: deps-check
	@$(MAKE) --no-print-directory all
	./keyleak audit $(REPO)

test: deps-check
	@$(MAKE) --no-print-directory all unit
	@sh tests/run.sh

install: keyleak
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 keyleak $(DESTDIR)$(BINDIR)/keyleak

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/keyleak

clean:
	rm -rf $(BUILD) keyleak
