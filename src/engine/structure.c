/*
 * Owns the structure checks rules name in their "check" field: what a
 * regex cannot see (GitHub's CRC32 in base62, the DER / OpenSSH / OpenPGP
 * header inside a private key block, the user id inside a Discord token,
 * the claims inside a JSON Web Token).
 * Each check can also complete a random candidate into a valid one, which
 * is how `rules --check` turns example templates into keys that pass.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "engine/structure.h"

struct kl_check {
	const char *name;
	/* The structure check is stronger evidence than the shared placeholder
	 * words (a 1,600-character key body holds "test" now and then). */
	bool replaces_placeholder;
	/* ... and runs it itself on the part that matters (a URL's password). */
	bool reads_placeholder;
	bool (*verify)(const char *s, size_t len);
	/* Instead of verify, for a check that reads its rule's data. */
	bool (*verify_rule)(const kl_rule *r, const char *s, size_t len);
	void (*complete)(char *s, size_t len);
};

/* ------------------------------------------------------------- base64 */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Base64 characters scattered through a text (a PEM body spans lines):
 * pos[i] is the offset of the i-th one. Decoding and re-encoding through
 * pos keeps the layout, so a completed key has its template's shape.
 */
typedef struct b64_run {
	size_t *pos;
	size_t n;
} b64_run;

static void b64_decode(const char *s, const b64_run *r, kl_buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < r->n; i++) {
		acc = (acc << 6) | (uint32_t)b64_value((unsigned char)s[r->pos[i]]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			kl_buf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
}

/* Write bytes back over the run (bytes holds r->n * 6 / 8 of them). */
static void b64_encode(char *s, const b64_run *r, const unsigned char *bytes,
		       size_t n_bytes, bool url)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		size_t bit = i * 6, byte = bit / 8, shift = bit % 8;
		unsigned v = byte < n_bytes ? (unsigned)bytes[byte] << 8 : 0;

		if (byte + 1 < n_bytes)
			v |= bytes[byte + 1];
		v = (v >> (10 - shift)) & 0x3f;
		s[r->pos[i]] = url && v == 62 ? '-' : url && v == 63 ? '_'
						      : b64_chars[v];
	}
}

/* --------------------------------------------------- crc32-base62 tokens */

static const char base62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define CRC_DIGITS 6

/* GitHub's 2021 format (also npm's): prefix_ + random + 6 base62 digits of
 * the CRC32 of the random part, most significant first, zero-padded. */
static void crc32_base62(const char *s, size_t len, char out[CRC_DIGITS])
{
	uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)s, (uInt)len);
	int i;

	for (i = CRC_DIGITS - 1; i >= 0; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
}

/* The random part plus checksum: everything after the last '_'. */
static bool crc_body(const char *s, size_t len, size_t *start)
{
	const char *u = memrchr(s, '_', len);

	*start = u ? (size_t)(u - s) + 1 : 0;
	return len - *start > CRC_DIGITS;
}

static bool verify_crc32_base62(const char *s, size_t len)
{
	char want[CRC_DIGITS];
	size_t b;

	if (!crc_body(s, len, &b))
		return false;
	crc32_base62(s + b, len - b - CRC_DIGITS, want);
	return memcmp(want, s + len - CRC_DIGITS, CRC_DIGITS) == 0;
}

static void complete_crc32_base62(char *s, size_t len)
{
	size_t b;

	if (crc_body(s, len, &b))
		crc32_base62(s + b, len - b - CRC_DIGITS, s + len - CRC_DIGITS);
}

/* -------------------------------------------------- private key blocks */

/*
 * A PEM / OpenPGP armored block as found in a file: BEGIN line, optional
 * "Name: value" headers, base64 body, optional OpenPGP "=XXXX" CRC line,
 * END line. Lines may also be separated by a literal backslash-n (keys
 * inside JSON strings, e.g. cloud service account files).
 */
typedef struct pem {
	const char *label;
	size_t label_len;
	bool proc_encrypted;  /* "Proc-Type: 4,ENCRYPTED" header */
	b64_run body;
	size_t pad;           /* '=' padding at the body's end */
	b64_run crc;          /* OpenPGP armor checksum, 4 chars, or n = 0 */
	size_t *store;
} pem;

