/* SPDX-License-Identifier: MIT */
/*
 * report.c - the benchmark's output: the table on stdout, the summary of
 * ratios, the JSON file and the gnuplot plots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "forkless.h"

void bench_add(struct bench_report *rep, const struct bench_result *r)
{
	if (rep->n == rep->cap) {
		rep->cap = rep->cap ? 2 * rep->cap : 64;
		rep->r = realloc(rep->r, rep->cap * sizeof(*r));
		if (!rep->r) {
			perror("bench");
			exit(1);
		}
	}
	rep->r[rep->n++] = *r;
}

void report_table_header(const char *target, const char *sweep, const char *cond)
{
	printf("\n== %s, %s: %s\n", target, sweep, cond);
	printf("  %-14s %9s %9s %9s %10s %9s %8s %8s %5s\n", "method", "median", "p10", "p90",
	       "spawns/s", "blocked", "ratio", "blk.ratio", "fail");
	fflush(stdout);
}

void report_table_row(const struct bench_result *r)
{
	printf("  %-14s %9.1f %9.1f %9.1f %10.0f %9.1f %8.3f %8.3f %5d\n", r->method, r->median_us,
	       r->p10_us, r->p90_us, r->spawns_per_s, r->blocked_us, r->ratio, r->blocked_ratio,
	       r->failed);
	if (r->setup_us > 0)
		printf("  %-14s untimed setup a caller pays too: %.1f us\n", "", r->setup_us);
	fflush(stdout);
}

static const struct bench_result *find(const struct bench_report *rep, const char *method,
				       const char *target, const char *sweep, int last)
{
	const struct bench_result *hit = NULL;
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (r->skip || strcmp(r->method, method) || strcmp(r->target, target) ||
		    strcmp(r->sweep, sweep))
			continue;
		if (!hit || last)
			hit = r;
	}
	return hit;
}

/* ---- the spawn server's targets ----------------------------------------- */

/* The row of method in the cell (target, sweep, value), or NULL. */
static const struct bench_result *cell(const struct bench_report *rep, const char *method,
				       const char *target, const char *sweep, double value)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (!r->skip && !strcmp(r->method, method) && !strcmp(r->target, target) &&
		    !strcmp(r->sweep, sweep) && r->value == value && r->samples > 0)
			return r;
	}
	return NULL;
}

/* The highest spawns/s of method over the in-flight cells of target. */
static const struct bench_result *best_rate(const struct bench_report *rep, const char *method,
					    const char *target)
{
	const struct bench_result *best = NULL;
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (!r->skip && !strcmp(r->method, method) && !strcmp(r->target, target) &&
		    !strcmp(r->sweep, "inflight") && (!best || r->spawns_per_s > best->spawns_per_s))
			best = r;
	}
	return best;
}

/* One figure against its goal, printed and kept for the JSON. */
static struct bench_goal goals[64];
static size_t ngoals;

static void goal(const char *what, const char *target, const char *cell_name, double value,
		 double limit, bool at_most, const char *detail)
{
	bool met = at_most ? value <= limit : value >= limit;
	printf("  %-26s %-13s %-22s %7.3f  (%s %.2f: %s)  %s\n", what, target, cell_name, value,
	       at_most ? "<=" : ">=", limit, met ? "met" : "missed", detail);
	if (ngoals < sizeof(goals) / sizeof(goals[0])) {
		struct bench_goal *g = &goals[ngoals++];
		snprintf(g->what, sizeof(g->what), "%s", what);
		snprintf(g->target, sizeof(g->target), "%s", target);
		snprintf(g->cell, sizeof(g->cell), "%s", cell_name);
		g->value = value, g->limit = limit, g->at_most = at_most, g->met = met;
	}
}

/* The spawn server's targets, from the cells measured (each ratio within
 * one run; the throughput goal compares best rates over the in-flight
 * cells, as it is stated). */
