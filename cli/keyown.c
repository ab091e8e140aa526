/* The home's own feed, checked whenever the store is opened (keyutil.h):
 * finishing a restore once the feed's head arrived, and the theft alarm
 * (SPEC §9.2: a statement in the home's own feed that this home did not
 * sign is reported by every command that reads the store). */
#include <string.h>

#include "keyutil.h"

/* The seqs named in the alarm, at most this many (then "…"). */
#define ALARM_SEQS 8

struct foreign_seqs {
	uint64_t seq[ALARM_SEQS];
	size_t n;
};

static int collect_seq(uint64_t seq, const unsigned char id[32], void *payload)
{
	struct foreign_seqs *f = payload;
	(void)id;
	if (f->n < ALARM_SEQS)
		f->seq[f->n++] = seq;
	return 0;
}

/* The home's Node ID without failing or printing (a store without a key is
 * fine: nothing of its own to check). */
static int own_id(mesh_ctx *ctx, char out[MT_NODE_ID_MAX])
{
	if (ctx->node_id[0]) {
		memcpy(out, ctx->node_id, MT_NODE_ID_MAX);
		return 1;
	}
	unsigned char pk[32];
	mt_error err = {0};
	if (mt_keyfile_read_public(pk, ctx->home, &err) != 0)
		return 0;
	mt_node_id_encode(out, pk);
	return 1;
}

/* A restore waits for the own feed's head; once the store holds it, those
 * statements are this home's (adopted) and the wait ends. */
static void finish_restore(mesh_ctx *ctx, const char *id)
{
	if (!mesh_restore_pending(ctx))
		return;
	mt_feed_info fi;
	mt_error err = {0};
	memset(&fi, 0, sizeof fi);
	if (mt_store_feed(ctx->store, id, &fi, &err) != 0 || fi.head_seq == 0)
		return;
	if (mt_store_own_adopt(ctx->store, id, &err) != 0) {
		fprintf(stderr, "mesh: cannot record the restored feed as this home's own: ");
		mesh_term_write(stderr, err.msg, MESH_TERM_LINE);
		fputc('\n', stderr);
		return;
	}
	mesh_restore_clear(ctx);
	fprintf(stderr,
		"mesh: restore complete: this home now holds its own feed up to seq %llu and may "
		"sign again\n",
		(unsigned long long)fi.head_seq);
}

void mesh_own_checks(mesh_ctx *ctx)
{
	static int done;
	char id[MT_NODE_ID_MAX];
	if (!ctx->store || !own_id(ctx, id))
		return;
	/* Every open may follow an import or a sync that brought the head. */
	finish_restore(ctx, id);
	if (done)
		return;
	done = 1;
	struct foreign_seqs f;
	uint64_t count = 0;
	mt_error err = {0};
	memset(&f, 0, sizeof f);
	if (mt_store_own_foreign(ctx->store, id, collect_seq, &f, &count, &err) != 0) {
		fprintf(stderr, "mesh: cannot check the own feed for statements signed elsewhere: ");
		mesh_term_write(stderr, err.msg, MESH_TERM_LINE);
		fputc('\n', stderr);
		return;
	}
	if (count == 0)
		return;
	char seqs[256];
	size_t used = 0;
	for (size_t i = 0; i < f.n && used < sizeof seqs; i++)
		used += (size_t)snprintf(seqs + used, sizeof seqs - used, "%s%llu", i ? ", " : "",
					 (unsigned long long)f.seq[i]);
	if (count > f.n && used < sizeof seqs)
		snprintf(seqs + used, sizeof seqs - used, ", …");
	char msg[512];
	snprintf(msg, sizeof msg,
		 "WARNING: %llu statement(s) in your own feed were not signed by this home (seq "
		 "%s): your identity.key may be stolen — see `mesh key status`",
		 (unsigned long long)count, seqs);
	fputs("mesh: ", stderr);
	mesh_term_write(stderr, msg, MESH_TERM_LINE);
	fputc('\n', stderr);
}
