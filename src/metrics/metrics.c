/* Centralization metrics of one scope: edge selection, the compact graph,
 * inbound trust with the saturation cap, gini, top-10% share and the
 * betweenness summary. The betweenness engine itself is in brandes.c. */
#include "meshtrust/metrics.h"

#include "metrics_int.h"
#include "metrics_intern.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The public result plus the storage it points into. */
typedef struct result_storage {
	mt_metrics_result pub; /* first: the public pointer is this struct's */
	char *strings;         /* scope and node IDs, NUL-separated */
} result_storage;

/* A selected edge during the build, endpoints as dense indices. */
typedef struct build_edge {
	uint32_t src;
	uint32_t dst;
	uint32_t score;
} build_edge;

void mt_metrics_opts_init(mt_metrics_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->scope = "global";
	opts->cap_decay = 0.5;
}

void mt_metrics_result_free(mt_metrics_result *result)
{
	if (!result)
		return;
	result_storage *storage = (result_storage *)result;
	free(result->nodes);
	free(storage->strings);
	free(storage);
}

static int is_selected(const mt_edge_in *edge, const char *scope, int64_t at)
{
	if (edge->level != MT_LEVEL_FULL && edge->level != MT_LEVEL_LIMITED)
		return 0;
	const char *edge_scope = edge->scope ? edge->scope : "global";
	if (strcmp(edge_scope, scope) != 0)
		return 0;
	if (edge->exp != 0 && edge->exp <= at)
		return 0;
	return 1;
}

/* Sorting node indices by their ID string needs the strings: a tiny
 * merge sort keeps it re-entrant (qsort has no context argument in C11). */
static void sort_by_string(uint32_t *items, uint32_t *scratch, size_t count,
                           const char *const *strings)
{
	if (count < 2)
		return;
	size_t half = count / 2;
	sort_by_string(items, scratch, half, strings);
	sort_by_string(items + half, scratch, count - half, strings);
	if (strcmp(strings[items[half - 1]], strings[items[half]]) <= 0)
		return;
	size_t i = 0, j = half, k = 0;
	while (i < half && j < count)
		scratch[k++] =
		    strcmp(strings[items[j]], strings[items[i]]) < 0 ? items[j++] : items[i++];
	while (i < half)
		scratch[k++] = items[i++];
	memcpy(items, scratch, k * sizeof *items);
}

static int cmp_u32_asc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_u32_desc(const void *a, const void *b)
{
	return cmp_u32_asc(b, a);
}

static int cmp_double_asc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Select the edges of the scope and give every endpoint a dense index, the
 * final one being the rank of its ID in byte order. */