static void report_targets(const struct bench_report *rep)
{
	char name[64], detail[160];
	bool head = false;

	ngoals = 0;
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i], *f, *p, *b;
		if (r->skip || r->samples == 0)
			continue;
		if (!head && (!strcmp(r->method, "server") || !strcmp(r->method, "server_async"))) {
			printf("\n== spawn server targets (figure, target, cell, value, goal)\n");
			head = true;
		}
		/* sync latency: server over fl_spawn, in every cell both ran
		 * one at a time (the in-flight cells are throughput) */
		if (!strcmp(r->method, "server") && strcmp(r->sweep, "inflight") &&
		    (f = cell(rep, "fl_spawn", r->target, r->sweep, r->value))) {
			if (!strcmp(r->unit, "bytes"))
				snprintf(name, sizeof(name), "%s %g GiB", r->sweep, r->value / (1 << 30));
			else
				snprintf(name, sizeof(name), "%s %g", r->sweep, r->value);
			snprintf(detail, sizeof(detail), "%.1f / %.1f us", r->median_us, f->median_us);
			goal("sync latency/fl_spawn", r->target, strcmp(r->sweep, "baseline") ? name
						: "baseline", r->median_us / f->median_us, 1.15, true, detail);
		}
		/* caller-blocked per spawn, 4 in flight, against posix_spawn's */
		if (!strcmp(r->method, "server_async") && !strcmp(r->sweep, "inflight") &&
		    r->value == 4 && (p = cell(rep, "posix_spawn", r->target, "inflight", 4)) &&
		    p->blocked_us > 0) {
			snprintf(detail, sizeof(detail), "%.1f / %.1f us", r->blocked_us, p->blocked_us);
			goal("blocked/posix_spawn", r->target, "4 in flight", r->blocked_us / p->blocked_us,
			     0.10, true, detail);
		}
		/* one thread's rate against posix_spawn's best, from one
		 * thread (k children) or from k threads; once per target */
		if (!strcmp(r->method, "server_async") && !strcmp(r->sweep, "inflight") &&
		    r == best_rate(rep, "server_async", r->target)) {
			const struct bench_result *ps = best_rate(rep, "posix_spawn", r->target);
			const struct bench_result *mt = best_rate(rep, "posix_spawn_mt", r->target);
			b = mt && (!ps || mt->spawns_per_s > ps->spawns_per_s) ? mt : ps;
			if (!b)
				continue;
			snprintf(name, sizeof(name), "best of 1..8 in flight");
			snprintf(detail, sizeof(detail), "%.0f/s at %g vs %s %.0f/s at %g", r->spawns_per_s,
				 r->value, b->method, b->spawns_per_s, b->value);
			goal("spawns/s/best posix_spawn", r->target, name, r->spawns_per_s / b->spawns_per_s,
			     0.95, false, detail);
			if ((p = cell(rep, "posix_spawn", r->target, "inflight", 1))) {
				snprintf(detail, sizeof(detail), "%.0f/s vs %.0f/s; %ld CPUs (a goal where "
					 "spawns run in parallel)", r->spawns_per_s, p->spawns_per_s,
					 sysconf(_SC_NPROCESSORS_ONLN));
				goal("spawns/s/sequential", r->target, name,
				     r->spawns_per_s / p->spawns_per_s, 1.8, false, detail);
			}
		}
	}
	/* warm templates: how many times faster than posix_spawn of the
	 * same program, one at a time (baseline cell) */
	static const struct {
		const char *target;
		double goal;
	} warm_goals[] = { { "true_dynamic", 2.3 }, { "git_rev_parse", 1.5 }, { "python3_pass", 1.0 } };
	bool warm_head = false;
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i], *p;
		if (r->skip || r->samples == 0 || strcmp(r->method, "warm") ||
		    strcmp(r->sweep, "baseline") ||
		    !(p = cell(rep, "posix_spawn", r->target, "baseline", r->value)))
			continue;
		for (size_t k = 0; k < sizeof(warm_goals) / sizeof(warm_goals[0]); k++) {
			if (strcmp(warm_goals[k].target, r->target))
				continue;
			if (!warm_head) {
				printf("\n== warm template targets: posix_spawn's latency over warm's "
				       "(> 1 is faster)\n");
				warm_head = true;
			}
			snprintf(detail, sizeof(detail), "%.1f / %.1f us", p->median_us, r->median_us);
			goal("posix_spawn/warm", r->target, "baseline", p->median_us / r->median_us,
			     warm_goals[k].goal, false, detail);
		}
	}
	if (bench_early_exits)
		printf("  note: %d server_async handles were readable (the child had exited) while "
		       "fl_pidfd_spawn_result still said -EINPROGRESS; counted as failed\n",
		       bench_early_exits);
}

