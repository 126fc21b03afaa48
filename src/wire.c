/* SPDX-License-Identifier: MIT */
/*
 * wire.c - a spec in wire form (see wire.h), for the spawn server.
 *
 * The server trusts nothing in a request: every length is checked against
 * the message, every string must end inside its section, every vector is
 * NULL-terminated by us.  The buffer is malloc'ed and every section starts
 * 8-aligned in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

struct out {
	char *buf; /* NULL: measure only */
	size_t n;
};

/* A section: its length in 8 bytes (so that its bytes are 8-aligned, as
 * the structs in it need), the bytes, zeros to the next multiple of 8. */
static void put(struct out *o, const void *p, size_t len)
{
	uint64_t l = len;

	if (o->buf) {
		memcpy(o->buf + o->n, &l, 8);
		if (len)
			memcpy(o->buf + o->n + 8, p, len);
		memset(o->buf + o->n + 8 + len, 0, ALIGN8(len) - len);
	}
	o->n += 8 + ALIGN8(len);
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, s ? strlen(s) + 1 : 0);
}

/* A vector: the strings back to back, each with its NUL; absent: length 0,
 * empty: one byte (a count of zero strings would look absent). */
static void put_strv(struct out *o, char *const *v)
{
	size_t len = 0, at;

	if (!v) {
		put(o, NULL, 0);
		return;
	}
	for (size_t i = 0; v[i]; i++)
		len += strlen(v[i]) + 1;
	len += 1; /* the final empty string ends the vector */
	if (o->buf) {
		uint64_t l = len;
		memcpy(o->buf + o->n, &l, 8);
		at = o->n + 8;
		for (size_t i = 0; v[i]; i++) {
			size_t k = strlen(v[i]) + 1;
			memcpy(o->buf + at, v[i], k);
			at += k;
		}
		o->buf[at++] = 0;
		memset(o->buf + at, 0, ALIGN8(len) - len);
	}
	o->n += 8 + ALIGN8(len);
}

size_t fl__wire_pack(void *buf, const struct fl__spec *s, const struct fl__wfd *map, size_t nmap)
{
	struct out o = { buf, 0 };

	put(&o, s, sizeof(*s));
	put_str(&o, s->path);
	put_str(&o, s->search);
	put_str(&o, s->cwd);
	put_strv(&o, s->argv);
	put_strv(&o, s->envp);
	put_strv(&o, s->shell_argv);
	put(&o, s->affinity, s->affinity ? s->affinity_size : 0);
	put(&o, s->mpol_nodes, s->mpol_nodes ? (s->mpol_maxnode + 7) / 8 : 0);
	put(&o, s->groups, s->ngroups * sizeof(gid_t));
	put(&o, s->actions, s->nactions * sizeof(struct fl_action));
	for (size_t i = 0; i < s->nactions; i++) {
		const struct fl_action *a = &s->actions[i];
		if (a->type == FL_ACTION_OPEN) {
			const struct fl_open *op = (const struct fl_open *)(uintptr_t)a->arg;
			put(&o, op, sizeof(*op));
			put_str(&o, op->path);
		} else if (a->type == FL_ACTION_CHDIR) {
			put_str(&o, (const char *)(uintptr_t)a->arg);
		}
	}
	put(&o, s->keep, s->nkeep * sizeof(int));
	put(&o, map, nmap * sizeof(*map));
	return o.n;
}

struct in {
	char *buf;
	size_t len, at;
	int bad;
};

/* The next section: its bytes (NULL if empty) and length. */
static void *get(struct in *in, size_t *ret_len)
{
	uint64_t l;

	*ret_len = 0;
	if (in->bad || in->len - in->at < 8) {
		in->bad = 1;
		return NULL;
	}
	memcpy(&l, in->buf + in->at, 8);
	if (l > in->len - in->at - 8) {
		in->bad = 1;
		return NULL;
	}
	void *p = l ? in->buf + in->at + 8 : NULL;
	in->at += 8 + ALIGN8((size_t)l);
	if (in->at > in->len)
		in->at = in->len;
	*ret_len = (size_t)l;
	return p;
}

