/* SPDX-License-Identifier: MIT */
/*
 * warm.c - libforkless-warm.so, the agent of a warm template.
 *
 * Preloaded (LD_PRELOAD) into the template's program for its one start,
 * with FORKLESS_WARM_FD=3 naming the socket to the library.  Without that
 * variable it does nothing.  With it:
 *
 *  - its constructor, before the program's _start, checks that the
 *    program calls __libc_start_main (the main executable imports it); a
 *    program that does not (not glibc's crt1) would run its main here, so
 *    the agent says why not and exits before it can;
 *  - its __libc_start_main, which the program's _start calls instead of
 *    glibc's (the preload comes first in the lookup), runs after the
 *    dynamic linker loaded and relocated everything and every library's
 *    constructor ran, before the program's own constructors and main.  It
 *    refuses (says why, exits) where a copy of this process would not be
 *    what a fresh start gives: threads, fds beyond 0-3, a signal handler;
 *    else it says so and becomes the server (server.c's loop): each spawn
 *    copies this process with CLONE_PARENT (the caller's child), the copy
 *    runs the child executor up to exec (fds, attributes, credentials,
 *    cwd, mask), installs the request's argv and environment, re-draws
 *    its stack canary and continues into glibc's __libc_start_main, so
 *    the program's constructors and main run in it with its own arguments.
 *
 * The copy is made with raw clone, not fork(): fork() cannot make the
 * caller the parent.  What glibc's _Fork does in the child is done here:
 * the thread's tid in its descriptor (CLONE_CHILD_SETTID at the address
 * glibc gave the kernel, PR_GET_TID_ADDRESS) and its robust list.  The
 * server is single-threaded (checked), so no lock can be held by another
 * thread at the copy, and the copy may use libc as after fork().
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <link.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forkless.h"
#include "sys.h"
#include "warm.h"
#include "wire.h"

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

#define EXPORT __attribute__((visibility("default")))

typedef int main_fn(int, char **, char **);
typedef int start_fn(main_fn *, int, char **, void (*)(void), void (*)(void), void (*)(void),
		     void *);

static struct {
	bool armed;       /* FORKLESS_WARM_FD was set: we serve */
	start_fn *real;   /* glibc's __libc_start_main */
	main_fn *main;
	void (*init)(void), (*fini)(void), (*rtld_fini)(void);
	void *stack_end;
	int *tid_addr;    /* the thread's tid in its descriptor (glibc's set_tid_address) */
	void *robust;     /* its robust list head, registered again in each copy */
	size_t robust_len;
} w;

/* Say on the socket whether we serve: 0, or -why (then exit). */
static void hello(int why)
{
	struct fl__wrep r = { .result = -why, .pid = getpid() };

	send(FL__WARM_SOCK, &r, sizeof(r), MSG_NOSIGNAL);
	if (why)
		_exit(0);
}

/* ---- before _start: is __libc_start_main ours to catch? ----------------- */

#if defined(__x86_64__) || defined(__aarch64__)
static int imports_start_main(struct dl_phdr_info *info, size_t size, void *data)
{
	ElfW(Dyn) *dyn = NULL;
	const char *strtab = NULL;
	const ElfW(Sym) *symtab = NULL;
	ElfW(Addr) rel[2] = { 0, 0 }, relsz[2] = { 0, 0 };

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 1; /* the first object is the program: done, not found */
	/* the dynamic linker has relocated these pointers in place; an
	 * unrelocated one is an offset below the load address */
#define ADDR(v) ((v) < info->dlpi_addr ? (v) + info->dlpi_addr : (v))
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_STRTAB: strtab = (const char *)ADDR(dyn->d_un.d_ptr); break;
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)ADDR(dyn->d_un.d_ptr); break;
		case DT_RELA: rel[0] = ADDR(dyn->d_un.d_ptr); break;
		case DT_RELASZ: relsz[0] = dyn->d_un.d_val; break;
		case DT_JMPREL: rel[1] = ADDR(dyn->d_un.d_ptr); break;
		case DT_PLTRELSZ: relsz[1] = dyn->d_un.d_val; break;
		}
	}