/* Per sweep and method: the largest condition's figure over the smallest's. */
void report_summary(const struct bench_report *rep)
{
	static const char *const sweeps[] = { "rss", "threads", "fds", "inflight" };

	printf("\n== summary: largest condition / smallest, per sweep "
	       "(latency; inflight: spawns/s)\n");
	for (size_t s = 0; s < 4; s++) {
		for (size_t i = 0; i < rep->n; i++) {
			const struct bench_result *r = &rep->r[i];
			if (r->skip || strcmp(r->sweep, sweeps[s]))
				continue;
			if (find(rep, r->method, r->target, r->sweep, 0) != r)
				continue; /* one line per method */
			const struct bench_result *hi = find(rep, r->method, r->target, r->sweep, 1);
			double ratio = !strcmp(r->sweep, "inflight")
					       ? hi->spawns_per_s / r->spawns_per_s
					       : hi->median_us / r->median_us;
			double scale = !strcmp(r->unit, "bytes") ? 1.0 / (1 << 30) : 1;
			printf("  %-9s %-13s %-13s %g -> %g %s: %.2fx\n", r->sweep, r->target, r->method,
			       r->value * scale, hi->value * scale, scale < 1 ? "GiB" : r->unit, ratio);
		}
	}
	printf("\n== ratios to posix_spawn at baseline (median latency; < 1 is faster)\n");
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (!r->skip && !strcmp(r->sweep, "baseline"))
			printf("  %-13s %-14s %.3f\n", r->target, r->method, r->ratio);
	}
	/* throughput is compared within one cell only: posix_spawn with as
	 * many children in flight, never its sequential rate */
	printf("\n== spawns/s over posix_spawn's with as many in flight (> 1 is faster)\n");
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (!r->skip && !strcmp(r->sweep, "inflight") && strcmp(r->method, "posix_spawn"))
			printf("  %-13s %-14s %g in flight: %.3f\n", r->target, r->method, r->value,
			       r->spawns_ratio);
	}
	size_t failed = 0;
	for (size_t i = 0; i < rep->n; i++)
		failed += rep->r[i].skip ? 0 : (size_t)rep->r[i].failed;
	report_targets(rep);
	if (failed)
		printf("\n== %zu samples failed (column fail): not in the figures\n", failed);
}

static void json_str(FILE *f, const char *k, const char *v, const char *sep)
{
	fprintf(f, "\"%s\": \"", k);
	for (; v && *v; v++)
		if (*v == '"' || *v == '\\')
			fprintf(f, "\\%c", *v);
		else if ((unsigned char)*v >= 0x20)
			fputc(*v, f);
	fprintf(f, "\"%s", sep);
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Into fd, opened (and so checked) before the run; closed here. */
int report_json(const struct bench_report *rep, int fd, bool quick)
{
	FILE *f = fdopen(fd, "w");
	struct utsname u;
	char cpu[256], kernel[600];

	if (!f) {
		close(fd);
		return -1;
	}
	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	snprintf(kernel, sizeof(kernel), "%s %s", u.release, u.version);
	fprintf(f, "{\n  \"machine\": {");
	json_str(f, "cpu", cpu, ", ");
	fprintf(f, "\"cpus\": %ld, \"memory_kb\": %ld, ", sysconf(_SC_NPROCESSORS_ONLN),
		sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024));
	json_str(f, "arch", u.machine, "},\n  ");
	json_str(f, "kernel", kernel, ",\n  ");
	json_str(f, "glibc", gnu_get_libc_version(), ",\n  ");
	fprintf(f, "\"quick\": %s,\n  \"results\": [\n", quick ? "true" : "false");
	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		fprintf(f, "    {");
		json_str(f, "method", r->method, ", ");
		json_str(f, "target", r->target, ", ");
		json_str(f, "sweep", r->sweep, ", ");
		fprintf(f, "\"condition\": %.0f, ", r->value);
		json_str(f, "unit", r->unit, ", ");
		if (r->skip)
			json_str(f, "skipped", r->skip, "");
		else
			fprintf(f,
				"\"samples\": %d, \"failed\": %d, \"median_us\": %.2f, \"p10_us\": %.2f, "
				"\"p90_us\": %.2f, \"spawns_per_s\": %.1f, \"blocked_us\": %.2f, "
				"\"ratio_to_posix_spawn\": %.4f, \"blocked_ratio\": %.4f, "
				"\"spawns_ratio\": %.4f, \"untimed_setup_us\": %.1f",
				r->samples, r->failed, r->median_us, r->p10_us, r->p90_us, r->spawns_per_s,
				r->blocked_us, r->ratio, r->blocked_ratio, r->spawns_ratio, r->setup_us);
		if (r->note) {
			fprintf(f, ", ");
			json_str(f, "note", r->note, "");
		}
		fprintf(f, "}%s\n", i + 1 < rep->n ? "," : "");
	}
	fprintf(f, "  ],\n  \"targets\": [\n");
	for (size_t i = 0; i < ngoals; i++) {
		const struct bench_goal *g = &goals[i];
		fprintf(f, "    {");
		json_str(f, "figure", g->what, ", ");
		json_str(f, "target", g->target, ", ");
		json_str(f, "cell", g->cell, ", ");
		fprintf(f, "\"value\": %.4f, \"goal\": \"%s %.2f\", \"met\": %s}%s\n", g->value,
			g->at_most ? "<=" : ">=", g->limit, g->met ? "true" : "false",
			i + 1 < ngoals ? "," : "");
	}
	fprintf(f, "  ],\n  \"early_exits\": %d\n}\n", bench_early_exits);
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- plots ------------------------------------------------------------- */

