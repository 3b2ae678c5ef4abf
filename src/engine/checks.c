/*
 * Owns the precision checks common to every key rule: a candidate that
 * looks like documentation (placeholder words, ellipses, angle brackets,
 * runs of one character, counting sequences, letters or digits that count
 * between other characters, runs that count, a piece pasted twice, low
 * entropy) is not a key.
 * One mechanism for all rules; rules add their own stopwords.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "engine/checks.h"

/*
 * Words that setup guides put inside placeholder keys. Matched in lower,
 * UPPER and Capitalized form only: a random key body contains one of these
 * by chance far less often than in any case mix. Short common words
 * ("here", "key") would reject about one real key in a thousand, and the
 * placeholders that use them ("YOUR_KEY_HERE") are caught by "your".
 */
static const char *const placeholder_words[] = {
	"example", "sample", "dummy", "test", "placeholder", "your", "fake",
	"redacted", "changeme", "xxxx", NULL
};

/* Characters no real key contains but templates do. */
static const char *const placeholder_marks[] = {
	"...", "\xE2\x80\xA6" /* … */, "<", ">", "{", "}", "${", "%s", NULL
};

#define MAX_RUN 7       /* a longer run of one character is a filler */
#define MAX_SEQUENCE 7  /* abcdefgh, 12345678: a longer run is typed */
#define MAX_SEQUENCE_CI 9 /* aBcDeFgHiJ: the same, ignoring case */
#define MAX_PERIOD 8    /* abcd1234abcd1234...: a short unit typed again */
#define MIN_REPEAT_SPAN 12 /* ... where s[i] == s[i - period] this long */
#define MIN_ENTROPY_PLACEHOLDER 2.5
#define MAX_LETTER_SEQUENCE 9 /* a1b2c3..., ZzYyXx...: the letters alone count */
#define MAX_DIGIT_SEQUENCE 9 /* a1b2...f6a7b8c9d0e1: the digits alone count */
#define MIN_COUNTING_RUN 3 /* aaaabbbbcccc: runs of this length or more ... */
#define MAX_COUNTING_RUNS 2 /* ... counting more times than this are typed */
#define REPEAT_CHUNK 16 /* a 16-character piece seen twice: pasted, not random */

double kl_shannon_entropy(const char *s, size_t len)
{
	size_t counts[256] = { 0 }, i;
	double h = 0;

	if (!len)
		return 0;
	for (i = 0; i < len; i++)
		counts[(unsigned char)s[i]]++;
	for (i = 0; i < 256; i++) {
		if (counts[i]) {
			double p = (double)counts[i] / (double)len;

			h -= p * log2(p);
		}
	}
	return h;
}

static bool has_word_forms(const char *s, size_t len, const char *word)
{
	char forms[3][32];
	size_t n = strlen(word), i;
	int f;

	if (n >= sizeof(forms[0]))
		return false;
	for (i = 0; i <= n; i++) {
		forms[0][i] = word[i];
		forms[1][i] = (char)toupper((unsigned char)word[i]);
		forms[2][i] = word[i];
	}
	forms[2][0] = forms[1][0];
	for (f = 0; f < 3; f++)
		if (memmem(s, len, forms[f], n))
			return true;
	return false;
}

/* +1 or -1 when b follows a in the alphabet or the digits (ci: ignoring
 * case), 0 otherwise. Digits wrap (...8901, 1098...): typed, too. */
static int step(char a, char b, bool ci)
{
	unsigned char x = (unsigned char)a, y = (unsigned char)b;

	if (!isalnum(x) || !isalnum(y) || isdigit(x) != isdigit(y))
		return 0;
	if (ci) {
		x = (unsigned char)tolower(x);
		y = (unsigned char)tolower(y);
	}
	if (isdigit(x) && (x - '0' + 1) % 10 == y - '0')
		return 1;
	if (isdigit(x) && (y - '0' + 1) % 10 == x - '0')
		return -1;
	return y == x + 1 ? 1 : y + 1 == x ? -1 : 0;
}

/*
 * Runs of one character, counting sequences (abcdef, 987654, aBcDeFgH)
 * and a short unit repeated (ab12ab12ab12...). Chance alone makes these
 * in a random key body less than once in 10^9 keys.
 */
