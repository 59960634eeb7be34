/* fuzz: what every fuzz target shares (fuzz/README).
 *
 * A target is fuzz/NAME_fuzz.c defining LLVMFuzzerTestOneInput(); it is built
 * twice: with clang and libFuzzer (make fuzz) and with the project's compiler
 * and fuzz/regress_main.c (make fuzz-regress), which runs it over the seed
 * corpus and the saved crashes. Targets must be deterministic, must not leak,
 * and must bound their own cost (skip inputs that would be slow by design).
 * FUZZ_CHECK aborts on a broken invariant so that both builds report it. */
#ifndef ESTAFETTE_FUZZ_H
#define ESTAFETTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",      \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/* Input split: the first bytes of an input choose options and the sizes of
 * the pieces an incremental parser is fed, so the fuzzer controls both. */
struct fuzz_in {
	const uint8_t *p;
	size_t len;
	uint32_t rng;
};

static inline void fuzz_in_init(struct fuzz_in *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->len = size;
	in->rng = 0x9e3779b9u;
}

/* The next byte of input as an option (0 when the input is used up). */
static inline unsigned fuzz_take_byte(struct fuzz_in *in)
{
	if (in->len == 0)
		return 0;
	unsigned c = in->p[0];
	in->p++;
	in->len--;
	in->rng = in->rng * 1103515245u + 12345u + c;
	return c;
}

/* A piece size between 1 and max (max >= 1), from the seeded generator. */
static inline size_t fuzz_piece(struct fuzz_in *in, size_t max)
{
	in->rng = in->rng * 1103515245u + 12345u;
	uint32_t r = in->rng >> 8;
	/* mostly small pieces (1-8 bytes), sometimes large ones */
	if ((r & 3) != 0)
		max = max < 8 ? max : 8;
	return 1 + (size_t)(r >> 2) % max;
}

/* 1 if the two byte strings are equal (either pointer may be NULL when its
 * length is 0, as in an empty struct buf). */
static inline int fuzz_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A NUL-terminated copy of len bytes (caller frees). */
static inline char *fuzz_strndup(const void *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* A private directory for targets that need files (config, map): on
 * /dev/shm when there is one, where fsync costs nothing; removed at exit
 * with the files named in it by fuzz_tmpfile(). */
static char fuzz_dir[64];
static char fuzz_files[4][96];

static inline void fuzz_tmp_cleanup(void)
{
	for (size_t i = 0; i < sizeof fuzz_files / sizeof fuzz_files[0]; i++)
		if (fuzz_files[i][0])
			unlink(fuzz_files[i]);
	if (fuzz_dir[0])
		rmdir(fuzz_dir);
}

/* The path of private file number i (0-3). */
static inline const char *fuzz_tmpfile(size_t i, const char *name)
{
	if (fuzz_dir[0] == '\0') {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(fuzz_dir, sizeof fuzz_dir, "%s/estafette-fuzz-XXXXXX", base);
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		atexit(fuzz_tmp_cleanup);
	}
	if (i >= sizeof fuzz_files / sizeof fuzz_files[0])
		abort();
	snprintf(fuzz_files[i], sizeof fuzz_files[i], "%s/%s", fuzz_dir, name);
	return fuzz_files[i];
}

/* Replace the file at path with len bytes of data. */
static inline void fuzz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

#endif
