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
	const char *plot;
	int json; /* opened before the run, or -1 */
	const char *methods, *targets, *sweeps;
	double cell_s; /* time budget of one cell */
	int samples;   /* wanted per method per cell */
};

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
	int n, failed;
	double spent_us; /* this method's share of the cell's time */
	double setup_us;
};

static int one_sample(const struct bench_method *m, const struct bench_target *t,
		      double *lat, double *blk)
{
	if (m->sample)
		return m->sample(t, lat, blk);
	if (!m->spawn)
		return bench_driver_sample(m, t, lat, blk);
	return bench_sample(m->spawn, t, lat, blk);
}

/* Ratios against posix_spawn's row of the same cell; then print and keep. */
static void publish(struct bench_report *rep, struct bench_result *r, size_t n, bool rate)
{
	const struct bench_result *b = NULL;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].method, "posix_spawn") && !r[i].skip)
			b = &r[i];
	for (size_t i = 0; i < n; i++) {
		if (b && b->median_us > 0 && b->spawns_per_s > 0 && !r[i].skip) {
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
	struct bench_result r[32];

	for (size_t i = 0; i < ns; i++) {
		double sum = 0;
		for (int k = 0; k < s[i].n; k++)
			sum += s[i].lat[k];
		r[i] = (struct bench_result){
			.method = s[i].m->name, .target = t->name, .sweep = sweep,
			.value = value, .unit = unit, .samples = s[i].n, .failed = s[i].failed,
			.p10_us = pct(s[i].lat, s[i].n, 0.1), .median_us = pct(s[i].lat, s[i].n, 0.5),
			.p90_us = pct(s[i].lat, s[i].n, 0.9), .blocked_us = pct(s[i].blk, s[i].n, 0.5),
			.spawns_per_s = s[i].n ? 1e6 * s[i].n / sum : 0, .setup_us = s[i].setup_us,
		};
	}
	publish(rep, r, ns, false);
}

/* A method that cannot run in this cell: shown as such, never dropped. */
static void left_out(struct bench_report *rep, const struct bench_method *m,
		     const struct bench_target *t, const char *sweep, double value,
		     const char *unit, int err, const char *what)
{
	static char why[32][96];
	static int next;
	char *w = why[next++ % 32];
	snprintf(w, 96, "%s fails: %s", what, strerror(-err));
	fprintf(stderr, "bench: %s on %s: %s; left out\n", m->name, t->name, w);
	struct bench_result r = { .method = m->name, .target = t->name, .sweep = sweep,
				  .value = value, .unit = unit, .skip = w };
	printf("  %-14s skipped: %s\n", m->name, w);
	bench_add(rep, &r);
}

/* Cell setup (untimed): a template made, a driver's setup; 0 or -errno. */
static int begin(const struct bench_method *m, const struct bench_target *t, double *setup)
{
	*setup = 0;
	if (m->cell_begin && (*setup = m->cell_begin(t)) < 0)
		return (int)*setup;
	return 0;
}

/* Interleaved rounds of every method until each has its samples or time is
 * up; the order rotates each round (A B C, B C A, ...). */
static void run_cell(struct bench_report *rep, const struct opts *o, const struct bench_target *t,
		     const char *sweep, double value, const char *unit, const char *cond)
{
	struct series s[32];
	size_t ns = 0;
	int want = o->samples, warm = o->quick ? 1 : 5, min = 5;
	double lat, blk;

	report_table_header(t->name, sweep, cond);
	for (size_t i = 0; i < bench_nmethods && ns < 32; i++) {
		const struct bench_method *m = &bench_methods[i];
		double setup;
		int r;
		if (!listed(o->methods, m->name) || m->inflight_only)
			continue;
		if ((r = begin(m, t, &setup)) < 0) {
			left_out(rep, m, t, sweep, value, unit, r, "setup");
			continue;
		}
		for (int k = 0; k < warm; k++)
			if ((r = one_sample(m, t, &lat, &blk)) < 0)
				break;
		if (r < 0) {
			if (m->cell_end)
				m->cell_end();
			left_out(rep, m, t, sweep, value, unit, r, "warm-up");
			continue;
		}
		s[ns++] = (struct series){ m, calloc((size_t)want, sizeof(double)),
					   calloc((size_t)want, sizeof(double)), 0, 0, 0,
					   m->driver ? bench_driver_setup_us(m) : setup };
	}
	/* Each method has an equal share of the cell's time, so a slow one
	 * (fork at 8 GiB) stops at its minimum without starving the others;
	 * a method that keeps failing stops at as many failures as samples. */
	double budget = ns ? o->cell_s * 1e6 / (double)ns : 0;
	for (int round = 0;; round++) {
		bool more = false;
		for (size_t k = 0; k < ns; k++) {
			struct series *x = &s[(k + (size_t)round) % ns];
			if (x->n >= want || x->failed >= want || (x->spent_us > budget && x->n >= min))
				continue;
			more = true;
			double t0 = bench_now_us();
			if (one_sample(x->m, t, &lat, &blk) == 0) {
				x->lat[x->n] = lat;
				x->blk[x->n++] = blk;
			} else {
				x->failed++; /* counted and shown, not in the figures */
			}
			x->spent_us += bench_now_us() - t0;
		}
		if (!more)
			break;
	}
	finish(rep, s, ns, t, sweep, value, unit);
	for (size_t i = 0; i < ns; i++) {
		if (s[i].m->cell_end)
			s[i].m->cell_end();
		free(s[i].lat), free(s[i].blk);
	}
}

/* ---- spawns in flight: throughput from one caller thread ---------------- */

static int one_round(const struct bench_method *m, const struct bench_target *t, int k,
		     int total, struct bench_round *r)
{
	if (m->round)
		return m->round(t, k, total, r);
	if (!m->spawn)
		return bench_driver_round(m, t, k, total, r);
	bench_round(m->spawn, t, k, total, r);
	return 0;
}

/* Rounds of total spawns with k alive at once, per method, order rotated
 * each round: spawns/s is the median of the rounds' rates, blocked the
 * median over every spawn, failures counted. */
static void run_inflight(struct bench_report *rep, const struct opts *o,
			 const struct bench_target *t, int k)
{
	enum { ROUNDS = 64 };
	struct bench_result r[32];
	static double rates[32][ROUNDS], blk[32][ROUNDS * BENCH_ROUND_MAX];
	int nr[32] = { 0 }, nb[32] = { 0 }, failed[32] = { 0 }, total = o->quick ? 16 : 64;
	int ns = 0, err[32] = { 0 };
	const struct bench_method *ms[32];
	double setup[32] = { 0 };
	struct bench_round br;
	char cond[32];

	snprintf(cond, sizeof(cond), "%d in flight", k);
	report_table_header(t->name, "inflight", cond);
	for (size_t i = 0; i < bench_nmethods && ns < 32; i++) {
		const struct bench_method *m = &bench_methods[i];
		int e;
		if (!listed(o->methods, m->name))
			continue;
		if ((e = begin(m, t, &setup[ns])) < 0)
			left_out(rep, m, t, "inflight", k, "spawns", e, "setup");
		else
			ms[ns++] = m;
	}
	double deadline = bench_now_us() + o->cell_s * 1e6;
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < ns; i++) {
			int j = (i + round) % ns;
			if (err[j])
				continue;
			if ((err[j] = one_round(ms[j], t, k, total, &br)) < 0)
				continue;
			rates[j][nr[j]++] = br.rate;
			memcpy(&blk[j][nb[j]], br.blk, (size_t)br.n * sizeof(double));
			nb[j] += br.n;
			failed[j] += br.failed;
		}
		if (round >= 2 && bench_now_us() > deadline)
			break;
	}
	int n = 0;
	for (int i = 0; i < ns; i++) {
		if (ms[i]->cell_end)
			ms[i]->cell_end();
		if (err[i] && !nr[i]) {
			left_out(rep, ms[i], t, "inflight", k, "spawns", err[i], "round");
			continue;
		}
		double med = pct(rates[i], nr[i], 0.5);
		r[n] = (struct bench_result){
			.method = ms[i]->name, .target = t->name, .sweep = "inflight", .value = k,
			.unit = "spawns", .samples = nb[i], .failed = failed[i], .spawns_per_s = med,
			.median_us = med > 0 ? 1e6 / med : 0, .blocked_us = pct(blk[i], nb[i], 0.5),
			.setup_us = ms[i]->driver ? bench_driver_setup_us(ms[i]) : setup[i],
		};
		r[n].p10_us = pct(rates[i], nr[i], 0.9) > 0 ? 1e6 / pct(rates[i], nr[i], 0.9) : 0;
		r[n].p90_us = pct(rates[i], nr[i], 0.1) > 0 ? 1e6 / pct(rates[i], nr[i], 0.1) : 0;
		n++;
	}
	publish(rep, r, (size_t)n, true);
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