struct plot {
	const char *sweep, *file, *title, *xlabel, *ylabel;
	double xscale;
	bool rate, blocked; /* the figure: spawns/s, blocked, else median latency */
};

static const struct plot plots[] = {
	{ "rss", "latency-vs-rss", "spawn latency vs parent resident memory", "parent RSS (GiB)",
	  "median latency (us)", 1.0 / (1024.0 * 1024 * 1024), false, false },
	{ "threads", "latency-vs-threads", "spawn latency vs busy threads in the parent",
	  "busy threads", "median latency (us)", 1, false, false },
	{ "fds", "latency-vs-fds", "spawn latency vs open fds in the parent", "open fds",
	  "median latency (us)", 1, false, false },
	{ "inflight", "throughput-vs-inflight", "throughput vs spawns in flight (one caller thread)",
	  "children in flight", "spawns/s", 1, true, false },
	{ "inflight", "blocked-vs-inflight", "caller blocked per spawn vs spawns in flight",
	  "children in flight", "median blocked per spawn (us)", 1, false, true },
};

/* Write DIR/NAME.dat (one block per method) and plot it; 1 if there was data. */
static int plot_one(const struct bench_report *rep, const char *dir, const struct plot *p,
		    FILE *gp)
{
	char dat[4200], png[4200];
	const char *target = NULL;
	int blocks = 0;

	for (size_t i = 0; i < rep->n && !target; i++)
		if (!rep->r[i].skip && !strcmp(rep->r[i].sweep, p->sweep))
			target = rep->r[i].target;
	if (!target)
		return 0;
	snprintf(dat, sizeof(dat), "%s/%s.dat", dir, p->file);
	snprintf(png, sizeof(png), "%s/%s.png", dir, p->file);
	FILE *f = fopen(dat, "we");
	if (!f)
		return -1;
	fprintf(gp, "set output '%s'\nset title '%s (%s)'\nset xlabel '%s'\nset ylabel '%s'\n",
		png, p->title, target, p->xlabel, p->ylabel);
	fprintf(gp, "set logscale y\n%s\nplot ", p->sweep[0] == 'f' ? "set logscale x" : "unset logscale x");
	for (size_t m = 0; m < bench_nmethods; m++) {
		int rows = 0;
		for (size_t i = 0; i < rep->n; i++) {
			const struct bench_result *r = &rep->r[i];
			if (r->skip || strcmp(r->sweep, p->sweep) || strcmp(r->target, target) ||
			    strcmp(r->method, bench_methods[m].name))
				continue;
			if (!rows)
				fprintf(f, "# %s\n", r->method);
			fprintf(f, "%g %g %g %g\n", r->value * p->xscale,
				p->rate ? r->spawns_per_s : p->blocked ? r->blocked_us : r->median_us,
				p->blocked ? r->blocked_us : r->p10_us, p->blocked ? r->blocked_us : r->p90_us);
			rows++;
		}
		if (!rows)
			continue;
		fprintf(f, "\n\n");
		fprintf(gp, "%s'%s' index %d using 1:2 with linespoints title '%s'",
			blocks ? ", " : "", dat, blocks, bench_methods[m].name);
		blocks++;
	}
	fprintf(gp, "\n");
	fclose(f);
	printf("  %s\n", png);
	return 1;
}

