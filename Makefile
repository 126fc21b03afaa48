# SPDX-License-Identifier: MIT
# forkless - one non-recursive GNU Makefile.
#
#   make               library, tool, tests, helpers in build/
#   make check         build and run every test
#   make check SAN=address,undefined   the same with sanitizers, in build-san/
#   make check M32=1   the same as 32-bit x86 (gcc -m32; Debian: gcc-multilib), in build-m32/
#   make check CC=clang BUILD=build-clang   another compiler, in a folder of its own
#   make valgrind      the test suite under valgrind
#   make bench         build and run the side-by-side benchmark
#   make soak          100 000 spawns per front end, then flat fds/RSS/children (SOAK_N=)
#   make install       PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
BINDIR    ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/forkless
PKGDIR    ?= $(LIBDIR)/pkgconfig

CC        ?= cc
OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ALLCFLAGS := -std=gnu11 $(WARN) -Iinclude -Isrc -MMD -MP $(CFLAGS) \
             -DFL_SERVER_PATH='"$(LIBEXECDIR)/forkless/forkless-server"' \
             -DFL_WARM_PATH='"$(LIBEXECDIR)/forkless/libforkless-warm.so"'

ifdef SAN
B         := build-san
SANFLAGS  := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B         := build
SANFLAGS  :=
endif
# 32-bit x86 on an x86-64 host: every compile and link gets -m32.
ifdef M32
override CC := $(CC) -m32
B         := $(B)-m32
endif
ifdef BUILD
B         := $(BUILD)
endif

LIB_SRC   := src/handle.c src/builder.c src/config.c src/run.c src/process.c src/launch_vfork.c \
             src/launch_server.c src/wire.c src/posix.c src/posix_actions.c src/template.c \
             src/native.c
CHILD_SRC := src/child.c
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/child.o $(B)/obj/sys_clone.o
PIC_OBJ   := $(LIB_OBJ:.o=.pic.o)

SONAME    := libforkless.so.$(SOVERSION)
SO        := $(B)/libforkless.so.$(VERSION)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_OBJ  := $(TEST_SRC:tests/%.c=$(B)/obj/tests/%.o) $(B)/obj/tests/main.o $(B)/obj/tests/seccomp.o
BENCH_SRC := bench/bench.c bench/methods.c bench/measure.c bench/report.c

all: $(B)/libforkless.a $(B)/libforkless.so $(B)/libforkless-preload.so $(B)/forkless $(B)/forkless-server \
     $(B)/libforkless-warm.so \
     $(B)/tests/forkless-test $(B)/tests/posix-conf $(B)/true-static $(B)/bench-shim \
     $(B)/bench-reserve $(B)/tests/libnss_flslow.so.2 $(B)/soak forkless.pc

# The child executor runs between clone and exec: no sanitizer runtime there,
# and no loop turned into a libc call.
CHILD_FLAGS := -fno-sanitize=all -fno-stack-protector
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
CHILD_FLAGS += -fno-builtin # clang's loop idiom pass honours it (no memset/memcpy calls)
else
CHILD_FLAGS += -fno-tree-loop-distribute-patterns
endif

$(B)/obj/child.o: $(CHILD_SRC)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -fvisibility=hidden $(CHILD_FLAGS) -c -o $@ $<
$(B)/obj/child.pic.o: $(CHILD_SRC)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -fvisibility=hidden -fPIC $(CHILD_FLAGS) -c -o $@ $<
# CFLAGS too: -fcf-protection there marks the stub for CET (see the file).
$(B)/obj/sys_clone.o $(B)/obj/sys_clone.pic.o: src/sys_clone.S
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -fvisibility=hidden $(SANFLAGS) -c -o $@ $<
$(B)/obj/%.pic.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -fvisibility=hidden -fPIC $(SANFLAGS) -c -o $@ $<

$(B)/libforkless.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(SO): $(PIC_OBJ) src/libforkless.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libforkless.map \
	      -Wl,-z,defs -Wl,-z,now -Wl,-z,nodelete $(SANFLAGS) -o $@ $(PIC_OBJ) -lpthread
$(B)/libforkless.so: $(SO)
	ln -sf $(notdir $(SO)) $(B)/$(SONAME) && ln -sf $(SONAME) $@

# The LD_PRELOAD shim: the library's objects plus the libc names, built
# without sanitizers (it is loaded into programs that have no ASan runtime).
SHIM_OBJ := $(LIB_SRC:src/%.c=$(B)/obj/shim/%.o) $(B)/obj/shim/preload.o \
	    $(B)/obj/child.pic.o $(B)/obj/sys_clone.pic.o
$(B)/obj/shim/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -fvisibility=hidden -fPIC -c -o $@ $<
# Its version script depends on the architecture (src/preload_compat.h).
$(B)/preload.map: src/preload.map src/preload_compat.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -E -P -x c -Isrc -o $@ src/preload.map
$(B)/libforkless-preload.so: $(SHIM_OBJ) $(B)/preload.map
	$(CC) -shared -Wl,--version-script=$(B)/preload.map -Wl,-z,defs -Wl,-z,now -Wl,-z,nodelete \
	      -o $@ $(SHIM_OBJ) -lpthread

# The spawn server (server.c): a program of its own, with the one child
# executor; the library finds it beside itself, at $(LIBEXECDIR)/forkless,
# or where FORKLESS_SERVER says.
$(B)/forkless-server: src/server.c $(B)/obj/wire.o $(B)/obj/child.o $(B)/obj/sys_clone.o
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ src/server.c $(B)/obj/wire.o $(B)/obj/child.o $(B)/obj/sys_clone.o