static int select_edges(const mt_edge_in *edges, size_t n, const mt_metrics_opts *opts,
                        mt_metrics_intern *nodes, build_edge **out_edges, size_t *out_count,
                        uint32_t **out_rank, mt_error *err)
{
	int rc = 0;
	mt_metrics_intern members = {0};
	build_edge *selected = NULL;
	size_t count = 0, capacity = 0;
	uint32_t *order = NULL, *scratch = NULL, *rank = NULL;

	if (opts->members) {
		for (size_t i = 0; i < opts->member_count; i++) {
			uint32_t ignored;
			if (!opts->members[i]) {
				rc = mt_error_set(err, MT_EINVAL, "metrics: member %zu is NULL", i);
				goto done;
			}
			rc = mt_metrics__intern(&members, opts->members[i], 1, &ignored);
			if (rc) {
				mt_error_set(err, rc, "metrics: cannot index members");
				goto done;
			}
		}
	}

	for (size_t i = 0; i < n; i++) {
		const mt_edge_in *edge = &edges[i];
		if (!edge->src || !edge->dst) {
			rc = mt_error_set(err, MT_EINVAL, "metrics: edge %zu has a NULL %s", i,
			                  edge->src ? "dst" : "src");
			goto done;
		}
		if (!is_selected(edge, opts->scope, opts->at))
			continue;
		if (edge->score < 1 || edge->score > 1000) {
			rc = mt_error_set(err, MT_EINVAL,
			                  "metrics: edge %zu (%s -> %s) has score %u, not 1..1000",
			                  i, edge->src, edge->dst, (unsigned)edge->score);
			goto done;
		}
		if (strcmp(edge->src, edge->dst) == 0)
			continue;
		if (opts->members) {
			uint32_t ignored;
			if (mt_metrics__intern(&members, edge->src, 0, &ignored) ||
			    mt_metrics__intern(&members, edge->dst, 0, &ignored))
				continue;
		}
		if (count == capacity) {
			size_t grown = capacity ? capacity * 2 : 256;
			build_edge *bigger = realloc(selected, grown * sizeof *bigger);
			if (!bigger) {
				rc = mt_error_set(err, MT_ENOMEM, "metrics: out of memory");
				goto done;
			}
			selected = bigger;
			capacity = grown;
		}
		if (count >= UINT32_MAX - 1) {
			rc = mt_error_set(err, MT_EINVAL,
			                  "metrics: more than 2^32-2 edges in scope");
			goto done;
		}
		build_edge *b = &selected[count];
		rc = mt_metrics__intern(nodes, edge->src, 1, &b->src);
		if (rc == 0)
			rc = mt_metrics__intern(nodes, edge->dst, 1, &b->dst);
		if (rc) {
			mt_error_set(err, rc, "metrics: cannot index node IDs");
			goto done;
		}
		b->score = edge->score;
		count++;
	}

	uint32_t node_count = nodes->count;
	order = malloc(((size_t)node_count + 1) * sizeof *order);
	scratch = malloc(((size_t)node_count + 1) * sizeof *scratch);
	rank = malloc(((size_t)node_count + 1) * sizeof *rank);
	if (!order || !scratch || !rank) {
		rc = mt_error_set(err, MT_ENOMEM, "metrics: out of memory");
		goto done;
	}
	for (uint32_t i = 0; i < node_count; i++)
		order[i] = i;
	sort_by_string(order, scratch, node_count, nodes->strings);
	for (uint32_t r = 0; r < node_count; r++)
		rank[order[r]] = r;
	for (size_t i = 0; i < count; i++) {
		selected[i].src = rank[selected[i].src];
		selected[i].dst = rank[selected[i].dst];
	}
	/* From here on rank[] maps a final index to the intern index. */
	memcpy(rank, order, (size_t)node_count * sizeof *rank);

done:
	mt_metrics__intern_free(&members);
	free(order);
	free(scratch);
	if (rc) {
		free(selected);
		free(rank);
		selected = NULL;
		rank = NULL;
		count = 0;
	}
	*out_edges = selected;
	*out_count = count;
	*out_rank = rank;
	return rc;
}

static int cmp_u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void sort_row(uint64_t *row, size_t len)
{
	if (len > 24) {
		qsort(row, len, sizeof *row, cmp_u64_asc);
		return;
	}
	for (size_t i = 1; i < len; i++) {
		uint64_t item = row[i];
		size_t j = i;
		while (j > 0 && row[j - 1] > item) {
			row[j] = row[j - 1];
			j--;
		}
		row[j] = item;
	}
}

/* Build the out-adjacency CSR: rows sorted by destination, a repeated
 * (src, dst) pair merged into one edge keeping the highest score.
 * *out_scores runs parallel to graph->adj. */