#define BEGIN "-----BEGIN "

/* Does a line break start at s[i]: a newline, an escaped \n or \r (a key
 * inside a JSON string), or a closing quote (a key written as joined
 * string literals: "-----BEGIN ...-----\n" + "MIIE..." + ...)? */
static bool line_break(const char *s, size_t len, size_t i)
{
	return s[i] == '\n' || s[i] == '\r' || s[i] == '"' || s[i] == '\'' ||
	       (s[i] == '\\' && i + 1 < len &&
		(s[i + 1] == 'n' || s[i + 1] == 'r'));
}

/* Between two lines: breaks, and between a closing and an opening quote
 * what joins string literals (+ in C-like languages and Python, . in PHP,
 * a comma in a list, a backslash before a newline). A body line may start
 * with '+', so joiners count only between quotes. */
static size_t skip_breaks(const char *s, size_t len, size_t i)
{
	unsigned quotes = 0;

	while (i < len) {
		if (s[i] == '"' || s[i] == '\'') {
			i++;
			if (++quotes % 2 == 0)
				break; /* the next literal opens */
		} else if (s[i] == '\\' && i + 1 < len &&
			   (s[i + 1] == 'n' || s[i + 1] == 'r' ||
			    s[i + 1] == '\n')) {
			i += 2;
		} else if (s[i] == '\n' || s[i] == '\r' ||
			   (quotes % 2 && strchr("+., \t", s[i]) && s[i])) {
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* Next line of s[*p..len): sets [*ls, *le) and moves *p past its break. */
static bool next_line(const char *s, size_t len, size_t *p, size_t *ls,
		      size_t *le)
{
	size_t i = *p;

	if (i >= len)
		return false;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	*ls = i;
	while (i < len && !line_break(s, len, i))
		i++;
	*le = i;
	*p = skip_breaks(s, len, i);
	return true;
}

static bool body_line(const char *s, size_t ls, size_t le, pem *k)
{
	size_t i;

	for (i = ls; i < le; i++) {
		if (s[i] == '=') {
			k->pad++;
		} else if (b64_value((unsigned char)s[i]) >= 0 && s[i] != '-' &&
			   s[i] != '_' && !k->pad) {
			k->body.pos[k->body.n++] = i;
		} else if (s[i] != ' ' && s[i] != '\t') {
			return false;
		}
	}
	return true;
}

static bool pem_parse(const char *s, size_t len, pem *k)
{
	size_t p, ls, le, i;
	const char *dash;
	bool in_body = false;

	memset(k, 0, sizeof(*k));
	if (len < sizeof(BEGIN) || memcmp(s, BEGIN, sizeof(BEGIN) - 1) != 0)
		return false;
	k->label = s + sizeof(BEGIN) - 1;
	dash = memmem(k->label, len - (sizeof(BEGIN) - 1), "-----", 5);
	if (!dash)
		return false;
	k->label_len = (size_t)(dash - k->label);
	p = (size_t)(dash - s) + 5;
	k->store = kl_xcalloc(len + 1, 2 * sizeof(size_t));
	k->body.pos = k->store;
	k->crc.pos = k->store + len + 1;
	while (next_line(s, len, &p, &ls, &le)) {
		if (le - ls >= 8 && memcmp(s + ls, "-----END", 8) == 0)
			return k->body.n > 0 && (k->pad == 0 ||
						 (k->body.n + k->pad) % 4 == 0);
		if (le == ls)
			continue;
		if (!in_body && memchr(s + ls, ':', le - ls)) {
			if (memmem(s + ls, le - ls, "4,ENCRYPTED", 11))
				k->proc_encrypted = true;
			continue;
		}
		if (s[ls] == '=' && le - ls == 5 && k->body.n) {
			for (i = ls + 1; i < le; i++)
				k->crc.pos[k->crc.n++] = i;
			continue;
		}
		in_body = true;
		if (k->crc.n || !body_line(s, ls, le, k))
			return false;
	}
	return false;
}

static void pem_free(pem *k)
{
	free(k->store);
}

static bool label_is(const pem *k, const char *label)
{
	return k->label_len == strlen(label) &&
	       memcmp(k->label, label, k->label_len) == 0;
}

/* DER: SEQUENCE whose length is exactly the rest of the data. Returns the
 * header length, or 0 when the bytes are not one DER SEQUENCE. */
static size_t der_sequence(const unsigned char *b, size_t n)
{
	size_t hdr = 2, l, i;

	if (n < 4 || b[0] != 0x30)
		return 0;
	l = b[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;

		if (k < 1 || k > 3 || n < 2 + k)
			return 0;
		for (l = 0, i = 0; i < k; i++)
			l = (l << 8) | b[2 + i];
		hdr += k;
	}
	return hdr + l == n && hdr < n ? hdr : 0;
}

#define OPENSSH_MAGIC "openssh-key-v1"

/* OpenSSH: magic, then the cipher name; "none" is unencrypted. */
static int openssh_class(const unsigned char *b, size_t n)
{
	size_t m = sizeof(OPENSSH_MAGIC), l;

	if (n < m + 4 || memcmp(b, OPENSSH_MAGIC, m) != 0)
		return -1;
	l = (size_t)b[m] << 24 | (size_t)b[m + 1] << 16 |
	    (size_t)b[m + 2] << 8 | b[m + 3];
	if (l == 0 || l > 64 || n < m + 4 + l)
		return -1;
	return !(l == 4 && memcmp(b + m + 4, "none", 4) == 0);
}

/* OpenPGP new- or old-format packet header: tag and header length. */
static int pgp_packet(const unsigned char *b, size_t n, size_t *hdr)
{
	int tag;

	if (n < 3 || !(b[0] & 0x80))
		return -1;
	if (b[0] & 0x40) {
		tag = b[0] & 0x3f;
		*hdr = b[1] < 192 ? 2 : b[1] < 224 ? 3 : b[1] == 255 ? 6 : 0;
	} else {
		static const size_t lens[4] = { 2, 3, 5, 1 };

		tag = (b[0] >> 2) & 0x0f;
		*hdr = lens[b[0] & 3];
	}
	return *hdr && *hdr < n ? tag : -1;
}

/* Skip count MPIs (2-byte bit count + bytes); false when truncated. */
static bool pgp_skip_mpis(const unsigned char *b, size_t n, size_t *off,
			  int count)
{
	while (count-- > 0) {
		size_t bits;

		if (*off + 2 > n)
			return false;
		bits = (size_t)b[*off] << 8 | b[*off + 1];
		*off += 2 + (bits + 7) / 8;
	}
	return *off <= n;
}

static bool pgp_skip_field(const unsigned char *b, size_t n, size_t *off)
{
	if (*off >= n)
		return false;
	*off += 1 + b[*off];
	return *off <= n;
}

/* Offset of a v4 secret key's S2K usage octet, or 0 if not understood. */
static size_t pgp_s2k_offset(const unsigned char *b, size_t n, size_t off)
{
	int algo, mpis;

	if (off + 6 > n || b[off] != 4)
		return 0;
	algo = b[off + 5];
	off += 6;
	switch (algo) {
	case 1: case 2: case 3: mpis = 2; break;
	case 16: case 20: mpis = 3; break;
	case 17: mpis = 4; break;
	case 18: case 19: case 22:
		if (!pgp_skip_field(b, n, &off) ||
		    !pgp_skip_mpis(b, n, &off, 1) ||
		    (algo == 18 && !pgp_skip_field(b, n, &off)))
			return 0;
		return off < n ? off : 0;
	default:
		return 0;
	}
	return pgp_skip_mpis(b, n, &off, mpis) && off < n ? off : 0;
}

static uint32_t crc24(const unsigned char *b, size_t n)
{
	uint32_t crc = 0xB704CE;
	size_t i;
	int j;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)b[i] << 16;
		for (j = 0; j < 8; j++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864CFB;
		}
	}
	return crc & 0xFFFFFF;
}

static bool pgp_crc_ok(const char *s, const pem *k, const kl_buf *d)
{
	kl_buf c = KL_BUF_INIT;
	uint32_t got;
	bool ok;

	if (!k->crc.n)
		return true; /* RFC 9580 made the armor checksum optional */
	b64_decode(s, &k->crc, &c);
	got = c.len == 3 ? (uint32_t)(unsigned char)c.data[0] << 16 |
			   (uint32_t)(unsigned char)c.data[1] << 8 |
			   (unsigned char)c.data[2] : 0xFFFFFFFF;
	ok = got == crc24((const unsigned char *)d->data, d->len);
	kl_buf_free(&c);
	return ok;
}

/* An OpenPGP secret key packet (tag 5); encrypted when its S2K usage
 * octet is not 0. A v5/v6 or unknown-algorithm key counts as plain. */
static int pgp_class(const char *s, const pem *k, const kl_buf *d)
{
	const unsigned char *b = (const unsigned char *)d->data;
	size_t hdr, s2k;

	if (pgp_packet(b, d->len, &hdr) != 5 || !pgp_crc_ok(s, k, d))
		return -1;
	s2k = pgp_s2k_offset(b, d->len, hdr);
	return s2k && b[s2k] != 0;
}

#define MIN_KEY_BYTES 40 /* a PKCS#8 Ed25519 key, the smallest, is 48 */

/* -1: not a private key; 0: a plain one; 1: an encrypted one. */
static int private_key_class(const char *s, size_t len)
{
	kl_buf d = KL_BUF_INIT;
	const unsigned char *b;
	size_t hdr;
	int cls = -1;
	pem k;

	if (!pem_parse(s, len, &k))
		goto out;
	b64_decode(s, &k.body, &d);
	b = (const unsigned char *)d.data;
	if (d.len < MIN_KEY_BYTES)
		goto out;
	if (label_is(&k, "OPENSSH PRIVATE KEY"))
		cls = openssh_class(b, d.len);
	else if (label_is(&k, "PGP PRIVATE KEY BLOCK"))
		cls = pgp_class(s, &k, &d);
	else if (k.proc_encrypted)
		cls = d.len % 8 == 0 ? 1 : -1; /* CBC ciphertext */
	else if ((hdr = der_sequence(b, d.len)) != 0)
		/* PrivateKeyInfo and the PKCS#1/SEC1/DSA forms open with an
		 * INTEGER version; EncryptedPrivateKeyInfo with a SEQUENCE. */
		cls = label_is(&k, "ENCRYPTED PRIVATE KEY") ?
			(b[hdr] == 0x30 ? 1 : -1) : (b[hdr] == 0x02 ? 0 : -1);
out:
	if (k.store)
		pem_free(&k);
	kl_buf_free(&d);
	return cls;
}

static bool verify_private_key(const char *s, size_t len)
{
	return private_key_class(s, len) == 0;
}

static bool verify_private_key_encrypted(const char *s, size_t len)
{
	return private_key_class(s, len) == 1;
}

/* Write a DER SEQUENCE header for n bytes and the first inner tag. */
static void make_der(unsigned char *b, size_t n, bool encrypted)
{
	size_t hdr = n - 2 < 128 ? 2 : n - 3 < 256 ? 3 : 4, l = n - hdr;

	b[0] = 0x30;
	if (hdr == 2) {
		b[1] = (unsigned char)l;
	} else if (hdr == 3) {
		b[1] = 0x81;
		b[2] = (unsigned char)l;
	} else {
		b[1] = 0x82;
		b[2] = (unsigned char)(l >> 8);
		b[3] = (unsigned char)l;
	}
	b[hdr] = encrypted ? 0x30 : 0x02;
}

static void put_string(unsigned char *b, size_t *off, const char *str)
{
	size_t l = strlen(str);

	b[*off] = b[*off + 1] = b[*off + 2] = 0;
	b[*off + 3] = (unsigned char)l;
	memcpy(b + *off + 4, str, l);
	*off += 4 + l;
}

static void make_openssh(unsigned char *b, bool encrypted)
{
	size_t off = sizeof(OPENSSH_MAGIC);

	memcpy(b, OPENSSH_MAGIC, off);
	put_string(b, &off, encrypted ? "aes256-ctr" : "none");
	put_string(b, &off, encrypted ? "bcrypt" : "none");
}

/* A v4 EdDSA secret key packet header: tag, length, version, algorithm,
 * curve OID, public point; the key material stays random. */
static void make_pgp(unsigned char *b, size_t n, bool encrypted)
{
	static const unsigned char oid[] = { 9, 0x2B, 0x06, 0x01, 0x04, 0x01,
					     0xDA, 0x47, 0x0F, 0x01 };
	size_t off, l;

	b[0] = 0xC5;
	if (n - 2 < 192) {
		b[1] = (unsigned char)(n - 2);
		off = 2;
	} else {
		l = n - 3 - 192;
		b[1] = (unsigned char)((l >> 8) + 192);
		b[2] = (unsigned char)l;
		off = 3;
	}
	b[off] = 4;
	b[off + 5] = 22;
	off += 6;
	memcpy(b + off, oid, sizeof(oid));
	off += sizeof(oid);
	b[off] = 0x01;
	b[off + 1] = 0x07;
	b[off + 2] = 0x40;
	off += 2 + 33;
	b[off] = encrypted ? 254 : 0;
}

#define MIN_COMPLETE_BYTES 64

static void complete_key(char *s, size_t len, bool encrypted)
{
	kl_buf d = KL_BUF_INIT;
	unsigned char *b;
	pem k;

	if (!pem_parse(s, len, &k)) {
		if (k.store)
			pem_free(&k);
		return;
	}
	b64_decode(s, &k.body, &d);
	b = (unsigned char *)d.data;
	if (d.len >= MIN_COMPLETE_BYTES && d.len - 3 < 8192 + 192) {
		if (label_is(&k, "OPENSSH PRIVATE KEY"))
			make_openssh(b, encrypted);
		else if (label_is(&k, "PGP PRIVATE KEY BLOCK"))
			make_pgp(b, d.len, encrypted);
		else if (!k.proc_encrypted)
			make_der(b, d.len, encrypted);
		b64_encode(s, &k.body, b, d.len, false);
		if (k.crc.n) {
			uint32_t c = crc24(b, d.len);
			unsigned char cb[3] = { (unsigned char)(c >> 16),
						(unsigned char)(c >> 8),
						(unsigned char)c };

			b64_encode(s, &k.crc, cb, 3, false);
		}
	}
	kl_buf_free(&d);
	pem_free(&k);
}

static void complete_private_key(char *s, size_t len)
{
	complete_key(s, len, false);
}

static void complete_private_key_encrypted(char *s, size_t len)
{
	complete_key(s, len, true);
}

/* --------------------------------------------------- Discord bot token */

/* The first part is the bot's user id (a 17-20 digit snowflake) in
 * unpadded base64. */
static bool discord_id(const char *s, size_t len, b64_run *r, size_t *pos)
{
	const char *dot = memchr(s, '.', len);
	size_t i;

	if (!dot)
		return false;
	r->n = 0;
	r->pos = pos;
	for (i = 0; s + i < dot; i++) {
		if (i >= 30 || b64_value((unsigned char)s[i]) < 0)
			return false;
		r->pos[r->n++] = i;
	}
	return r->n * 6 / 8 >= 17 && r->n * 6 / 8 <= 20;
}

static bool verify_discord_bot_token(const char *s, size_t len)
{
	size_t pos[32], i;
	kl_buf d = KL_BUF_INIT;
	b64_run r;
	bool ok;

	if (!discord_id(s, len, &r, pos))
		return false;
	b64_decode(s, &r, &d);
	ok = d.len >= 17 && d.data[0] != '0';
	for (i = 0; ok && i < d.len; i++)
		ok = d.data[i] >= '0' && d.data[i] <= '9';
	kl_buf_free(&d);
	return ok;
}

static void complete_discord_bot_token(char *s, size_t len)
{
	unsigned char digits[32];
	size_t pos[32], i, n;
	b64_run r;

	if (!discord_id(s, len, &r, pos))
		return;
	n = r.n * 6 / 8;
	for (i = 0; i < n; i++)
		digits[i] = (unsigned char)(i ? '0' + (unsigned char)s[i] % 10
					      : '1' + (unsigned char)s[i] % 9);
	b64_encode(s, &r, digits, n, true);
}

/* ----------------------------------------------------- JSON Web Tokens */

/*
 * A signed JWT in compact form: base64url header '.' payload '.' signature.
 * The header must be a JSON object naming an algorithm other than "none",
 * the payload a JSON object with at least one of RFC 7519's registered
 * claims (documentation's {"some": "payload"} has none); an "exp" in the
 * past means the token no longer works (a number, or digits in a string).
 * The signature must have its algorithm's length (HS256: 32 bytes, RS256:
 * the modulus, 128 bytes or more), and an HS256 token must not verify
 * with a secret that documentation publishes. The rule's "claims" say
 * which tokens it reports: "role=service_role" requires the claim,
 * "role!=anon" refuses it (a missing claim passes).
 */
static cJSON *jwt_part(const char *s, size_t len)
{
	kl_buf d = KL_BUF_INIT;
	size_t *pos = kl_xcalloc(len + 1, sizeof(size_t));
	b64_run r = { pos, 0 };
	cJSON *obj = NULL;
	size_t i;

	for (i = 0; i < len; i++) {
		if (b64_value((unsigned char)s[i]) < 0 || s[i] == '+' || s[i] == '/')
			goto out;
		pos[r.n++] = i;
	}
	b64_decode(s, &r, &d);
	if (d.len && d.data[0] == '{')
		obj = cJSON_ParseWithLength(d.data, d.len);
	if (obj && !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
out:
	kl_buf_free(&d);
	free(pos);
	return obj;
}

bool kl_jwt_claim_valid(const char *claim)
{
	const char *eq = strchr(claim, '=');

	return eq && eq > claim && !(eq == claim + 1 && *claim == '!') &&
	       strchr(eq + 1, '=') == NULL;
}

static bool has_registered_claim(const cJSON *payload)
{
	static const char *const names[] = { "iss", "sub", "aud", "exp", "nbf",
					     "iat", "jti", NULL };
	size_t i;

	for (i = 0; names[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(payload, names[i]))
			return true;
	return false;
}

/* Does the payload satisfy "name=value" / "name!=value"? */
static bool claim_holds(const cJSON *payload, const char *claim)
{
	const char *eq = strchr(claim, '=');
	bool negate = eq > claim && eq[-1] == '!';
	size_t n = (size_t)(eq - claim) - negate;
	char name[64];
	const cJSON *v;
	bool equal;

	if (n >= sizeof(name))
		return false;
	memcpy(name, claim, n);
	name[n] = '\0';
	v = cJSON_GetObjectItemCaseSensitive(payload, name);
	equal = cJSON_IsString(v) && strcmp(v->valuestring, eq + 1) == 0;
	return negate ? !equal : equal;
}

/* Decoded signature bytes, or -1 when not base64url. */
static long jwt_sig_len(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b64_value((unsigned char)s[i]) < 0 || s[i] == '+' ||
		    s[i] == '/')
			return -1;
	return (long)(len * 6 / 8);
}

/* Does the signature's length fit the algorithm? A hand-typed signature
 * ("this_is_a_fake_signature") is too short for RSA or the wrong size
 * for an HMAC. Unknown algorithms pass. */
static bool jwt_sig_fits(const char *alg, long n)
{
	static const struct { const char *alg; long min, max; } sizes[] = {
		{ "HS256", 32, 32 }, { "HS384", 48, 48 }, { "HS512", 64, 64 },
		{ "ES256", 64, 64 }, { "ES384", 96, 96 }, { "ES512", 132, 132 },
		{ "EdDSA", 64, 114 }, { "RS256", 128, 1024 },
		{ "RS384", 128, 1024 }, { "RS512", 128, 1024 },
		{ "PS256", 128, 1024 }, { "PS384", 128, 1024 },
		{ "PS512", 128, 1024 },
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcmp(alg, sizes[i].alg) == 0)
			return n >= sizes[i].min && n <= sizes[i].max;
	return n >= 0;
}

/* HMAC secrets of published sample tokens: jwt.io's default before and
 * after 2024, and the local stack of `supabase start`. A token they sign
 * is a sample, whatever its claims. */
static const char *const demo_secrets[] = {
	"your-256-bit-secret", "a-string-secret-at-least-256-bits-long",
	"super-secret-jwt-token-with-at-least-32-characters-long", NULL
};

static bool jwt_demo_signed(const char *s, size_t signed_len,
			    const char *sig, size_t sig_len)
{
	unsigned char mac[32];
	size_t *pos = kl_xcalloc(sig_len + 1, sizeof(size_t));
	b64_run r = { pos, 0 };
	kl_buf d = KL_BUF_INIT;
	bool demo = false;
	size_t i;

	for (i = 0; i < sig_len; i++)
		pos[r.n++] = i;
	b64_decode(sig, &r, &d);
	for (i = 0; !demo && demo_secrets[i] && d.len == sizeof(mac); i++) {
		kl_hmac_sha256(demo_secrets[i], strlen(demo_secrets[i]), s,
			       signed_len, mac);
		demo = memcmp(mac, d.data, sizeof(mac)) == 0;
	}
	kl_buf_free(&d);
	free(pos);
	return demo;
}

/* exp as RFC 7519 says (a number) or as some issuers write it ("1594600182"). */
static bool jwt_expired(const cJSON *exp)
{
	double t;
	char *end;

	if (cJSON_IsNumber(exp))
		t = exp->valuedouble;
	else if (cJSON_IsString(exp) && exp->valuestring[0] >= '0' &&
		 exp->valuestring[0] <= '9')
		t = strtod(exp->valuestring, &end);
	else
		return false;
	return t < (double)time(NULL);
}

static bool verify_jwt(const kl_rule *r, const char *s, size_t len)
{
	const char *d1 = memchr(s, '.', len), *d2;
	cJSON *header = NULL, *payload = NULL;
	const cJSON *alg, *exp;
	bool ok = false;
	size_t i;

	if (!d1 || !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 - s) - 1)) ||
	    d2 + 1 == s + len || memchr(d2 + 1, '.', len - (size_t)(d2 - s) - 1))
		return false;
	header = jwt_part(s, (size_t)(d1 - s));
	payload = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!header || !payload)
		goto out;
	alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
	if (!cJSON_IsString(alg) || strcasecmp(alg->valuestring, "none") == 0)
		goto out;
	if (!has_registered_claim(payload))
		goto out;
	if (!jwt_sig_fits(alg->valuestring,
			  jwt_sig_len(d2 + 1, len - (size_t)(d2 + 1 - s))))
		goto out;
	if (strcmp(alg->valuestring, "HS256") == 0 &&
	    jwt_demo_signed(s, (size_t)(d2 - s), d2 + 1,
			    len - (size_t)(d2 + 1 - s)))
		goto out;
	exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
	if (jwt_expired(exp))
		goto out;
	ok = true;
	for (i = 0; r && ok && i < r->claims.len; i++)
		ok = claim_holds(payload, r->claims.items[i]);
