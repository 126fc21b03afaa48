/* SPDX-License-Identifier: MIT */
/*
 * test_abi.c - the binary interface: one layout of the argument structs on
 * every ABI, the kernel's size rules for extensible structs, exports that
 * are versioned fl_* names only, a guard page of the real page size, and
 * the clone stub's CET property.
 *
 * The layout tests run on every build, -m32 included (make check M32=1):
 * the sizes and offsets must be the x86-64 ones there too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <forkless.h>
#include <forkless_spawn_template.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* ---- layouts ------------------------------------------------------------ */

TEST(abi_struct_layouts_are_those_of_x86_64)
{
	ASSERT_EQ(sizeof(struct fl_spawn_args), 64);
	ASSERT_EQ(_Alignof(struct fl_spawn_args), 8);
	ASSERT_EQ(offsetof(struct fl_spawn_args, path), 8);
	ASSERT_EQ(offsetof(struct fl_spawn_args, argv), 16);
	ASSERT_EQ(offsetof(struct fl_spawn_args, envp), 24);
	ASSERT_EQ(offsetof(struct fl_spawn_args, actions), 32);
	ASSERT_EQ(offsetof(struct fl_spawn_args, nactions), 40);
	ASSERT_EQ(offsetof(struct fl_spawn_args, error), 48);
	ASSERT_EQ(offsetof(struct fl_spawn_args, pidfd), 56);
	ASSERT_EQ(FL_SPAWN_ARGS_SIZE_VER0, 56);
	ASSERT_EQ(FL_SPAWN_ARGS_SIZE_VER1, 64);

	ASSERT_EQ(sizeof(struct fl_template_args), 56);
	ASSERT_EQ(_Alignof(struct fl_template_args), 8);
	ASSERT_EQ(offsetof(struct fl_template_args, filename), 16);
	ASSERT_EQ(offsetof(struct fl_template_args, config_fd), 24);
	ASSERT_EQ(offsetof(struct fl_template_args, actions), 32);
	ASSERT_EQ(offsetof(struct fl_template_args, nactions), 40);
	ASSERT_EQ(offsetof(struct fl_template_args, error), 48);
	ASSERT_EQ(FL_TEMPLATE_ARGS_SIZE_VER0, 56);

	ASSERT_EQ(sizeof(struct fl_action), 24);
	ASSERT_EQ(_Alignof(struct fl_action), 8);
	ASSERT_EQ(sizeof(struct fl_open), 32);
	ASSERT_EQ(offsetof(struct fl_open, flags), 8);
	ASSERT_EQ(sizeof(struct fl_error), 12);

	ASSERT_EQ(sizeof(struct spawn_template_create_args), 72);
	ASSERT_EQ(sizeof(struct spawn_template_spawn_args), 80);
	ASSERT_EQ(_Alignof(struct spawn_template_spawn_args), 8);
	ASSERT_EQ(sizeof(struct spawn_template_action), 24);
	ASSERT_EQ(sizeof(struct spawn_template_open), 32);
	ASSERT_EQ(sizeof(struct spawn_template_sigset), 16);

	/* an array of structs after a 4-byte field: the slot stays 8-aligned */
	struct {
		uint32_t x;
		struct fl_spawn_args a;
	} s;
	ASSERT_EQ(offsetof(__typeof__(s), a), 8);
}

/* A pointer slot is also a 64-bit field: code that fills it the kernel's
 * way, (uint64_t)(uintptr_t)p, runs as code that sets the pointer. */
TEST(abi_pointer_slots_take_u64_values)
{
	char *argv[] = { "true", NULL };
	struct fl_error e = { -1, -1, -2 };
	struct fl_spawn_args a;
	int st;

	memset(&a, 0xff, sizeof(a)); /* the u64 stores must cover the whole slot */
	a.flags = 0;
	a.path_u64 = (uint64_t)(uintptr_t)"/nonexistent-forkless/prog";
	a.argv_u64 = (uint64_t)(uintptr_t)argv;
	a.envp_u64 = 0;
	a.actions_u64 = 0;
	a.nactions = 0;
	a.error_u64 = (uint64_t)(uintptr_t)&e;
	a.pidfd_u64 = 0;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -ENOENT, FL_STAGE_EXEC);
	close(fd);

	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	a.path_u64 = (uint64_t)(uintptr_t)"/bin/true";
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
}

/* ---- sizes: the kernel's rule --------------------------------------------- */

/*
 * n bytes of args at the very end of a readable page that is followed by
 * an inaccessible one, as r1_huge_size has it: reading past them faults.
 */
struct edge {
	char *map;
	size_t len;
};

static void *edge_alloc(struct edge *g, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	g->len = 2 * pg;
	g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(g->map != MAP_FAILED);
	ASSERT_EQ(mprotect(g->map + pg, pg, PROT_NONE), 0);
	memset(g->map + pg - n, 0, n);
	return g->map + pg - n;
}

