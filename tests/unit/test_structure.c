/* Unit tests for src/engine/structure.c and pair.c: structure checks
 * (checksums, key encodings), their completion of random candidates, and
 * pairing. No key-like literal: every key is generated here. */
#include <stdlib.h>
#include <string.h>

#include "engine/structure.h"
#include "keyleak.h"
#include "unit.h"

static bool verify(const char *check, const char *s)
{
	return kl_check_verify(kl_check_find(check), NULL, s, strlen(s));
}

static char *completed(const char *check, const char *tmpl, uint64_t seed)
{
	char *s = kl_template_expand(tmpl, &seed);

	kl_check_complete(kl_check_find(check), s, strlen(s));
	return s;
}

static void crc32_base62(void)
{
	char *tok;

	/* CRC32("123456789") is 0xCBF43926, "3jZRME" in base62 */
	CHECK(verify("crc32-base62", "abc_1234567893jZRME"), "known CRC32 vector");
	CHECK(!verify("crc32-base62", "abc_1234567893jZRMF"), "one digit off");
	CHECK(!verify("crc32-base62", "abc_3jZRME"), "no random part");
	tok = completed("crc32-base62", "ghp_{30}{6}", 7);
	CHECK(verify("crc32-base62", tok), "completed token verifies");
	tok[10] = tok[10] == 'a' ? 'b' : 'a';
	CHECK(!verify("crc32-base62", tok), "a changed body fails");
	free(tok);
	CHECK(kl_check_find("luhn") == NULL, "unknown check");
}

#define BODY64 "{64:b64}\n"
#define RSA_TMPL "-----BEGIN RSA PRIVATE KEY-----\n" BODY64 BODY64 BODY64 \
	BODY64 BODY64 BODY64 BODY64 BODY64 "-----END RSA PRIVATE KEY-----"

static void private_keys(void)
{
	char *k = completed("private-key", RSA_TMPL, 3), *p;
	uint64_t seed;
	char *enc = completed("private-key-encrypted",
			      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" BODY64
			      BODY64 BODY64 "-----END ENCRYPTED PRIVATE KEY-----", 4);
	char *ssh = completed("private-key",
			      "-----BEGIN OPENSSH PRIVATE KEY-----\n{70:b64}\n"
			      "{70:b64}\n{40:b64}\n-----END OPENSSH PRIVATE KEY-----", 5);
	char *pgp = completed("private-key-encrypted",
			      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" BODY64
			      BODY64 BODY64 "={4:b64}\n-----END PGP PRIVATE KEY BLOCK-----", 6);

	CHECK(verify("private-key", k) && !verify("private-key-encrypted", k),
	      "completed RSA key is a plain key");
	CHECK(verify("private-key-encrypted", enc) && !verify("private-key", enc),
	      "completed PKCS#8 encrypted key");
	CHECK(verify("private-key", ssh), "completed OpenSSH key, cipher none");
	CHECK(verify("private-key-encrypted", pgp), "completed OpenPGP key, S2K");
	p = strstr(pgp, "\n=") + 2;
	*p = *p == 'A' ? 'B' : 'A';
	CHECK(!verify("private-key-encrypted", pgp), "OpenPGP armor CRC24 off");
	p = strchr(k, '\n') + 3; /* the DER length byte's characters */
	*p = *p == 'A' ? 'B' : 'A';
	CHECK(!verify("private-key", k), "DER length off");
	CHECK(!verify("private-key", "-----BEGIN RSA PRIVATE KEY-----\n...\n"
		      "-----END RSA PRIVATE KEY-----"), "a body of ...");
	free(k);
	k = completed("private-key", "-----BEGIN PRIVATE KEY-----\\n" "{64:b64}\\n"
		      "{64:b64}\\n{64:b64}\\n-----END PRIVATE KEY-----\\n", 8);
	CHECK(verify("private-key", k), "JSON-escaped line breaks");
	free(k);
	seed = 9;
	k = kl_template_expand("\"-----BEGIN PRIVATE KEY-----\\n\" +\n"
			       "  \"{64:b64}\\n\" +\n  \"{64:b64}\\n\" +\n"
			       "  \"{64:b64}\\n\" +\n"
			       "  \"-----END PRIVATE KEY-----\\n\"", &seed);
	p = strchr(k, '-');
	kl_check_complete(kl_check_find("private-key"), p, strlen(p));
	CHECK(verify("private-key", p), "joined string literals");
	free(k);
	free(enc);
	free(ssh);
	free(pgp);
}

