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
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- plots ------------------------------------------------------------- */

struct plot {
	const char *sweep, *file, *title, *xlabel, *ylabel;
	double xscale;
	bool rate;
};

static const struct plot plots[] = {
	{ "rss", "latency-vs-rss", "spawn latency vs parent resident memory", "parent RSS (GiB)",
	  "median latency (us)", 1.0 / (1024.0 * 1024 * 1024), false },
	{ "threads", "latency-vs-threads", "spawn latency vs busy threads in the parent",
	  "busy threads", "median latency (us)", 1, false },
	{ "fds", "latency-vs-fds", "spawn latency vs open fds in the parent", "open fds",
	  "median latency (us)", 1, false },
	{ "inflight", "throughput-vs-inflight", "throughput vs spawns in flight (one caller thread)",
	  "children in flight", "spawns/s", 1, true },
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
				p->rate ? r->spawns_per_s : r->median_us, r->p10_us, r->p90_us);
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