/* A size above the page size is -E2BIG before anything is read: neither
 * the bytes beyond the struct nor its error pointer. */
TEST(abi_size_above_a_page_is_e2big_unread)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *argv[] = { "true", NULL };
	struct fl_error e = { -1, -1, -2 };
	struct edge g1, g2, g3;
	struct fl_spawn_args *a = edge_alloc(&g1, sizeof(*a));
	struct fl_spawn_args *ts = edge_alloc(&g2, sizeof(*ts));
	struct fl_template_args *ta = edge_alloc(&g3, sizeof(*ta));

	a->path = "/bin/true";
	a->argv = argv;
	a->error = &e;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, a, (size_t)1 << 20), -E2BIG);
	close(fd);
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, a, pg + 1), -E2BIG);
	close(fd);
	ASSERT_EQ(e.err, -1); /* not written: the struct was not read */

	ta->execfd = -1;
	ta->filename = "/bin/true";
	ta->config_fd = -1;
	ta->error = &e;
	ASSERT_EQ(fl_spawn_template_create(ta, (size_t)1 << 20), -E2BIG);
	ASSERT_EQ(fl_spawn_template_create(ta, SIZE_MAX), -E2BIG);
	ASSERT_EQ(e.err, -1);

	ta->flags = 0;
	int tfd = fl_spawn_template_create(ta, sizeof(*ta));
	ASSERT_GE(tfd, 0);
	ts->argv = argv;
	ts->error = &e;
	ASSERT_EQ(fl_spawn_template_spawn(tfd, ts, (size_t)1 << 20), -E2BIG);
	ASSERT_EQ(e.err, 0); /* from the create above: this call left it alone */
	close(tfd);
	munmap(g1.map, g1.len);
	munmap(g2.map, g2.len);
	munmap(g3.map, g3.len);
}

/* Up to a page, a larger struct with a zero tail is accepted. */
TEST(abi_size_of_a_page_with_zero_tail_runs)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *argv[] = { "true", NULL };
	struct edge g;
	struct fl_spawn_args *a = edge_alloc(&g, pg);
	int st;

	a->path = "/bin/true";
	a->argv = argv;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	int pid = fl_pidfd_spawn_run(fd, a, pg);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
	g.map[2 * pg - pg - 1] = 1; /* the last byte of the page */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, a, pg), -E2BIG);
	close(fd);
	munmap(g.map, g.len);
}

/* A size below VER0 is -EINVAL, and the error pointer (beyond that size)
 * is left alone; NULL args with size 0 is "no overrides". */
TEST(abi_size_below_ver0_is_einval)
{
	char *argv[] = { "true", NULL };
	struct fl_error e = { -1, -1, -2 };
	struct fl_spawn_args a = { .path = "/bin/true", .argv = argv, .error = &e };
	struct fl_template_args t = { .execfd = -1, .filename = "/bin/true", .config_fd = -1,
				      .error = &e };
	static const size_t sizes[] = { 0, 1, 8, FL_SPAWN_ARGS_SIZE_VER0 - 8,
					FL_SPAWN_ARGS_SIZE_VER0 - 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizes[i]), -EINVAL);
		close(fd);
		ASSERT_EQ(fl_spawn_template_create(&t, sizes[i]), -EINVAL);
	}
	ASSERT_EQ(e.err, -1);
	int tfd = fl_spawn_template_create(&t, sizeof(t));
	ASSERT_GE(tfd, 0);
	ASSERT_EQ(fl_spawn_template_spawn(tfd, &a, 8), -EINVAL);
	close(tfd);

	int st, fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_set_path(fd, "/bin/true"), 0);
	ASSERT_EQ(fl_pidfd_set_argv(fd, argv), 0);
	int pid = fl_pidfd_spawn_run(fd, NULL, 0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, NULL, sizeof(a)), -EFAULT);
	close(fd);
}

/* ---- exports ---------------------------------------------------------------- */