out:
	cJSON_Delete(header);
	cJSON_Delete(payload);
	return ok;
}

/* Examples carry their header and payload; only the signature is random. */
static void complete_jwt(char *s, size_t len)
{
	(void)s;
	(void)len;
}

/* ------------------------------------------------------------ registry */

/* ----------------------------------------------------- connection URLs */

/* Users and passwords that documentation writes into connection URLs. */
static const char *const doc_users[] = {
	"user", "username", "someuser", "myuser", "youruser", "dbuser",
	"db_user", "db-user", "user_name", "exampleuser", "testuser", NULL
};
static const char *const doc_passwords[] = {
	"pass", "passwd", "password", "pwd", "somepass", "somepassword",
	"mypass", "mypassword", "yourpass", "yourpassword", "dbpass",
	"dbpassword", "db_pass", "db_password", "db-password", "userpass",
	"secret", "mysecret", "changeme", "passw0rd", "p@ssw0rd", "pa55word",
	NULL
};
/* Hosts reserved for documentation (RFC 2606, RFC 6761), by label. */
static const char *const doc_domains[] = {
	"example.com", "example.org", "example.net", "example.edu", NULL
};
static const char *const doc_tlds[] = {
	"example", "test", "invalid", "localhost", NULL
};

/* s[0..len) is word, ignoring case and trailing digits. */
static bool is_word_ci(const char *s, size_t len, const char *const *words)
{
	size_t i;

	while (len > 0 && s[len - 1] >= '0' && s[len - 1] <= '9')
		len--;
	for (i = 0; words[i]; i++)
		if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
			return true;
	return false;
}

