/* SPDX-License-Identifier: MIT */
/*
 * bench.c - the side-by-side spawn benchmark: sweeps and measurement.
 *
 * For each target and each condition of the parent (resident memory, busy
 * threads, open fds, spawns in flight) every selected method is measured in
 * interleaved rounds (A B C, B C A, ...) so that drift hits all alike, after
 * a warm-up, until each has its sample count or the cell's time is up.  A
 * sample is one spawn timed from the call to the reaped exit; the time spent
 * inside the spawn call is the caller's blocked time.  Every figure is also a
 * ratio against posix_spawn measured in the same cell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "forkless.h"

struct opts {
	bool quick;
	const char *json, *plot;
	const char *methods, *targets, *sweeps;
	double cell_s; /* time budget of one cell */
	int samples;   /* wanted per method per cell */
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	if (!list)
		return true;
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* ---- statistics -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n ? v[(int)(p * (n - 1) + 0.5)] : 0;
}

/* ---- one cell ---------------------------------------------------------- */

struct series {
	const struct bench_method *m;
	double *lat, *blk;
	int n;
	double spent_us; /* this method's share of the cell's time */
};

static int one_sample(const struct bench_method *m, const struct bench_target *t,
		      double *lat, double *blk)
{
	if (m->enter)
		m->enter();
	double t0 = now_us();
	pid_t pid = m->spawn(t);
	double t1 = now_us();
	int st;

	if (pid < 0)
		return (int)pid;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*lat = now_us() - t0;
	bench_reaped(pid);
	*blk = t1 - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

/* Ratios against posix_spawn's row of the same cell; then print and keep. */
static void publish(struct bench_report *rep, struct bench_result *r, size_t n, bool rate)
{
	const struct bench_result *b = NULL;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].method, "posix_spawn"))
			b = &r[i];
	for (size_t i = 0; i < n; i++) {
		if (b && b->median_us > 0 && b->spawns_per_s > 0) {
			r[i].ratio = rate ? r[i].spawns_per_s / b->spawns_per_s
					  : r[i].median_us / b->median_us;
			r[i].spawns_ratio = r[i].spawns_per_s / b->spawns_per_s;
			r[i].blocked_ratio = b->blocked_us > 0 ? r[i].blocked_us / b->blocked_us : 0;
		}
		report_table_row(&r[i]);
		bench_add(rep, &r[i]);
	}
}

static void finish(struct bench_report *rep, struct series *s, size_t ns,
		   const struct bench_target *t, const char *sweep, double value, const char *unit)
{
	struct bench_result r[16];

	for (size_t i = 0; i < ns; i++) {
		double sum = 0;
		for (int k = 0; k < s[i].n; k++)
			sum += s[i].lat[k];
		r[i] = (struct bench_result){
			.method = s[i].m->name, .target = t->name, .sweep = sweep,
			.value = value, .unit = unit, .samples = s[i].n,
			.p10_us = pct(s[i].lat, s[i].n, 0.1), .median_us = pct(s[i].lat, s[i].n, 0.5),
			.p90_us = pct(s[i].lat, s[i].n, 0.9), .blocked_us = pct(s[i].blk, s[i].n, 0.5),
			.spawns_per_s = s[i].n ? 1e6 * s[i].n / sum : 0,
		};
	}
	publish(rep, r, ns, false);
}

/* Interleaved rounds of every method until each has its samples or time is up. */
static void run_cell(struct bench_report *rep, const struct opts *o, const struct bench_target *t,
		     const char *sweep, double value, const char *unit, const char *cond)
{
	struct series s[16];
	size_t ns = 0;
	int want = o->samples, warm = o->quick ? 1 : 5, min = 5;
	double lat, blk;

	report_table_header(t->name, sweep, cond);
	for (size_t i = 0; i < bench_nmethods && ns < 16; i++) {
		if (!listed(o->methods, bench_methods[i].name))
			continue;
		s[ns] = (struct series){ &bench_methods[i], calloc((size_t)want, sizeof(double)),
					 calloc((size_t)want, sizeof(double)), 0, 0 };
		for (int k = 0, r; k < warm; k++)
			if ((r = one_sample(s[ns].m, t, &lat, &blk)) < 0) {
				fprintf(stderr, "bench: %s on %s fails (%s); left out\n", s[ns].m->name,
					t->name, strerror(-r));
				free(s[ns].lat), free(s[ns].blk);
				goto next;
			}
		ns++;
next:;
	}
	/* Each method has an equal share of the cell's time, so a slow one
	 * (fork at 8 GiB) stops at its minimum without starving the others. */
	double budget = ns ? o->cell_s * 1e6 / (double)ns : 0;
	for (int round = 0;; round++) {
		bool more = false;
		for (size_t k = 0; k < ns; k++) {
			struct series *x = &s[(k + (size_t)round) % ns];
			if (x->n >= want || (x->spent_us > budget && x->n >= min))
				continue;
			more = true;
			if (one_sample(x->m, t, &lat, &blk) == 0) {
				x->lat[x->n] = lat;
				x->blk[x->n++] = blk;
				x->spent_us += lat;
			}
		}
		if (!more)
			break;
	}
	finish(rep, s, ns, t, sweep, value, unit);
	for (size_t i = 0; i < ns; i++)
		free(s[i].lat), free(s[i].blk);
}

