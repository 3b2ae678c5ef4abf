/*
 * Owns the config's "decode" and "archives" objects: switching the
 * decoding and archive stages off and changing their limits, with the
 * same strictness as the rest of .keyleak.json.
 */
#include <cJSON.h>
#include <string.h>

#include "findings/config.h"

typedef struct field {
	const char *name;
	bool is_bool;
	double max;
} field;

static const field decode_fields[] = {
	{ "enabled", true, 0 }, { "max_depth", false, 16 },
	{ "max_bytes", false, 1e15 }, { NULL, false, 0 }
};

static const field archive_fields[] = {
	{ "enabled", true, 0 }, { "max_depth", false, 64 },
	{ "max_members", false, 1e12 }, { "max_bytes", false, 1e15 },
	{ "max_ratio", false, 1e9 }, { NULL, false, 0 }
};

/* Every key of obj known and well typed: a bool, or a whole number from
 * 1 to the field's max. */
static int check_object(const char *path, const char *key, const cJSON *obj,
			const field *fs, kl_error *err)
{
	const cJSON *it;
	size_t i;

	if (!cJSON_IsObject(obj)) {
		kl_error_set(err, "%s: field \"%s\" must be an object", path,
			     key);
		return -1;
	}
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; fs[i].name && strcmp(fs[i].name, it->string); i++)
			;
		if (!fs[i].name) {
			kl_error_set(err, "%s: unknown field \"%s.%s\"", path,
				     key, it->string);
			return -1;
		}
		if (fs[i].is_bool ? !cJSON_IsBool(it)
		    : !cJSON_IsNumber(it) || it->valuedouble < 1 ||
		      it->valuedouble > fs[i].max ||
		      it->valuedouble != (double)(uint64_t)it->valuedouble) {
			kl_error_set(err, "%s: field \"%s.%s\" must be %s", path,
				     key, it->string, fs[i].is_bool
				     ? "true or false" : "a whole number >= 1");
			return -1;
		}
	}
	return 0;
}

static uint64_t num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v ? (uint64_t)v->valuedouble : 0;
}

static bool off(const cJSON *obj)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(obj, "enabled"));
}

int kl_config_read_unpack(kl_config *c, const cJSON *root, kl_error *err)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "decode");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "archives");
	kl_unpack_opts *u = &c->unpack;

	if (d) {
		if (check_object(c->path, "decode", d, decode_fields, err))
			return -1;
		u->no_decode = off(d);
		u->decode_depth = (unsigned)num(d, "max_depth");
		u->decode_bytes = (size_t)num(d, "max_bytes");
	}
	if (a) {
		if (check_object(c->path, "archives", a, archive_fields, err))
			return -1;
		u->no_archives = off(a);
		u->archive_depth = (unsigned)num(a, "max_depth");
		u->archive_members = (size_t)num(a, "max_members");
		u->archive_bytes = num(a, "max_bytes");
		u->archive_ratio = (unsigned)num(a, "max_ratio");
	}
	return 0;
}

void kl_unpack_opts_merge(kl_unpack_opts *dst, const kl_unpack_opts *over)
{
	dst->no_decode |= over->no_decode;
	dst->no_archives |= over->no_archives;
	if (over->decode_depth)
		dst->decode_depth = over->decode_depth;
	if (over->decode_bytes)
		dst->decode_bytes = over->decode_bytes;
	if (over->archive_depth)
		dst->archive_depth = over->archive_depth;
	if (over->archive_members)
		dst->archive_members = over->archive_members;
	if (over->archive_bytes)
		dst->archive_bytes = over->archive_bytes;
	if (over->archive_ratio)
		dst->archive_ratio = over->archive_ratio;
}