static void discord(void)
{
	char *t = completed("discord-bot-token", "{24:b64url}.{6:b64url}.{38:b64url}", 9);

	CHECK(verify("discord-bot-token", t), "completed Discord token");
	t[0] = 'z'; /* no longer base64 of a digit */
	CHECK(!verify("discord-bot-token", t), "first part not a user id");
	free(t);
}

static const char pair_rules[] =
	"{\"provider\": \"P\", \"rules\": ["
	"{\"id\": \"p-id\", \"name\": \"P id\", \"description\": \"d\","
	" \"severity\": \"high\", \"remediation\": \"r\","
	" \"regex\": \"(PID[0-9]{8})\", \"secret_group\": 1, \"keywords\": [\"PID\"],"
	" \"pair\": {\"name\": \"secret\", \"rule\": \"p-secret\","
	"  \"regex\": \"(?<![A-Za-z])([A-Za-z]{24})(?![A-Za-z])\", \"secret_group\": 1,"
	"  \"lines\": 1, \"min_entropy\": 3.5}},"
	"{\"id\": \"p-secret\", \"name\": \"P secret\", \"description\": \"d\","
	" \"severity\": \"high\", \"remediation\": \"r\","
	" \"regex\": \"psecret=([A-Za-z]{24})\", \"secret_group\": 1,"
	" \"keywords\": [\"psecret=\"]}]}";

static kl_matches scan(kl_scanner *sc, const char *text)
{
	kl_matches m = { 0 };

	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	return m;
}

static void pairs(void)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };
	kl_scanner *sc;
	kl_matches m;
	uint64_t seed = 11;
	char *id = kl_template_expand("PID{8:digit}", &seed);
	char *sec = kl_template_expand("{24:lower}", &seed);
	char text[256];

	CHECK(kl_ruleset_add_json(rs, "p.json", pair_rules, strlen(pair_rules),
				  &err) == 0 && kl_ruleset_compile(rs, &err) == 0,
	      "pair rules load: %s", err.message ? err.message : "ok");
	sc = kl_scanner_new(rs);
	snprintf(text, sizeof(text), "a\n%s\npsecret=%s\n", id, sec);
	m = scan(sc, text);
	CHECK(m.len == 1 && strcmp(m.items[0].rule->id, "p-id") == 0 &&
	      m.items[0].partner_len == 24 && m.items[0].partner_line == 3,
	      "partner rule's match absorbed into one match");
	kl_matches_free(&m);
	snprintf(text, sizeof(text), "a\n%s\nb\npsecret=%s\n", id, sec);
	m = scan(sc, text);
	CHECK(m.len == 2 && m.items[0].partner_len == 0 &&
	      strcmp(m.items[1].rule->id, "p-secret") == 0,
	      "a partner rule's match outside the window stays its own");
	kl_matches_free(&m);
	snprintf(text, sizeof(text), "x(%s, %s)\n", id, sec);
	m = scan(sc, text);
	CHECK(m.len == 1 && m.items[0].partner_len == 24 &&
	      m.items[0].partner_line == 1, "partner pattern beside it");
	kl_matches_free(&m);
	snprintf(text, sizeof(text), "%s\n\n\n%s\n", id, sec);
	m = scan(sc, text);
	CHECK(m.len == 1 && m.items[0].partner_len == 0,
	      "a pattern partner farther than lines is not taken");
	kl_matches_free(&m);
	kl_scanner_free(sc);
	kl_ruleset_free(rs);
	free(id);
	free(sec);
}

static void connection_urls(void)
{
	uint64_t seed = 11;
	char *pw = kl_template_expand("{16}", &seed), *u;
	/* Each URL is pre + a random password + post. */
	static const char *const bad[][2] = {
		{ "postgresql://someuser:", "@db:5432" },
		{ "mongodb://app:", "@db.example.com" },
		{ "redis://:", "@cache.example:6379" },
		{ "amqp://app:", "@mq.test:5672" },
		{ "mysql://app:", "@example.org/shop" },
	};
	size_t i;

	u = kl_xcalloc(1, strlen(pw) + 64);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(u, strlen(pw) + 64, "%s%s%s", bad[i][0], pw, bad[i][1]);
		CHECK(!verify("connection-url", u), "documentation user or host");
	}
	CHECK(!verify("connection-url", "postgres://user:pass@db"), "user:pass");
	CHECK(!verify("connection-url", "postgres://app:mypassword@db"),
	      "a documentation password");
	snprintf(u, strlen(pw) + 64, "mongodb+srv://app:%s@example-prince.x1."
		 "mongodb.net", pw);
	CHECK(verify("connection-url", u), "a host containing example");
	snprintf(u, strlen(pw) + 64, "postgres://app:%s@db.internal:5432", pw);
	CHECK(verify("connection-url", u), "a random password");
	free(u);
	free(pw);
}