static int build_csr(mt_metrics_csr *graph, uint32_t **out_scores, const build_edge *edges,
                     size_t count, uint32_t node_count)
{
	int rc = MT_ENOMEM;
	size_t alloc = count ? count : 1;
	uint32_t *off = calloc((size_t)node_count + 1, sizeof *off);
	uint32_t *cursor = malloc(((size_t)node_count + 1) * sizeof *cursor);
	uint64_t *packed = malloc(alloc * sizeof *packed);
	uint32_t *adj = malloc(alloc * sizeof *adj);
	uint32_t *scores = malloc(alloc * sizeof *scores);
	if (!off || !cursor || !packed || !adj || !scores)
		goto done;

	for (size_t i = 0; i < count; i++)
		off[edges[i].src + 1]++;
	for (uint32_t v = 0; v < node_count; v++)
		off[v + 1] += off[v];
	memcpy(cursor, off, (size_t)node_count * sizeof *cursor);
	/* (dst << 32 | score): sorting a row orders it by dst, and among
	 * repeats of one pair the highest score comes last. */
	for (size_t i = 0; i < count; i++)
		packed[cursor[edges[i].src]++] = ((uint64_t)edges[i].dst << 32) | edges[i].score;

	uint32_t write = 0, begin = 0;
	for (uint32_t v = 0; v < node_count; v++) {
		uint32_t end = off[v + 1];
		sort_row(packed + begin, end - begin);
		off[v] = write;
		for (uint32_t e = begin; e < end; e++) {
			uint32_t dst = (uint32_t)(packed[e] >> 32);
			uint32_t score = (uint32_t)(packed[e] & 0xffffffffu);
			if (write > off[v] && adj[write - 1] == dst) {
				scores[write - 1] = score;
			} else {
				adj[write] = dst;
				scores[write] = score;
				write++;
			}
		}
		begin = end;
	}
	off[node_count] = write;

	graph->off = off;
	graph->adj = adj;
	graph->node_count = node_count;
	graph->edge_count = write;
	*out_scores = scores;
	off = NULL;
	adj = NULL;
	scores = NULL;
	rc = 0;
done:
	free(off);
	free(cursor);
	free(packed);
	free(adj);
	free(scores);
	return rc;
}

/* inbound[v] per SPEC §4. Without the cap the permille scores are summed as
 * integers (exact, independent of order) and divided once. With it each
 * node's incoming scores are sorted descending and weighted. */
