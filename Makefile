# SPDX-License-Identifier: MIT
#
# Thin front end over the CMake presets (CMakePresets.json); build trees go
# to build/<preset>/. Quick start on a fresh machine:
#
#   make demo     install missing packages, build (release), run `corio demo`
#   make test     install missing packages, build (dev: ASan+UBSan), run tests
#
# After `make` (or `make demo`) the corio program is at build/corio (a
# symlink to build/release/tools/corio); DEMO_ARGS=--quick shortens the demo.
# Other targets: all (release build), tsan, fuzz, install PREFIX=..., clean,
# format, check-format. JOBS=n sets build parallelism; TEST_JOBS=n the number
# of test programs run at once (each one also forks 2 Criterion workers).

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= 2
PREFIX ?= /usr/local
CLANG_FORMAT ?= clang-format

# Every C file of ours (build/ holds none of them).
FORMAT_DIRS = include src tests examples bench fuzz tools
FORMAT_FILES = $(shell find $(wildcard $(FORMAT_DIRS)) -name '*.[ch]' | sort)

# The TSan of gcc 12 / LLVM 14 aborts at start ("unexpected memory mapping")
# when the kernel randomizes mmap with more than 28 bits (vm.mmap_rnd_bits,
# raised by some newer distributions); the TSan tests then run without ASLR.
TSAN_RUN = $(shell test "$$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || \
	echo 0)" -gt 28 && echo setarch $$(uname -m) -R)

# Configures (cheap when nothing changed) and builds one preset.
define build
	cmake --preset $(1)
	cmake --build --preset $(1) -j $(JOBS) $(2)
endef

.PHONY: all deps test demo tsan fuzz install clean format check-format

# build/corio: the CLI where the README says it is.
CORIO_LINK = ln -sfn release/tools/corio build/corio

all:
	$(call build,release)
	$(CORIO_LINK)

deps:
	scripts/install-deps

test: deps
	$(call build,dev)
	ctest --preset dev -j $(TEST_JOBS) --output-on-failure

demo: deps
	$(call build,release,--target corio_cli)
	$(CORIO_LINK)
	build/corio demo $(DEMO_ARGS)

tsan: deps
	$(call build,tsan)
	$(TSAN_RUN) ctest --preset tsan -j $(TEST_JOBS) --output-on-failure

fuzz: deps
	$(call build,fuzz)

install: all
	cmake --install build/release --prefix "$(PREFIX)"

clean:
	rm -rf build

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

check-format:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)
