/*
 * A tiny assertion helper for keyleak's unit tests: each CHECK prints a
 * TAP line ("ok N - what" / "not ok N - what"); tests/run.sh counts them.
 */
#ifndef KL_UNIT_H
#define KL_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_count, unit_failed;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		unit_count++;                                                \
		if (cond) {                                                  \
			printf("ok %d - ", unit_count);                      \
		} else {                                                     \
			unit_failed++;                                       \
			printf("not ok %d - %s:%d: ", unit_count, __FILE__,  \
			       __LINE__);                                    \
		}                                                            \
		printf(__VA_ARGS__);                                         \
		printf("\n");                                                \
	} while (0)

static inline int unit_str_eq(const char *got, const char *want)
{
	return got && strcmp(got, want) == 0;
}

static inline const char *unit_str_or_null(const char *s)
{
	return s ? s : "(null)";
}

#define CHECK_STR(got, want, what)                                           \
	CHECK(unit_str_eq((got), (want)), "%s: got \"%s\", want \"%s\"",      \
	      what, unit_str_or_null(got), want)

#define UNIT_DONE() (unit_failed ? 1 : 0)

#endif
