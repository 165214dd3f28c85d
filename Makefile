# clipcrawl — one binary, build/clipcrawl. See README.md for the targets.
CC      ?= gcc
CXX     ?= g++
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
PY      := /usr/bin/python3

PKGS     := lmdb libzstd libxxhash
CPPFLAGS += -I. -D_GNU_SOURCE -I/usr/include/libxml2
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -pthread -fno-strict-aliasing -fopenmp
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -pthread
# The trainer: OpenMP (-fopenmp) and BLAS (OpenBLAS, cblas.h).
# -lcld2 is C++ (filters/lang_cld2.cc is our C shim over it), hence -lstdc++.
LDLIBS   += -lopenblas -fopenmp -llbfgs -llmdb -lzstd -lxxhash -ljpeg -lpng -lwebp -lxml2 -lcurl -ljansson -lbz2 -lz -lcld2 -lstdc++ -lm -pthread

LIB_SRC  := $(wildcard common/*.c) $(wildcard shards/*.c) $(wildcard filters/*.c) \
            $(wildcard query_lists/*.c) $(wildcard crawler/*.c) $(wildcard trainer/*.c)
LIB_CXX  := $(wildcard filters/*.cc)
CLI_SRC  := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
# Helper programs the tests, demo and benchmarks run (each a single .c with a main).
TOOL_SRC := $(wildcard tests/fixtures/*.c) $(wildcard tests/fault/*.c) $(wildcard bench/*.c)
# Code shared by those helpers (the fixture web's renderer and site writer), linked into each.
FIX_SRC  := $(wildcard tests/fixtures/web/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_CXX:%.cc=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
FIX_OBJ  := $(FIX_SRC:%.c=$(BUILD)/obj/%.o)
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOLS    := $(foreach s,$(TOOL_SRC),$(BUILD)/tools/$(basename $(notdir $(s))))
LIBA     := $(BUILD)/libclipcrawl.a
BIN      := $(BUILD)/clipcrawl

.PHONY: all deps test unit integration check lint format fuzz fault bench demo install clean
.DEFAULT_GOAL := all

all: $(BIN) $(TOOLS)

deps:
	@bash ops/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(LIBA) -lcmocka $(LDLIBS)

define TOOL_RULE
$(BUILD)/tools/$(basename $(notdir $(1))): $(1) $(FIX_OBJ) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) -MMD -MP -MF $$@.d -o $$@ $$< $(FIX_OBJ) $(LIBA) $$(LDLIBS)
endef
$(foreach s,$(TOOL_SRC),$(eval $(call TOOL_RULE,$(s))))

# Unit tests (cmocka) then integration tests (real binary, real files, Python reader).
test: deps
	@$(MAKE) --no-print-directory all $(UNITS)
	@bash tests/run.sh $(BUILD)

unit: all $(UNITS)
	@bash tests/run.sh $(BUILD) unit

integration: all
	@bash tests/run.sh $(BUILD) integration

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own build folder.
check: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  CXXFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" all \
	  $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/run.sh build-asan

lint:
	@bash ops/lint.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

# libFuzzer targets; FUZZ_SECONDS per target (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# Long crash campaigns (kill -9 at random points): the shard writer (many rounds), then
# `clipcrawl crawl` (FAULT_KILLS kills and restarts, compared with a clean crawl).
FAULT_ROUNDS ?= 300
FAULT_KILLS ?= 20
fault: all
	@bash tests/fault/crash_campaign.sh $(BUILD) $(FAULT_ROUNDS)
	@bash tests/fault/crawl_campaign.sh $(BUILD) $(FAULT_KILLS)

bench:
	@bash ops/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@bash ops/demo.sh $(BUILD)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/clipcrawl/python
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/clipcrawl
	install -m 0644 ops/python/clipcrawl_shards.py $(DESTDIR)$(PREFIX)/share/clipcrawl/python/
	install -d $(DESTDIR)$(PREFIX)/share/doc/clipcrawl
	install -m 0644 README.md docs/FORMAT.md docs/FILTERS.md docs/QUERIES.md $(DESTDIR)$(PREFIX)/share/doc/clipcrawl/

clean:
	rm -rf build build-asan build-fuzz

# Header dependencies of every object, test and tool (written by -MMD as they are built).
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FIX_OBJ:.o=.d) $(UNITS:=.d) $(TOOLS:=.d)