/* Is host (a DNS name) one of the documentation names, label by label:
 * "db.example.com" is, "example-prince.mongodb.net" is not. */
static bool doc_host(const char *h, size_t len)
{
	const char *dot;
	size_t i, n;

	if (len > 0 && h[len - 1] == '.')
		len--;
	for (i = 0; doc_domains[i]; i++) {
		n = strlen(doc_domains[i]);
		if (len >= n && strncasecmp(h + len - n, doc_domains[i], n) == 0 &&
		    (len == n || h[len - n - 1] == '.'))
			return true;
	}
	dot = memrchr(h, '.', len);
	if (!dot)
		return false; /* a bare name: a service in a compose file */
	return is_word_ci(dot + 1, len - (size_t)(dot + 1 - h), doc_tlds) &&
	       len > (size_t)(dot + 1 - h);
}

/*
 * scheme://user:password@host...: the shared placeholder test runs on the
 * password alone (a host may contain "example" as a word of its own name),
 * documentation users and passwords are placeholders, and so are the
 * hosts reserved for documentation.
 */
static bool verify_connection_url(const char *s, size_t len)
{
	const char *p = memmem(s, len, "://", 3), *end = s + len, *at, *colon,
		   *h;
	size_t hl;

	if (!p)
		return false;
	p += 3;
	at = memchr(p, '@', (size_t)(end - p));
	if (!at)
		return false;
	colon = memchr(p, ':', (size_t)(at - p));
	if (!colon)
		return false;
	if (is_word_ci(p, (size_t)(colon - p), doc_users) ||
	    is_word_ci(colon + 1, (size_t)(at - colon - 1), doc_passwords) ||
	    kl_is_placeholder(NULL, colon + 1, (size_t)(at - colon - 1)))
		return false;
	h = at + 1;
	for (hl = 0; h + hl < end && h[hl] != ':' && h[hl] != '/' &&
		     h[hl] != '?' && h[hl] != '#'; hl++)
		;
	return !doc_host(h, hl);
}

