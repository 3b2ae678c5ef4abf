/*
 * For readers that take a path (config, baseline): the fuzz input written
 * to one temporary file per process, rewritten for every input.
 */
#include <unistd.h>

#include "fuzz.h"

static const char *fuzz_input_file(const uint8_t *data, size_t size,
				   const char *name)
{
	static char path[4096];
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "%s/keyleak-fuzz-%ld-%s",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			 (long)getpid(), name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}