/* ---- spawns in flight: throughput from one caller thread ---------------- */

/* Keep k children alive at once for total spawns; returns spawns/s and the
 * median blocked time through *blk. */
static double inflight_round(const struct bench_method *m, const struct bench_target *t,
			     int k, int total, double *blk_sum)
{
	if (m->enter)
		m->enter();
	double t0 = now_us();
	int started = 0, live = 0, st;

	while (started < total || live > 0) {
		while (live < k && started < total) {
			double a = now_us();
			pid_t pid = m->spawn(t);
			*blk_sum += now_us() - a;
			if (pid < 0)
				return 0;
			started++, live++;
		}
		pid_t pid = waitpid(-1, &st, 0);
		if (pid > 0) {
			bench_reaped(pid);
			live--;
		}
	}
	return total / ((now_us() - t0) / 1e6);
}

static void run_inflight(struct bench_report *rep, const struct opts *o,
			 const struct bench_target *t, int k)
{
	struct bench_result r[16];
	double rates[16][64], blk[16];
	int nr[16] = { 0 }, total = o->quick ? 16 : 64, ns = 0;
	const struct bench_method *ms[16];
	char cond[32];

	snprintf(cond, sizeof(cond), "%d in flight", k);
	report_table_header(t->name, "inflight", cond);
	for (size_t i = 0; i < bench_nmethods; i++)
		if (listed(o->methods, bench_methods[i].name))
			ms[ns++] = &bench_methods[i];
	double deadline = now_us() + o->cell_s * 1e6;
	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < ns; i++) {
			int j = (i + round) % ns;
			double b = 0, rate = inflight_round(ms[j], t, k, total, &b);
			rates[j][nr[j]++] = rate;
			blk[j] = round ? blk[j] + b / total : b / total;
		}
		if (round >= 2 && now_us() > deadline)
			break;
	}
	for (int i = 0; i < ns; i++) {
		double med = pct(rates[i], nr[i], 0.5);
		r[i] = (struct bench_result){
			.method = ms[i]->name, .target = t->name, .sweep = "inflight", .value = k,
			.unit = "spawns", .samples = nr[i] * total, .spawns_per_s = med,
			.median_us = med > 0 ? 1e6 / med : 0, .blocked_us = blk[i] / nr[i],
		};
		r[i].p10_us = pct(rates[i], nr[i], 0.9) > 0 ? 1e6 / pct(rates[i], nr[i], 0.9) : 0;
		r[i].p90_us = pct(rates[i], nr[i], 0.1) > 0 ? 1e6 / pct(rates[i], nr[i], 0.1) : 0;
	}
	publish(rep, r, (size_t)ns, true);
}

/* ---- parent conditions ------------------------------------------------- */

static long mem_available_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void skip_row(struct bench_report *rep, const struct bench_target *t, const char *sweep,
		     double value, const char *unit, const char *why)
{
	struct bench_result r = { .method = "-", .target = t->name, .sweep = sweep,
				  .value = value, .unit = unit, .skip = why };
	printf("  skipped: %s\n", why);
	bench_add(rep, &r);
}

/* Make bytes of fresh memory resident, 4 KiB pages (as most heaps are). */
static char *resident(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	if (madvise(p, bytes, 23 /* MADV_POPULATE_WRITE, 5.14 */) != 0)
		for (size_t off = 0; off < bytes; off += 4096)
			p[off] = 1; /* touched: every page resident */
	return p;
}

/* The parent grows from 0 to 8 GiB; each step adds to what is resident. */
static void sweep_rss(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const double gib = 1024.0 * 1024 * 1024;
	static const double sizes[] = { 0, 0.25, 1, 4, 8 };
	char *chunk[5] = { 0 };
	size_t len[5] = { 0 }, have = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t bytes = (size_t)(sizes[i] * gib);
		char cond[64];
		snprintf(cond, sizeof(cond), "parent RSS %g GiB", sizes[i]);
		if (o->quick && sizes[i] > 4) {
			report_table_header(t->name, "rss", cond);
			skip_row(rep, t, "rss", (double)bytes, "bytes",
				 "--quick stops at 4 GiB (making 8 GiB resident is slow on some VMs)");
			break;
		}
		if ((bytes - have) / 1024 > (size_t)mem_available_kb() * 7 / 10) {
			report_table_header(t->name, "rss", cond);
			skip_row(rep, t, "rss", (double)bytes, "bytes", "not enough free memory");
			break;
		}
		if (bytes > have) {
			chunk[i] = resident(bytes - have);
			if (!chunk[i]) {
				report_table_header(t->name, "rss", cond);
				skip_row(rep, t, "rss", (double)bytes, "bytes", "mmap failed");
				break;
			}
			len[i] = bytes - have;
			have = bytes;
		}
		run_cell(rep, o, t, "rss", (double)bytes, "bytes", cond);
	}
	for (size_t i = 0; i < 5; i++)
		if (chunk[i])
			munmap(chunk[i], len[i]);
}