/* The processes that hold a condition: the bench and each driver method run. */
static int holders(const struct opts *o)
{
	int n = 1;
	for (size_t i = 0; i < bench_nmethods; i++)
		n += bench_methods[i].driver && listed(o->methods, bench_methods[i].name);
	return n;
}

/* Set a condition here and in every driver. */
static int set_rss(size_t bytes)
{
	int r = bench_cond_rss(bytes);
	bench_drivers_cond(DRV_RSS, r < 0 ? 0 : (double)bytes);
	return r;
}

static int set_threads(int n)
{
	n = bench_cond_threads(n);
	bench_drivers_cond(DRV_THREADS, n);
	return n;
}

/* The parent grows from 0 to 8 GiB; each step adds to what is resident. */
static void sweep_rss(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const double gib = 1024.0 * 1024 * 1024;
	static const double sizes[] = { 0, 0.25, 1, 4, 8 };
	size_t have = 0;
	int procs = holders(o);

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
		/* every process that measures holds it: the bench and the drivers */
		if ((bytes - have) / 1024 * (size_t)procs > (size_t)mem_available_kb() * 7 / 10) {
			report_table_header(t->name, "rss", cond);
			skip_row(rep, t, "rss", (double)bytes, "bytes",
				 procs > 1 ? "not enough free memory (for the bench and its drivers)"
					   : "not enough free memory");
			break;
		}
		if (set_rss(bytes) < 0) {
			report_table_header(t->name, "rss", cond);
			skip_row(rep, t, "rss", (double)bytes, "bytes", "mmap failed");
			break;
		}
		have = bytes;
		run_cell(rep, o, t, "rss", (double)bytes, "bytes", cond);
	}
	set_rss(0);
}