# The warm agent (warm.c): preloaded into a warm template's program, it
# runs the server's loop (server.c built with FL__WARM) there.  No
# sanitizer (the program has no runtime for it), no stack protector (a
# copy draws its canary anew), only __libc_start_main exported.
WARM_FLAGS := $(ALLCFLAGS) -fPIC -fvisibility=hidden $(CHILD_FLAGS)
$(B)/obj/warm/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(WARM_FLAGS) -DFL__WARM -c -o $@ $<
$(B)/libforkless-warm.so: $(B)/obj/warm/warm.o $(B)/obj/warm/server.o $(B)/obj/warm/wire.o \
			  $(B)/obj/child.pic.o $(B)/obj/sys_clone.pic.o
	$(CC) -shared -Wl,-z,defs -Wl,-z,now -o $@ $^ -ldl -lpthread

$(B)/forkless: tools/forkless.c $(BENCH_SRC) bench/bench.h $(B)/libforkless.a
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ tools/forkless.c $(BENCH_SRC) $(B)/libforkless.a -lpthread

# The bench's drivers: a method in a process of its own (bench/driver.c).
# bench-shim is not linked with forkless: the bench starts it with
# LD_PRELOAD=libforkless-preload.so, as any program is run under the shim.
$(B)/bench-shim: bench/driver.c bench/measure.c bench/bench.h
	$(CC) $(ALLCFLAGS) -DDRIVER_SHIM -o $@ bench/driver.c bench/measure.c -lpthread
$(B)/bench-reserve: bench/driver.c bench/measure.c bench/bench.h $(B)/libforkless.a
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -DDRIVER_RESERVE -o $@ bench/driver.c bench/measure.c \
	      $(B)/libforkless.a -lpthread

$(B)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -c -o $@ $<
# Tests link the shared library, as users do.
$(B)/tests/forkless-test: $(TEST_OBJ) $(B)/libforkless.so
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $(TEST_OBJ) -L$(B) -lforkless -Wl,-rpath,'$$ORIGIN/..' -lpthread

# An NSS module whose lookup blocks until released (test_embed.c).
$(B)/tests/libnss_flslow.so.2: tests/nss_flslow.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -shared -fPIC -Wl,-soname,libnss_flslow.so.2 -o $@ $<

# The POSIX conformance program: one scenario per run, observations on
# stdout, against glibc (alone or under the shim) or fl_posix_spawn.
$(B)/tests/posix-conf: tests/posix_conf.c $(B)/libforkless.so
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ $< -L$(B) -lforkless -Wl,-rpath,'$$ORIGIN/..' -lpthread

# The soak driver links the shared library, as users do.
$(B)/soak: tools/soak.c $(B)/libforkless.so
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ $< -L$(B) -lforkless -Wl,-rpath,'$$ORIGIN' -ldl -lpthread

$(B)/true-static: bench/true.c.in
	@mkdir -p $(@D)
	$(CC) -O2 -static -x c -o $@ $<

PC_SED := sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|'
forkless.pc: forkless.pc.in Makefile
	$(PC_SED) $< > $@

# A kernel without IA32 emulation cannot run the M32=1 build: the build and
# the symbol check still run, the suite is reported as skipped.
check: all
	@scripts/deps.sh check
	@scripts/check-symbols.sh $(B)/libforkless.so
	@scripts/check-license.sh
	@if ! $(B)/true-static 2>/dev/null; then \
		echo "$(B): this kernel cannot run these programs (32-bit x86 needs IA32 emulation)"; \
		echo "0 passed, 0 failed, 1 skipped"; exit 0; fi; \
	echo $(B)/tests/forkless-test; $(B)/tests/forkless-test

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
	    --errors-for-leak-kinds=definite --trace-children=no
valgrind: all
	@scripts/deps.sh valgrind
	FORKLESS_TEST_VALGRIND=1 $(VALGRIND) $(B)/tests/forkless-test

# The main job: the side-by-side benchmark, quick, with plots.
BENCH_OUT := $(B)/bench
bench: all
	@scripts/deps.sh bench
	@mkdir -p $(BENCH_OUT)
	$(B)/forkless bench --quick --json $(BENCH_OUT)/results.json --plot $(BENCH_OUT)
	@echo "results: $(BENCH_OUT)/results.json, plots: $(BENCH_OUT)/*.png" 

# The native path: Debian 12's linux-source-6.1 with kernel/patches,
# built in build-kernel/ (kernel/README.md); kernel-check boots it in QEMU
# and runs the tests there.
kernel:
	kernel/build.sh
kernel-check: kernel
	kernel/check.sh

# SOAK_N=10000 make soak: a shorter run (CI's).
soak: all
	$(B)/soak $(if $(SOAK_N),-n $(SOAK_N))

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	install -m 644 include/forkless.h include/forkless_spawn_template.h $(DESTDIR)$(INCDIR)/
	install -m 755 $(SO) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/libforkless-preload.so $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libforkless.so
	install -m 644 $(B)/libforkless.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/forkless $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(LIBEXECDIR)/forkless
	install -m 755 $(B)/forkless-server $(DESTDIR)$(LIBEXECDIR)/forkless/
	install -m 644 $(B)/libforkless-warm.so $(DESTDIR)$(LIBEXECDIR)/forkless/
	$(PC_SED) forkless.pc.in > $(DESTDIR)$(PKGDIR)/forkless.pc
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 LICENSE README.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build build-san build-m32 build-san-m32 forkless.pc

.PHONY: all check valgrind bench soak install clean kernel kernel-check
-include $(wildcard $(B)/obj/*.d $(B)/obj/tests/*.d $(B)/obj/shim/*.d)