static atomic_int stop_threads;

static void *busy(void *arg)
{
	char *buf = malloc(1 << 20);
	(void)arg;
	while (!atomic_load_explicit(&stop_threads, memory_order_relaxed)) {
		for (size_t off = 0; off < (1 << 20); off += 4096)
			buf[off]++; /* keep touching memory */
		struct timespec ts = { 0, 50 * 1000 };
		nanosleep(&ts, NULL);
	}
	free(buf);
	return NULL;
}

static void sweep_threads(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const int counts[] = { 0, 4, 16, 64 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		pthread_t th[64];
		int n = 0;
		char cond[64];
		atomic_store(&stop_threads, 0);
		while (n < counts[i] && pthread_create(&th[n], NULL, busy, NULL) == 0)
			n++;
		snprintf(cond, sizeof(cond), "%d busy threads", n);
		run_cell(rep, o, t, "threads", n, "threads", cond);
		atomic_store(&stop_threads, 1);
		while (n > 0)
			pthread_join(th[--n], NULL);
	}
}

/* Open fds up to count (close-on-exec, as programs open them). */
static void sweep_fds(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const int counts[] = { 10, 1000, 100000 };
	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		int want = counts[i], open_now = 3, nopen = 0, *opened;
		char cond[128];
		const char *note = NULL;
		rl.rlim_cur = rl.rlim_max = (rlim_t)want + 64;
		if (old.rlim_max > rl.rlim_max)
			rl.rlim_max = old.rlim_max;
		if (rl.rlim_cur > old.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			/* no CAP_SYS_RESOURCE: as many as the hard limit allows */
			rl.rlim_cur = rl.rlim_max = old.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || old.rlim_max <= (rlim_t)counts[i - 1] + 64) {
				snprintf(cond, sizeof(cond), "%d open fds", want);
				report_table_header(t->name, "fds", cond);
				skip_row(rep, t, "fds", want, "fds", "cannot raise RLIMIT_NOFILE");
				continue;
			}
			want = (int)old.rlim_max - 64;
			note = "fewer fds than asked: the hard RLIMIT_NOFILE cannot be raised";
		}
		snprintf(cond, sizeof(cond), "%d open fds%s", want, note ? " (hard limit)" : "");
		opened = calloc((size_t)want, sizeof(int));
		for (; opened && open_now < want; open_now++) {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				break;
			opened[nopen++] = fd;
		}
		if (note)
			printf("\n  note: %s\n", note);
		size_t from = rep->n;
		run_cell(rep, o, t, "fds", want, "fds", cond);
		for (size_t k = from; k < rep->n; k++)
			rep->r[k].note = note;
		/* only ours: a range would also close fds made meanwhile (templates) */
		while (nopen > 0)
			close(opened[--nopen]);
		free(opened);
	}
	setrlimit(RLIMIT_NOFILE, &old);
}

/* ---- targets ----------------------------------------------------------- */

static char tmpdir[64] = "";
static char static_true[4096], static_name[] = "forkless-true-static", git_dir[128];
static char *argv_true[] = { "true", NULL };
static char *argv_git[] = { "git", "-C", git_dir, "rev-parse", "HEAD", NULL };

static struct bench_target targets[] = {
	{ "true_static", static_true, static_name, argv_true, NULL },
	{ "true_dynamic", "/bin/true", "true", argv_true, NULL },
	{ "git_rev_parse", "/usr/bin/git", "git", argv_git, NULL },
};