static bool has_long_run(const char *s, size_t len)
{
	size_t i, p, run = 1, seq = 1, seq_ci = 1, span;
	int dir = 0, dir_ci = 0, d;

	for (i = 1; i < len; i++) {
		run = s[i] == s[i - 1] ? run + 1 : 1;
		d = step(s[i - 1], s[i], false);
		seq = d && d == dir ? seq + 1 : d ? 2 : 1;
		dir = d;
		d = step(s[i - 1], s[i], true);
		seq_ci = d && d == dir_ci ? seq_ci + 1 : d ? 2 : 1;
		dir_ci = d;
		if (run > MAX_RUN || seq > MAX_SEQUENCE || seq_ci > MAX_SEQUENCE_CI)
			return true;
	}
	for (p = 2; p <= MAX_PERIOD; p++)
		for (i = p, span = 0; i < len; i++) {
			span = s[i] == s[i - p] ? span + 1 : 0;
			if (span >= MIN_REPEAT_SPAN)
				return true;
		}
	return false;
}

/*
 * Test keys typed by hand interleave a counting alphabet with digits or
 * case pairs (a1b2c3d4..., aB12cD34..., ZzYyXx..., Zx9YwV8u...): the
 * letters alone, ignoring case and a letter typed twice, count up or down.
 * Ten such steps by chance are rarer than one key in 10^9; hex keys cannot
 * reach ten (a-f) with letters, but a hex key typed by hand
 * (a1b2c3d4e5f6a7b8c9d0e1f2...) has digits that count on, 9 wrapping to 0.
 */
static bool class_counts(const char *s, size_t len, bool digits)
{
	int n = digits ? 10 : 26, prev = -1, dir = 0, d;
	size_t i, seq = 1;

	for (i = 0; i < len; i++) {
		int c = digits ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a';

		if (c < 0 || c >= n || c == prev)
			continue;
		d = prev < 0 ? 0 : (digits ? (prev + 1) % n : prev + 1) == c ? 1
		    : (digits ? (c + 1) % n : c + 1) == prev ? -1 : 0;
		seq = d && d == dir ? seq + 1 : d ? 2 : 1;
		dir = d;
		prev = c;
		if (seq > (digits ? MAX_DIGIT_SEQUENCE : MAX_LETTER_SEQUENCE))
			return true;
	}
	return false;
}

/*
 * Runs of one character whose characters count (aaaabbbbccccdddd,
 * 111222333): a typed filler too short for the run and sequence checks.
 * Three runs of three in a random body: never.
 */
static bool runs_count(const char *s, size_t len)
{
	size_t i = 0, j, chain = 0;
	char prev = 0;

	while (i < len) {
		for (j = i; j < len && s[j] == s[i]; j++)
			;
		if (j - i < MIN_COUNTING_RUN)
			chain = 0;
		else if (chain && step(prev, s[i], false) == 1)
			chain++;
		else
			chain = 1;
		if (chain > MAX_COUNTING_RUNS)
			return true;
		prev = s[i];
		i = j;
	}
	return false;
}

/*
 * A long test key made by pasting one random piece several times
 * (W5zb...JrO W5zb...JrO): the periodic check above only sees short
 * units. Two equal 16-character pieces in a random body: never.
 */
static bool has_repeated_chunk(const char *s, size_t len)
{
	size_t i;

	if (len > 512) /* keys are far shorter; bounds a user rule's capture */
		len = 512;
	for (i = 0; i + 2 * REPEAT_CHUNK <= len; i++)
		if (memmem(s + i + REPEAT_CHUNK, len - i - REPEAT_CHUNK, s + i,
			   REPEAT_CHUNK))
			return true;
	return false;
}

bool kl_contains_word_ci(const char *s, size_t len, const kl_strlist *words)
{
	size_t i, j, k;

	for (k = 0; k < words->len; k++) {
		const char *w = words->items[k];
		size_t n = strlen(w);

		if (!n || n > len)
			continue;
		for (i = 0; i + n <= len; i++) {
			for (j = 0; j < n; j++)
				if (tolower((unsigned char)s[i + j]) !=
				    tolower((unsigned char)w[j]))
					break;
			if (j == n)
				return true;
		}
	}
	return false;
}

bool kl_is_placeholder(const kl_rule *rule, const char *s, size_t len)
{
	size_t i;

	for (i = 0; placeholder_marks[i]; i++)
		if (memmem(s, len, placeholder_marks[i],
			   strlen(placeholder_marks[i])))
			return true;
	for (i = 0; placeholder_words[i]; i++)
		if (has_word_forms(s, len, placeholder_words[i]))
			return true;
	if (rule && kl_contains_word_ci(s, len, &rule->stopwords))
		return true;
	if (has_long_run(s, len) || class_counts(s, len, false) ||
	    class_counts(s, len, true) || runs_count(s, len) ||
	    has_repeated_chunk(s, len))
		return true;
	return len >= 16 && kl_shannon_entropy(s, len) < MIN_ENTROPY_PLACEHOLDER;
}