static void sweep_threads(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const int counts[] = { 0, 4, 16, 64 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		char cond[64];
		int n = set_threads(counts[i]);
		snprintf(cond, sizeof(cond), "%d busy threads", n);
		run_cell(rep, o, t, "threads", n, "threads", cond);
	}
	set_threads(0); /* joined, their stacks and buffers unmapped */
}

/* Open fds (close-on-exec, as programs open them) up to each count. */
static void sweep_fds(struct bench_report *rep, const struct opts *o, const struct bench_target *t)
{
	static const int counts[] = { 10, 1000, 100000 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const char *note;
		char cond[128];
		int want = bench_cond_fds(counts[i], &note);
		if (want < 0) {
			snprintf(cond, sizeof(cond), "%d open fds", counts[i]);
			report_table_header(t->name, "fds", cond);
			skip_row(rep, t, "fds", counts[i], "fds", "cannot raise RLIMIT_NOFILE");
			continue;
		}
		bench_drivers_cond(DRV_FDS, counts[i]);
		snprintf(cond, sizeof(cond), "%d open fds%s", want, note ? " (hard limit)" : "");
		if (note)
			printf("\n  note: %s\n", note);
		size_t from = rep->n;
		run_cell(rep, o, t, "fds", want, "fds", cond);
		for (size_t k = from; k < rep->n; k++)
			rep->r[k].note = note;
	}
	const char *note;
	bench_cond_fds(0, &note);
	bench_drivers_cond(DRV_FDS, 0);
}

