/* Unit tests for src/engine/checks.c: the shared placeholder check. */
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"
#include "unit.h"

static bool ph(const char *s)
{
	return kl_is_placeholder(NULL, s, strlen(s));
}

/* A random body from alphabet, reproducible (xorshift). */
static void random_body(char *out, size_t n, const char *alphabet,
			uint64_t *state)
{
	size_t i, k = strlen(alphabet);

	for (i = 0; i < n; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		out[i] = alphabet[*state % k];
	}
	out[n] = '\0';
}

static void placeholders(void)
{
	static const char *const yes[] = {
		"sk-proj-YOUR_KEY_HERE", "your-api-key-here", "<your_key>",
		"sk-...", "AIza\xE2\x80\xA6", "${GROQ_API_KEY}",
		"hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"gsk_0000000000000000000000000000000000000000000000000000",
		"sk-EXAMPLEkey9f8e7d6c5b4a3f2e1d0c9b8a7",
		"hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ12345678",   /* case-mixed a..z */
		"csk-abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234", /* unit */
		"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",
		"sk-1234567890Qw9Zr2Lp0Xv7Tn4Mb6Hk1Jc8", "tvly-zyxwvutsrqQw9Zr2Lp0Xv7Tn4M",
		"r8_dummy7Qw9Zr2Lp0Xv7Tn4Mb6Hk1Jc8Fd3Gs", "sk-placeholder-0Xv7Tn4Mb6",
		/* letters counting between digits or case pairs */
		"aB12cD34eF56gH78iJ90kL12mN34oP56", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
		"Zx9YwV8uT7sR6qP5oN4mL3kJ2iH1gF0e", "ZzYyXxWwVvUuTtSsRrQq9Pp8Oo7Nn6Mm5",
		/* hex typed by hand: the digits count on, 9 wrapping to 0 */
		"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6",
		"sq0atp-812erere3wewew45678901", "Qw9Zr2Lp78901234Xv7Tn4Mb6",
		/* runs of one character that count */
		"aaaabbbbccccddddeeeeffffggg1", "Qw9Zr2Lp000111222Xv7Tn4Mb6",
		/* one piece pasted twice */
		"Qw9Zr2Lp0Xv7Tn4Mb6Hk1Jc8Qw9Zr2Lp0Xv7Tn4Mb6Hk1Jc8",
		NULL
	};
	/* Real-shaped keys are generated, never written down. */
	static const char *const no[] = {
		"gsk_{52}", "hf_{34}", "sk-or-v1-{64:hex}", NULL
	};
	size_t i;

	for (i = 0; yes[i]; i++)
		CHECK(ph(yes[i]), "placeholder: %s", yes[i]);
	for (i = 0; no[i]; i++) {
		uint64_t seed = 11 + i;
		char *key = kl_template_expand(no[i], &seed);

		CHECK(!ph(key), "not a placeholder: random %s", no[i]);
		free(key);
	}
}

/* Random bodies of every alphabet the rules use almost never trip the
 * checks: at most 2 in 20000 (the real rate is about 1 in 50000). */
static void random_keys_pass(void)
{
	static const char *const alphabets[] = {
		"0123456789abcdef", "0123456789",
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
		NULL
	};
	uint64_t state = 0x9E3779B97F4A7C15ull;
	char body[200];
	size_t a, i, rejected;

	for (a = 0; alphabets[a]; a++) {
		rejected = 0;
		for (i = 0; i < 5000; i++) {
			random_body(body, 32 + (i % 5) * 32, alphabets[a], &state);
			rejected += ph(body);
		}
		CHECK(rejected <= 2, "random keys over %.16s...: %zu of 5000 "
		      "taken for placeholders", alphabets[a], rejected);
	}
}

static void stopwords_and_entropy(void)
{
	kl_rule rule;

	memset(&rule, 0, sizeof(rule));
	kl_strlist_push(&rule.stopwords, "acme");
	CHECK(kl_is_placeholder(&rule, "gsk_AcMeQw9Zr2Lp0Xv7Tn4Mb6", 26),
	      "per-rule stopword, any case");
	CHECK(!ph("gsk_AcMeQw9Zr2Lp0Xv7Tn4Mb6"), "not without the rule");
	kl_strlist_free(&rule.stopwords);
	CHECK(kl_shannon_entropy("aaaa", 4) == 0, "entropy of one symbol");
	CHECK(kl_shannon_entropy("abcd", 4) == 2, "entropy of four symbols");
	CHECK(ph("abababababababababab"), "low entropy");
}

int main(void)
{
	placeholders();
	random_keys_pass();
	stopwords_and_entropy();
	return UNIT_DONE();
}
