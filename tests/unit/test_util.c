/* Unit tests for src/util: kl_buf, kl_strlist, kl_error, SHA-256, HMAC. */
#include "keyleak.h"
#include "unit.h"

int main(void)
{
	kl_buf b = KL_BUF_INIT;
	kl_strlist l = { 0 };
	kl_error err = { 0 };
	char hex[65];
	unsigned char mac[32], key[131];
	int i;

	for (i = 0; i < 1000; i++)
		kl_buf_printf(&b, "%d,", i);
	CHECK(b.len == 3890, "kl_buf grows through printf (len %zu)", b.len);
	CHECK(b.data[b.len] == '\0', "kl_buf stays NUL-terminated");
	kl_buf_free(&b);

	kl_strlist_push(&l, "a");
	kl_strlist_push(&l, "b");
	CHECK(l.len == 2, "strlist push");
	kl_strlist_free(&l);
	CHECK(l.len == 0 && !l.items, "strlist free empties");

	kl_error_set(&err, "%s: %d", "rules/x.json", 3);
	CHECK_STR(err.message, "rules/x.json: 3", "error message");
	kl_error_clear(&err);
	CHECK(!err.message, "error clear");

	kl_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "sha256 of empty");
	kl_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "sha256 of abc");
	kl_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  "sha256 of two-block message");

	/* RFC 4231 test cases 2 and 6 (a key longer than the block) */
	kl_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		  "hmac-sha256, short key");
	memset(key, 0xaa, sizeof(key));
	kl_hmac_sha256(key, sizeof(key), "Test Using Larger Than Block-Size Key - Hash Key First",
		       54, mac);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		  "hmac-sha256, long key");
	return UNIT_DONE();
}