/* The baseline cells of every target side by side: where a warm template
 * (or any method) stands per program.  1 if there was data. */
static int plot_targets(const struct bench_report *rep, const char *dir, FILE *gp)
{
	const char *names[16];
	int nt = 0, blocks = 0;
	char dat[4200], png[4200];

	for (size_t i = 0; i < rep->n; i++) {
		const struct bench_result *r = &rep->r[i];
		if (r->skip || strcmp(r->sweep, "baseline"))
			continue;
		int k = 0;
		while (k < nt && strcmp(names[k], r->target))
			k++;
		if (k == nt && nt < 16)
			names[nt++] = r->target;
	}
	if (nt == 0)
		return 0;
	snprintf(dat, sizeof(dat), "%s/latency-by-target.dat", dir);
	snprintf(png, sizeof(png), "%s/latency-by-target.png", dir);
	FILE *f = fopen(dat, "we");
	if (!f)
		return -1;
	fprintf(gp, "set output '%s'\nset title 'spawn latency per program, one at a time'\n"
		    "set xlabel 'program'\nset ylabel 'median latency (us)'\nset logscale y\n"
		    "unset logscale x\nset xrange [0.5:%d.5]\nset xtics (", png, nt);
	for (int k = 0; k < nt; k++)
		fprintf(gp, "%s'%s' %d", k ? ", " : "", names[k], k + 1);
	fprintf(gp, ")\nplot ");
	for (size_t m = 0; m < bench_nmethods; m++) {
		int rows = 0;
		for (int k = 0; k < nt; k++) {
			const struct bench_result *r = cell(rep, bench_methods[m].name, names[k],
							    "baseline", 0);
			if (!r || r->skip || r->samples == 0)
				continue;
			if (!rows)
				fprintf(f, "# %s\n", r->method);
			fprintf(f, "%d %g %g %g\n", k + 1, r->median_us, r->p10_us, r->p90_us);
			rows++;
		}
		if (!rows)
			continue;
		fprintf(f, "\n\n");
		fprintf(gp, "%s'%s' index %d using 1:2 with linespoints title '%s'", blocks ? ", " : "",
			dat, blocks, bench_methods[m].name);
		blocks++;
	}
	fprintf(gp, "\nset xtics autofreq\nset autoscale x\n");
	fclose(f);
	printf("  %s\n", png);
	return 1;
}

int report_plots(const struct bench_report *rep, const char *dir)
{
	char script[4200];

	mkdir(dir, 0755);
	if (access("/usr/bin/gnuplot", X_OK) != 0) {
		printf("\nplots: gnuplot is not installed (apt-get install gnuplot-nox); "
		       "no plots written\n");
		return 0;
	}
	snprintf(script, sizeof(script), "%s/plots.gp", dir);
	FILE *gp = fopen(script, "we");
	if (!gp)
		return -1;
	fprintf(gp, "set terminal pngcairo size 900,560 noenhanced\nset key outside right\n"
		    "set grid\n");
	printf("\n== plots\n");
	if (plot_targets(rep, dir, gp) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++)
		if (plot_one(rep, dir, &plots[i], gp) < 0)
			return -1;
	fclose(gp);
	char *argv[] = { "gnuplot", script, NULL };
	int st;
	pid_t pid = fl_spawn("/usr/bin/gnuplot", argv, NULL, NULL, 0, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench: gnuplot failed on %s\n", script);
		return -1;
	}
	return 0;
}
