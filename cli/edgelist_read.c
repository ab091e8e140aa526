/* Reading an edge-list file through the fuzzed parser (see edgelist_read.h). */
#include "edgelist_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli.h"

int el_read_file(el_graph *g, const el_parse_opts *po, const char *suffix)
{
	gzFile f = gzopen(g->path, "rb");
	if (!f)
		return mesh_fail("cannot read %s: %s", g->path, errno ? strerror(errno) : "gzopen failed");
	char *buf = malloc(EL_LINE_MAX + 2);
	int rc = EXIT_OK;
	if (!buf) {
		gzclose(f);
		return mesh_fail("out of memory");
	}
	while (gzgets(f, buf, EL_LINE_MAX + 2)) {
		g->lines++;
		size_t len = strlen(buf);
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		else if (len > EL_LINE_MAX) {
			rc = mesh_fail("%s:%" PRIu64 ": line is over %d bytes%s", g->path, g->lines,
				       EL_LINE_MAX, suffix);
			goto done;
		} else if (!gzeof(f)) {
			/* gzgets stopped at a newline that strlen does not see. */
			rc = mesh_fail("%s:%" PRIu64 ": line contains a NUL byte%s", g->path, g->lines,
				       suffix);
			goto done;
		}
		if (len && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (g->lines > UINT32_MAX) {
			rc = mesh_fail("%s: more than %u lines%s", g->path, UINT32_MAX, suffix);
			goto done;
		}
		char why[200];
		if (el_parse_line(g, buf, (uint32_t)g->lines, po, why, sizeof why) != 0) {
			rc = mesh_fail("%s:%" PRIu64 ": %s%s", g->path, g->lines, why, suffix);
			goto done;
		}
	}
	int zerr = Z_OK;
	const char *zmsg = gzerror(f, &zerr);
	if (zerr != Z_OK && zerr != Z_STREAM_END)
		rc = mesh_fail("%s: read error after line %" PRIu64 ": %s%s", g->path, g->lines,
			       zerr == Z_ERRNO ? strerror(errno) : zmsg, suffix);
done:
	free(buf);
	gzclose(f);
	return rc;
}