static void windows(void)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };

	CHECK(kl_ruleset_add_builtin(rs, &err) == 0 &&
	      kl_ruleset_max_window(rs) >= 65000,
	      "private key blocks widen the ruleset's match window");
	kl_ruleset_free(rs);
	rs = kl_ruleset_new();
	CHECK(kl_ruleset_max_window(rs) == 4096, "default window");
	kl_ruleset_free(rs);
}

/* base64url of s, unpadded, appended to out */
static void b64url(kl_buf *out, const char *s)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s), i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		kl_buf_addch(out, a[v >> 18 & 63]);
		kl_buf_addch(out, a[v >> 12 & 63]);
		if (i + 1 < n)
			kl_buf_addch(out, a[v >> 6 & 63]);
		if (i + 2 < n)
			kl_buf_addch(out, a[v & 63]);
	}
}

static bool jwt_ok(const kl_rule *r, const char *header, const char *payload)
{
	kl_buf t = KL_BUF_INIT;
	bool ok;

	b64url(&t, header);
	kl_buf_addch(&t, '.');
	b64url(&t, payload);
	kl_buf_printf(&t, ".%s", "q8Zx3vR1mT6wK0pL9sY2nB4cV7hJ5fD1gA0eU8iO2rE");
	ok = kl_check_verify(kl_check_find("jwt"), r, t.data, t.len);
	kl_buf_free(&t);
	return ok;
}

static void jwt(void)
{
	kl_rule r = { 0 };
	const char *hs = "{\"alg\":\"HS256\"}";

	CHECK(jwt_ok(NULL, hs, "{\"sub\":\"x\"}"), "a signed token");
	CHECK(!jwt_ok(NULL, "{\"alg\":\"none\"}", "{\"sub\":\"x\"}"), "alg none");
	CHECK(!jwt_ok(NULL, "{\"typ\":\"JWT\"}", "{\"sub\":\"x\"}"), "no alg");
	CHECK(!jwt_ok(NULL, hs, "[1,2]"), "payload not an object");
	CHECK(!jwt_ok(NULL, hs, "{\"some\":\"payload\"}"), "no registered claim");
	CHECK(!jwt_ok(NULL, hs, "{\"exp\":1500000000}"), "expired");
	CHECK(jwt_ok(NULL, hs, "{\"exp\":4102444800}"), "expires in 2100");
	CHECK(!kl_check_verify(kl_check_find("jwt"), NULL, "eyJ.eyJ", 7), "two parts");
	kl_strlist_push(&r.claims, "role=service_role");
	kl_strlist_push(&r.claims, "iss!=other");
	CHECK(jwt_ok(&r, hs, "{\"iat\":1,\"role\":\"service_role\"}"), "required claim");
	CHECK(!jwt_ok(&r, hs, "{\"iat\":1,\"role\":\"anon\"}"), "other role");
	CHECK(!jwt_ok(&r, hs, "{\"sub\":\"x\"}"), "required claim missing");
	CHECK(!jwt_ok(&r, hs, "{\"role\":\"service_role\",\"iss\":\"other\"}"),
	      "refused claim");
	kl_strlist_free(&r.claims);
	CHECK(kl_jwt_claim_valid("role=anon") && kl_jwt_claim_valid("role!=anon"),
	      "claim forms");
	CHECK(!kl_jwt_claim_valid("role") && !kl_jwt_claim_valid("=x") &&
	      !kl_jwt_claim_valid("!=x") && !kl_jwt_claim_valid("a=b=c"),
	      "malformed claims");
}

int main(void)
{
	windows();
	crc32_base62();
	private_keys();
	discord();
	pairs();
	jwt();
	connection_urls();
	return UNIT_DONE();
}