static void complete_connection_url(char *s, size_t len)
{
	(void)s;
	(void)len;
}

/* ------------------------------------------------------------ registry */

static const kl_check checks[] = {
	{ "crc32-base62", false, false, verify_crc32_base62, NULL,
	  complete_crc32_base62 },
	{ "private-key", true, false, verify_private_key, NULL,
	  complete_private_key },
	{ "private-key-encrypted", true, false, verify_private_key_encrypted,
	  NULL, complete_private_key_encrypted },
	{ "discord-bot-token", false, false, verify_discord_bot_token, NULL,
	  complete_discord_bot_token },
	{ "jwt", false, false, NULL, verify_jwt, complete_jwt },
	{ "connection-url", true, true, verify_connection_url, NULL,
	  complete_connection_url },
};

const kl_check *kl_check_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(checks[i].name, name) == 0)
			return &checks[i];
	return NULL;
}

const char *kl_check_names(void)
{
	return "crc32-base62, private-key, private-key-encrypted, "
	       "discord-bot-token, jwt, connection-url";
}

bool kl_check_replaces_placeholder(const kl_check *c)
{
	return c->replaces_placeholder;
}

bool kl_check_reads_placeholder(const kl_check *c)
{
	return c->reads_placeholder;
}

bool kl_check_verify(const kl_check *c, const kl_rule *rule, const char *s,
		     size_t len)
{
	return c->verify_rule ? c->verify_rule(rule, s, len) : c->verify(s, len);
}

void kl_check_complete(const kl_check *c, char *s, size_t len)
{
	c->complete(s, len);
}

void kl_rule_complete_example(const kl_rule *r, char *text)
{
	const kl_check *c = r->check ? kl_check_find(r->check) : NULL;
	pcre2_match_data *md;
	size_t len = strlen(text), at = 0;

	if (!c || !r->code)
		return;
	md = pcre2_match_data_create_from_pattern(r->code, NULL);
	while (at < len && pcre2_match(r->code, (PCRE2_SPTR)text, len, at, 0,
				       md, NULL) >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t s = ov[2 * r->secret_group], e = ov[2 * r->secret_group + 1];

		if (s != PCRE2_UNSET && e > s)
			kl_check_complete(c, text + s, e - s);
		at = ov[1] > at ? ov[1] : at + 1;
	}
	pcre2_match_data_free(md);
}