static int run_quiet(char *const argv[])
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_action b = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 2 };
	struct fl_action acts[] = { a, b };
	int st;
	pid_t pid = fl_spawn(argv[0], argv, NULL, acts, 2, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A scratch dir with the static true under a bare name at the end of a
 * realistic $PATH, and a small git repository. */
static void setup_targets(void)
{
	char exe[4096], link[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(static_true, sizeof(static_true), "%.4000s/true-static", exe);
	if (access(static_true, X_OK) != 0)
		targets[0].skip = "true-static not built next to forkless";

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/forkless-bench-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("bench: mkdtemp");
		exit(1);
	}
	snprintf(link, sizeof(link), "%s/%s", tmpdir, static_name);
	if (symlink(static_true, link) < 0)
		perror("bench: symlink");
	/* Debian's default PATH, then the dir holding the static true */
	char path[4400];
	snprintf(path, sizeof(path), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:%s",
		 tmpdir);
	setenv("PATH", path, 1);

	snprintf(git_dir, sizeof(git_dir), "%s/repo", tmpdir);
	char *init[] = { "git", "init", "-q", git_dir, NULL };
	char *commit[] = { "git", "-C", git_dir, "-c", "user.name=bench", "-c",
			   "user.email=bench@localhost", "commit", "-q", "--allow-empty", "-m", "x", NULL };
	if (access("/usr/bin/git", X_OK) != 0)
		targets[2].skip = "git is not installed";
	else if (run_quiet(init) != 0 || run_quiet(commit) != 0)
		targets[2].skip = "could not create the repository";
}

static void cleanup_targets(void)
{
	char *rm[] = { "rm", "-rf", tmpdir, NULL };
	if (tmpdir[0])
		run_quiet(rm);
}

/* ---- main -------------------------------------------------------------- */

static int usage(FILE *f, int code)
{
	fprintf(f,
		"usage: forkless bench [--quick] [--json FILE] [--plot DIR]\n"
		"                      [--methods LIST] [--targets LIST] [--sweep LIST]\n"
		"\n"
		"Measures, side by side in one run, what each way of creating a process\n"
		"costs, and prints median, p10, p90 (microseconds from spawn to reaped\n"
		"exit), spawns/s, the caller's blocked time and the ratio to posix_spawn.\n"
		"\n"
		"  --quick          short run (about 30 s on 2 cores)\n"
		"  --json FILE      write every result as JSON\n"
		"  --plot DIR       write PNG plots with gnuplot (and their data) to DIR\n"
		"  --methods LIST   comma list of: fork_exec,vfork_exec,posix_spawn,\n"
		"                   posix_spawnp,fl_spawn,fl_spawnp,posix_shim,template,\n"
		"                   embryo,embryo_async,embryo_reserve\n"
		"                   (posix_spawn, the baseline, is always run)\n"
		"  --targets LIST   comma list of: true_static,true_dynamic,git_rev_parse\n"
		"  --sweep LIST     comma list of: baseline,rss,threads,fds,inflight\n");
	return code;
}

static void run_all(struct bench_report *rep, const struct opts *o)
{
	bool swept = false;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct bench_target *t = &targets[i];
		if (!listed(o->targets, t->name))
			continue;
		if (t->skip) {
			printf("\n== %s: skipped: %s\n", t->name, t->skip);
			skip_row(rep, t, "baseline", 0, "", t->skip);
			continue;
		}
		if (listed(o->sweeps, "baseline"))
			run_cell(rep, o, t, "baseline", 0, "", "baseline");
		/* --quick sweeps the parent's conditions with the first target only */
		if (o->quick && swept)
			continue;
		swept = true;
		if (listed(o->sweeps, "rss"))
			sweep_rss(rep, o, t);
		if (listed(o->sweeps, "threads"))
			sweep_threads(rep, o, t);
		if (listed(o->sweeps, "fds"))
			sweep_fds(rep, o, t);
		if (listed(o->sweeps, "inflight"))
			for (int k = 1; k <= 8; k *= 2)
				run_inflight(rep, o, t, k);
	}
}

int fl_bench_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, 0, 'q' },	  { "json", required_argument, 0, 'j' },
		{ "plot", required_argument, 0, 'p' },	  { "methods", required_argument, 0, 'm' },
		{ "targets", required_argument, 0, 't' }, { "sweep", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },	  { 0, 0, 0, 0 },
	};
	struct opts o = { .cell_s = 4.0, .samples = 400 };
	static char methods[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qj:p:m:t:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'q': o.quick = true, o.cell_s = 0.6, o.samples = 100; break;
		case 'j': o.json = optarg; break;
		case 'p': o.plot = optarg; break;
		case 'm':
			snprintf(methods, sizeof(methods), "posix_spawn,%s", optarg); /* the baseline */
			o.methods = methods;
			break;
		case 't': o.targets = optarg; break;
		case 's': o.sweeps = optarg; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (optind < argc)
		return usage(stderr, 2);
	bench_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	setup_targets();
	struct bench_report rep = { 0 };
	run_all(&rep, &o);
	report_summary(&rep);
	int r = 0;
	if (o.json && report_json(&rep, o.json, o.quick) < 0)
		r = 1;
	if (o.plot && report_plots(&rep, o.plot) < 0)
		r = 1;
	cleanup_targets();
	free(rep.r);
	close(bench_devnull);
	return r;
}
