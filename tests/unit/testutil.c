#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *mt_test_load_vector(const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/vectors/%s", MT_SHARED_DIR, name);
	json_error_t jerr;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		fprintf(stderr, "cannot load vector %s: %s (line %d)\n", path, jerr.text, jerr.line);
		exit(1);
	}
	return v;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void mt_test_hex(unsigned char *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n) {
		fprintf(stderr, "bad hex length: %s\n", hex);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			fprintf(stderr, "bad hex: %s\n", hex);
			exit(1);
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

char *mt_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/mt-test-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	return strdup(tmpl);
}

void mt_test_rmtree(const char *path)
{
	char cmd[4200];
	if (strchr(path, '\'')) /* paths come from mt_test_tmpdir; refuse anything odd */
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}