/* What a sweep could leave behind: resident memory, mappings, threads. */
struct state {
	long rss_kb, maps, threads;
};

static struct state state_now(void)
{
	struct state s = { 0 };
	char line[512];
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &s.rss_kb) != 1)
			sscanf(line, "Threads: %ld", &s.threads);
	if (f)
		fclose(f);
	if ((f = fopen("/proc/self/maps", "re")))
		while (fgets(line, sizeof(line), f))
			s.maps++;
	if (f)
		fclose(f);
	return s;
}

/* A sweep that left state behind would slow the next: say so. */
static void check_state(const char *sweep, const struct state *before)
{
	struct state now = state_now();
	if (now.rss_kb > before->rss_kb + 16384 || now.maps > before->maps + 16 ||
	    now.threads > before->threads)
		fprintf(stderr,
			"bench: the %s sweep left state behind: RSS %ld -> %ld kB, "
			"%ld -> %ld mappings, %ld -> %ld threads\n",
			sweep, before->rss_kb, now.rss_kb, before->maps, now.maps, before->threads,
			now.threads);
}

/* ---- targets ----------------------------------------------------------- */

static char tmpdir[64] = "";
static char static_true[4096], static_name[] = "forkless-true-static", git_dir[128];
static char *argv_true[] = { "true", NULL };
static char *argv_git[] = { "git", "-C", git_dir, "rev-parse", "HEAD", NULL };
static char *argv_py[] = { "python3", "-c", "pass", NULL };

static struct bench_target targets[] = {
	{ "true_static", static_true, static_name, argv_true, NULL },
	{ "true_dynamic", "/bin/true", "true", argv_true, NULL },
	{ "git_rev_parse", "/usr/bin/git", "git", argv_git, NULL },
	{ "python3_pass", "/usr/bin/python3", "python3", argv_py, NULL },
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
	if (access("/usr/bin/python3", X_OK) != 0)
		targets[3].skip = "python3 is not installed";
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

/* This program and its drivers are linked statically, so the library cannot
 * find forkless-server beside itself: unless FORKLESS_SERVER says where it
 * is, use the one next to this executable (a build tree); else the
 * installed one. The drivers inherit it with the environment. */
static void server_beside(void)
{
	char exe[4096], path[4200];
	const char *env = getenv("FORKLESS_SERVER");
	if (env && *env)
		return;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	snprintf(path, sizeof(path), "%s/forkless-server", exe);
	if (access(path, X_OK) == 0)
		setenv("FORKLESS_SERVER", path, 1);
}

static const char *const sweep_names[] = { "baseline", "rss", "threads", "fds", "inflight" };

static int usage(FILE *f, int code)
{
	fprintf(f,
		"usage: forkless bench [--quick] [--json FILE] [--plot DIR]\n"
		"                      [--methods LIST] [--targets LIST] [--sweep LIST]\n"
		"\n"
		"Measures, side by side in one run, what each way of creating a process\n"
		"costs, and prints median, p10, p90 (microseconds from spawn to reaped\n"
		"exit), spawns/s, the caller's median blocked time, failed samples and\n"
		"the ratio to posix_spawn in the same cell.\n"
		"\n"
		"  --quick          short run (about 30 s on 2 cores)\n"
		"  --json FILE      write every result as JSON\n"
		"  --plot DIR       write PNG plots with gnuplot (and their data) to DIR\n"
		"  --methods LIST   comma list of: fork_exec,vfork_exec,posix_spawn,\n"
		"                   posix_spawnp,fl_spawn,fl_spawnp,posix_shim,template,\n"
		"                   template_late,warm,builder_native,builder_user,\n"
		"                   template_native,template_user (native: the forkless\n"
		"                   test kernel only),embryo,embryo_async,embryo_reserve,\n"
		"                   server,server_async,posix_spawn_mt (in-flight only)\n"
		"                   (posix_spawn, the baseline, is always run)\n"
		"  --targets LIST   comma list of: true_static,true_dynamic,git_rev_parse,python3_pass\n"
		"  --sweep LIST     comma list of: baseline,rss,threads,fds,inflight\n");
	return code;
}

/* Every word of a comma list is one of the names; else a usage error. */
static bool check_list(const char *what, const char *list, const char *const *names,
		       size_t stride, size_t n)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++) {
			const char *name = *(const char *const *)((const char *)names + i * stride);
			ok = strlen(name) == len && !strncmp(name, p, len);
		}
		if (!ok) {
			fprintf(stderr, "forkless bench: unknown %s '%.*s'\n"
					"Try 'forkless bench --help'.\n", what, (int)len, p);
			return false;
		}
		p += len + (p[len] == ',');
	}
	return true;
}