static int compute_inbound(double *inbound, const mt_metrics_csr *graph, const uint32_t *scores,
                           uint32_t cap, double cap_decay)
{
	uint32_t n = graph->node_count;
	if (cap == 0) {
		uint64_t *sum = calloc(n ? n : 1, sizeof *sum);
		if (!sum)
			return MT_ENOMEM;
		for (uint32_t e = 0; e < graph->edge_count; e++)
			sum[graph->adj[e]] += scores[e];
		for (uint32_t v = 0; v < n; v++)
			inbound[v] = (double)sum[v] / 1000.0;
		free(sum);
		return 0;
	}

	uint32_t *in_off = calloc((size_t)n + 1, sizeof *in_off);
	uint32_t *cursor = malloc(((size_t)n + 1) * sizeof *cursor);
	uint32_t *incoming = malloc((graph->edge_count ? graph->edge_count : 1) * sizeof *incoming);
	if (!in_off || !cursor || !incoming) {
		free(in_off);
		free(cursor);
		free(incoming);
		return MT_ENOMEM;
	}
	for (uint32_t e = 0; e < graph->edge_count; e++)
		in_off[graph->adj[e] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		in_off[v + 1] += in_off[v];
	memcpy(cursor, in_off, (size_t)n * sizeof *cursor);
	for (uint32_t e = 0; e < graph->edge_count; e++)
		incoming[cursor[graph->adj[e]]++] = scores[e];
	for (uint32_t v = 0; v < n; v++) {
		uint32_t *row = incoming + in_off[v];
		uint32_t len = in_off[v + 1] - in_off[v];
		qsort(row, len, sizeof *row, cmp_u32_desc);
		double total = 0.0, weight = 1.0;
		for (uint32_t i = 0; i < len; i++) {
			if (i >= cap) /* the (i+1)-th score, 1-based, is past the cap */
				weight *= cap_decay;
			total += ((double)row[i] / 1000.0) * weight;
		}
		inbound[v] = total;
	}
	free(in_off);
	free(cursor);
	free(incoming);
	return 0;
}

/* gini, total and top-10% share of the inbound values. */
static int concentration(mt_metrics_result *result, const double *inbound, size_t n)
{
	result->gini = 0.0;
	result->total_inbound_trust = 0.0;
	result->top_10_percent_share = 0.0;
	if (n == 0)
		return 0;
	double *sorted = malloc(n * sizeof *sorted);
	if (!sorted)
		return MT_ENOMEM;
	memcpy(sorted, inbound, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_double_asc);
	double total = 0.0, weighted = 0.0;
	for (size_t i = 0; i < n; i++) {
		total += sorted[i];
		weighted += (double)(i + 1) * sorted[i];
	}
	result->total_inbound_trust = total;
	if (total > 0.0) {
		double count = (double)n;
		result->gini = 2.0 * weighted / (count * total) - (count + 1.0) / count;
		size_t top = (n + 9) / 10;
		double top_sum = 0.0;
		for (size_t i = n - top; i < n; i++)
			top_sum += sorted[i];
		result->top_10_percent_share = top_sum / total;
	}
	free(sorted);
	return 0;
}

static unsigned online_cpus(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (unsigned)cpus : 1;
}

/* Betweenness of every node into bc[], exact or sampled per opts. */
static int compute_betweenness(double *bc, mt_metrics_result *result, const mt_metrics_csr *graph,
                               const mt_metrics_opts *opts)
{
	uint32_t n = graph->node_count;
	unsigned threads = opts->threads ? opts->threads : online_cpus();
	if (opts->approx_eps > 0) {
		double delta = opts->approx_delta > 0 ? opts->approx_delta : 0.1;
		uint64_t samples = 0;
		uint32_t vd = 0;
		int rc = mt_metrics__approx(bc, graph, opts->approx_eps, delta, opts->seed, threads,
		                            opts->progress, opts->progress_payload, &samples, &vd);
		if (rc)
			return rc;
		result->betweenness_sources = (size_t)samples;
		result->sampled = 1;
		result->approx_eps = opts->approx_eps;
		result->approx_delta = delta;
		result->approx_samples = samples;
		result->approx_vd_bound = vd;
		return 0;
	}
	uint32_t *sources = NULL;
	uint32_t source_count = n;
	if (opts->sample_k > 0 && opts->sample_k < n) {
		source_count = opts->sample_k;
		sources = malloc((size_t)source_count * sizeof *sources);
		if (!sources)
			return MT_ENOMEM;
		int rc = mt_metrics__sample(sources, n, source_count, opts->seed);
		if (rc) {
			free(sources);
			return rc;
		}
	}
	int rc = mt_metrics__betweenness(bc, graph, sources, source_count, threads, opts->progress,
	                                 opts->progress_payload);
	free(sources);
	if (rc)
		return rc;
	result->betweenness_sources = source_count;
	result->sampled = source_count < n;
	if (result->sampled) {
		double scale = (double)n / (double)source_count;
		for (uint32_t v = 0; v < n; v++)
			bc[v] *= scale;
	}
	return 0;
}

static void betweenness_summary(mt_metrics_betweenness *summary, const double *bc, size_t n)
{
	summary->max = summary->mean = summary->std_dev = 0.0;
	if (n == 0)
		return;
	double total = 0.0, max = bc[0];
	for (size_t i = 0; i < n; i++) {
		total += bc[i];
		if (bc[i] > max)
			max = bc[i];
	}
	double mean = total / (double)n, squares = 0.0;
	for (size_t i = 0; i < n; i++)
		squares += (bc[i] - mean) * (bc[i] - mean);
	summary->max = max;
	summary->mean = mean;
	summary->std_dev = sqrt(squares / (double)n);
}

/* Copy the scope and the node IDs (in final order) into result storage. */
static int copy_strings(result_storage *storage, const char *scope, const mt_metrics_intern *nodes,
                        const uint32_t *rank)
{
	mt_metrics_result *result = &storage->pub;
	size_t bytes = strlen(scope) + 1;
	for (uint32_t i = 0; i < nodes->count; i++)
		bytes += strlen(nodes->strings[i]) + 1;
	storage->strings = malloc(bytes);
	if (!storage->strings)
		return MT_ENOMEM;
	char *cursor = storage->strings;
	size_t len = strlen(scope) + 1;
	memcpy(cursor, scope, len);
	result->scope = cursor;
	cursor += len;
	for (uint32_t v = 0; v < nodes->count; v++) {
		const char *id = nodes->strings[rank[v]];
		len = strlen(id) + 1;
		memcpy(cursor, id, len);
		result->nodes[v].node_id = cursor;
		cursor += len;
	}
	return 0;
}

int mt_metrics_compute(mt_metrics_result **out, const mt_edge_in *edges, size_t n,
                       const mt_metrics_opts *opts_in, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "metrics: NULL out");
	*out = NULL;
	if (!edges && n > 0)
		return mt_error_set(err, MT_EINVAL, "metrics: NULL edges with count %zu", n);
	mt_metrics_opts opts;
	if (opts_in)
		opts = *opts_in;
	else
		mt_metrics_opts_init(&opts);
	if (!opts.scope)
		opts.scope = "global";
	if (opts.cap > 0 && !(opts.cap_decay > 0.0 && opts.cap_decay <= 1.0))
		return mt_error_set(err, MT_EINVAL, "metrics: cap_decay %g is not in (0, 1]",
		                    opts.cap_decay);
	if (opts.approx_eps != 0) {
		if (!(opts.approx_eps > 0.0 && opts.approx_eps < 1.0))
			return mt_error_set(err, MT_EINVAL, "metrics: approx eps %g is not in (0, 1)",
			                    opts.approx_eps);
		if (opts.approx_delta != 0 && !(opts.approx_delta > 0.0 && opts.approx_delta < 1.0))
			return mt_error_set(err, MT_EINVAL,
			                    "metrics: approx delta %g is not in (0, 1)", opts.approx_delta);
		if (opts.sample_k)
			return mt_error_set(err, MT_EINVAL,
			                    "metrics: approx eps and sample K exclude each other");
		if (mt_metrics__approx_samples(opts.approx_eps,
		                               opts.approx_delta ? opts.approx_delta : 0.1,
		                               UINT32_MAX) > ((uint64_t)1 << 36))
			return mt_error_set(err, MT_EINVAL,
			                    "metrics: approx eps %g needs too many samples (use >= 1e-4)",
			                    opts.approx_eps);
	}

	int rc = 0;
	mt_metrics_intern nodes = {0};
	build_edge *selected = NULL;
	size_t selected_count = 0;
	uint32_t *rank = NULL, *scores = NULL;
	mt_metrics_csr graph = {0};
	double *inbound = NULL, *bc = NULL;
	result_storage *storage = calloc(1, sizeof *storage);
	if (!storage) {
		rc = mt_error_set(err, MT_ENOMEM, "metrics: out of memory");
		goto done;
	}
	mt_metrics_result *result = &storage->pub;

	rc = select_edges(edges, n, &opts, &nodes, &selected, &selected_count, &rank, err);
	if (rc)
		goto done;
	uint32_t node_count = nodes.count;
	rc = build_csr(&graph, &scores, selected, selected_count, node_count);
	free(selected);
	selected = NULL;
	if (rc)
		goto nomem;

	result->node_count = node_count;
	result->edge_count = graph.edge_count;
	result->nodes = calloc(node_count ? node_count : 1, sizeof *result->nodes);
	inbound = malloc((node_count ? node_count : 1) * sizeof *inbound);
	bc = malloc((node_count ? node_count : 1) * sizeof *bc);
	if (!result->nodes || !inbound || !bc)
		goto nomem;
	if (copy_strings(storage, opts.scope, &nodes, rank))
		goto nomem;

	if (compute_inbound(inbound, &graph, scores, opts.cap, opts.cap_decay))
		goto nomem;
	if (concentration(result, inbound, node_count))
		goto nomem;
	if (compute_betweenness(bc, result, &graph, &opts))
		goto nomem;
	betweenness_summary(&result->betweenness, bc, node_count);
	for (uint32_t v = 0; v < node_count; v++) {
		result->nodes[v].inbound_trust = inbound[v];
		result->nodes[v].betweenness = bc[v];
	}
	*out = result;
	storage = NULL;
	goto done;

nomem:
	rc = mt_error_set(err, MT_ENOMEM, "metrics: out of memory (%u nodes)", nodes.count);
done:
	if (storage)
		mt_metrics_result_free(&storage->pub);
	mt_metrics__intern_free(&nodes);
	free(selected);
	free(rank);
	free(scores);
	free(graph.off);
	free(graph.adj);
	free(inbound);
	free(bc);
	return rc;
}

