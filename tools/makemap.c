/* makemap: compile a text map into a cdb file atomically, or query a map.
 *
 *   makemap [-l] SOURCE [DEST]                 DEST defaults to SOURCE.cdb
 *   makemap -q [-l] [-t SCHEME] KEY MAP.cdb    SCHEME: exact ip domain address
 *
 * Runs as the administrator; needs no privilege beyond writing DEST's
 * directory. Trusts nothing in SOURCE (lib/map bounds and checks it). Exit
 * codes, as grep's: 0 done or found, 1 not found, 2 error or usage.
 * The manual is makemap(8). */
#include "buf.h"
#include "map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_FOUND = 0, EXIT_NOTFOUND = 1, EXIT_TROUBLE = 2 };

static _Noreturn void usage(void)
{
	fputs("usage: makemap [-l] SOURCE [DEST]\n"
	      "       makemap -q [-l] [-t exact|ip|domain|address] KEY MAP.cdb\n", stderr);
	exit(EXIT_TROUBLE);
}

static int compile(const char *src, const char *dest, unsigned flags)
{
	struct buf err = BUF_INIT, def = BUF_INIT;
	if (dest == NULL) {
		buf_printf(&def, "%s.cdb", src);
		dest = buf_cstr(&def);
	}
	long n = map_compile(src, dest, flags, &err);
	if (n < 0)
		fprintf(stderr, "makemap: %s\n", buf_cstr(&err));
	buf_free(&err);
	buf_free(&def);
	return n < 0 ? EXIT_TROUBLE : 0;
}

/* Look key up by scheme; -t schemes also report which key matched. */
static int lookup(struct map *m, const char *scheme, const char *key, int lower,
		  struct buf *value, struct buf *matched)
{
	size_t len = strlen(key);
	if (strcmp(scheme, "exact") == 0)
		return lower ? map_lookup_lower(m, key, len, value) : map_lookup(m, key, len, value);
	if (strcmp(scheme, "ip") == 0)
		return map_lookup_ip(m, key, value, matched);
	if (strcmp(scheme, "domain") == 0)
		return map_lookup_domain(m, key, len, value, matched);
	if (strcmp(scheme, "address") == 0)
		return map_lookup_address(m, key, len, value, matched);
	fprintf(stderr, "makemap: unknown scheme %s\n", scheme);
	usage();
}

static int query(const char *key, const char *path, const char *scheme, int lower)
{
	struct buf err = BUF_INIT, value = BUF_INIT, matched = BUF_INIT;
	struct map *m = map_open(path, &err);
	if (m == NULL) {
		fprintf(stderr, "makemap: %s\n", buf_cstr(&err));
		buf_free(&err);
		return EXIT_TROUBLE;
	}
	int r = lookup(m, scheme, key, lower, &value, &matched), rc = EXIT_NOTFOUND;
	if (r == MAP_ERROR) {
		fprintf(stderr, "makemap: %s\n", map_error(m));
		rc = EXIT_TROUBLE;
	} else if (r == MAP_FOUND) {
		if (strcmp(scheme, "exact") != 0) {
			fwrite(matched.data, 1, matched.len, stdout);
			putchar(' ');
		}
		fwrite(value.data, 1, value.len, stdout);
		putchar('\n');
		rc = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_FOUND : EXIT_TROUBLE;
		if (rc == EXIT_TROUBLE)
			perror("makemap: stdout");
	}
	map_close(m);
	buf_free(&err);
	buf_free(&value);
	buf_free(&matched);
	return rc;
}

int main(int argc, char **argv)
{
	int q = 0, lower = 0, c;
	const char *scheme = NULL;
	while ((c = getopt(argc, argv, "lqt:")) != -1) {
		switch (c) {
		case 'l': lower = 1; break;
		case 'q': q = 1; break;
		case 't': scheme = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (q) {
		if (argc != 2)
			usage();
		return query(argv[0], argv[1], scheme ? scheme : "exact", lower);
	}
	if (scheme || argc < 1 || argc > 2)
		usage();
	return compile(argv[0], argc == 2 ? argv[1] : NULL, lower ? MAP_COMPILE_LOWER : 0);
}