static const char *get_str(struct in *in)
{
	size_t l;
	char *p = get(in, &l);

	if (p && p[l - 1] != 0)
		in->bad = 1;
	return in->bad ? NULL : p;
}

/* A vector section: its strings and their count (-1 if absent). */
static char *get_strv(struct in *in, long *count)
{
	size_t l;
	char *p = get(in, &l);

	*count = -1;
	if (!p)
		return NULL;
	if (p[l - 1] != 0) {
		in->bad = 1;
		return NULL;
	}
	long n = 0;
	for (size_t i = 0; i < l && p[i]; i += strlen(p + i) + 1)
		n++;
	*count = n;
	return p;
}

static char **fill_strv(char **slots, char *p, long n)
{
	if (n < 0)
		return NULL;
	for (long i = 0; i < n; i++) {
		slots[i] = p;
		p += strlen(p) + 1;
	}
	slots[n] = NULL;
	return slots;
}

/* The section holds exactly n objects of size sz (n may be 0). */
static void *get_array(struct in *in, size_t n, size_t sz)
{
	size_t l;
	void *p = get(in, &l);

	if (l != n * sz || (n && n > ((size_t)-1) / sz))
		in->bad = 1;
	return in->bad ? NULL : p;
}

int fl__wire_unpack(void *buf, size_t len, struct fl__spec *s, struct fl__wfd **map,
		    size_t *nmap, void **ret_mem)
{
	struct in in = { buf, len, 0, 0 };
	size_t l;
	long nargv, nenvp, nshell;
	void *p = get(&in, &l);

	*ret_mem = NULL;
	if (!p || l != sizeof(*s))
		return -EINVAL;
	memcpy(s, p, sizeof(*s));
	s->path = get_str(&in);
	s->search = get_str(&in);
	s->cwd = get_str(&in);
	char *argv = get_strv(&in, &nargv);
	char *envp = get_strv(&in, &nenvp);
	char *shell = get_strv(&in, &nshell);
	s->affinity = get(&in, &s->affinity_size);
	const unsigned long *nodes = get(&in, &l);
	if (nodes && l < (s->mpol_maxnode + 7) / 8)
		in.bad = 1;
	s->mpol_nodes = nodes;
	if (!nodes)
		s->mpol_maxnode = 0;
	s->groups = get_array(&in, s->ngroups, sizeof(gid_t));
	if (s->nactions > (1u << 24))
		return -EINVAL;
	struct fl_action *acts = get_array(&in, s->nactions, sizeof(struct fl_action));
	s->actions = acts;
	for (size_t i = 0; i < s->nactions && !in.bad; i++) {
		if (acts[i].type == FL_ACTION_OPEN) {
			struct fl_open *op = get_array(&in, 1, sizeof(*op));
			const char *path = get_str(&in);
			if (op) {
				op->path_u64 = 0;
				op->path = path;
			}
			acts[i].arg = (uintptr_t)op;
			if (!path)
				in.bad = 1;
		} else if (acts[i].type == FL_ACTION_CHDIR) {
			const char *path = get_str(&in);
			acts[i].arg = (uintptr_t)path;
			if (!path)
				in.bad = 1;
		}
	}
	s->keep = get_array(&in, s->nkeep, sizeof(int));
	void *m = get(&in, &l);
	if (in.bad || l % sizeof(struct fl__wfd))
		return -EINVAL;
	*map = m;
	*nmap = l / sizeof(struct fl__wfd);
	/* the pointer vectors */
	size_t slots = (size_t)(nargv + 1) + (size_t)(nenvp + 1) + (size_t)(nshell + 1);
	char **mem = malloc(slots * sizeof(char *));
	if (!mem)
		return -ENOMEM;
	s->argv = fill_strv(mem, argv, nargv);
	s->envp = fill_strv(mem + nargv + 1, envp, nenvp);
	s->shell_argv = fill_strv(mem + nargv + 1 + nenvp + 1, shell, nshell);
	*ret_mem = mem;
	if (!s->argv || !s->envp) {
		free(mem);
		*ret_mem = NULL;
		return -EINVAL;
	}
	return 0;
}