/* Top-N selection: a bounded min-heap ("worst kept node at the root"),
 * then the kept nodes sorted best first. Ties break on ascending node_id. */
typedef double (*node_key_fn)(const mt_metrics_node *node);

static double key_inbound(const mt_metrics_node *node)
{
	return node->inbound_trust;
}

static double key_betweenness(const mt_metrics_node *node)
{
	return node->betweenness;
}

static int ranks_before(const mt_metrics_node *a, const mt_metrics_node *b, node_key_fn key)
{
	double ka = key(a), kb = key(b);
	if (ka != kb)
		return ka > kb;
	return strcmp(a->node_id, b->node_id) < 0;
}

static void sift_down(const mt_metrics_node **heap, size_t size, size_t i, node_key_fn key)
{
	for (;;) {
		size_t worst = i, left = 2 * i + 1, right = left + 1;
		if (left < size && ranks_before(heap[worst], heap[left], key))
			worst = left;
		if (right < size && ranks_before(heap[worst], heap[right], key))
			worst = right;
		if (worst == i)
			return;
		const mt_metrics_node *tmp = heap[i];
		heap[i] = heap[worst];
		heap[worst] = tmp;
		i = worst;
	}
}

static size_t top_nodes(const mt_metrics_result *result, size_t max, const mt_metrics_node **out,
                        node_key_fn key)
{
	if (!result || !out || max == 0)
		return 0;
	size_t size = 0;
	for (size_t v = 0; v < result->node_count; v++) {
		const mt_metrics_node *node = &result->nodes[v];
		if (size < max) {
			/* sift up */
			size_t i = size++;
			out[i] = node;
			while (i > 0) {
				size_t parent = (i - 1) / 2;
				if (!ranks_before(out[parent], out[i], key))
					break;
				const mt_metrics_node *tmp = out[parent];
				out[parent] = out[i];
				out[i] = tmp;
				i = parent;
			}
		} else if (ranks_before(node, out[0], key)) {
			out[0] = node;
			sift_down(out, size, 0, key);
		}
	}
	/* Heap sort in place: repeatedly move the worst to the end. */
	for (size_t end = size; end > 1; end--) {
		const mt_metrics_node *tmp = out[0];
		out[0] = out[end - 1];
		out[end - 1] = tmp;
		sift_down(out, end - 1, 0, key);
	}
	return size;
}

size_t mt_metrics_top_by_inbound(const mt_metrics_result *result, size_t max,
                                 const mt_metrics_node **out)
{
	return top_nodes(result, max, out, key_inbound);
}

size_t mt_metrics_top_by_betweenness(const mt_metrics_result *result, size_t max,
                                     const mt_metrics_node **out)
{
	return top_nodes(result, max, out, key_betweenness);
}