/* The destinations are checked before the run, not after: the JSON file
 * is opened now, the plot directory made and written to. */
static bool check_outputs(struct opts *o, const char *json)
{
	if (json && (o->json = open(json, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "forkless bench: --json %s: %s\n", json, strerror(errno));
		return false;
	}
	if (o->plot) {
		char probe[4200];
		struct stat st;
		int fd = -1;
		if (mkdir(o->plot, 0755) < 0 && errno != EEXIST)
			goto fail;
		if (stat(o->plot, &st) < 0)
			goto fail;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		snprintf(probe, sizeof(probe), "%s/plots.gp", o->plot);
		if ((fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
			goto fail;
		close(fd);
	}
	return true;
fail:
	fprintf(stderr, "forkless bench: --plot %s: %s\n", o->plot, strerror(errno));
	return false;
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
		/* each sweep undoes its condition fully: checked after each */
		struct state st = state_now();
		if (listed(o->sweeps, "rss")) {
			sweep_rss(rep, o, t);
			check_state("rss", &st);
		}
		if (listed(o->sweeps, "threads")) {
			sweep_threads(rep, o, t);
			check_state("threads", &st);
		}
		if (listed(o->sweeps, "fds")) {
			sweep_fds(rep, o, t);
			check_state("fds", &st);
		}
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
	struct opts o = { .cell_s = 4.0, .samples = 400, .json = -1 };
	static char methods[512];
	const char *json = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qj:p:m:t:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'q': o.quick = true, o.cell_s = 0.6, o.samples = 100; break;
		case 'j': json = optarg; break;
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
	/* every name known, every destination writable, before anything is measured */
	if (!check_list("method", o.methods, &bench_methods[0].name, sizeof(bench_methods[0]),
			bench_nmethods) ||
	    !check_list("target", o.targets, &targets[0].name, sizeof(targets[0]),
			sizeof(targets) / sizeof(targets[0])) ||
	    !check_list("sweep", o.sweeps, sweep_names, sizeof(sweep_names[0]),
			sizeof(sweep_names) / sizeof(sweep_names[0])))
		return 2;
	if (!check_outputs(&o, json))
		return 1;
	bench_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	server_beside();
	setup_targets();
	struct bench_report rep = { 0 };
	run_all(&rep, &o);
	bench_drivers_stop();
	report_summary(&rep);
	int r = 0;
	if (o.json >= 0 && report_json(&rep, o.json, o.quick) < 0) {
		fprintf(stderr, "forkless bench: --json %s: %s\n", json, strerror(errno));
		r = 1;
	}
	if (o.plot && report_plots(&rep, o.plot) < 0)
		r = 1;
	cleanup_targets();
	free(rep.r);
	close(bench_devnull);
	return r;
}