#undef ADDR
	if (!strtab || !symtab)
		return 1;
	for (int k = 0; k < 2; k++) {
		const ElfW(Rela) *r = (const ElfW(Rela) *)rel[k];
		for (size_t i = 0; r && i < relsz[k] / sizeof(*r); i++) {
			size_t sym = ELF64_R_SYM(r[i].r_info);
			if (sym && !strcmp(strtab + symtab[sym].st_name, "__libc_start_main")) {
				*(int *)data = 1;
				return 1;
			}
		}
	}
	return 1;
}
#endif

__attribute__((constructor)) static void agent_init(void)
{
	const char *v = getenv(FL__WARM_ENV);
	int found = 0;

	if (!v || strcmp(v, "3"))
		return;
	w.armed = true;
#if defined(__x86_64__) || defined(__aarch64__)
	dl_iterate_phdr(imports_start_main, &found);
#endif
	if (!found)
		hello(FL_WARM_NO_START_MAIN);
}

/* ---- at __libc_start_main: may this process be copied? ----------------- */

/* Entries of a /proc/self directory, "." and ".." and the reader's fd aside. */
static int count_entries(const char *path, bool fds)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fds && (fd == dirfd(d) || fd <= FL__WARM_SOCK))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static int refusal(void)
{
	if (count_entries("/proc/self/task", false) != 1)
		return FL_WARM_THREADS;
	if (count_entries("/proc/self/fd", true) != 0)
		return FL_WARM_FDS;
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_DFL)
			return FL_WARM_SIGNALS;
	}
	if (prctl(PR_GET_TID_ADDRESS, &w.tid_addr, 0, 0, 0) < 0 || !w.tid_addr ||
	    fl__sys3(__NR_get_robust_list, 0, &w.robust, &w.robust_len) < 0)
		return FL_WARM_UNSUPPORTED;
	return 0;
}

/* Our own traces in the environment: FORKLESS_WARM_FD, and the agent's
 * entry in LD_PRELOAD (the first; the variable goes if it was the only). */
static void unset_traces(void)
{
	unsetenv(FL__WARM_ENV);
	char *p = getenv("LD_PRELOAD");
	if (!p)
		return;
	char *rest = p + strcspn(p, ": ");
	if (*rest)
		memmove(p, rest + 1, strlen(rest + 1) + 1); /* in place: the string is environ's */
	if (!*rest || !*p)
		unsetenv("LD_PRELOAD");
}

EXPORT int __libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void),
			     void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
EXPORT int __libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void),
			     void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	w.real = (start_fn *)dlsym(RTLD_NEXT, "__libc_start_main");
	if (!w.real)
		_exit(127);
	if (!w.armed)
		return w.real(main, argc, argv, init, fini, rtld_fini, stack_end);
	w.main = main;
	w.init = init;
	w.fini = fini;
	w.rtld_fini = rtld_fini;
	w.stack_end = stack_end;
	unset_traces();
	hello(refusal());
	fl__warm_serve();
	_exit(0);
}

/* ---- the copies ---------------------------------------------------------- */

long fl__warm_clone(int *pidfd)
{
	uint64_t flags = CLONE_PARENT | CLONE_PIDFD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	struct fl__clone_args a = {
		.flags = flags,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.child_tid = (uint64_t)(uintptr_t)w.tid_addr,
		.exit_signal = 0, /* CLONE_PARENT: our parent's */
	};
	static bool no_clone3; /* learned once (single-threaded) */
	long pid = no_clone3 ? -ENOSYS : fl__sys2(__NR_clone3, &a, FL__CLONE_ARGS_SIZE_VER0);

	if (pid == -ENOSYS || pid == -EPERM) /* clone3 refused: clone(2) */
		no_clone3 = true;
	if (no_clone3)
#if defined(__x86_64__)
		pid = fl__sys5(__NR_clone, flags, 0, pidfd, w.tid_addr, 0);
#else /* CLONE_BACKWARDS: flags, stack, parent_tid, tls, child_tid */
		pid = fl__sys5(__NR_clone, flags, 0, pidfd, 0, w.tid_addr);
#endif
	if (pid == 0)
		fl__sys2(__NR_set_robust_list, w.robust, w.robust_len);
	return pid;
}

