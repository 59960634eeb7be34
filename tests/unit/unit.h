/* unit: the suite's small unit-test runner.
 *
 *   #include "unit.h"
 *   TEST(buf_grows) { struct buf b = BUF_INIT; ...; CHECK(b.len == 3); }
 *
 * Every TEST registers itself; the runner's main() runs them all in order, each
 * in a forked child (so a crash or an exit() fails that test only, and an
 * ASan report names it), and prints one line per failure and a closing
 * "N passed, N failed". A failed CHECK ends its test. */
#ifndef ESTAFETTE_UNIT_H
#define ESTAFETTE_UNIT_H

#include <stddef.h>
#include <string.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
_Noreturn void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void unit_check_mem(const char *file, int line, const char *what,
		    const void *got, size_t got_len, const void *want, size_t want_len);

/* A scratch directory for this test (removed after it), as a static string. */
const char *unit_tmpdir(void);

#define TEST(name)                                                               \
	static void name(void);                                                  \
	__attribute__((constructor)) static void unit_reg_##name(void)           \
	{                                                                        \
		unit_register(#name, name);                                      \
	}                                                                        \
	static void name(void)

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond))                                                     \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);       \
	} while (0)

#define CHECK_INT(got, want)                                                     \
	do {                                                                     \
		long long g_ = (long long)(got), w_ = (long long)(want);         \
		if (g_ != w_)                                                    \
			unit_fail(__FILE__, __LINE__, "%s == %lld, want %lld",   \
				  #got, g_, w_);                                 \
	} while (0)

#define CHECK_STR(got, want)                                                     \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                            \
		if (g_ == NULL || strcmp(g_, w_) != 0)                           \
			unit_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", \
				  #got, g_ ? g_ : "(null)", w_);                 \
	} while (0)

#define CHECK_MEM(got, got_len, want, want_len)                                  \
	unit_check_mem(__FILE__, __LINE__, #got, (got), (got_len), (want), (want_len))

/* A struct buf against a C string literal. */
#define CHECK_BUF(b, want) CHECK_MEM((b).data, (b).len, (want), strlen(want))

#endif