static int run_script(const char *script, const char *arg, char **out)
{
	char *argv[] = { "sh", (char *)script, (char *)arg, NULL };
	int st = fl_test_run_capture("sh", argv, out);
	ASSERT_GE(st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* scripts/check-symbols.sh passes the library and fails the preload shim
 * (which exports libc's names on purpose): it can tell the two apart. */
TEST(abi_exports_are_versioned_fl_names)
{
	char script[4200], so[4200], *out = NULL;

	snprintf(script, sizeof(script), "%s/scripts/check-symbols.sh", fl_test_source_tree());
	if (access(script, R_OK) != 0)
		SKIP("no scripts/check-symbols.sh in the source tree");
	snprintf(so, sizeof(so), "%s/libforkless.so", fl_test_builddir());
	int r = run_script(script, so, &out);
	if (r == 2)
		SKIP("check-symbols.sh: no readelf (binutils)");
	if (r != 0)
		fl_test_fail(__FILE__, __LINE__, "check-symbols.sh %s: exit %d:\n%s", so, r, out);
	free(out);
	snprintf(so, sizeof(so), "%s/libforkless-preload.so", fl_test_builddir());
	ASSERT_EQ(run_script(script, so, &out), 1);
	ASSERT_TRUE(strstr(out, "posix_spawn") != NULL);
	free(out);
}

/* ---- guard pages ------------------------------------------------------------- */

/*
 * The spawning thread's child stack: a guard of one page (the system's page
 * size, whatever it is) below a stack of the full 64 KiB, in one mapping.
 * A guard of a fixed 4096 bytes would be a whole 64 KiB page where pages
 * are that large, and leave the stack nothing.
 */
TEST(abi_child_stack_guard_is_one_real_page)
{
	unsigned long pg = (unsigned long)sysconf(_SC_PAGESIZE);
	char *argv[] = { "true", NULL }, line[512];
	unsigned long prev_end = 0, prev_len = 0;
	int prev_guard = 0, found = 0;

	/* the vfork launcher's stack: user space's (the native path has none) */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", "false", 0), 0);
	struct fl_spawn_args sa = { .path = "/bin/true", .argv = argv };
	pid_t pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(fd);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	FILE *f = fopen("/proc/self/maps", "re");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
			continue;
		/* a rw mapping of 64 KiB or more (a neighbour may merge) right above the guard */
		if (prev_guard && prev_end == lo && prev_len == pg && hi - lo >= 64 * 1024 &&
		    !strncmp(perm, "rw", 2))
			found = 1;
		prev_guard = !strncmp(perm, "---p", 4);
		prev_end = hi;
		prev_len = hi - lo;
	}
	fclose(f);
	ASSERT_TRUE(found);
}

/* ---- control-flow protection ------------------------------------------------- */

/*
 * Built with -fcf-protection, src/sys_clone.S carries the x86 feature
 * property IBT and SHSTK: without it, the linker drops CET for the whole
 * library (and so for the process).  Checked on the object compiled here
 * and on a shared object linked from it and a C file.
 */
TEST(abi_clone_stub_keeps_cet_property)
{
#if defined(__x86_64__) || defined(__i386__)
	char src[4200], obj[4200], cobj[4200], csrc[4200], so[4200], *out = NULL;
	const char *dir = fl_test_tmpdir();
	const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";

	snprintf(src, sizeof(src), "%s/src/sys_clone.S", fl_test_source_tree());
	snprintf(obj, sizeof(obj), "%s/s.o", dir);
	snprintf(csrc, sizeof(csrc), "%s/f.c", dir);
	snprintf(cobj, sizeof(cobj), "%s/f.o", dir);
	snprintf(so, sizeof(so), "%s/l.so", dir);
	FILE *f = fopen(csrc, "w");
	ASSERT_TRUE(f != NULL);
	fputs("int fl_f(void);\nint fl_f(void) { return 0; }\n", f);
	fclose(f);
#if defined(__i386__)
	char *m = "-m32";
#else
	char *m = "-m64";
#endif
	char *as[] = { (char *)cc, m, "-fcf-protection", "-c", "-o", obj, src, NULL };
	char *cs[] = { (char *)cc, m, "-fcf-protection", "-fPIC", "-c", "-o", cobj, csrc, NULL };
	/* -nostartfiles: a C library's crti.o without the property would hide ours */
	char *ld[] = { (char *)cc, m, "-shared", "-nostartfiles", "-o", so, cobj, obj, NULL };
	char *rd[] = { "readelf", "-n", obj, NULL };
	char *rd2[] = { "readelf", "-n", so, NULL };
	int st = fl_test_run_capture(cc, as, &out);
	if (st == -ENOENT)
		SKIP("no C compiler");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		SKIP("the compiler does not take -fcf-protection");
	free(out);
	st = fl_test_run_capture(cc, cs, &out);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	st = fl_test_run_capture(cc, ld, &out);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	st = fl_test_run_capture("readelf", rd, &out);
	if (st == -ENOENT)
		SKIP("no readelf (binutils)");
	if (!strstr(out, "IBT, SHSTK"))
		fl_test_fail(__FILE__, __LINE__, "sys_clone.o has no IBT/SHSTK property:\n%s", out);
	free(out);
	st = fl_test_run_capture("readelf", rd2, &out);
	if (!strstr(out, "IBT, SHSTK"))
		fl_test_fail(__FILE__, __LINE__, "the linked object lost IBT/SHSTK:\n%s", out);
	free(out);
#else
	SKIP("x86 only");
#endif
}