/*
 * The stack canary, new in each copy: glibc takes it from the first word
 * of AT_RANDOM with its low byte zeroed, so draw that word again and put
 * it there and in the thread's descriptor.  Sound here: no frame that
 * checks the old one returns again (this one and its callers never do).
 * The pointer guard (the second word) stays: atexit handlers registered
 * before main are stored mangled with it.
 */
static void redraw_canary(void)
{
#if defined(__x86_64__)
	unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
	uint64_t c;

	if (!r || getrandom(&c, sizeof(c), GRND_NONBLOCK) != (ssize_t)sizeof(c))
		return;
	memcpy(r, &c, sizeof(c));
	c &= ~(uint64_t)0xff;
	__asm__ volatile("movq %0, %%fs:0x28" : : "r"(c) : "memory");
#endif
}

/* The strings of v, one after another, in one new block: its bounds. */
static bool flatten(char *const *v, unsigned long *start, unsigned long *end)
{
	size_t len = 0;

	for (size_t i = 0; v[i]; i++)
		len += strlen(v[i]) + 1;
	char *b = malloc(len ? len : 1), *p = b;
	if (!b)
		return false;
	for (size_t i = 0; v[i]; i++)
		p = stpcpy(p, v[i]) + 1;
	*start = (unsigned long)b;
	*end = (unsigned long)(b + len);
	return true;
}

/*
 * /proc/PID/cmdline and /proc/PID/environ read the areas the kernel
 * recorded at exec, which are the server's: point them at this copy's
 * arguments and environment (PR_SET_MM_MAP, which CRIU uses, allowed
 * without privilege since 3.18 where the kernel has checkpoint/restore).
 * The rest of the map is what the kernel has now (/proc/self/stat).
 * Where it is refused, they keep showing the server's.
 */
static void set_proc_areas(char *const *argv, char *const *envp)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	unsigned long f[52] = { 0 };

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	p = strchr(p + 2, ' '); /* past field 3, the state */
	if (!p)
		return;
	p++;
	for (int i = 4; i <= 51 && *p; i++) {
		char *end;
		f[i] = strtoul(p, &end, 10);
		if (*end != ' ' && *end != '\n')
			break;
		p = end + 1;
	}
	struct prctl_mm_map m = {
		.start_code = f[26], .end_code = f[27], .start_stack = f[28],
		.start_data = f[45], .end_data = f[46], .start_brk = f[47],
		.brk = (uint64_t)(uintptr_t)sbrk(0), .exe_fd = (uint32_t)-1,
	};
	unsigned long as, ae, es, ee;
	if (!m.start_code || !flatten(argv, &as, &ae) || !flatten(envp, &es, &ee))
		return;
	m.arg_start = as;
	m.arg_end = ae;
	m.env_start = es;
	m.env_end = ee;
	prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof(m), 0);
}

__attribute__((noreturn)) void fl__warm_child(const struct fl__spec *s, int errfd)
{
	char **argv = (char **)s->argv;
	int argc = 0;

	while (argv[argc])
		argc++;
	environ = (char **)s->envp;
	const char *name = argc ? argv[0] : "";
	const char *slash = strrchr(name, '/');
	program_invocation_name = (char *)name;
	program_invocation_short_name = (char *)(slash ? slash + 1 : name);
	set_proc_areas(argv, environ);
	redraw_canary();
	if (errfd >= 0)
		close(errfd); /* EOF: set up, as an exec would say */
	w.real(w.main, argc, argv, w.init, w.fini, w.rtld_fini, w.stack_end);
	_exit(127);
}
